//! A deterministic simulation of a [`ServerState`] with several clients: a
//! fake clock, an in-memory store, password jobs run at once (the test
//! cost), and a list of consistency checks run after every step.
//!
//! The fuzz target `server_state` and the property test in
//! `tests/consistency.rs` drive it with arbitrary operation sequences:
//!
//! ```
//! // Any bytes are a valid sequence of operations.
//! slsk_server::sim::run(b"some arbitrary bytes, as a fuzzer would give").unwrap();
//! ```
//!
//! To check a new invariant (rooms, say), write a [`Check`] and add it to
//! [`CHECKS`]; if it needs to know what clients were told, record it in
//! [`Observed::record`].

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use slsk_proto::ArbitraryMessage;
use slsk_proto::server::{
    AcceptChildrenRequest, AddUserRequest, AddUserResponseUser, BranchLevelRequest,
    BranchRootRequest, FileSearchRequest, GetUserStatusRequest, JoinRoomRequest, LeaveRoomRequest,
    LoginRequest, NewPasswordRequest, PrivateChatMessageAckRequest, PrivateChatMessageRequest,
    PrivateChatMessageUsersRequest, PrivateRoomDropMembershipRequest,
    PrivateRoomDropOwnershipRequest, PrivateRoomGrantMembershipRequest,
    PrivateRoomRevokeMembershipRequest, RemoveUserRequest, SendUploadSpeedRequest, ServerRequest,
    ServerResponse, SetListenPortRequest, SetStatusRequest, ToggleParentSearchRequest,
    TogglePrivateRoomInvitesRequest,
};
use slsk_proto::tables::UserStatus;

use crate::config::{PasswordCost, ServerConfig};
use crate::state::{ConnId, Now, Output, ServerState};
use crate::store::Store;

/// The names the operations use, so that users meet each other.
pub const NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// The room names the operations use, so that users meet in them.
pub const ROOMS: [&str; 2] = ["lobby", "club"];

/// At most this many operations per run, so that every input is quick.
pub const MAX_OPERATIONS: usize = 256;

/// At most this many connections open at once.
const MAX_CONNECTIONS: usize = 8;

/// A consistency check: `Err` says what is wrong.
pub type Check = fn(&Sim) -> Result<(), String>;

/// Every check, by name, run after every operation.
pub const CHECKS: &[(&str, Check)] = &[
    ("sessions and connections match", sessions_match_connections),
    (
        "watch lists match the watcher index",
        watch_lists_match_index,
    ),
    (
        "watchers know the status of whom they watch",
        watchers_know_status,
    ),
    (
        "pending messages only for registered users",
        pending_only_for_accounts,
    ),
    (
        "the branch index matches the reported roots",
        branch_index_matches_reports,
    ),
    (
        "possible parents are online, accept children, outside the asker's branch",
        possible_parents_are_sound,
    ),
    (
        "room members are online and know they are in the room",
        room_members_know,
    ),
];

/// What the clients were told, as far as the checks need it.
#[derive(Debug, Default)]
pub struct Observed {
    /// Connections the driver still holds (closed by an `Output::Close` or
    /// a disconnection).
    pub open: BTreeSet<ConnId>,
    /// The last status each connection was told about each user (AddUser
    /// replies and GetUserStatus messages).
    pub status_seen: HashMap<(ConnId, String), UserStatus>,
    /// Private message ids seen, for acknowledgements.
    pub chat_ids: Vec<u32>,
    /// The PossibleParents sent during the last operation: the connection
    /// and the candidate names.
    pub parents_offered: Vec<(ConnId, Vec<String>)>,
    /// The rooms each connection was told it joined (JoinRoom) and not
    /// told it left since (LeaveRoom).
    pub in_room: BTreeSet<(ConnId, String)>,
}

impl Observed {
    /// Takes note of one output.
    pub fn record(&mut self, output: &Output) {
        match output {
            Output::Send { conn, message } => match message {
                ServerResponse::AddUser(reply) => {
                    if let AddUserResponseUser::Exists { status, .. } = reply.user {
                        self.status_seen
                            .insert((*conn, reply.username.clone()), status);
                    }
                }
                ServerResponse::GetUserStatus(status) => {
                    self.status_seen
                        .insert((*conn, status.username.clone()), status.status);
                }
                ServerResponse::PrivateChatMessage(pm) => self.chat_ids.push(pm.chat_id),
                ServerResponse::JoinRoom(joined) => {
                    self.in_room.insert((*conn, joined.room_name.clone()));
                }
                ServerResponse::LeaveRoom(left) => {
                    self.in_room.remove(&(*conn, left.room_name.clone()));
                }
                ServerResponse::PotentialParents(offer) => self.parents_offered.push((
                    *conn,
                    offer.parents.iter().map(|p| p.username.clone()).collect(),
                )),
                _ => {}
            },
            Output::Close { conn } => self.forget(*conn),
            Output::Password(_) => {}
        }
    }

