//! The decisions of the distributed network, without I/O: server messages,
//! `D` connections coming and going, their frames and the time go in;
//! [`Action`]s come out. The rules are in the [module
//! documentation](super).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use slsk_proto::distributed::{
    DistributedBranchLevel, DistributedBranchRoot, DistributedMessage, DistributedSearchRequest,
};
use slsk_proto::server::{
    AcceptChildrenRequest, AddUserResponseUser, BranchLevelRequest, BranchRootRequest,
    LoginResponse, ServerRequest, ServerResponse, ToggleParentSearchRequest,
};
use slsk_proto::{FramedMessage, Limits};
use tracing::debug;

use super::recent::RecentSearches;
use super::wire::{embedded_frame, encode, frame_code};
use super::{
    DistributedConfig, DistributedEvent, DistributedState, MAX_BRANCH_LEVEL, MAX_CANDIDATES,
    MAX_NAME_BYTES, RECENT_SEARCHES,
};

/// A `D` connection, numbered by the driver.
pub(crate) type ConnId = u64;

/// The identifier every DistributedSearchRequest carries (ASCII '1');
/// Nicotine+ drops searches with another.
const SEARCH_IDENTIFIER: u32 = 49;

/// Children while our speed is unknown (or 0, never measured), and the cap
/// of Nicotine+'s formula.
const DEFAULT_MAX_CHILDREN: u32 = 10;

/// What the driver is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Open a `D` connection to a candidate parent, then report
    /// [`Machine::connected`] or [`Machine::connect_failed`].
    Connect(String),
    /// Close a connection (unknown ids are ignored).
    Close(ConnId),
    /// Queue a frame on one child's connection.
    Send { conn: ConnId, frame: Bytes },
    /// Queue a frame on every child's connection ([`Machine::child_conns`]).
    ForwardToChildren(Bytes),
    /// Send a request to the server.
    Server(ServerRequest),
    /// Answer a search through the shares.
    Answer {
        username: String,
        ticket: u32,
        query: String,
    },
    /// Report an event (after the shared state is updated).
    Emit(DistributedEvent),
}

/// What each connection is to us.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Candidate(String),
    Parent,
    Child(String),
}

#[derive(Debug, Default)]
struct Candidate {
    conn: Option<ConnId>,
    level: Option<u32>,
    root: Option<String>,
    /// Until when a connected candidate may take to tell its level/root.
    deadline: Option<Instant>,
}

#[derive(Debug)]
struct Parent {
    username: String,
    conn: ConnId,
    level: u32,
    root: String,
}

#[derive(Debug)]
struct Child {
    username: String,
    /// The connection searches go out on.
    conn: ConnId,
    /// A second connection from the same child, kept until one of the two
    /// closes: a peer that dials us while asking the server to make us dial
    /// it (aioslsk does, and so does our own connector) ends with two,
    /// adopts whichever first told it our level, and closes the other.
    /// Closing either one ourselves would close the one it adopted half of
    /// the time, so both get everything until then (the child drops
    /// duplicates).
    spare: Option<ConnId>,
}

/// What the server has been told (or, right after login, what the session
/// told it: no parent, level 0, root ourselves, no children).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Announcement {
    has_parent: bool,
    level: u32,
    root: String,
    accept: bool,
}

/// The distributed network's state machine.
#[derive(Debug)]
pub(crate) struct Machine {
    own: String,
    config: DistributedConfig,
    limits: Limits,
    logged_in: bool,
    candidates: HashMap<String, Candidate>,
    parent: Option<Parent>,
    is_root: bool,
    children: Vec<Child>,
    /// Every connection of every child (spares included), for forwarding.
    child_conns: Vec<ConnId>,
    roles: HashMap<ConnId, Role>,
    speed: Option<u32>,
    min_speed: Option<u32>,
    speed_ratio: Option<u32>,
    /// What the server was last told; `None`: tell it everything.
    announced: Option<Announcement>,
    /// Since when we look for a parent without being a root.
    looking_since: Option<Instant>,
    recent: RecentSearches,
    actions: VecDeque<Action>,
    /// The readable state changed since [`Machine::take_changed`].
    changed: bool,
}

