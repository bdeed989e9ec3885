//! The upload queue: a state machine without I/O ([`UploadManager`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use slsk_proto::peer::{
    PeerMessage, PeerPlaceInQueueReply, PeerPlaceInQueueRequest, PeerTransferQueue,
    PeerTransferQueueFailed, PeerTransferReply, PeerTransferReplyOutcome, PeerTransferRequest,
    PeerUploadFailed,
};
use slsk_proto::server::{SendUploadSpeedRequest, ServerRequest};
use slsk_proto::tables::{TransferDirection, TransferRejectionReason};

use crate::stream::{UploadError, UploadOutcome};

/// A shared file as the share resolver knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFile {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its size in bytes (announced in the `TransferRequest`).
    pub size: u64,
}

/// Turns the path a peer asked for into a shared file, or `None` if it is
/// not shared. Implemented by closures `Fn(&str) -> Option<SharedFile>`.
pub trait ShareResolver {
    fn resolve(&self, virtual_path: &str) -> Option<SharedFile>;
}

impl<F> ShareResolver for F
where
    F: Fn(&str) -> Option<SharedFile>,
{
    fn resolve(&self, virtual_path: &str) -> Option<SharedFile> {
        self(virtual_path)
    }
}

/// Settings of the upload queue. `Default` gives the documented values.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Uploads at the same time (3, as Nicotine+).
    pub slots: usize,
    /// Files one user may have queued or uploading (100, as Nicotine+).
    pub max_files_per_user: usize,
    /// Bytes one user may have queued or uploading (10 000 MiB, as
    /// Nicotine+).
    pub max_bytes_per_user: u64,
    /// How long to wait for the reply to our `TransferRequest` (30 s, as
    /// aioslsk).
    pub reply_timeout: Duration,
    /// How long the driver may take to open the file connection after an
    /// allowed reply (60 s).
    pub connect_timeout: Duration,
    /// The first ticket (random if `None`).
    pub first_ticket: Option<u32>,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self {
            slots: 3,
            max_files_per_user: 100,
            max_bytes_per_user: 10_000 * 1024 * 1024,
            reply_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(60),
            first_ticket: None,
        }
    }
}

/// Identifies an upload in its manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(pub u64);

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    /// Waiting for a slot.
    Queued,
    /// `TransferRequest` sent; waiting for the reply.
    Requested { ticket: u32 },
    /// Allowed; the driver is opening the file connection.
    Connecting { ticket: u32 },
    /// The file connection is open and bytes flow.
    Transferring { ticket: u32 },
}

/// One upload.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: UploadId,
    pub user: String,
    /// The path as the peer asked for it (sent back verbatim).
    pub virtual_path: String,
    pub file: SharedFile,
    pub state: UploadState,
    deadline: Option<Instant>,
    /// Order of arrival, for FIFO among a user's files and ties.
    sequence: u64,
}

/// How an upload stream ended badly, as the queue needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFailure {
    /// The connection broke, stalled or never opened: `UploadFailed` is
    /// sent so the downloader queues again.
    Connection,
    /// The file could not be read: `UploadDenied("File read error.")`.
    FileRead,
    /// The downloader asked for an offset past the end:
    /// `UploadDenied("Cancelled")`, so it does not ask again.
    OffsetPastEnd,
}

impl UploadError {
    /// How the upload queue should treat this error.
    pub fn failure(&self) -> UploadFailure {
        match self {
            Self::File(_) => UploadFailure::FileRead,
            Self::OffsetPastEnd { .. } => UploadFailure::OffsetPastEnd,
            Self::OffsetTimeout | Self::Connection(_) | Self::Stalled { .. } => {
                UploadFailure::Connection
            }
        }
    }
}

