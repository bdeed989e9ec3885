//! What the session tells its user: typed events on a bounded stream.

use std::net::Ipv4Addr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use slsk_proto::DecodeError;
use slsk_proto::peer::PeerMessage;
use slsk_proto::server::{AddUserResponse, ServerResponse};
use slsk_proto::structures::UserStats;
use slsk_proto::tables::{LoginRejectionReason, UserStatus};
use tokio::sync::mpsc;

use super::rooms::RoomEvent;

/// What the server said when it accepted our login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginInfo {
    /// The message of the day.
    pub greeting: String,
    /// Our public IP address as the server sees it.
    pub ip: Ipv4Addr,
    /// Whether the account has ever had privileges.
    pub is_supporter: bool,
}

/// A private message received from another user (or from `server`).
///
/// The session has already acknowledged it (PrivateChatMessageAck), so the
/// server will not deliver it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateMessage {
    /// The server's id for the message.
    pub id: u32,
    /// When the message was sent, in Unix seconds.
    pub timestamp: u32,
    /// The sender.
    pub username: String,
    /// The text.
    pub text: String,
    /// `true` for a replay: a message the server queued earlier (for example
    /// while we were offline) and delivers again at login. `false` when it is
    /// delivered as it is sent, or when the server does not say.
    pub is_replay: bool,
}

/// Something that happened in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A private message arrived (already acknowledged).
    PrivateMessage(PrivateMessage),
    /// A user's status, either answering a request or pushed by the server
    /// for a watched user.
    UserStatus {
        /// The user.
        username: String,
        /// Offline, away or online.
        status: UserStatus,
        /// Whether the user has privileges.
        privileged: bool,
    },
    /// A user's statistics, answering a request or pushed by the server.
    UserStats {
        /// The user.
        username: String,
        /// Speed, uploads, shared files and folders.
        stats: UserStats,
    },
    /// The server's reply to watching a user (also the re-watches the
    /// session sends after each login).
    UserWatched(AddUserResponse),
    /// Our privileges, answering the CheckPrivileges sent after each login
    /// or by [`Client::check_privileges`](crate::client::Client::check_privileges),
    /// or sent by the server when they change.
    Privileges {
        /// Time left; zero without privileges.
        time_left: Duration,
    },
    /// The server confirmed a password change.
    PasswordChanged,
    /// The connection to the server was lost.
    Disconnected,
    /// The session waits `delay` before reconnection attempt number
    /// `attempt` (from 1).
    Reconnecting {
        /// Attempt number, from 1; starts over after a successful login.
        attempt: u32,
        /// How long the session waits before this attempt.
        delay: Duration,
    },
    /// The session logged in again after a lost connection and re-sent its
    /// state (ports, status, shares, interests, room invitations, the public
    /// feed subscription, watched users) and asked to rejoin its rooms (each
    /// rejoin is reported as [`RoomEvent::Joined`] when the server answers).
    Reconnected(LoginInfo),
    /// The server disconnected us because the same user logged in elsewhere
    /// (Kicked, also called Relogged). The session ends; it does not
    /// reconnect.
    Kicked,
    /// The server rejected a login after a reconnect (the password was
    /// changed elsewhere, say). The session ends.
    LoginRejected {
        /// The server's reason.
        reason: LoginRejectionReason,
        /// The detail the server may add.
        detail: Option<String>,
    },
    /// A message from the server whose payload did not decode. The session
    /// skipped it and goes on.
    Undecodable(DecodeError),
    /// A server message the session does not handle itself.
    ServerMessage(ServerResponse),
    /// Something happened in a room, a private room or the public feed; the
    /// session has already updated what [`Client::rooms`](crate::client::Client::rooms)
    /// and the other state readers return.
    Room(RoomEvent),
    /// The users with privileges, sent by the server after login (kept:
    /// [`Client::privileged_users`](crate::client::Client::privileged_users)).
    PrivilegedUsers(Vec<String>),
    /// Whether a user has privileges, answering a request.
    UserPrivileged {
        /// The user.
        username: String,
        /// Whether the user has privileges.
        privileged: bool,
    },
    /// A message from a peer (on its `P` connection) that the client does
    /// not handle itself. User info requests are answered and replies go
    /// to [`Client::user_info`](crate::client::Client::user_info) callers;
    /// a reply nobody asked for comes here.
    PeerMessage {
        /// The peer.
        username: String,
        /// What it sent.
        message: PeerMessage,
    },
    /// A frame from a peer that did not decode. It was skipped and the
    /// connection goes on.
    PeerBadMessage {
        /// The peer.
        username: String,
        /// Why it did not decode.
        error: DecodeError,
    },
    /// Progress of a share scan (lossy: dropped when the stream is full).
    #[cfg(feature = "shares")]
    ScanProgress(slsk_shares::ScanProgress),
    /// A share scan finished; the new shares answer from now on and the
    /// server has been told the counts.
    #[cfg(feature = "shares")]
    ScanComplete(super::shares::ScanSummary),
    /// A share scan failed (the previous shares stay).
    #[cfg(feature = "shares")]
    ScanFailed(String),
    /// Our place in the distributed search network changed (the state is
    /// already readable with [`Client::distributed`](crate::client::Client::distributed)).
    Distributed(super::distributed::DistributedEvent),
    /// A download or upload changed (feature `transfers`).
    #[cfg(feature = "transfers")]
    Transfer(super::transfers::TransferEvent),
}

/// The session's events, in order.
///
/// Bounded ([`ClientConfig::event_capacity`](crate::client::ClientConfig::event_capacity)):
/// while it is full the session stops reading from the server, so memory
/// does not grow; requests still time out meanwhile, so keep reading. Dropping
/// `Events` discards later events without stopping the session.
///
/// Ends (`recv` returns `None`) when the session ends: after
/// [`Client::shutdown`](crate::client::Client::shutdown), when every
/// [`Client`](crate::client::Client) handle is dropped, after
/// [`Event::Kicked`] or [`Event::LoginRejected`], or after
/// [`Event::Disconnected`] when reconnecting is disabled.
///
/// Also a [`futures_core::Stream`] of [`Event`].
#[derive(Debug)]
pub struct Events {
    receiver: mpsc::Receiver<Event>,
}

impl Events {
    pub(crate) fn new(receiver: mpsc::Receiver<Event>) -> Self {
        Self { receiver }
    }

    /// The next event, or `None` once the session has ended and every event
    /// has been received.
    pub async fn recv(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }

    /// The next event if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.receiver.try_recv().ok()
    }
}

impl futures_core::Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.receiver.poll_recv(cx)
    }
}
