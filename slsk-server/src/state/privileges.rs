//! Privileges: checking, giving, and announcing them when they begin or end.

use std::time::Duration;

use slsk_proto::server::{
    AddPrivilegedUserResponse, CheckPrivilegesResponse, GetUserPrivilegesResponse, ServerResponse,
    WishlistIntervalResponse,
};

use super::login::SERVER_NAME;
use super::{ConnId, Now, ServerState};

/// How often the privileged flags of online users are checked for expiry
/// (soulfind's refresh period).
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// Seconds in a day: GiveUserPrivileges(123) counts days.
pub(super) const DAY: i64 = 86_400;

/// PrivilegesNotificationAck(125): the server's acknowledgement of a
/// PrivilegesNotification(124), carrying its notification id (soulfind; its
/// comment says the official server still sends it).
pub(super) fn privileges_notification_ack(notification_id: u32) -> ServerResponse {
    slsk_proto::server::PrivilegesNotificationAckResponse { notification_id }.into()
}

impl ServerState {
    /// CheckPrivileges(92): the seconds of privileges left, clamped to `u32`.
    pub(super) fn check_privileges(&mut self, conn: ConnId, me: &str, now: Now) {
        let until = self.sessions.get(me).and_then(|s| s.privileges_until);
        let left = until.map_or(0, |until| until.saturating_sub(now.unix_i64()).max(0));
        let time_left = u32::try_from(left).unwrap_or(u32::MAX);
        self.send(conn, CheckPrivilegesResponse { time_left });
    }

    /// GetUserPrivileges(122): whether a user (online or not) is privileged.
    pub(super) fn user_privileges(&mut self, conn: ConnId, username: &str, now: Now) {
        let privileged = self.is_privileged(username, now);
        let username = username.to_owned();
        self.send(
            conn,
            GetUserPrivilegesResponse {
                username,
                privileged,
            },
        );
    }

    /// GiveUserPrivileges(123): `me` gives `days` of its own privileges to a
    /// registered user (soulfind's rule): the amount is capped at what `me`
    /// has left, nothing happens if that is zero, or if the target is `me`,
    /// `server` or unknown. The target's privileges are extended from the
    /// later of now and their current end; `me` loses the same time. Both
    /// are refreshed (see [`add_privileges`](Self::add_privileges)).
    pub(super) fn give_privileges(&mut self, me: &str, target: &str, days: u32, now: Now) {
        if target == me || target == SERVER_NAME {
            return;
        }
        let left = self
            .sessions
            .get(me)
            .and_then(|s| s.privileges_until)
            .map_or(0, |until| until.saturating_sub(now.unix_i64()).max(0));
        let amount = (i64::from(days) * DAY).min(left);
        if amount == 0 {
            return tracing::debug!(user = %me, "no privileges to give");
        }
        match self.store.account(target) {
            Ok(Some(_)) => {}
            Ok(None) => {
                return tracing::debug!(user = %me, target, "privileges for an unknown user");
            }
            Err(e) => return self.store_failed("reading an account", &e),
        }
        if self.add_privileges(target, amount, now) {
            tracing::info!(user = %me, target, seconds = amount, "privileges given");
            self.add_privileges(me, -amount, now);
        }
    }

    /// Adds `seconds` (negative to take) to a registered user's privileges,
    /// stores them and refreshes an online user; false if the store failed.
    pub(super) fn add_privileges(&mut self, username: &str, seconds: i64, now: Now) -> bool {
        let current = match self.sessions.get(username) {
            Some(session) => session.privileges_until,
            None => match self.store.account(username) {
                Ok(account) => account.and_then(|a| a.privileges_until),
                Err(e) => {
                    self.store_failed("reading an account", &e);
                    return false;
                }
            },
        };
        let base = current.unwrap_or(0).max(now.unix_i64());
        let until = base.saturating_add(seconds);
        if let Err(e) = self.store.set_privileges_until(username, Some(until)) {
            self.store_failed("storing privileges", &e);
            return false;
        }
        if let Some(session) = self.sessions.get_mut(username) {
            session.privileges_until = Some(until);
            self.refresh_privileges(username, now);
        }
        true
    }

    /// After an online user's privileges changed: if the privileged flag
    /// flipped, [`announce_privileged_flag`](Self::announce_privileged_flag);
    /// in every case CheckPrivileges(92) to the user (soulfind).
    fn refresh_privileges(&mut self, username: &str, now: Now) {
        self.announce_privileged_flag(username, now);
        if let Some(conn) = self.conn_of(username) {
            self.check_privileges(conn, username, now);
        }
    }

    /// If `username`'s privileged flag changed since last told: its new
    /// WishlistInterval(104), GetUserStatus(7) with the new flag to its
    /// watchers and room-mates, and, when it became privileged,
    /// AddPrivilegedUser(91) to every online user (so that clients that keep
    /// the PrivilegedUsers list of login up to date learn it; NP calls 91
    /// obsolete, but clients still decode it). True if it changed.
    fn announce_privileged_flag(&mut self, username: &str, now: Now) -> bool {
        let Some(session) = self.sessions.get_mut(username) else {
            return false;
        };
        let privileged = session.is_privileged(now);
        if privileged == session.privileged {
            return false;
        }
        session.privileged = privileged;
        let (conn, status) = (session.conn, session.status);
        tracing::info!(user = %username, privileged, "privileged flag changed");
        let interval = if privileged {
            self.config.wishlist_interval_privileged
        } else {
            self.config.wishlist_interval
        };
        self.send(conn, WishlistIntervalResponse { interval });
        self.status_to_watchers(username, status, privileged);
        if privileged {
            let everyone: Vec<ConnId> = self.sessions.values().map(|s| s.conn).collect();
            for conn in everyone {
                let username = username.to_owned();
                self.send(conn, AddPrivilegedUserResponse { username });
            }
        }
        true
    }

    /// Every 15 s: the privileges of online users that ended since are
    /// announced.
    pub(super) fn sweep_privileges(&mut self, now: Now) {
        if self
            .last_privilege_sweep
            .is_some_and(|last| now.instant.saturating_duration_since(last) < SWEEP_EVERY)
        {
            return;
        }
        self.last_privilege_sweep = Some(now.instant);
        let changed: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.is_privileged(now) != s.privileged)
            .map(|(name, _)| name.clone())
            .collect();
        for username in changed {
            if self.announce_privileged_flag(&username, now)
                && let Some(conn) = self.conn_of(&username)
            {
                self.check_privileges(conn, &username, now);
            }
        }
    }
}
