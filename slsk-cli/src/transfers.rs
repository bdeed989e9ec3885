//! Watching downloads until each completes, fails, or stalls.
//!
//! [`Watch`] decides without I/O: it takes transfer events and the clock,
//! and says which downloads finished and which stalled (no data for the
//! stall timeout, time in a remote queue included). [`wait`] drives it with
//! the session's events, shows progress and writes the records.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use slsk_net::client::{DownloadId, DownloadState, FailReason, TransferEvent};
use tokio::time::Instant;

use crate::output::Output;
use crate::progress::{Progress, TransferBar};
use crate::session::Session;

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// The file is at this path.
    Completed(PathBuf),
    /// It failed, was refused, stalled or was cancelled; why.
    Failed(String),
}

/// One download being watched.
#[derive(Debug)]
struct Entry {
    user: String,
    path: String,
    /// When data last arrived (or the watch began).
    last_data: Instant,
    finished: Option<Finished>,
}

/// What an event changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new state; `finished` when it is the last one.
    State {
        id: DownloadId,
        state: DownloadState,
        finished: Option<Finished>,
    },
    /// Bytes arrived.
    Bytes {
        id: DownloadId,
        bytes: u64,
        size: u64,
        rate: u64,
    },
}

/// The downloads of one command, and their stall deadlines.
#[derive(Debug)]
pub struct Watch {
    entries: HashMap<DownloadId, Entry>,
    stall: Option<Duration>,
}

impl Watch {
    /// `stall`: give a download up after this long without data (`None`:
    /// never).
    pub fn new(stall: Option<Duration>) -> Self {
        Watch {
            entries: HashMap::new(),
            stall,
        }
    }

    /// Starts watching `id`.
    pub fn add(&mut self, id: DownloadId, user: &str, path: &str, now: Instant) {
        self.entries.entry(id).or_insert(Entry {
            user: user.to_owned(),
            path: path.to_owned(),
            last_data: now,
            finished: None,
        });
    }

    /// The user and path of a watched download.
    pub fn describe(&self, id: DownloadId) -> Option<(&str, &str)> {
        self.entries
            .get(&id)
            .map(|e| (e.user.as_str(), e.path.as_str()))
    }

    /// Applies an event; `None` if it is not about a watched, unfinished
    /// download.
    pub fn on_event(&mut self, event: &TransferEvent, now: Instant) -> Option<Change> {
        match event {
            TransferEvent::DownloadChanged { id, state, .. } => {
                let entry = self.entries.get_mut(id)?;
                if entry.finished.is_some() {
                    return None;
                }
                let finished = match state {
                    DownloadState::Completed { path } => Some(Finished::Completed(path.clone())),
                    DownloadState::Failed { reason } => Some(Finished::Failed(describe(reason))),
                    DownloadState::Cancelled => Some(Finished::Failed("cancelled".into())),
                    DownloadState::Transferring { .. } => {
                        entry.last_data = now;
                        None
                    }
                    _ => None,
                };
                entry.finished.clone_from(&finished);
                Some(Change::State {
                    id: *id,
                    state: state.clone(),
                    finished,
                })
            }
            TransferEvent::DownloadProgress {
                id,
                bytes,
                size,
                rate,
            } => {
                let entry = self.entries.get_mut(id)?;
                if entry.finished.is_some() {
                    return None;
                }
                entry.last_data = now;
                Some(Change::Bytes {
                    id: *id,
                    bytes: *bytes,
                    size: *size,
                    rate: *rate,
                })
            }
            _ => None,
        }
    }

    /// Unfinished downloads without data for the stall timeout, now marked
    /// failed.
    pub fn take_stalled(&mut self, now: Instant) -> Vec<DownloadId> {
        let Some(stall) = self.stall else {
            return Vec::new();
        };
        let mut stalled = Vec::new();
        for (id, entry) in &mut self.entries {
            if entry.finished.is_none() && now.duration_since(entry.last_data) >= stall {
                entry.finished = Some(Finished::Failed(format!(
                    "stalled: no data for {} s",
                    stall.as_secs()
                )));
                stalled.push(*id);
            }
        }
        stalled.sort_by_key(|id| id.0);
        stalled
    }

    /// When the next stall check is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        let stall = self.stall?;
        self.entries
            .values()
            .filter(|e| e.finished.is_none())
            .map(|e| e.last_data + stall)
            .min()
    }

    /// Marks every unfinished download failed for `reason`; returns them.
    pub fn fail_all(&mut self, reason: &str) -> Vec<DownloadId> {
        let mut failed = Vec::new();
        for (id, entry) in &mut self.entries {
            if entry.finished.is_none() {
                entry.finished = Some(Finished::Failed(reason.to_owned()));
                failed.push(*id);
            }
        }
        failed
    }

    /// Whether every watched download has finished.
    pub fn all_finished(&self) -> bool {
        self.entries.values().all(|e| e.finished.is_some())
    }

    /// How `id` ended, if it has.
    pub fn outcome(&self, id: DownloadId) -> Option<&Finished> {
        self.entries.get(&id)?.finished.as_ref()
    }
}

