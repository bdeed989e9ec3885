//! The server's decisions, without I/O.
//!
//! [`ServerState`] takes inputs ([`connected`](ServerState::connected),
//! [`handle`](ServerState::handle), [`password_checked`](ServerState::password_checked),
//! [`disconnected`](ServerState::disconnected), [`tick`](ServerState::tick))
//! and queues [`Output`]s, taken with [`poll_output`](ServerState::poll_output).
//! It owns the [`Store`]; SQLite calls are short and synchronous. Password
//! hashing is slow, so it leaves as an [`Output::Password`] job and comes
//! back through `password_checked`.
//!
//! One submodule per protocol area: `login` and `presence`, private
//! messages (`chat`), `search`, `rooms` (public rooms and the public chat
//! feed), `private_rooms`, `tickers`, `privileges`, `interests`, `admin`
//! (commands by private message to `server`) and `flood` (per-user rate
//! limits) and `distributed` (the distributed search tree: parent
//! candidates, search delivery to branch roots).

mod admin;
mod chat;
mod distributed;
mod flood;
mod inspect;
mod interests;
mod login;
mod presence;
mod private_rooms;
mod privileges;
mod rooms;
mod search;
#[cfg(test)]
mod tests;
mod tickers;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::rngs::StdRng;
use slsk_proto::server::{
    DeprecatedGetItemRecommendationsResponse, GetInterestsResponse, ServerRequest, ServerResponse,
};
use slsk_proto::tables::{ObfuscationType, UserStatus};

use crate::config::ServerConfig;
use crate::password::{PasswordJob, PasswordOutcome, PasswordPurpose};
use crate::store::{Store, StoredStats};
use flood::FloodKind;
use search::Audience;

pub use distributed::MAX_POSSIBLE_PARENTS;
pub use flood::FloodDrops;
pub use inspect::{ConnectionView, DistributedInfo, SessionView};
pub use interests::{Interests, MAX_INTERESTS, MAX_ITEM_BYTES};
pub use login::{MAX_USERNAME_BYTES, SERVER_NAME, UsernameProblem, check_username};
pub use rooms::{MAX_ROOM_NAME_BYTES, check_room_name};
pub use search::PhraseFilter;
pub use tickers::{MAX_TICKER_BYTES, MAX_TICKERS_PER_ROOM};

/// Identifies one client connection for the life of a [`ServerState`].
pub type ConnId = u64;

/// The time of an input: a monotonic instant for timeouts and unix seconds
/// for what is stored or sent (message timestamps, privileges, bans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub instant: Instant,
    pub unix: u64,
}

impl Now {
    /// The current time.
    pub fn system() -> Self {
        Self {
            instant: Instant::now(),
            unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }

    /// Unix seconds as the signed type the store uses.
    fn unix_i64(self) -> i64 {
        i64::try_from(self.unix).unwrap_or(i64::MAX)
    }

    /// Unix seconds as the `u32` the protocol carries (saturating in 2106).
    fn unix_u32(self) -> u32 {
        u32::try_from(self.unix).unwrap_or(u32::MAX)
    }
}

/// What the state machine asks its driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Queue a message on a connection.
    Send {
        conn: ConnId,
        message: ServerResponse,
    },
    /// Close a connection once everything queued before this is written. The
    /// state has already forgotten it; no `disconnected` is needed (one is
    /// harmless).
    Close { conn: ConnId },
    /// Hash or verify a password off the state machine, then call
    /// [`ServerState::password_checked`] with the outcome.
    Password(PasswordJob),
}

