//! Rooms, private rooms, tickers, the public feed, privileges and interests
//! in the session, without sockets.

use slsk_proto::server::{
    AddHatedInterestRequest, AddInterestRequest, AddPrivilegedUserResponse,
    CannotCreateRoomResponse, DisablePublicChatRequest, EnablePublicChatRequest,
    GetItemRecommendationsResponse, GetRecommendationsResponse, GetUserPrivilegesRequest,
    GetUserPrivilegesResponse, GetUserStatsResponse, GiveUserPrivilegesRequest, JoinRoomRequest,
    JoinRoomResponse, LeaveRoomRequest, LeaveRoomResponse, PrivateRoomGrantMembershipResponse,
    PrivateRoomGrantOperatorResponse, PrivateRoomMembersResponse,
    PrivateRoomMembershipGrantedResponse, PrivateRoomMembershipRevokedResponse,
    PrivateRoomOperatorGrantedResponse, PrivateRoomOperatorRevokedResponse,
    PrivateRoomOperatorsResponse, PrivateRoomRevokeMembershipResponse,
    PrivateRoomRevokeOperatorResponse, PrivilegedUsersResponse, PublicChatMessageResponse,
    RoomChatMessageRequest, RoomChatMessageResponse, RoomListRequest, RoomListResponse,
    RoomTickerAddedResponse, RoomTickerRemovedResponse, RoomTickersResponse, SetRoomTickerRequest,
    TogglePrivateRoomInvitesRequest, TogglePrivateRoomInvitesResponse, UserJoinedRoomResponse,
    UserLeftRoomResponse,
};
use slsk_proto::structures::{Recommendation, RoomInfo, RoomTicker, RoomUser};

use super::*;
use crate::client::rooms::RoomEvent;
use crate::client::state::RoomState;

fn stats(n: u32) -> UserStats {
    UserStats {
        avg_speed: n,
        uploads: u64::from(n),
        shared_file_count: n,
        shared_folder_count: n,
    }
}

fn room_user(name: &str) -> RoomUser {
    RoomUser {
        username: name.into(),
        status: UserStatus::Online,
        stats: stats(1),
        slots_free: 1,
        country_code: "NL".into(),
    }
}

fn join_reply(room: &str, users: &[&str]) -> ServerResponse {
    ServerResponse::JoinRoom(JoinRoomResponse {
        room_name: room.into(),
        users: users.iter().map(|u| room_user(u)).collect(),
        owner: None,
        operators: None,
    })
}

fn private_join_reply(room: &str, users: &[&str], owner: &str, ops: &[&str]) -> ServerResponse {
    ServerResponse::JoinRoom(JoinRoomResponse {
        room_name: room.into(),
        users: users.iter().map(|u| room_user(u)).collect(),
        owner: Some(owner.into()),
        operators: Some(ops.iter().map(|o| o.to_string()).collect()),
    })
}

fn social(command: SocialCommand) -> Command {
    Command::Social(command)
}

fn join(room: &str) -> Command {
    social(SocialCommand::JoinRoom {
        room: room.into(),
        private: false,
    })
}

fn room_events(actions: &[Action<u32>]) -> Vec<RoomEvent> {
    events(actions)
        .into_iter()
        .filter_map(|e| match e {
            Event::Room(event) => Some(event),
            _ => None,
        })
        .collect()
}