/// A failure reason in words.
pub fn describe(reason: &FailReason) -> String {
    match reason {
        FailReason::Rejected(why) => format!("refused: {}", why.to_wire()),
        FailReason::UploadFailed => "the uploader reported a failure".into(),
        FailReason::ConnectionTimeout => "the file connection did not come".into(),
        FailReason::ConnectionLost => "the file connection was lost".into(),
        FailReason::PeerUnreachable => "the peer could not be reached".into(),
        FailReason::SizeMismatch { expected, offered } => {
            format!("size offered {offered:?}, expected {expected:?}")
        }
        FailReason::Overrun => "the uploader sent more than announced".into(),
        FailReason::Local(error) => format!("local file error: {error}"),
    }
}

/// A state in one word, for records and bars.
pub fn state_name(state: &DownloadState) -> &'static str {
    match state {
        DownloadState::QueuedLocally { .. } => "queued_locally",
        DownloadState::QueuedRemotely { .. } => "queued",
        DownloadState::Connecting { .. } => "connecting",
        DownloadState::Transferring { .. } => "transferring",
        DownloadState::Completed { .. } => "completed",
        DownloadState::Failed { .. } => "failed",
        DownloadState::Cancelled => "cancelled",
    }
}

/// Queues a download and watches it; `Err` with the reason if the client
/// refused to queue it.
pub async fn start(
    session: &Session,
    watch: &mut Watch,
    user: &str,
    path: &str,
    size: Option<u64>,
) -> Result<DownloadId, String> {
    let id = session
        .client
        .download(user, path, size)
        .await
        .map_err(|e| e.to_string())?;
    watch.add(id, user, path, Instant::now());
    // Already known (queued twice)? Its current state counts.
    if let Some(known) = session.client.downloads().into_iter().find(|d| d.id == id) {
        let event = TransferEvent::DownloadChanged {
            id,
            user: known.user,
            remote_path: known.remote_path,
            state: known.state,
        };
        if known_finished(&event) {
            watch.on_event(&event, Instant::now());
        }
    }
    Ok(id)
}

fn known_finished(event: &TransferEvent) -> bool {
    matches!(event, TransferEvent::DownloadChanged { state, .. } if state.is_finished())
}