    fn forget(&mut self, conn: ConnId) {
        self.open.remove(&conn);
        self.status_seen.retain(|(c, _), _| *c != conn);
        self.in_room.retain(|(c, _)| *c != conn);
    }
}

/// A server state and its simulated surroundings.
pub struct Sim {
    pub state: ServerState,
    pub observed: Observed,
    now: Now,
    next_conn: ConnId,
}

/// One step of a simulation.
#[derive(Debug)]
pub enum Operation {
    Connect,
    Disconnect(ConnId),
    Request(ConnId, ServerRequest),
    /// Time passes by this many seconds, then the timers run.
    Wait(u8),
}

impl Sim {
    /// A state over an in-memory store, with the test password cost.
    pub fn new(config: ServerConfig) -> Self {
        let store = Store::open_in_memory().expect("in-memory store");
        Self {
            state: ServerState::with_seed(config, store, 1),
            observed: Observed::default(),
            now: Now {
                instant: Instant::now(),
                unix: 1_700_000_000,
            },
            next_conn: 1,
        }
    }

    /// Applies one operation and everything it leads to (password jobs
    /// included).
    pub fn apply(&mut self, operation: Operation) {
        self.observed.parents_offered.clear();
        match operation {
            Operation::Connect => {
                let conn = self.next_conn;
                self.next_conn += 1;
                self.observed.open.insert(conn);
                self.state
                    .connected(conn, IpAddr::V4(Ipv4Addr::LOCALHOST), self.now);
            }
            Operation::Disconnect(conn) => {
                self.observed.forget(conn);
                self.state.disconnected(conn, self.now);
            }
            Operation::Request(conn, request) => {
                if self.observed.open.contains(&conn) {
                    self.state.handle(conn, request, self.now);
                }
            }
            Operation::Wait(seconds) => {
                self.now.instant += Duration::from_secs(seconds.into());
                self.now.unix += u64::from(seconds);
                self.state.tick(self.now);
            }
        }
        self.settle();
    }

    fn settle(&mut self) {
        while let Some(output) = self.state.poll_output() {
            self.observed.record(&output);
            if let Output::Password(job) = output {
                let outcome = job.run();
                self.state.password_checked(job, outcome, self.now);
            }
        }
    }

