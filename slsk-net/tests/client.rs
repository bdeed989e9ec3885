//! The client session against a scripted fake server on loopback.

use std::net::Ipv4Addr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use slsk_net::MessageCodec;
use slsk_net::client::{
    CLIENT_MAJOR_VERSION, CLIENT_MINOR_VERSION, Client, ClientConfig, ConnectError, Event,
    OwnStatus, PeerRequestError, PrivateMessage, RequestError,
};
use slsk_proto::server::{
    GetPeerAddressRequest, GetPeerAddressResponse, GetUserStatusRequest, GetUserStatusResponse,
    KickedResponse, LoginResponse, PingRequest, PrivateChatMessageAckRequest,
    PrivateChatMessageRequest, PrivateChatMessageResponse, ServerRequest, ServerResponse,
    SetListenPortRequest,
};
use slsk_proto::tables::{LoginRejectionReason, ObfuscationType, UserStatus};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

mod support;

use support::{FakeServer, TIMEOUT, assert_events_end, logged_in, next_event, wait_for};

#[tokio::test]
async fn login_and_listen_port_share_one_write_then_post_login_messages() {
    let server = FakeServer::start().await;
    let config = server.config("alice");
    let (client, side) = tokio::join!(Client::connect(config), async {
        let mut side = server.accept().await;
        let first = side.first_read().await;
        side.send_login_success().await;
        let post = side.post_login().await;
        (first, post)
    });
    let (client, _events) = client.unwrap();
    let (first, post) = side;
    match first.as_slice() {
        [
            ServerRequest::Login(login),
            ServerRequest::SetListenPort(port),
        ] => {
            assert_eq!(login.username, "alice");
            assert_eq!(login.password, "secret");
            assert_eq!(login.version, CLIENT_MAJOR_VERSION);
            assert_eq!(login.minor_version, Some(CLIENT_MINOR_VERSION));
            assert_eq!(
                login.md5_hash.as_deref(),
                Some(slsk_proto::login_hash("alice", "secret").as_str())
            );
            assert_eq!(
                *port,
                SetListenPortRequest {
                    port: 2234,
                    obfuscation_type: Some(ObfuscationType::Rotated),
                    obfuscated_port: Some(2235),
                }
            );
        }
        other => panic!("first read: {other:?}"),
    }
    let names: Vec<&str> = post.iter().map(|m| m.name()).collect();
    assert_eq!(
        names,
        [
            "SetListenPort",
            "SharedFoldersFiles",
            "ToggleParentSearch",
            "BranchRoot",
            "BranchLevel",
            "AcceptChildren",
            "CheckPrivileges",
            "SetStatus",
            "TogglePrivateRoomInvites",
            "AddUser",
        ]
    );
    client.shutdown().await;
}

