//! What the session knows about rooms, watched users, privileges and our
//! interests, kept up to date from the server's messages and readable at any
//! time without a round trip.
//!
//! The session task is the only writer; [`Client`](super::Client) handles
//! read copies through a shared lock that is never held across an `.await`
//! or for longer than one update. The update methods here are pure (no I/O,
//! no clock), so the session's unit tests exercise them directly.
//!
//! Everything a hostile server could grow one message at a time is capped
//! (see the `MAX_*` constants): past a cap the addition is ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use slsk_proto::server::{
    AddUserResponse, AddUserResponseUser, JoinRoomResponse, RoomListResponse,
};
use slsk_proto::structures::{RoomTicker, RoomUser, UserStats};
use slsk_proto::tables::UserStatus;

/// Most rooms kept as joined at once (ours are a few; only a hostile server
/// would push more).
pub const MAX_JOINED_ROOMS: usize = 1024;
/// Most users kept per room, and most members or operators per private room.
pub const MAX_ROOM_USERS: usize = 100_000;
/// Most tickers kept per room (the server keeps its 200 newest).
pub const MAX_ROOM_TICKERS: usize = 1024;
/// Most private rooms whose member lists are kept.
pub const MAX_PRIVATE_ROOMS: usize = 4096;
/// Most privileged users kept.
pub const MAX_PRIVILEGED_USERS: usize = 1_000_000;

/// A room we have joined, as the server described it and as it has changed
/// since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    /// The room's name.
    pub name: String,
    /// Whether the room is private (its JoinRoom reply named an owner).
    pub is_private: bool,
    /// The owner of a private room; `None` for a public room (or a private
    /// room whose owner gave it up).
    pub owner: Option<String>,
    /// The operators of a private room.
    pub operators: BTreeSet<String>,
    /// The users in the room (ourselves included), by name, with their
    /// status, statistics, free slots and country as last reported.
    pub users: BTreeMap<String, RoomUser>,
    /// The room wall: at most one ticker per user, oldest first.
    pub tickers: Vec<RoomTicker>,
}

impl RoomState {
    fn from_join(reply: JoinRoomResponse) -> Self {
        let mut users = BTreeMap::new();
        for user in reply.users.into_iter().take(MAX_ROOM_USERS) {
            users.insert(user.username.clone(), user);
        }
        Self {
            name: reply.room_name,
            is_private: reply.owner.is_some(),
            owner: reply.owner.filter(|o| !o.is_empty()),
            operators: reply
                .operators
                .unwrap_or_default()
                .into_iter()
                .take(MAX_ROOM_USERS)
                .collect(),
            users,
            tickers: Vec::new(),
        }
    }

    fn set_ticker(&mut self, username: String, ticker: String) {
        self.tickers.retain(|t| t.username != username);
        if self.tickers.len() < MAX_ROOM_TICKERS {
            self.tickers.push(RoomTicker { username, ticker });
        }
    }
}

/// A private room we own or are a member of, from the room lists the server
/// sends (PrivateRoomMembers and PrivateRoomOperators after each RoomList)
/// and the membership changes it pushes. We need not have joined it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivateRoom {
    /// The room's name.
    pub name: String,
    /// The members, the owner excluded (operators are members too).
    pub members: BTreeSet<String>,
    /// The operators.
    pub operators: BTreeSet<String>,
}

/// A user watched with [`Client::watch`](super::Client::watch), as last
/// reported by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedUser {
    /// The user.
    pub username: String,
    /// Whether the server knows the user; `None` until the watch is
    /// answered.
    pub exists: Option<bool>,
    /// Offline, away or online; `None` until reported.
    pub status: Option<UserStatus>,
    /// Whether the user has privileges; `None` until a status update says.
    pub privileged: Option<bool>,
    /// Speed, uploads, shared files and folders; `None` until reported.
    /// The server sends them with the watch reply and on request, not on
    /// every change.
    pub stats: Option<UserStats>,
    /// The country code the watch reply may carry.
    pub country_code: Option<String>,
}

