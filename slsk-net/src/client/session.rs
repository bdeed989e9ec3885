//! The client session as a state machine without I/O.
//!
//! [`Session`] takes inputs (the connection opened or failed, a server
//! message, a command from a [`Client`](super::Client) handle, a timer tick,
//! the connection lost) and queues [`Action`]s for the driver: requests to
//! write, events to emit, replies to complete, connections to open or close.
//! It never touches a socket or a clock; the caller passes `now` in and asks
//! [`Session::next_deadline`] when to call [`Session::timer`] next. Every
//! protocol decision of the client session lives here and is unit-tested
//! without sockets.
//!
//! `T` is the driver's token for a waiting caller (a oneshot sender in the
//! tokio driver, a number in tests); the session hands it back in
//! [`Action::Reply`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use slsk_proto::DecodeError;
use slsk_proto::server::{
    AcceptChildrenRequest, AddUserRequest, AddUserResponse, AddUserResponseUser,
    BranchLevelRequest, BranchRootRequest, CheckPrivilegesRequest, GetPeerAddressRequest,
    GetPeerAddressResponse, GetUserStatsRequest, GetUserStatsResponse, GetUserStatusRequest,
    GetUserStatusResponse, LoginRequest, LoginResponse, NewPasswordRequest, PingRequest,
    PrivateChatMessageAckRequest, PrivateChatMessageRequest, PrivateChatMessageResponse,
    RemoveUserRequest, ServerRequest, ServerResponse, SetListenPortRequest, SetStatusRequest,
    SharedFoldersFilesRequest, ToggleParentSearchRequest,
};
use slsk_proto::tables::{LoginRejectionReason, ObfuscationType};

use super::backoff::Backoff;
use super::config::{CLIENT_MAJOR_VERSION, CLIENT_MINOR_VERSION, ClientConfig, OwnStatus};
use super::error::RequestError;
use super::events::{Event, LoginInfo, PrivateMessage};
use super::state::SharedState;

mod social;

use social::{Rejoin, SocialQuery};
pub(crate) use social::{SocialCommand, SocialReply};

/// A request from a [`Client`](super::Client) handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    PeerAddress(String),
    UserStatus(String),
    UserStats(String),
    Watch(String),
    Unwatch(String),
    SetStatus(OwnStatus),
    /// What we share changed (a scan finished): remembered for later logins
    /// and sent now (SharedFoldersFiles).
    #[cfg(feature = "shares")]
    SetShareCounts {
        folders: u32,
        files: u32,
    },
    SendPrivateMessage {
        username: String,
        text: String,
    },
    ChangePassword(String),
    Send(ServerRequest),
    Social(SocialCommand),
}

/// The successful outcome of a [`Command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    PeerAddress(GetPeerAddressResponse),
    UserStatus(GetUserStatusResponse),
    UserStats(GetUserStatsResponse),
    Watch(AddUserResponse),
    Social(SocialReply),
    /// The command was carried out (written, or recorded for the next login).
    Done,
}

/// Why the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EndReason {
    Shutdown,
    Kicked,
    Rejected {
        reason: LoginRejectionReason,
        detail: Option<String>,
    },
    /// The first TCP connection could not be opened.
    ConnectFailed,
    /// The first Login reply did not come in time.
    LoginTimeout,
    /// The first connection closed before the Login reply.
    ClosedBeforeLogin,
    /// The connection was lost and reconnecting is disabled.
    ConnectionLost,
}

/// What the driver must do, in order.
#[derive(Debug)]
pub(crate) enum Action<T> {
    /// Write this request (consecutive sends go out in one write).
    Send(ServerRequest),
    /// Deliver this event.
    Emit(Event),
    /// Complete a waiting caller.
    Reply(T, Result<Reply, RequestError>),
    /// Open a new server connection, then call [`Session::connected`] or
    /// [`Session::connect_failed`].
    Connect,
    /// Close the current connection without waiting for the server.
    CloseConnection,
    /// The first login succeeded: [`Client::connect`](super::Client::connect)
    /// returns.
    LoggedIn(LoginInfo),
    /// The session is over: close the connection and end the events.
    End(EndReason),
}

