//! Rooms, private rooms, tickers, the public feed, privileges, interests and
//! watched users against a scripted fake server on loopback.

mod support;

use std::time::Duration;

use slsk_net::client::{Event, Events, RequestError, RoomEvent};
use slsk_proto::server::{
    AddInterestRequest, AddUserResponse, AddUserResponseUser, CannotCreateRoomResponse,
    CheckPrivilegesResponse, EnablePublicChatRequest, GetItemRecommendationsRequest,
    GetItemRecommendationsResponse, GetRecommendationsResponse, GetSimilarUsersResponse,
    GetUserInterestsRequest, GetUserInterestsResponse, GetUserPrivilegesRequest,
    GetUserPrivilegesResponse, GetUserStatusResponse, GiveUserPrivilegesRequest, JoinRoomRequest,
    JoinRoomResponse, LeaveRoomRequest, LeaveRoomResponse, PrivateRoomGrantMembershipRequest,
    PrivateRoomGrantMembershipResponse, PrivateRoomMembersResponse,
    PrivateRoomMembershipGrantedResponse, PrivateRoomOperatorsResponse, PrivilegedUsersResponse,
    PublicChatMessageResponse, RoomChatMessageRequest, RoomChatMessageResponse, RoomListResponse,
    RoomTickerAddedResponse, RoomTickersResponse, ServerRequest, ServerResponse,
    TogglePrivateRoomInvitesRequest, TogglePrivateRoomInvitesResponse, UserJoinedRoomResponse,
    UserLeftRoomResponse,
};
use slsk_proto::structures::{
    Recommendation, RoomInfo, RoomTicker, RoomUser, SimilarUser, UserStats,
};
use slsk_proto::tables::UserStatus;

use support::{FakeServer, ServerSide, logged_in, wait_for};

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
        slots_free: 2,
        country_code: String::new(),
    }
}

/// The next room event that matches.
async fn room_event(events: &mut Events, wanted: impl Fn(&RoomEvent) -> bool) -> RoomEvent {
    match wait_for(events, |e| matches!(e, Event::Room(r) if wanted(r))).await {
        Event::Room(event) => event,
        _ => unreachable!(),
    }
}

/// Answer a JoinRoom the way servers do: UserJoinedRoom for us, the
/// JoinRoom reply, then the tickers.
async fn answer_join(side: &mut ServerSide, me: &str, users: &[&str], tickers: Vec<RoomTicker>) {
    let room = match side.recv().await {
        ServerRequest::JoinRoom(join) => join.room_name,
        other => panic!("{other:?}"),
    };
    side.send(UserJoinedRoomResponse {
        room_name: room.clone(),
        username: me.into(),
        status: UserStatus::Online,
        stats: stats(1),
        slots_free: 2,
        country_code: String::new(),
    })
    .await;
    side.send(JoinRoomResponse {
        room_name: room.clone(),
        users: users.iter().map(|u| room_user(u)).collect(),
        owner: None,
        operators: None,
    })
    .await;
    side.send(RoomTickersResponse { room, tickers }).await;
}

