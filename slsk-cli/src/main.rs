//! `slsk`: search, download, browse and share on a Soulseek network;
//! run the demo; decode Soulseek frames to JSON, encode JSON back to
//! frames; run a Soulseek server.
//!
//! ```text
//! slsk search QUERY [--wait SECS] [filters]
//! slsk get QUERY [--to DIR] [--album] [filters]
//! slsk download USER PATH... [--to DIR]
//! slsk browse USER
//! slsk share DIR... [--for SECS]
//! slsk decode KIND HEX     print the frame as JSON
//! slsk encode KIND JSON    print the whole frame as hex
//! slsk server [--listen ADDR] [--db FILE] [--add-admin NAME]...
//! slsk demo [--json]       the whole system on loopback, in seconds
//! ```
//!
//! With `-` (or nothing) in place of HEX or JSON, every line of stdin is one
//! input and every output goes on its own line. Exit codes: [`exit`].

mod commands;
mod config;
mod demo;
mod exit;
mod hex;
mod kind;
mod options;
mod output;
mod progress;
mod rank;
mod ratelimit;
mod server;
mod session;
mod transfers;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use kind::Kind;

/// Search, download, browse and share on a Soulseek network; decode and
/// encode Soulseek protocol frames; run a Soulseek server.
///
/// The network commands (search, get, download, browse, share) take their
/// options from flags, then environment variables, then the config file,
/// then defaults; `slsk help search` lists them.
///
/// KIND is server-request (client to server), server-response (server to
/// client), peer-init, peer or distributed. Give - (or nothing) instead of
/// HEX or JSON to read one input per line from stdin; outputs then go one per
/// line, and a bad line is reported on stderr with its number while the
/// others go on.
#[derive(Debug, Parser)]
#[command(name = "slsk", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit codes, in every help text.
const EXIT_CODES: &str = "Exit codes: 0 success, 1 error, 2 usage error, \
3 nothing found or not every download completed.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Search the network; results as they arrive, then a table.
    #[command(after_help = EXIT_CODES)]
    Search(commands::search::SearchArgs),
    /// Search, then download the best result (or the best folder with
    /// --album), falling back to the next when one fails or stalls.
    #[command(after_help = EXIT_CODES)]
    Get(commands::get::GetArgs),
    /// Download files from a user by their remote paths.
    #[command(after_help = EXIT_CODES)]
    Download(commands::download::DownloadArgs),
    /// List a user's shares as a tree (one JSON line per file with --json).
    #[command(after_help = EXIT_CODES)]
    Browse(commands::browse::BrowseArgs),
    /// Share folders until Ctrl-C or --for runs out: answer searches and
    /// browse requests, serve uploads.
    #[command(after_help = EXIT_CODES)]
    Share(commands::share::ShareArgs),
    /// Print a frame (hex) as JSON.
    Decode {
        #[arg(value_parser = Kind::parse)]
        kind: Kind,
        /// The frame in hex; - or nothing to read one per stdin line.
        hex: Option<String>,
    },
    /// Print a message (JSON) as a whole frame, in hex.
    Encode {
        #[arg(value_parser = Kind::parse)]
        kind: Kind,
        /// The message as JSON; - or nothing to read one per stdin line.
        json: Option<String>,
    },
    /// Run a Soulseek server until Ctrl-C or SIGTERM (logs on stderr; RUST_LOG sets
    /// the level, info by default).
    Server(server::ServerArgs),
    /// Run the whole system on 127.0.0.1: our server, a peer sharing a
    /// generated album library, another searching, downloading one album
    /// and checking every file's SHA-256 (exit status 1 if a step fails).
    Demo(demo::DemoArgs),
}

#[derive(Clone, Copy)]
enum Transform {
    Decode,
    Encode,
}

impl Transform {
    fn run(self, kind: Kind, input: &str) -> Result<String, String> {
        match self {
            Transform::Decode => kind.decode(&hex::parse(input)?),
            Transform::Encode => kind.encode(input).map(|frame| hex::format(&frame)),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let (transform, kind, input) = match cli.command {
        Command::Decode { kind, hex } => (Transform::Decode, kind, hex),
        Command::Encode { kind, json } => (Transform::Encode, kind, json),
        Command::Server(args) => return server::run(args),
        Command::Search(args) => {
            let common = args.common.clone();
            return commands::run_network(&common, |s, p, o| commands::search::run(args, s, p, o));
        }
        Command::Get(args) => {
            let common = args.common.clone();
            return commands::run_network(&common, |s, p, o| commands::get::run(args, s, p, o));
        }
        Command::Download(args) => {
            let common = args.common.clone();
            return commands::run_network(&common, |s, p, o| {
                commands::download::run(args, s, p, o)
            });
        }
        Command::Browse(args) => {
            let common = args.common.clone();
            return commands::run_network(&common, |s, p, o| commands::browse::run(args, s, p, o));
        }
        Command::Share(args) => {
            let common = args.common.clone();
            return commands::run_network(&common, |s, p, o| commands::share::run(args, s, p, o));
        }
        Command::Demo(args) => return demo::run(args),
    };
    match input.as_deref() {
        None | Some("-") => run_lines(transform, kind),
        Some(input) => match transform.run(kind, input) {
            Ok(output) => {
                println!("{output}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

/// Help and version go to stdout with success; mistakes go to stderr with
/// status 2 (clap's usage status), in the tool's `slsk: ...` style.
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{e}");
        return ExitCode::SUCCESS;
    }
    let text = e.to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let text = text
        .replace("unrecognized subcommand", "unknown command")
        .replace("\nUsage:", "\nusage:");
    eprintln!("slsk: {}", text.trim_end());
    ExitCode::from(exit::USAGE)
}

/// One input per stdin line; blank lines are skipped. Fails at the end if any
/// line failed.
fn run_lines(transform: Transform, kind: Kind) -> ExitCode {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut failures = 0usize;
    for (index, line) in io::stdin().lock().lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) => return fail(&format!("reading stdin: {e}")),
        };
        if line.trim().is_empty() {
            continue;
        }
        match transform.run(kind, &line) {
            Ok(output) => {
                if writeln!(out, "{output}").is_err() {
                    // stdout closed (e.g. piped into `head`): nothing more to do.
                    return ExitCode::FAILURE;
                }
            }
            Err(e) => {
                failures += 1;
                eprintln!("slsk: line {}: {e}", index + 1);
            }
        }
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("slsk: {failures} line(s) failed");
        ExitCode::FAILURE
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("slsk: {message}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
