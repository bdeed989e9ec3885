//! The tokio driver of the transfer managers: one task owns both managers
//! and the store; streams, sends and connects run in tasks of their own
//! that report back through the same bounded input channel.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slsk_proto::peer::PeerMessage;
use slsk_proto::server::{AddUserResponse, AddUserResponseUser, ServerRequest, ServerResponse};
use slsk_proto::tables::UserStatus;
use slsk_transfers::{
    Download, DownloadConfig, DownloadId, DownloadManager, DownloadOutput, DownloadState,
    DownloadStore, FailReason, RateLimiter, StreamConfig, UploadConfig, UploadFailure, UploadId,
    UploadManager, UploadOutcome, UploadOutput,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, warn};

use super::presence::Presence;
use super::settings::{QueueStorage, ShareResolverFn, TransferSettings};
use super::status::{UploadFigures, UploadStatus};
use super::{TransferError, TransferEvent};
use crate::client::driver::Request;
use crate::client::events::Event;
use crate::client::session::{Command, Reply};
use crate::{FileConnection, PeerError, Peers};

/// Inputs waiting for the task (peer messages, stream reports, commands).
const INPUT_QUEUE: usize = 512;
/// Events kept while the application is not reading.
const MAX_OUTBOX: usize = 1024;
/// Users remembered for a new QueueUpload at the next login (more are
/// retried by the usual backoff instead).
const MAX_LOST_SENDS: usize = 4096;
/// How long a peer has to send the ticket on an `F` connection.
const TICKET_TIMEOUT: Duration = Duration::from_secs(30);

/// What the transfer task is told.
#[derive(Debug)]
pub(crate) enum TransferInput {
    /// A transfer message from a peer.
    Peer {
        username: String,
        message: PeerMessage,
    },
    /// An `F` connection a peer opened to us.
    File {
        username: String,
        connection: FileConnection,
    },
    Download {
        user: String,
        remote_path: String,
        expected_size: Option<u64>,
        reply: oneshot::Sender<DownloadId>,
    },
    CancelDownload(DownloadId),
    /// The client shuts down: streams end, the task ends.
    Shutdown,
    /// An `F` connection whose ticket was read.
    Ticket {
        username: String,
        ticket: u32,
        connection: FileConnection,
    },
    DownloadProgress {
        id: DownloadId,
        bytes: u64,
        size: u64,
        rate: u64,
    },
    DownloadFinished {
        id: DownloadId,
        ticket: u32,
        result: Result<std::path::PathBuf, FailReason>,
    },
    /// A message to `user` could not be sent.
    SendFailed {
        user: String,
        cause: SendFailure,
        for_download: bool,
    },
    /// The server told us a user's status (a watched user's change, or the
    /// answer to a watch or a status request).
    UserStatus {
        user: String,
        online: bool,
        /// `None` when the message does not say (an AddUser reply).
        privileged: Option<bool>,
    },
    /// The session took (or could not take) our watch of `user`.
    Watched {
        user: String,
        ok: bool,
    },
    /// The session logged in (the first time, or again after a reconnect).
    LoggedIn,
    UploadOpened(UploadId),
    UploadConnectFailed(UploadId),
    UploadFinished {
        id: UploadId,
        result: Result<UploadOutcome, UploadFailure>,
    },
}

/// Why a message to a peer was not sent, as the queues need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendFailure {
    /// The server says the user is not logged in.
    Offline,
    /// We were not logged in yet (no username for PeerInit).
    NotLoggedIn,
    /// Our server connection went down while connecting.
    ServerLost,
    /// The peer could not be reached, or the connection closed.
    Peer,
}

impl From<&PeerError> for SendFailure {
    fn from(error: &PeerError) -> Self {
        match error {
            PeerError::Offline => Self::Offline,
            PeerError::NoUsername => Self::NotLoggedIn,
            PeerError::ServerLost => Self::ServerLost,
            _ => Self::Peer,
        }
    }
}

/// The client's side of the task.
#[derive(Debug, Clone)]
pub(crate) struct TransferHandle {
    pub(crate) inputs: mpsc::Sender<TransferInput>,
    /// The upload queue as search replies and user info advertise it.
    pub(crate) upload_status: Arc<UploadStatus>,
    snapshot: Arc<Mutex<BTreeMap<DownloadId, Download>>>,
}

