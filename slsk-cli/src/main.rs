//! `slsk`: decode Soulseek frames to JSON and encode JSON back to frames.
//!
//! ```text
//! slsk decode KIND HEX     print the frame as JSON
//! slsk encode KIND JSON    print the whole frame as hex
//! ```
//!
//! With `-` (or nothing) in place of HEX or JSON, every line of stdin is one
//! input and every output goes on its own line.

mod hex;
mod kind;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use kind::Kind;

const USAGE: &str = "\
usage: slsk decode KIND HEX    print a frame as JSON
       slsk encode KIND JSON   print a message as a whole frame, in hex

KIND is server-request (client to server), server-response (server to
client), peer-init, peer or distributed. Give - (or nothing) instead of HEX or
JSON to read one input per line from stdin; outputs then go one per line, and
a bad line is reported on stderr with its number while the others go on.";

#[derive(Clone, Copy)]
enum Command {
    Decode,
    Encode,
}

impl Command {
    fn run(self, kind: Kind, input: &str) -> Result<String, String> {
        match self {
            Command::Decode => kind.decode(&hex::parse(input)?),
            Command::Encode => kind.encode(input).map(|frame| hex::format(&frame)),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (command, kind, input) = match args.as_slice() {
        ["-h" | "--help" | "help", ..] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [command, kind, rest @ ..] if rest.len() <= 1 => (*command, *kind, rest.first().copied()),
        _ => {
            return fail(&format!(
                "expected a command, a kind and an input\n\n{USAGE}"
            ));
        }
    };
    let command = match command {
        "decode" => Command::Decode,
        "encode" => Command::Encode,
        other => return fail(&format!("unknown command {other:?}\n\n{USAGE}")),
    };
    let kind = match Kind::parse(kind) {
        Ok(kind) => kind,
        Err(e) => return fail(&e),
    };
    match input {
        None | Some("-") => run_lines(command, kind),
        Some(input) => match command.run(kind, input) {
            Ok(output) => {
                println!("{output}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

/// One input per stdin line; blank lines are skipped. Fails at the end if any
/// line failed.
fn run_lines(command: Command, kind: Kind) -> ExitCode {
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
        match command.run(kind, &line) {
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