fn joined_room(reply: &(u32, Result<Reply, RequestError>)) -> RoomState {
    match reply {
        (_, Ok(Reply::Social(SocialReply::Room(room)))) => room.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn join_sequence_builds_the_room_and_answers_the_caller() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, join("nicotine"), now);
    s.command(2, join("nicotine"), now);
    assert_eq!(
        sends(&drain(&mut s)),
        vec![
            JoinRoomRequest {
                room_name: "nicotine".into(),
                is_private: Some(0),
            }
            .into()
        ],
        "two callers, one request"
    );

    // The server's order: UserJoinedRoom (us), JoinRoom, RoomTickers.
    s.server_message(
        ServerResponse::UserJoinedRoom(UserJoinedRoomResponse {
            room_name: "nicotine".into(),
            username: ME.into(),
            status: UserStatus::Online,
            stats: stats(1),
            slots_free: 1,
            country_code: String::new(),
        }),
        now,
    );
    s.server_message(join_reply("nicotine", &[ME, "bob"]), now);
    let tickers = vec![RoomTicker {
        username: "bob".into(),
        ticker: "hi".into(),
    }];
    s.server_message(
        ServerResponse::RoomTickers(RoomTickersResponse {
            room: "nicotine".into(),
            tickers: tickers.clone(),
        }),
        now,
    );
    let actions = drain(&mut s);
    let answered = replies(&actions);
    assert_eq!(answered.len(), 2);
    let room = joined_room(&answered[0]);
    assert_eq!(answered[1].1, answered[0].1);
    assert_eq!(room.users.keys().collect::<Vec<_>>(), ["bob", ME]);
    assert!(!room.is_private);
    assert!(matches!(
        room_events(&actions).as_slice(),
        [
            RoomEvent::UserJoined { .. },
            RoomEvent::Joined(r),
            RoomEvent::Tickers { room, .. },
        ] if r.name == "nicotine" && room == "nicotine"
    ));
    let kept = s.shared().read().rooms["nicotine"].clone();
    assert_eq!(kept.tickers, tickers);

    // Already in the room: answered at once, nothing sent.
    s.command(3, join("nicotine"), now);
    let actions = drain(&mut s);
    assert!(sends(&actions).is_empty());
    assert_eq!(joined_room(&replies(&actions)[0]), kept);
}

#[test]
fn join_failures() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, join(" bad"), now);
    s.command(2, join("caf\u{e9}"), now);
    let actions = drain(&mut s);
    assert!(sends(&actions).is_empty());
    assert!(matches!(
        replies(&actions).as_slice(),
        [
            (1, Err(RequestError::InvalidRoomName(_))),
            (2, Err(RequestError::InvalidRoomName(_)))
        ]
    ));

    s.command(
        3,
        social(SocialCommand::JoinRoom {
            room: "secret".into(),
            private: true,
        }),
        now,
    );
    assert_eq!(
        sends(&drain(&mut s)),
        vec![
            JoinRoomRequest {
                room_name: "secret".into(),
                is_private: Some(1),
            }
            .into()
        ]
    );
    s.server_message(
        ServerResponse::CannotCreateRoom(CannotCreateRoomResponse {
            room_name: "secret".into(),
        }),
        now,
    );
    let actions = drain(&mut s);
    assert_eq!(
        replies(&actions),
        vec![(3, Err(RequestError::RoomIsPrivate))]
    );
    assert_eq!(
        room_events(&actions),
        vec![RoomEvent::JoinRefused {
            room: "secret".into()
        }]
    );

    s.command(4, join("quiet"), now);
    drain(&mut s);
    s.timer(now + Timing::default().request_timeout);
    assert_eq!(
        replies(&drain(&mut s)),
        vec![(4, Err(RequestError::Timeout))]
    );
    assert!(s.shared().read().rooms.is_empty());

    let mut offline = session(config());
    offline.command(5, join("room"), now);
    assert_eq!(
        replies(&drain(&mut offline)),
        vec![(5, Err(RequestError::NotConnected))]
    );
}