impl TransferHandle {
    pub(crate) async fn download(
        &self,
        user: &str,
        remote_path: &str,
        expected_size: Option<u64>,
    ) -> Result<DownloadId, TransferError> {
        let (reply, answer) = oneshot::channel();
        self.inputs
            .send(TransferInput::Download {
                user: user.into(),
                remote_path: remote_path.into(),
                expected_size,
                reply,
            })
            .await
            .map_err(|_| TransferError::Closed)?;
        answer.await.map_err(|_| TransferError::Closed)
    }

    pub(crate) async fn cancel_download(&self, id: DownloadId) -> Result<(), TransferError> {
        self.inputs
            .send(TransferInput::CancelDownload(id))
            .await
            .map_err(|_| TransferError::Closed)
    }

    pub(crate) async fn shutdown(&self) {
        let _ = self.inputs.send(TransferInput::Shutdown).await;
    }

    pub(crate) fn downloads(&self) -> Vec<Download> {
        lock(&self.snapshot).values().cloned().collect()
    }
}

impl TransferInput {
    /// The input a server message makes, if any: the statuses in
    /// GetUserStatus and in the answer to a watch (AddUser).
    pub(crate) fn from_server(message: &ServerResponse) -> Option<Self> {
        match message {
            ServerResponse::GetUserStatus(reply) => Some(Self::UserStatus {
                user: reply.username.clone(),
                online: reply.status != UserStatus::Offline,
                privileged: Some(reply.privileged),
            }),
            ServerResponse::AddUser(AddUserResponse {
                username,
                user: AddUserResponseUser::Exists { status, .. },
            }) => Some(Self::UserStatus {
                user: username.clone(),
                online: *status != UserStatus::Offline,
                privileged: None,
            }),
            _ => None,
        }
    }
}

/// Opens the store and starts the task. Unfinished downloads of the store
/// are queued again right away. `session` is where watches of the users we
/// transfer with are asked for.
pub(crate) fn start(
    settings: &TransferSettings,
    peers: Peers,
    to_server: mpsc::Sender<ServerRequest>,
    session: mpsc::WeakSender<Request>,
    events: mpsc::Sender<Event>,
    span: tracing::Span,
) -> io::Result<TransferHandle> {
    let store = match &settings.queue {
        QueueStorage::Memory => DownloadStore::open_in_memory(),
        QueueStorage::Sqlite(path) => DownloadStore::open(path),
    }
    .map_err(io::Error::other)?;
    let records = store.load().map_err(io::Error::other)?;
    let mut downloads = DownloadManager::new(DownloadConfig::new(
        &settings.download_dir,
        &settings.incomplete_dir,
    ));
    downloads.restore(records, std::time::Instant::now());
    let upload_config = UploadConfig {
        slots: settings.upload_slots.max(1),
        max_files_per_user: settings.max_files_per_user,
        max_bytes_per_user: settings.max_bytes_per_user,
        ..UploadConfig::default()
    };
    let resolver = settings.resolver.clone();
    let upload_status = Arc::new(UploadStatus::new(upload_config.slots));
    let uploads = UploadManager::new(upload_config, Resolver(resolver));
    let (inputs_tx, inputs) = mpsc::channel(INPUT_QUEUE);
    // Restored downloads are listed from the start.
    let restored = downloads.iter().map(|d| (d.id, d.clone())).collect();
    let snapshot = Arc::new(Mutex::new(restored));
    let task = TransferTask {
        downloads,
        uploads,
        store,
        peers,
        to_server,
        session,
        presence: Presence::default(),
        lost_sends: Default::default(),
        seen_login: false,
        events,
        outbox: VecDeque::new(),
        inputs,
        inputs_tx: inputs_tx.downgrade(),
        stop: CancellationToken::new(),
        snapshot: snapshot.clone(),
        upload_status: upload_status.clone(),
        slots: settings.upload_slots.max(1),
        stream: StreamConfig::default(),
        limiter: settings
            .upload_rate_limit
            .map(|rate| Arc::new(RateLimiter::new(rate))),
    };
    tokio::spawn(task.run().instrument(span));
    Ok(TransferHandle {
        inputs: inputs_tx,
        upload_status,
        snapshot,
    })
}

/// The shared closure as the upload manager's resolver.
struct Resolver(ShareResolverFn);

impl slsk_transfers::ShareResolver for Resolver {
    fn resolve(&self, virtual_path: &str) -> Option<slsk_transfers::SharedFile> {
        (self.0)(virtual_path)
    }
}

enum Wake {
    Input(Option<TransferInput>),
    Timer,
}

