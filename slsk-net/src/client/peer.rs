//! The client's side of the peer layer: a task that reads the [`Peers`]
//! events, answers user info requests from our settings, hands user info
//! replies to the [`Client::user_info`](super::Client::user_info) callers
//! waiting for them, and turns everything else into [`Event`]s.
//!
//! The decisions about who waits for what are in
//! [`InfoRequests`](super::user_info::InfoRequests); this task only carries
//! them out. `D` connections opened to us go to the distributed network
//! (dropped when it is off); transfer messages and `F` connections go to the
//! transfer task when transfers are on (dropped otherwise).

use std::collections::VecDeque;
use std::sync::Arc;

use slsk_proto::peer::{PeerMessage, PeerUserInfoReply, PeerUserInfoRequest};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;
use tracing::debug;

use super::config::{ClientConfig, UserInfoSettings};
use super::distributed::DistributedHandle;
use super::error::PeerRequestError;
use super::events::Event;
use super::user_info::{InfoRequests, Started};
use crate::{PeerError, PeerEvent, PeerEvents, Peers};

/// Where a [`Client::user_info`](super::Client::user_info) caller waits.
pub(crate) type InfoResponder = oneshot::Sender<Result<PeerUserInfoReply, PeerRequestError>>;

/// What a [`Client`](super::Client) handle asks the peer task.
#[derive(Debug)]
pub(crate) enum PeerCommand {
    UserInfo {
        username: String,
        reply: InfoResponder,
    },
}

/// Room for commands from the handles.
pub(crate) const COMMAND_QUEUE: usize = 64;
/// Replies to user info requests being sent at once; more requests arriving
/// meanwhile are not answered (the peer times out), so a flood of requests
/// cannot pile up tasks.
const MAX_SERVING: usize = 32;

/// The outcome of sending one request, reported by its task.
struct Sent {
    username: String,
    generation: u64,
    result: Result<(), PeerError>,
}

/// What woke the task up.
enum Wake {
    Command(Option<PeerCommand>),
    Sent(Sent),
    PeerEvent(PeerEvent),
    Timer,
}

pub(crate) struct PeerTask {
    peers: Peers,
    peer_events: PeerEvents,
    commands: mpsc::Receiver<PeerCommand>,
    commands_open: bool,
    events: mpsc::Sender<Event>,
    /// Events the stream had no room for yet; peer events are not read
    /// while it is not empty.
    outbox: VecDeque<Event>,
    requests: InfoRequests<InfoResponder>,
    sent_tx: mpsc::Sender<Sent>,
    sent_rx: mpsc::Receiver<Sent>,
    user_info: UserInfoSettings,
    serving: Arc<Semaphore>,
    /// Takes the peer messages about searches and shares.
    #[cfg(feature = "shares")]
    sharing: Option<super::shares::Sharing>,
    /// Where transfer messages and `F` connections go, if transfers are on.
    #[cfg(feature = "transfers")]
    transfers: Option<mpsc::Sender<super::transfers::TransferInput>>,
    /// Where `D` connections go, if the distributed network is on.
    distributed: Option<DistributedHandle>,
    /// The upload queue our user info reports, if transfers are on.
    #[cfg(feature = "transfers")]
    upload_status: Option<Arc<super::transfers::UploadStatus>>,
}

impl PeerTask {
    pub(crate) fn new(
        config: &ClientConfig,
        peers: Peers,
        peer_events: PeerEvents,
        commands: mpsc::Receiver<PeerCommand>,
        events: mpsc::Sender<Event>,
    ) -> Self {
        let max_pending = config.max_pending_requests.max(1);
        // Every pending request has at most one send task reporting back.
        let (sent_tx, sent_rx) = mpsc::channel(max_pending);
        Self {
            peers,
            peer_events,
            commands,
            commands_open: true,
            events,
            outbox: VecDeque::new(),
            requests: InfoRequests::new(max_pending, config.timing.peer_request_timeout),
            sent_tx,
            sent_rx,
            user_info: config.user_info.clone(),
            serving: Arc::new(Semaphore::new(MAX_SERVING)),
            #[cfg(feature = "shares")]
            sharing: None,
            #[cfg(feature = "transfers")]
            transfers: None,
            distributed: None,
            #[cfg(feature = "transfers")]
            upload_status: None,
        }
    }

    /// Hands `D` connections to the distributed network.
    pub(crate) fn with_distributed(mut self, distributed: DistributedHandle) -> Self {
        self.distributed = Some(distributed);
        self
    }

    /// Routes search and share messages to `sharing`.
    #[cfg(feature = "shares")]
    pub(crate) fn with_sharing(mut self, sharing: super::shares::Sharing) -> Self {
        self.sharing = Some(sharing);
        self
    }

