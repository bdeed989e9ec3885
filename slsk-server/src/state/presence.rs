//! Presence, statistics, addresses, brokering peer connections, and password
//! changes.

use std::net::Ipv4Addr;

use slsk_proto::server::{
    AddUserResponse, AddUserResponseUser, CannotConnectRequest, CannotConnectResponse,
    ConnectToPeerRequest, ConnectToPeerResponse, GetPeerAddressResponse, GetUserStatsResponse,
    GetUserStatusResponse, NewPasswordRequest, PlaceInLineRequestResponse,
    SendConnectTicketResponse, ServerResponse, SetListenPortRequest,
};
use slsk_proto::structures::UserStats;
use slsk_proto::tables::{ObfuscationType, UserStatus};

use slsk_proto::server::NewPasswordResponse;

use super::login::SERVER_NAME;
use super::{ConnId, Now, Output, ServerState};
use crate::password::{PasswordJob, PasswordOutcome, PasswordPurpose};
use crate::store::StoredStats;

/// The server's confirmation of a password change: NewPassword(142) echoing
/// the new password (Nicotine+'s protocol notes; soulfind does the same).
fn password_changed_reply(password: &str) -> ServerResponse {
    NewPasswordResponse {
        password: password.to_owned(),
    }
    .into()
}

pub(super) fn wire_stats(stats: StoredStats) -> UserStats {
    UserStats {
        avg_speed: stats.avg_speed,
        uploads: stats.uploads,
        shared_file_count: stats.files,
        shared_folder_count: stats.folders,
    }
}

