//! `slsk demo`: the whole system in one command, on loopback, with no
//! account and no internet. Our server starts on a free port of 127.0.0.1
//! with an in-memory database; `alice` shares a small generated library of
//! tagged WAV files; `bob` searches for one album, lists its folder,
//! downloads every file, checks each SHA-256 against the source, and the
//! summary says how each hop travelled (counted by the peer layers, not
//! assumed).
//!
//! - [`library`]: the generated albums,
//! - [`choose`]: which search results make the album,
//! - [`hops`]: the path of each hop, from the connection counters,
//! - [`output`]: human lines and bars, or JSON lines,
//! - [`steps`]: the steps, each under a timeout.

mod choose;
mod hops;
mod library;
mod output;
mod steps;

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use output::{Output, Reporter};

/// Arguments of `slsk demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// One JSON object per line on stdout (steps, results, progress, each
    /// file's checksum, the summary); logs on stderr.
    #[arg(long)]
    json: bool,
}

/// Runs the demo; exit status 0 when every file arrived intact, 1 (with
/// the failed step and why) otherwise.
pub fn run(args: DemoArgs) -> ExitCode {
    // Warnings only: the demo's own lines tell the story (RUST_LOG for more).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return crate::fail(&format!("demo: starting the runtime: {e}")),
    };
    let mut reporter = Reporter::new(args.json);
    match runtime.block_on(steps::run(&mut reporter)) {
        Ok(summary) => {
            reporter.emit(Output::Summary(summary));
            ExitCode::SUCCESS
        }
        Err(failure) => {
            if args.json {
                reporter.emit(Output::Error {
                    step: failure.step,
                    message: failure.message.clone(),
                });
            }
            crate::fail(&format!(
                "demo: {} failed: {}",
                failure.step, failure.message
            ))
        }
    }
}
