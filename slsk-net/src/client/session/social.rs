//! The session's part in rooms, private rooms, tickers, the public feed,
//! privileges and interests: commands, server messages, and what is sent
//! again after each login. Same rules as the rest of the session: no I/O,
//! inputs in, actions out.
//!
//! Decisions:
//! - A JoinRoom the server sends without our asking (a late reply to a join
//!   that timed out, a join sent with [`Command::Send`], a server that puts
//!   us in a room) is kept: the room is tracked, reported as
//!   [`RoomEvent::Joined`] and rejoined after a reconnect like any other.
//!   Nicotine+ answers such a JoinRoom with LeaveRoom instead; a library
//!   should not second-guess the server or its application, which can call
//!   [`Client::leave_room`](crate::client::Client::leave_room).
//! - Replies that callers wait for complete them and are also reported as
//!   events when they are state (rooms, privileges); replies nobody waits
//!   for that are not state (recommendations and the like) come out as
//!   [`Event::ServerMessage`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use slsk_proto::server::{
    AddHatedInterestRequest, AddInterestRequest, CancelRoomOperatorshipRequest,
    CheckPrivilegesRequest, DisablePublicChatRequest, EnablePublicChatRequest,
    GetGlobalRecommendationsRequest, GetGlobalRecommendationsResponse,
    GetItemRecommendationsRequest, GetItemRecommendationsResponse, GetItemSimilarUsersRequest,
    GetItemSimilarUsersResponse, GetRecommendationsRequest, GetRecommendationsResponse,
    GetSimilarUsersRequest, GetSimilarUsersResponse, GetUserInterestsRequest,
    GetUserInterestsResponse, GetUserPrivilegesRequest, GiveUserPrivilegesRequest, JoinRoomRequest,
    JoinRoomResponse, LeaveRoomRequest, PrivateRoomDropMembershipRequest,
    PrivateRoomDropOwnershipRequest, PrivateRoomGrantMembershipRequest,
    PrivateRoomGrantOperatorRequest, PrivateRoomRevokeMembershipRequest,
    PrivateRoomRevokeOperatorRequest, RemoveHatedInterestRequest, RemoveInterestRequest,
    RoomChatMessageRequest, RoomListRequest, RoomListResponse, ServerRequest, ServerResponse,
    SetRoomTickerRequest, TogglePrivateRoomInvitesRequest,
};
use slsk_proto::structures::{RoomUser, SimilarUser};

use super::{Query, Reply, Session};
use crate::client::error::RequestError;
use crate::client::events::Event;
use crate::client::rooms::{RoomEvent, check_room_name};
use crate::client::state::{MAX_JOINED_ROOMS, RoomState};

/// A rooms, privileges or interests request from a
/// [`Client`](crate::client::Client) handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SocialCommand {
    RoomList,
    JoinRoom { room: String, private: bool },
    LeaveRoom(String),
    Say { room: String, text: String },
    SetTicker { room: String, text: String },
    AddRoomMember { room: String, username: String },
    RemoveRoomMember { room: String, username: String },
    AddRoomOperator { room: String, username: String },
    RemoveRoomOperator { room: String, username: String },
    DropMembership(String),
    DropOwnership(String),
    DropOperatorship(String),
    SetRoomInvitations(bool),
    SetPublicChat(bool),
    CheckPrivileges,
    GivePrivileges { username: String, days: u32 },
    UserPrivileged(String),
    AddInterest(String),
    RemoveInterest(String),
    AddHatedInterest(String),
    RemoveHatedInterest(String),
    Recommendations,
    GlobalRecommendations,
    SimilarUsers,
    ItemRecommendations(String),
    ItemSimilarUsers(String),
    UserInterests(String),
}

