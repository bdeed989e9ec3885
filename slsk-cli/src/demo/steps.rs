//! The demo's steps, each under a timeout: our server, a library, a client
//! sharing it, a second client searching, listing the album's folder,
//! downloading it and checking every file.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use slsk_net::client::{
    DownloadId, DownloadState, Event, SearchOptions, SearchScope, TransferEvent, TransferSettings,
};
use slsk_net::{Client, ClientConfig, Events};
use slsk_proto::tables::FileAttributeKind;
use slsk_server::{Database, PasswordCost, Server, ServerConfig};
use slsk_shares::{ScanPhase, SharedFolder};
use tokio::sync::watch;

use super::choose::{Folder, best_folder};
use super::hops::{Names, Phases, Snapshot, hops};
use super::library::{Library, WANTED_ALBUM};
use super::output::{Output, Reporter, Summary};

/// The virtual name the library is shared under.
const SHARE: &str = "Music";
/// The client that shares, and the one that downloads.
const SHARER: &str = "alice";
const SEEKER: &str = "bob";
/// Limit on each step but the downloads.
const STEP_LIMIT: Duration = Duration::from_secs(20);
/// Limit on downloading the whole album.
const DOWNLOAD_LIMIT: Duration = Duration::from_secs(60);
/// How long the search waits for its first result.
const SEARCH_WAIT: Duration = Duration::from_secs(15);
/// Once results came, the search ends after this long without another
/// (every peer answers in one message, so this only gathers a burst).
const SEARCH_QUIET: Duration = Duration::from_millis(300);

/// Why the demo stopped: the step and what went wrong.
#[derive(Debug)]
pub struct Failure {
    pub step: &'static str,
    pub message: String,
}

impl Failure {
    fn new(step: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            step,
            message: message.to_string(),
        }
    }
}

/// `future`, or a [`Failure`] of `step` after `limit`.
async fn within<T>(
    step: &'static str,
    limit: Duration,
    future: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| Err(Failure::new(step, format!("timed out after {limit:?}"))))
}

/// Runs the whole demo in a temporary directory, which is removed at the
/// end, whatever happens.
pub async fn run(reporter: &mut Reporter) -> Result<Summary, Failure> {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("slsk-demo-")
        .tempdir()
        .map_err(|e| Failure::new("library", format!("creating a temporary directory: {e}")))?;
    let config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database: Database::InMemory,
        // Accounts live only as long as the demo: the cheapest hashing.
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    };
    let server = within("server", STEP_LIMIT, async {
        Server::start(config)
            .await
            .map_err(|e| Failure::new("server", e))
    })
    .await?;
    reporter.emit(Output::Step {
        step: "server",
        message: format!(
            "our server listens on {} (database in memory)",
            server.local_addr()
        ),
    });
    let mut clients = Vec::new();
    let result = scenario(&server, dir.path(), reporter, &mut clients, started).await;
    for client in clients {
        let _ = tokio::time::timeout(STEP_LIMIT, client.shutdown()).await;
    }
    let _ = tokio::time::timeout(STEP_LIMIT, server.shutdown()).await;
    result
}