/// Something for the driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadOutput {
    /// Send `message` to `user` on the peer (`P`) connection.
    Send { user: String, message: PeerMessage },
    /// Send this to the server (`SendUploadSpeed` after an upload).
    SendServer(ServerRequest),
    /// Open a file connection to `user`, write `ticket`, call
    /// [`on_file_connection_open`](UploadManager::on_file_connection_open)
    /// and stream `file` with [`upload`](crate::upload); report the end with
    /// [`on_finished`](UploadManager::on_finished), or a failure to connect
    /// with [`on_connect_failed`](UploadManager::on_connect_failed).
    OpenFileConnection {
        id: UploadId,
        user: String,
        ticket: u32,
        file: SharedFile,
    },
    /// The upload is over (done, failed, refused or cancelled) and
    /// forgotten.
    Ended { id: UploadId, completed: bool },
}

/// The upload queue.
///
/// A peer asks for a file with `QueueUpload` (or, the legacy way, with
/// `TransferRequest` direction 0, answered "Queued"). Requests are checked
/// in this order, each refusal with its exact string (client-behaviour
/// §6.3): banned ("Banned"); already queued or uploading (a `QueueUpload` is
/// dropped silently, a legacy request answered "Queued"); shutting down
/// ("Pending shutdown."); a path that tries to climb out or is not shared
/// ("File not shared."); the user's file and byte limits ("Too many files",
/// "Too many megabytes").
///
/// When a slot frees, the next upload is chosen (client-behaviour §6.4):
/// one active upload per user, privileged users first, then round-robin:
/// the user served longest ago (new users first), their oldest file. The
/// file is resolved again (it may have gone), then `TransferRequest(1,
/// ticket, file, size)` is sent; on an allowed reply the driver opens the
/// file connection ([`UploadOutput::OpenFileConnection`]).
///
/// ```
/// use std::time::Instant;
/// use slsk_proto::peer::{PeerMessage, PeerTransferQueue};
/// use slsk_transfers::{SharedFile, UploadConfig, UploadManager, UploadOutput};
///
/// let resolver = |path: &str| {
///     (path == "Music\\song.mp3").then(|| SharedFile { path: "/music/song.mp3".into(), size: 42 })
/// };
/// let mut uploads = UploadManager::new(UploadConfig::default(), resolver);
/// let now = Instant::now();
/// uploads.on_queue_upload("bob", &PeerTransferQueue { filename: "Music\\song.mp3".into() }, now);
/// // A slot is free: bob is offered the file.
/// let Some(UploadOutput::Send { message: PeerMessage::PeerTransferRequest(offer), .. }) =
///     uploads.poll_output() else { panic!() };
/// assert_eq!(offer.filesize, Some(42));
/// ```
#[derive(Debug)]
pub struct UploadManager<R> {
    config: UploadConfig,
    resolver: R,
    uploads: BTreeMap<UploadId, Upload>,
    /// Each user's waiting uploads, oldest first.
    queues: HashMap<String, VecDeque<UploadId>>,
    /// The one upload per user that holds (or is getting) a slot.
    active: HashMap<String, UploadId>,
    /// When each user last got a slot (a grant counter), for round-robin.
    last_served: HashMap<String, u64>,
    banned: HashSet<String>,
    privileged: HashSet<String>,
    offline: HashSet<String>,
    shutting_down: bool,
    next_id: u64,
    next_sequence: u64,
    grants: u64,
    next_ticket: u32,
    completed_uploads: u64,
    average_speed: u32,
    outputs: VecDeque<UploadOutput>,
}

impl<R: ShareResolver> UploadManager<R> {
    /// An empty queue resolving paths with `resolver`.
    pub fn new(config: UploadConfig, resolver: R) -> Self {
        // Nicotine+ starts its tickets at random below 2^32/1000.
        let next_ticket = config
            .first_ticket
            .unwrap_or_else(|| rand::random::<u32>() / 1000);
        Self {
            config,
            resolver,
            uploads: BTreeMap::new(),
            queues: HashMap::new(),
            active: HashMap::new(),
            last_served: HashMap::new(),
            banned: HashSet::new(),
            privileged: HashSet::new(),
            offline: HashSet::new(),
            shutting_down: false,
            next_id: 1,
            next_sequence: 0,
            grants: 0,
            next_ticket,
            completed_uploads: 0,
            average_speed: 0,
            outputs: VecDeque::new(),
        }
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<UploadOutput> {
        self.outputs.pop_front()
    }

    /// An upload by id.
    pub fn get(&self, id: UploadId) -> Option<&Upload> {
        self.uploads.get(&id)
    }

    /// Every upload, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Upload> {
        self.uploads.values()
    }