#[test]
fn room_mates_follow_joins_leaves_status_and_stats() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.server_message(join_reply("r", &[ME, "bob"]), now);
    s.server_message(
        ServerResponse::UserJoinedRoom(UserJoinedRoomResponse {
            room_name: "r".into(),
            username: "carol".into(),
            status: UserStatus::Away,
            stats: stats(2),
            slots_free: 0,
            country_code: "FR".into(),
        }),
        now,
    );
    s.server_message(
        ServerResponse::UserLeftRoom(UserLeftRoomResponse {
            room_name: "r".into(),
            username: "bob".into(),
        }),
        now,
    );
    s.server_message(
        ServerResponse::GetUserStatus(GetUserStatusResponse {
            username: "carol".into(),
            status: UserStatus::Online,
            privileged: true,
        }),
        now,
    );
    s.server_message(
        ServerResponse::GetUserStats(GetUserStatsResponse {
            username: "carol".into(),
            stats: stats(7),
        }),
        now,
    );
    let actions = drain(&mut s);
    // The existing status/stats events still come.
    assert!(
        events(&actions)
            .iter()
            .any(|e| matches!(e, Event::UserStatus { .. }))
    );
    assert!(
        events(&actions)
            .iter()
            .any(|e| matches!(e, Event::UserStats { .. }))
    );
    assert!(matches!(
        room_events(&actions).as_slice(),
        [
            RoomEvent::Joined(_),
            RoomEvent::UserJoined { user, .. },
            RoomEvent::UserLeft { username, .. },
        ] if user.username == "carol" && username == "bob"
    ));
    let state = s.shared();
    let state = state.read();
    let room = &state.rooms["r"];
    assert_eq!(room.users.keys().collect::<Vec<_>>(), ["carol", ME]);
    assert_eq!(room.users["carol"].status, UserStatus::Online);
    assert_eq!(room.users["carol"].stats, stats(7));
    assert_eq!(room.users["carol"].country_code, "FR");
    assert!(state.privileged.contains("carol"));
}

#[test]
fn chat_tickers_and_the_public_feed() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.server_message(join_reply("r", &[ME]), now);
    s.command(
        1,
        social(SocialCommand::Say {
            room: "r".into(),
            text: "hello".into(),
        }),
        now,
    );
    s.command(
        2,
        social(SocialCommand::SetTicker {
            room: "r".into(),
            text: "my wall".into(),
        }),
        now,
    );
    s.command(3, social(SocialCommand::SetPublicChat(true)), now);
    let actions = drain(&mut s);
    assert_eq!(
        sends(&actions),
        vec![
            RoomChatMessageRequest {
                room_name: "r".into(),
                message: "hello".into()
            }
            .into(),
            SetRoomTickerRequest {
                room: "r".into(),
                ticker: "my wall".into()
            }
            .into(),
            EnablePublicChatRequest.into(),
        ]
    );
    assert!(replies(&actions).iter().all(|(_, r)| *r == Ok(Reply::Done)));

    s.server_message(
        ServerResponse::RoomChatMessage(RoomChatMessageResponse {
            room_name: "r".into(),
            username: ME.into(),
            message: "hello".into(),
        }),
        now,
    );
    s.server_message(
        ServerResponse::RoomTickerAdded(RoomTickerAddedResponse {
            room: "r".into(),
            username: ME.into(),
            ticker: "my wall".into(),
        }),
        now,
    );
    s.server_message(
        ServerResponse::RoomTickerAdded(RoomTickerAddedResponse {
            room: "r".into(),
            username: "bob".into(),
            ticker: "bob's".into(),
        }),
        now,
    );
    s.server_message(
        ServerResponse::RoomTickerRemoved(RoomTickerRemovedResponse {
            room: "r".into(),
            username: ME.into(),
        }),
        now,
    );
    s.server_message(
        ServerResponse::PublicChatMessage(PublicChatMessageResponse {
            room: "elsewhere".into(),
            username: "dave".into(),
            message: "hi all".into(),
        }),
        now,
    );
    let actions = drain(&mut s);
    assert_eq!(
        room_events(&actions),
        vec![
            RoomEvent::Message {
                room: "r".into(),
                username: ME.into(),
                text: "hello".into()
            },
            RoomEvent::TickerSet {
                room: "r".into(),
                username: ME.into(),
                ticker: "my wall".into()
            },
            RoomEvent::TickerSet {
                room: "r".into(),
                username: "bob".into(),
                ticker: "bob's".into()
            },
            RoomEvent::TickerRemoved {
                room: "r".into(),
                username: ME.into()
            },
            RoomEvent::PublicMessage {
                room: "elsewhere".into(),
                username: "dave".into(),
                text: "hi all".into()
            },
        ]
    );
    assert_eq!(
        s.shared().read().rooms["r"].tickers,
        vec![RoomTicker {
            username: "bob".into(),
            ticker: "bob's".into()
        }]
    );
    s.command(4, social(SocialCommand::SetPublicChat(false)), now);
    assert_eq!(sends(&drain(&mut s)), vec![DisablePublicChatRequest.into()]);
    assert!(!s.shared().read().public_chat);
}