impl WatchedUser {
    fn new(username: String) -> Self {
        Self {
            username,
            exists: None,
            status: None,
            privileged: None,
            stats: None,
            country_code: None,
        }
    }
}

/// Our interests: the items we like and hate, sent to the server after each
/// login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interests {
    /// Things we like.
    pub liked: BTreeSet<String>,
    /// Things we hate.
    pub hated: BTreeSet<String>,
}

/// Everything the session keeps; see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct StateData {
    pub(crate) rooms: BTreeMap<String, RoomState>,
    pub(crate) room_list: Option<RoomListResponse>,
    pub(crate) private_rooms: BTreeMap<String, PrivateRoom>,
    pub(crate) watched: BTreeMap<String, WatchedUser>,
    pub(crate) privileged: BTreeSet<String>,
    /// Our privileges: the time left and when the server said so.
    pub(crate) privileges: Option<(Duration, Instant)>,
    pub(crate) interests: Interests,
    pub(crate) room_invitations: bool,
    pub(crate) public_chat: bool,
}

impl StateData {
    /// A JoinRoom reply: the room starts over from it (a rejoin replaces the
    /// stale copy). Returns the new state and whether it is kept (not past
    /// [`MAX_JOINED_ROOMS`]).
    pub(crate) fn joined(&mut self, reply: JoinRoomResponse) -> (RoomState, bool) {
        let room = RoomState::from_join(reply);
        if !self.rooms.contains_key(&room.name) && self.rooms.len() >= MAX_JOINED_ROOMS {
            return (room, false);
        }
        self.rooms.insert(room.name.clone(), room.clone());
        (room, true)
    }

    pub(crate) fn left(&mut self, room: &str) {
        self.rooms.remove(room);
    }

    pub(crate) fn user_joined(&mut self, room: &str, user: RoomUser) {
        if let Some(state) = self.rooms.get_mut(room)
            && (state.users.contains_key(&user.username) || state.users.len() < MAX_ROOM_USERS)
        {
            state.users.insert(user.username.clone(), user);
        }
    }

    pub(crate) fn user_left(&mut self, room: &str, username: &str) {
        if let Some(state) = self.rooms.get_mut(room) {
            state.users.remove(username);
        }
    }

    pub(crate) fn tickers(&mut self, room: &str, tickers: Vec<RoomTicker>) {
        if let Some(state) = self.rooms.get_mut(room) {
            state.tickers.clear();
            for ticker in tickers {
                state.set_ticker(ticker.username, ticker.ticker);
            }
        }
    }

    pub(crate) fn ticker_added(&mut self, room: &str, username: String, ticker: String) {
        if let Some(state) = self.rooms.get_mut(room) {
            state.set_ticker(username, ticker);
        }
    }

    pub(crate) fn ticker_removed(&mut self, room: &str, username: &str) {
        if let Some(state) = self.rooms.get_mut(room) {
            state.tickers.retain(|t| t.username != username);
        }
    }

    /// A user's status: room-mates, watched users and the privileged list
    /// all follow it.
    pub(crate) fn user_status(&mut self, username: &str, status: UserStatus, privileged: bool) {
        for room in self.rooms.values_mut() {
            if let Some(user) = room.users.get_mut(username) {
                user.status = status;
            }
        }
        if let Some(watched) = self.watched.get_mut(username) {
            watched.status = Some(status);
            watched.privileged = Some(privileged);
        }
        self.set_privileged(username, privileged);
    }

    pub(crate) fn user_stats(&mut self, username: &str, stats: UserStats) {
        for room in self.rooms.values_mut() {
            if let Some(user) = room.users.get_mut(username) {
                user.stats = stats;
            }
        }
        if let Some(watched) = self.watched.get_mut(username) {
            watched.stats = Some(stats);
        }
    }

    pub(crate) fn set_privileged(&mut self, username: &str, privileged: bool) {
        if !privileged {
            self.privileged.remove(username);
        } else if self.privileged.len() < MAX_PRIVILEGED_USERS {
            self.privileged.insert(username.to_owned());
        }
    }

    pub(crate) fn privileged_users(&mut self, users: Vec<String>) {
        self.privileged = users.into_iter().take(MAX_PRIVILEGED_USERS).collect();
    }

