//! Login(1): the checks, registration, the post-login sequence, relogging,
//! and the end of a session.

use slsk_proto::server::{
    ExcludedSearchPhrasesResponse, GetUserStatusResponse, KickedResponse, LoginRequest,
    LoginResponse, ParentMinSpeedResponse, ParentSpeedRatioResponse, PrivilegedUsersResponse,
    WishlistIntervalResponse,
};
use slsk_proto::tables::{LoginRejectionReason, ObfuscationType, UserStatus};

use super::flood::FloodBuckets;
use super::{ConnId, Interests, Now, Output, PendingLogin, Phase, ServerState, Session};
use crate::password::{PasswordJob, PasswordOutcome, PasswordPurpose};

/// The longest username, in bytes.
pub const MAX_USERNAME_BYTES: usize = 30;

/// The name nobody may take: private messages to it are server commands.
pub const SERVER_NAME: &str = "server";

/// Why a username is refused, with the detail string of the `INVALIDUSERNAME`
/// rejection (the strings of soulfind and Nicotine+'s protocol notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernameProblem {
    Empty,
    TooLong,
    SurroundingSpaces,
    InvalidCharacters,
    /// `server`, which is refused with an empty detail string.
    Reserved,
}

impl UsernameProblem {
    /// The detail string sent after `INVALIDUSERNAME`.
    pub fn detail(self) -> &'static str {
        match self {
            Self::Empty => "Nick empty.",
            Self::TooLong => "Nick too long.",
            Self::SurroundingSpaces => "No leading and trailing spaces allowed in nick.",
            Self::InvalidCharacters => "Invalid characters in nick.",
            Self::Reserved => "",
        }
    }
}

/// Checks a username as soulfind does, in its order: not empty, at most 30
/// bytes, no leading or trailing whitespace, printable ASCII only, not
/// `server`.
///
/// ```
/// use slsk_server::state::{UsernameProblem, check_username};
///
/// assert_eq!(check_username("JohnGalt"), Ok(()));
/// assert_eq!(check_username(" x"), Err(UsernameProblem::SurroundingSpaces));
/// assert_eq!(check_username("Zoë"), Err(UsernameProblem::InvalidCharacters));
/// ```
pub fn check_username(name: &str) -> Result<(), UsernameProblem> {
    if name.is_empty() {
        Err(UsernameProblem::Empty)
    } else if name.len() > MAX_USERNAME_BYTES {
        Err(UsernameProblem::TooLong)
    } else if name.trim() != name {
        Err(UsernameProblem::SurroundingSpaces)
    } else if !name.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Err(UsernameProblem::InvalidCharacters)
    } else if name == SERVER_NAME {
        Err(UsernameProblem::Reserved)
    } else {
        Ok(())
    }
}

impl ServerState {
    /// A Login on an anonymous connection: the checks of soulfind, in its
    /// order, then a password job.
    ///
    /// Choices where the sources differ:
    /// - The version: a zero major version, or a minor version that is
    ///   present and zero, gets `INVALIDVERSION` (soulfind). A missing minor
    ///   version is accepted, since older clients omit it.
    /// - An empty password gets `EMPTYPASSWORD` (soulfind, Nicotine+'s
    ///   notes). The official server reportedly lets it through, but an
    ///   account with an empty password can be taken by anyone.
    /// - A banned user gets no reply at all; the login timeout closes the
    ///   connection (soulfind and the official server). An expired ban is
    ///   cleared.
    /// - A rejected connection stays open and may try again.
    pub(super) fn login(&mut self, conn: ConnId, login: LoginRequest, now: Now) {
        if login.version == 0 || login.minor_version == Some(0) {
            return self.reject(conn, LoginRejectionReason::InvalidVersion, None);
        }
        if let Err(problem) = check_username(&login.username) {
            let detail = Some(problem.detail().to_owned());
            return self.reject(conn, LoginRejectionReason::InvalidUsername, detail);
        }
        if login.password.is_empty() {
            return self.reject(conn, LoginRejectionReason::EmptyPassword, None);
        }
        let account = match self.store.account(&login.username) {
            Ok(account) => account,
            Err(e) => return self.store_failed("reading an account", &e),
        };
        if let Some(account) = &account {
            if account.is_banned(now.unix_i64()) {
                tracing::info!(conn, user = %login.username, "banned user: no reply");
                return;
            }
            if account.banned_until.is_some()
                && let Err(e) = self.store.set_banned_until(&account.username, None)
            {
                self.store_failed("clearing an expired ban", &e);
            }
        }
        if account.is_none() && !self.config.registration_open {
            return self.reject(conn, LoginRejectionReason::ServerPrivate, None);
        }
        if self.sessions.len() >= self.config.max_users
            && !self.sessions.contains_key(&login.username)
        {
            return self.reject(conn, LoginRejectionReason::ServerFull, None);
        }
        let purpose = match account {
            Some(account) => PasswordPurpose::Verify {
                stored_hash: account.password_hash,
            },
            None => PasswordPurpose::Register,
        };
        self.check_password(conn, login.username, login.password, purpose);
    }