#[test]
fn leaving_forgets_the_room_at_once() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.server_message(join_reply("r", &[ME]), now);
    s.command(1, social(SocialCommand::LeaveRoom("r".into())), now);
    let actions = drain(&mut s);
    assert_eq!(
        sends(&actions),
        vec![
            LeaveRoomRequest {
                room_name: "r".into()
            }
            .into()
        ]
    );
    assert_eq!(replies(&actions), vec![(1, Ok(Reply::Done))]);
    assert!(s.shared().read().rooms.is_empty());
    s.server_message(
        ServerResponse::LeaveRoom(LeaveRoomResponse {
            room_name: "r".into(),
        }),
        now,
    );
    assert_eq!(
        room_events(&drain(&mut s)),
        vec![RoomEvent::Left { room: "r".into() }]
    );
    // Not rejoined after a reconnect.
    s.disconnected(now);
    drain(&mut s);
    s.timer(now + Duration::from_secs(60));
    s.connected(now + Duration::from_secs(60));
    s.server_message(login_success(), now + Duration::from_secs(60));
    assert!(
        !sends(&drain(&mut s))
            .iter()
            .any(|m| matches!(m, ServerRequest::JoinRoom(_)))
    );
}

/// Reconnect `s` (logged in at `now`) and return what it sends after the
/// new login.
fn reconnect(s: &mut Session<u32>, now: Instant) -> Vec<ServerRequest> {
    s.disconnected(now);
    drain(s);
    let later = now + Duration::from_secs(60);
    s.timer(later);
    s.connected(later);
    drain(s);
    s.server_message(login_success(), later);
    sends(&drain(s))
}

#[test]
fn reconnect_rejoins_rooms_and_resends_settings_in_order() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, join("public"), now);
    s.server_message(join_reply("public", &[ME]), now);
    s.server_message(private_join_reply("mine", &[ME], ME, &[]), now);
    s.command(2, social(SocialCommand::AddInterest("jazz".into())), now);
    s.command(
        3,
        social(SocialCommand::AddHatedInterest("noise".into())),
        now,
    );
    s.command(4, social(SocialCommand::SetRoomInvitations(true)), now);
    drain(&mut s);

    // Changed while disconnected: remembered, nothing sent.
    s.disconnected(now);
    drain(&mut s);
    assert!(
        s.shared().read().rooms.is_empty(),
        "stale rooms are dropped"
    );
    s.command(5, social(SocialCommand::SetPublicChat(true)), now);
    s.command(6, social(SocialCommand::AddInterest("blues".into())), now);
    s.command(7, social(SocialCommand::RemoveInterest("jazz".into())), now);
    let actions = drain(&mut s);
    assert!(sends(&actions).is_empty());
    assert_eq!(replies(&actions).len(), 3);
    assert!(replies(&actions).iter().all(|(_, r)| *r == Ok(Reply::Done)));

    let later = now + Duration::from_secs(60);
    s.timer(later);
    s.connected(later);
    drain(&mut s);
    s.server_message(login_success(), later);
    let sent = sends(&drain(&mut s));
    let start = sent
        .iter()
        .position(|m| matches!(m, ServerRequest::SetStatus(_)))
        .unwrap();
    assert_eq!(
        sent[start + 1..],
        [
            AddInterestRequest {
                interest: "blues".into()
            }
            .into(),
            AddHatedInterestRequest {
                hated_interest: "noise".into()
            }
            .into(),
            TogglePrivateRoomInvitesRequest { enable: true }.into(),
            EnablePublicChatRequest.into(),
            JoinRoomRequest {
                room_name: "mine".into(),
                is_private: Some(1)
            }
            .into(),
            JoinRoomRequest {
                room_name: "public".into(),
                is_private: Some(0)
            }
            .into(),
            AddUserRequest {
                username: ME.into()
            }
            .into(),
        ]
    );
}

