//! Rooms: names, joining, leaving, chat, the room list, and the public chat
//! feed. Private-room membership is in `private_rooms`, tickers in
//! `tickers`.

use std::collections::BTreeSet;

use slsk_proto::server::{
    CannotCreateRoomResponse, GetUserStatsResponse, JoinRoomResponse, LeaveRoomResponse,
    PrivateRoomMembersResponse, PrivateRoomOperatorsResponse, PublicChatMessageResponse,
    RoomChatMessageResponse, RoomListResponse, RoomTickersResponse, ServerResponse,
    UserJoinedRoomResponse, UserLeftRoomResponse,
};
use slsk_proto::structures::{RoomInfo, RoomTicker, RoomUser};

use super::flood::FloodKind;
use super::presence::wire_stats;
use super::{ConnId, Now, ServerState};

/// The longest room name, in bytes.
pub const MAX_ROOM_NAME_BYTES: usize = 24;

/// Checks a room name as soulfind does, in its order, and gives the exact
/// private message `server` sends when it is refused (the same texts as
/// aioslsk's reconstruction of the official server).
///
/// ```
/// use slsk_server::state::check_room_name;
///
/// assert_eq!(check_room_name("Jazz Lounge"), Ok(()));
/// assert_eq!(
///     check_room_name("a  b").unwrap_err(),
///     "Could not create room. Reason: Room name a  b contains multiple following spaces."
/// );
/// ```
pub fn check_room_name(name: &str) -> Result<(), String> {
    let reason = if name.is_empty() {
        "Room name empty.".to_owned()
    } else if name.len() > MAX_ROOM_NAME_BYTES {
        format!("Room name {name} longer than {MAX_ROOM_NAME_BYTES} characters.")
    } else if name.trim() != name {
        format!("Room name {name} contains leading or trailing spaces.")
    } else if !name.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        format!("Room name {name} contains invalid characters.")
    } else if name.contains("  ") {
        format!("Room name {name} contains multiple following spaces.")
    } else {
        return Ok(());
    };
    Err(format!("Could not create room. Reason: {reason}"))
}

/// A room in memory.
#[derive(Debug, Default)]
pub(super) struct Room {
    /// The owner of a private room; `None` for a public room.
    pub(super) owner: Option<String>,
    /// Members of a private room, operators included, the owner excluded.
    pub(super) members: BTreeSet<String>,
    /// Operators of a private room (each is also a member).
    pub(super) operators: BTreeSet<String>,
    /// Joined users, in the order they joined.
    pub(super) joined: Vec<String>,
    /// (user, text), oldest first; one per user.
    pub(super) tickers: Vec<(String, String)>,
}

impl Room {
    pub(super) fn is_private(&self) -> bool {
        self.owner.is_some()
    }

    pub(super) fn has_joined(&self, username: &str) -> bool {
        self.joined.iter().any(|u| u == username)
    }

    /// Whether `username` may enter this private room: its owner or a
    /// member (operators are members).
    pub(super) fn may_enter(&self, username: &str) -> bool {
        self.owner.as_deref() == Some(username) || self.members.contains(username)
    }

    /// The owner and the members.
    pub(super) fn owner_and_members(&self) -> BTreeSet<String> {
        self.members.iter().chain(&self.owner).cloned().collect()
    }

    fn user_count(&self) -> u32 {
        u32::try_from(self.joined.len()).unwrap_or(u32::MAX)
    }
}

impl ServerState {
    /// Loads the private rooms and the tickers from the store. A public room
    /// with tickers is kept in memory, empty, so that its tickers show when
    /// someone joins it again.
    pub(super) fn load_rooms(&mut self) {
        match self.store.private_rooms() {
            Ok(stored) => {
                for stored in stored {
                    let mut room = Room {
                        owner: Some(stored.owner),
                        ..Room::default()
                    };
                    for (member, operator) in stored.members {
                        if operator {
                            room.operators.insert(member.clone());
                        }
                        room.members.insert(member);
                    }
                    self.rooms.insert(stored.name, room);
                }
            }
            Err(e) => self.store_failed("loading private rooms", &e),
        }
        match self.store.tickers() {
            Ok(tickers) => {
                for ticker in tickers {
                    let room = self.rooms.entry(ticker.room).or_default();
                    room.tickers.push((ticker.username, ticker.content));
                }
            }
            Err(e) => self.store_failed("loading tickers", &e),
        }
    }

