//! Chat rooms: the room list, joining and leaving, chat, tickers, private
//! rooms and the public feed. The [`Client`] methods here and the
//! [`RoomEvent`]s the session reports.
//!
//! Which calls wait for the server, and what is kept: see the `client`
//! module documentation.

use slsk_proto::server::RoomListResponse;
use slsk_proto::structures::{RoomTicker, RoomUser};

use super::error::RequestError;
use super::session::{Command, SocialCommand, SocialReply};
use super::state::{PrivateRoom, RoomState};
use super::{Client, Reply, unexpected};

/// Something that happened in a room, a private room or the public feed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// The room list (sent by the server after login, after changes to our
    /// private rooms, and on request).
    List(RoomListResponse),
    /// We joined a room (the JoinRoom reply, also for the rejoins after a
    /// reconnect and for joins we did not ask for). Its tickers follow as
    /// [`RoomEvent::Tickers`].
    Joined(RoomState),
    /// The server refused to let us join (or create) a room: it is private
    /// and we are not a member (CannotCreateRoom).
    JoinRefused {
        /// The room.
        room: String,
    },
    /// The server confirmed we left a room.
    Left {
        /// The room.
        room: String,
    },
    /// Someone (ourselves included) said something in a room we are in.
    Message {
        /// The room.
        room: String,
        /// Who said it.
        username: String,
        /// The text.
        text: String,
    },
    /// A user joined a room we are in (ourselves included, right before the
    /// JoinRoom reply).
    UserJoined {
        /// The room.
        room: String,
        /// The user, with status, statistics, free slots and country.
        user: RoomUser,
    },
    /// A user left a room we are in.
    UserLeft {
        /// The room.
        room: String,
        /// The user.
        username: String,
    },
    /// All tickers of a room, sent after we join it.
    Tickers {
        /// The room.
        room: String,
        /// The tickers, oldest first.
        tickers: Vec<RoomTicker>,
    },
    /// A user set their ticker in a room.
    TickerSet {
        /// The room.
        room: String,
        /// The user.
        username: String,
        /// The new ticker.
        ticker: String,
    },
    /// A user's ticker was removed from a room.
    TickerRemoved {
        /// The room.
        room: String,
        /// The user.
        username: String,
    },
    /// The members of a private room we own or belong to (the owner
    /// excluded).
    PrivateMembers {
        /// The room.
        room: String,
        /// The members.
        members: Vec<String>,
    },
    /// The operators of a private room we own or belong to.
    PrivateOperators {
        /// The room.
        room: String,
        /// The operators.
        operators: Vec<String>,
    },
    /// A user was made a member of a private room we belong to.
    MemberAdded {
        /// The room.
        room: String,
        /// The new member.
        username: String,
    },
    /// A user was removed from a private room we belong to.
    MemberRemoved {
        /// The room.
        room: String,
        /// The former member.
        username: String,
    },
    /// A member of a private room we belong to was made an operator.
    OperatorAdded {
        /// The room.
        room: String,
        /// The new operator.
        username: String,
    },
    /// An operator of a private room we belong to lost operator rights.
    OperatorRemoved {
        /// The room.
        room: String,
        /// The former operator.
        username: String,
    },
    /// We were made a member of a private room.
    MembershipGranted {
        /// The room.
        room: String,
    },
    /// Our membership of a private room ended (removed, or the room was
    /// disbanded). The session forgets the room and does not rejoin it.
    MembershipRevoked {
        /// The room.
        room: String,
    },
    /// We were made an operator of a private room.
    OperatorshipGranted {
        /// The room.
        room: String,
    },
    /// Our operator rights in a private room were taken away.
    OperatorshipRevoked {
        /// The room.
        room: String,
    },
    /// The server confirmed whether others may add us to private rooms.
    InvitationsEnabled(bool),
    /// A message said in a public room, from the public feed
    /// ([`Client::set_public_chat`]).
    PublicMessage {
        /// The room.
        room: String,
        /// Who said it.
        username: String,
        /// The text.
        text: String,
    },
}

