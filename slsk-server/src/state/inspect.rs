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
            })
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
}
