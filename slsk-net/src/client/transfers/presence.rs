//! Whose online status the transfers need, without I/O: the users we
//! download from or have uploads queued for are watched (the server then
//! pushes their status changes), and only their statuses reach the
//! transfer managers.
//!
//! Why: a download from a user who logged out waits for them and resumes
//! when they are back, and a user who goes offline loses their queued
//! uploads (client-behaviour.md 6.5: "'User logged off' downloads resume
//! when the user comes back online", "When a user goes offline, queued
//! transfers are aborted and active ones keep going").

use std::collections::HashMap;

/// At most this many users are watched for transfers; past it, offline
/// users are still noticed when a message to them cannot be sent.
pub(crate) const MAX_WATCHED_FOR_TRANSFERS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// AddUser went to the session; no answer yet.
    Requested,
    /// The session watches the user (and does again after a reconnect).
    Watched,
}

/// The users watched for transfers.
#[derive(Debug, Default)]
pub(crate) struct Presence {
    users: HashMap<String, Watch>,
}

impl Presence {
    /// `user` has a transfer with us: `true` if a watch must be asked for
    /// now (not asked yet, and room left).
    pub(crate) fn want(&mut self, user: &str) -> bool {
        if self.users.contains_key(user) || self.users.len() >= MAX_WATCHED_FOR_TRANSFERS {
            return false;
        }
        self.users.insert(user.to_owned(), Watch::Requested);
        true
    }

    /// The session took the watch of `user`.
    pub(crate) fn watched(&mut self, user: &str) {
        if let Some(watch) = self.users.get_mut(user) {
            *watch = Watch::Watched;
        }
    }

    /// The watch of `user` could not be asked for (not logged in yet, too
    /// many requests): the next transfer event for them asks again.
    pub(crate) fn watch_failed(&mut self, user: &str) {
        if self.users.get(user) == Some(&Watch::Requested) {
            self.users.remove(user);
        }
    }

    /// Whether a status of `user` concerns the transfers (anyone else's,
    /// e.g. a status the application asked for, is not passed on).
    pub(crate) fn concerns(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_is_watched_once_and_only_their_statuses_count() {
        let mut presence = Presence::default();
        assert!(!presence.concerns("bob"));
        assert!(presence.want("bob"));
        assert!(!presence.want("bob"), "asked already");
        assert!(presence.concerns("bob"));
        presence.watched("bob");
        presence.watch_failed("bob");
        assert!(presence.concerns("bob"), "a watch that worked stays");
        assert!(!presence.concerns("carol"));
    }

    #[test]
    fn a_failed_watch_is_asked_again() {
        let mut presence = Presence::default();
        assert!(presence.want("bob"));
        presence.watch_failed("bob");
        assert!(!presence.concerns("bob"));
        assert!(presence.want("bob"));
    }

    #[test]
    fn the_watched_users_are_bounded() {
        let mut presence = Presence::default();
        for n in 0..MAX_WATCHED_FOR_TRANSFERS {
            assert!(presence.want(&format!("user{n}")));
        }
        assert!(!presence.want("one too many"));
        assert!(!presence.concerns("one too many"));
    }
}
