//! Rooms and what survives a restart, over real sockets with raw
//! `MessageCodec` clients on loopback.

mod common;

use std::time::Duration;

use common::{Client, login_request, start, test_config};
use slsk_proto::server::*;
use slsk_proto::structures::{RoomInfo, RoomTicker};
use slsk_proto::tables::UserStatus;
use slsk_server::{Database, ServerConfig};

fn is_private_message(m: &ServerResponse, text: &str) -> Option<u32> {
    match m {
        ServerResponse::PrivateChatMessage(pm) if pm.username == "server" && pm.message == text => {
            Some(pm.chat_id)
        }
        _ => None,
    }
}

/// A command to `server`; returns its reply (acknowledged).
async fn command(client: &mut Client, text: &str) -> String {
    client
        .send(PrivateChatMessageRequest {
            username: "server".into(),
            message: text.into(),
        })
        .await;
    let reply = client
        .recv_until(
            |m| matches!(m, ServerResponse::PrivateChatMessage(pm) if pm.username == "server"),
        )
        .await;
    let ServerResponse::PrivateChatMessage(pm) = reply else {
        unreachable!()
    };
    client
        .send(PrivateChatMessageAckRequest {
            chat_id: pm.chat_id,
        })
        .await;
    pm.message
}

#[tokio::test]
async fn join_say_and_leave_over_sockets() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut alice = Client::login(addr, "alice", "pw").await;
    let mut bob = Client::login(addr, "bob", "pw").await;

    alice
        .send(JoinRoomRequest {
            room_name: "hall".into(),
            is_private: None,
        })
        .await;
    assert!(
        matches!(alice.recv().await, ServerResponse::UserJoinedRoom(j) if j.username == "alice")
    );
    assert!(matches!(alice.recv().await, ServerResponse::JoinRoom(j) if j.users.len() == 1));
    assert!(matches!(alice.recv().await, ServerResponse::RoomTickers(t) if t.tickers.is_empty()));

    bob.send(JoinRoomRequest {
        room_name: "hall".into(),
        is_private: Some(0),
    })
    .await;
    assert!(matches!(bob.recv().await, ServerResponse::UserJoinedRoom(j) if j.username == "bob"));
    let ServerResponse::JoinRoom(joined) = bob.recv().await else {
        panic!("JoinRoom expected");
    };
    let names: Vec<_> = joined.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(joined.users.iter().all(|u| u.status == UserStatus::Online));
    assert!(matches!(bob.recv().await, ServerResponse::RoomTickers(_)));
    assert!(matches!(alice.recv().await, ServerResponse::UserJoinedRoom(j) if j.username == "bob"));

    bob.send(RoomChatMessageRequest {
        room_name: "hall".into(),
        message: "hello, hall".into(),
    })
    .await;
    let line: ServerResponse = RoomChatMessageResponse {
        room_name: "hall".into(),
        username: "bob".into(),
        message: "hello, hall".into(),
    }
    .into();
    assert_eq!(alice.recv().await, line);
    assert_eq!(bob.recv().await, line);

    bob.send(LeaveRoomRequest {
        room_name: "hall".into(),
    })
    .await;
    assert_eq!(
        bob.recv().await,
        LeaveRoomResponse {
            room_name: "hall".into()
        }
        .into()
    );
    assert_eq!(
        alice.recv().await,
        UserLeftRoomResponse {
            room_name: "hall".into(),
            username: "bob".into()
        }
        .into()
    );
    drop(bob);
    alice.send(RoomListRequest).await;
    assert_eq!(
        alice.recv().await,
        RoomListResponse {
            rooms: vec![RoomInfo {
                name: "hall".into(),
                user_count: 1
            }],
            rooms_private_owned: vec![],
            rooms_private: vec![],
            rooms_private_operated: vec![],
        }
        .into()
    );
    server.shutdown().await;
}

/// Logs in and returns the post-login sequence after the Login reply.
async fn login_sequence(client: &mut Client, name: &str) -> Vec<ServerResponse> {
    client.send(login_request(name, "pw")).await;
    assert!(matches!(
        client.recv().await,
        ServerResponse::Login(LoginResponse::Success { .. })
    ));
    let mut sequence = Vec::new();
    loop {
        let message = client.recv().await;
        let end = matches!(message, ServerResponse::ExcludedSearchPhrases(_));
        sequence.push(message);
        if end {
            return sequence;
        }
    }
}