    /// Runs every check of [`CHECKS`].
    pub fn check(&self) -> Result<(), String> {
        for (name, check) in CHECKS {
            check(self).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(())
    }

    /// An operation drawn from `u`, on the connections open now.
    pub fn arbitrary_operation(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Operation> {
        let open: Vec<ConnId> = self.observed.open.iter().copied().collect();
        if open.is_empty() || (open.len() < MAX_CONNECTIONS && u.ratio(1, 8)?) {
            return Ok(Operation::Connect);
        }
        let conn = *u.choose(&open)?;
        let name = |u: &mut Unstructured<'_>| u.choose(&NAMES).map(|n| (*n).to_owned());
        let room = |u: &mut Unstructured<'_>| u.choose(&ROOMS).map(|n| (*n).to_owned());
        let request: ServerRequest = match u.int_in_range(0..=28)? {
            0 => return Ok(Operation::Disconnect(conn)),
            1 => return Ok(Operation::Wait(u.arbitrary()?)),
            2 | 3 => LoginRequest {
                username: name(u)?,
                password: u.choose(&["pw", "other"])?.to_string(),
                version: 160,
                md5_hash: None,
                minor_version: Some(1),
            }
            .into(),
            4 => AddUserRequest { username: name(u)? }.into(),
            5 => RemoveUserRequest { username: name(u)? }.into(),
            6 => GetUserStatusRequest { username: name(u)? }.into(),
            7 => SetStatusRequest {
                status: u.arbitrary()?,
            }
            .into(),
            8 => PrivateChatMessageRequest {
                username: name(u)?,
                message: u.arbitrary()?,
            }
            .into(),
            9 => {
                let chat_id = match self.observed.chat_ids.is_empty() {
                    true => u.arbitrary()?,
                    false => *u.choose(&self.observed.chat_ids)?,
                };
                PrivateChatMessageAckRequest { chat_id }.into()
            }
            10 => PrivateChatMessageUsersRequest {
                usernames: vec![name(u)?, name(u)?],
                message: u.arbitrary()?,
            }
            .into(),
            11 => FileSearchRequest {
                ticket: u.arbitrary()?,
                query: u.arbitrary()?,
            }
            .into(),
            12 => NewPasswordRequest {
                password: u.choose(&["pw", "other"])?.to_string(),
            }
            .into(),
            // The distributed tree, with names that meet.
            13 => ToggleParentSearchRequest {
                enable: u.arbitrary()?,
            }
            .into(),
            14 => AcceptChildrenRequest {
                accept: u.arbitrary()?,
            }
            .into(),
            15 => BranchRootRequest { username: name(u)? }.into(),
            16 => BranchLevelRequest {
                level: u.int_in_range(0..=3)?,
            }
            .into(),
            17 => SetListenPortRequest {
                port: u.int_in_range(1..=3)?,
                obfuscation_type: None,
                obfuscated_port: None,
            }
            .into(),
            18 => SendUploadSpeedRequest {
                speed: u.int_in_range(0..=3)?,
            }
            .into(),
            // Rooms, public and private, with names that meet.
            19 | 20 => JoinRoomRequest {
                room_name: room(u)?,
                is_private: u.arbitrary()?,
            }
            .into(),
            21 => LeaveRoomRequest {
                room_name: room(u)?,
            }
            .into(),
            22 => PrivateRoomGrantMembershipRequest {
                room: room(u)?,
                username: name(u)?,
            }
            .into(),
            23 => PrivateRoomRevokeMembershipRequest {
                room: room(u)?,
                username: name(u)?,
            }
            .into(),
            24 => PrivateRoomDropMembershipRequest { room: room(u)? }.into(),
            25 => PrivateRoomDropOwnershipRequest { room: room(u)? }.into(),
            26 => TogglePrivateRoomInvitesRequest {
                enable: u.arbitrary()?,
            }
            .into(),
            // Anything at all, of any code the schema knows (or not).
            _ => {
                let codes = ServerRequest::sample_codes();
                let code = *u.choose(&codes)?;
                ServerRequest::arbitrary_with_code(code, u)?
            }
        };
        Ok(Operation::Request(conn, request))
    }
}

/// Runs the operations `data` describes, checking after each; `Err` names
/// the first broken check and the operations up to it.
pub fn run(data: &[u8]) -> Result<(), String> {
    let mut u = Unstructured::new(data);
    let config = ServerConfig {
        password_cost: PasswordCost::TEST,
        possible_parents_interval: Duration::from_secs(u.int_in_range(1..=120).unwrap_or(60)),
        distributed_tree: u.ratio(7, 8).unwrap_or(true),
        registration_open: bool::arbitrary(&mut u).unwrap_or(true) || u.is_empty(),
        max_users: u.int_in_range(1..=5).unwrap_or(5),
        ..ServerConfig::default()
    };
    let mut sim = Sim::new(config);
    let mut history = Vec::new();
    for _ in 0..MAX_OPERATIONS {
        if u.is_empty() {
            break;
        }
        let Ok(operation) = sim.arbitrary_operation(&mut u) else {
            break;
        };
        history.push(format!("{operation:?}"));
        sim.apply(operation);
        if let Err(e) = sim.check() {
            return Err(format!("{e}\nafter:\n  {}", history.join("\n  ")));
        }
    }
    Ok(())
}

fn sessions_match_connections(sim: &Sim) -> Result<(), String> {
    let state = &sim.state;
    for session in state.sessions() {
        let holder = state.connections().find(|c| c.conn == session.conn);
        if holder.and_then(|c| c.user) != Some(session.username) {
            return Err(format!(
                "{} is online on {}, which is {holder:?}",
                session.username, session.conn
            ));
        }
    }
    for connection in state.connections() {
        if !sim.observed.open.contains(&connection.conn) {
            return Err(format!("{} is closed but still known", connection.conn));
        }
        if let Some(user) = connection.user
            && state.session(user).map(|s| s.conn) != Some(connection.conn)
        {
            return Err(format!(
                "{} is logged in as {user} without that session",
                connection.conn
            ));
        }
    }
    Ok(())
}

fn watch_lists_match_index(sim: &Sim) -> Result<(), String> {
    let state = &sim.state;
    for session in state.sessions() {
        for target in session.watching {
            if !state
                .watchers_of(target)
                .is_some_and(|w| w.contains(session.username))
            {
                return Err(format!("{} watches {target}, unindexed", session.username));
            }
        }
    }
    for name in NAMES {
        for watcher in state.watchers_of(name).into_iter().flatten() {
            if !state
                .session(watcher)
                .is_some_and(|s| s.watching.contains(name))
            {
                return Err(format!(
                    "indexed as watching {name}: {watcher}, who does not"
                ));
            }
        }
    }
    Ok(())
}

/// Includes "watchers of an offline user see them offline".
fn watchers_know_status(sim: &Sim) -> Result<(), String> {
    let state = &sim.state;
    for watcher in state.sessions() {
        for target in watcher.watching {
            let actual = state
                .session(target)
                .map_or(UserStatus::Offline, |s| s.status);
            let seen = sim
                .observed
                .status_seen
                .get(&(watcher.conn, target.clone()));
            if seen != Some(&actual) {
                return Err(format!(
                    "{} watches {target}, which is {actual:?}, but was told {seen:?}",
                    watcher.username
                ));
            }
        }
    }
    Ok(())
}

fn pending_only_for_accounts(sim: &Sim) -> Result<(), String> {
    match sim.state.store().pending_without_account() {
        Ok(names) if names.is_empty() => Ok(()),
        Ok(names) => Err(format!("messages pending for {names:?}")),
        Err(e) => Err(format!("store: {e}")),
    }
}

fn branch_index_matches_reports(sim: &Sim) -> Result<(), String> {
    let state = &sim.state;
    for session in state.sessions() {
        let Some(info) = state.distributed(session.username) else {
            return Err(format!("{} has no distributed state", session.username));
        };
        if info.branch_root != session.username
            && !state
                .branch_members(&info.branch_root)
                .is_some_and(|m| m.contains(session.username))
        {
            return Err(format!(
                "{} names {} as root, unindexed",
                session.username, info.branch_root
            ));
        }
    }
    for (root, members) in state.branch_index() {
        if members.is_empty() {
            return Err(format!("an empty entry for {root}"));
        }
        for member in members {
            let named = state.distributed(member).map(|i| i.branch_root);
            if named.as_deref() != Some(root) || member == root {
                return Err(format!(
                    "indexed under {root}: {member}, which names {named:?}"
                ));
            }
        }
    }
    Ok(())
}

fn possible_parents_are_sound(sim: &Sim) -> Result<(), String> {
    let state = &sim.state;
    for (conn, parents) in &sim.observed.parents_offered {
        let asker = state
            .connections()
            .find(|c| c.conn == *conn)
            .and_then(|c| c.user)
            .ok_or_else(|| format!("PossibleParents to {conn}, not logged in"))?;
        if parents.is_empty() || parents.len() > crate::state::MAX_POSSIBLE_PARENTS {
            return Err(format!("{} candidates for {asker}", parents.len()));
        }
        for parent in parents {
            let Some(info) = state.distributed(parent) else {
                return Err(format!("{parent}, offered to {asker}, is offline"));
            };
            if parent == asker || info.branch_root == asker || !info.accepts_children {
                return Err(format!("{parent} offered to {asker}: {info:?}"));
            }
        }
    }
    Ok(())
}

/// Everyone in a room's joined list is online, has the room among its own,
/// and was told it joined; and the other way round: a user's rooms list it,
/// and a logged-in connection told it is in a room is in it.
fn room_members_know(sim: &Sim) -> Result<(), String> {
    let state = &sim.state;
    for (room, joined) in state.rooms() {
        for user in joined {
            let Some(session) = state.session(user) else {
                return Err(format!("{user} is in {room} but offline"));
            };
            if !session.rooms.contains(room) {
                return Err(format!("{user} is in {room}, which its session lacks"));
            }
            if !sim
                .observed
                .in_room
                .contains(&(session.conn, room.to_owned()))
            {
                return Err(format!("{user} is in {room} but was not told so"));
            }
        }
    }
    for session in state.sessions() {
        for room in session.rooms {
            let listed = state
                .rooms()
                .any(|(name, joined)| name == room && joined.iter().any(|u| u == session.username));
            if !listed {
                return Err(format!(
                    "{} lists {room}, which does not list it",
                    session.username
                ));
            }
        }
    }
    for (conn, room) in &sim.observed.in_room {
        let user = state
            .connections()
            .find(|c| c.conn == *conn)
            .and_then(|c| c.user);
        if let Some(user) = user
            && !state.session(user).is_some_and(|s| s.rooms.contains(room))
        {
            return Err(format!("{user} was told it is in {room}, but is not"));
        }
    }
    Ok(())
}