    /// Whether a new request would get a slot now (for search replies'
    /// "free slot" flag).
    pub fn has_free_slot(&self) -> bool {
        !self.shutting_down && self.active.len() < self.config.slots && self.queue_length() == 0
    }

    /// Uploads waiting for a slot (for search replies and user info).
    pub fn queue_length(&self) -> u32 {
        let waiting: usize = self.queues.values().map(VecDeque::len).sum();
        u32::try_from(waiting).unwrap_or(u32::MAX)
    }

    /// The average speed of completed uploads, in bytes per second, as the
    /// server computes it from `SendUploadSpeed`.
    pub fn average_speed(&self) -> u32 {
        self.average_speed
    }

    /// Sets the number of upload slots; new slots are used at once.
    pub fn set_slots(&mut self, slots: usize, now: Instant) {
        self.config.slots = slots;
        self.schedule(now);
    }

    /// Bans or unbans a user. A ban drops their waiting uploads (active
    /// ones go on; the driver may cancel them).
    pub fn set_banned(&mut self, user: &str, banned: bool) {
        if banned {
            self.banned.insert(user.to_owned());
            self.drop_queued(user);
        } else {
            self.banned.remove(user);
        }
    }

    /// Marks a user as privileged (served before everyone else) or not.
    pub fn set_privileged(&mut self, user: &str, privileged: bool) {
        if privileged {
            self.privileged.insert(user.to_owned());
        } else {
            self.privileged.remove(user);
        }
    }

    /// The user went offline: their waiting uploads are dropped (they queue
    /// again when back, client-behaviour §6.5); active ones go on, and no
    /// `UploadFailed` is sent to them.
    pub fn user_offline(&mut self, user: &str) {
        self.offline.insert(user.to_owned());
        self.drop_queued(user);
    }

    /// The user is online again.
    pub fn user_online(&mut self, user: &str) {
        self.offline.remove(user);
    }

    /// Stops granting slots and refuses new requests with "Pending
    /// shutdown.".
    pub fn shutdown(&mut self) {
        self.shutting_down = true;
    }

    /// `QueueUpload` from `user`.
    pub fn on_queue_upload(&mut self, user: &str, request: &PeerTransferQueue, now: Instant) {
        match self.admit(user, &request.filename) {
            Admission::Admitted(file) => {
                self.enqueue(user, &request.filename, file);
                self.schedule(now);
            }
            Admission::Duplicate => {}
            Admission::Refused(reason) => self.send(
                user,
                PeerTransferQueueFailed {
                    filename: request.filename.clone(),
                    reason,
                }
                .into(),
            ),
        }
    }

    /// A `TransferRequest` from `user`. Direction 0 (the legacy way to ask
    /// for a file) is never allowed directly: it is answered "Queued" and
    /// queued (Nicotine+ does the same: allowing it would let a spoofed peer
    /// start the file connection), or refused with the reason; `true` is
    /// returned. Other directions return `false` untouched (direction 1
    /// belongs to the download queue).
    pub fn on_transfer_request(
        &mut self,
        user: &str,
        request: &PeerTransferRequest,
        now: Instant,
    ) -> bool {
        if request.direction != TransferDirection::Download {
            return false;
        }
        let reason = match self.admit(user, &request.filename) {
            Admission::Admitted(file) => {
                self.enqueue(user, &request.filename, file);
                TransferRejectionReason::Queued
            }
            Admission::Duplicate => TransferRejectionReason::Queued,
            Admission::Refused(reason) => reason,
        };
        self.send(
            user,
            PeerTransferReply {
                ticket: request.ticket,
                outcome: PeerTransferReplyOutcome::Rejected {
                    reason: Some(reason),
                },
            }
            .into(),
        );
        self.schedule(now);
        true
    }