#[test]
fn an_unsolicited_join_is_kept_and_rejoined() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.server_message(join_reply("surprise", &[ME, "bob"]), now);
    let actions = drain(&mut s);
    assert!(sends(&actions).is_empty(), "no LeaveRoom");
    assert!(
        matches!(room_events(&actions).as_slice(), [RoomEvent::Joined(r)] if r.name == "surprise")
    );
    assert!(s.shared().read().rooms.contains_key("surprise"));
    let sent = reconnect(&mut s, now);
    assert!(
        sent.contains(
            &JoinRoomRequest {
                room_name: "surprise".into(),
                is_private: Some(0)
            }
            .into()
        )
    );
}

#[test]
fn private_room_management_and_notifications() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    let room = || "priv".to_string();
    let user = || "bob".to_string();
    for (token, command) in [
        SocialCommand::AddRoomMember {
            room: room(),
            username: user(),
        },
        SocialCommand::RemoveRoomMember {
            room: room(),
            username: user(),
        },
        SocialCommand::AddRoomOperator {
            room: room(),
            username: user(),
        },
        SocialCommand::RemoveRoomOperator {
            room: room(),
            username: user(),
        },
        SocialCommand::DropMembership(room()),
        SocialCommand::DropOwnership(room()),
        SocialCommand::DropOperatorship(room()),
    ]
    .into_iter()
    .enumerate()
    {
        s.command(token as u32, social(command), now);
    }
    let names: Vec<&str> = sends(&drain(&mut s)).iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "PrivateRoomGrantMembership",
            "PrivateRoomRevokeMembership",
            "PrivateRoomGrantOperator",
            "PrivateRoomRevokeOperator",
            "PrivateRoomDropMembership",
            "PrivateRoomDropOwnership",
            "CancelRoomOperatorship",
        ]
    );

    // The login sequence for a private room: list, members, operators.
    s.server_message(
        ServerResponse::RoomList(RoomListResponse {
            rooms: vec![],
            rooms_private_owned: vec![],
            rooms_private: vec![RoomInfo {
                name: room(),
                user_count: 1,
            }],
            rooms_private_operated: vec![],
        }),
        now,
    );
    s.server_message(
        ServerResponse::PrivateRoomMembers(PrivateRoomMembersResponse {
            room: room(),
            members: vec![ME.into(), "op".into()],
        }),
        now,
    );
    s.server_message(
        ServerResponse::PrivateRoomOperators(PrivateRoomOperatorsResponse {
            room: room(),
            operators: vec!["op".into()],
        }),
        now,
    );
    s.server_message(private_join_reply("priv", &[ME], "owner", &["op"]), now);
    drain(&mut s);
    {
        let state = s.shared();
        let state = state.read();
        assert_eq!(state.private_rooms["priv"].members.len(), 2);
        let joined = &state.rooms["priv"];
        assert!(joined.is_private);
        assert_eq!(joined.owner.as_deref(), Some("owner"));
        assert!(joined.operators.contains("op"));
    }

    let pair = |r: ServerResponse| r;
    for message in [
        pair(
            PrivateRoomGrantMembershipResponse {
                room: room(),
                username: user(),
            }
            .into(),
        ),
        PrivateRoomGrantOperatorResponse {
            room: room(),
            username: user(),
        }
        .into(),
        PrivateRoomRevokeOperatorResponse {
            room: room(),
            username: "op".into(),
        }
        .into(),
        PrivateRoomOperatorGrantedResponse { room: room() }.into(),
    ] {
        s.server_message(message, now);
    }
    {
        let state = s.shared();
        let state = state.read();
        let private = &state.private_rooms["priv"];
        assert!(private.members.contains("bob"));
        assert_eq!(
            private.operators,
            ["bob".to_string(), ME.to_string()].into()
        );
        assert_eq!(state.rooms["priv"].operators, private.operators);
    }
    for message in [
        ServerResponse::from(PrivateRoomOperatorRevokedResponse { room: room() }),
        PrivateRoomRevokeMembershipResponse {
            room: room(),
            username: user(),
        }
        .into(),
        TogglePrivateRoomInvitesResponse { enabled: true }.into(),
    ] {
        s.server_message(message, now);
    }
    {
        let state = s.shared();
        let state = state.read();
        assert!(!state.private_rooms["priv"].members.contains("bob"));
        assert!(state.private_rooms["priv"].operators.is_empty());
    }
    let actions = drain(&mut s);
    assert_eq!(
        room_events(&actions),
        vec![
            RoomEvent::MemberAdded {
                room: room(),
                username: user()
            },
            RoomEvent::OperatorAdded {
                room: room(),
                username: user()
            },
            RoomEvent::OperatorRemoved {
                room: room(),
                username: "op".into()
            },
            RoomEvent::OperatorshipGranted { room: room() },
            RoomEvent::OperatorshipRevoked { room: room() },
            RoomEvent::MemberRemoved {
                room: room(),
                username: user()
            },
            RoomEvent::InvitationsEnabled(true),
        ]
    );

    // Losing the membership forgets the room and its lists; no rejoin.
    s.server_message(
        PrivateRoomMembershipRevokedResponse { room: room() }.into(),
        now,
    );
    assert_eq!(
        room_events(&drain(&mut s)),
        vec![RoomEvent::MembershipRevoked { room: room() }]
    );
    assert!(s.shared().read().private_rooms.is_empty());
    assert!(s.shared().read().rooms.is_empty());
    s.server_message(
        PrivateRoomMembershipGrantedResponse { room: room() }.into(),
        now,
    );
    assert_eq!(
        room_events(&drain(&mut s)),
        vec![RoomEvent::MembershipGranted { room: room() }]
    );
    assert!(s.shared().read().private_rooms["priv"].members.contains(ME));
    assert!(
        !reconnect(&mut s, now)
            .iter()
            .any(|m| matches!(m, ServerRequest::JoinRoom(_)))
    );

    let mut offline = session(config());
    offline.command(9, social(SocialCommand::DropMembership(room())), now);
    assert_eq!(
        replies(&drain(&mut offline)),
        vec![(9, Err(RequestError::NotConnected))]
    );
}

