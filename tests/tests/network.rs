//! Our clients against our server on loopback, end to end: user info over
//! each connection path (direct, indirect, obfuscated) and the typed error
//! when none works; private messages online and, across a server restart
//! on the same database, offline; a second login kicking the first.
//!
//! Each path is forced by what the users advertise: a user whose
//! advertised port is closed cannot be dialled, so a connection to or from
//! them can only go the other way. [`PeerStats`] then shows which listener
//! or dial carried it.

mod support;

use std::time::{Duration, Instant};

use slsk_net::PeerStats;
use slsk_net::client::{Client, ClientConfig, Event, PeerRequestError, PrivateMessage};
use slsk_proto::tables::UploadPermissions;
use slsk_server::Database;
use support::network::{bounded, client_config, closed_port, login, start_server, wait_for};

const TEST_LIMIT: Duration = Duration::from_secs(60);

/// Fetches `target`'s user info from `asker` and checks it carries the
/// target's settings.
async fn check_user_info(asker: &Client, target: &str) {
    let info = asker
        .user_info(target)
        .await
        .unwrap_or_else(|e| panic!("user info of {target}: {e}"));
    assert_eq!(info.description, format!("{target} here"));
    assert_eq!(info.picture, None);
    assert_eq!(info.upload_slots, 0);
    assert_eq!(info.queue_size, 0);
    assert!(!info.has_slots_free);
    assert_eq!(info.upload_permissions, Some(UploadPermissions::NoOne));
}

/// Every connection counted.
fn total(stats: PeerStats) -> u64 {
    stats.accepted + stats.accepted_obfuscated + stats.dialled + stats.dialled_obfuscated
}

/// `config` advertising a port nobody listens on.
async fn unreachable(mut config: ClientConfig) -> ClientConfig {
    config.advertised_port = Some(closed_port().await);
    config
}