    /// The reply to our `TransferRequest`. Allowed: the driver opens the
    /// file connection. Refused: the upload is dropped. Returns `false` for
    /// a ticket we did not send to `user`.
    pub fn on_transfer_reply(
        &mut self,
        user: &str,
        reply: &PeerTransferReply,
        now: Instant,
    ) -> bool {
        let Some(id) = self.active.get(user).copied() else {
            return false;
        };
        let upload = self.uploads.get_mut(&id).expect("active upload");
        if upload.state
            != (UploadState::Requested {
                ticket: reply.ticket,
            })
        {
            return false;
        }
        match &reply.outcome {
            PeerTransferReplyOutcome::Allowed { .. } => {
                upload.state = UploadState::Connecting {
                    ticket: reply.ticket,
                };
                upload.deadline = Some(now + self.config.connect_timeout);
                self.outputs.push_back(UploadOutput::OpenFileConnection {
                    id,
                    user: user.to_owned(),
                    ticket: reply.ticket,
                    file: upload.file.clone(),
                });
            }
            PeerTransferReplyOutcome::Rejected { .. } => {
                self.end(id, false);
                self.schedule(now);
            }
        }
        true
    }

    /// `PlaceInQueueRequest` from `user`: answered with the file's place
    /// (1 = next) if it is waiting; nothing otherwise (as Nicotine+).
    pub fn on_place_in_queue_request(&mut self, user: &str, request: &PeerPlaceInQueueRequest) {
        let Some(id) = self.queues.get(user).and_then(|queue| {
            queue
                .iter()
                .copied()
                .find(|id| self.uploads[id].virtual_path == request.filename)
        }) else {
            return;
        };
        let Some(index) = self.queue_order().iter().position(|&queued| queued == id) else {
            return;
        };
        let place = u32::try_from(index + 1).unwrap_or(u32::MAX);
        self.send(
            user,
            PeerPlaceInQueueReply {
                filename: request.filename.clone(),
                place,
            }
            .into(),
        );
    }

    /// The driver opened the file connection of `id` and wrote the ticket.
    pub fn on_file_connection_open(&mut self, id: UploadId) {
        if let Some(upload) = self.uploads.get_mut(&id)
            && let UploadState::Connecting { ticket } = upload.state
        {
            upload.state = UploadState::Transferring { ticket };
            upload.deadline = None;
        }
    }

    /// The driver could not open the file connection of `id`: the upload is
    /// dropped and `UploadFailed` sent (the downloader may queue again).
    pub fn on_connect_failed(&mut self, id: UploadId, now: Instant) {
        if self.uploads.contains_key(&id) {
            self.fail(id, UploadFailure::Connection);
            self.schedule(now);
        }
    }

    /// The upload stream of `id` ended. Done: `SendUploadSpeed` goes to the
    /// server (if the speed is above 0). Failed: `UploadFailed`, or
    /// `UploadDenied` for a file error or a bad offset (see
    /// [`UploadFailure`]). Either way the slot goes to the next upload.
    pub fn on_finished(
        &mut self,
        id: UploadId,
        result: Result<UploadOutcome, UploadFailure>,
        now: Instant,
    ) {
        if !self.uploads.contains_key(&id) {
            return;
        }
        match result {
            Ok(outcome) => {
                let speed = outcome.speed();
                if speed > 0 {
                    // The server's formula (client-behaviour §6.4).
                    let n = self.completed_uploads;
                    let average = (u128::from(self.average_speed) * u128::from(n)
                        + u128::from(speed))
                        / (u128::from(n) + 1);
                    self.average_speed = u32::try_from(average).unwrap_or(u32::MAX);
                    self.completed_uploads += 1;
                    self.outputs.push_back(UploadOutput::SendServer(
                        SendUploadSpeedRequest { speed }.into(),
                    ));
                }
                self.end(id, true);
            }
            Err(failure) => self.fail(id, failure),
        }
        self.schedule(now);
    }