/// The successful outcome of a [`SocialCommand`] that waits for a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SocialReply {
    Room(RoomState),
    RoomList(RoomListResponse),
    Privileges(Duration),
    Privileged(bool),
    Recommendations(GetRecommendationsResponse),
    GlobalRecommendations(GetGlobalRecommendationsResponse),
    SimilarUsers(Vec<SimilarUser>),
    ItemRecommendations(GetItemRecommendationsResponse),
    ItemSimilarUsers(GetItemSimilarUsersResponse),
    UserInterests(GetUserInterestsResponse),
}

/// A rooms, privileges or interests request callers wait for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SocialQuery {
    RoomList,
    JoinRoom(String),
    CheckPrivileges,
    UserPrivileged(String),
    Recommendations,
    GlobalRecommendations,
    SimilarUsers,
    ItemRecommendations(String),
    ItemSimilarUsers(String),
    UserInterests(String),
}

/// What the session re-sends after a reconnect besides the shared state's
/// settings: the rooms to rejoin, with whether each is private.
#[derive(Debug, Default)]
pub(crate) struct Rejoin {
    pub(super) rooms: BTreeMap<String, bool>,
}

impl<T> Session<T> {
    pub(super) fn social_command(&mut self, token: T, command: SocialCommand, now: Instant) {
        use SocialCommand as C;
        match command {
            C::RoomList => self.ask(token, SocialQuery::RoomList, RoomListRequest.into(), now),
            C::JoinRoom { room, private } => self.join_room(token, room, private, now),
            C::LeaveRoom(room) => {
                self.rejoin.rooms.remove(&room);
                self.shared.write().left(&room);
                if self.is_logged_in() {
                    self.send(LeaveRoomRequest { room_name: room });
                }
                self.reply(token, Ok(Reply::Done));
            }
            C::Say { room, text } => {
                self.fire(
                    token,
                    RoomChatMessageRequest {
                        room_name: room,
                        message: text,
                    }
                    .into(),
                );
            }
            C::SetTicker { room, text } => {
                self.fire(token, SetRoomTickerRequest { room, ticker: text }.into());
            }
            C::AddRoomMember { room, username } => {
                self.fire(
                    token,
                    PrivateRoomGrantMembershipRequest { room, username }.into(),
                );
            }
            C::RemoveRoomMember { room, username } => {
                self.fire(
                    token,
                    PrivateRoomRevokeMembershipRequest { room, username }.into(),
                );
            }
            C::AddRoomOperator { room, username } => {
                self.fire(
                    token,
                    PrivateRoomGrantOperatorRequest { room, username }.into(),
                );
            }
            C::RemoveRoomOperator { room, username } => {
                self.fire(
                    token,
                    PrivateRoomRevokeOperatorRequest { room, username }.into(),
                );
            }
            C::DropMembership(room) => {
                self.fire(token, PrivateRoomDropMembershipRequest { room }.into());
            }
            C::DropOwnership(room) => {
                self.fire(token, PrivateRoomDropOwnershipRequest { room }.into());
            }
            C::DropOperatorship(room) => {
                self.fire(token, CancelRoomOperatorshipRequest { room }.into());
            }
            C::SetRoomInvitations(enable) => {
                self.shared.write().room_invitations = enable;
                self.remember(token, TogglePrivateRoomInvitesRequest { enable }.into());
            }
            C::SetPublicChat(enabled) => {
                self.shared.write().public_chat = enabled;
                let request = if enabled {
                    EnablePublicChatRequest.into()
                } else {
                    DisablePublicChatRequest.into()
                };
                self.remember(token, request);
            }
            C::CheckPrivileges => self.ask(
                token,
                SocialQuery::CheckPrivileges,
                CheckPrivilegesRequest.into(),
                now,
            ),
            C::GivePrivileges { username, days } => {
                self.fire(token, GiveUserPrivilegesRequest { username, days }.into());
            }
            C::UserPrivileged(username) => self.ask(
                token,
                SocialQuery::UserPrivileged(username.clone()),
                GetUserPrivilegesRequest { username }.into(),
                now,
            ),
            C::AddInterest(item) => {
                self.shared.write().interests.liked.insert(item.clone());
                self.remember(token, AddInterestRequest { interest: item }.into());
            }
            C::RemoveInterest(item) => {
                self.shared.write().interests.liked.remove(&item);
                self.remember(token, RemoveInterestRequest { interest: item }.into());
            }
            C::AddHatedInterest(item) => {
                self.shared.write().interests.hated.insert(item.clone());
                let request = AddHatedInterestRequest {
                    hated_interest: item,
                };
                self.remember(token, request.into());
            }
            C::RemoveHatedInterest(item) => {
                self.shared.write().interests.hated.remove(&item);
                let request = RemoveHatedInterestRequest {
                    hated_interest: item,
                };
                self.remember(token, request.into());
            }
            C::Recommendations => self.ask(
                token,
                SocialQuery::Recommendations,
                GetRecommendationsRequest.into(),
                now,
            ),
            C::GlobalRecommendations => self.ask(
                token,
                SocialQuery::GlobalRecommendations,
                GetGlobalRecommendationsRequest.into(),
                now,
            ),
            C::SimilarUsers => self.ask(
                token,
                SocialQuery::SimilarUsers,
                GetSimilarUsersRequest.into(),
                now,
            ),
            C::ItemRecommendations(item) => self.ask(
                token,
                SocialQuery::ItemRecommendations(item.clone()),
                GetItemRecommendationsRequest { item }.into(),
                now,
            ),
            C::ItemSimilarUsers(item) => self.ask(
                token,
                SocialQuery::ItemSimilarUsers(item.clone()),
                GetItemSimilarUsersRequest { item }.into(),
                now,
            ),
            C::UserInterests(username) => self.ask(
                token,
                SocialQuery::UserInterests(username.clone()),
                GetUserInterestsRequest { username }.into(),
                now,
            ),
        }
    }