#[tokio::test]
async fn login_failure_surfaces_reason_and_detail() {
    let server = FakeServer::start().await;
    let config = server.config("a very long nick");
    let (result, ()) = tokio::join!(Client::connect(config), async {
        let mut side = server.accept().await;
        side.recv().await;
        side.send(ServerResponse::Login(LoginResponse::Failure {
            reason: LoginRejectionReason::InvalidUsername,
            detail: Some("Nick too long.".into()),
        }))
        .await;
        // The client closes the connection itself.
        while side.recv_or_eof().await.is_some() {}
    });
    match result {
        Err(error @ ConnectError::Rejected { .. }) => {
            assert_eq!(
                error.to_string(),
                "login rejected: INVALIDUSERNAME (Nick too long.)"
            );
            let ConnectError::Rejected { reason, detail } = error else {
                unreachable!()
            };
            assert_eq!(reason, LoginRejectionReason::InvalidUsername);
            assert_eq!(detail.as_deref(), Some("Nick too long."));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connect_errors_are_typed() {
    // A closed port: bind, note the address, close.
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let config = ClientConfig::new(addr.to_string(), "alice", "secret");
    match timeout(TIMEOUT, Client::connect(config)).await.unwrap() {
        Err(ConnectError::Io(_)) => {}
        other => panic!("{other:?}"),
    }

    // A server that accepts and never answers the login.
    let server = FakeServer::start().await;
    let mut config = server.config("alice");
    config.timing.login_timeout = Duration::from_millis(200);
    let (result, _side) = tokio::join!(Client::connect(config), server.accept());
    assert!(matches!(result, Err(ConnectError::Timeout)), "{result:?}");

    // A server that closes before answering.
    let server = FakeServer::start().await;
    let (result, ()) = tokio::join!(Client::connect(server.config("alice")), async {
        let mut side = server.accept().await;
        side.recv().await;
    });
    assert!(matches!(result, Err(ConnectError::Closed)), "{result:?}");
}

#[tokio::test]
async fn concurrent_status_requests_share_one_server_request() {
    let server = FakeServer::start().await;
    let (client, _events, mut side) = logged_in(&server, server.config("alice")).await;
    let (first, second, sentinel, ()) = tokio::join!(
        client.user_status("bob"),
        client.user_status("bob"),
        // Queued after both requests: when the server sees it, both have
        // reached the session.
        client.send(PingRequest.into()),
        async {
            assert_eq!(
                side.recv().await,
                GetUserStatusRequest {
                    username: "bob".into()
                }
                .into()
            );
            assert_eq!(side.recv().await, PingRequest.into(), "one request only");
            side.send(GetUserStatusResponse {
                username: "bob".into(),
                status: UserStatus::Away,
                privileged: true,
            })
            .await;
        }
    );
    sentinel.unwrap();
    let expected = GetUserStatusResponse {
        username: "bob".into(),
        status: UserStatus::Away,
        privileged: true,
    };
    assert_eq!(first.unwrap(), expected);
    assert_eq!(second.unwrap(), expected);
    client.shutdown().await;
}

#[tokio::test]
async fn unanswered_requests_time_out() {
    let server = FakeServer::start().await;
    let mut config = server.config("alice");
    config.timing.request_timeout = Duration::from_millis(100);
    let (client, _events, mut side) = logged_in(&server, config).await;
    let result = timeout(TIMEOUT, client.peer_address("bob")).await.unwrap();
    assert_eq!(result, Err(RequestError::Timeout));
    assert_eq!(
        side.recv().await,
        GetPeerAddressRequest {
            username: "bob".into()
        }
        .into()
    );
    client.shutdown().await;
}

#[tokio::test]
async fn private_messages_are_acknowledged_and_surfaced() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    side.send(PrivateChatMessageResponse {
        chat_id: 42,
        timestamp: 1_700_000_000,
        username: "bob".into(),
        message: "hello alice".into(),
        is_direct: Some(false),
    })
    .await;
    assert_eq!(
        side.recv().await,
        PrivateChatMessageAckRequest { chat_id: 42 }.into()
    );
    let event = wait_for(&mut events, |e| matches!(e, Event::PrivateMessage(_))).await;
    assert_eq!(
        event,
        Event::PrivateMessage(PrivateMessage {
            id: 42,
            timestamp: 1_700_000_000,
            username: "bob".into(),
            text: "hello alice".into(),
            is_replay: true,
        })
    );
    client.send_private_message("bob", "hi bob").await.unwrap();
    assert_eq!(
        side.recv().await,
        PrivateChatMessageRequest {
            username: "bob".into(),
            message: "hi bob".into()
        }
        .into()
    );
    client.shutdown().await;
}

#[tokio::test]
async fn reconnects_after_the_server_drops_the_connection() {
    let server = FakeServer::start().await;
    let (client, mut events, side) = logged_in(&server, server.config("alice")).await;
    client.set_status(OwnStatus::Away).await.unwrap();
    let (watch, mut side) = tokio::join!(client.watch("bob"), async {
        let mut side = side;
        let _status = side.recv().await;
        assert_eq!(side.recv().await.name(), "AddUser");
        side.send(ServerResponse::AddUser(
            slsk_proto::server::AddUserResponse {
                username: "bob".into(),
                user: slsk_proto::server::AddUserResponseUser::Missing,
            },
        ))
        .await;
        side
    });
    assert_eq!(
        watch.unwrap().user,
        slsk_proto::server::AddUserResponseUser::Missing
    );
    // Carol's watch is never answered: the connection drops first. She is
    // watched again after the reconnect all the same.
    let (carol, ()) = tokio::join!(client.watch("carol"), async move {
        assert_eq!(side.recv().await.name(), "AddUser");
        drop(side);
    });
    assert_eq!(carol, Err(RequestError::Disconnected));

    assert_eq!(
        wait_for(&mut events, |e| matches!(e, Event::Disconnected)).await,
        Event::Disconnected
    );
    assert!(matches!(
        next_event(&mut events).await,
        Event::Reconnecting { attempt: 1, .. }
    ));
    let mut side = server.accept().await;
    let post = side.accept_login().await;
    assert!(
        post.contains(
            &slsk_proto::server::SetStatusRequest {
                status: UserStatus::Away
            }
            .into()
        )
    );
    // Ourselves, then carol again (bob does not exist, so he is not).
    let mut rewatched = Vec::new();
    for message in post.iter().filter(|m| m.name() == "AddUser") {
        if let ServerRequest::AddUser(a) = message {
            rewatched.push(a.username.clone());
        }
    }
    rewatched.push(match side.recv().await {
        ServerRequest::AddUser(a) => a.username,
        other => panic!("{other:?}"),
    });
    assert_eq!(rewatched, ["alice", "carol"]);
    assert!(matches!(
        wait_for(&mut events, |e| matches!(e, Event::Reconnected(_))).await,
        Event::Reconnected(info) if info.greeting == "welcome"
    ));
    // And the session works.
    let (status, ()) = tokio::join!(client.user_status("bob"), async {
        assert_eq!(side.recv().await.name(), "GetUserStatus");
        side.send(GetUserStatusResponse {
            username: "bob".into(),
            status: UserStatus::Online,
            privileged: false,
        })
        .await;
    });
    assert_eq!(status.unwrap().status, UserStatus::Online);
    client.shutdown().await;
}

#[tokio::test]
async fn no_reconnect_after_kicked() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    side.send(KickedResponse).await;
    let rest = assert_events_end(&mut events).await;
    assert!(rest.contains(&Event::Kicked), "{rest:?}");
    assert!(
        !rest
            .iter()
            .any(|e| matches!(e, Event::Reconnecting { .. } | Event::Reconnected(_))),
        "{rest:?}"
    );
    // The client closed its side.
    while side.recv_or_eof().await.is_some() {}
    assert_eq!(client.user_status("bob").await, Err(RequestError::Closed));
    assert!(client.is_closed());
}

#[tokio::test]
async fn shutdown_closes_the_socket_and_ends_the_events() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    let other_handle = client.clone();
    client.shutdown().await;
    while side.recv_or_eof().await.is_some() {}
    // Events is also a Stream; it ends.
    let rest: Vec<Event> = timeout(TIMEOUT, (&mut events).collect())
        .await
        .expect("the stream ends");
    assert!(
        !rest.iter().any(|e| matches!(e, Event::Reconnecting { .. })),
        "{rest:?}"
    );
    assert!(events.recv().await.is_none());
    assert_eq!(
        other_handle.send_private_message("bob", "x").await,
        Err(RequestError::Closed)
    );
    // A second shutdown returns at once.
    timeout(TIMEOUT, other_handle.shutdown()).await.unwrap();
}