    /// Cancels an upload: `UploadDenied("Cancelled")` tells the downloader
    /// not to queue it again. The driver drops a running stream itself.
    pub fn cancel(&mut self, id: UploadId, now: Instant) {
        let Some(upload) = self.uploads.get(&id) else {
            return;
        };
        let (user, filename) = (upload.user.clone(), upload.virtual_path.clone());
        self.send(
            &user,
            PeerTransferQueueFailed {
                filename,
                reason: TransferRejectionReason::Cancelled,
            }
            .into(),
        );
        self.end(id, false);
        self.schedule(now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.active
            .values()
            .filter_map(|id| self.uploads[id].deadline)
            .min()
    }

    /// Drops requests whose reply did not come and file connections that
    /// did not open in time, and gives their slots away.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<UploadId> = self
            .active
            .values()
            .copied()
            .filter(|id| self.uploads[id].deadline.is_some_and(|at| at <= now))
            .collect();
        for id in expired {
            match self.uploads[&id].state {
                // No reply: the downloader is gone or not interested.
                UploadState::Requested { .. } => self.end(id, false),
                _ => self.fail(id, UploadFailure::Connection),
            }
        }
        self.schedule(now);
    }

    fn admit(&mut self, user: &str, filename: &str) -> Admission {
        // Whoever asks for a file is online.
        self.offline.remove(user);
        if self.banned.contains(user) {
            return Admission::Refused(TransferRejectionReason::Banned);
        }
        // The user's own uploads only (at most the file limit), not the
        // whole queue: a request costs the same however many users wait.
        let mine: Vec<&Upload> = self
            .queues
            .get(user)
            .into_iter()
            .flatten()
            .chain(self.active.get(user))
            .map(|id| &self.uploads[id])
            .collect();
        if mine.iter().any(|u| u.virtual_path == filename) {
            return Admission::Duplicate;
        }
        if self.shutting_down {
            return Admission::Refused(TransferRejectionReason::PendingShutdown);
        }
        if climbs_out(filename) {
            return Admission::Refused(TransferRejectionReason::FileNotShared);
        }
        let Some(file) = self.resolver.resolve(filename) else {
            return Admission::Refused(TransferRejectionReason::FileNotShared);
        };
        if mine.len() >= self.config.max_files_per_user {
            return Admission::Refused(TransferRejectionReason::TooManyFiles);
        }
        let bytes = mine
            .iter()
            .fold(0u64, |sum, u| sum.saturating_add(u.file.size));
        if bytes.saturating_add(file.size) > self.config.max_bytes_per_user {
            return Admission::Refused(TransferRejectionReason::TooManyMegabytes);
        }
        Admission::Admitted(file)
    }

    fn enqueue(&mut self, user: &str, filename: &str, file: SharedFile) {
        let id = UploadId(self.next_id);
        self.next_id += 1;
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.uploads.insert(
            id,
            Upload {
                id,
                user: user.to_owned(),
                virtual_path: filename.to_owned(),
                file,
                state: UploadState::Queued,
                deadline: None,
                sequence,
            },
        );
        self.queues
            .entry(user.to_owned())
            .or_default()
            .push_back(id);
    }

    /// Users with waiting uploads, in the order they are served: privileged
    /// first, then the one served longest ago (never served = first), then
    /// whose oldest waiting file came first.
    fn users_in_turn(&self) -> Vec<&str> {
        let mut users: Vec<&str> = self
            .queues
            .iter()
            .filter(|(_, queue)| !queue.is_empty())
            .map(|(user, _)| user.as_str())
            .collect();
        users.sort_by_key(|&user| {
            (
                !self.privileged.contains(user),
                self.last_served.get(user).copied().unwrap_or(0),
                self.uploads[&self.queues[user][0]].sequence,
            )
        });
        users
    }

    /// Every waiting upload in the order it would be served if no more
    /// came: the users in turn, one file each per round, privileged users'
    /// rounds first.
    fn queue_order(&self) -> Vec<UploadId> {
        let users = self.users_in_turn();
        let (privileged, others): (Vec<&str>, Vec<&str>) = users
            .into_iter()
            .partition(|user| self.privileged.contains(*user));
        let mut order = Vec::new();
        for group in [privileged, others] {
            let rounds = group
                .iter()
                .map(|u| self.queues[*u].len())
                .max()
                .unwrap_or(0);
            for round in 0..rounds {
                for user in &group {
                    if let Some(&id) = self.queues[*user].get(round) {
                        order.push(id);
                    }
                }
            }
        }
        order
    }