    /// Routes transfer messages and `F` connections to the transfer task.
    /// User info reports the slots, queue and free slot of `upload_status`.
    #[cfg(feature = "transfers")]
    pub(crate) fn with_transfers(
        mut self,
        transfers: mpsc::Sender<super::transfers::TransferInput>,
        upload_status: Arc<super::transfers::UploadStatus>,
    ) -> Self {
        self.transfers = Some(transfers);
        self.upload_status = Some(upload_status);
        self
    }

    /// Runs until the peer layer shuts down (the session ends).
    pub(crate) async fn run(mut self) {
        loop {
            let deadline = self.requests.next_deadline().map(Instant::from_std);
            let can_read = self.outbox.is_empty();
            let wake = tokio::select! {
                command = self.commands.recv(), if self.commands_open => Wake::Command(command),
                Some(sent) = self.sent_rx.recv() => Wake::Sent(sent),
                event = self.peer_events.recv(), if can_read => match event {
                    Some(event) => Wake::PeerEvent(event),
                    None => break,
                },
                permit = self.events.reserve(), if !self.outbox.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.outbox.pop_front() {
                                permit.send(event);
                            }
                        }
                        // Nobody listens: drop the events, go on.
                        Err(_) => self.outbox.clear(),
                    }
                    continue;
                }
                () = sleep_until(deadline) => Wake::Timer,
            };
            match wake {
                Wake::Command(Some(command)) => self.command(command),
                Wake::Command(None) => self.commands_open = false,
                Wake::Sent(sent) => self.sent(sent),
                Wake::PeerEvent(event) => self.peer_event(event),
                Wake::Timer => {
                    for waiter in self.requests.expire(std::time::Instant::now()) {
                        let _ = waiter.send(Err(PeerRequestError::Timeout));
                    }
                }
            }
        }
        for waiter in self.requests.drain() {
            let _ = waiter.send(Err(PeerRequestError::Closed));
        }
        // Commands that raced with the end are answered, not left hanging.
        self.commands.close();
        while let Ok(PeerCommand::UserInfo { reply, .. }) = self.commands.try_recv() {
            let _ = reply.send(Err(PeerRequestError::Closed));
        }
        for event in self.outbox.drain(..) {
            if self.events.send(event).await.is_err() {
                break;
            }
        }
    }

    fn command(&mut self, command: PeerCommand) {
        match command {
            PeerCommand::UserInfo { username, reply } => {
                match self
                    .requests
                    .start(&username, reply, std::time::Instant::now())
                {
                    Started::Send(generation) => self.send_request(username, generation),
                    Started::Joined => {}
                    Started::Refused(reply) => {
                        let _ = reply.send(Err(PeerRequestError::TooManyPending));
                    }
                }
            }
        }
    }

    /// Queues PeerUserInfoRequest on the user's `P` connection (connecting
    /// first if needed, which may take a while) in a task of its own, so
    /// other users are served meanwhile.
    fn send_request(&mut self, username: String, generation: u64) {
        let peers = self.peers.clone();
        let report = self.sent_tx.clone();
        tokio::spawn(async move {
            let result = peers
                .send(&username, PeerMessage::from(PeerUserInfoRequest))
                .await;
            let _ = report
                .send(Sent {
                    username,
                    generation,
                    result,
                })
                .await;
        });
    }

    fn sent(&mut self, sent: Sent) {
        match sent.result {
            Ok(()) => debug!(username = %sent.username, "user info request queued"),
            Err(error) => {
                debug!(username = %sent.username, %error, "user info request not sent");
                let error = PeerRequestError::from(error);
                for waiter in self.requests.send_failed(&sent.username, sent.generation) {
                    let _ = waiter.send(Err(error.clone()));
                }
            }
        }
    }

    fn peer_event(&mut self, event: PeerEvent) {
        #[cfg(feature = "shares")]
        let event = match &self.sharing {
            Some(sharing) => match sharing.peer_event(event) {
                Some(event) => event,
                None => return,
            },
            None => event,
        };
        #[cfg(feature = "transfers")]
        let Some(event) = self.route_transfer(event) else {
            return;
        };
        match event {
            PeerEvent::Message {
                username,
                message: PeerMessage::PeerUserInfoRequest(_),
            } => self.serve_user_info(username),
            PeerEvent::Message {
                username,
                message: PeerMessage::PeerUserInfoReply(reply),
            } => match self.requests.replied(&username) {
                Some(waiters) => {
                    for waiter in waiters {
                        let _ = waiter.send(Ok(reply.clone()));
                    }
                }
                None => self.emit(Event::PeerMessage {
                    username,
                    message: reply.into(),
                }),
            },
            PeerEvent::Message { username, message } => {
                self.emit(Event::PeerMessage { username, message })
            }
            PeerEvent::BadMessage { username, error } => {
                self.emit(Event::PeerBadMessage { username, error })
            }
            PeerEvent::Distributed {
                username,
                connection,
            } => match &self.distributed {
                Some(distributed) => distributed.incoming(username, connection),
                None => {
                    debug!(%username, "distributed connection dropped: distributed network off")
                }
            },
            PeerEvent::File { username, .. } => {
                debug!(%username, "file connection dropped: no transfers yet")
            }
        }
    }

    /// Answers a user info request from our settings.
    /// Hands transfer messages and `F` connections to the transfer task;
    /// gives back everything else. A full transfer queue drops the input
    /// (the peer's side times out and retries).
    #[cfg(feature = "transfers")]
    fn route_transfer(&mut self, event: PeerEvent) -> Option<PeerEvent> {
        use super::transfers::TransferInput;
        let Some(transfers) = self.transfers.as_ref() else {
            return Some(event);
        };
        let input = match event {
            PeerEvent::Message { username, message } if is_transfer_message(&message) => {
                TransferInput::Peer { username, message }
            }
            PeerEvent::File {
                username,
                connection,
            } => TransferInput::File {
                username,
                connection,
            },
            other => return Some(other),
        };
        if transfers.try_send(input).is_err() {
            debug!("transfer queue full or closed: input dropped");
        }
        None
    }

    fn serve_user_info(&mut self, username: String) {
        let Ok(permit) = self.serving.clone().try_acquire_owned() else {
            debug!(%username, "too many user info replies under way, not answering");
            return;
        };
        #[allow(unused_mut)]
        let mut reply = user_info_reply(&self.user_info);
        #[cfg(feature = "transfers")]
        if let Some(status) = &self.upload_status {
            report_uploads(&mut reply, status.load());
        }
        let peers = self.peers.clone();
        tokio::spawn(async move {
            if let Err(error) = peers.send(&username, reply.into()).await {
                debug!(%username, %error, "user info reply not sent");
            }
            drop(permit);
        });
    }

    fn emit(&mut self, event: Event) {
        if !self.outbox.is_empty() {
            self.outbox.push_back(event);
            return;
        }
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => self.outbox.push_back(event),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Our PeerUserInfoReply, from the settings.
fn user_info_reply(settings: &UserInfoSettings) -> PeerUserInfoReply {
    PeerUserInfoReply {
        description: settings.description.clone(),
        picture: settings.picture.clone(),
        upload_slots: settings.upload_slots,
        queue_size: settings.queue_size,
        has_slots_free: settings.slots_free,
        upload_permissions: Some(settings.upload_permissions),
    }
}

/// With transfers, user info reports the upload queue itself: its slots,
/// the uploads waiting and whether a slot is free (client-behaviour.md 5).
#[cfg(feature = "transfers")]
fn report_uploads(reply: &mut PeerUserInfoReply, uploads: super::transfers::UploadFigures) {
    reply.upload_slots = uploads.slots;
    reply.queue_size = uploads.queue_length;
    reply.has_slots_free = uploads.free_slot;
}

#[cfg(feature = "transfers")]
fn is_transfer_message(message: &PeerMessage) -> bool {
    matches!(
        message,
        PeerMessage::PeerTransferRequest(_)
            | PeerMessage::PeerTransferReply(_)
            | PeerMessage::PeerTransferQueue(_)
            | PeerMessage::PeerTransferQueueFailed(_)
            | PeerMessage::PeerUploadFailed(_)
            | PeerMessage::PeerPlaceInQueueRequest(_)
            | PeerMessage::PeerPlaceInQueueReply(_)
    )
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
    use slsk_proto::tables::UploadPermissions;

    #[test]
    fn the_reply_carries_every_setting() {
        let settings = UserInfoSettings {
            description: "hi".into(),
            picture: Some(vec![1, 2, 3]),
            upload_slots: 3,
            queue_size: 4,
            slots_free: true,
            upload_permissions: UploadPermissions::UserList,
        };
        assert_eq!(
            user_info_reply(&settings),
            PeerUserInfoReply {
                description: "hi".into(),
                picture: Some(vec![1, 2, 3]),
                upload_slots: 3,
                queue_size: 4,
                has_slots_free: true,
                upload_permissions: Some(UploadPermissions::UserList),
            }
        );
        let default = user_info_reply(&UserInfoSettings::default());
        assert_eq!(default.upload_permissions, Some(UploadPermissions::NoOne));
        assert_eq!(default.picture, None);
    }

    #[cfg(feature = "transfers")]
    #[test]
    fn with_transfers_the_upload_queue_is_reported() {
        let settings = UserInfoSettings {
            upload_slots: 9,
            queue_size: 9,
            slots_free: true,
            ..Default::default()
        };
        let mut reply = user_info_reply(&settings);
        let figures = super::super::transfers::UploadFigures {
            free_slot: false,
            queue_length: 4,
            average_speed: 100,
            slots: 2,
        };
        report_uploads(&mut reply, figures);
        assert_eq!(
            (reply.upload_slots, reply.queue_size, reply.has_slots_free),
            (2, 4, false)
        );
    }
}
