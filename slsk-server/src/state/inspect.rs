//! A read-only view of the state, for consistency checks (the property
//! tests and the fuzz target in [`crate::sim`]) and for diagnostics.

use std::collections::BTreeSet;

use slsk_proto::tables::UserStatus;

use super::{ConnId, Phase, ServerState};

/// A logged-in user, as [`ServerState::sessions`] shows it.
#[derive(Debug, Clone, Copy)]
pub struct SessionView<'a> {
    pub username: &'a str,
    /// The connection the session lives on.
    pub conn: ConnId,
    pub status: UserStatus,
    /// The users it watches (AddUser), itself excluded.
    pub watching: &'a BTreeSet<String>,
    /// The rooms it has joined.
    pub rooms: &'a BTreeSet<String>,
}

/// A user's distributed state as the server sees it (see
/// [`ServerState::distributed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedInfo {
    /// It said HaveNoParent(false).
    pub has_parent: bool,
    /// It said HaveNoParent(true) and has not reported a parent since: it
    /// gets PossibleParents at the configured interval.
    pub seeking_parent: bool,
    /// AcceptChildren(100), false until told.
    pub accepts_children: bool,
    /// BranchLevel(126), 0 until told.
    pub branch_level: u32,
    /// BranchRoot(127), the user itself until told.
    pub branch_root: String,
    /// ChildDepth(129) (obsolete), 0 until told.
    pub child_depth: u32,
    /// The server treats it as a branch root: global searches reach it as
    /// EmbeddedMessage(93).
    pub is_branch_root: bool,
}

/// A connection, as [`ServerState::connections`] shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionView<'a> {
    pub conn: ConnId,
    /// The user logged in on it, if any.
    pub user: Option<&'a str>,
}

impl ServerState {
    /// Every logged-in user, in no particular order.
    pub fn sessions(&self) -> impl Iterator<Item = SessionView<'_>> {
        self.sessions.iter().map(|(username, s)| SessionView {
            username,
            conn: s.conn,
            status: s.status,
            watching: &s.watching,
            rooms: &s.rooms,
        })
    }

    /// The session of `username`, if online.
    pub fn session(&self, username: &str) -> Option<SessionView<'_>> {
        self.sessions
            .get_key_value(username)
            .map(|(username, s)| SessionView {
                username,
                conn: s.conn,
                status: s.status,
                watching: &s.watching,
                rooms: &s.rooms,
            })
    }

    /// Every room in use (public rooms with someone in them, private rooms
    /// that exist) with the users who have joined it, in join order.
    pub fn rooms(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.rooms
            .iter()
            .map(|(name, room)| (name.as_str(), room.joined.as_slice()))
    }

    /// Every connection the state knows, in no particular order.
    pub fn connections(&self) -> impl Iterator<Item = ConnectionView<'_>> {
        self.connections.iter().map(|(&conn, c)| ConnectionView {
            conn,
            user: match &c.phase {
                Phase::LoggedIn(user) => Some(user.as_str()),
                _ => None,
            },
        })
    }

    /// For each watched name, the online users watching it.
    pub fn watchers_of(&self, username: &str) -> Option<&BTreeSet<String>> {
        self.watchers.get(username)
    }

    /// `username`'s distributed state, if online.
    ///
    /// ```
    /// use slsk_proto::server::{AcceptChildrenRequest, LoginRequest, ToggleParentSearchRequest};
    /// use slsk_server::sim::{Operation, Sim};
    /// use slsk_server::{PasswordCost, ServerConfig};
    ///
    /// let mut sim = Sim::new(ServerConfig {
    ///     password_cost: PasswordCost::TEST,
    ///     ..ServerConfig::default()
    /// });
    /// sim.apply(Operation::Connect);
    /// let login = LoginRequest {
    ///     username: "alice".into(),
    ///     password: "pw".into(),
    ///     version: 160,
    ///     md5_hash: None,
    ///     minor_version: Some(1),
    /// };
    /// sim.apply(Operation::Request(1, login.into()));
    /// let no_parent = ToggleParentSearchRequest { enable: true };
    /// sim.apply(Operation::Request(1, no_parent.into()));
    /// let info = sim.state.distributed("alice").unwrap();
    /// assert!(info.seeking_parent && !info.has_parent && !info.is_branch_root);
    /// // Without a parent and accepting children: a branch root.
    /// let accept = AcceptChildrenRequest { accept: true };
    /// sim.apply(Operation::Request(1, accept.into()));
    /// assert!(sim.state.distributed("alice").unwrap().is_branch_root);
    /// ```
    pub fn distributed(&self, username: &str) -> Option<DistributedInfo> {
        let session = self.sessions.get(username)?;
        let tree = &session.tree;
        Some(DistributedInfo {
            has_parent: tree.has_parent(),
            seeking_parent: tree.parents_due.is_some(),
            accepts_children: tree.accepts_children,
            branch_level: tree.branch_level,
            branch_root: tree
                .branch_root
                .clone()
                .unwrap_or_else(|| username.to_owned()),
            child_depth: tree.child_depth,
            is_branch_root: self.is_root_session(username, session),
        })
    }

    /// The online users that name `root` as their branch root (the index
    /// the server keeps), whether `root` is online or not.
    pub fn branch_members(&self, root: &str) -> Option<&BTreeSet<String>> {
        self.branches.get(root)
    }

    /// The whole branch index: each reported branch root with the online
    /// users that name it.
    pub fn branch_index(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> {
        self.branches
            .iter()
            .map(|(root, members)| (root.as_str(), members))
    }
}
