//! The server over real sockets, with raw `MessageCodec` clients on loopback.

mod common;

use common::{Client, DEADLINE, login_request, start, test_config};
use slsk_proto::server::{
    AddUserRequest, FileSearchRequest, GetUserStatusResponse, LoginResponse,
    PrivateChatMessageAckRequest, PrivateChatMessageRequest, ServerResponse,
};
use slsk_proto::tables::{LoginRejectionReason, UserStatus};
use slsk_server::{Database, FloodLimits, Rate, ServerConfig};
use tokio::net::TcpSocket;
use tokio::time::timeout;

#[tokio::test]
async fn login_registers_then_checks_the_password() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut alice = Client::connect(addr).await;
    alice.send(login_request("alice", "secret")).await;
    match alice.recv().await {
        ServerResponse::Login(LoginResponse::Success { ip, md5_hash, .. }) => {
            assert_eq!(ip, std::net::Ipv4Addr::LOCALHOST);
            assert_eq!(md5_hash, slsk_proto::password_hash("secret"));
        }
        other => panic!("{other:?}"),
    }

    let mut intruder = Client::connect(addr).await;
    intruder.send(login_request("alice", "guess")).await;
    assert_eq!(
        intruder.recv().await,
        LoginResponse::Failure {
            reason: LoginRejectionReason::InvalidPassword,
            detail: None
        }
        .into()
    );
    // The rejected connection stays open and may try again.
    intruder.send(login_request("mallory", "pw")).await;
    assert!(matches!(
        intruder.recv().await,
        ServerResponse::Login(LoginResponse::Success { .. })
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn a_second_login_kicks_the_first() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut first = Client::login(addr, "alice", "pw").await;
    let mut watcher = Client::login(addr, "bob", "pw").await;
    watcher
        .send(AddUserRequest {
            username: "alice".into(),
        })
        .await;
    watcher
        .recv_until(|m| matches!(m, ServerResponse::AddUser(_)))
        .await;

    let _second = Client::login(addr, "alice", "pw").await;
    let rest = first.until_closed().await;
    assert_eq!(
        rest,
        [ServerResponse::Kicked(slsk_proto::server::KickedResponse)]
    );
    let status = |status| -> ServerResponse {
        GetUserStatusResponse {
            username: "alice".into(),
            status,
            privileged: false,
        }
        .into()
    };
    assert_eq!(watcher.recv().await, status(UserStatus::Offline));
    assert_eq!(watcher.recv().await, status(UserStatus::Online));
    server.shutdown().await;
}

#[tokio::test]
async fn a_message_to_an_offline_user_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        database: Database::File(dir.path().join("server.db")),
        ..test_config()
    };

    let server = start(config.clone()).await;
    let addr = server.local_addr();
    // Register bob, then leave.
    drop(Client::login(addr, "bob", "pw").await);
    let mut alice = Client::login(addr, "alice", "pw").await;
    alice
        .send(PrivateChatMessageRequest {
            username: "bob".into(),
            message: "see you after the restart".into(),
        })
        .await;
    alice.sync("alice").await;
    server.shutdown().await;

    let server = start(config.clone()).await;
    let addr = server.local_addr();
    let mut bob = Client::connect(addr).await;
    bob.send(login_request("bob", "pw")).await;
    assert!(matches!(
        bob.recv().await,
        ServerResponse::Login(LoginResponse::Success { .. })
    ));
    let ServerResponse::PrivateChatMessage(message) = bob.recv().await else {
        panic!("the queued message comes right after the Login reply");
    };
    assert_eq!(message.username, "alice");
    assert_eq!(message.message, "see you after the restart");
    assert_eq!(message.is_direct, Some(false));
    bob.send(PrivateChatMessageAckRequest {
        chat_id: message.chat_id,
    })
    .await;
    bob.sync("bob").await;
    drop(bob);

    // Acknowledged: not delivered again.
    let mut bob = Client::connect(addr).await;
    bob.send(login_request("bob", "pw")).await;
    assert!(matches!(bob.recv().await, ServerResponse::Login(_)));
    assert!(matches!(bob.recv().await, ServerResponse::RoomList(_)));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_while_others_go_on() {
    // No search rate limit here: the flood must reach the queues.
    let unlimited = Rate {
        burst: u32::MAX,
        per_minute: u32::MAX,
    };
    let server = start(ServerConfig {
        max_queued_bytes: 1 << 20,
        flood: FloodLimits {
            searches: unlimited,
            ..FloodLimits::default()
        },
        ..test_config()
    })
    .await;
    let addr = server.local_addr();

    // A small receive buffer, so the server's queue fills sooner.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = timeout(DEADLINE, socket.connect(addr))
        .await
        .unwrap()
        .unwrap();
    let mut sleeper = Client::over(stream);
    sleeper.send(login_request("sleeper", "pw")).await;
    sleeper
        .recv_until(|m| matches!(m, ServerResponse::ExcludedSearchPhrases(_)))
        .await;
    // From here on, `sleeper` reads nothing.

    let mut searcher = Client::login(addr, "searcher", "pw").await;
    let mut friend = Client::login(addr, "friend", "pw").await;
    searcher
        .send(AddUserRequest {
            username: "sleeper".into(),
        })
        .await;
    searcher
        .recv_until(|m| matches!(m, ServerResponse::AddUser(_)))
        .await;

    // Flood searches (every other user receives them) until the server
    // reports the sleeper offline; bounded.
    let (mut reader, mut writer) = (searcher.read, searcher.write);
    let flood = tokio::spawn(async move {
        use futures_util::SinkExt;
        let query = "x".repeat(256);
        for ticket in 0..200_000u32 {
            let search = FileSearchRequest {
                ticket,
                query: query.clone(),
            };
            if writer.send(search.into()).await.is_err() {
                break;
            }
        }
        writer
    });
    let friend_reader = tokio::spawn(async move {
        // The friend reads its share of the flood, as a live client does.
        while let Some(message) = friend.next().await {
            if let ServerResponse::PrivateChatMessage(m) = message {
                return (friend, m.message);
            }
        }
        panic!("friend disconnected");
    });
    let offline = timeout(DEADLINE, async {
        use futures_util::StreamExt;
        while let Some(Ok(Ok(message))) = reader.next().await {
            if let ServerResponse::GetUserStatus(s) = &message
                && s.username == "sleeper"
                && s.status == UserStatus::Offline
            {
                return true;
            }
        }
        false
    })
    .await
    .expect("the sleeper was never disconnected");
    assert!(offline);
    flood.abort();
    let _ = flood.await;

    // The others still work: a private message goes through.
    // (It reads too: searches read off the searcher's socket may still be
    // relayed to it.)
    let other = Client::login(addr, "other", "pw").await;
    let (mut other_read, mut other_write) = (other.read, other.write);
    let drain = tokio::spawn(async move {
        use futures_util::StreamExt;
        while let Some(Ok(_)) = other_read.next().await {}
    });
    use futures_util::SinkExt;
    let pm = PrivateChatMessageRequest {
        username: "friend".into(),
        message: "still here".into(),
    };
    timeout(DEADLINE, other_write.send(pm.into()))
        .await
        .unwrap()
        .unwrap();
    let (_friend, text) = timeout(DEADLINE, friend_reader).await.unwrap().unwrap();
    assert_eq!(text, "still here");
    drain.abort();
    drop(sleeper);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_length_fields_close_and_bad_payloads_are_skipped() {
    use tokio::io::AsyncWriteExt;
    let server = start(test_config()).await;
    let addr = server.local_addr();

    for length in [8189u32, u32::MAX, 0, 3] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(&length.to_le_bytes()).await.unwrap();
        let mut client = Client::over(stream);
        assert_eq!(client.until_closed().await, [], "length {length}");
    }

    // A Login whose username length runs past the frame is dropped; the
    // connection stays and the next Login works.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&[8, 0, 0, 0, 1, 0, 0, 0, 0xff, 0, 0, 0])
        .await
        .unwrap();
    let mut client = Client::over(stream);
    client.send(login_request("alice", "pw")).await;
    assert!(matches!(
        client.recv().await,
        ServerResponse::Login(LoginResponse::Success { .. })
    ));
    server.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_never_logs_in_is_closed() {
    let server = start(ServerConfig {
        login_timeout: std::time::Duration::from_millis(200),
        ..test_config()
    })
    .await;
    let mut idle = Client::connect(server.local_addr()).await;
    assert_eq!(idle.until_closed().await, []);
    server.shutdown().await;
}