impl ServerState {
    /// SetListenPort(2): remembered for GetPeerAddress and ConnectToPeer.
    /// No reply.
    pub(super) fn set_listen_port(&mut self, me: &str, request: SetListenPortRequest) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.port = request.port;
            session.obfuscation_type = request.obfuscation_type.unwrap_or(ObfuscationType::None);
            session.obfuscated_port = request.obfuscated_port.unwrap_or(0);
        }
    }

    /// GetPeerAddress(3): the user's address, with the obfuscation fields
    /// always present; all zeros if the user is offline. The obfuscated port
    /// is a `u16` on this message; a port that does not fit is sent as 0.
    pub(super) fn get_peer_address(&mut self, conn: ConnId, username: &str) {
        let reply = match self.sessions.get(username) {
            Some(s) => GetPeerAddressResponse {
                username: username.to_owned(),
                ip: s.ip,
                port: s.port,
                obfuscation_type: Some(s.obfuscation_type),
                obfuscated_port: Some(u16::try_from(s.obfuscated_port).unwrap_or(0)),
            },
            None => GetPeerAddressResponse {
                username: username.to_owned(),
                ip: Ipv4Addr::UNSPECIFIED,
                port: 0,
                obfuscation_type: Some(ObfuscationType::None),
                obfuscated_port: Some(0),
            },
        };
        self.send(conn, reply);
    }

    /// AddUser(5): watch a user. The reply says whether it exists and, if so,
    /// its status and stats (live or stored) and always the country code
    /// (empty) that clients expect from a live user. An existing user is
    /// added to the watch list; `server` exists with zeros and is not added;
    /// a user always watches itself implicitly.
    pub(super) fn watch_user(&mut self, conn: ConnId, me: &str, target: &str) {
        let exists = |status, stats| AddUserResponseUser::Exists {
            status,
            stats: wire_stats(stats),
            country_code: Some(String::new()),
        };
        let user = if target == SERVER_NAME {
            exists(UserStatus::Offline, StoredStats::default())
        } else if let Some(session) = self.sessions.get(target) {
            exists(session.status, session.stats)
        } else {
            match self.store.account(target) {
                Ok(Some(account)) => exists(UserStatus::Offline, account.stats),
                Ok(None) => AddUserResponseUser::Missing,
                Err(e) => return self.store_failed("reading an account", &e),
            }
        };
        let add = matches!(user, AddUserResponseUser::Exists { .. })
            && target != SERVER_NAME
            && target != me;
        if add {
            if let Some(session) = self.sessions.get_mut(me) {
                session.watching.insert(target.to_owned());
            }
            self.watchers
                .entry(target.to_owned())
                .or_default()
                .insert(me.to_owned());
        }
        self.send(
            conn,
            AddUserResponse {
                username: target.to_owned(),
                user,
            },
        );
    }

    /// RemoveUser(6): stop watching. No reply.
    pub(super) fn unwatch_user(&mut self, me: &str, target: &str) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.watching.remove(target);
        }
        if let Some(watchers) = self.watchers.get_mut(target) {
            watchers.remove(me);
            if watchers.is_empty() {
                self.watchers.remove(target);
            }
        }
    }

    /// Whether `username` has privileges now (live or stored).
    pub(super) fn is_privileged(&self, username: &str, now: Now) -> bool {
        match self.sessions.get(username) {
            Some(session) => session.is_privileged(now),
            None => self
                .store
                .account(username)
                .ok()
                .flatten()
                .is_some_and(|a| a.is_privileged(now.unix_i64())),
        }
    }

    /// GetUserStatus(7): status and privileged flag; offline users (known or
    /// not) have status 0.
    pub(super) fn get_user_status(&mut self, conn: ConnId, username: &str, now: Now) {
        let status = self
            .sessions
            .get(username)
            .map_or(UserStatus::Offline, |s| s.status);
        let privileged = self.is_privileged(username, now);
        self.send(
            conn,
            GetUserStatusResponse {
                username: username.to_owned(),
                status,
                privileged,
            },
        );
    }

    /// SetStatus(28): only away (1) and online (2) are accepted; an unchanged
    /// value does nothing. Watchers and room-mates get GetUserStatus (each
    /// once); the user itself gets it only when going away (official;
    /// soulfind echoes every change).
    pub(super) fn set_status(&mut self, conn: ConnId, me: &str, status: UserStatus, now: Now) {
        if !matches!(status, UserStatus::Away | UserStatus::Online) {
            return tracing::debug!(conn, ?status, "SetStatus value ignored");
        }
        let Some(session) = self.sessions.get_mut(me) else {
            return;
        };
        if session.status == status {
            return;
        }
        session.status = status;
        let privileged = session.is_privileged(now);
        self.status_to_watchers(me, status, privileged);
        if status == UserStatus::Away {
            self.send(
                conn,
                GetUserStatusResponse {
                    username: me.to_owned(),
                    status,
                    privileged,
                },
            );
        }
    }

    /// GetUserStats(36): live values for online users, stored ones for
    /// offline users, zeros for unknown users and `server`.
    pub(super) fn get_user_stats(&mut self, conn: ConnId, username: &str) {
        let stats = match self.sessions.get(username) {
            Some(session) => session.stats,
            None => match self.store.account(username) {
                Ok(account) => account.map(|a| a.stats).unwrap_or_default(),
                Err(e) => return self.store_failed("reading an account", &e),
            },
        };
        self.send(
            conn,
            GetUserStatsResponse {
                username: username.to_owned(),
                stats: wire_stats(stats),
            },
        );
    }

    /// SharedFoldersFiles(35): stored in the session and the database.
    ///
    /// Official behaviour is followed: the new counts go to room-mates only,
    /// as GetUserStats(36) (watchers learn stats from AddUser and
    /// GetUserStats). Soulfind also sends them to watchers and the sender,
    /// which costs a message per watcher at every share rescan.
    pub(super) fn set_shared_counts(&mut self, me: &str, folders: u32, files: u32) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.stats.folders = folders;
            session.stats.files = files;
        }
        if let Err(e) = self.store.set_shared_counts(me, folders, files) {
            self.store_failed("storing shared counts", &e);
        }
        self.stats_to_room_mates(me);
    }

    /// SendUploadSpeed(121): the official cumulative average,
    /// `avg = (avg × uploads + speed) / (uploads + 1)`, then `uploads + 1`
    /// (soulfind keeps an exponential average and no count). Stored; no
    /// broadcast (official).
    pub(super) fn upload_speed(&mut self, me: &str, speed: u32) {
        let Some(session) = self.sessions.get_mut(me) else {
            return;
        };
        let stats = &mut session.stats;
        let uploads = u128::from(stats.uploads);
        let average = (u128::from(stats.avg_speed) * uploads + u128::from(speed)) / (uploads + 1);
        // An average of u32 values fits a u32.
        stats.avg_speed = u32::try_from(average).unwrap_or(u32::MAX);
        stats.uploads = stats.uploads.saturating_add(1);
        let (avg_speed, uploads) = (stats.avg_speed, stats.uploads);
        if let Err(e) = self.store.set_upload_stats(me, avg_speed, uploads) {
            self.store_failed("storing upload stats", &e);
        }
    }

    /// ConnectToPeer(18): the target gets the requester's address, with the
    /// obfuscation fields always present; an offline target makes the
    /// requester get CannotConnect with the ticket.
    pub(super) fn connect_to_peer(
        &mut self,
        conn: ConnId,
        me: &str,
        request: ConnectToPeerRequest,
        now: Now,
    ) {
        let Some(target) = self.conn_of(&request.username) else {
            return self.send(
                conn,
                CannotConnectResponse {
                    ticket: request.ticket,
                    username: None,
                },
            );
        };
        let Some(requester) = self.sessions.get(me) else {
            return;
        };
        let forward = ConnectToPeerResponse {
            username: me.to_owned(),
            connection_type: request.connection_type,
            ip: requester.ip,
            port: requester.port,
            ticket: request.ticket,
            privileged: requester.is_privileged(now),
            obfuscation_type: Some(requester.obfuscation_type),
            obfuscated_port: Some(requester.obfuscated_port),
        };
        self.send(target, forward);
    }

    /// CannotConnect(1001): relayed to the named user, if online, with the
    /// ticket only. The official server sends the ticket alone (Nicotine+'s
    /// notes, the errata); clients match on the ticket, so adding a username
    /// would only risk confusing a strict decoder.
    pub(super) fn cannot_connect(&mut self, request: CannotConnectRequest) {
        if let Some(target) = self.conn_of(&request.username) {
            self.send(
                target,
                CannotConnectResponse {
                    ticket: request.ticket,
                    username: None,
                },
            );
        }
    }

    /// SendConnectTicket(33) (`connect_ticket`) or the obsolete
    /// PlaceInLineRequest(59): forwarded to the named user, if online, as
    /// (sender, ticket), as soulfind does; the official server still forwards
    /// code 33 (Nicotine+'s notes).
    pub(super) fn forward_ticket(&mut self, me: &str, to: &str, ticket: u32, connect_ticket: bool) {
        let Some(target) = self.conn_of(to) else {
            return;
        };
        let username = me.to_owned();
        if connect_ticket {
            self.send(target, SendConnectTicketResponse { username, ticket });
        } else {
            self.send(target, PlaceInLineRequestResponse { username, ticket });
        }
    }

    /// NewPassword(142): ignored if empty or while an earlier change is being
    /// hashed; otherwise hashed off the state machine.
    pub(super) fn change_password(&mut self, conn: ConnId, me: &str, request: NewPasswordRequest) {
        let Some(connection) = self.connections.get_mut(&conn) else {
            return;
        };
        if request.password.is_empty() || connection.changing_password {
            return tracing::debug!(conn, "NewPassword ignored");
        }
        connection.changing_password = true;
        self.outputs.push_back(Output::Password(PasswordJob {
            conn,
            purpose: PasswordPurpose::Change {
                username: me.to_owned(),
            },
            password: request.password,
            cost: self.config.password_cost,
        }));
    }

    /// The new password is hashed: store it (even if the connection has gone
    /// meanwhile: the user asked for it) and confirm it if still connected.
    pub(super) fn password_changed(
        &mut self,
        conn: ConnId,
        username: &str,
        password: &str,
        outcome: PasswordOutcome,
    ) {
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.changing_password = false;
        }
        let PasswordOutcome::Hashed(hash) = outcome else {
            return tracing::error!(conn, ?outcome, "hashing a new password failed");
        };
        if let Err(e) = self.store.set_password_hash(username, &hash) {
            return self.store_failed("storing a new password", &e);
        }
        tracing::info!(conn, user = %username, "password changed");
        if self.conn_of(username) == Some(conn) {
            self.send(conn, password_changed_reply(password));
        }
    }
}
