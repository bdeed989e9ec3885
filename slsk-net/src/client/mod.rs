//! The client session with the server: log in, stay logged in, ask the
//! server things, exchange private messages.
//!
//! [`Client::connect`] opens the connection, logs in, and returns once the
//! server has accepted the login, with a cloneable [`Client`] handle for
//! requests and the bounded [`Events`] stream. A background task (one per
//! session) owns the socket; the protocol decisions live in a state machine
//! without I/O (`session.rs`), which that task drives.
//!
//! The session keeps itself alive: TCP keepalive on the socket and a Ping
//! every [`Timing::ping_interval`]. When the connection is lost it reconnects
//! with jittered exponential backoff ([`ReconnectPolicy`]), logs in again and
//! re-sends its state, reporting [`Event::Disconnected`],
//! [`Event::Reconnecting`] and [`Event::Reconnected`]. It never reconnects
//! after [`Event::Kicked`] (the same user logged in elsewhere) or a rejected
//! login.
//!
//! # Rooms, privileges, interests
//!
//! Rooms, private rooms, tickers and the public feed ([`RoomEvent`]),
//! privileges and interests have typed calls on [`Client`]. Which wait for
//! the server:
//!
//! | call | waits for |
//! |---|---|
//! | [`Client::join_room`], [`Client::join_private_room`] | the JoinRoom reply, or CannotCreateRoom ([`RequestError::RoomIsPrivate`]) |
//! | [`Client::request_room_list`], [`Client::check_privileges`], [`Client::user_privileged`], [`Client::recommendations`], [`Client::global_recommendations`], [`Client::similar_users`], [`Client::item_recommendations`], [`Client::item_similar_users`], [`Client::user_interests`] | the reply; concurrent identical calls share one request |
//! | everything else (leave, say, tickers, private-room management, invitations, the feed, giving privileges, interest changes) | nothing: resolves once written. The server confirms some with a [`RoomEvent`] and explains refusals in a private message from `server` |
//!
//! Every waiting call fails with [`RequestError::Timeout`] after
//! [`Timing::request_timeout`]. Settings (interests, room invitations, the
//! feed) changed while reconnecting are remembered and sent after the next
//! login, with a JoinRoom for every room we were in.
//!
//! What the application would otherwise rebuild from events is kept by the
//! session and read without a round trip: [`Client::rooms`],
//! [`Client::room_list`], [`Client::private_rooms`], [`Client::watched`],
//! [`Client::privileged_users`], [`Client::privileges_time_left`],
//! [`Client::interests`]. The session task updates that state (a shared
//! snapshot behind a lock no one holds across an `.await`) before it emits
//! the event that reports the change, so a consumer that has seen an event
//! reads state at least that new.
//!
//! A JoinRoom the server sends without our asking is kept (tracked,
//! reported, rejoined), not answered with LeaveRoom as Nicotine+ does: it
//! may be the late reply to a join that timed out, or a join the
//! application sent with [`Client::send`]; [`Client::leave_room`] leaves.
//!
//! For the peer layer, [`Client::connect_with`] takes a [`PeerLink`]: a
//! channel of requests to forward to the server and a hook that sees every
//! server message.

mod backoff;
mod config;
mod driver;
mod error;
mod events;
mod rooms;
mod session;
mod social;
mod state;

use std::fmt;
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use slsk_proto::server::{
    AddUserResponse, GetPeerAddressResponse, GetUserStatsResponse, GetUserStatusResponse,
    ServerRequest, ServerResponse,
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

pub use config::{
    CLIENT_MAJOR_VERSION, CLIENT_MINOR_VERSION, ClientConfig, OwnStatus, ReconnectPolicy, Timing,
};
pub use error::{ConnectError, RequestError};
pub use events::{Event, Events, LoginInfo, PrivateMessage};
pub use rooms::RoomEvent;
pub use state::{
    Interests, MAX_JOINED_ROOMS, MAX_PRIVATE_ROOMS, MAX_PRIVILEGED_USERS, MAX_ROOM_TICKERS,
    MAX_ROOM_USERS, PrivateRoom, RoomState, WatchedUser,
};

use driver::{Driver, Request};
use session::{Command, Reply, Session};
use state::SharedState;

/// Called with every message the server sends, before the session handles
/// it. It runs on the session task: keep it short and never block (hand the
/// message on with `try_send`, say).
pub type ServerMessageHook = Arc<dyn Fn(&ServerResponse) + Send + Sync>;

/// How the peer connection layer plugs into the session.
#[derive(Default)]
pub struct PeerLink {
    /// Requests to write to the server as they come (GetPeerAddress,
    /// ConnectToPeer, CannotConnect). Dropped while the session is not
    /// logged in: the peer layer times out its own attempts.
    pub requests: Option<mpsc::Receiver<ServerRequest>>,
    /// Sees every server message (ConnectToPeer, GetPeerAddress replies, …).
    pub on_server_message: Option<ServerMessageHook>,
}

impl fmt::Debug for PeerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerLink")
            .field("requests", &self.requests)
            .field("on_server_message", &self.on_server_message.is_some())
            .finish()
    }
}