#[tokio::test]
async fn undecodable_messages_are_skipped() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    // A GetUserStatus (code 7) with a string length far past the payload.
    side.writer
        .get_mut()
        .try_write(&[8, 0, 0, 0, 7, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f])
        .unwrap();
    assert!(matches!(
        wait_for(&mut events, |e| matches!(e, Event::Undecodable(_))).await,
        Event::Undecodable(_)
    ));
    // The session goes on.
    side.send(GetUserStatusResponse {
        username: "bob".into(),
        status: UserStatus::Online,
        privileged: false,
    })
    .await;
    assert!(matches!(
        wait_for(&mut events, |e| matches!(e, Event::UserStatus { .. })).await,
        Event::UserStatus { username, .. } if username == "bob"
    ));
    client.shutdown().await;
}

#[tokio::test]
async fn password_change_is_confirmed_by_the_server() {
    let server = FakeServer::start().await;
    let (client, _events, mut side) = logged_in(&server, server.config("alice")).await;
    let (result, ()) = tokio::join!(client.change_password("n3w"), async {
        match side.recv().await {
            ServerRequest::NewPassword(request) => assert_eq!(request.password, "n3w"),
            other => panic!("{other:?}"),
        }
        // The server-to-client direction of code 142 (not in the schema yet).
        let mut payload = 3u32.to_le_bytes().to_vec();
        payload.extend_from_slice(b"n3w");
        side.send(ServerResponse::Unknown { code: 142, payload })
            .await;
    });
    result.unwrap();
    client.shutdown().await;
}

