//! The download queue: a state machine without I/O ([`DownloadManager`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use slsk_proto::peer::{
    PeerMessage, PeerPlaceInQueueReply, PeerPlaceInQueueRequest, PeerTransferQueue,
    PeerTransferQueueFailed, PeerTransferReply, PeerTransferReplyOutcome, PeerTransferRequest,
    PeerUploadFailed,
};
use slsk_proto::tables::{TransferDirection, TransferRejectionReason};

use crate::path::{incomplete_path, local_path};
use crate::store::{DownloadRecord, StoredStatus};

/// Files at least this big may be offered with size 0 by SoulseekQt.
const QT_ZERO_SIZE_THRESHOLD: u64 = 1 << 31;

/// Settings of the download queue. [`DownloadConfig::new`] gives the
/// documented defaults.
#[derive(Debug, Clone)]
pub struct DownloadConfig {
    /// Where finished files go (under their last remote folder).
    pub download_dir: PathBuf,
    /// Where partial files live until they are complete.
    pub incomplete_dir: PathBuf,
    /// How long to wait for the uploader's file connection after allowing a
    /// transfer (60 s, as aioslsk; Nicotine+ allows 45 s to the first byte).
    pub connect_timeout: Duration,
    /// The first delay before retrying after a transient failure (30 s);
    /// doubled for each further failure.
    pub retry_base_delay: Duration,
    /// The longest delay between retries (10 min).
    pub retry_max_delay: Duration,
    /// Transient failures in a row before a download fails for good (8).
    pub max_attempts: u32,
    /// How long to wait before queueing again after "Too many files" or
    /// "Too many megabytes" (5 min).
    pub limit_retry_delay: Duration,
    /// How often to ask for the place in a remote queue (5 min, as
    /// Nicotine+).
    pub place_in_queue_interval: Duration,
}

impl DownloadConfig {
    /// The defaults documented on each field, with these folders.
    pub fn new(download_dir: impl Into<PathBuf>, incomplete_dir: impl Into<PathBuf>) -> Self {
        Self {
            download_dir: download_dir.into(),
            incomplete_dir: incomplete_dir.into(),
            connect_timeout: Duration::from_secs(60),
            retry_base_delay: Duration::from_secs(30),
            retry_max_delay: Duration::from_secs(600),
            max_attempts: 8,
            limit_retry_delay: Duration::from_secs(300),
            place_in_queue_interval: Duration::from_secs(300),
        }
    }
}

/// Identifies a download in its manager (and in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DownloadId(pub u64);

/// Where a download is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadState {
    /// Not (or no longer) in the uploader's queue: waiting to send
    /// `QueueUpload` at `retry_at`, or, with `None`, until the user comes
    /// online.
    QueuedLocally { retry_at: Option<Instant> },
    /// `QueueUpload` sent; waiting for the uploader's `TransferRequest`.
    /// `place` is the last answer to `PlaceInQueueRequest`.
    QueuedRemotely { place: Option<u32> },
    /// The transfer was allowed; waiting for the uploader's file connection.
    Connecting { ticket: u32, size: u64 },
    /// Bytes are flowing (`bytes` counts the whole file, resumed part
    /// included).
    Transferring { ticket: u32, size: u64, bytes: u64 },
    /// Done; the file is at `path`.
    Completed { path: PathBuf },
    /// Given up, for `reason`.
    Failed { reason: FailReason },
    /// Cancelled by the user.
    Cancelled,
}

impl DownloadState {
    /// Whether the download is finished one way or another (completed,
    /// failed or cancelled).
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Completed { .. } | Self::Failed { .. } | Self::Cancelled
        )
    }
}

/// Why a download failed or is being retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailReason {
    /// The uploader refused, with this exact reason (`UploadDenied`).
    Rejected(TransferRejectionReason),
    /// The uploader reported `UploadFailed`.
    UploadFailed,
    /// The uploader's file connection did not come in time.
    ConnectionTimeout,
    /// The file connection closed or stalled before the end.
    ConnectionLost,
    /// The user's peer connection could not be made.
    PeerUnreachable,
    /// The size offered is not the size expected (from the search result),
    /// or was missing.
    SizeMismatch {
        expected: Option<u64>,
        offered: Option<u64>,
    },
    /// The uploader sent more bytes than it announced.
    Overrun,
    /// A local file error (disk full, permissions...).
    Local(String),
}