    pub(crate) fn watch(&mut self, username: &str) {
        self.watched
            .entry(username.to_owned())
            .or_insert_with(|| WatchedUser::new(username.to_owned()));
    }

    pub(crate) fn unwatch(&mut self, username: &str) {
        self.watched.remove(username);
    }

    /// A watch reply; only users we watch are kept (the server also answers
    /// the watch of ourselves the session sends).
    pub(crate) fn watch_reply(&mut self, reply: &AddUserResponse) {
        let Some(watched) = self.watched.get_mut(&reply.username) else {
            return;
        };
        match &reply.user {
            AddUserResponseUser::Exists {
                status,
                stats,
                country_code,
            } => {
                watched.exists = Some(true);
                watched.status = Some(*status);
                watched.stats = Some(*stats);
                watched.country_code = country_code.clone();
            }
            AddUserResponseUser::Missing => {
                // The server does not track users that do not exist.
                self.watched.remove(&reply.username);
            }
        }
    }

    /// A RoomList: kept, and private rooms no longer listed as owned or
    /// member rooms are forgotten (the lists that follow it refill the rest).
    ///
    /// A joined private room the list no longer names has turned public:
    /// a member who loses its membership is put out of the room first
    /// (PrivateRoomMembershipRevoked), so only an owner who gave the room up
    /// is still in it, and the official server keeps that owner in a room
    /// that is public from then on. Such rooms lose their owner and
    /// operators; their names are returned (to be rejoined as public).
    pub(crate) fn room_list(&mut self, list: RoomListResponse) -> Vec<String> {
        let listed: BTreeSet<&str> = list
            .rooms_private_owned
            .iter()
            .chain(&list.rooms_private)
            .map(|r| r.name.as_str())
            .chain(list.rooms_private_operated.iter().map(String::as_str))
            .collect();
        self.private_rooms
            .retain(|name, _| listed.contains(name.as_str()));
        let mut now_public = Vec::new();
        for room in self.rooms.values_mut() {
            if room.is_private && !listed.contains(room.name.as_str()) {
                room.is_private = false;
                room.owner = None;
                room.operators.clear();
                now_public.push(room.name.clone());
            }
        }
        self.room_list = Some(list);
        now_public
    }

    fn private_room(&mut self, room: &str) -> Option<&mut PrivateRoom> {
        if !self.private_rooms.contains_key(room) && self.private_rooms.len() >= MAX_PRIVATE_ROOMS {
            return None;
        }
        Some(
            self.private_rooms
                .entry(room.to_owned())
                .or_insert_with(|| PrivateRoom {
                    name: room.to_owned(),
                    ..PrivateRoom::default()
                }),
        )
    }

    pub(crate) fn private_members(&mut self, room: &str, members: Vec<String>) {
        if let Some(private) = self.private_room(room) {
            private.members = members.into_iter().take(MAX_ROOM_USERS).collect();
        }
    }

    pub(crate) fn private_operators(&mut self, room: &str, operators: Vec<String>) {
        let operators: BTreeSet<String> = operators.into_iter().take(MAX_ROOM_USERS).collect();
        if let Some(joined) = self.rooms.get_mut(room) {
            joined.operators = operators.clone();
        }
        if let Some(private) = self.private_room(room) {
            private.operators = operators;
        }
    }

    pub(crate) fn member_added(&mut self, room: &str, username: &str) {
        if let Some(private) = self.private_room(room)
            && private.members.len() < MAX_ROOM_USERS
        {
            private.members.insert(username.to_owned());
        }
    }

    /// A member removed loses operator rights too (the server revokes them
    /// first).
    pub(crate) fn member_removed(&mut self, room: &str, username: &str) {
        if let Some(private) = self.private_rooms.get_mut(room) {
            private.members.remove(username);
            private.operators.remove(username);
        }
        if let Some(joined) = self.rooms.get_mut(room) {
            joined.operators.remove(username);
        }
    }