    /// Sends `message` to each named user who is online.
    pub(super) fn send_to_users<'a>(
        &mut self,
        users: impl IntoIterator<Item = &'a String>,
        message: impl Into<ServerResponse>,
    ) {
        let message = message.into();
        let conns: Vec<ConnId> = users
            .into_iter()
            .filter_map(|user| self.conn_of(user))
            .collect();
        for conn in conns {
            self.send(conn, message.clone());
        }
    }

    /// Every user sharing a room with `username`, itself excluded.
    pub(super) fn room_mates(&self, username: &str) -> BTreeSet<String> {
        let Some(session) = self.sessions.get(username) else {
            return BTreeSet::new();
        };
        session
            .rooms
            .iter()
            .filter_map(|name| self.rooms.get(name))
            .flat_map(|room| room.joined.iter())
            .filter(|user| user.as_str() != username)
            .cloned()
            .collect()
    }

    /// RoomList(64) then, for each private room `me` owns or is a member
    /// of, PrivateRoomMembers(133), then PrivateRoomOperators(148) for the
    /// same rooms: the "room list update" of the official server. Public
    /// rooms are listed when they have at least `min_users` users (and at
    /// least one).
    pub(super) fn send_room_list(&mut self, conn: ConnId, me: &str, min_users: u32) {
        let min_users = min_users.max(1);
        let info = |name: &String, room: &Room| RoomInfo {
            name: name.clone(),
            user_count: room.user_count(),
        };
        let mut list = RoomListResponse {
            rooms: Vec::new(),
            rooms_private_owned: Vec::new(),
            rooms_private: Vec::new(),
            rooms_private_operated: Vec::new(),
        };
        let mut mine = Vec::new();
        for (name, room) in &self.rooms {
            if !room.is_private() {
                if room.user_count() >= min_users {
                    list.rooms.push(info(name, room));
                }
                continue;
            }
            if room.owner.as_deref() == Some(me) {
                list.rooms_private_owned.push(info(name, room));
            } else if room.members.contains(me) {
                list.rooms_private.push(info(name, room));
            } else {
                continue;
            }
            if room.operators.contains(me) {
                list.rooms_private_operated.push(name.clone());
            }
            mine.push((
                name.clone(),
                room.members.iter().cloned().collect::<Vec<_>>(),
                room.operators.iter().cloned().collect::<Vec<_>>(),
            ));
        }
        self.send(conn, list);
        for (room, members, _) in &mine {
            let (room, members) = (room.clone(), members.clone());
            self.send(conn, PrivateRoomMembersResponse { room, members });
        }
        for (room, _, operators) in mine {
            self.send(conn, PrivateRoomOperatorsResponse { room, operators });
        }
    }

    /// The room list update for `username`, if online.
    pub(super) fn room_list_update(&mut self, username: &str) {
        if let Some(conn) = self.conn_of(username) {
            self.send_room_list(conn, username, 1);
        }
    }

    /// JoinRoom(14), soulfind's and the official sequence:
    /// 1. A bad name: a private message from `server` with the reason.
    /// 2. A new name creates the room: private, owned by `me`, if asked
    ///    (the owner first gets the room list update), otherwise public.
    /// 3. A private room `me` may not enter: CannotCreateRoom(1003) and a
    ///    private message. A public room asked for as private: a private
    ///    message, then the join goes on.
    /// 4. Already joined: nothing. Full ([`max_room_users`]), or `me` in
    ///    [`max_joined_rooms`] rooms already (checked first): a private
    ///    message (our texts; no source has these limits).
    /// 5. UserJoinedRoom(16) to every joined user, **`me` included** (both
    ///    soulfind and aioslsk's reconstruction of the official server send
    ///    it to the whole room after adding the joiner; clients ignore the
    ///    copy about themselves), then JoinRoom(14) to `me` with every
    ///    joined user's status, stats, free slots (always 0: the server is
    ///    not told) and country (always empty), plus the owner and operators
    ///    of a private room, then RoomTickers(113).
    ///
    /// [`max_room_users`]: crate::ServerConfig::max_room_users
    /// [`max_joined_rooms`]: crate::ServerConfig::max_joined_rooms
    pub(super) fn join_room(
        &mut self,
        conn: ConnId,
        me: &str,
        name: &str,
        private: bool,
        now: Now,
    ) {
        if let Err(reason) = check_room_name(name) {
            return self.server_message(me, &reason, now);
        }
        let joined_rooms = self.sessions.get(me).map_or(0, |s| s.rooms.len());
        if joined_rooms >= self.config.max_joined_rooms
            && !self.rooms.get(name).is_some_and(|r| r.has_joined(me))
        {
            let text = format!("Could not join room {name}: you are in too many rooms already.");
            return self.server_message(me, &text, now);
        }
        match self.rooms.get(name) {
            None if private => {
                match self.store.create_private_room(name, me) {
                    Ok(true) => {}
                    Ok(false) => return tracing::error!(room = name, "private room only in store"),
                    Err(e) => return self.store_failed("creating a private room", &e),
                }
                tracing::info!(user = %me, room = name, "private room created");
                let room = Room {
                    owner: Some(me.to_owned()),
                    ..Room::default()
                };
                self.rooms.insert(name.to_owned(), room);
                self.send_room_list(conn, me, 1);
            }
            None => {
                self.rooms.insert(name.to_owned(), Room::default());
            }
            Some(room) if room.has_joined(me) => return,
            Some(room) if room.is_private() && !room.may_enter(me) => {
                self.send(
                    conn,
                    CannotCreateRoomResponse {
                        room_name: name.to_owned(),
                    },
                );
                let text =
                    format!("The room you are trying to enter ({name}) is registered as private.");
                return self.server_message(me, &text, now);
            }
            Some(room) if !room.is_private() && private => {
                let text = format!("Room ({name}) is registered as public.");
                self.server_message(me, &text, now);
            }
            Some(_) => {}
        }
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        if room.joined.len() >= self.config.max_room_users {
            self.forget_if_unused(name);
            let text = format!("The room you are trying to enter ({name}) is full.");
            return self.server_message(me, &text, now);
        }
        room.joined.push(me.to_owned());
        let Some(session) = self.sessions.get_mut(me) else {
            return;
        };
        session.rooms.insert(name.to_owned());
        let joined = UserJoinedRoomResponse {
            room_name: name.to_owned(),
            username: me.to_owned(),
            status: session.status,
            stats: wire_stats(session.stats),
            slots_free: 0,
            country_code: String::new(),
        };
        let Some(room) = self.rooms.get(name) else {
            return;
        };
        let users: Vec<RoomUser> = room
            .joined
            .iter()
            .filter_map(|user| {
                let session = self.sessions.get(user)?;
                Some(RoomUser {
                    username: user.clone(),
                    status: session.status,
                    stats: wire_stats(session.stats),
                    slots_free: 0,
                    country_code: String::new(),
                })
            })
            .collect();
        let reply = JoinRoomResponse {
            room_name: name.to_owned(),
            users,
            owner: room.owner.clone(),
            operators: room
                .is_private()
                .then(|| room.operators.iter().cloned().collect()),
        };
        let tickers = RoomTickersResponse {
            room: name.to_owned(),
            tickers: room
                .tickers
                .iter()
                .map(|(username, ticker)| RoomTicker {
                    username: username.clone(),
                    ticker: ticker.clone(),
                })
                .collect(),
        };
        let everyone = room.joined.clone();
        self.send_to_users(&everyone, joined);
        self.send(conn, reply);
        self.send(conn, tickers);
    }

    /// LeaveRoom(15), or a removal by the server: UserLeftRoom(17) to the
    /// users still joined, then, with `echo`, LeaveRoom(15) to the leaver
    /// (soulfind's order; a leaver who is gone gets no echo). Ignored if
    /// `me` has not joined.
    pub(super) fn leave_room(&mut self, me: &str, name: &str, echo: bool) {
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        let Some(index) = room.joined.iter().position(|u| u == me) else {
            return;
        };
        room.joined.remove(index);
        let remaining = room.joined.clone();
        if let Some(session) = self.sessions.get_mut(me) {
            session.rooms.remove(name);
        }
        let left = UserLeftRoomResponse {
            room_name: name.to_owned(),
            username: me.to_owned(),
        };
        self.send_to_users(&remaining, left);
        if echo && let Some(conn) = self.conn_of(me) {
            let room_name = name.to_owned();
            self.send(conn, LeaveRoomResponse { room_name });
        }
        self.forget_if_unused(name);
    }

    /// Every room `me` has joined, without echoes (the session is ending).
    pub(super) fn leave_all_rooms(&mut self, me: &str) {
        let rooms = self
            .sessions
            .get(me)
            .map(|s| s.rooms.clone())
            .unwrap_or_default();
        for room in rooms {
            self.leave_room(me, &room, false);
        }
    }

    /// An empty public room without tickers is forgotten, as soulfind does:
    /// nothing would remain of it, and keeping every name ever joined would
    /// let anyone grow the server's memory without bound. (The official
    /// server is said to keep rooms a while; nothing a client sees depends
    /// on it, since empty public rooms are not listed.) Private rooms stay
    /// until their owner drops them; a public room with tickers stays so its
    /// tickers show at the next join.
    pub(super) fn forget_if_unused(&mut self, name: &str) {
        if self
            .rooms
            .get(name)
            .is_some_and(|r| !r.is_private() && r.joined.is_empty() && r.tickers.is_empty())
        {
            self.rooms.remove(name);
        }
    }

    /// RoomChatMessage(13): dropped unless `me` has joined the room and the
    /// text passes the private message rules (length, no CR or LF; empty is
    /// allowed), and within `me`'s room message rate. Goes to every joined
    /// user, `me` included, then, for a **public** room only,
    /// PublicChatMessage(152) to the feed's subscribers (official; soulfind
    /// also leaks private rooms' lines to the feed).
    pub(super) fn say(&mut self, me: &str, name: &str, text: &str, now: Now) {
        let Some(room) = self.rooms.get(name) else {
            return;
        };
        if !room.has_joined(me) || !self.message_text_ok(text) {
            return tracing::debug!(user = %me, room = name, "room message dropped");
        }
        let (joined, public) = (room.joined.clone(), !room.is_private());
        if !self.allow(me, FloodKind::RoomMessage, now) {
            return;
        }
        let line = RoomChatMessageResponse {
            room_name: name.to_owned(),
            username: me.to_owned(),
            message: text.to_owned(),
        };
        self.send_to_users(&joined, line);
        if public {
            let subscribers: Vec<String> = self
                .sessions
                .iter()
                .filter(|(_, s)| s.public_chat)
                .map(|(name, _)| name.clone())
                .collect();
            let feed = PublicChatMessageResponse {
                room: name.to_owned(),
                username: me.to_owned(),
                message: text.to_owned(),
            };
            self.send_to_users(&subscribers, feed);
        }
    }

    /// EnablePublicChat(150) / DisablePublicChat(151). No reply.
    pub(super) fn set_public_chat(&mut self, me: &str, enabled: bool) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.public_chat = enabled;
        }
    }

    /// GetUserStats(36) about `me` to its room-mates (official: a change of
    /// shared counts goes to room-mates only).
    pub(super) fn stats_to_room_mates(&mut self, me: &str) {
        let Some(stats) = self.sessions.get(me).map(|s| s.stats) else {
            return;
        };
        let mates = self.room_mates(me);
        let message = GetUserStatsResponse {
            username: me.to_owned(),
            stats: wire_stats(stats),
        };
        self.send_to_users(&mates, message);
    }
}