#[tokio::test]
async fn joining_builds_the_member_list_and_pushes_keep_it_current() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    let tickers = vec![RoomTicker {
        username: "bob".into(),
        ticker: "welcome to the room".into(),
    }];
    let (joined, ()) = tokio::join!(
        client.join_room("nicotine"),
        answer_join(&mut side, "alice", &["alice", "bob"], tickers.clone())
    );
    let room = joined.unwrap();
    assert_eq!(room.name, "nicotine");
    assert!(!room.is_private);
    assert_eq!(room.users.keys().collect::<Vec<_>>(), ["alice", "bob"]);
    room_event(&mut events, |e| matches!(e, RoomEvent::Tickers { .. })).await;
    assert_eq!(client.room("nicotine").unwrap().tickers, tickers);

    side.send(UserJoinedRoomResponse {
        room_name: "nicotine".into(),
        username: "carol".into(),
        status: UserStatus::Away,
        stats: stats(5),
        slots_free: 0,
        country_code: "DE".into(),
    })
    .await;
    side.send(UserLeftRoomResponse {
        room_name: "nicotine".into(),
        username: "bob".into(),
    })
    .await;
    side.send(GetUserStatusResponse {
        username: "carol".into(),
        status: UserStatus::Online,
        privileged: false,
    })
    .await;
    side.send(RoomTickerAddedResponse {
        room: "nicotine".into(),
        username: "carol".into(),
        ticker: "hi".into(),
    })
    .await;
    room_event(&mut events, |e| matches!(e, RoomEvent::TickerSet { .. })).await;
    let room = client.room("nicotine").unwrap();
    assert_eq!(room.users.keys().collect::<Vec<_>>(), ["alice", "carol"]);
    assert_eq!(room.users["carol"].status, UserStatus::Online);
    assert_eq!(room.users["carol"].stats, stats(5));
    assert_eq!(room.tickers.len(), 2);
    assert_eq!(client.rooms(), vec![room]);

    // Say something; the server sends it back to everyone, us included.
    let (said, request) = tokio::join!(client.send_room_message("nicotine", "hello"), side.recv());
    said.unwrap();
    assert_eq!(
        request,
        RoomChatMessageRequest {
            room_name: "nicotine".into(),
            message: "hello".into()
        }
        .into()
    );
    side.send(RoomChatMessageResponse {
        room_name: "nicotine".into(),
        username: "carol".into(),
        message: "hello alice".into(),
    })
    .await;
    assert_eq!(
        room_event(&mut events, |e| matches!(e, RoomEvent::Message { .. })).await,
        RoomEvent::Message {
            room: "nicotine".into(),
            username: "carol".into(),
            text: "hello alice".into()
        }
    );

    // Leave: forgotten at once; the server's echo becomes an event.
    let (left, request) = tokio::join!(client.leave_room("nicotine"), side.recv());
    left.unwrap();
    assert_eq!(
        request,
        LeaveRoomRequest {
            room_name: "nicotine".into()
        }
        .into()
    );
    assert!(client.rooms().is_empty());
    side.send(LeaveRoomResponse {
        room_name: "nicotine".into(),
    })
    .await;
    room_event(&mut events, |e| matches!(e, RoomEvent::Left { .. })).await;
    client.shutdown().await;
}

#[tokio::test]
async fn refused_and_invalid_joins() {
    let server = FakeServer::start().await;
    let (client, _events, mut side) = logged_in(&server, server.config("alice")).await;
    assert!(matches!(
        client.join_room("two  spaces").await,
        Err(RequestError::InvalidRoomName(_))
    ));
    let (joined, ()) = tokio::join!(client.join_private_room("secret"), async {
        assert_eq!(
            side.recv().await,
            JoinRoomRequest {
                room_name: "secret".into(),
                is_private: Some(1)
            }
            .into()
        );
        side.send(CannotCreateRoomResponse {
            room_name: "secret".into(),
        })
        .await;
    });
    assert_eq!(joined, Err(RequestError::RoomIsPrivate));
    client.shutdown().await;
}