    /// Gives free slots to the next uploads.
    fn schedule(&mut self, now: Instant) {
        while !self.shutting_down && self.active.len() < self.config.slots {
            let Some(user) = self
                .users_in_turn()
                .into_iter()
                .find(|user| !self.active.contains_key(*user))
                .map(str::to_owned)
            else {
                return;
            };
            let queue = self.queues.get_mut(&user).expect("user in turn");
            let id = queue.pop_front().expect("non-empty queue");
            if queue.is_empty() {
                self.queues.remove(&user);
            }
            // The file may have gone or changed since it was queued.
            let virtual_path = self.uploads[&id].virtual_path.clone();
            let Some(file) = self.resolver.resolve(&virtual_path) else {
                self.send(
                    &user,
                    PeerTransferQueueFailed {
                        filename: virtual_path,
                        reason: TransferRejectionReason::FileNotShared,
                    }
                    .into(),
                );
                self.end(id, false);
                continue;
            };
            let ticket = self.next_ticket;
            self.next_ticket = self.next_ticket.wrapping_add(1);
            self.grants += 1;
            self.last_served.insert(user.clone(), self.grants);
            self.active.insert(user.clone(), id);
            let upload = self.uploads.get_mut(&id).expect("queued upload");
            upload.file = file;
            upload.state = UploadState::Requested { ticket };
            upload.deadline = Some(now + self.config.reply_timeout);
            let message = PeerTransferRequest {
                direction: TransferDirection::Upload,
                ticket,
                filename: virtual_path,
                filesize: Some(upload.file.size),
            };
            self.send(&user, message.into());
        }
    }

    /// Sends what a failure calls for, then forgets the upload.
    fn fail(&mut self, id: UploadId, failure: UploadFailure) {
        let upload = &self.uploads[&id];
        let (user, filename) = (upload.user.clone(), upload.virtual_path.clone());
        match failure {
            UploadFailure::Connection => {
                if !self.offline.contains(&user) {
                    self.send(&user, PeerUploadFailed { filename }.into());
                }
            }
            UploadFailure::FileRead | UploadFailure::OffsetPastEnd => {
                let reason = if failure == UploadFailure::FileRead {
                    TransferRejectionReason::FileReadError
                } else {
                    TransferRejectionReason::Cancelled
                };
                self.send(&user, PeerTransferQueueFailed { filename, reason }.into());
            }
        }
        self.end(id, false);
    }

    /// Forgets an upload, wherever it is.
    fn end(&mut self, id: UploadId, completed: bool) {
        let Some(upload) = self.uploads.remove(&id) else {
            return;
        };
        if self.active.get(&upload.user) == Some(&id) {
            self.active.remove(&upload.user);
        }
        if let Some(queue) = self.queues.get_mut(&upload.user) {
            queue.retain(|&queued| queued != id);
            if queue.is_empty() {
                self.queues.remove(&upload.user);
            }
        }
        self.outputs
            .push_back(UploadOutput::Ended { id, completed });
    }

    fn drop_queued(&mut self, user: &str) {
        if let Some(queue) = self.queues.remove(user) {
            for id in queue {
                self.uploads.remove(&id);
                self.outputs.push_back(UploadOutput::Ended {
                    id,
                    completed: false,
                });
            }
        }
    }

    fn send(&mut self, user: &str, message: PeerMessage) {
        self.outputs.push_back(UploadOutput::Send {
            user: user.to_owned(),
            message,
        });
    }
}

enum Admission {
    Admitted(SharedFile),
    Duplicate,
    Refused(TransferRejectionReason),
}

/// A requested path that tries to leave the shares: a `..` part (either
/// separator) or a NUL. Refused before the resolver sees it.
fn climbs_out(path: &str) -> bool {
    path.contains('\0') || path.split(['/', '\\']).any(|part| part == "..")
}