#[tokio::test]
async fn without_overrides_the_bound_ports_are_advertised() {
    let server = FakeServer::start().await;
    let mut config = server.config("alice");
    config.advertised_port = None;
    config.advertised_obfuscated_port = None;
    let (client, side) = tokio::join!(Client::connect(config), async {
        let mut side = server.accept().await;
        let first = side.first_read().await;
        side.send_login_success().await;
        first
    });
    let (client, _events) = client.unwrap();
    let peers = client.peers();
    assert_ne!(peers.listen_port(), 0);
    assert_eq!(
        side[1],
        SetListenPortRequest {
            port: u32::from(peers.listen_port()),
            obfuscation_type: Some(ObfuscationType::Rotated),
            obfuscated_port: peers.obfuscated_port().map(u32::from),
        }
        .into()
    );
    client.shutdown().await;
}

#[tokio::test]
async fn the_peer_layer_talks_to_the_server_through_the_session() {
    let server = FakeServer::start().await;
    let (client, _events, mut side) = logged_in(&server, server.config("alice")).await;
    let (result, ()) = tokio::join!(client.user_info("bob"), async {
        // The peer layer's requests go out on the session's connection...
        assert_eq!(
            side.recv().await,
            GetPeerAddressRequest {
                username: "bob".into()
            }
            .into()
        );
        assert!(
            matches!(side.recv().await, ServerRequest::ConnectToPeer(r) if r.username == "bob")
        );
        // ...and the server's answer reaches it: bob is offline.
        side.send(GetPeerAddressResponse {
            username: "bob".into(),
            ip: Ipv4Addr::UNSPECIFIED,
            port: 0,
            obfuscation_type: None,
            obfuscated_port: None,
        })
        .await;
    });
    assert_eq!(result, Err(PeerRequestError::Offline));
    client.shutdown().await;
    assert_eq!(client.user_info("bob").await, Err(PeerRequestError::Closed));
}

#[tokio::test]
async fn a_slow_consumer_gets_every_event_in_order() {
    let server = FakeServer::start().await;
    let mut config = server.config("alice");
    config.event_capacity = 1;
    let (client, mut events, mut side) = logged_in(&server, config).await;
    for i in 0..200u32 {
        side.send(GetUserStatusResponse {
            username: format!("user{i}"),
            status: UserStatus::Online,
            privileged: false,
        })
        .await;
    }
    for i in 0..200u32 {
        let event = wait_for(&mut events, |e| matches!(e, Event::UserStatus { .. })).await;
        assert!(
            matches!(&event, Event::UserStatus { username, .. } if *username == format!("user{i}")),
            "{event:?}"
        );
    }
    client.shutdown().await;
}

#[tokio::test]
async fn an_oversized_frame_drops_the_connection_and_the_session_reconnects() {
    let server = FakeServer::start().await;
    let (client, mut events, mut side) = logged_in(&server, server.config("alice")).await;
    // A length prefix far over any limit: nothing after it can be trusted.
    side.writer
        .get_mut()
        .try_write(&[0xf0, 0xff, 0xff, 0xff, 1, 0, 0, 0])
        .unwrap();
    wait_for(&mut events, |e| matches!(e, Event::Disconnected)).await;
    let mut side = server.accept().await;
    side.accept_login().await;
    wait_for(&mut events, |e| matches!(e, Event::Reconnected(_))).await;
    client.shutdown().await;
}

#[tokio::test]
async fn a_server_that_stops_reading_is_dropped_after_the_write_timeout() {
    let server = FakeServer::start().await;
    let mut config = server.config("alice");
    config.timing.write_timeout = Duration::from_millis(200);
    config.reconnect.enabled = false;
    let (client, mut events, _side) = logged_in(&server, config).await;
    // The fake server never reads again: fill the socket buffers until a
    // write cannot finish. Bounded: loopback buffers are a few MiB at most.
    let text = "x".repeat(1 << 20);
    for _ in 0..256 {
        if client.send_private_message("bob", &text).await.is_err() {
            break;
        }
    }
    assert_eq!(
        wait_for(&mut events, |e| matches!(e, Event::Disconnected)).await,
        Event::Disconnected
    );
    assert_events_end(&mut events).await;
    assert!(client.is_closed());
}