/// Everything after the server started. Every client it logs in is pushed
/// to `clients`, for [`run`] to shut down.
async fn scenario(
    server: &Server,
    dir: &Path,
    reporter: &mut Reporter,
    clients: &mut Vec<Client>,
    started: Instant,
) -> Result<Summary, Failure> {
    let library = Library::generate(&dir.join("library"))
        .map_err(|e| Failure::new("library", format!("writing the library: {e}")))?;
    reporter.emit(Output::Step {
        step: "library",
        message: format!(
            "{} tagged WAV files in {} albums ({} bytes) in {}",
            library.tracks.len(),
            library.albums(),
            library.bytes(),
            library.root.display()
        ),
    });

    let mut config = client_config(server.local_addr(), SHARER, &dir.join(SHARER));
    config.shares.folders = vec![SharedFolder::new(SHARE, &library.root)];
    let (sharer, mut sharer_events) = log_in(config, clients).await?;
    reporter.emit(Output::Step {
        step: "share",
        message: format!("{SHARER} logged in and scans the library as {SHARE}\\"),
    });
    within(
        "share",
        STEP_LIMIT,
        wait_for_scan(&mut sharer_events, reporter),
    )
    .await?;
    // From here on nobody reads alice's events but this task, which keeps
    // her session from stalling on a full event stream.
    let (uploads_tx, mut uploads) = watch::channel(0usize);
    tokio::spawn(count_uploads(sharer_events, uploads_tx));

    let config = client_config(server.local_addr(), SEEKER, &dir.join(SEEKER));
    let download_dir = dir.join(SEEKER).join("downloads");
    let (seeker, mut seeker_events) = log_in(config, clients).await?;
    reporter.emit(Output::Step {
        step: "login",
        message: format!("{SEEKER} logged in"),
    });
    let snapshot = || Snapshot {
        sharer: sharer.peers().stats(),
        seeker: seeker.peers().stats(),
    };
    let ready = snapshot();

    let query = format!("{} {WANTED_ALBUM}", library.tracks[0].artist);
    reporter.emit(Output::Step {
        step: "search",
        message: format!("{SEEKER} searches for \"{query}\""),
    });
    let folder = within("search", STEP_LIMIT, search(&seeker, &query, reporter)).await?;
    let searched = snapshot();
    reporter.emit(Output::Step {
        step: "search",
        message: format!(
            "{} result(s) in {}'s folder {}",
            folder.results, folder.username, folder.path
        ),
    });

    let files = within("folder", STEP_LIMIT, list_folder(&seeker, &folder)).await?;
    let listed = snapshot();
    reporter.emit(Output::Step {
        step: "folder",
        message: format!(
            "{} file(s) in {}, {} bytes: downloading them all",
            files.len(),
            folder.path,
            files.iter().map(|(_, size)| size).sum::<u64>()
        ),
    });

    let download_started = Instant::now();
    let downloaded = within(
        "download",
        DOWNLOAD_LIMIT,
        download_all(&seeker, &mut seeker_events, &folder, &files, reporter),
    )
    .await?;
    let download_seconds = download_started.elapsed().as_secs_f64();
    let phases = Phases {
        ready,
        searched,
        listed,
        downloaded: snapshot(),
    };

    let mut matched = 0;
    let mut bytes = 0;
    for (remote, local) in &downloaded {
        let content = std::fs::read(local)
            .map_err(|e| Failure::new("verify", format!("reading {}: {e}", local.display())))?;
        let digest: [u8; 32] = Sha256::digest(&content).into();
        let source = library
            .by_virtual_path(SHARE, remote)
            .ok_or_else(|| Failure::new("verify", format!("{remote} is not in the library")))?;
        let is_match = digest == source.sha256;
        matched += usize::from(is_match);
        bytes += content.len() as u64;
        reporter.emit(Output::Downloaded {
            path: remote.clone(),
            local_path: local
                .strip_prefix(&download_dir)
                .unwrap_or(local)
                .display()
                .to_string(),
            bytes: content.len() as u64,
            sha256: hex(&digest),
            matched: is_match,
        });
    }
    // The album is every track of the wanted one in the library.
    let expected = library
        .tracks
        .iter()
        .filter(|t| t.album == WANTED_ALBUM)
        .count();
    if downloaded.len() != expected || matched != expected {
        return Err(Failure::new(
            "verify",
            format!(
                "{matched} of {expected} files arrived intact ({} downloaded)",
                downloaded.len()
            ),
        ));
    }
    // The uploads' side: alice sees each one end.
    within("verify", STEP_LIMIT, async {
        uploads
            .wait_for(|&completed| completed >= expected)
            .await
            .map(|_| ())
            .map_err(|_| Failure::new("verify", format!("{SHARER}'s session ended")))
    })
    .await?;
    reporter.emit(Output::Step {
        step: "verify",
        message: format!(
            "{matched}/{expected} SHA-256 match the source; {SHARER} completed {expected} uploads"
        ),
    });

    Ok(Summary {
        album: folder.path,
        from: folder.username,
        to: SEEKER.to_owned(),
        files: downloaded.len(),
        bytes,
        checksums_matched: matched,
        all_checksums_match: matched == downloaded.len(),
        download_seconds,
        bytes_per_second: (bytes as f64 / download_seconds.max(1e-6)) as u64,
        total_seconds: started.elapsed().as_secs_f64(),
        hops: hops(
            Names {
                sharer: SHARER,
                seeker: SEEKER,
            },
            &phases,
        ),
    })
}