#[test]
fn room_list_request_and_pushes() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    let list = RoomListResponse {
        rooms: vec![RoomInfo {
            name: "big".into(),
            user_count: 50,
        }],
        rooms_private_owned: vec![],
        rooms_private: vec![],
        rooms_private_operated: vec![],
    };
    // Pushed (after login): kept and reported.
    s.server_message(list.clone().into(), now);
    assert_eq!(
        room_events(&drain(&mut s)),
        vec![RoomEvent::List(list.clone())]
    );
    s.command(1, social(SocialCommand::RoomList), now);
    s.command(2, social(SocialCommand::RoomList), now);
    assert_eq!(sends(&drain(&mut s)), vec![RoomListRequest.into()]);
    s.server_message(list.clone().into(), now);
    let answered = replies(&drain(&mut s));
    assert_eq!(
        answered,
        vec![
            (1, Ok(Reply::Social(SocialReply::RoomList(list.clone())))),
            (2, Ok(Reply::Social(SocialReply::RoomList(list.clone())))),
        ]
    );
    assert_eq!(s.shared().read().room_list, Some(list));
}

#[test]
fn privileges() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.server_message(
        PrivilegedUsersResponse {
            users: vec!["alice".into(), "bob".into()],
        }
        .into(),
        now,
    );
    s.server_message(
        AddPrivilegedUserResponse {
            username: "carol".into(),
        }
        .into(),
        now,
    );
    assert_eq!(s.shared().read().privileged.len(), 3);

    s.command(1, social(SocialCommand::CheckPrivileges), now);
    s.command(2, social(SocialCommand::CheckPrivileges), now);
    s.command(3, social(SocialCommand::UserPrivileged("bob".into())), now);
    s.command(
        4,
        social(SocialCommand::GivePrivileges {
            username: "bob".into(),
            days: 3,
        }),
        now,
    );
    let actions = drain(&mut s);
    assert_eq!(
        sends(&actions),
        vec![
            CheckPrivilegesRequest.into(),
            GetUserPrivilegesRequest {
                username: "bob".into()
            }
            .into(),
            GiveUserPrivilegesRequest {
                username: "bob".into(),
                days: 3
            }
            .into(),
        ]
    );
    assert_eq!(replies(&actions), vec![(4, Ok(Reply::Done))]);

    s.server_message(CheckPrivilegesResponse { time_left: 86400 }.into(), now);
    s.server_message(
        GetUserPrivilegesResponse {
            username: "bob".into(),
            privileged: false,
        }
        .into(),
        now,
    );
    let actions = drain(&mut s);
    let day = Duration::from_secs(86400);
    assert_eq!(
        replies(&actions),
        vec![
            (1, Ok(Reply::Social(SocialReply::Privileges(day)))),
            (2, Ok(Reply::Social(SocialReply::Privileges(day)))),
            (3, Ok(Reply::Social(SocialReply::Privileged(false)))),
        ]
    );
    assert_eq!(
        events(&actions),
        vec![
            Event::Privileges { time_left: day },
            Event::UserPrivileged {
                username: "bob".into(),
                privileged: false
            }
        ]
    );
    let state = s.shared();
    let state = state.read();
    assert_eq!(state.privileges, Some((day, now)));
    assert!(!state.privileged.contains("bob"));
}