struct TransferTask {
    downloads: DownloadManager,
    uploads: UploadManager<Resolver>,
    store: DownloadStore,
    peers: Peers,
    to_server: mpsc::Sender<ServerRequest>,
    /// Where watches are asked for (weak: transfers do not keep the session
    /// alive).
    session: mpsc::WeakSender<Request>,
    presence: Presence,
    /// Users whose download messages were lost on our side (not logged in,
    /// server connection down); asked again at the next login.
    lost_sends: std::collections::HashSet<String>,
    /// Whether the session has logged in (our username is known to the
    /// peer layer from then on).
    seen_login: bool,
    events: mpsc::Sender<Event>,
    outbox: VecDeque<Event>,
    inputs: mpsc::Receiver<TransferInput>,
    inputs_tx: mpsc::WeakSender<TransferInput>,
    stop: CancellationToken,
    snapshot: Arc<Mutex<BTreeMap<DownloadId, Download>>>,
    upload_status: Arc<UploadStatus>,
    slots: usize,
    stream: StreamConfig,
    limiter: Option<Arc<RateLimiter>>,
}

impl TransferTask {
    async fn run(mut self) {
        self.drain_outputs();
        loop {
            let deadline = [self.downloads.poll_timeout(), self.uploads.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .map(Instant::from_std);
            let wake = tokio::select! {
                input = self.inputs.recv() => Wake::Input(input),
                permit = self.events.reserve(), if !self.outbox.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.outbox.pop_front() {
                                permit.send(event);
                            }
                        }
                        Err(_) => self.outbox.clear(),
                    }
                    continue;
                }
                () = sleep_until(deadline) => Wake::Timer,
            };
            match wake {
                Wake::Input(Some(TransferInput::Shutdown)) => break,
                Wake::Input(Some(input)) => self.input(input),
                // The client and its peer task are gone.
                Wake::Input(None) => break,
                Wake::Timer => {
                    let now = std::time::Instant::now();
                    self.downloads.handle_timeout(now);
                    self.uploads.handle_timeout(now);
                }
            }
            self.drain_outputs();
        }
        // Streams under way end with the client.
        self.stop.cancel();
        self.uploads.shutdown();
    }

    fn input(&mut self, input: TransferInput) {
        let now = std::time::Instant::now();
        match input {
            TransferInput::Peer { username, message } => self.peer_message(&username, message),
            TransferInput::File {
                username,
                connection,
            } => self.read_ticket(username, connection),
            TransferInput::Ticket {
                username,
                ticket,
                connection,
            } => match self.downloads.on_file_connection(&username, ticket, now) {
                Some(job) => self.spawn_download(job, connection),
                None => debug!(%username, ticket, "file connection for no download: closed"),
            },
            TransferInput::Download {
                user,
                remote_path,
                expected_size,
                reply,
            } => {
                let id = self
                    .downloads
                    .enqueue(&user, &remote_path, expected_size, now);
                let _ = reply.send(id);
            }
            TransferInput::CancelDownload(id) => self.downloads.cancel(id),
            TransferInput::Shutdown => {}
            TransferInput::DownloadProgress {
                id,
                bytes,
                size,
                rate,
            } => {
                self.downloads.on_progress(id, bytes);
                self.emit(TransferEvent::DownloadProgress {
                    id,
                    bytes,
                    size,
                    rate,
                });
            }
            TransferInput::DownloadFinished { id, ticket, result } => {
                self.downloads.on_finished(id, ticket, result, now)
            }
            TransferInput::SendFailed {
                user,
                cause,
                for_download,
            } => self.send_failed(user, cause, for_download, now),
            TransferInput::UserStatus {
                user,
                online,
                privileged,
            } => {
                if self.presence.concerns(&user) {
                    self.user_status(&user, online, now);
                    if let Some(privileged) = privileged {
                        self.uploads.set_privileged(&user, privileged);
                    }
                }
            }
            TransferInput::Watched { user, ok: true } => self.presence.watched(&user),
            TransferInput::Watched { user, ok: false } => self.presence.watch_failed(&user),
            TransferInput::LoggedIn => self.logged_in(now),
            TransferInput::UploadOpened(id) => {
                self.uploads.on_file_connection_open(id);
                if let Some(upload) = self.uploads.get(id) {
                    let event = TransferEvent::UploadStarted {
                        user: upload.user.clone(),
                        virtual_path: upload.virtual_path.clone(),
                    };
                    self.emit(event);
                }
            }
            TransferInput::UploadConnectFailed(id) => self.uploads.on_connect_failed(id, now),
            TransferInput::UploadFinished { id, result } => {
                let ended = self
                    .uploads
                    .get(id)
                    .map(|upload| (upload.user.clone(), upload.virtual_path.clone()));
                let completed = result.is_ok();
                self.uploads.on_finished(id, result, now);
                if let Some((user, virtual_path)) = ended {
                    self.emit(TransferEvent::UploadEnded {
                        user,
                        virtual_path,
                        completed,
                    });
                }
            }
        }
    }

    fn peer_message(&mut self, user: &str, message: PeerMessage) {
        let now = std::time::Instant::now();
        match message {
            PeerMessage::PeerTransferRequest(request) => {
                if !self.downloads.on_transfer_request(user, &request, now)
                    && self.uploads.on_transfer_request(user, &request, now)
                {
                    self.watch_if_queued(user);
                }
            }
            PeerMessage::PeerTransferReply(reply) => {
                self.uploads.on_transfer_reply(user, &reply, now);
            }
            PeerMessage::PeerUploadFailed(failed) => {
                self.downloads.on_upload_failed(user, &failed, now)
            }
            PeerMessage::PeerTransferQueueFailed(denied) => {
                self.downloads.on_upload_denied(user, &denied, now)
            }
            PeerMessage::PeerPlaceInQueueReply(reply) => {
                self.downloads.on_place_in_queue(user, &reply)
            }
            PeerMessage::PeerTransferQueue(request) => {
                self.uploads.on_queue_upload(user, &request, now);
                self.watch_if_queued(user);
            }
            PeerMessage::PeerPlaceInQueueRequest(request) => {
                self.uploads.on_place_in_queue_request(user, &request)
            }
            other => debug!(%user, ?other, "not a transfer message"),
        }
    }

    fn drain_outputs(&mut self) {
        while let Some(output) = self.downloads.poll_output() {
            match output {
                DownloadOutput::Send { user, message } => self.send(user, message, true),
                DownloadOutput::Changed(id) => self.download_changed(id),
                DownloadOutput::Removed(id) => {
                    if let Err(error) = self.store.remove(id.0) {
                        warn!(%error, "download queue: remove failed");
                    }
                    lock(&self.snapshot).remove(&id);
                }
            }
        }
        while let Some(output) = self.uploads.poll_output() {
            match output {
                UploadOutput::Send { user, message } => self.send(user, message, false),
                UploadOutput::SendServer(request) => {
                    if self.to_server.try_send(request).is_err() {
                        debug!("server queue full: upload speed not sent");
                    }
                }
                UploadOutput::OpenFileConnection {
                    id,
                    user,
                    ticket,
                    file,
                } => self.spawn_upload(id, user, ticket, file),
                UploadOutput::Ended { id, completed } => {
                    debug!(id = id.0, completed, "upload ended")
                }
            }
        }
        self.upload_status.store(UploadFigures {
            free_slot: self.uploads.has_free_slot(),
            queue_length: self.uploads.queue_length(),
            average_speed: self.uploads.average_speed(),
            slots: u32::try_from(self.slots).unwrap_or(u32::MAX),
        });
    }

    /// A user's status: the download queue waits for an offline user and
    /// asks again when they are back; the upload queue drops what an
    /// offline user had waiting (active uploads go on).
    fn user_status(&mut self, user: &str, online: bool, now: std::time::Instant) {
        if online {
            self.downloads.user_online(user, now);
            self.uploads.user_online(user);
        } else {
            self.downloads.user_offline(user);
            self.uploads.user_offline(user);
        }
    }

    /// A message to `user` was not sent. Offline: both queues treat the
    /// user so (the watch tells when they are back). Otherwise only
    /// downloads care: the backoff retries them in any case, and a loss on
    /// our side (not logged in yet, server connection down) is asked again
    /// at the next login (at once if the login came before this report: a
    /// stale "not logged in").
    fn send_failed(
        &mut self,
        user: String,
        cause: SendFailure,
        for_download: bool,
        now: std::time::Instant,
    ) {
        if cause == SendFailure::Offline {
            self.need_status(&user);
            self.user_status(&user, false, now);
            return;
        }
        if !for_download {
            debug!(%user, ?cause, "upload message not sent");
            return;
        }
        self.downloads.peer_unreachable(&user, now);
        match cause {
            SendFailure::NotLoggedIn if self.seen_login => self.downloads.ask_again(&user, now),
            SendFailure::NotLoggedIn | SendFailure::ServerLost => {
                if self.lost_sends.len() < MAX_LOST_SENDS {
                    self.lost_sends.insert(user);
                }
            }
            SendFailure::Offline | SendFailure::Peer => {}
        }
    }

    /// After a login: the users whose watch could not be asked for are
    /// watched now, and the downloads whose QueueUpload was lost on our side
    /// are asked for again at once (not at the end of their backoff).
    fn logged_in(&mut self, now: std::time::Instant) {
        self.seen_login = true;
        let users: std::collections::BTreeSet<String> = self
            .downloads
            .iter()
            .filter(|d| !d.state.is_finished())
            .map(|d| d.user.clone())
            .chain(self.uploads.iter().map(|u| u.user.clone()))
            .collect();
        for user in &users {
            self.need_status(user);
        }
        for user in std::mem::take(&mut self.lost_sends) {
            self.downloads.ask_again(&user, now);
        }
    }

    /// Watches `user` if they have uploads with us.
    fn watch_if_queued(&mut self, user: &str) {
        if self.uploads.iter().any(|upload| upload.user == user) {
            self.need_status(user);
        }
    }

    /// Makes sure `user`'s status changes reach us: asks the session to
    /// watch them (once; again after a failure).
    fn need_status(&mut self, user: &str) {
        if !self.presence.want(user) {
            return;
        }
        let Some(session) = self.session.upgrade() else {
            return;
        };
        let report = self.inputs_tx.clone();
        let user = user.to_owned();
        tokio::spawn(async move {
            let (reply_tx, reply_rx) = oneshot::channel();
            let command = Request::Command(Command::Watch(user.clone()), reply_tx);
            let ok = session.send(command).await.is_ok()
                && matches!(reply_rx.await, Ok(Ok(Reply::Watch(_))));
            if !ok {
                debug!(%user, "watch for transfers not taken");
            }
            report_to(&report, TransferInput::Watched { user, ok }).await;
        });
    }

    fn download_changed(&mut self, id: DownloadId) {
        if let Some(record) = self.downloads.record(id)
            && let Err(error) = self.store.save(&record)
        {
            warn!(%error, "download queue: save failed");
        }
        let Some(download) = self.downloads.get(id).cloned() else {
            return;
        };
        if !download.state.is_finished() {
            self.need_status(&download.user);
        }
        let changed = {
            let mut snapshot = lock(&self.snapshot);
            let old = snapshot.insert(id, download.clone());
            // Bytes alone changing while transferring is progress, reported
            // as `DownloadProgress`.
            !matches!(
                (old.map(|old| old.state), &download.state),
                (
                    Some(DownloadState::Transferring { .. }),
                    DownloadState::Transferring { .. }
                )
            )
        };
        if changed {
            self.emit(TransferEvent::DownloadChanged {
                id,
                user: download.user,
                remote_path: download.remote_path,
                state: download.state,
            });
        }
    }

    /// Sends on the peer's `P` connection from a task of its own (connecting
    /// may take a while). A download message that cannot be sent makes the
    /// user's downloads wait and retry; any message that cannot be sent
    /// because the user is offline makes both queues treat them so.
    fn send(&self, user: String, message: PeerMessage, for_download: bool) {
        let peers = self.peers.clone();
        let report = self.inputs_tx.clone();
        tokio::spawn(async move {
            if let Err(error) = peers.send(&user, message).await {
                debug!(%user, %error, "transfer message not sent");
                let failed = TransferInput::SendFailed {
                    user,
                    cause: SendFailure::from(&error),
                    for_download,
                };
                report_to(&report, failed).await;
            }
        });
    }

    fn read_ticket(&self, username: String, mut connection: FileConnection) {
        let report = self.inputs_tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(TICKET_TIMEOUT, connection.read_ticket()).await {
                Ok(Ok(ticket)) => {
                    let ticket = TransferInput::Ticket {
                        username,
                        ticket,
                        connection,
                    };
                    report_to(&report, ticket).await;
                }
                Ok(Err(error)) => debug!(%username, %error, "file connection without ticket"),
                Err(_) => debug!(%username, "file connection: no ticket in time"),
            }
        });
    }

    fn spawn_download(&self, job: slsk_transfers::DownloadJob, mut connection: FileConnection) {
        let report = self.inputs_tx.clone();
        let config = self.stream.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            let stream = slsk_transfers::download(&mut connection, &job, &config, |progress| {
                // Progress is best effort: dropped when the task is busy.
                if let Some(report) = report.upgrade() {
                    let _ = report.try_send(TransferInput::DownloadProgress {
                        id: job.id,
                        bytes: progress.bytes,
                        size: progress.size,
                        rate: progress.rate as u64,
                    });
                }
            });
            let result = tokio::select! {
                result = stream => result,
                // The client ended: the partial file stays for a resume.
                () = stop.cancelled() => return,
            };
            drop(connection); // the downloader closes first
            let finished = TransferInput::DownloadFinished {
                id: job.id,
                ticket: job.ticket,
                result: result.map_err(|error| error.reason()),
            };
            report_to(&report, finished).await;
        });
    }

    fn spawn_upload(
        &self,
        id: UploadId,
        user: String,
        ticket: u32,
        file: slsk_transfers::SharedFile,
    ) {
        let peers = self.peers.clone();
        let report = self.inputs_tx.clone();
        let config = self.stream.clone();
        let limiter = self.limiter.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            let mut connection = match peers.connect_file(&user, ticket).await {
                Ok(connection) => connection,
                Err(error) => {
                    debug!(%user, %error, "upload: file connection failed");
                    report_to(&report, TransferInput::UploadConnectFailed(id)).await;
                    return;
                }
            };
            report_to(&report, TransferInput::UploadOpened(id)).await;
            let stream = slsk_transfers::upload(
                &mut connection,
                &file.path,
                file.size,
                &config,
                limiter.as_deref(),
                |_| {},
            );
            let result = tokio::select! {
                result = stream => result.map_err(|error| error.failure()),
                // The client ended: the connection closes mid-file.
                () = stop.cancelled() => return,
            };
            report_to(&report, TransferInput::UploadFinished { id, result }).await;
        });
    }

    fn emit(&mut self, event: TransferEvent) {
        let event = Event::Transfer(event);
        if self.outbox.is_empty() {
            match self.events.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(event)) => self.outbox.push_back(event),
            }
        } else if self.outbox.len() < MAX_OUTBOX {
            self.outbox.push_back(event);
        } else {
            debug!("transfer events not read: one dropped");
        }
    }
}