    pub(crate) fn operator_added(&mut self, room: &str, username: &str) {
        if let Some(joined) = self.rooms.get_mut(room)
            && joined.operators.len() < MAX_ROOM_USERS
        {
            joined.operators.insert(username.to_owned());
        }
        if let Some(private) = self.private_room(room)
            && private.operators.len() < MAX_ROOM_USERS
        {
            private.operators.insert(username.to_owned());
        }
    }

    pub(crate) fn operator_removed(&mut self, room: &str, username: &str) {
        if let Some(joined) = self.rooms.get_mut(room) {
            joined.operators.remove(username);
        }
        if let Some(private) = self.private_rooms.get_mut(room) {
            private.operators.remove(username);
        }
    }

    /// Our membership of a private room ended: the room and its lists are
    /// gone for us (the server also takes us out of the room).
    pub(crate) fn membership_revoked(&mut self, room: &str) {
        self.private_rooms.remove(room);
        if self.rooms.get(room).is_some_and(|r| r.is_private) {
            self.rooms.remove(room);
        }
    }

    /// The connection is gone: what the server pushes per connection is
    /// stale. The room list and private-room lists are kept until the next
    /// login replaces them; our own settings stay.
    pub(crate) fn disconnected(&mut self) {
        self.rooms.clear();
    }
}

/// The state shared between the session task (the writer) and the
/// [`Client`](super::Client) handles (readers).
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedState(Arc<RwLock<StateData>>);

impl SharedState {
    /// Read access. A panic while writing cannot leave the data half-made in
    /// a way that matters to readers, so a poisoned lock is still read.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, StateData> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, StateData> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::structures::RoomInfo;

    fn user(name: &str, status: UserStatus) -> RoomUser {
        RoomUser {
            username: name.into(),
            status,
            stats: UserStats {
                avg_speed: 1,
                uploads: 2,
                shared_file_count: 3,
                shared_folder_count: 4,
            },
            slots_free: 1,
            country_code: String::new(),
        }
    }

    fn join(room: &str, users: &[&str], owner: Option<&str>) -> JoinRoomResponse {
        JoinRoomResponse {
            room_name: room.into(),
            users: users.iter().map(|u| user(u, UserStatus::Online)).collect(),
            owner: owner.map(Into::into),
            operators: owner.map(|_| vec!["op".to_string()]),
        }
    }

    #[test]
    fn members_follow_joins_leaves_status_and_stats() {
        let mut state = StateData::default();
        let (room, _) = state.joined(join("r", &["me", "bob"], None));
        assert!(!room.is_private);
        assert_eq!(room.users.keys().collect::<Vec<_>>(), ["bob", "me"]);

        state.user_joined("r", user("carol", UserStatus::Away));
        state.user_joined("elsewhere", user("dave", UserStatus::Away));
        state.user_left("r", "bob");
        state.user_status("carol", UserStatus::Online, true);
        let stats = UserStats {
            avg_speed: 9,
            uploads: 9,
            shared_file_count: 9,
            shared_folder_count: 9,
        };
        state.user_stats("carol", stats);
        let room = &state.rooms["r"];
        assert_eq!(room.users.keys().collect::<Vec<_>>(), ["carol", "me"]);
        assert_eq!(room.users["carol"].status, UserStatus::Online);
        assert_eq!(room.users["carol"].stats, stats);
        assert!(state.privileged.contains("carol"));
        state.user_status("carol", UserStatus::Online, false);
        assert!(!state.privileged.contains("carol"));
        assert_eq!(state.rooms.len(), 1, "no state for rooms we are not in");

        state.disconnected();
        assert!(state.rooms.is_empty());
    }