impl Output {
    /// Whether the driver may carry this output out before the writes of
    /// the batch that produced it are committed (it must still keep each
    /// connection's outputs in order). Only the live delivery of a private
    /// message from a user qualifies: it reveals no write but its own, and
    /// a crash before the commit loses a message the recipient already
    /// has, whose sender was never told it was stored (any later reply to
    /// the sender still waits for the commit). Everything else, including
    /// notices from `server` (an admin command's answer announces its
    /// write), waits for the commit.
    ///
    /// ```
    /// use slsk_proto::server::{PrivateChatMessageResponse, ServerResponse};
    /// use slsk_server::state::Output;
    ///
    /// let live = |from: &str| Output::Send {
    ///     conn: 1,
    ///     message: ServerResponse::from(PrivateChatMessageResponse {
    ///         chat_id: 7,
    ///         timestamp: 0,
    ///         username: from.to_owned(),
    ///         message: "hi".to_owned(),
    ///         is_direct: Some(true),
    ///     }),
    /// };
    /// assert!(live("alice").may_precede_commit());
    /// assert!(!live("server").may_precede_commit());
    /// ```
    pub fn may_precede_commit(&self) -> bool {
        match self {
            Output::Send {
                message: ServerResponse::PrivateChatMessage(message),
                ..
            } => message.is_direct == Some(true) && message.username != login::SERVER_NAME,
            _ => false,
        }
    }

    /// The connection this output is for, if any.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Output::Send { conn, .. } | Output::Close { conn } => Some(*conn),
            Output::Password(_) => None,
        }
    }
}

/// What a connection is doing about logging in.
#[derive(Debug)]
enum Phase {
    /// Connected, no accepted Login yet.
    Anonymous,
    /// A Login passed the checks; its password is being hashed or verified.
    CheckingPassword(PendingLogin),
    /// Logged in as this user (a key of `sessions`).
    LoggedIn(String),
}

struct PendingLogin {
    username: String,
    password: String,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never log a password.
        f.debug_struct("PendingLogin")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Connection {
    ip: Ipv4Addr,
    connected_at: Instant,
    phase: Phase,
    /// A NewPassword hash is running: further ones are ignored until it ends.
    changing_password: bool,
}

/// A logged-in user.
#[derive(Debug)]
struct Session {
    conn: ConnId,
    ip: Ipv4Addr,
    /// From SetListenPort; 0 until then.
    port: u32,
    obfuscation_type: ObfuscationType,
    obfuscated_port: u32,
    status: UserStatus,
    stats: StoredStats,
    privileges_until: Option<i64>,
    /// The privileged flag as last told to the user and its watchers, so
    /// that a change (given, or expired) is noticed and announced once.
    privileged: bool,
    /// Users this one watches (AddUser), itself excluded.
    watching: BTreeSet<String>,
    /// Rooms this user has joined.
    rooms: BTreeSet<String>,
    /// Subscribed to the public chat feed (EnablePublicChat 150).
    public_chat: bool,
    /// Accepts being added to private rooms (TogglePrivateRoomInvites 141).
    invitations: bool,
    /// Liked and hated items, mirrored in the store.
    interests: Interests,
    flood: flood::FloodBuckets,
    /// Its place in the distributed tree, as it reported it.
    tree: distributed::TreePosition,
}

impl Session {
    fn is_privileged(&self, now: Now) -> bool {
        self.privileges_until
            .is_some_and(|until| until > now.unix_i64())
    }
}

/// The server's state: connections, sessions, watch lists and the store.
pub struct ServerState {
    config: ServerConfig,
    filter: PhraseFilter,
    store: Store,
    connections: HashMap<ConnId, Connection>,
    sessions: HashMap<String, Session>,
    /// For each watched name, the online users watching it. Kept while the
    /// watched user is offline: watchers keep watching across its logins.
    watchers: HashMap<String, BTreeSet<String>>,
    /// Every room in use: private rooms (always), and public rooms that have
    /// users or tickers.
    rooms: BTreeMap<String, rooms::Room>,
    /// For each reported branch root, the online users that name it
    /// (BranchRoot 127, the user itself excluded).
    branches: HashMap<String, BTreeSet<String>>,
    flood_drops: FloodDrops,
    /// When the privilege flags were last checked for expiry.
    last_privilege_sweep: Option<Instant>,
    rng: StdRng,
    outputs: VecDeque<Output>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("connections", &self.connections.len())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// A state with no connections, over `store`.
    pub fn new(config: ServerConfig, store: Store) -> Self {
        Self::with_rng(config, store, StdRng::from_os_rng())
    }