impl Machine {
    pub(crate) fn new(own_username: &str, config: DistributedConfig, limits: Limits) -> Self {
        Self {
            own: own_username.to_owned(),
            config,
            limits,
            logged_in: false,
            candidates: HashMap::new(),
            parent: None,
            is_root: false,
            children: Vec::new(),
            child_conns: Vec::new(),
            roles: HashMap::new(),
            speed: None,
            min_speed: None,
            speed_ratio: None,
            announced: None,
            looking_since: None,
            recent: RecentSearches::new(RECENT_SEARCHES),
            actions: VecDeque::new(),
            changed: true,
        }
    }

    /// The next thing to do.
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The children's connections, for [`Action::ForwardToChildren`].
    pub(crate) fn child_conns(&self) -> &[ConnId] {
        &self.child_conns
    }

    /// Whether the readable state changed since the last call.
    pub(crate) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The state as [`Client::distributed`](crate::client::Client::distributed) shows it.
    pub(crate) fn snapshot(&self) -> DistributedState {
        let (branch_level, branch_root) = match (&self.parent, self.is_root) {
            (Some(parent), _) => (parent.level + 1, parent.root.clone()),
            (None, true) => (0, self.own.clone()),
            (None, false) => (0, String::new()),
        };
        DistributedState {
            parent: self.parent.as_ref().map(|p| p.username.clone()),
            branch_level,
            branch_root,
            children: self.children.iter().map(|c| c.username.clone()).collect(),
            accepting_children: self.announced.as_ref().is_some_and(|a| a.accept),
        }
    }