/// A server request whose reply callers wait for. Callers asking the same
/// thing while it is in flight share it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Query {
    PeerAddress(String),
    UserStatus(String),
    UserStats(String),
    Watch(String),
    ChangePassword(String),
    Social(SocialQuery),
}

#[derive(Debug)]
struct Pending<T> {
    waiters: Vec<T>,
    deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The driver is opening a TCP connection.
    Connecting,
    /// Login sent, waiting for its reply.
    LoggingIn {
        deadline: Instant,
    },
    /// Logged in; the next Ping is due at `next_ping`.
    LoggedIn {
        next_ping: Instant,
    },
    /// Waiting before a reconnection attempt.
    Waiting {
        until: Instant,
    },
    Ended,
}

/// The client session state machine; see the module documentation.
#[derive(Debug)]
pub(crate) struct Session<T> {
    config: ClientConfig,
    state: State,
    /// Whether a login ever succeeded: before that, failures end the session
    /// (and `connect` returns an error) instead of reconnecting.
    ever_logged_in: bool,
    backoff: Backoff,
    /// Users watched through [`Command::Watch`], watched again after each
    /// login.
    watched: BTreeSet<String>,
    /// Ordered, so expiry and failure replies come in a reproducible order.
    pending: BTreeMap<Query, Pending<T>>,
    actions: VecDeque<Action<T>>,
    /// Rooms, watched users, privileges, interests: written here, read by
    /// the `Client` handles.
    shared: SharedState,
    /// The rooms to join again after a reconnect.
    rejoin: Rejoin,
}

impl<T> Session<T> {
    /// A session that has not connected yet: the driver opens the first
    /// connection and calls [`Session::connected`].
    pub(crate) fn new(config: ClientConfig, rng: SmallRng) -> Self {
        let backoff = Backoff::new(config.reconnect.clone(), rng);
        let shared = SharedState::default();
        shared.write().room_invitations = config.room_invitations;
        Self {
            config,
            state: State::Connecting,
            ever_logged_in: false,
            backoff,
            watched: BTreeSet::new(),
            pending: BTreeMap::new(),
            actions: VecDeque::new(),
            shared,
            rejoin: Rejoin::default(),
        }
    }

    /// The state the session keeps up to date, for `Client` handles.
    pub(crate) fn shared(&self) -> SharedState {
        self.shared.clone()
    }

    /// The next action for the driver, if any.
    pub(crate) fn poll_action(&mut self) -> Option<Action<T>> {
        self.actions.pop_front()
    }