    /// Like [`new`](Self::new) with a seeded generator for message ids, so
    /// that tests are reproducible.
    pub fn with_seed(config: ServerConfig, store: Store, seed: u64) -> Self {
        Self::with_rng(config, store, StdRng::seed_from_u64(seed))
    }

    /// Records the configured admins and loads the stored rooms and tickers.
    /// A store failure is logged and the server starts without them.
    fn with_rng(config: ServerConfig, store: Store, rng: StdRng) -> Self {
        let mut state = Self {
            filter: PhraseFilter::new(&config.excluded_phrases),
            config,
            store,
            connections: HashMap::new(),
            sessions: HashMap::new(),
            watchers: HashMap::new(),
            rooms: BTreeMap::new(),
            branches: HashMap::new(),
            flood_drops: FloodDrops::default(),
            last_privilege_sweep: None,
            rng,
            outputs: VecDeque::new(),
        };
        for admin in state.config.admins.clone() {
            if let Err(e) = state.store.add_admin(&admin) {
                state.store_failed("adding an admin", &e);
            }
        }
        state.load_rooms();
        state
    }

    /// How many requests flood protection has dropped so far.
    pub fn flood_drops(&self) -> FloodDrops {
        self.flood_drops
    }

    /// The store, e.g. to set privileges or bans from outside.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How many users are logged in.
    pub fn online_users(&self) -> usize {
        self.sessions.len()
    }

    /// The next thing for the driver to do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// A new connection from `peer_ip`. The IP is what other users are given
    /// for this user: an IPv4 address, or an IPv4-mapped IPv6 one; anything
    /// else is recorded as 0.0.0.0 (the protocol carries IPv4 only). Unlike
    /// soulfind, a loopback client is not rewritten to the server's LAN
    /// address: our tests and demos run on loopback.
    pub fn connected(&mut self, conn: ConnId, peer_ip: IpAddr, now: Now) {
        let ip = match peer_ip {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(ip) => ip.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
        };
        self.connections.insert(
            conn,
            Connection {
                ip,
                connected_at: now.instant,
                phase: Phase::Anonymous,
                changing_password: false,
            },
        );
    }

    /// The connection ended (either side closed it). A logged-in user goes
    /// offline: watchers get GetUserStatus(offline), its watch list is
    /// dropped; its pending messages and stats stay in the store.
    pub fn disconnected(&mut self, conn: ConnId, now: Now) {
        if let Some(connection) = self.connections.remove(&conn)
            && let Phase::LoggedIn(username) = connection.phase
        {
            self.end_session(&username, now);
        }
    }

    /// Periodic work: closes connections that have not logged in within the
    /// login timeout (including banned users, who get no reply), every
    /// 15 s announces privileges that ended, and sends PossibleParents to
    /// users looking for a distributed parent whose turn has come.
    pub fn tick(&mut self, now: Now) {
        self.sweep_privileges(now);
        self.offer_parents(now);
        let timeout = self.config.login_timeout;
        let expired: Vec<ConnId> = self
            .connections
            .iter()
            .filter(|(_, c)| {
                !matches!(c.phase, Phase::LoggedIn(_))
                    && now.instant.saturating_duration_since(c.connected_at) >= timeout
            })
            .map(|(&id, _)| id)
            .collect();
        for conn in expired {
            tracing::debug!(conn, "login timeout");
            self.connections.remove(&conn);
            self.close(conn);
        }
    }

    /// A request from a connection.
    ///
    /// Before login only Login is handled; anything else is dropped (logged
    /// at debug level). Soulfind instead stalls the stream until login, which
    /// lets a client pile up unbounded input; the official server's behaviour
    /// is unknown. Dropping is bounded and simple; clients send nothing
    /// before the Login reply in practice.
    pub fn handle(&mut self, conn: ConnId, request: ServerRequest, now: Now) {
        let Some(connection) = self.connections.get(&conn) else {
            return;
        };
        match (&connection.phase, request) {
            (Phase::LoggedIn(username), request) => {
                let username = username.clone();
                self.handle_logged_in(conn, &username, request, now);
            }
            (Phase::Anonymous, ServerRequest::Login(login)) => self.login(conn, login, now),
            (Phase::CheckingPassword(_), ServerRequest::Login(_)) => {
                tracing::debug!(conn, "Login while one is being checked: ignored");
            }
            (_, other) => tracing::debug!(conn, message = other.name(), "dropped before login"),
        }
    }