impl FailReason {
    /// Whether a retry may help (connection trouble, "Pending shutdown.").
    pub fn is_transient(&self) -> bool {
        match self {
            Self::UploadFailed
            | Self::ConnectionTimeout
            | Self::ConnectionLost
            | Self::PeerUnreachable => true,
            Self::Rejected(reason) => *reason == TransferRejectionReason::PendingShutdown,
            Self::SizeMismatch { .. } | Self::Overrun | Self::Local(_) => false,
        }
    }

    /// The text kept in the store; [`FailReason::from_stored`] reads it back.
    pub fn to_stored(&self) -> String {
        match self {
            Self::Rejected(reason) => format!("rejected:{}", reason.to_wire()),
            Self::UploadFailed => "upload-failed".into(),
            Self::ConnectionTimeout => "connection-timeout".into(),
            Self::ConnectionLost => "connection-lost".into(),
            Self::PeerUnreachable => "peer-unreachable".into(),
            Self::SizeMismatch { expected, offered } => {
                let show = |v: &Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
                format!("size-mismatch:{}:{}", show(expected), show(offered))
            }
            Self::Overrun => "overrun".into(),
            Self::Local(text) => format!("local:{text}"),
        }
    }

    /// The reason [`FailReason::to_stored`] wrote; unknown text becomes
    /// [`FailReason::Local`].
    pub fn from_stored(text: &str) -> Self {
        let (tag, rest) = text.split_once(':').unwrap_or((text, ""));
        match tag {
            "rejected" => Self::Rejected(TransferRejectionReason::from_wire(rest.to_owned())),
            "upload-failed" => Self::UploadFailed,
            "connection-timeout" => Self::ConnectionTimeout,
            "connection-lost" => Self::ConnectionLost,
            "peer-unreachable" => Self::PeerUnreachable,
            "size-mismatch" => {
                let (expected, offered) = rest.split_once(':').unwrap_or((rest, ""));
                Self::SizeMismatch {
                    expected: expected.parse().ok(),
                    offered: offered.parse().ok(),
                }
            }
            "overrun" => Self::Overrun,
            "local" => Self::Local(rest.to_owned()),
            _ => Self::Local(text.to_owned()),
        }
    }
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(reason) => write!(f, "rejected: {}", reason.to_wire()),
            Self::UploadFailed => f.write_str("the uploader reported a failed upload"),
            Self::ConnectionTimeout => f.write_str("the file connection did not come"),
            Self::ConnectionLost => f.write_str("the file connection was lost"),
            Self::PeerUnreachable => f.write_str("the user could not be reached"),
            Self::SizeMismatch { expected, offered } => {
                write!(f, "size offered {offered:?}, expected {expected:?}")
            }
            Self::Overrun => f.write_str("the uploader sent more bytes than announced"),
            Self::Local(text) => write!(f, "local error: {text}"),
        }
    }
}

/// One download as the manager knows it.
#[derive(Debug, Clone)]
pub struct Download {
    pub id: DownloadId,
    pub user: String,
    /// The path as the uploader shares it (sent back verbatim).
    pub remote_path: String,
    /// The size from the search result, if the caller gave one: any other
    /// size offered is refused.
    pub expected_size: Option<u64>,
    /// The size the partial file belongs to (the last size accepted).
    pub size: Option<u64>,
    pub state: DownloadState,
    /// Transient failures in a row (reset by progress).
    pub attempts: u32,
    /// The last failure, kept while retrying.
    pub last_error: Option<FailReason>,
    connect_deadline: Option<Instant>,
    next_place_query: Option<Instant>,
}

/// What the driver must do to stream a download: handed out when the
/// uploader's file connection arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadJob {
    pub id: DownloadId,
    pub ticket: u32,
    /// The announced size: exactly this many bytes make the file.
    pub size: u64,
    /// The partial file, resumed from its length.
    pub partial: PathBuf,
    /// The final name wanted; the stream picks `name (n).ext` if it exists.
    pub destination: PathBuf,
    /// The partial file belongs to an older size of the file: start again.
    pub restart: bool,
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum DownloadOutput {
    /// Send `message` to `user` on the peer (`P`) connection.
    Send { user: String, message: PeerMessage },
    /// The download changed: store it ([`DownloadManager::record`]) and
    /// show it.
    Changed(DownloadId),
    /// The download was removed: delete it from the store.
    Removed(DownloadId),
}