/// Why a room name is refused, checked before JoinRoom is sent: the rules
/// every server applies (it answers a bad name only with a private message
/// from `server`, so the join would just time out).
pub(crate) fn check_room_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("the room name is empty")
    } else if name.len() > 24 {
        Err("the room name is longer than 24 characters")
    } else if !name.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Err("the room name has characters other than printable ASCII")
    } else if name.starts_with(' ') || name.ends_with(' ') {
        Err("the room name has leading or trailing spaces")
    } else if name.contains("  ") {
        Err("the room name has two spaces in a row")
    } else {
        Ok(())
    }
}

impl Client {
    /// Join a public room, creating it if it does not exist, and wait for
    /// the server's reply: the room with its users (and, for a private room
    /// we may enter, its owner and operators). The session rejoins the room
    /// after each reconnect until [`Client::leave_room`].
    ///
    /// Joining a room we are already in returns its current state at once.
    /// Fails with [`RequestError::InvalidRoomName`] for a name the server
    /// would refuse, [`RequestError::RoomIsPrivate`] for a private room we
    /// are not a member of, [`RequestError::Timeout`] without a reply.
    ///
    /// ```no_run
    /// # async fn example(client: slsk_net::Client) -> Result<(), slsk_net::client::RequestError> {
    /// let room = client.join_room("nicotine").await?;
    /// println!("{} users in {}", room.users.len(), room.name);
    /// client.send_room_message("nicotine", "hello").await?;
    /// # Ok(()) }
    /// ```
    pub async fn join_room(&self, room: &str) -> Result<RoomState, RequestError> {
        self.join(room, false).await
    }

    /// Join a private room, creating it (with us as owner) if it does not
    /// exist; otherwise like [`Client::join_room`]. A public room of that
    /// name is joined as it is.
    pub async fn join_private_room(&self, room: &str) -> Result<RoomState, RequestError> {
        self.join(room, true).await
    }

    async fn join(&self, room: &str, private: bool) -> Result<RoomState, RequestError> {
        match self
            .social(SocialCommand::JoinRoom {
                room: room.into(),
                private,
            })
            .await?
        {
            SocialReply::Room(state) => Ok(state),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// Leave a room (LeaveRoom). The session forgets the room at once and
    /// stops rejoining it; the server's confirmation arrives as
    /// [`RoomEvent::Left`]. Works while reconnecting too.
    pub async fn leave_room(&self, room: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::LeaveRoom(room.into()))
            .await
    }

    /// Say something in a room we are in (RoomChatMessage). The server sends
    /// it back to everyone in the room, us included, as
    /// [`RoomEvent::Message`]; it drops messages over 2048 bytes or with line
    /// breaks without telling.
    pub async fn send_room_message(&self, room: &str, text: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::Say {
            room: room.into(),
            text: text.into(),
        })
        .await
    }

