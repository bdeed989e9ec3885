//! `slsk get QUERY`: search, rank, download the best result, and fall back
//! to the next when one fails, is refused or stalls; `--album` takes a
//! whole folder.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use slsk_net::client::{SearchResult, TransferSettings};

use crate::exit::{Failure, Outcome};
use crate::options::{CommonArgs, FilterArgs, Settings};
use crate::output::Output;
use crate::progress::Progress;
use crate::rank::{FolderCandidate, rank, rank_folders};
use crate::session::{Needs, Session};
use crate::transfers::{self, Finished, Watch};

/// The most files `--album` queues from one folder: a peer's folder listing
/// is bounded by the decoder's limits, but queueing hundreds of thousands
/// of downloads would still be absurd.
const MAX_ALBUM_FILES: usize = 1000;

/// Search, then download the best result (or, with --album, the best
/// folder).
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// What to search for (see `slsk search --help`).
    pub query: String,
    /// Where downloads go (created if needed); partial files wait in
    /// DIR/.slsk-incomplete.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub to: PathBuf,
    /// Download one whole folder: of the folders holding matching files,
    /// the one with the most matches (the best ranked among equals), every
    /// file of it.
    #[arg(long)]
    pub album: bool,
    /// How long to collect results, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub wait: u64,
    /// Stop collecting results after this many (then rank and download).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_results: usize,
    /// Give a candidate up when no data arrives for this long, queueing
    /// included (0: wait forever).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub stall_timeout: u64,
    /// Candidates (files, or folders with --album) to try before giving up.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub tries: usize,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Runs `get`; exit 3 when nothing is found or nothing could be downloaded.
pub async fn run(args: GetArgs, settings: Settings, progress: Progress, output: Output) -> Outcome {
    let (settings, progress, output) = (&settings, &progress, &output);
    let needs = Needs {
        transfers: Some(TransferSettings::new(
            &args.to,
            args.to.join(".slsk-incomplete"),
        )),
        ..Needs::default()
    };
    let mut session = Session::connect(settings, needs).await?;
    let outcome = get(&args, &mut session, progress, output).await;
    session.close().await;
    // The partial-file folder goes when nothing is left in it.
    let _ = std::fs::remove_dir(args.to.join(".slsk-incomplete"));
    outcome
}

async fn get(
    args: &GetArgs,
    session: &mut Session,
    progress: &Progress,
    output: &Output,
) -> Outcome {
    let mut results = super::collect_results(
        session,
        &args.query,
        Duration::from_secs(args.wait),
        args.max_results,
        args.filters.to_filters(),
        super::Collect {
            progress,
            output,
            show_each: false,
        },
    )
    .await?;
    if results.is_empty() {
        output.record(json!({"type": "summary", "completed": 0, "failed": 0}));
        return Err(Failure::Incomplete(format!(
            "nothing found for {:?}",
            args.query
        )));
    }
    rank(&mut results);
    let stall = super::optional_secs(args.stall_timeout);
    if args.album {
        get_album(args, session, &results, stall, progress, output).await
    } else {
        get_file(args, session, &results, stall, progress, output).await
    }
}

/// The best file, then the next, until one completes.
async fn get_file(
    args: &GetArgs,
    session: &mut Session,
    ranked: &[SearchResult],
    stall: Option<Duration>,
    progress: &Progress,
    output: &Output,
) -> Outcome {
    let mut seen = HashSet::new();
    let candidates: Vec<&SearchResult> = ranked
        .iter()
        .filter(|r| seen.insert((r.username.as_str(), r.file.filename.as_str())))
        .take(args.tries.max(1))
        .collect();
    let mut failed = 0;
    for (n, candidate) in candidates.iter().enumerate() {
        progress.note(&format!(
            "trying {} of {}: {} from {}",
            n + 1,
            candidates.len(),
            candidate.file.filename,
            candidate.username
        ));
        let mut watch = Watch::new(stall);
        let id = match transfers::start(
            session,
            &mut watch,
            &candidate.username,
            &candidate.file.filename,
            Some(candidate.file.filesize),
        )
        .await
        {
            Ok(id) => id,
            Err(e) => return Err(Failure::Error(format!("queueing the download: {e}"))),
        };
        transfers::wait(session, &mut watch, progress, output).await;
        match watch.outcome(id) {
            Some(Finished::Completed(path)) => {
                output.text(&path.display().to_string());
                output.record(json!({"type": "summary", "completed": 1, "failed": failed}));
                return Ok(());
            }
            Some(Finished::Failed(reason)) => {
                failed += 1;
                progress.note(&format!(
                    "{} from {}: {reason}",
                    candidate.file.filename, candidate.username
                ));
            }
            None => {}
        }
        if session.client.is_closed() {
            break;
        }
    }
    output.record(json!({"type": "summary", "completed": 0, "failed": failed}));
    Err(Failure::Incomplete(format!(
        "no candidate delivered ({failed} tried)"
    )))
}