#[tokio::test]
async fn private_rooms_invitations_and_the_public_feed() {
    let server = FakeServer::start().await;
    let mut config = server.config("alice");
    config.room_invitations = true;
    let (client, side) = tokio::join!(slsk_net::Client::connect(config), async {
        let mut side = server.accept().await;
        let post = side.accept_login().await;
        assert!(post.contains(&TogglePrivateRoomInvitesRequest { enable: true }.into()));
        side
    });
    let (client, mut events) = client.unwrap();
    let mut side = side;
    assert!(client.room_invitations());
    side.send(TogglePrivateRoomInvitesResponse { enabled: true })
        .await;
    assert_eq!(
        room_event(&mut events, |e| matches!(
            e,
            RoomEvent::InvitationsEnabled(_)
        ))
        .await,
        RoomEvent::InvitationsEnabled(true)
    );

    // The server's sequence for a private room we belong to.
    side.send(RoomListResponse {
        rooms: vec![RoomInfo {
            name: "lobby".into(),
            user_count: 12,
        }],
        rooms_private_owned: vec![],
        rooms_private: vec![RoomInfo {
            name: "club".into(),
            user_count: 1,
        }],
        rooms_private_operated: vec![],
    })
    .await;
    side.send(PrivateRoomMembersResponse {
        room: "club".into(),
        members: vec!["alice".into(), "bob".into()],
    })
    .await;
    side.send(PrivateRoomOperatorsResponse {
        room: "club".into(),
        operators: vec!["bob".into()],
    })
    .await;
    room_event(&mut events, |e| {
        matches!(e, RoomEvent::PrivateOperators { .. })
    })
    .await;
    assert_eq!(client.room_list().unwrap().rooms[0].name, "lobby");
    let club = &client.private_rooms()[0];
    assert_eq!(club.name, "club");
    assert_eq!(club.members, ["alice".to_string(), "bob".into()].into());
    assert_eq!(club.operators, ["bob".to_string()].into());

    // Adding a member: our request, the server's broadcast.
    let (added, request) = tokio::join!(client.add_room_member("club", "carol"), side.recv());
    added.unwrap();
    assert_eq!(
        request,
        PrivateRoomGrantMembershipRequest {
            room: "club".into(),
            username: "carol".into()
        }
        .into()
    );
    side.send(PrivateRoomGrantMembershipResponse {
        room: "club".into(),
        username: "carol".into(),
    })
    .await;
    side.send(PrivateRoomMembershipGrantedResponse {
        room: "other".into(),
    })
    .await;
    room_event(&mut events, |e| {
        matches!(e, RoomEvent::MembershipGranted { .. })
    })
    .await;
    let rooms = client.private_rooms();
    assert!(rooms[0].members.contains("carol"));
    assert_eq!(rooms[1].name, "other");

    // The public feed.
    let (on, request) = tokio::join!(client.set_public_chat(true), side.recv());
    on.unwrap();
    assert_eq!(request, EnablePublicChatRequest.into());
    side.send(PublicChatMessageResponse {
        room: "lobby".into(),
        username: "dave".into(),
        message: "anyone?".into(),
    })
    .await;
    assert_eq!(
        room_event(&mut events, |e| matches!(
            e,
            RoomEvent::PublicMessage { .. }
        ))
        .await,
        RoomEvent::PublicMessage {
            room: "lobby".into(),
            username: "dave".into(),
            text: "anyone?".into()
        }
    );
    client.shutdown().await;
}

#[tokio::test]
async fn privileges_are_kept_and_asked() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    side.send(PrivilegedUsersResponse {
        users: vec!["bob".into(), "carol".into()],
    })
    .await;
    wait_for(&mut events, |e| matches!(e, Event::PrivilegedUsers(_))).await;
    assert_eq!(client.privileged_users(), ["bob", "carol"]);
    assert!(client.is_privileged("bob"));

    // The CheckPrivileges sent at login is answered now.
    side.send(CheckPrivilegesResponse { time_left: 3600 }).await;
    wait_for(&mut events, |e| matches!(e, Event::Privileges { .. })).await;
    let left = client.privileges_time_left().unwrap();
    assert!(left <= Duration::from_secs(3600) && left > Duration::from_secs(3000));

    let (checked, ()) = tokio::join!(client.check_privileges(), async {
        assert_eq!(side.recv().await.name(), "CheckPrivileges");
        side.send(CheckPrivilegesResponse { time_left: 7200 }).await;
    });
    assert_eq!(checked.unwrap(), Duration::from_secs(7200));

    let (privileged, ()) = tokio::join!(client.user_privileged("bob"), async {
        assert_eq!(
            side.recv().await,
            GetUserPrivilegesRequest {
                username: "bob".into()
            }
            .into()
        );
        side.send(GetUserPrivilegesResponse {
            username: "bob".into(),
            privileged: false,
        })
        .await;
    });
    assert!(!privileged.unwrap());
    assert!(!client.is_privileged("bob"));

    let (given, request) = tokio::join!(client.give_privileges("carol", 2), side.recv());
    given.unwrap();
    assert_eq!(
        request,
        GiveUserPrivilegesRequest {
            username: "carol".into(),
            days: 2
        }
        .into()
    );
    client.shutdown().await;
}