/// Reports to the task if it still runs (streams do not keep it alive).
async fn report_to(report: &mpsc::WeakSender<TransferInput>, input: TransferInput) {
    if let Some(report) = report.upgrade() {
        let _ = report.send(input).await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::server::{GetUserStatusResponse, KickedResponse};
    use slsk_proto::structures::UserStats;

    fn status(message: ServerResponse) -> Option<(String, bool, Option<bool>)> {
        match TransferInput::from_server(&message)? {
            TransferInput::UserStatus {
                user,
                online,
                privileged,
            } => Some((user, online, privileged)),
            other => panic!("not a status: {other:?}"),
        }
    }

    #[test]
    fn send_failures_are_sorted_by_whose_fault() {
        let cause = |error: PeerError| SendFailure::from(&error);
        assert_eq!(cause(PeerError::Offline), SendFailure::Offline);
        assert_eq!(cause(PeerError::NoUsername), SendFailure::NotLoggedIn);
        assert_eq!(cause(PeerError::ServerLost), SendFailure::ServerLost);
        for error in [
            PeerError::Unreachable,
            PeerError::TimedOut,
            PeerError::Closed,
        ] {
            assert_eq!(cause(error), SendFailure::Peer);
        }
    }

    #[test]
    fn statuses_come_from_get_user_status_and_watch_replies() {
        let reply = |status, privileged| {
            ServerResponse::from(GetUserStatusResponse {
                username: "bob".into(),
                status,
                privileged,
            })
        };
        assert_eq!(
            status(reply(UserStatus::Offline, false)),
            Some(("bob".into(), false, Some(false)))
        );
        assert_eq!(
            status(reply(UserStatus::Away, true)),
            Some(("bob".into(), true, Some(true)))
        );
        let watched = |user| {
            ServerResponse::from(AddUserResponse {
                username: "bob".into(),
                user,
            })
        };
        let exists = AddUserResponseUser::Exists {
            status: UserStatus::Online,
            stats: UserStats {
                avg_speed: 0,
                uploads: 0,
                shared_file_count: 0,
                shared_folder_count: 0,
            },
            country_code: None,
        };
        // A watch reply does not say whether the user is privileged.
        assert_eq!(status(watched(exists)), Some(("bob".into(), true, None)));
        assert_eq!(status(watched(AddUserResponseUser::Missing)), None);
        assert_eq!(status(KickedResponse.into()), None);
    }
}