#[tokio::test]
async fn user_info_over_a_direct_connection() {
    bounded(TEST_LIMIT, async {
        let server = start_server(Database::InMemory).await;
        // Bob cannot dial alice back: only alice's dial can work.
        let (alice, _alice_events) =
            login(unreachable(client_config(&server, "alice")).await).await;
        let (bob, _bob_events) = login(client_config(&server, "bob")).await;

        check_user_info(&alice, "bob").await;
        // Bob answers on the connection alice opened, and asks on it too.
        check_user_info(&bob, "alice").await;

        assert_eq!(alice.peers().stats().dialled, 1);
        assert_eq!(alice.peers().stats().accepted, 0);
        assert_eq!(bob.peers().stats().accepted, 1);
        // Alice's request got its connection by dialling.
        let paths = alice.peers().stats().peer;
        assert_eq!((paths.direct, paths.total()), (1, 1), "{paths:?}");
        assert_eq!(bob.peers().stats().peer.total(), 0);
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn user_info_over_an_indirect_connection() {
    bounded(TEST_LIMIT, async {
        let server = start_server(Database::InMemory).await;
        let (alice, _alice_events) = login(client_config(&server, "alice")).await;
        // Bob's listening port is closed: alice's dial fails, and bob dials
        // her back (PierceFirewall) when the server relays her ConnectToPeer.
        let (bob, _bob_events) = login(unreachable(client_config(&server, "bob")).await).await;

        check_user_info(&alice, "bob").await;
        check_user_info(&bob, "alice").await;

        assert_eq!(alice.peers().stats().dialled, 0);
        assert_eq!(alice.peers().stats().accepted, 1);
        assert_eq!(bob.peers().stats().dialled, 1);
        // Alice's request got its connection through the server.
        let paths = alice.peers().stats().peer;
        assert_eq!((paths.indirect, paths.total()), (1, 1), "{paths:?}");
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn user_info_over_an_obfuscated_connection() {
    bounded(TEST_LIMIT, async {
        let server = start_server(Database::InMemory).await;
        // Alice dials obfuscated ports and cannot be dialled back.
        let mut config = unreachable(client_config(&server, "alice")).await;
        config.peer.dial_obfuscated = true;
        let (alice, _alice_events) = login(config).await;
        // Bob listens on an obfuscated port too; his plain one is closed.
        let mut config = unreachable(client_config(&server, "bob")).await;
        config.peer.obfuscated_listen_addr = Some("127.0.0.1:0".parse().unwrap());
        let (bob, _bob_events) = login(config).await;

        check_user_info(&alice, "bob").await;
        check_user_info(&bob, "alice").await;

        // One obfuscated connection, and no other.
        let (alice_stats, bob_stats) = (alice.peers().stats(), bob.peers().stats());
        assert_eq!(alice_stats.dialled_obfuscated, 1, "{alice_stats:?}");
        assert_eq!(bob_stats.accepted_obfuscated, 1, "{bob_stats:?}");
        assert_eq!(total(alice_stats) + total(bob_stats), 2);
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn cannot_connect_when_neither_path_works() {
    bounded(TEST_LIMIT, async {
        let server = start_server(Database::InMemory).await;
        let mut config = unreachable(client_config(&server, "alice")).await;
        // Only the peer's CannotConnect, relayed by the server, can end the
        // attempt within the test's limit.
        config.peer.indirect_timeout = Duration::from_secs(600);
        config.timing.peer_request_timeout = Duration::from_secs(600);
        let (alice, _alice_events) = login(config).await;
        let (bob, _bob_events) = login(unreachable(client_config(&server, "bob")).await).await;

        let started = Instant::now();
        assert_eq!(
            alice.user_info("bob").await,
            Err(PeerRequestError::Unreachable)
        );
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(
            alice.user_info("nobody").await,
            Err(PeerRequestError::Offline)
        );
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

/// The next private message, as received.
async fn next_private_message(events: &mut slsk_net::Events) -> PrivateMessage {
    match wait_for(events, |e| matches!(e, Event::PrivateMessage(_))).await {
        Event::PrivateMessage(message) => message,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn private_messages_arrive_online() {
    bounded(TEST_LIMIT, async {
        let server = start_server(Database::InMemory).await;
        let (alice, mut alice_events) = login(client_config(&server, "alice")).await;
        let (bob, mut bob_events) = login(client_config(&server, "bob")).await;

        alice.send_private_message("bob", "hi bob").await.unwrap();
        let message = next_private_message(&mut bob_events).await;
        assert_eq!(
            (message.username.as_str(), message.text.as_str()),
            ("alice", "hi bob")
        );
        assert!(!message.is_replay);

        bob.send_private_message("alice", "hi alice").await.unwrap();
        let message = next_private_message(&mut alice_events).await;
        assert_eq!(
            (message.username.as_str(), message.text.as_str()),
            ("bob", "hi alice")
        );
        assert!(!message.is_replay);
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn private_messages_to_an_offline_user_survive_a_server_restart() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::File(dir.path().join("server.db"));
        let server = start_server(database.clone()).await;
        // Bob registers, then leaves.
        let (bob, _) = login(client_config(&server, "bob")).await;
        bob.shutdown().await;
        let (alice, _alice_events) = login(client_config(&server, "alice")).await;
        alice
            .send_private_message("bob", "see you after the restart")
            .await
            .unwrap();
        // The server answers in order: once this reply is here, the message
        // is stored.
        alice.user_status("alice").await.unwrap();
        alice.shutdown().await;
        server.shutdown().await;

        let server = start_server(database).await;
        let (bob, mut bob_events) = login(client_config(&server, "bob")).await;
        let message = next_private_message(&mut bob_events).await;
        assert_eq!(
            (message.username.as_str(), message.text.as_str()),
            ("alice", "see you after the restart")
        );
        assert!(message.is_replay);
        // Acknowledged by the client: a new login gets nothing again.
        bob.user_status("bob").await.unwrap();
        bob.shutdown().await;
        let (bob, mut bob_events) = login(client_config(&server, "bob")).await;
        bob.user_status("bob").await.unwrap();
        while let Some(event) = bob_events.try_recv() {
            assert!(!matches!(event, Event::PrivateMessage(_)), "{event:?}");
        }
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_second_login_kicks_the_first() {
    bounded(TEST_LIMIT, async {
        let server = start_server(Database::InMemory).await;
        let (first, mut first_events) = login(client_config(&server, "alice")).await;
        let (second, _second_events) = login(client_config(&server, "alice")).await;

        assert_eq!(
            wait_for(&mut first_events, |e| matches!(e, Event::Kicked)).await,
            Event::Kicked
        );
        // The kicked session ends for good; the new one works.
        let end = tokio::time::timeout(Duration::from_secs(20), async {
            while first_events.recv().await.is_some() {}
        });
        end.await.expect("the kicked session's events end");
        assert!(first.is_closed());
        assert!(second.user_status("alice").await.is_ok());
        second.shutdown().await;
        server.shutdown().await;
    })
    .await;
}