#[test]
fn interest_queries_are_shared_and_unasked_replies_are_passed_on() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, social(SocialCommand::Recommendations), now);
    s.command(2, social(SocialCommand::Recommendations), now);
    s.command(
        3,
        social(SocialCommand::ItemRecommendations("Jazz".into())),
        now,
    );
    s.command(4, social(SocialCommand::GlobalRecommendations), now);
    s.command(5, social(SocialCommand::SimilarUsers), now);
    s.command(
        6,
        social(SocialCommand::ItemSimilarUsers("jazz".into())),
        now,
    );
    s.command(7, social(SocialCommand::UserInterests("bob".into())), now);
    let names: Vec<&str> = sends(&drain(&mut s)).iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "GetRecommendations",
            "GetItemRecommendations",
            "GetGlobalRecommendations",
            "GetSimilarUsers",
            "GetItemSimilarUsers",
            "GetUserInterests",
        ]
    );
    let recommendations = GetRecommendationsResponse {
        recommendations: vec![Recommendation {
            recommendation: "blues".into(),
            score: 2,
        }],
        unrecommendations: vec![Recommendation {
            recommendation: "noise".into(),
            score: -1,
        }],
    };
    s.server_message(recommendations.clone().into(), now);
    // The server lower-cased the item: still the answer to "Jazz".
    let item = GetItemRecommendationsResponse {
        item: "jazz".into(),
        recommendations: vec![],
    };
    s.server_message(item.clone().into(), now);
    let actions = drain(&mut s);
    assert_eq!(
        replies(&actions),
        vec![
            (
                1,
                Ok(Reply::Social(SocialReply::Recommendations(
                    recommendations.clone()
                )))
            ),
            (
                2,
                Ok(Reply::Social(SocialReply::Recommendations(
                    recommendations.clone()
                )))
            ),
            (3, Ok(Reply::Social(SocialReply::ItemRecommendations(item)))),
        ]
    );
    assert!(events(&actions).is_empty());

    // Nobody waits: the reply is passed on as it is.
    s.server_message(recommendations.clone().into(), now);
    assert_eq!(
        events(&drain(&mut s)),
        vec![Event::ServerMessage(recommendations.into())]
    );

    // The rest time out like any request.
    s.timer(now + Timing::default().request_timeout);
    let mut timed_out: Vec<u32> = replies(&drain(&mut s)).iter().map(|(t, _)| *t).collect();
    timed_out.sort_unstable();
    assert_eq!(timed_out, [4, 5, 6, 7]);
}