    /// When [`Session::timer`] must be called next.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let state = match self.state {
            State::LoggingIn { deadline } => Some(deadline),
            State::LoggedIn { next_ping } => Some(next_ping),
            State::Waiting { until } => Some(until),
            State::Connecting | State::Ended => None,
        };
        let pending = self.pending.values().map(|p| p.deadline).min();
        match (state, pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the session has ended.
    #[cfg(test)]
    pub(crate) fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    /// Whether the session is logged in (requests can be written).
    pub(crate) fn is_logged_in(&self) -> bool {
        matches!(self.state, State::LoggedIn { .. })
    }

    /// The password the next login uses (changes after a confirmed
    /// password change).
    #[cfg(test)]
    pub(crate) fn password(&self) -> &str {
        &self.config.password
    }

    /// The TCP connection is open: log in.
    ///
    /// Login and SetListenPort are queued back to back so the driver writes
    /// them together: the server learns our port in the same breath as our
    /// name, and peers it tells about us never see port 0.
    pub(crate) fn connected(&mut self, now: Instant) {
        if self.state != State::Connecting {
            return;
        }
        let login = LoginRequest {
            username: self.config.username.clone(),
            password: self.config.password.clone(),
            version: CLIENT_MAJOR_VERSION,
            md5_hash: Some(slsk_proto::login_hash(
                &self.config.username,
                &self.config.password,
            )),
            minor_version: Some(CLIENT_MINOR_VERSION),
        };
        self.send(login);
        self.send(self.listen_port());
        self.state = State::LoggingIn {
            deadline: later(now, self.config.timing.login_timeout),
        };
    }

    /// Opening the TCP connection failed or timed out.
    pub(crate) fn connect_failed(&mut self, now: Instant) {
        if self.state != State::Connecting {
            return;
        }
        if self.ever_logged_in {
            self.schedule_reconnect(now);
        } else {
            self.end(EndReason::ConnectFailed);
        }
    }

    /// The server connection closed (or broke).
    pub(crate) fn disconnected(&mut self, now: Instant) {
        match self.state {
            State::LoggedIn { .. } => {
                self.shared.write().disconnected();
                self.fail_pending(RequestError::Disconnected);
                self.emit(Event::Disconnected);
                self.schedule_reconnect(now);
            }
            State::LoggingIn { .. } if self.ever_logged_in => self.schedule_reconnect(now),
            State::LoggingIn { .. } => self.end(EndReason::ClosedBeforeLogin),
            State::Connecting | State::Waiting { .. } | State::Ended => {}
        }
    }

    /// A frame from the server whose payload did not decode: skipped.
    pub(crate) fn undecodable(&mut self, error: DecodeError) {
        if self.state != State::Ended {
            self.emit(Event::Undecodable(error));
        }
    }

    /// Stop: fail every waiting caller and end.
    pub(crate) fn shutdown(&mut self) {
        if self.state != State::Ended {
            self.end(EndReason::Shutdown);
        }
    }

    /// A request from the peer layer (GetPeerAddress, ConnectToPeer,
    /// CannotConnect). Written when logged in; otherwise dropped, since the
    /// peer layer times out its own attempts. Returns whether it was queued.
    pub(crate) fn forward(&mut self, request: ServerRequest) -> bool {
        if self.is_logged_in() {
            self.send(request);
            true
        } else {
            false
        }
    }

    /// Time passed: expire requests, the login wait, send Pings, start a
    /// reconnection attempt.
    pub(crate) fn timer(&mut self, now: Instant) {
        let expired: Vec<Query> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(q, _)| q.clone())
            .collect();
        for query in expired {
            self.complete(&query, Err(RequestError::Timeout));
        }
        match self.state {
            State::LoggingIn { deadline } if deadline <= now => {
                if self.ever_logged_in {
                    self.actions.push_back(Action::CloseConnection);
                    self.schedule_reconnect(now);
                } else {
                    self.end(EndReason::LoginTimeout);
                }
            }
            State::LoggedIn { next_ping } if next_ping <= now => {
                self.send(PingRequest);
                self.state = State::LoggedIn {
                    next_ping: later(now, self.config.timing.ping_interval),
                };
            }
            State::Waiting { until } if until <= now => {
                self.state = State::Connecting;
                self.actions.push_back(Action::Connect);
            }
            _ => {}
        }
    }

    /// A command from a [`Client`](super::Client) handle; `token` comes back
    /// in exactly one [`Action::Reply`].
    pub(crate) fn command(&mut self, token: T, command: Command, now: Instant) {
        if self.state == State::Ended {
            self.reply(token, Err(RequestError::Closed));
            return;
        }
        match command {
            Command::PeerAddress(username) => {
                let query = Query::PeerAddress(username.clone());
                self.query(token, query, GetPeerAddressRequest { username }.into(), now);
            }
            Command::UserStatus(username) => {
                let query = Query::UserStatus(username.clone());
                self.query(token, query, GetUserStatusRequest { username }.into(), now);
            }
            Command::UserStats(username) => {
                let query = Query::UserStats(username.clone());
                self.query(token, query, GetUserStatsRequest { username }.into(), now);
            }
            Command::Watch(username) => {
                let query = Query::Watch(username.clone());
                if self.query(
                    token,
                    query,
                    AddUserRequest {
                        username: username.clone(),
                    }
                    .into(),
                    now,
                ) {
                    self.shared.write().watch(&username);
                    self.watched.insert(username);
                }
            }
            Command::ChangePassword(password) => {
                let query = Query::ChangePassword(password.clone());
                self.query(token, query, NewPasswordRequest { password }.into(), now);
            }
            Command::Unwatch(username) => {
                self.shared.write().unwatch(&username);
                self.watched.remove(&username);
                if self.is_logged_in() {
                    self.send(RemoveUserRequest { username });
                }
                self.reply(token, Ok(Reply::Done));
            }
            Command::SetStatus(status) => {
                // Remembered for the next login even while disconnected.
                self.config.status = status;
                if self.is_logged_in() {
                    self.send(SetStatusRequest {
                        status: status.into(),
                    });
                }
                self.reply(token, Ok(Reply::Done));
            }
            #[cfg(feature = "shares")]
            Command::SetShareCounts { folders, files } => {
                self.config.shared_folders = folders;
                self.config.shared_files = files;
                if self.is_logged_in() {
                    self.send(SharedFoldersFilesRequest {
                        shared_folder_count: folders,
                        shared_file_count: files,
                    });
                }
                self.reply(token, Ok(Reply::Done));
            }
            Command::SendPrivateMessage { username, text } => self.fire(
                token,
                PrivateChatMessageRequest {
                    username,
                    message: text,
                }
                .into(),
            ),
            Command::Send(request) => self.fire(token, request),
            Command::Social(command) => self.social_command(token, command, now),
        }
    }

    /// A message from the server.
    pub(crate) fn server_message(&mut self, message: ServerResponse, now: Instant) {
        if self.state == State::Ended {
            return;
        }
        if let Some(password) = password_change_confirmation(&message) {
            self.password_changed(password);
            return;
        }
        let Some(message) = self.social_message(message, now) else {
            return;
        };
        match message {
            ServerResponse::Login(reply) if matches!(self.state, State::LoggingIn { .. }) => {
                self.login_reply(reply, now)
            }
            ServerResponse::Kicked(_) => {
                self.emit(Event::Kicked);
                self.end(EndReason::Kicked);
            }
            ServerResponse::PrivateChatMessage(message) => self.private_message(message),
            ServerResponse::GetPeerAddress(reply) => {
                let query = Query::PeerAddress(reply.username.clone());
                if self.pending.contains_key(&query) {
                    self.complete(&query, Ok(Reply::PeerAddress(reply)));
                } else {
                    self.emit(Event::ServerMessage(ServerResponse::GetPeerAddress(reply)));
                }
            }
            ServerResponse::GetUserStatus(reply) => {
                self.complete(
                    &Query::UserStatus(reply.username.clone()),
                    Ok(Reply::UserStatus(reply.clone())),
                );
                self.emit(Event::UserStatus {
                    username: reply.username,
                    status: reply.status,
                    privileged: reply.privileged,
                });
            }
            ServerResponse::GetUserStats(reply) => {
                self.complete(
                    &Query::UserStats(reply.username.clone()),
                    Ok(Reply::UserStats(reply.clone())),
                );
                self.emit(Event::UserStats {
                    username: reply.username,
                    stats: reply.stats,
                });
            }
            ServerResponse::AddUser(reply) => {
                if reply.user == AddUserResponseUser::Missing {
                    // The server does not track users that do not exist.
                    self.watched.remove(&reply.username);
                }
                self.complete(
                    &Query::Watch(reply.username.clone()),
                    Ok(Reply::Watch(reply.clone())),
                );
                self.emit(Event::UserWatched(reply));
            }
            ServerResponse::CheckPrivileges(reply) => self.emit(Event::Privileges {
                time_left: Duration::from_secs(reply.time_left.into()),
            }),
            other => self.emit(Event::ServerMessage(other)),
        }
    }

    fn login_reply(&mut self, reply: LoginResponse, now: Instant) {
        match reply {
            LoginResponse::Success {
                greeting,
                ip,
                is_supporter,
                ..
            } => {
                let info = LoginInfo {
                    greeting,
                    ip,
                    is_supporter,
                };
                self.backoff.reset();
                self.state = State::LoggedIn {
                    next_ping: later(now, self.config.timing.ping_interval),
                };
                self.send_post_login();
                if self.ever_logged_in {
                    self.emit(Event::Reconnected(info));
                } else {
                    self.ever_logged_in = true;
                    self.actions.push_back(Action::LoggedIn(info));
                }
            }
            LoginResponse::Failure { reason, detail } => {
                if self.ever_logged_in {
                    self.emit(Event::LoginRejected {
                        reason: reason.clone(),
                        detail: detail.clone(),
                    });
                }
                self.end(EndReason::Rejected { reason, detail });
            }
        }
    }

    /// The state the server forgets between connections, sent after every
    /// login, in this order:
    ///
    /// 1. SetListenPort again, with the obfuscated port: the copy sent with
    ///    Login may be dropped by servers that ignore messages before the
    ///    login completes (soulfind does).
    /// 2. SharedFoldersFiles, before watching ourselves, so the AddUser reply
    ///    about us carries the right counts (Nicotine+ does the same).
    /// 3. ToggleParentSearch(true) ("HaveNoParent"), BranchRoot(us),
    ///    BranchLevel(0), AcceptChildren(false): what a client without a
    ///    distributed parent says (Nicotine+'s order). The distributed
    ///    task, which sees the same Login reply, then sends whatever
    ///    differs (a parent kept across the reconnect, a branch of our
    ///    own); with the distributed network off this is all there is.
    /// 4. CheckPrivileges: the answer becomes [`Event::Privileges`].
    /// 5. SetStatus with the configured (or last set) status; the server
    ///    considers a fresh login online, but "away" must be re-sent.
    /// 6. Interests, the room invitation setting, the public feed
    ///    subscription and the rooms to rejoin
    ///    ([`Session::send_social_post_login`]).
    /// 7. AddUser for ourselves (the server then tells us our own status and
    ///    stats, as other clients see them), then for every user watched with
    ///    [`Command::Watch`]: the server forgets watch lists on disconnect.
    fn send_post_login(&mut self) {
        let username = self.config.username.clone();
        self.send(self.listen_port());
        self.send(SharedFoldersFilesRequest {
            shared_folder_count: self.config.shared_folders,
            shared_file_count: self.config.shared_files,
        });
        self.send(ToggleParentSearchRequest { enable: true });
        self.send(BranchRootRequest {
            username: username.clone(),
        });
        self.send(BranchLevelRequest { level: 0 });
        self.send(AcceptChildrenRequest { accept: false });
        self.send(CheckPrivilegesRequest);
        self.send(SetStatusRequest {
            status: self.config.status.into(),
        });
        self.send_social_post_login();
        self.send(AddUserRequest {
            username: username.clone(),
        });
        let others: Vec<String> = self
            .watched
            .iter()
            .filter(|u| **u != username)
            .cloned()
            .collect();
        for username in others {
            self.send(AddUserRequest { username });
        }
    }

    /// The ports in `config` are the ones to advertise:
    /// [`Client::connect`](super::Client::connect) has resolved them
    /// (overrides, else the ports the listeners bound); `None` here means we
    /// do not listen.
    fn listen_port(&self) -> SetListenPortRequest {
        let (obfuscation_type, obfuscated_port) = match self.config.advertised_obfuscated_port {
            Some(port) => (ObfuscationType::Rotated, u32::from(port)),
            None => (ObfuscationType::None, 0),
        };
        SetListenPortRequest {
            port: u32::from(self.config.advertised_port.unwrap_or(0)),
            obfuscation_type: Some(obfuscation_type),
            obfuscated_port: Some(obfuscated_port),
        }
    }

    /// Acknowledge first, so the server stops re-delivering it whatever the
    /// consumer does, then surface it.
    fn private_message(&mut self, message: PrivateChatMessageResponse) {
        self.send(PrivateChatMessageAckRequest {
            chat_id: message.chat_id,
        });
        self.emit(Event::PrivateMessage(PrivateMessage {
            id: message.chat_id,
            timestamp: message.timestamp,
            username: message.username,
            text: message.message,
            is_replay: message.is_direct == Some(false),
        }));
    }

    fn password_changed(&mut self, password: String) {
        // Later logins (reconnects) must use the new password.
        self.config.password = password.clone();
        self.complete(&Query::ChangePassword(password), Ok(Reply::Done));
        self.emit(Event::PasswordChanged);
    }

    /// Send `request` and wait for its reply, sharing an identical request
    /// already in flight. Returns whether the caller now waits for a reply.
    fn query(&mut self, token: T, query: Query, request: ServerRequest, now: Instant) -> bool {
        if !self.is_logged_in() {
            self.reply(token, Err(RequestError::NotConnected));
            return false;
        }
        if let Some(pending) = self.pending.get_mut(&query) {
            pending.waiters.push(token);
            return true;
        }
        if self.pending.len() >= self.config.max_pending_requests {
            self.reply(token, Err(RequestError::TooManyPending));
            return false;
        }
        self.pending.insert(
            query,
            Pending {
                waiters: vec![token],
                deadline: later(now, self.config.timing.request_timeout),
            },
        );
        self.send(request);
        true
    }

    /// Send `request`, which has no reply.
    fn fire(&mut self, token: T, request: ServerRequest) {
        if self.is_logged_in() {
            self.send(request);
            self.reply(token, Ok(Reply::Done));
        } else {
            self.reply(token, Err(RequestError::NotConnected));
        }
    }

    fn complete(&mut self, query: &Query, result: Result<Reply, RequestError>) {
        if let Some(pending) = self.pending.remove(query) {
            for waiter in pending.waiters {
                self.reply(waiter, result.clone());
            }
        }
    }

    fn fail_pending(&mut self, error: RequestError) {
        for (_, pending) in std::mem::take(&mut self.pending) {
            for waiter in pending.waiters {
                self.actions
                    .push_back(Action::Reply(waiter, Err(error.clone())));
            }
        }
    }

    fn schedule_reconnect(&mut self, now: Instant) {
        if !self.config.reconnect.enabled {
            self.end(EndReason::ConnectionLost);
            return;
        }
        let (attempt, delay) = self.backoff.next_delay();
        self.state = State::Waiting {
            until: later(now, delay),
        };
        self.emit(Event::Reconnecting { attempt, delay });
    }

    fn end(&mut self, reason: EndReason) {
        self.fail_pending(RequestError::Closed);
        self.state = State::Ended;
        self.actions.push_back(Action::End(reason));
    }

    fn send(&mut self, request: impl Into<ServerRequest>) {
        self.actions.push_back(Action::Send(request.into()));
    }

    fn emit(&mut self, event: Event) {
        self.actions.push_back(Action::Emit(event));
    }

    fn reply(&mut self, token: T, result: Result<Reply, RequestError>) {
        self.actions.push_back(Action::Reply(token, result));
    }
}

/// `now + wait`, saturating: a huge setting (`Duration::MAX` to never ping,
/// say) means "about never" instead of an overflow.
fn later(now: Instant, wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(wait.min(CENTURY)).unwrap_or(now)
}

/// The server's confirmation of a password change (NewPassword, code 142,
/// echoing the new password), if `message` is one.
fn password_change_confirmation(message: &ServerResponse) -> Option<String> {
    match message {
        ServerResponse::NewPassword(confirmation) => Some(confirmation.password.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