    fn check_password(
        &mut self,
        conn: ConnId,
        username: String,
        password: String,
        purpose: PasswordPurpose,
    ) {
        let Some(connection) = self.connections.get_mut(&conn) else {
            return;
        };
        connection.phase = Phase::CheckingPassword(PendingLogin {
            username,
            password: password.clone(),
        });
        self.outputs.push_back(Output::Password(PasswordJob {
            conn,
            purpose,
            password,
            cost: self.config.password_cost,
        }));
    }

    fn reject(&mut self, conn: ConnId, reason: LoginRejectionReason, detail: Option<String>) {
        tracing::debug!(conn, ?reason, "login rejected");
        self.send(conn, LoginResponse::Failure { reason, detail });
    }

    /// A login's password job finished.
    pub(super) fn login_password_checked(
        &mut self,
        job: PasswordJob,
        outcome: PasswordOutcome,
        now: Now,
    ) {
        let conn = job.conn;
        let Some(connection) = self.connections.get_mut(&conn) else {
            return;
        };
        let Phase::CheckingPassword(pending) =
            std::mem::replace(&mut connection.phase, Phase::Anonymous)
        else {
            return;
        };
        match (job.purpose, outcome) {
            (PasswordPurpose::Register, PasswordOutcome::Hashed(hash)) => {
                match self.store.create_account(&pending.username, &hash) {
                    Ok(true) => {
                        tracing::info!(conn, user = %pending.username, "registered");
                        self.finish_login(conn, pending, now);
                    }
                    // Another connection registered the name meanwhile: this
                    // login must now match that account's password.
                    Ok(false) => match self.store.account(&pending.username) {
                        Ok(Some(account)) => {
                            let purpose = PasswordPurpose::Verify {
                                stored_hash: account.password_hash,
                            };
                            self.check_password(conn, pending.username, pending.password, purpose);
                        }
                        Ok(None) => tracing::error!(conn, "account vanished while registering"),
                        Err(e) => self.store_failed("reading an account", &e),
                    },
                    Err(e) => self.store_failed("registering", &e),
                }
            }
            (PasswordPurpose::Verify { .. }, PasswordOutcome::Verified(true)) => {
                self.finish_login(conn, pending, now)
            }
            (PasswordPurpose::Verify { .. }, PasswordOutcome::Verified(false)) => {
                self.reject(conn, LoginRejectionReason::InvalidPassword, None)
            }
            (PasswordPurpose::Verify { .. }, PasswordOutcome::Failed(e)) => {
                tracing::error!(conn, user = %pending.username, error = %e, "stored hash unusable");
                self.reject(conn, LoginRejectionReason::InvalidPassword, None)
            }
            (purpose, outcome) => {
                // Hashing itself failed (bad cost settings): nothing sensible
                // to tell the client; it may retry.
                tracing::error!(conn, ?purpose, ?outcome, "password job failed");
            }
        }
    }