/// A client of the demo: loopback only (the default peer address is a free
/// port of 127.0.0.1), no reconnection, short timeouts, transfers on with
/// their directories under `dir`.
fn client_config(server: SocketAddr, username: &str, dir: &Path) -> ClientConfig {
    let mut config = ClientConfig::new(server.to_string(), username, "demo-password");
    debug_assert!(config.peer.listen_addr.ip().is_loopback());
    config.reconnect.enabled = false;
    config.timing.login_timeout = Duration::from_secs(10);
    config.timing.request_timeout = Duration::from_secs(10);
    config.timing.peer_request_timeout = Duration::from_secs(15);
    config.browse_timeout = Duration::from_secs(15);
    config.user_info.description = format!("{username}, in the slsk demo");
    config.transfers = Some(TransferSettings::new(
        dir.join("downloads"),
        dir.join("incomplete"),
    ));
    config
}

async fn log_in(
    config: ClientConfig,
    clients: &mut Vec<Client>,
) -> Result<(Client, Events), Failure> {
    let username = config.username.clone();
    let (client, events) = within("login", STEP_LIMIT, async {
        Client::connect(config)
            .await
            .map_err(|e| Failure::new("login", format!("{username}: {e}")))
    })
    .await?;
    clients.push(client.clone());
    Ok((client, events))
}

/// Reports the scan until it is complete.
async fn wait_for_scan(events: &mut Events, reporter: &mut Reporter) -> Result<(), Failure> {
    while let Some(event) = events.recv().await {
        match event {
            Event::ScanProgress(progress) => reporter.emit(Output::Scan {
                phase: match progress.phase {
                    ScanPhase::Walking => "walking",
                    ScanPhase::Reading => "reading",
                    ScanPhase::Done => "done",
                },
                files_seen: progress.files_seen,
                files_read: progress.files_read,
                files_to_read: progress.files_to_read,
            }),
            Event::ScanComplete(summary) => {
                reporter.emit(Output::Step {
                    step: "share",
                    message: format!(
                        "{SHARER} shares {} files in {} folders (the server was told)",
                        summary.files, summary.folders
                    ),
                });
                return Ok(());
            }
            Event::ScanFailed(reason) => return Err(Failure::new("share", reason)),
            _ => {}
        }
    }
    Err(Failure::new("share", "the session ended before the scan"))
}

/// Counts the uploads that completed into `completed`, until the session
/// ends.
async fn count_uploads(mut events: Events, completed: watch::Sender<usize>) {
    while let Some(event) = events.recv().await {
        if let Event::Transfer(TransferEvent::UploadEnded {
            completed: true, ..
        }) = event
        {
            completed.send_modify(|count| *count += 1);
        }
    }
}

/// Searches everyone, reports each result, and picks the album's folder.
async fn search(client: &Client, query: &str, reporter: &mut Reporter) -> Result<Folder, Failure> {
    let options = SearchOptions {
        scope: SearchScope::Global,
        timeout: SEARCH_WAIT,
        ..SearchOptions::default()
    };
    let mut search = client
        .search(query, options)
        .await
        .map_err(|e| Failure::new("search", e))?;
    let mut results = Vec::new();
    loop {
        let next = if results.is_empty() {
            search.next().await
        } else {
            // Quiet for a while: every peer has answered.
            tokio::time::timeout(SEARCH_QUIET, search.next())
                .await
                .ok()
                .flatten()
        };
        let Some(result) = next else { break };
        let attribute = |kind| {
            result
                .file
                .attributes
                .iter()
                .find(|a| a.key == kind)
                .map(|a| a.value)
        };
        reporter.emit(Output::Result {
            username: result.username.clone(),
            path: result.file.filename.clone(),
            size: result.file.filesize,
            duration: attribute(FileAttributeKind::Duration),
            bitrate: attribute(FileAttributeKind::Bitrate),
            sample_rate: attribute(FileAttributeKind::SampleRate),
            bit_depth: attribute(FileAttributeKind::BitDepth),
        });
        results.push(result);
    }
    best_folder(&results).ok_or_else(|| {
        Failure::new(
            "search",
            format!("no results within {SEARCH_WAIT:?} for \"{query}\""),
        )
    })
}