/// The best folder, every file of it; the next folder if none of its files
/// could be downloaded.
async fn get_album(
    args: &GetArgs,
    session: &mut Session,
    ranked: &[SearchResult],
    stall: Option<Duration>,
    progress: &Progress,
    output: &Output,
) -> Outcome {
    let folders = rank_folders(ranked);
    let total = folders.len().min(args.tries.max(1));
    for (n, folder) in folders.iter().take(total).enumerate() {
        progress.note(&format!(
            "trying folder {} of {total}: {} from {} ({} matching file(s))",
            n + 1,
            folder.folder,
            folder.user,
            folder.files.len()
        ));
        let mut files = folder_files(session, folder, progress).await;
        if files.len() > MAX_ALBUM_FILES {
            progress.note(&format!(
                "the folder lists {} files: taking the first {MAX_ALBUM_FILES}",
                files.len()
            ));
            files.truncate(MAX_ALBUM_FILES);
        }
        let mut watch = Watch::new(stall);
        let mut ids = Vec::new();
        for (path, size) in &files {
            match transfers::start(session, &mut watch, &folder.user, path, Some(*size)).await {
                Ok(id) => ids.push(id),
                Err(e) => return Err(Failure::Error(format!("queueing the download: {e}"))),
            }
        }
        transfers::wait(session, &mut watch, progress, output).await;
        let mut completed = 0;
        for id in &ids {
            if let Some(Finished::Completed(path)) = watch.outcome(*id) {
                completed += 1;
                output.text(&path.display().to_string());
            }
        }
        let failed = ids.len() - completed;
        if completed > 0 {
            output.record(json!({"type": "summary", "completed": completed, "failed": failed}));
            if failed > 0 {
                return Err(Failure::Incomplete(format!(
                    "{failed} of {} file(s) of {} failed",
                    ids.len(),
                    folder.folder
                )));
            }
            return Ok(());
        }
        progress.note(&format!(
            "nothing of {} from {} came",
            folder.folder, folder.user
        ));
        if session.client.is_closed() {
            break;
        }
    }
    output.record(json!({"type": "summary", "completed": 0, "failed": total}));
    Err(Failure::Incomplete("no folder delivered".into()))
}

/// Every file of the folder, asked from the peer (folder contents); the
/// matching files from the search if the peer does not answer.
async fn folder_files(
    session: &Session,
    folder: &FolderCandidate,
    progress: &Progress,
) -> Vec<(String, u64)> {
    match session
        .client
        .folder_contents(&folder.user, &folder.folder)
        .await
    {
        Ok(reply) => {
            let inside = format!("{}\\", folder.folder);
            let files: Vec<(String, u64)> = reply
                .directories
                .iter()
                .filter(|d| d.name == folder.folder || d.name.starts_with(&inside))
                .flat_map(|d| {
                    d.files
                        .iter()
                        .map(move |f| (format!("{}\\{}", d.name, f.filename), f.filesize))
                })
                .collect();
            if !files.is_empty() {
                return files;
            }
            progress.note("the folder listing came back empty: taking the search results");
        }
        Err(e) => progress.note(&format!(
            "no folder listing ({e}): taking the search results"
        )),
    }
    folder
        .files
        .iter()
        .map(|r| (r.file.filename.clone(), r.file.filesize))
        .collect()
}