    /// The password is right: replace any older session of the same user,
    /// then the post-login sequence in the official order (Login, queued
    /// PMs, RoomList with PrivateRoomMembers and PrivateRoomOperators,
    /// ParentMinSpeed, ParentSpeedRatio, WishlistInterval, PrivilegedUsers,
    /// ExcludedSearchPhrases). The RoomList lists public rooms with at least
    /// [`login_room_list_min_users`](crate::ServerConfig::login_room_list_min_users)
    /// users (official: 5). The user is online right
    /// away and watchers are told so (official; soulfind waits for the
    /// first idle moment).
    fn finish_login(&mut self, conn: ConnId, login: PendingLogin, now: Now) {
        let account = match self.store.account(&login.username) {
            Ok(Some(account)) => account,
            Ok(None) => return tracing::error!(conn, "account vanished at login"),
            Err(e) => return self.store_failed("reading an account", &e),
        };
        if account.is_banned(now.unix_i64()) {
            // Banned while its password was being checked: no reply, as for
            // any banned login.
            return tracing::info!(conn, user = %login.username, "banned user: no reply");
        }
        let username = login.username;
        if let Some(old) = self.conn_of(&username).filter(|&old| old != conn) {
            // Relogged: Kicked to the old session, its whole clean-up
            // (offline to watchers), then close it once flushed.
            tracing::info!(conn, old, user = %username, "relogged: kicking the older session");
            self.send(old, KickedResponse);
            self.connections.remove(&old);
            self.end_session(&username, now);
            self.close(old);
        }
        let interests = match self.store.interests(&username) {
            Ok((likes, hates)) => Interests::from_stored(likes, hates),
            Err(e) => {
                self.store_failed("reading interests", &e);
                Interests::default()
            }
        };
        let Some(connection) = self.connections.get_mut(&conn) else {
            return;
        };
        connection.phase = Phase::LoggedIn(username.clone());
        let ip = connection.ip;
        let mut session = Session {
            conn,
            ip,
            port: 0,
            obfuscation_type: ObfuscationType::None,
            obfuscated_port: 0,
            status: UserStatus::Online,
            stats: account.stats,
            privileges_until: account.privileges_until,
            privileged: false,
            watching: Default::default(),
            rooms: Default::default(),
            public_chat: false,
            invitations: false,
            interests,
            flood: FloodBuckets::new(&self.config.flood, now.instant),
            tree: Default::default(),
        };
        let privileged = session.is_privileged(now);
        session.privileged = privileged;
        self.sessions.insert(username.clone(), session);
        tracing::info!(conn, user = %username, "logged in");
        self.status_to_watchers(&username, UserStatus::Online, privileged);

        let greeting = self
            .config
            .motd
            .replace("%username%", &username)
            .replace("%users%", &self.sessions.len().to_string());
        self.send(
            conn,
            LoginResponse::Success {
                greeting,
                ip,
                md5_hash: slsk_proto::password_hash(&login.password),
                is_supporter: account.privileges_until.is_some(),
            },
        );
        self.replay_pending_messages(conn, &username);
        self.send_room_list(conn, &username, self.config.login_room_list_min_users);
        let parent_min_speed = self.config.parent_min_speed;
        let parent_speed_ratio = self.config.parent_speed_ratio;
        self.send(conn, ParentMinSpeedResponse { parent_min_speed });
        self.send(conn, ParentSpeedRatioResponse { parent_speed_ratio });
        let interval = if privileged {
            self.config.wishlist_interval_privileged
        } else {
            self.config.wishlist_interval
        };
        self.send(conn, WishlistIntervalResponse { interval });
        let users = match self.store.privileged_users(now.unix_i64()) {
            Ok(users) => users,
            Err(e) => {
                self.store_failed("listing privileged users", &e);
                Vec::new()
            }
        };
        self.send(conn, PrivilegedUsersResponse { users });
        let phrases = self.config.excluded_phrases.clone();
        self.send(conn, ExcludedSearchPhrasesResponse { phrases });
    }

    /// The user goes offline: it leaves every room (room-mates get
    /// UserLeftRoom), its session and watch list are dropped, its watchers
    /// are told. Its pending messages, stats and interests stay stored.
    pub(super) fn end_session(&mut self, username: &str, now: Now) {
        self.leave_all_rooms(username);
        let Some(session) = self.sessions.remove(username) else {
            return;
        };
        for target in &session.watching {
            if let Some(watchers) = self.watchers.get_mut(target) {
                watchers.remove(username);
                if watchers.is_empty() {
                    self.watchers.remove(target);
                }
            }
        }
        self.leave_tree(username, &session);
        tracing::info!(conn = session.conn, user = %username, "logged out");
        let privileged = session.is_privileged(now);
        self.status_to_watchers(username, UserStatus::Offline, privileged);
    }

    /// GetUserStatus(7) about `username` to every online user watching it
    /// or sharing a room with it, once each, itself excluded.
    pub(super) fn status_to_watchers(
        &mut self,
        username: &str,
        status: UserStatus,
        privileged: bool,
    ) {
        let mut audience = self.room_mates(username);
        audience.extend(self.watchers.get(username).into_iter().flatten().cloned());
        audience.remove(username);
        let conns: Vec<ConnId> = audience
            .iter()
            .filter_map(|user| self.conn_of(user))
            .collect();
        for conn in conns {
            self.send(
                conn,
                GetUserStatusResponse {
                    username: username.to_owned(),
                    status,
                    privileged,
                },
            );
        }
    }
}