/// The download queue.
///
/// Inputs are method calls (a message from a peer, a file connection, the
/// end of a stream, a user coming online, the clock); outputs are
/// [`DownloadOutput`]s taken with [`DownloadManager::poll_output`]: messages
/// to send to a peer, and notices that a download changed (to store it and
/// show it). The driver calls [`DownloadManager::handle_timeout`] at
/// [`DownloadManager::poll_timeout`].
///
/// The sequence (client-behaviour §6.1): [`enqueue`](DownloadManager::enqueue)
/// sends `QueueUpload`; the uploader later sends `TransferRequest(1, ticket,
/// size)`, answered "allowed" only for a file in the queue; the uploader
/// opens a file connection with the ticket
/// ([`on_file_connection`](DownloadManager::on_file_connection) gives the
/// [`DownloadJob`] to stream); the stream's end is reported with
/// [`on_finished`](DownloadManager::on_finished).
///
/// A `TransferRequest` with direction 0 (the sender wants to download from
/// us, the legacy way) belongs to the upload queue:
/// [`on_transfer_request`](DownloadManager::on_transfer_request) returns
/// `false` for it and the caller hands it to
/// [`UploadManager::on_transfer_request`](crate::UploadManager::on_transfer_request).
///
/// ```
/// use std::time::Instant;
/// use slsk_proto::peer::{PeerMessage, PeerTransferRequest};
/// use slsk_proto::tables::TransferDirection;
/// use slsk_transfers::{DownloadConfig, DownloadManager, DownloadOutput};
///
/// let now = Instant::now();
/// let mut downloads = DownloadManager::new(DownloadConfig::new("/dl", "/dl/incomplete"));
/// let id = downloads.enqueue("alice", "Music\\Album\\01.flac", Some(1000), now);
/// // QueueUpload goes to alice (with a notice that the download changed).
/// let outputs: Vec<_> = std::iter::from_fn(|| downloads.poll_output()).collect();
/// assert!(outputs.iter().any(|output| matches!(output,
///     DownloadOutput::Send { message: PeerMessage::PeerTransferQueue(_), .. })));
/// // Later alice offers the file; it is allowed.
/// let offer = PeerTransferRequest {
///     direction: TransferDirection::Upload,
///     ticket: 7,
///     filename: "Music\\Album\\01.flac".into(),
///     filesize: Some(1000),
/// };
/// assert!(downloads.on_transfer_request("alice", &offer, now));
/// // Her file connection brings ticket 7: here is what to stream.
/// let job = downloads.on_file_connection("alice", 7, now).unwrap();
/// assert_eq!((job.id, job.size), (id, 1000));
/// ```
#[derive(Debug)]
pub struct DownloadManager {
    config: DownloadConfig,
    downloads: BTreeMap<DownloadId, Download>,
    by_file: HashMap<(String, String), DownloadId>,
    offline: HashSet<String>,
    next_id: u64,
    outputs: VecDeque<DownloadOutput>,
}

