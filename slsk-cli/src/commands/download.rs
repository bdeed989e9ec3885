//! `slsk download USER PATH...`: given remote paths.

use std::path::PathBuf;

use serde_json::json;
use slsk_net::client::TransferSettings;

use crate::exit::{Failure, Outcome};
use crate::options::{CommonArgs, Settings};
use crate::output::Output;
use crate::progress::Progress;
use crate::session::{Needs, Session};
use crate::transfers::{self, Finished, Watch};

/// Download files from a user, by their remote paths.
#[derive(Debug, clap::Args)]
pub struct DownloadArgs {
    /// Who shares them.
    #[arg(value_name = "USER")]
    pub peer: String,
    /// Their paths as the user shares them (as `slsk search` or `slsk
    /// browse` print them, `Music\Album\01 Song.flac`).
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Where downloads go (created if needed), each in a folder named
    /// after its remote folder; partial files wait in DIR/.slsk-incomplete.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub to: PathBuf,
    /// Give a file up when no data arrives for this long, queueing included
    /// (0: wait forever).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub stall_timeout: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Downloads every path; exit 3 unless all complete.
pub async fn run(
    args: DownloadArgs,
    settings: Settings,
    progress: Progress,
    output: Output,
) -> Outcome {
    let (settings, progress, output) = (&settings, &progress, &output);
    let needs = Needs {
        transfers: Some(TransferSettings::new(
            &args.to,
            args.to.join(".slsk-incomplete"),
        )),
        ..Needs::default()
    };
    let mut session = Session::connect(settings, needs).await?;
    let mut watch = Watch::new(super::optional_secs(args.stall_timeout));
    let mut ids = Vec::new();
    for path in &args.paths {
        match transfers::start(&session, &mut watch, &args.peer, path, None).await {
            // The same path twice is one download.
            Ok(id) if ids.contains(&id) => {}
            Ok(id) => ids.push(id),
            Err(e) => {
                session.close().await;
                return Err(Failure::Error(format!("queueing {path}: {e}")));
            }
        }
    }
    transfers::wait(&mut session, &mut watch, progress, output).await;
    session.close().await;
    let _ = std::fs::remove_dir(args.to.join(".slsk-incomplete"));
    let mut completed = 0;
    for id in &ids {
        if let Some(Finished::Completed(path)) = watch.outcome(*id) {
            completed += 1;
            output.text(&path.display().to_string());
        }
    }
    let failed = ids.len() - completed;
    output.record(json!({"type": "summary", "completed": completed, "failed": failed}));
    if failed > 0 {
        return Err(Failure::Incomplete(format!(
            "{failed} of {} download(s) failed",
            ids.len()
        )));
    }
    Ok(())
}