    /// When [`Machine::timer`] wants to run next.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let root_at = self.next_root_time();
        self.candidates
            .values()
            .filter_map(|c| c.deadline)
            .chain(root_at)
            .min()
    }

    /// Time passed: candidates that said nothing in time are closed; a
    /// client that looked for a parent long enough becomes a branch root.
    pub(crate) fn timer(&mut self, now: Instant) {
        let late: Vec<String> = self
            .candidates
            .iter()
            .filter(|(_, c)| c.deadline.is_some_and(|d| d <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for name in late {
            debug!(candidate = %name, "candidate parent silent: closed");
            self.drop_candidate(&name);
        }
        if let Some(at) = self.next_root_time()
            && at <= now
        {
            self.become_root();
        }
    }

    fn next_root_time(&self) -> Option<Instant> {
        match (&self.parent, self.is_root, self.looking_since) {
            (None, false, Some(since)) if self.config.enabled => {
                Some(since + self.config.become_root_after)
            }
            _ => None,
        }
    }

    /// A message from the server.
    pub(crate) fn server_message(&mut self, message: &ServerResponse, now: Instant) {
        if !self.config.enabled {
            return;
        }
        match message {
            ServerResponse::Login(LoginResponse::Success { .. }) => self.logged_in(now),
            ServerResponse::ParentMinSpeed(m) => {
                self.min_speed = Some(m.parent_min_speed);
                self.sync_server();
            }
            ServerResponse::ParentSpeedRatio(m) => {
                self.speed_ratio = Some(m.parent_speed_ratio);
                self.sync_server();
            }
            ServerResponse::GetUserStats(m) if m.username == self.own => {
                self.speed = Some(m.stats.avg_speed);
                self.sync_server();
            }
            ServerResponse::AddUser(m) if m.username == self.own => {
                if let AddUserResponseUser::Exists { stats, .. } = &m.user {
                    self.speed = Some(stats.avg_speed);
                    self.sync_server();
                }
            }
            ServerResponse::PotentialParents(m) => {
                let names = m.parents.iter().map(|p| p.username.as_str());
                self.possible_parents(names);
            }
            ServerResponse::ServerSearchRequest(m) => {
                self.server_search(m.distributed_code, &m.payload)
            }
            ServerResponse::ResetDistributed(_) => self.reset(now),
            _ => {}
        }
    }

    /// Logged in (again): the session has just told the server the
    /// defaults; tell it what differs.
    fn logged_in(&mut self, now: Instant) {
        self.logged_in = true;
        self.announced = Some(Announcement {
            has_parent: false,
            level: 0,
            root: self.own.clone(),
            accept: false,
        });
        if self.parent.is_none() && !self.is_root && self.looking_since.is_none() {
            self.looking_since = Some(now);
        }
        self.sync_server();
    }

    fn possible_parents<'a>(&mut self, names: impl Iterator<Item = &'a str>) {
        if self.parent.is_some() || (self.is_root && !self.children.is_empty()) {
            return;
        }
        for name in names {
            if self.candidates.len() >= MAX_CANDIDATES {
                break;
            }
            if name.is_empty()
                || name.len() > MAX_NAME_BYTES
                || name == self.own
                || self.candidates.contains_key(name)
                || self.children.iter().any(|c| c.username == name)
            {
                continue;
            }
            self.candidates
                .insert(name.to_owned(), Candidate::default());
            self.actions.push_back(Action::Connect(name.to_owned()));
        }
    }

    /// Our connection to a candidate is up.
    pub(crate) fn connected(&mut self, username: &str, conn: ConnId, now: Instant) {
        let deadline = now + self.config.candidate_timeout;
        match self.candidates.get_mut(username) {
            Some(candidate) if candidate.conn.is_none() && self.parent.is_none() => {
                candidate.conn = Some(conn);
                candidate.deadline = Some(deadline);
                self.roles
                    .insert(conn, Role::Candidate(username.to_owned()));
            }
            // Adopted someone else meanwhile, or reset.
            _ => self.actions.push_back(Action::Close(conn)),
        }
    }

    /// Our connection to a candidate could not be made.
    pub(crate) fn connect_failed(&mut self, username: &str) {
        if self
            .candidates
            .get(username)
            .is_some_and(|c| c.conn.is_none())
        {
            self.candidates.remove(username);
        }
    }

    /// A peer opened a `D` connection to us: a would-be child.
    pub(crate) fn incoming(&mut self, username: &str, conn: ConnId) {
        // It is our candidate while we are its: each would become the
        // other's parent and child at once. The names break the tie the
        // same way on both sides: the smaller name is the parent.
        if self.candidates.contains_key(username) && self.own.as_str() < username && self.has_room()
        {
            self.drop_candidate(username);
        }
        let replacing = self.children.iter().position(|c| c.username == username);
        let refuse = !self.config.enabled
            || username.is_empty()
            || username == self.own
            || self.parent.as_ref().is_some_and(|p| p.username == username)
            || self.candidates.contains_key(username)
            || (replacing.is_none() && !self.has_room());
        if refuse {
            debug!(%username, "child refused");
            self.actions.push_back(Action::Close(conn));
            return;
        }
        match replacing {
            Some(index) => {
                // A third connection replaces the older spare.
                if let Some(old) = self.children[index].spare.replace(conn) {
                    self.roles.remove(&old);
                    self.child_conns.retain(|&c| c != old);
                    self.actions.push_back(Action::Close(old));
                }
                self.child_conns.push(conn);
            }
            None => {
                self.children.push(Child {
                    username: username.to_owned(),
                    conn,
                    spare: None,
                });
                self.child_conns.push(conn);
                self.actions
                    .push_back(Action::Emit(DistributedEvent::ChildAdded {
                        username: username.to_owned(),
                    }));
            }
        }
        self.roles.insert(conn, Role::Child(username.to_owned()));
        self.changed = true;
        let (level, root) = self.position();
        for frame in [
            encode(DistributedBranchLevel { level }),
            encode(DistributedBranchRoot { username: root }),
        ]
        .into_iter()
        .flatten()
        {
            self.actions.push_back(Action::Send { conn, frame });
        }
        self.sync_server();
    }

    /// A connection closed (or failed).
    pub(crate) fn closed(&mut self, conn: ConnId, now: Instant) {
        match self.roles.remove(&conn) {
            Some(Role::Candidate(name)) => {
                self.candidates.remove(&name);
            }
            Some(Role::Parent) => self.lose_parent(now),
            Some(Role::Child(name)) => self.child_connection_closed(&name, conn),
            None => {}
        }
    }

    /// One of a child's connections closed: its spare takes over, or the
    /// child is gone.
    fn child_connection_closed(&mut self, name: &str, conn: ConnId) {
        let Some(index) = self.children.iter().position(|c| c.username == name) else {
            return;
        };
        let child = &mut self.children[index];
        if child.spare == Some(conn) {
            child.spare = None;
        } else if let Some(spare) = child.spare.take() {
            child.conn = spare;
        } else {
            return self.remove_child(name);
        }
        self.child_conns.retain(|&c| c != conn);
    }

    /// A child's queue overflowed: it is dropped.
    pub(crate) fn child_too_slow(&mut self, conn: ConnId) {
        if let Some(Role::Child(name)) = self.roles.get(&conn).cloned() {
            debug!(child = %name, "child too slow: dropped");
            self.roles.remove(&conn);
            self.actions.push_back(Action::Close(conn));
            self.remove_child(&name);
        }
    }

    /// A whole frame from a connection.
    pub(crate) fn frame(&mut self, conn: ConnId, frame: Bytes, now: Instant) {
        match self.roles.get(&conn) {
            Some(Role::Parent) => self.parent_frame(frame, now),
            Some(Role::Candidate(name)) => {
                let name = name.clone();
                self.candidate_frame(&name, &frame);
            }
            // Children have nothing to tell a parent in today's protocol
            // (DistributedChildDepth is obsolete; Nicotine+ ignores it).
            Some(Role::Child(_)) | None => {}
        }
    }

    fn decode(&self, frame: &[u8]) -> Option<DistributedMessage> {
        match DistributedMessage::decode_frame_lenient(frame, &self.limits) {
            Ok((message, _)) => Some(message),
            Err(error) => {
                debug!(%error, "undecodable distributed frame");
                None
            }
        }
    }

    fn candidate_frame(&mut self, name: &str, frame: &[u8]) {
        let Some(message) = self.decode(frame) else {
            return self.drop_candidate(name);
        };
        let own = self.own.clone();
        let Some(candidate) = self.candidates.get_mut(name) else {
            return;
        };
        match message {
            DistributedMessage::DistributedBranchLevel(m) if m.level <= MAX_BRANCH_LEVEL => {
                candidate.level = Some(m.level)
            }
            DistributedMessage::DistributedBranchRoot(m) if valid_root(&m.username, &own) => {
                candidate.root = Some(m.username)
            }
            DistributedMessage::DistributedBranchLevel(_)
            | DistributedMessage::DistributedBranchRoot(_) => {
                debug!(candidate = %name, "bad level or root (or our own branch)");
                return self.drop_candidate(name);
            }
            // Searches before adoption, pings and the obsolete messages.
            _ => return,
        }
        match (candidate.level, &candidate.root) {
            (Some(_), Some(_)) | (Some(0), None) => self.adopt(name),
            _ => {}
        }
    }

    fn drop_candidate(&mut self, name: &str) {
        if let Some(candidate) = self.candidates.remove(name)
            && let Some(conn) = candidate.conn
        {
            self.roles.remove(&conn);
            self.actions.push_back(Action::Close(conn));
        }
    }

    fn adopt(&mut self, name: &str) {
        let Some(candidate) = self.candidates.remove(name) else {
            return;
        };
        let (Some(conn), Some(level)) = (candidate.conn, candidate.level) else {
            return;
        };
        let root = candidate.root.unwrap_or_else(|| name.to_owned());
        let others: Vec<String> = self.candidates.keys().cloned().collect();
        for other in others {
            self.drop_candidate(&other);
        }
        self.candidates.clear();
        self.roles.insert(conn, Role::Parent);
        self.parent = Some(Parent {
            username: name.to_owned(),
            conn,
            level,
            root: root.clone(),
        });
        self.is_root = false;
        self.looking_since = None;
        self.changed = true;
        self.tell_children();
        self.actions
            .push_back(Action::Emit(DistributedEvent::ParentAdopted {
                username: name.to_owned(),
                branch_level: level + 1,
                branch_root: root,
            }));
        self.sync_server();
    }

    fn parent_frame(&mut self, frame: Bytes, now: Instant) {
        // Searches are most of the traffic: look at the code before
        // anything else.
        let code = frame_code(&frame);
        let Some(message) = self.decode(&frame) else {
            debug!("parent sent garbage: dropped");
            return self.lose_parent(now);
        };
        match message {
            DistributedMessage::DistributedSearchRequest(search) if code == Some(3) => {
                self.search(frame, search)
            }
            DistributedMessage::DistributedServerSearchRequest(embedded) => {
                self.embedded_search(embedded.distributed_code, &embedded.payload)
            }
            DistributedMessage::DistributedBranchLevel(m) => {
                if m.level > MAX_BRANCH_LEVEL {
                    debug!(level = m.level, "parent's level too deep: dropped");
                    return self.lose_parent(now);
                }
                if let Some(parent) = &mut self.parent
                    && parent.level != m.level
                {
                    parent.level = m.level;
                    self.position_changed();
                }
            }
            DistributedMessage::DistributedBranchRoot(m) => {
                if !valid_root(&m.username, &self.own) {
                    debug!("parent's root empty, too long or ourselves (a loop): dropped");
                    return self.lose_parent(now);
                }
                if let Some(parent) = &mut self.parent
                    && parent.root != m.username
                {
                    parent.root = m.username;
                    self.position_changed();
                }
            }
            _ => {}
        }
    }

    /// The server's EmbeddedMessage: we are a branch root in its eyes.
    fn server_search(&mut self, code: u8, payload: &[u8]) {
        if self.parent.is_none() && !self.is_root {
            self.become_root();
        }
        self.embedded_search(code, payload);
    }

    /// An embedded distributed message; only searches are passed on.
    fn embedded_search(&mut self, code: u8, payload: &[u8]) {
        if code != 3 {
            return;
        }
        let Some(frame) = embedded_frame(code, payload) else {
            return;
        };
        if let Some(DistributedMessage::DistributedSearchRequest(search)) = self.decode(&frame) {
            self.search(frame, search);
        }
    }

    fn search(&mut self, frame: Bytes, search: DistributedSearchRequest) {
        if search.unknown != SEARCH_IDENTIFIER {
            debug!(
                identifier = search.unknown,
                "search with a wrong identifier dropped"
            );
            return;
        }
        if !self.recent.first_time(&search.username, search.ticket) {
            return;
        }
        if !self.child_conns.is_empty() {
            self.actions.push_back(Action::ForwardToChildren(frame));
        }
        if search.username != self.own {
            self.actions.push_back(Action::Answer {
                username: search.username,
                ticket: search.ticket,
                query: search.query,
            });
        }
    }

    fn lose_parent(&mut self, now: Instant) {
        let Some(parent) = self.parent.take() else {
            return;
        };
        self.roles.remove(&parent.conn);
        self.actions.push_back(Action::Close(parent.conn));
        self.actions
            .push_back(Action::Emit(DistributedEvent::ParentLost {
                username: parent.username,
            }));
        self.changed = true;
        if self.children.is_empty() {
            self.looking_since = Some(now);
            self.announced = None;
            self.sync_server();
        } else {
            self.become_root();
        }
    }

    fn become_root(&mut self) {
        self.is_root = true;
        self.looking_since = None;
        self.changed = true;
        self.actions
            .push_back(Action::Emit(DistributedEvent::BecameRoot));
        self.tell_children();
        self.announced = None;
        self.sync_server();
    }

    fn remove_child(&mut self, name: &str) {
        if let Some(index) = self.children.iter().position(|c| c.username == name) {
            let child = self.children.remove(index);
            self.child_conns.retain(|&c| c != child.conn);
            if let Some(spare) = child.spare {
                self.roles.remove(&spare);
                self.child_conns.retain(|&c| c != spare);
                self.actions.push_back(Action::Close(spare));
            }
            self.changed = true;
            self.actions
                .push_back(Action::Emit(DistributedEvent::ChildRemoved {
                    username: name.to_owned(),
                }));
            self.sync_server();
        }
    }

    fn reset(&mut self, now: Instant) {
        for conn in self.roles.keys().copied().collect::<Vec<_>>() {
            self.actions.push_back(Action::Close(conn));
        }
        self.roles.clear();
        self.candidates.clear();
        self.parent = None;
        self.children.clear();
        self.child_conns.clear();
        self.is_root = false;
        self.looking_since = Some(now);
        self.changed = true;
        self.actions
            .push_back(Action::Emit(DistributedEvent::Reset));
        self.announced = None;
        self.sync_server();
    }

    /// Our level and root as we tell children: the parent's level + 1 and
    /// root, or 0 and ourselves.
    fn position(&self) -> (u32, String) {
        match &self.parent {
            Some(parent) => (parent.level + 1, parent.root.clone()),
            None => (0, self.own.clone()),
        }
    }

    fn position_changed(&mut self) {
        self.changed = true;
        self.tell_children();
        let (branch_level, branch_root) = self.position();
        self.actions
            .push_back(Action::Emit(DistributedEvent::BranchChanged {
                branch_level,
                branch_root,
            }));
        self.sync_server();
    }

    fn tell_children(&mut self) {
        if self.child_conns.is_empty() {
            return;
        }
        let (level, root) = self.position();
        for frame in [
            encode(DistributedBranchLevel { level }),
            encode(DistributedBranchRoot { username: root }),
        ]
        .into_iter()
        .flatten()
        {
            self.actions.push_back(Action::ForwardToChildren(frame));
        }
    }

    /// The most children we take.
    fn max_children(&self) -> u32 {
        if let Some(max) = self.config.max_children {
            return max;
        }
        match self.speed {
            None | Some(0) => DEFAULT_MAX_CHILDREN,
            Some(speed) if speed < self.min_speed.unwrap_or(0) => 0,
            Some(speed) => {
                let ratio = self.speed_ratio.unwrap_or(1).max(1);
                (speed / ratio / 100).min(DEFAULT_MAX_CHILDREN)
            }
        }
    }

    fn has_room(&self) -> bool {
        self.config.enabled
            && (self.parent.is_some() || self.is_root)
            && self.children.len() < self.max_children() as usize
    }

    /// Tells the server what changed since it was last told, in the order
    /// HaveNoParent, BranchLevel, BranchRoot, AcceptChildren.
    fn sync_server(&mut self) {
        let (level, root) = self.position();
        let now = Announcement {
            has_parent: self.parent.is_some(),
            level,
            root,
            accept: self.has_room(),
        };
        let before = self.announced.take();
        if self.logged_in {
            if before
                .as_ref()
                .is_none_or(|b| b.has_parent != now.has_parent)
            {
                self.push_server(ToggleParentSearchRequest {
                    enable: !now.has_parent,
                });
            }
            if before.as_ref().is_none_or(|b| b.level != now.level) {
                self.push_server(BranchLevelRequest { level: now.level });
            }
            if before.as_ref().is_none_or(|b| b.root != now.root) {
                self.push_server(BranchRootRequest {
                    username: now.root.clone(),
                });
            }
            if before.as_ref().is_none_or(|b| b.accept != now.accept) {
                self.push_server(AcceptChildrenRequest { accept: now.accept });
            }
        }
        if before.as_ref().is_none_or(|b| b.accept != now.accept) {
            self.changed = true;
        }
        self.announced = Some(now);
    }

    fn push_server(&mut self, request: impl Into<ServerRequest>) {
        self.actions.push_back(Action::Server(request.into()));
    }
}

/// A root name we pass on: not empty, not absurdly long, not ourselves
/// (we would be our own ancestor).
fn valid_root(root: &str, own: &str) -> bool {
    !root.is_empty() && root.len() <= MAX_NAME_BYTES && root != own
}