    fn handle_logged_in(&mut self, conn: ConnId, me: &str, request: ServerRequest, now: Now) {
        use ServerRequest as R;
        match request {
            R::Login(_) => tracing::debug!(conn, "Login while logged in: ignored"),
            R::SetListenPort(m) => self.set_listen_port(me, m),
            R::GetPeerAddress(m) => self.get_peer_address(conn, &m.username),
            R::AddUser(m) => self.watch_user(conn, me, &m.username),
            R::RemoveUser(m) => self.unwatch_user(me, &m.username),
            R::GetUserStatus(m) => self.get_user_status(conn, &m.username, now),
            R::SetStatus(m) => self.set_status(conn, me, m.status, now),
            R::GetUserStats(m) => self.get_user_stats(conn, &m.username),
            R::SharedFoldersFiles(m) => {
                self.set_shared_counts(me, m.shared_folder_count, m.shared_file_count)
            }
            R::SendUploadSpeed(m) => self.upload_speed(me, m.speed),
            R::ConnectToPeer(m) => self.connect_to_peer(conn, me, m, now),
            R::CannotConnect(m) => self.cannot_connect(m),
            R::SendConnectTicket(m) => self.forward_ticket(me, &m.username, m.ticket, true),
            R::PlaceInLineRequest(m) => self.forward_ticket(me, &m.username, m.ticket, false),
            R::Ping(_) => {} // No reply, as the official server and soulfind.
            R::NewPassword(m) => self.change_password(conn, me, m),
            R::PrivateChatMessage(m) => self.private_message(me, &m.username, &m.message, now),
            R::PrivateChatMessageAck(m) => self.ack_message(me, m.chat_id),
            R::PrivateChatMessageUsers(m) => self.message_users(me, &m.usernames, &m.message, now),
            R::FileSearch(m) => self.search(me, m.ticket, &m.query, Audience::Everyone, now),
            R::WishlistSearch(m) => self.search(me, m.ticket, &m.query, Audience::Everyone, now),
            // The distributed tree.
            R::ToggleParentSearch(m) => self.have_no_parent(me, m.enable, now),
            R::AcceptChildren(m) => self.accept_children(me, m.accept),
            R::BranchLevel(m) => self.branch_level(me, m.level),
            R::BranchRoot(m) => self.branch_root(me, m.username),
            R::ChildDepth(m) => self.child_depth(me, m.depth),
            R::ParentIP(_) => tracing::debug!(conn, "ParentIP (obsolete): ignored"),
            R::UserSearch(m) => {
                self.search(me, m.ticket, &m.query, Audience::User(&m.username), now)
            }
            R::RoomSearch(m) => self.search(me, m.ticket, &m.query, Audience::Room(&m.room), now),
            R::GetRelatedSearches(m) => self.related_searches(conn, m.query),
            // Rooms and the public chat feed.
            R::RoomList(_) => self.send_room_list(conn, me, 1),
            R::JoinRoom(m) => {
                let private = m.is_private.is_some_and(|p| p != 0);
                self.join_room(conn, me, &m.room_name, private, now)
            }
            R::LeaveRoom(m) => self.leave_room(me, &m.room_name, true),
            R::RoomChatMessage(m) => self.say(me, &m.room_name, &m.message, now),
            R::EnablePublicChat(_) => self.set_public_chat(me, true),
            R::DisablePublicChat(_) => self.set_public_chat(me, false),
            R::SetRoomTicker(m) => self.set_ticker(me, &m.room, &m.ticker),
            // Private rooms.
            R::PrivateRoomGrantMembership(m) => {
                self.grant_membership(me, &m.room, &m.username, now)
            }
            R::PrivateRoomRevokeMembership(m) => {
                self.revoke_membership(me, &m.room, &m.username, now)
            }
            R::PrivateRoomDropMembership(m) => self.drop_membership(me, &m.room, now),
            R::PrivateRoomDropOwnership(m) => self.drop_ownership(me, &m.room),
            R::PrivateRoomGrantOperator(m) => self.grant_operator(me, &m.room, &m.username, now),
            R::PrivateRoomRevokeOperator(m) => self.revoke_operator(me, &m.room, &m.username, now),
            R::CancelRoomOperatorship(m) => self.revoke_operator(me, &m.room, me, now),
            R::TogglePrivateRoomInvites(m) => self.toggle_invitations(conn, me, m.enable),
            // Privileges.
            R::CheckPrivileges(_) => self.check_privileges(conn, me, now),
            R::GiveUserPrivileges(m) => self.give_privileges(me, &m.username, m.days, now),
            R::GetUserPrivileges(m) => self.user_privileges(conn, &m.username, now),
            R::PrivilegesNotification(m) => self.send(
                conn,
                privileges::privileges_notification_ack(m.notification_id),
            ),
            // Interests and recommendations.
            R::AddInterest(m) => self.add_interest(me, &m.interest, false),
            R::AddHatedInterest(m) => self.add_interest(me, &m.hated_interest, true),
            R::RemoveInterest(m) => self.remove_interest(me, &m.interest, false),
            R::RemoveHatedInterest(m) => self.remove_interest(me, &m.hated_interest, true),
            R::GetUserInterests(m) => self.user_interests(conn, &m.username),
            R::GetGlobalRecommendations(_) => self.global_recommendations(conn),
            R::GetRecommendations(_) => self.recommendations(conn, me),
            R::GetSimilarUsers(_) => self.similar_users(conn, me),
            R::GetItemRecommendations(m) => self.item_recommendations(conn, me, m.item),
            R::GetItemSimilarUsers(m) => self.item_similar_users(conn, m.item),
            R::GetInterests(_) => self.send(conn, GetInterestsResponse { interests: vec![] }),
            R::DeprecatedGetItemRecommendations(m) => self.send(
                conn,
                DeprecatedGetItemRecommendationsResponse {
                    item: m.item,
                    recommendations: Vec::new(),
                },
            ),
            other => tracing::debug!(conn, message = other.name(), "not handled: ignored"),
        }
    }