#[test]
fn interests_are_kept_and_sent_when_connected() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, social(SocialCommand::AddInterest("jazz".into())), now);
    s.command(
        2,
        social(SocialCommand::AddHatedInterest("noise".into())),
        now,
    );
    s.command(
        3,
        social(SocialCommand::RemoveHatedInterest("noise".into())),
        now,
    );
    let names: Vec<&str> = sends(&drain(&mut s)).iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        ["AddInterest", "AddHatedInterest", "RemoveHatedInterest"]
    );
    let interests = s.shared().read().interests.clone();
    assert_eq!(interests.liked, ["jazz".to_string()].into());
    assert!(interests.hated.is_empty());
}

#[test]
fn watched_users_are_kept_with_status_and_stats() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, Command::Watch("bob".into()), now);
    assert!(s.shared().read().watched["bob"].exists.is_none());
    s.server_message(
        ServerResponse::AddUser(AddUserResponse {
            username: "bob".into(),
            user: AddUserResponseUser::Exists {
                status: UserStatus::Away,
                stats: stats(3),
                country_code: None,
            },
        }),
        now,
    );
    s.server_message(status_reply("bob"), now);
    drain(&mut s);
    let bob = s.shared().read().watched["bob"].clone();
    assert_eq!(bob.exists, Some(true));
    assert_eq!(bob.stats, Some(stats(3)));
    assert_eq!(bob.privileged, Some(true));
    s.command(2, Command::Unwatch("bob".into()), now);
    assert!(s.shared().read().watched.is_empty());
}

#[test]
fn hostile_room_messages_never_panic_or_grow_without_bound() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    // Messages about rooms we are not in are reported, not kept.
    s.server_message(
        RoomTickerAddedResponse {
            room: "nowhere".into(),
            username: "x".into(),
            ticker: "y".into(),
        }
        .into(),
        now,
    );
    s.server_message(
        UserJoinedRoomResponse {
            room_name: "nowhere".into(),
            username: "x".into(),
            status: UserStatus::Online,
            stats: stats(0),
            slots_free: 0,
            country_code: String::new(),
        }
        .into(),
        now,
    );
    s.server_message(
        ServerResponse::JoinRoom(JoinRoomResponse {
            room_name: String::new(),
            users: vec![],
            owner: Some(String::new()),
            operators: None,
        }),
        now,
    );
    assert_eq!(room_events(&drain(&mut s)).len(), 3);
    assert_eq!(s.shared().read().rooms.len(), 1);
    for i in 0..crate::client::state::MAX_JOINED_ROOMS + 5 {
        s.server_message(join_reply(&format!("r{i}"), &[]), now);
    }
    drain(&mut s);
    assert_eq!(
        s.shared().read().rooms.len(),
        crate::client::state::MAX_JOINED_ROOMS
    );
    assert!(s.rejoin.rooms.len() <= crate::client::state::MAX_JOINED_ROOMS);
}

#[test]
fn a_private_room_given_up_by_its_owner_turns_public() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.server_message(private_join_reply("den", &[ME], ME, &["op"]), now);
    // The official server keeps the owner in the room it gave up, and its
    // room list update no longer names the room as private.
    s.server_message(
        ServerResponse::RoomList(RoomListResponse {
            rooms: vec![RoomInfo {
                name: "den".into(),
                user_count: 1,
            }],
            rooms_private_owned: vec![],
            rooms_private: vec![],
            rooms_private_operated: vec![],
        }),
        now,
    );
    drain(&mut s);
    let den = s.shared().read().rooms["den"].clone();
    assert!(!den.is_private);
    assert_eq!(den.owner, None);
    assert!(den.operators.is_empty());
    let sent = reconnect(&mut s, now);
    assert!(
        sent.contains(
            &JoinRoomRequest {
                room_name: "den".into(),
                is_private: Some(0)
            }
            .into()
        ),
        "rejoined as public, not created anew as private: {sent:?}"
    );
}