#[tokio::test]
async fn a_peer_port_already_taken_fails_the_connect() {
    let server = FakeServer::start().await;
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = server.config("alice");
    config.peer.listen_addr = taken.local_addr().unwrap();
    let result = timeout(TIMEOUT, Client::connect(config)).await.unwrap();
    assert!(matches!(result, Err(ConnectError::Listen(_))), "{result:?}");
}

#[tokio::test]
async fn peers_get_our_user_info_and_other_or_bad_peer_messages_become_events() {
    use slsk_proto::FramedMessage;
    use slsk_proto::peer::{PeerMessage, PeerUserInfoReply, PeerUserInfoRequest};
    use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
    use slsk_proto::tables::ConnectionType;
    use tokio::io::AsyncWriteExt;
    use tokio_util::codec::Framed;

    let server = FakeServer::start().await;
    let mut config = server.config("alice");
    config.user_info.description = "alice here".into();
    let (client, mut events, _side) = logged_in(&server, config).await;

    // A raw peer, "mallory", opens a P connection to alice.
    let mut socket = TcpStream::connect(("127.0.0.1", client.peers().listen_port()))
        .await
        .unwrap();
    let init = PeerInitMessage::from(PeerInit {
        username: "mallory".into(),
        connection_type: ConnectionType::Peer,
        ticket: 0.into(),
    });
    socket.write_all(&init.to_frame().unwrap()).await.unwrap();
    let mut peer = Framed::new(socket, MessageCodec::<PeerMessage>::default());
    let next_reply = async |peer: &mut Framed<TcpStream, MessageCodec<PeerMessage>>| match timeout(
        TIMEOUT,
        peer.next(),
    )
    .await
    .unwrap()
    {
        Some(Ok(Ok(PeerMessage::PeerUserInfoReply(reply)))) => reply,
        other => panic!("expected a user info reply, got {other:?}"),
    };

    peer.send(PeerUserInfoRequest.into()).await.unwrap();
    assert_eq!(next_reply(&mut peer).await.description, "alice here");

    // A frame that does not decode (a user info reply cut short): reported,
    // and the connection goes on.
    let mut bad = 5u32.to_le_bytes().to_vec();
    bad.extend_from_slice(&16u32.to_le_bytes());
    bad.push(1);
    peer.get_mut().write_all(&bad).await.unwrap();
    let event = wait_for(&mut events, |e| matches!(e, Event::PeerBadMessage { .. })).await;
    assert!(
        matches!(&event, Event::PeerBadMessage { username, .. } if username == "mallory"),
        "{event:?}"
    );

    // A message the client does not handle arrives as an event.
    let unknown = PeerMessage::Unknown {
        code: 9000,
        payload: vec![1, 2, 3],
    };
    peer.send(unknown.clone()).await.unwrap();
    assert_eq!(
        wait_for(&mut events, |e| matches!(e, Event::PeerMessage { .. })).await,
        Event::PeerMessage {
            username: "mallory".into(),
            message: unknown
        }
    );

    // A flood of requests is answered within bounds; the client goes on.
    for _ in 0..500 {
        peer.feed(PeerUserInfoRequest.into()).await.unwrap();
    }
    peer.flush().await.unwrap();
    assert_eq!(next_reply(&mut peer).await.description, "alice here");
    // A reply nobody asked for is an event too.
    let unsolicited = PeerUserInfoReply {
        description: "mallory".into(),
        picture: None,
        upload_slots: 1,
        queue_size: 0,
        has_slots_free: true,
        upload_permissions: None,
    };
    peer.send(unsolicited.clone().into()).await.unwrap();
    assert_eq!(
        wait_for(&mut events, |e| matches!(e, Event::PeerMessage { .. })).await,
        Event::PeerMessage {
            username: "mallory".into(),
            message: unsolicited.into()
        }
    );
    client.shutdown().await;
}