/// A handle to a logged-in session. Cheap to clone; every clone talks to
/// the same session. The session shuts down when [`Client::shutdown`] is
/// called or every handle is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    requests: mpsc::Sender<Request>,
    /// What the session keeps (rooms, watched users, privileges,
    /// interests), read without a round trip.
    state: SharedState,
}

impl Client {
    /// Connect to `config.server`, log in, and return once the server has
    /// accepted the login.
    ///
    /// The login carries [`CLIENT_MAJOR_VERSION`]; SetListenPort goes out in
    /// the same write. After the login the session sends its state (see
    /// [`ClientConfig`] for what it advertises).
    pub async fn connect(config: ClientConfig) -> Result<(Client, Events), ConnectError> {
        Self::connect_with(config, PeerLink::default()).await
    }

    /// [`Client::connect`], with the peer layer plugged in.
    pub async fn connect_with(
        config: ClientConfig,
        link: PeerLink,
    ) -> Result<(Client, Events), ConnectError> {
        let (request_tx, request_rx) = mpsc::channel(config.command_capacity.max(1));
        let (event_tx, event_rx) = mpsc::channel(config.event_capacity.max(1));
        let (login_tx, login_rx) = oneshot::channel();
        let span = tracing::info_span!("slsk_client", user = %config.username);
        let session = Session::new(config.clone(), SmallRng::from_rng(&mut rand::rng()));
        let state = session.shared();
        let driver = Driver::new(config, session, request_rx, link, event_tx, login_tx);
        tokio::spawn(driver.run().instrument(span));
        match login_rx.await {
            Ok(Ok(_info)) => Ok((
                Client {
                    requests: request_tx,
                    state,
                },
                Events::new(event_rx),
            )),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ConnectError::Closed),
        }
    }

    /// A user's address and listening ports (GetPeerAddress). An offline or
    /// unknown user comes back as `0.0.0.0` port 0. Concurrent requests for
    /// the same user share one server request.
    pub async fn peer_address(
        &self,
        username: &str,
    ) -> Result<GetPeerAddressResponse, RequestError> {
        match self.call(Command::PeerAddress(username.into())).await? {
            Reply::PeerAddress(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// A user's status and privileged flag (GetUserStatus). Concurrent
    /// requests for the same user share one server request.
    pub async fn user_status(&self, username: &str) -> Result<GetUserStatusResponse, RequestError> {
        match self.call(Command::UserStatus(username.into())).await? {
            Reply::UserStatus(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// A user's statistics (GetUserStats). Concurrent requests for the same
    /// user share one server request.
    pub async fn user_stats(&self, username: &str) -> Result<GetUserStatsResponse, RequestError> {
        match self.call(Command::UserStats(username.into())).await? {
            Reply::UserStats(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// Watch a user (AddUser): the reply says whether the user exists, with
    /// status and stats; afterwards the server pushes status changes as
    /// [`Event::UserStatus`]. The session watches the user again after each
    /// reconnect, until [`Client::unwatch`].
    pub async fn watch(&self, username: &str) -> Result<AddUserResponse, RequestError> {
        match self.call(Command::Watch(username.into())).await? {
            Reply::Watch(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// Stop watching a user (RemoveUser). The server does not reply.
    pub async fn unwatch(&self, username: &str) -> Result<(), RequestError> {
        self.done(Command::Unwatch(username.into())).await
    }

    /// Set our status (SetStatus). Remembered and sent again after each
    /// login, also when set while reconnecting.
    pub async fn set_status(&self, status: OwnStatus) -> Result<(), RequestError> {
        self.done(Command::SetStatus(status)).await
    }

    /// Send a private message. Resolves once it is written; the server does
    /// not confirm delivery.
    pub async fn send_private_message(
        &self,
        username: &str,
        text: &str,
    ) -> Result<(), RequestError> {
        self.done(Command::SendPrivateMessage {
            username: username.into(),
            text: text.into(),
        })
        .await
    }

    /// Change our password and wait for the server's confirmation. Later
    /// reconnects log in with the new password.
    pub async fn change_password(&self, new_password: &str) -> Result<(), RequestError> {
        self.done(Command::ChangePassword(new_password.into()))
            .await
    }

    /// Write any request to the server (the escape hatch). Replies the
    /// session does not handle itself arrive as [`Event::ServerMessage`].
    pub async fn send(&self, request: ServerRequest) -> Result<(), RequestError> {
        self.done(Command::Send(request)).await
    }

    /// End the session: close the server connection and end the event
    /// stream (after the events already queued). Returns once the connection
    /// is closed; calling it again, or on an ended session, returns at once.
    pub async fn shutdown(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }

    /// Whether the session has ended (shut down, kicked, login rejected).
    pub fn is_closed(&self) -> bool {
        self.requests.is_closed()
    }

    async fn call(&self, command: Command) -> Result<Reply, RequestError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.requests
            .send(Request::Command(command, reply_tx))
            .await
            .map_err(|_| RequestError::Closed)?;
        reply_rx.await.map_err(|_| RequestError::Closed)?
    }

    async fn done(&self, command: Command) -> Result<(), RequestError> {
        match self.call(command).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

/// The session answers each command with its own kind of reply; anything
/// else is a bug in this module, reported (in release builds) as if the
/// session had ended.
fn unexpected(reply: Reply) -> RequestError {
    debug_assert!(false, "reply of the wrong kind: {reply:?}");
    RequestError::Closed
}