#[tokio::test]
async fn rooms_tickers_privileges_bans_admins_and_interests_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        database: Database::File(dir.path().join("server.db")),
        admins: vec!["root".into()],
        ..test_config()
    };
    let server = start(config.clone()).await;
    let addr = server.local_addr();
    let mut root = Client::login(addr, "root", "pw").await;
    drop(Client::login(addr, "mallory", "pw").await);
    let mut bob = Client::login(addr, "bob", "pw").await;
    bob.send(TogglePrivateRoomInvitesRequest { enable: true })
        .await;
    bob.recv_until(|m| matches!(m, ServerResponse::TogglePrivateRoomInvites(_)))
        .await;
    let mut alice = Client::login(addr, "alice", "pw").await;
    alice
        .send(JoinRoomRequest {
            room_name: "den".into(),
            is_private: Some(1),
        })
        .await;
    alice
        .recv_until(|m| matches!(m, ServerResponse::RoomTickers(_)))
        .await;
    for request in [
        ServerRequest::from(PrivateRoomGrantMembershipRequest {
            room: "den".into(),
            username: "bob".into(),
        }),
        PrivateRoomGrantOperatorRequest {
            room: "den".into(),
            username: "bob".into(),
        }
        .into(),
        SetRoomTickerRequest {
            room: "den".into(),
            ticker: "welcome to the den".into(),
        }
        .into(),
        AddInterestRequest {
            interest: "Jazz".into(),
        }
        .into(),
        AddHatedInterestRequest {
            hated_interest: "noise".into(),
        }
        .into(),
    ] {
        alice.send(request).await;
    }
    alice
        .recv_until(|m| matches!(m, ServerResponse::RoomTickerAdded(_)))
        .await;
    alice.sync("alice").await;
    assert_eq!(
        command(&mut root, "giveprivileges 5 alice").await,
        "Gave 5 days of privileges to alice."
    );
    assert_eq!(
        command(&mut root, "ban mallory").await,
        "mallory is banned for ever."
    );
    drop((alice, bob));
    server.shutdown().await;

    // Restarted without the admin in the configuration: the database has it.
    let server = start(ServerConfig {
        admins: vec![],
        login_timeout: Duration::from_secs(1),
        ..config
    })
    .await;
    let addr = server.local_addr();
    let mut root = Client::login(addr, "root", "pw").await;
    assert_eq!(command(&mut root, "admins").await, "Admins: root");

    let mut alice = Client::connect(addr).await;
    let sequence = login_sequence(&mut alice, "alice").await;
    let room_list = RoomListResponse {
        rooms: vec![],
        rooms_private_owned: vec![RoomInfo {
            name: "den".into(),
            user_count: 0,
        }],
        rooms_private: vec![],
        rooms_private_operated: vec![],
    };
    let list_at = sequence
        .iter()
        .position(|m| matches!(m, ServerResponse::RoomList(_)))
        .expect("RoomList at login");
    assert_eq!(
        sequence[list_at..list_at + 3],
        [
            room_list.into(),
            PrivateRoomMembersResponse {
                room: "den".into(),
                members: vec!["bob".into()]
            }
            .into(),
            PrivateRoomOperatorsResponse {
                room: "den".into(),
                operators: vec!["bob".into()]
            }
            .into(),
        ]
    );
    assert!(sequence.contains(&WishlistIntervalResponse { interval: 120 }.into()));
    assert!(
        sequence.contains(
            &PrivilegedUsersResponse {
                users: vec!["alice".into()]
            }
            .into()
        )
    );
    alice.send(CheckPrivilegesRequest).await;
    let ServerResponse::CheckPrivileges(left) = alice.recv().await else {
        panic!("CheckPrivileges expected");
    };
    assert!(left.time_left > 4 * 86_400 && left.time_left <= 5 * 86_400);

    alice
        .send(GetUserInterestsRequest {
            username: "alice".into(),
        })
        .await;
    assert_eq!(
        alice.recv().await,
        GetUserInterestsResponse {
            username: "alice".into(),
            interests: vec!["jazz".into()],
            hated_interests: vec!["noise".into()],
        }
        .into()
    );

    alice
        .send(JoinRoomRequest {
            room_name: "den".into(),
            is_private: None,
        })
        .await;
    let ServerResponse::JoinRoom(joined) = alice
        .recv_until(|m| matches!(m, ServerResponse::JoinRoom(_)))
        .await
    else {
        unreachable!()
    };
    assert_eq!(joined.owner.as_deref(), Some("alice"));
    assert_eq!(joined.operators, Some(vec!["bob".into()]));
    assert_eq!(
        alice.recv().await,
        RoomTickersResponse {
            room: "den".into(),
            tickers: vec![RoomTicker {
                username: "alice".into(),
                ticker: "welcome to the den".into()
            }],
        }
        .into()
    );

    // Still private: an outsider cannot enter.
    let mut carol = Client::login(addr, "carol", "pw").await;
    carol
        .send(JoinRoomRequest {
            room_name: "den".into(),
            is_private: None,
        })
        .await;
    assert_eq!(
        carol.recv().await,
        CannotCreateRoomResponse {
            room_name: "den".into()
        }
        .into()
    );
    let text = "The room you are trying to enter (den) is registered as private.";
    assert!(is_private_message(&carol.recv().await, text).is_some());

    // Still banned: no reply; the login timeout closes the connection.
    let mut mallory = Client::connect(addr).await;
    mallory.send(login_request("mallory", "pw")).await;
    assert_eq!(mallory.until_closed().await, []);
    server.shutdown().await;
}