    /// Send `request` and wait for its reply, shared with identical calls.
    fn ask(&mut self, token: T, query: SocialQuery, request: ServerRequest, now: Instant) {
        self.query(token, Query::Social(query), request, now);
    }

    /// Join, unless the name would be refused or we are in the room already
    /// (the server ignores a second JoinRoom, so waiting would time out).
    fn join_room(&mut self, token: T, room: String, private: bool, now: Instant) {
        if let Err(reason) = check_room_name(&room) {
            self.reply(token, Err(RequestError::InvalidRoomName(reason)));
            return;
        }
        let current = self.shared.read().rooms.get(&room).cloned();
        if let Some(state) = current {
            self.reply(token, Ok(Reply::Social(SocialReply::Room(state))));
            return;
        }
        let request = JoinRoomRequest {
            room_name: room.clone(),
            is_private: Some(u32::from(private)),
        };
        self.query(
            token,
            Query::Social(SocialQuery::JoinRoom(room)),
            request.into(),
            now,
        );
    }

    /// A setting kept for the next login: written now if logged in, and
    /// done either way.
    fn remember(&mut self, token: T, request: ServerRequest) {
        if self.is_logged_in() {
            self.send(request);
        }
        self.reply(token, Ok(Reply::Done));
    }

    /// Rooms, privileges and interests, sent after every login (before we
    /// watch ourselves): our interests (AddInterest, AddHatedInterest), the
    /// room invitation setting (TogglePrivateRoomInvites, always, since the
    /// server forgets it), EnablePublicChat if subscribed, then JoinRoom
    /// for each room we were in.
    pub(super) fn send_social_post_login(&mut self) {
        let (interests, invitations, public_chat) = {
            let state = self.shared.read();
            (
                state.interests.clone(),
                state.room_invitations,
                state.public_chat,
            )
        };
        for interest in interests.liked {
            self.send(AddInterestRequest { interest });
        }
        for hated_interest in interests.hated {
            self.send(AddHatedInterestRequest { hated_interest });
        }
        self.send(TogglePrivateRoomInvitesRequest {
            enable: invitations,
        });
        if public_chat {
            self.send(EnablePublicChatRequest);
        }
        let rooms: Vec<(String, bool)> = self
            .rejoin
            .rooms
            .iter()
            .map(|(room, private)| (room.clone(), *private))
            .collect();
        for (room_name, private) in rooms {
            self.send(JoinRoomRequest {
                room_name,
                is_private: Some(u32::from(private)),
            });
        }
    }