/// Drives `watch` until every download in it has finished: shows bars,
/// writes `transfer` and `progress` records, cancels stalled downloads.
pub async fn wait(session: &mut Session, watch: &mut Watch, progress: &Progress, output: &Output) {
    let mut bars: HashMap<DownloadId, TransferBar> = HashMap::new();
    while !watch.all_finished() {
        let deadline = watch.next_deadline();
        let event = tokio::select! {
            event = session.events.recv() => event,
            () = sleep_until(deadline) => {
                for id in watch.take_stalled(Instant::now()) {
                    let _ = session.client.cancel_download(id).await;
                    report_end(watch, id, &mut bars, progress, output);
                }
                continue;
            }
        };
        let event = match event {
            Some(slsk_net::client::Event::Transfer(event)) => event,
            Some(
                slsk_net::client::Event::Kicked
                | slsk_net::client::Event::LoginRejected { .. }
                | slsk_net::client::Event::Disconnected,
            )
            | None => {
                for id in watch.fail_all("disconnected from the server") {
                    report_end(watch, id, &mut bars, progress, output);
                }
                break;
            }
            Some(_) => continue,
        };
        match watch.on_event(&event, Instant::now()) {
            Some(Change::Bytes {
                id,
                bytes,
                size,
                rate,
            }) => {
                let (user, path) = watch.describe(id).unwrap_or(("", ""));
                output.record(json!({
                    "type": "progress", "direction": "download", "user": user, "path": path,
                    "bytes": bytes, "size": size, "rate": rate,
                }));
                bar_for(&mut bars, progress, watch, id, size).set(bytes, size, rate);
            }
            Some(Change::State {
                id,
                state,
                finished,
            }) => {
                if finished.is_some() {
                    report_end(watch, id, &mut bars, progress, output);
                } else {
                    let (user, path) = watch.describe(id).unwrap_or(("", ""));
                    output.record(json!({
                        "type": "transfer", "direction": "download", "user": user,
                        "path": path, "state": state_name(&state),
                    }));
                    let size = match state {
                        DownloadState::Connecting { size, .. }
                        | DownloadState::Transferring { size, .. } => size,
                        _ => 0,
                    };
                    bar_for(&mut bars, progress, watch, id, size).state(state_name(&state));
                }
            }
            None => {}
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn bar_for<'a>(
    bars: &'a mut HashMap<DownloadId, TransferBar>,
    progress: &Progress,
    watch: &Watch,
    id: DownloadId,
    size: u64,
) -> &'a mut TransferBar {
    bars.entry(id).or_insert_with(|| {
        let (user, path) = watch.describe(id).unwrap_or(("", ""));
        let name = path.rsplit('\\').next().unwrap_or(path);
        progress.transfer(&format!("{user}: {name}"), size)
    })
}

/// The `transfer` record and the bar's last word for a finished download.
fn report_end(
    watch: &Watch,
    id: DownloadId,
    bars: &mut HashMap<DownloadId, TransferBar>,
    progress: &Progress,
    output: &Output,
) {
    let (user, path) = watch.describe(id).unwrap_or(("", ""));
    let (record, word) = match watch.outcome(id) {
        Some(Finished::Completed(local)) => (
            json!({"type": "transfer", "direction": "download", "user": user, "path": path,
                   "state": "completed", "local_path": local}),
            format!("done: {}", local.display()),
        ),
        Some(Finished::Failed(reason)) => (
            json!({"type": "transfer", "direction": "download", "user": user, "path": path,
                   "state": "failed", "reason": reason}),
            format!("failed: {reason}"),
        ),
        None => return,
    };
    output.record(record);
    match bars.remove(&id) {
        Some(bar) => bar.finish(&word),
        None => {
            let name = path.rsplit('\\').next().unwrap_or(path);
            progress.note(&format!("{user}: {name}: {word}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(id: u64, state: DownloadState) -> TransferEvent {
        TransferEvent::DownloadChanged {
            id: DownloadId(id),
            user: "bob".into(),
            remote_path: "m\\a.mp3".into(),
            state,
        }
    }

    #[test]
    fn downloads_finish_on_their_last_state_only() {
        let t0 = Instant::now();
        let mut watch = Watch::new(None);
        watch.add(DownloadId(1), "bob", "m\\a.mp3", t0);
        watch.add(DownloadId(2), "bob", "m\\b.mp3", t0);
        assert!(
            watch
                .on_event(&changed(9, DownloadState::Cancelled), t0)
                .is_none()
        );
        let queued = watch.on_event(
            &changed(1, DownloadState::QueuedRemotely { place: None }),
            t0,
        );
        assert!(matches!(queued, Some(Change::State { finished: None, .. })));
        watch.on_event(
            &changed(
                1,
                DownloadState::Completed {
                    path: "/d/a.mp3".into(),
                },
            ),
            t0,
        );
        assert!(!watch.all_finished());
        watch.on_event(
            &changed(
                2,
                DownloadState::Failed {
                    reason: FailReason::Rejected(
                        slsk_proto::tables::TransferRejectionReason::FileNotShared,
                    ),
                },
            ),
            t0,
        );
        assert!(watch.all_finished());
        assert_eq!(
            watch.outcome(DownloadId(1)),
            Some(&Finished::Completed("/d/a.mp3".into()))
        );
        assert_eq!(
            watch.outcome(DownloadId(2)),
            Some(&Finished::Failed("refused: File not shared.".into()))
        );
        // A late event changes nothing.
        assert!(
            watch
                .on_event(&changed(2, DownloadState::Cancelled), t0)
                .is_none()
        );
        assert!(watch.next_deadline().is_none());
    }

    #[test]
    fn a_download_without_data_stalls_and_data_resets_the_clock() {
        let t0 = Instant::now();
        let stall = Duration::from_secs(10);
        let mut watch = Watch::new(Some(stall));
        watch.add(DownloadId(1), "a", "x", t0);
        watch.add(DownloadId(2), "b", "y", t0);
        let progress = TransferEvent::DownloadProgress {
            id: DownloadId(2),
            bytes: 5,
            size: 10,
            rate: 1,
        };
        watch.on_event(&progress, t0 + Duration::from_secs(8));
        assert_eq!(watch.next_deadline(), Some(t0 + stall));
        assert!(watch.take_stalled(t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(
            watch.take_stalled(t0 + Duration::from_secs(10)),
            [DownloadId(1)]
        );
        assert_eq!(watch.next_deadline(), Some(t0 + Duration::from_secs(18)));
        assert_eq!(watch.fail_all("gone"), [DownloadId(2)]);
        assert!(watch.all_finished());
        assert!(Watch::new(None).take_stalled(t0 + stall * 100).is_empty());
    }
}