#[tokio::test]
async fn interests_and_recommendations() {
    let server = FakeServer::start().await;
    let (client, _events, mut side) = logged_in(&server, server.config("alice")).await;
    let (added, request) = tokio::join!(client.add_interest("jazz"), side.recv());
    added.unwrap();
    assert_eq!(
        request,
        AddInterestRequest {
            interest: "jazz".into()
        }
        .into()
    );
    assert!(client.interests().liked.contains("jazz"));

    let reply = GetRecommendationsResponse {
        recommendations: vec![Recommendation {
            recommendation: "blues".into(),
            score: 3,
        }],
        unrecommendations: vec![],
    };
    let (first, second, ()) =
        tokio::join!(client.recommendations(), client.recommendations(), async {
            assert_eq!(side.recv().await.name(), "GetRecommendations");
            side.send(reply.clone()).await;
        });
    assert_eq!(first.unwrap(), reply);
    assert_eq!(second.unwrap(), reply);

    let (items, ()) = tokio::join!(client.item_recommendations("Jazz"), async {
        assert_eq!(
            side.recv().await,
            GetItemRecommendationsRequest {
                item: "Jazz".into()
            }
            .into()
        );
        side.send(GetItemRecommendationsResponse {
            item: "jazz".into(),
            recommendations: vec![],
        })
        .await;
    });
    assert_eq!(items.unwrap().item, "jazz");

    let (similar, ()) = tokio::join!(client.similar_users(), async {
        assert_eq!(side.recv().await.name(), "GetSimilarUsers");
        side.send(GetSimilarUsersResponse {
            users: vec![SimilarUser {
                username: "bob".into(),
                score: 2,
            }],
        })
        .await;
    });
    assert_eq!(similar.unwrap()[0].username, "bob");

    let (theirs, ()) = tokio::join!(client.user_interests("bob"), async {
        assert_eq!(
            side.recv().await,
            GetUserInterestsRequest {
                username: "bob".into()
            }
            .into()
        );
        side.send(GetUserInterestsResponse {
            username: "bob".into(),
            interests: vec!["jazz".into()],
            hated_interests: vec![],
        })
        .await;
    });
    assert_eq!(theirs.unwrap().interests, ["jazz"]);
    client.shutdown().await;
}

#[tokio::test]
async fn watched_users_keep_status_and_stats() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    let (watched, ()) = tokio::join!(client.watch("bob"), async {
        assert_eq!(side.recv().await.name(), "AddUser");
        side.send(AddUserResponse {
            username: "bob".into(),
            user: AddUserResponseUser::Exists {
                status: UserStatus::Away,
                stats: stats(9),
                country_code: None,
            },
        })
        .await;
    });
    watched.unwrap();
    side.send(GetUserStatusResponse {
        username: "bob".into(),
        status: UserStatus::Online,
        privileged: true,
    })
    .await;
    wait_for(&mut events, |e| matches!(e, Event::UserStatus { .. })).await;
    let bob = client.watched_user("bob").unwrap();
    assert_eq!(bob.status, Some(UserStatus::Online));
    assert_eq!(bob.stats, Some(stats(9)));
    assert_eq!(bob.privileged, Some(true));
    assert_eq!(client.watched(), vec![bob]);
    client.unwatch("bob").await.unwrap();
    assert!(client.watched().is_empty());
    client.shutdown().await;
}

#[tokio::test]
async fn rooms_interests_and_settings_come_back_after_a_reconnect() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    let (joined, ()) = tokio::join!(
        client.join_room("nicotine"),
        answer_join(&mut side, "alice", &["alice", "bob"], vec![])
    );
    joined.unwrap();
    client.add_interest("jazz").await.unwrap();
    client.set_public_chat(true).await.unwrap();
    client.set_room_invitations(true).await.unwrap();
    for _ in 0..3 {
        side.recv().await;
    }
    drop(side);
    wait_for(&mut events, |e| matches!(e, Event::Disconnected)).await;
    assert!(client.rooms().is_empty(), "no stale member lists");

    let mut side = server.accept().await;
    let post = side.accept_login().await;
    let names: Vec<&str> = post.iter().map(|m| m.name()).collect();
    let from = names.iter().position(|n| *n == "SetStatus").unwrap();
    assert_eq!(
        names[from + 1..],
        [
            "AddInterest",
            "TogglePrivateRoomInvites",
            "EnablePublicChat",
            "JoinRoom",
            "AddUser"
        ]
    );
    assert!(
        post.contains(
            &JoinRoomRequest {
                room_name: "nicotine".into(),
                is_private: Some(0)
            }
            .into()
        )
    );
    // The server answers the rejoin; the room is back.
    side.send(ServerResponse::JoinRoom(JoinRoomResponse {
        room_name: "nicotine".into(),
        users: vec![room_user("alice"), room_user("carol")],
        owner: None,
        operators: None,
    }))
    .await;
    wait_for(&mut events, |e| matches!(e, Event::Reconnected(_))).await;
    room_event(&mut events, |e| matches!(e, RoomEvent::Joined(_))).await;
    assert_eq!(
        client
            .room("nicotine")
            .unwrap()
            .users
            .keys()
            .collect::<Vec<_>>(),
        ["alice", "carol"]
    );
    client.shutdown().await;
}