    /// Handle the server messages of this part. Messages other parts handle
    /// too (status, stats, watch replies, CheckPrivileges) update the shared
    /// state and are given back; so is everything else. `None` means
    /// handled.
    pub(super) fn social_message(
        &mut self,
        message: ServerResponse,
        now: Instant,
    ) -> Option<ServerResponse> {
        use ServerResponse as M;
        match message {
            M::GetUserStatus(ref reply) => {
                self.shared
                    .write()
                    .user_status(&reply.username, reply.status, reply.privileged);
                return Some(message);
            }
            M::GetUserStats(ref reply) => {
                self.shared.write().user_stats(&reply.username, reply.stats);
                return Some(message);
            }
            M::AddUser(ref reply) => {
                self.shared.write().watch_reply(reply);
                return Some(message);
            }
            M::CheckPrivileges(ref reply) => {
                let left = Duration::from_secs(reply.time_left.into());
                self.shared.write().privileges = Some((left, now));
                self.complete_social(SocialQuery::CheckPrivileges, SocialReply::Privileges(left));
                return Some(message);
            }
            M::RoomList(list) => {
                let now_public = self.shared.write().room_list(list.clone());
                for room in now_public {
                    // Rejoining as private would create the room anew.
                    if let Some(private) = self.rejoin.rooms.get_mut(&room) {
                        *private = false;
                    }
                }
                self.complete_social(SocialQuery::RoomList, SocialReply::RoomList(list.clone()));
                self.room_event(RoomEvent::List(list));
            }
            M::JoinRoom(reply) => self.joined(reply),
            M::CannotCreateRoom(reply) => {
                let room = reply.room_name;
                self.complete(
                    &Query::Social(SocialQuery::JoinRoom(room.clone())),
                    Err(RequestError::RoomIsPrivate),
                );
                self.room_event(RoomEvent::JoinRefused { room });
            }
            M::LeaveRoom(reply) => {
                let room = reply.room_name;
                // A join asked for since our leave is not undone by the
                // leave's confirmation; the server answers in order, so the
                // room is not in the state yet.
                self.rejoin.rooms.remove(&room);
                self.shared.write().left(&room);
                self.room_event(RoomEvent::Left { room });
            }
            M::UserJoinedRoom(m) => {
                let user = RoomUser {
                    username: m.username,
                    status: m.status,
                    stats: m.stats,
                    slots_free: m.slots_free,
                    country_code: m.country_code,
                };
                self.shared.write().user_joined(&m.room_name, user.clone());
                self.room_event(RoomEvent::UserJoined {
                    room: m.room_name,
                    user,
                });
            }
            M::UserLeftRoom(m) => {
                self.shared.write().user_left(&m.room_name, &m.username);
                self.room_event(RoomEvent::UserLeft {
                    room: m.room_name,
                    username: m.username,
                });
            }
            M::RoomChatMessage(m) => self.room_event(RoomEvent::Message {
                room: m.room_name,
                username: m.username,
                text: m.message,
            }),
            M::RoomTickers(m) => {
                self.shared.write().tickers(&m.room, m.tickers.clone());
                self.room_event(RoomEvent::Tickers {
                    room: m.room,
                    tickers: m.tickers,
                });
            }
            M::RoomTickerAdded(m) => {
                self.shared
                    .write()
                    .ticker_added(&m.room, m.username.clone(), m.ticker.clone());
                self.room_event(RoomEvent::TickerSet {
                    room: m.room,
                    username: m.username,
                    ticker: m.ticker,
                });
            }
            M::RoomTickerRemoved(m) => {
                self.shared.write().ticker_removed(&m.room, &m.username);
                self.room_event(RoomEvent::TickerRemoved {
                    room: m.room,
                    username: m.username,
                });
            }
            M::PrivateRoomMembers(m) => {
                self.shared
                    .write()
                    .private_members(&m.room, m.members.clone());
                self.room_event(RoomEvent::PrivateMembers {
                    room: m.room,
                    members: m.members,
                });
            }
            M::PrivateRoomOperators(m) => {
                self.shared
                    .write()
                    .private_operators(&m.room, m.operators.clone());
                self.room_event(RoomEvent::PrivateOperators {
                    room: m.room,
                    operators: m.operators,
                });
            }
            M::PrivateRoomGrantMembership(m) => {
                self.shared.write().member_added(&m.room, &m.username);
                self.room_event(RoomEvent::MemberAdded {
                    room: m.room,
                    username: m.username,
                });
            }
            M::PrivateRoomRevokeMembership(m) => {
                self.shared.write().member_removed(&m.room, &m.username);
                self.room_event(RoomEvent::MemberRemoved {
                    room: m.room,
                    username: m.username,
                });
            }
            M::PrivateRoomGrantOperator(m) => {
                self.shared.write().operator_added(&m.room, &m.username);
                self.room_event(RoomEvent::OperatorAdded {
                    room: m.room,
                    username: m.username,
                });
            }
            M::PrivateRoomRevokeOperator(m) => {
                self.shared.write().operator_removed(&m.room, &m.username);
                self.room_event(RoomEvent::OperatorRemoved {
                    room: m.room,
                    username: m.username,
                });
            }
            M::PrivateRoomMembershipGranted(m) => {
                let me = self.config.username.clone();
                self.shared.write().member_added(&m.room, &me);
                self.room_event(RoomEvent::MembershipGranted { room: m.room });
            }
            M::PrivateRoomMembershipRevoked(m) => {
                self.shared.write().membership_revoked(&m.room);
                self.rejoin.rooms.remove(&m.room);
                self.room_event(RoomEvent::MembershipRevoked { room: m.room });
            }
            M::PrivateRoomOperatorGranted(m) => {
                let me = self.config.username.clone();
                self.shared.write().operator_added(&m.room, &me);
                self.room_event(RoomEvent::OperatorshipGranted { room: m.room });
            }
            M::PrivateRoomOperatorRevoked(m) => {
                let me = self.config.username.clone();
                self.shared.write().operator_removed(&m.room, &me);
                self.room_event(RoomEvent::OperatorshipRevoked { room: m.room });
            }
            M::TogglePrivateRoomInvites(m) => {
                self.room_event(RoomEvent::InvitationsEnabled(m.enabled));
            }
            M::PublicChatMessage(m) => self.room_event(RoomEvent::PublicMessage {
                room: m.room,
                username: m.username,
                text: m.message,
            }),
            M::PrivilegedUsers(m) => {
                self.shared.write().privileged_users(m.users.clone());
                self.emit(Event::PrivilegedUsers(m.users));
            }
            M::AddPrivilegedUser(m) => {
                self.shared.write().set_privileged(&m.username, true);
                self.emit(Event::UserPrivileged {
                    username: m.username,
                    privileged: true,
                });
            }
            M::GetUserPrivileges(m) => {
                self.shared
                    .write()
                    .set_privileged(&m.username, m.privileged);
                self.complete_social(
                    SocialQuery::UserPrivileged(m.username.clone()),
                    SocialReply::Privileged(m.privileged),
                );
                self.emit(Event::UserPrivileged {
                    username: m.username,
                    privileged: m.privileged,
                });
            }
            M::GetRecommendations(m) => {
                let query = SocialQuery::Recommendations;
                return self.answer(
                    query,
                    M::GetRecommendations,
                    SocialReply::Recommendations,
                    m,
                );
            }
            M::GetGlobalRecommendations(m) => {
                let query = SocialQuery::GlobalRecommendations;
                let wrap = SocialReply::GlobalRecommendations;
                return self.answer(query, M::GetGlobalRecommendations, wrap, m);
            }
            M::GetSimilarUsers(m) => {
                let query = SocialQuery::SimilarUsers;
                let wrap = |m: GetSimilarUsersResponse| SocialReply::SimilarUsers(m.users);
                return self.answer(query, M::GetSimilarUsers, wrap, m);
            }
            M::GetItemRecommendations(m) => {
                let query = self.item_query(&m.item, SocialQuery::ItemRecommendations);
                let wrap = SocialReply::ItemRecommendations;
                return self.answer(query, M::GetItemRecommendations, wrap, m);
            }
            M::GetItemSimilarUsers(m) => {
                let query = self.item_query(&m.item, SocialQuery::ItemSimilarUsers);
                let wrap = SocialReply::ItemSimilarUsers;
                return self.answer(query, M::GetItemSimilarUsers, wrap, m);
            }
            M::GetUserInterests(m) => {
                let query = SocialQuery::UserInterests(m.username.clone());
                let wrap = SocialReply::UserInterests;
                return self.answer(query, M::GetUserInterests, wrap, m);
            }
            other => return Some(other),
        }
        None
    }