/// Every file of `folder` (virtual path, size), asked of its owner.
async fn list_folder(client: &Client, folder: &Folder) -> Result<Vec<(String, u64)>, Failure> {
    let reply = client
        .folder_contents(&folder.username, &folder.path)
        .await
        .map_err(|e| Failure::new("folder", e))?;
    let files: Vec<(String, u64)> = reply
        .directories
        .iter()
        .filter(|d| d.name == folder.path)
        .flat_map(|d| &d.files)
        .map(|f| (format!("{}\\{}", folder.path, f.filename), f.filesize))
        .collect();
    if files.is_empty() {
        return Err(Failure::new(
            "folder",
            format!("{} lists no files in {}", folder.username, folder.path),
        ));
    }
    Ok(files)
}

/// Queues every file, reports progress, and returns (virtual path, local
/// path) of each once all completed; any failure stops the demo.
async fn download_all(
    client: &Client,
    events: &mut Events,
    folder: &Folder,
    files: &[(String, u64)],
    reporter: &mut Reporter,
) -> Result<Vec<(String, PathBuf)>, Failure> {
    // id -> (virtual path, size, bytes reported so far)
    let mut pending: HashMap<DownloadId, (String, u64, u64)> = HashMap::new();
    for (path, size) in files {
        let id = client
            .download(&folder.username, path, Some(*size))
            .await
            .map_err(|e| Failure::new("download", e))?;
        pending.insert(id, (path.clone(), *size, 0));
        reporter.emit(Output::Queued {
            path: path.clone(),
            size: *size,
        });
    }
    let mut done = Vec::new();
    while !pending.is_empty() {
        let Some(event) = events.recv().await else {
            return Err(Failure::new("download", "the session ended"));
        };
        let Event::Transfer(event) = event else {
            continue;
        };
        match event {
            TransferEvent::DownloadProgress {
                id, bytes, size, ..
            } => {
                // Reported when bytes arrived since the last report.
                if let Some((path, _, reported)) = pending.get_mut(&id)
                    && bytes > *reported
                {
                    *reported = bytes;
                    reporter.emit(Output::Progress {
                        path: path.clone(),
                        bytes,
                        size,
                    });
                }
            }
            TransferEvent::DownloadChanged { id, state, .. } => match state {
                DownloadState::Completed { path } => {
                    if let Some((remote, size, reported)) = pending.remove(&id) {
                        if reported < size {
                            reporter.emit(Output::Progress {
                                path: remote.clone(),
                                bytes: size,
                                size,
                            });
                        }
                        done.push((remote, path));
                    }
                }
                DownloadState::Failed { reason } => {
                    let remote = pending.get(&id).map(|(path, ..)| path.clone());
                    let remote = remote.unwrap_or_default();
                    return Err(Failure::new("download", format!("{remote}: {reason:?}")));
                }
                _ => {}
            },
            _ => {}
        }
    }
    done.sort();
    Ok(done)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_step_over_its_limit_fails_with_its_name() {
        let never = std::future::pending::<Result<(), Failure>>();
        let failure = within("search", Duration::from_millis(10), never)
            .await
            .unwrap_err();
        assert_eq!(failure.step, "search");
        assert_eq!(failure.message, "timed out after 10ms");
        let quick = within("login", STEP_LIMIT, async { Ok(7) }).await;
        assert_eq!(quick.unwrap(), 7);
    }

    #[test]
    fn checksums_print_as_lowercase_hex() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