    #[test]
    fn private_room_owner_operators_and_lists() {
        let mut state = StateData::default();
        let (room, _) = state.joined(join("p", &["me"], Some("owner")));
        assert!(room.is_private);
        assert_eq!(room.owner.as_deref(), Some("owner"));
        assert!(room.operators.contains("op"));

        state.private_members("p", vec!["me".into(), "op".into()]);
        state.private_operators("p", vec!["op".into()]);
        state.member_added("p", "new");
        state.operator_added("p", "new");
        assert!(state.rooms["p"].operators.contains("new"));
        state.member_removed("p", "new");
        assert!(!state.rooms["p"].operators.contains("new"));
        assert_eq!(
            state.private_rooms["p"].members,
            ["me", "op"].map(String::from).into()
        );
        state.operator_removed("p", "op");
        assert!(state.private_rooms["p"].operators.is_empty());

        // A room list that no longer names the room drops its lists.
        state.room_list(RoomListResponse {
            rooms: vec![RoomInfo {
                name: "pub".into(),
                user_count: 7,
            }],
            rooms_private_owned: vec![],
            rooms_private: vec![],
            rooms_private_operated: vec![],
        });
        assert!(state.private_rooms.is_empty());
        assert_eq!(state.room_list.as_ref().unwrap().rooms[0].user_count, 7);
        // ...and the joined private room it no longer names is public now
        // (its owner gave it up and stays in it).
        let p = &state.rooms["p"];
        assert!(!p.is_private);
        assert_eq!(p.owner, None);
        assert!(p.operators.is_empty());

        // A revoked membership leaves the private room, not a public one.
        state.membership_revoked("p");
        assert!(state.rooms.contains_key("p"));
        state.joined(join("q", &["me"], Some("owner")));
        state.private_members("q", vec![]);
        state.membership_revoked("q");
        assert!(state.private_rooms.is_empty());
        assert!(!state.rooms.contains_key("q"), "the private room is left");
    }

    #[test]
    fn tickers_one_per_user_in_order() {
        let mut state = StateData::default();
        state.joined(join("r", &["me"], None));
        state.tickers(
            "r",
            vec![
                RoomTicker {
                    username: "a".into(),
                    ticker: "1".into(),
                },
                RoomTicker {
                    username: "b".into(),
                    ticker: "2".into(),
                },
            ],
        );
        state.ticker_added("r", "a".into(), "3".into());
        state.ticker_removed("r", "b");
        assert_eq!(
            state.rooms["r"].tickers,
            vec![RoomTicker {
                username: "a".into(),
                ticker: "3".into()
            }]
        );
    }

    #[test]
    fn hostile_growth_is_capped() {
        let mut state = StateData::default();
        for i in 0..MAX_JOINED_ROOMS + 10 {
            state.joined(join(&format!("r{i}"), &[], None));
        }
        assert_eq!(state.rooms.len(), MAX_JOINED_ROOMS);
        for i in 0..MAX_ROOM_TICKERS + 10 {
            state.ticker_added("r0", format!("u{i}"), "t".into());
        }
        assert_eq!(state.rooms["r0"].tickers.len(), MAX_ROOM_TICKERS);
        for i in 0..MAX_PRIVATE_ROOMS + 10 {
            state.member_added(&format!("p{i}"), "x");
        }
        assert_eq!(state.private_rooms.len(), MAX_PRIVATE_ROOMS);
    }

    #[test]
    fn watched_users_follow_replies_and_updates() {
        let mut state = StateData::default();
        state.watch("bob");
        state.watch_reply(&AddUserResponse {
            username: "me".into(),
            user: AddUserResponseUser::Missing,
        });
        assert_eq!(state.watched.len(), 1, "ourselves are not listed");
        let stats = UserStats {
            avg_speed: 5,
            uploads: 0,
            shared_file_count: 1,
            shared_folder_count: 1,
        };
        state.watch_reply(&AddUserResponse {
            username: "bob".into(),
            user: AddUserResponseUser::Exists {
                status: UserStatus::Away,
                stats,
                country_code: Some("NL".into()),
            },
        });
        state.user_status("bob", UserStatus::Online, true);
        let bob = &state.watched["bob"];
        assert_eq!(bob.exists, Some(true));
        assert_eq!(bob.status, Some(UserStatus::Online));
        assert_eq!(bob.privileged, Some(true));
        assert_eq!(bob.stats, Some(stats));
        assert_eq!(bob.country_code.as_deref(), Some("NL"));
        state.watch_reply(&AddUserResponse {
            username: "bob".into(),
            user: AddUserResponseUser::Missing,
        });
        assert!(state.watched.is_empty());
    }
}