impl DownloadManager {
    /// An empty queue.
    pub fn new(config: DownloadConfig) -> Self {
        Self {
            config,
            downloads: BTreeMap::new(),
            by_file: HashMap::new(),
            offline: HashSet::new(),
            next_id: 1,
            outputs: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &DownloadConfig {
        &self.config
    }

    /// Queues `remote_path` from `user` (sends `QueueUpload` unless the user
    /// is known to be offline). `expected_size` is the size from the search
    /// result, if known: an offer of another size is refused as suspect.
    /// Queueing a file already in the queue returns its id (and queues a
    /// failed or cancelled one again).
    pub fn enqueue(
        &mut self,
        user: &str,
        remote_path: &str,
        expected_size: Option<u64>,
        now: Instant,
    ) -> DownloadId {
        let key = (user.to_owned(), remote_path.to_owned());
        if let Some(&id) = self.by_file.get(&key) {
            if self.downloads[&id].state.is_finished() {
                self.retry(id, now);
            }
            return id;
        }
        let id = DownloadId(self.next_id);
        self.next_id += 1;
        self.insert(Download {
            id,
            user: user.to_owned(),
            remote_path: remote_path.to_owned(),
            expected_size,
            size: None,
            state: DownloadState::QueuedLocally { retry_at: None },
            attempts: 0,
            last_error: None,
            connect_deadline: None,
            next_place_query: None,
        });
        self.send_queue_upload(id, now);
        id
    }

    /// Queues a failed or cancelled download again, from scratch of its
    /// retry count (the partial file is kept). Does nothing otherwise.
    pub fn retry(&mut self, id: DownloadId, now: Instant) {
        let Some(download) = self.downloads.get_mut(&id) else {
            return;
        };
        if matches!(
            download.state,
            DownloadState::Failed { .. } | DownloadState::Cancelled
        ) {
            download.attempts = 0;
            download.last_error = None;
            self.send_queue_upload(id, now);
        }
    }

    /// Cancels a download. An active stream for it must be dropped by the
    /// driver; its end is then ignored. The partial file is kept.
    pub fn cancel(&mut self, id: DownloadId) {
        if let Some(download) = self.downloads.get_mut(&id)
            && !download.state.is_finished()
        {
            download.state = DownloadState::Cancelled;
            download.connect_deadline = None;
            download.next_place_query = None;
            self.outputs.push_back(DownloadOutput::Changed(id));
        }
    }

    /// Forgets a download (the driver deletes its partial file if it wants).
    pub fn remove(&mut self, id: DownloadId) -> Option<Download> {
        let download = self.downloads.remove(&id)?;
        self.by_file
            .remove(&(download.user.clone(), download.remote_path.clone()));
        self.outputs.push_back(DownloadOutput::Removed(id));
        Some(download)
    }

    /// A download by id.
    pub fn get(&self, id: DownloadId) -> Option<&Download> {
        self.downloads.get(&id)
    }

    /// Every download, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Download> {
        self.downloads.values()
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<DownloadOutput> {
        self.outputs.pop_front()
    }

    /// The user is online: downloads waiting for them are queued again.
    pub fn user_online(&mut self, user: &str, now: Instant) {
        self.offline.remove(user);
        let waiting: Vec<DownloadId> = self
            .downloads
            .values()
            .filter(|d| {
                d.user == user && matches!(d.state, DownloadState::QueuedLocally { retry_at: None })
            })
            .map(|d| d.id)
            .collect();
        for id in waiting {
            self.send_queue_upload(id, now);
        }
    }

    /// The user went offline: queued downloads wait for them to come back
    /// (without counting a failure); active ones go on, and if their
    /// connection breaks they wait too, without counting it.
    pub fn user_offline(&mut self, user: &str) {
        self.offline.insert(user.to_owned());
        for download in self.downloads.values_mut() {
            if download.user == user
                && matches!(
                    download.state,
                    DownloadState::QueuedLocally { .. } | DownloadState::QueuedRemotely { .. }
                )
            {
                download.state = DownloadState::QueuedLocally { retry_at: None };
                download.next_place_query = None;
                self.outputs.push_back(DownloadOutput::Changed(download.id));
            }
        }
    }

    /// Our messages to `user` were lost before they left, through no fault
    /// of theirs (we were not logged in yet, or the server connection was
    /// down): their downloads waiting in either queue are asked for again
    /// now (QueueUpload), without counting a failure. Downloads of a user
    /// known to be offline keep waiting for them.
    pub fn ask_again(&mut self, user: &str, now: Instant) {
        if self.offline.contains(user) {
            return;
        }
        let ids: Vec<DownloadId> = self
            .downloads
            .values()
            .filter(|d| {
                d.user == user
                    && matches!(
                        d.state,
                        DownloadState::QueuedLocally { .. } | DownloadState::QueuedRemotely { .. }
                    )
            })
            .map(|d| d.id)
            .collect();
        for id in ids {
            self.send_queue_upload(id, now);
        }
    }

    /// The peer connection to `user` could not be made, so the messages to
    /// them were lost: their remotely queued downloads are retried later.
    pub fn peer_unreachable(&mut self, user: &str, now: Instant) {
        let ids: Vec<DownloadId> = self
            .downloads
            .values()
            .filter(|d| d.user == user && matches!(d.state, DownloadState::QueuedRemotely { .. }))
            .map(|d| d.id)
            .collect();
        for id in ids {
            self.transient_failure(id, FailReason::PeerUnreachable, now);
        }
    }

    /// A `TransferRequest` from `user`. Direction 1 (the peer will upload)
    /// is answered here, allowed only for a file in the queue, and `true` is
    /// returned; any other direction returns `false` untouched (direction 0
    /// belongs to the upload queue).
    ///
    /// Refusals: "Complete" for a finished download, "Cancelled" for
    /// anything else not wanted: unknown files, cancelled downloads, a file
    /// already streaming, and a size other than the expected one (which also
    /// fails the download, [`FailReason::SizeMismatch`]). One exception: an
    /// offer of size 0 for a file expected to be 2 GiB or more is accepted
    /// at the expected size (SoulseekQt's malformed size, client-behaviour
    /// §6.1).
    pub fn on_transfer_request(
        &mut self,
        user: &str,
        request: &PeerTransferRequest,
        now: Instant,
    ) -> bool {
        if request.direction != TransferDirection::Upload {
            return false;
        }
        // Whoever offers a file is online.
        self.offline.remove(user);
        let ticket = request.ticket;
        let key = (user.to_owned(), request.filename.clone());
        let Some(&id) = self.by_file.get(&key) else {
            self.reply_rejected(user, ticket, TransferRejectionReason::Cancelled);
            return true;
        };
        let download = self.downloads.get_mut(&id).expect("indexed download");
        match download.state {
            DownloadState::Completed { .. } => {
                self.reply_rejected(user, ticket, TransferRejectionReason::Complete);
                return true;
            }
            DownloadState::Cancelled | DownloadState::Transferring { .. } => {
                self.reply_rejected(user, ticket, TransferRejectionReason::Cancelled);
                return true;
            }
            DownloadState::QueuedLocally { .. }
            | DownloadState::QueuedRemotely { .. }
            | DownloadState::Connecting { .. }
            | DownloadState::Failed { .. } => {}
        }
        // The size is the contract; a size other than the search result's
        // is suspect (the file changed, or the peer lies): refuse it.
        let size = match (request.filesize, download.expected_size) {
            (Some(offered), None) => offered,
            (Some(offered), Some(expected)) if offered == expected => offered,
            // SoulseekQt announces 0 for some files over 2 GiB (Nicotine+
            // keeps the size it knows then): the search result's size holds.
            (Some(0), Some(expected)) if expected >= QT_ZERO_SIZE_THRESHOLD => expected,
            (offered, expected) => {
                download.state = DownloadState::Failed {
                    reason: FailReason::SizeMismatch { expected, offered },
                };
                download.connect_deadline = None;
                download.next_place_query = None;
                self.outputs.push_back(DownloadOutput::Changed(id));
                self.reply_rejected(user, ticket, TransferRejectionReason::Cancelled);
                return true;
            }
        };
        download.state = DownloadState::Connecting { ticket, size };
        download.connect_deadline = Some(now + self.config.connect_timeout);
        download.next_place_query = None;
        self.outputs.push_back(DownloadOutput::Send {
            user: user.to_owned(),
            message: PeerTransferReply {
                ticket,
                outcome: PeerTransferReplyOutcome::Allowed { filesize: None },
            }
            .into(),
        });
        self.outputs.push_back(DownloadOutput::Changed(id));
        true
    }

    /// `UploadDenied` from `user` (client-behaviour §6.3): "Too many files"
    /// and "Too many megabytes" keep the download queued and ask again after
    /// [`DownloadConfig::limit_retry_delay`]; "Pending shutdown." is retried
    /// like a lost connection; "Queued" means it is queued; anything else
    /// fails the download with the peer's exact reason.
    pub fn on_upload_denied(&mut self, user: &str, denied: &PeerTransferQueueFailed, now: Instant) {
        let Some(id) = self.waiting_download(user, &denied.filename) else {
            return;
        };
        let reason = denied.reason.clone();
        match reason {
            TransferRejectionReason::TooManyFiles | TransferRejectionReason::TooManyMegabytes => {
                let retry_at = now + self.config.limit_retry_delay;
                self.set_queued_locally(id, Some(retry_at), FailReason::Rejected(reason));
            }
            TransferRejectionReason::Queued => {
                let download = self.downloads.get_mut(&id).expect("waiting download");
                download.state = DownloadState::QueuedRemotely { place: None };
                download.connect_deadline = None;
                download.next_place_query = Some(now + self.config.place_in_queue_interval);
                self.outputs.push_back(DownloadOutput::Changed(id));
            }
            TransferRejectionReason::PendingShutdown => {
                self.transient_failure(id, FailReason::Rejected(reason), now);
            }
            _ => self.fail(id, FailReason::Rejected(reason)),
        }
    }

    /// `UploadFailed` from `user`: the uploader's attempt broke; the
    /// download is queued again after a backoff (client-behaviour §6.5). A
    /// download that is streaming is left to its stream, whose end decides.
    pub fn on_upload_failed(&mut self, user: &str, failed: &PeerUploadFailed, now: Instant) {
        if let Some(id) = self.waiting_download(user, &failed.filename) {
            self.transient_failure(id, FailReason::UploadFailed, now);
        }
    }

    /// `PlaceInQueueResponse` from `user`.
    pub fn on_place_in_queue(&mut self, user: &str, reply: &PeerPlaceInQueueReply) {
        let key = (user.to_owned(), reply.filename.clone());
        if let Some(&id) = self.by_file.get(&key) {
            let download = self.downloads.get_mut(&id).expect("indexed download");
            if let DownloadState::QueuedRemotely { place } = &mut download.state {
                *place = Some(reply.place);
                self.outputs.push_back(DownloadOutput::Changed(id));
            }
        }
    }

    /// The uploader `user` opened a file connection with `ticket`. Returns
    /// the job to stream for an allowed transfer (the download becomes
    /// transferring), or `None`: the driver closes the connection.
    pub fn on_file_connection(
        &mut self,
        user: &str,
        ticket: u32,
        _now: Instant,
    ) -> Option<DownloadJob> {
        let download = self.downloads.values_mut().find(|d| {
            d.user == user
                && matches!(d.state, DownloadState::Connecting { ticket: t, .. } if t == ticket)
        })?;
        let DownloadState::Connecting { size, .. } = download.state else {
            return None;
        };
        // A partial file written for another size is not a prefix of this one.
        let restart = download.size.is_some_and(|old| old != size);
        download.size = Some(size);
        download.state = DownloadState::Transferring {
            ticket,
            size,
            bytes: 0,
        };
        download.connect_deadline = None;
        let id = download.id;
        let job = DownloadJob {
            id,
            ticket,
            size,
            partial: incomplete_path(&self.config.incomplete_dir, user, &download.remote_path),
            destination: local_path(&self.config.download_dir, &download.remote_path),
            restart,
        };
        self.outputs.push_back(DownloadOutput::Changed(id));
        Some(job)
    }

    /// Progress of a streaming download (`bytes` of the whole file). Does
    /// not emit [`DownloadOutput::Changed`] (progress is the stream's
    /// business); new bytes reset the retry count.
    pub fn on_progress(&mut self, id: DownloadId, bytes: u64) {
        if let Some(download) = self.downloads.get_mut(&id)
            && let DownloadState::Transferring { bytes: b, .. } = &mut download.state
        {
            if bytes > *b {
                download.attempts = 0;
            }
            *b = bytes;
        }
    }

    /// The stream of `job` ended: with the final path, or with why it
    /// failed ([`DownloadError::reason`](crate::DownloadError::reason)).
    /// Transient failures are retried with a backoff; an end for a download
    /// that was cancelled meanwhile, or for an older ticket, is ignored.
    pub fn on_finished(
        &mut self,
        id: DownloadId,
        ticket: u32,
        result: Result<PathBuf, FailReason>,
        now: Instant,
    ) {
        let Some(download) = self.downloads.get_mut(&id) else {
            return;
        };
        if !matches!(download.state, DownloadState::Transferring { ticket: t, .. } if t == ticket) {
            return;
        }
        match result {
            Ok(path) => {
                download.state = DownloadState::Completed { path };
                download.attempts = 0;
                download.last_error = None;
                self.outputs.push_back(DownloadOutput::Changed(id));
            }
            Err(reason) if reason.is_transient() => self.transient_failure(id, reason, now),
            Err(reason) => self.fail(id, reason),
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Each deadline counts only in the state where `handle_timeout`
        // acts on it: a deadline left over from an earlier state would be
        // due for ever and spin the caller's timer.
        self.downloads
            .values()
            .filter_map(|d| match d.state {
                DownloadState::QueuedLocally { retry_at } => retry_at,
                DownloadState::Connecting { .. } => d.connect_deadline,
                DownloadState::QueuedRemotely { .. } => d.next_place_query,
                _ => None,
            })
            .min()
    }

    /// Runs what is due at `now`: retries, file connections that did not
    /// come, place-in-queue questions.
    pub fn handle_timeout(&mut self, now: Instant) {
        let ids: Vec<DownloadId> = self.downloads.keys().copied().collect();
        for id in ids {
            let download = &self.downloads[&id];
            match download.state {
                DownloadState::QueuedLocally { retry_at: Some(at) } if at <= now => {
                    self.send_queue_upload(id, now)
                }
                DownloadState::Connecting { .. }
                    if download.connect_deadline.is_some_and(|at| at <= now) =>
                {
                    self.transient_failure(id, FailReason::ConnectionTimeout, now);
                }
                DownloadState::QueuedRemotely { .. }
                    if download.next_place_query.is_some_and(|at| at <= now) =>
                {
                    let download = self.downloads.get_mut(&id).expect("listed");
                    download.next_place_query = Some(now + self.config.place_in_queue_interval);
                    self.outputs.push_back(DownloadOutput::Send {
                        user: download.user.clone(),
                        message: PeerPlaceInQueueRequest {
                            filename: download.remote_path.clone(),
                        }
                        .into(),
                    });
                }
                _ => {}
            }
        }
    }

    /// What to store for a download.
    pub fn record(&self, id: DownloadId) -> Option<DownloadRecord> {
        let d = self.downloads.get(&id)?;
        let (status, reason, final_path) = match &d.state {
            DownloadState::QueuedLocally { .. } | DownloadState::QueuedRemotely { .. } => {
                (StoredStatus::Queued, None, None)
            }
            DownloadState::Connecting { .. } | DownloadState::Transferring { .. } => {
                (StoredStatus::Active, None, None)
            }
            DownloadState::Completed { path } => {
                (StoredStatus::Completed, None, Some(path.clone()))
            }
            DownloadState::Failed { reason } => {
                (StoredStatus::Failed, Some(reason.to_stored()), None)
            }
            DownloadState::Cancelled => (StoredStatus::Cancelled, None, None),
        };
        Some(DownloadRecord {
            id: d.id.0,
            user: d.user.clone(),
            remote_path: d.remote_path.clone(),
            expected_size: d.expected_size,
            size: d.size,
            status,
            reason,
            final_path,
        })
    }

    /// Loads stored downloads after a restart: finished ones as they were,
    /// every unfinished one queued again (`QueueUpload` is sent; the stream
    /// resumes from the partial file's length). Records whose id or file is
    /// already known are skipped.
    pub fn restore(&mut self, records: impl IntoIterator<Item = DownloadRecord>, now: Instant) {
        for record in records {
            let id = DownloadId(record.id);
            let key = (record.user.clone(), record.remote_path.clone());
            if self.downloads.contains_key(&id) || self.by_file.contains_key(&key) {
                continue;
            }
            self.next_id = self.next_id.max(record.id.saturating_add(1));
            let state = match record.status {
                StoredStatus::Completed => DownloadState::Completed {
                    path: record.final_path.unwrap_or_default(),
                },
                StoredStatus::Failed => DownloadState::Failed {
                    reason: FailReason::from_stored(record.reason.as_deref().unwrap_or("")),
                },
                StoredStatus::Cancelled => DownloadState::Cancelled,
                StoredStatus::Queued | StoredStatus::Active => {
                    DownloadState::QueuedLocally { retry_at: None }
                }
            };
            let unfinished = !state.is_finished();
            self.insert(Download {
                id,
                user: record.user,
                remote_path: record.remote_path,
                expected_size: record.expected_size,
                size: record.size,
                state,
                attempts: 0,
                last_error: None,
                connect_deadline: None,
                next_place_query: None,
            });
            if unfinished {
                self.send_queue_upload(id, now);
            }
        }
    }

    fn insert(&mut self, download: Download) {
        self.by_file.insert(
            (download.user.clone(), download.remote_path.clone()),
            download.id,
        );
        self.outputs.push_back(DownloadOutput::Changed(download.id));
        self.downloads.insert(download.id, download);
    }

    /// The download of `filename` from `user` if it is waiting for the
    /// uploader (queued either side, or allowed but not streaming yet).
    fn waiting_download(&self, user: &str, filename: &str) -> Option<DownloadId> {
        let id = *self.by_file.get(&(user.to_owned(), filename.to_owned()))?;
        matches!(
            self.downloads[&id].state,
            DownloadState::QueuedLocally { .. }
                | DownloadState::QueuedRemotely { .. }
                | DownloadState::Connecting { .. }
        )
        .then_some(id)
    }

    /// Sends `QueueUpload` (or waits for the user to come online).
    fn send_queue_upload(&mut self, id: DownloadId, now: Instant) {
        let download = self.downloads.get_mut(&id).expect("known download");
        download.connect_deadline = None;
        if self.offline.contains(&download.user) {
            download.state = DownloadState::QueuedLocally { retry_at: None };
            download.next_place_query = None;
        } else {
            download.state = DownloadState::QueuedRemotely { place: None };
            download.next_place_query = Some(now + self.config.place_in_queue_interval);
            self.outputs.push_back(DownloadOutput::Send {
                user: download.user.clone(),
                message: PeerTransferQueue {
                    filename: download.remote_path.clone(),
                }
                .into(),
            });
        }
        self.outputs.push_back(DownloadOutput::Changed(id));
    }

    /// Counts a failure that a retry may fix; retries after a doubling
    /// delay, or fails for good after [`DownloadConfig::max_attempts`]. A
    /// user known to be offline explains the failure: it is not counted,
    /// and the download waits for them to come back (Nicotine+ resumes
    /// "User logged off" downloads then, client-behaviour.md 6.5).
    fn transient_failure(&mut self, id: DownloadId, reason: FailReason, now: Instant) {
        let download = self.downloads.get_mut(&id).expect("known download");
        if self.offline.contains(&download.user) {
            self.set_queued_locally(id, None, reason);
            return;
        }
        download.attempts += 1;
        if download.attempts >= self.config.max_attempts {
            self.fail(id, reason);
            return;
        }
        let doublings = download.attempts.saturating_sub(1).min(16);
        let delay = self
            .config
            .retry_base_delay
            .saturating_mul(1 << doublings)
            .min(self.config.retry_max_delay);
        self.set_queued_locally(id, Some(now + delay), reason);
    }

    fn set_queued_locally(
        &mut self,
        id: DownloadId,
        retry_at: Option<Instant>,
        reason: FailReason,
    ) {
        let download = self.downloads.get_mut(&id).expect("known download");
        download.state = DownloadState::QueuedLocally { retry_at };
        download.last_error = Some(reason);
        download.connect_deadline = None;
        download.next_place_query = None;
        self.outputs.push_back(DownloadOutput::Changed(id));
    }

    fn fail(&mut self, id: DownloadId, reason: FailReason) {
        let download = self.downloads.get_mut(&id).expect("known download");
        download.state = DownloadState::Failed { reason };
        download.connect_deadline = None;
        download.next_place_query = None;
        self.outputs.push_back(DownloadOutput::Changed(id));
    }

    fn reply_rejected(&mut self, user: &str, ticket: u32, reason: TransferRejectionReason) {
        self.outputs.push_back(DownloadOutput::Send {
            user: user.to_owned(),
            message: PeerTransferReply {
                ticket,
                outcome: PeerTransferReplyOutcome::Rejected {
                    reason: Some(reason),
                },
            }
            .into(),
        });
    }
}