    /// Takes a token from `me`'s bucket for `kind`; false (and the drop
    /// counted and logged) if the request must be dropped.
    fn allow(&mut self, me: &str, kind: FloodKind, now: Now) -> bool {
        let Some(session) = self.sessions.get_mut(me) else {
            return false;
        };
        let bucket = match kind {
            FloodKind::RoomMessage => &mut session.flood.room_messages,
            FloodKind::PrivateMessage => &mut session.flood.private_messages,
            FloodKind::Search => &mut session.flood.searches,
        };
        if bucket.take(now.instant) {
            return true;
        }
        let total = self.flood_drops.count(kind);
        tracing::debug!(user = %me, ?kind, total, "flood: request dropped");
        false
    }

    /// Queues `message` for `conn`.
    fn send(&mut self, conn: ConnId, message: impl Into<ServerResponse>) {
        self.outputs.push_back(Output::Send {
            conn,
            message: message.into(),
        });
    }

    fn close(&mut self, conn: ConnId) {
        self.outputs.push_back(Output::Close { conn });
    }

    /// The connection of `username`, if online.
    fn conn_of(&self, username: &str) -> Option<ConnId> {
        self.sessions.get(username).map(|s| s.conn)
    }

    /// Logs a store failure; the request that needed it is dropped. The
    /// database being unusable must not take the whole server down.
    fn store_failed(&self, what: &str, error: &crate::store::StoreError) {
        tracing::error!(%error, "store: {what}");
    }
}

impl ServerState {
    /// A password job finished. An outcome for a connection that is gone is
    /// dropped, except a password change, which is stored anyway.
    pub fn password_checked(&mut self, job: PasswordJob, outcome: PasswordOutcome, now: Now) {
        match job.purpose {
            PasswordPurpose::Change { ref username } => {
                let username = username.clone();
                self.password_changed(job.conn, &username, &job.password, outcome)
            }
            _ => self.login_password_checked(job, outcome, now),
        }
    }
}
