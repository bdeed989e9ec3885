//! `slsk share DIR...`: stay online sharing folders, answering searches
//! and serving uploads, until Ctrl-C, SIGTERM or `--for` runs out.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use slsk_net::client::{Event, SharesConfig, TransferEvent, TransferSettings};
use slsk_shares::{ScanPhase, SharedFolder};

use crate::exit::{Failure, Outcome};
use crate::options::{CommonArgs, Settings};
use crate::output::Output;
use crate::progress::{Counter, Progress};
use crate::session::{Needs, Session};

/// Share folders: answer searches and browse requests, serve uploads.
#[derive(Debug, clap::Args)]
pub struct ShareArgs {
    /// The folders to share; each is published under its own name.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Stop after this many seconds (default: until Ctrl-C or SIGTERM).
    #[arg(long = "for", value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Uploads streaming at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub upload_slots: usize,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The shared folders, each named after its last component (made unique).
pub fn shared_folders(dirs: &[PathBuf]) -> Result<Vec<SharedFolder>, Failure> {
    let mut names = HashSet::new();
    let mut folders = Vec::new();
    for dir in dirs {
        let path = std::fs::canonicalize(dir)
            .map_err(|e| Failure::Error(format!("{}: {e}", dir.display())))?;
        if !path.is_dir() {
            return Err(Failure::Error(format!("{}: not a folder", dir.display())));
        }
        let base = path
            .file_name()
            .map_or_else(|| "share".to_owned(), |n| n.to_string_lossy().into_owned());
        let mut name = base.clone();
        let mut n = 1;
        while !names.insert(name.clone()) {
            n += 1;
            name = format!("{base} ({n})");
        }
        folders.push(SharedFolder::new(name, path));
    }
    Ok(folders)
}

/// Shares until stopped; exit 0 then, 1 if the scan or the session fails.
pub async fn run(
    args: ShareArgs,
    settings: Settings,
    progress: Progress,
    output: Output,
) -> Outcome {
    let (settings, progress, output) = (&settings, &progress, &output);
    let folders = shared_folders(&args.dirs)?;
    let mut transfers = TransferSettings::new(
        settings.state_dir.join("downloads"),
        settings.state_dir.join("incomplete"),
    );
    transfers.upload_slots = args.upload_slots.max(1);
    let needs = Needs {
        shares: Some(SharesConfig {
            folders,
            cache_path: Some(settings.state_dir.join("scan-cache.sqlite")),
            ..SharesConfig::default()
        }),
        transfers: Some(transfers),
        reconnect: true,
    };
    std::fs::create_dir_all(&settings.state_dir)
        .map_err(|e| Failure::Error(format!("{}: {e}", settings.state_dir.display())))?;
    let mut session = Session::connect(settings, needs).await?;
    progress.note(&format!(
        "logged in to {} as {}",
        settings.server, settings.user
    ));
    let outcome = serve(&args, &mut session, progress, output).await;
    session.close().await;
    outcome
}

async fn serve(
    args: &ShareArgs,
    session: &mut Session,
    progress: &Progress,
    output: &Output,
) -> Outcome {
    let stop_after = async {
        match args.duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop_after);
    let stop_signal = stop_signal();
    tokio::pin!(stop_signal);
    let mut scan: Option<Counter> = None;
    loop {
        let event = tokio::select! {
            event = session.events.recv() => event,
            () = &mut stop_after => {
                progress.note("time is up: stopping");
                return Ok(());
            }
            name = &mut stop_signal => {
                progress.note(&format!("{name}: stopping"));
                return Ok(());
            }
        };
        match event {
            Some(Event::ScanProgress(p)) => {
                let counter = scan.get_or_insert_with(|| progress.counter("scan"));
                let (count, what) = match p.phase {
                    ScanPhase::Walking => (p.files_seen, "file(s) found".to_owned()),
                    _ => (p.files_read, format!("of {} file(s) read", p.files_to_read)),
                };
                counter.set(count, &what);
                output.record(json!({
                    "type": "progress", "scan": true,
                    "phase": format!("{:?}", p.phase).to_lowercase(),
                    "files_seen": p.files_seen, "files_to_read": p.files_to_read,
                    "files_read": p.files_read,
                }));
            }
            Some(Event::ScanComplete(summary)) => {
                let text = format!(
                    "sharing {} file(s) in {} folder(s)",
                    summary.files, summary.folders
                );
                match scan.take() {
                    Some(counter) => counter.finish(&text),
                    None => progress.note(&text),
                }
                output.record(
                    json!({"type": "shared", "folders": summary.folders, "files": summary.files}),
                );
                output.text(&text);
            }
            Some(Event::ScanFailed(error)) => {
                return Err(Failure::Error(format!("scanning the shares: {error}")));
            }
            Some(Event::Transfer(TransferEvent::UploadStarted { user, virtual_path })) => {
                output.record(
                    json!({"type": "transfer", "direction": "upload", "user": user,
                                     "path": virtual_path, "state": "started"}),
                );
                output.text(&format!("uploading {virtual_path} to {user}"));
            }
            Some(Event::Transfer(TransferEvent::UploadEnded {
                user,
                virtual_path,
                completed,
            })) => {
                let state = if completed { "completed" } else { "failed" };
                output.record(
                    json!({"type": "transfer", "direction": "upload", "user": user,
                                     "path": virtual_path, "state": state}),
                );
                output.text(&format!("upload of {virtual_path} to {user}: {state}"));
            }
            Some(Event::Disconnected) => {
                progress.note("disconnected from the server: reconnecting")
            }
            Some(Event::Reconnected(_)) => progress.note("reconnected"),
            Some(Event::Kicked) => {
                return Err(Failure::Error(
                    "the server disconnected us: the same user logged in elsewhere".into(),
                ));
            }
            Some(Event::LoginRejected { reason, .. }) => {
                return Err(Failure::Error(format!(
                    "login refused after a reconnect: {reason:?}"
                )));
            }
            Some(_) => {}
            None => return Err(Failure::Error("the session ended".into())),
        }
    }
}

/// Waits for SIGINT or SIGTERM (Ctrl-C only, elsewhere than Unix) and says
/// which came; never returns if the signals cannot be watched.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut terminate), Ok(mut interrupt)) => tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