    /// A JoinRoom reply, asked for or not (see the module documentation).
    fn joined(&mut self, reply: JoinRoomResponse) {
        let (room, kept) = self.shared.write().joined(reply);
        if kept && (self.rejoin.rooms.len() < MAX_JOINED_ROOMS) {
            self.rejoin.rooms.insert(room.name.clone(), room.is_private);
        }
        self.complete_social(
            SocialQuery::JoinRoom(room.name.clone()),
            SocialReply::Room(room.clone()),
        );
        self.room_event(RoomEvent::Joined(room));
    }

    /// Complete the callers of `query` with `reply` if any wait; otherwise
    /// hand the message back to be reported as it is.
    fn answer<R>(
        &mut self,
        query: SocialQuery,
        message: impl FnOnce(R) -> ServerResponse,
        wrap: impl FnOnce(R) -> SocialReply,
        reply: R,
    ) -> Option<ServerResponse> {
        if self.is_pending(&query) {
            self.complete_social(query, wrap(reply));
            None
        } else {
            Some(message(reply))
        }
    }

    /// The pending per-item query a reply answers: the same item, or one
    /// that differs only in case (servers lower-case interests).
    fn item_query(&self, item: &str, kind: fn(String) -> SocialQuery) -> SocialQuery {
        let exact = kind(item.to_owned());
        if self.is_pending(&exact) {
            return exact;
        }
        let lower = item.to_lowercase();
        let kind_of = std::mem::discriminant(&exact);
        self.pending
            .keys()
            .filter_map(|q| match q {
                Query::Social(q) => Some(q),
                _ => None,
            })
            .find(|q| std::mem::discriminant(*q) == kind_of && q.item().to_lowercase() == lower)
            .cloned()
            .unwrap_or(exact)
    }

    fn is_pending(&self, query: &SocialQuery) -> bool {
        self.pending.contains_key(&Query::Social(query.clone()))
    }

    fn complete_social(&mut self, query: SocialQuery, reply: SocialReply) {
        self.complete(&Query::Social(query), Ok(Reply::Social(reply)));
    }

    fn room_event(&mut self, event: RoomEvent) {
        self.emit(Event::Room(event));
    }
}

impl SocialQuery {
    /// The item or user a query is about (empty for the others).
    fn item(&self) -> &str {
        match self {
            Self::JoinRoom(s)
            | Self::UserPrivileged(s)
            | Self::ItemRecommendations(s)
            | Self::ItemSimilarUsers(s)
            | Self::UserInterests(s) => s,
            Self::RoomList
            | Self::CheckPrivileges
            | Self::Recommendations
            | Self::GlobalRecommendations
            | Self::SimilarUsers => "",
        }
    }
}