    /// Set our ticker in a room we are in (SetRoomTicker); an empty text
    /// removes it. The server reports the change as
    /// [`RoomEvent::TickerSet`] / [`RoomEvent::TickerRemoved`].
    pub async fn set_room_ticker(&self, room: &str, text: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::SetTicker {
            room: room.into(),
            text: text.into(),
        })
        .await
    }

    /// Ask for the full room list and wait for it. The list the server sends
    /// after login holds only rooms with 5 or more users; this one holds all.
    pub async fn request_room_list(&self) -> Result<RoomListResponse, RequestError> {
        match self.social(SocialCommand::RoomList).await? {
            SocialReply::RoomList(list) => Ok(list),
            other => Err(unexpected(Reply::Social(other))),
        }
    }

    /// Add a user to a private room we own or operate
    /// (PrivateRoomGrantMembership). The server confirms with
    /// [`RoomEvent::MemberAdded`], or explains a refusal in a private message
    /// from `server`.
    pub async fn add_room_member(&self, room: &str, username: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::AddRoomMember {
            room: room.into(),
            username: username.into(),
        })
        .await
    }

    /// Remove a user from a private room (PrivateRoomRevokeMembership);
    /// confirmed with [`RoomEvent::MemberRemoved`].
    pub async fn remove_room_member(&self, room: &str, username: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::RemoveRoomMember {
            room: room.into(),
            username: username.into(),
        })
        .await
    }

    /// Make a member of a private room we own an operator
    /// (PrivateRoomGrantOperator); confirmed with
    /// [`RoomEvent::OperatorAdded`].
    pub async fn add_room_operator(&self, room: &str, username: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::AddRoomOperator {
            room: room.into(),
            username: username.into(),
        })
        .await
    }

    /// Take operator rights away (PrivateRoomRevokeOperator); confirmed with
    /// [`RoomEvent::OperatorRemoved`].
    pub async fn remove_room_operator(
        &self,
        room: &str,
        username: &str,
    ) -> Result<(), RequestError> {
        self.social_done(SocialCommand::RemoveRoomOperator {
            room: room.into(),
            username: username.into(),
        })
        .await
    }

    /// Give up our membership of a private room (PrivateRoomDropMembership);
    /// the server answers with [`RoomEvent::MembershipRevoked`].
    pub async fn drop_room_membership(&self, room: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::DropMembership(room.into()))
            .await
    }

    /// Give up ownership of a private room we own (PrivateRoomDropOwnership).
    /// The members lose their membership. The official server (and
    /// slsk-server) keeps us in the room, which is public from then on: the
    /// room list update that follows no longer names it as ours, and the
    /// session then marks it public ([`RoomState::is_private`] false, no
    /// owner). Soulfind instead deletes the room and puts everyone out.
    pub async fn drop_room_ownership(&self, room: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::DropOwnership(room.into()))
            .await
    }

    /// Give up our operator rights in a private room
    /// (CancelRoomOperatorship); the server answers with
    /// [`RoomEvent::OperatorshipRevoked`]. Known from servers only: no other
    /// client is known to send it.
    pub async fn drop_room_operatorship(&self, room: &str) -> Result<(), RequestError> {
        self.social_done(SocialCommand::DropOperatorship(room.into()))
            .await
    }

    /// Whether others may add us to private rooms (TogglePrivateRoomInvites).
    /// Remembered and sent after each login (the first value comes from
    /// [`ClientConfig::room_invitations`](super::ClientConfig::room_invitations));
    /// the server confirms with [`RoomEvent::InvitationsEnabled`].
    pub async fn set_room_invitations(&self, enabled: bool) -> Result<(), RequestError> {
        self.social_done(SocialCommand::SetRoomInvitations(enabled))
            .await
    }

    /// Subscribe to the public feed (EnablePublicChat) or unsubscribe
    /// (DisablePublicChat). While subscribed, every message said in a public
    /// room arrives as [`RoomEvent::PublicMessage`]. Remembered and sent
    /// again after each login.
    pub async fn set_public_chat(&self, enabled: bool) -> Result<(), RequestError> {
        self.social_done(SocialCommand::SetPublicChat(enabled))
            .await
    }

    /// The rooms we are in, with their users, operators, owner and tickers
    /// as last reported. Empty while reconnecting (the rejoins refill it).
    pub fn rooms(&self) -> Vec<RoomState> {
        self.state.read().rooms.values().cloned().collect()
    }

    /// One room we are in.
    pub fn room(&self, room: &str) -> Option<RoomState> {
        self.state.read().rooms.get(room).cloned()
    }

    /// The last room list the server sent, if any.
    pub fn room_list(&self) -> Option<RoomListResponse> {
        self.state.read().room_list.clone()
    }

    /// The private rooms we own or belong to, with their members and
    /// operators, as last reported (joined or not).
    pub fn private_rooms(&self) -> Vec<PrivateRoom> {
        self.state.read().private_rooms.values().cloned().collect()
    }

    /// Whether we let others add us to private rooms (our setting).
    pub fn room_invitations(&self) -> bool {
        self.state.read().room_invitations
    }

    /// Whether we are subscribed to the public feed (our setting).
    pub fn public_chat(&self) -> bool {
        self.state.read().public_chat
    }

    pub(crate) async fn social(&self, command: SocialCommand) -> Result<SocialReply, RequestError> {
        match self.call(Command::Social(command)).await? {
            Reply::Social(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    pub(crate) async fn social_done(&self, command: SocialCommand) -> Result<(), RequestError> {
        self.done(Command::Social(command)).await
    }
}

#[cfg(test)]
mod tests {
    use super::check_room_name;

    #[test]
    fn room_names_follow_the_server_rules() {
        assert!(check_room_name("nicotine").is_ok());
        assert!(check_room_name("a b").is_ok());
        assert!(check_room_name(&"x".repeat(24)).is_ok());
        for bad in ["", " a", "a ", "a  b", "caf\u{e9}", "a\tb", &"x".repeat(25)] {
            assert!(check_room_name(bad).is_err(), "{bad:?}");
        }
    }
}
