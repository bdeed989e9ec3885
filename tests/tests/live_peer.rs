//! Self-test of the aioslsk live-peer harness (`support/aioslsk_peer.rs`,
//! `tests/live/`): everything that needs no Soulseek server. The driver
//! starts, answers and refuses bad commands, its loopback guard refuses every
//! way out before anything reaches the network, a refusal fails every later
//! call on the peer, aioslsk listens on 127.0.0.1 only, and the driver stops on stdin close, on `stop` and at its deadline.
//!
//! `two_peers_through_a_server` (ignored) runs two peers against a server
//! given by `SLSK_LIVE_SERVER_PORT` on 127.0.0.1.

mod support;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use support::aioslsk_peer::{
    AioslskPeer, DEADLINE_EXIT_CODE, Inbound, PeerError, PeerOptions, StartOptions,
    free_loopback_port, parse_line,
};

/// Bounds a whole test, the first venv creation (~10-60 s) included.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(300), test)
        .await
        .expect("the test took over 300 s")
}

const SHORT: Duration = Duration::from_secs(30);

fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("live-peer")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn parse_line_sorts_replies_and_events_and_rejects_the_rest() {
    assert_eq!(
        parse_line(br#"{"type":"reply","id":7,"ok":true,"result":{}}"#),
        Ok(Inbound::Reply(
            7,
            json!({"type":"reply","id":7,"ok":true,"result":{}})
        ))
    );
    assert_eq!(
        parse_line(br#"{"type":"event","event":"kicked"}"#),
        Ok(Inbound::Event(json!({"type":"event","event":"kicked"})))
    );
    for hostile in [
        &b""[..],
        b"not json",
        b"\xff\xfe",
        b"[1,2]",
        br#"{"type":"reply","ok":true}"#,
        br#"{"type":"reply","id":null,"ok":false}"#,
        br#"{"type":"reply","id":-1,"ok":true}"#,
        br#"{"type":"reply","id":1}"#,
        br#"{"type":"event","event":3}"#,
        br#"{"type":"other"}"#,
        br#"{"type":"event","event":"x""#,
    ] {
        assert!(parse_line(hostile).is_err(), "{hostile:?} accepted");
    }
}

#[tokio::test]
async fn driver_answers_refuses_bad_commands_and_stops_on_request() {
    bounded(async {
        let peer = AioslskPeer::spawn(PeerOptions::named("commands"))
            .await
            .unwrap();
        let pong = peer.command("ping", Value::Null).await.unwrap();
        assert_eq!(pong["aioslsk"], "1.7.1");

        let refused = |result: Result<Value, PeerError>, expected: &str| match result {
            Err(PeerError::Command { kind, message, .. }) => {
                assert_eq!(kind, "CommandError", "{message}");
                assert!(message.contains(expected), "{message}");
            }
            other => panic!("expected a refusal with {expected:?}, got {other:?}"),
        };
        refused(
            peer.command("fly", Value::Null).await,
            "unknown command 'fly'",
        );
        refused(peer.login().await, "not started");
        refused(
            peer.command(
                "start",
                json!({"username": "a", "password": "b", "server_port": "2242"}),
            )
            .await,
            "'server_port' must be int",
        );
        refused(
            peer.command("start", json!({"username": "a", "password": "b"}))
                .await,
            "missing argument 'server_port'",
        );
        assert!(matches!(
            peer.command("ping", json!([1])).await,
            Err(PeerError::Protocol(_))
        ));

        let status = peer.stop().await.unwrap();
        assert_eq!(status.code(), Some(0));
        peer.event("driver_stopped", SHORT).await.unwrap();
        assert!(matches!(
            peer.command("ping", Value::Null).await,
            Err(PeerError::Exited { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn loopback_guard_refuses_every_way_out_before_the_network() {
    bounded(async {
        let peer = AioslskPeer::spawn(PeerOptions::named("guard"))
            .await
            .unwrap();
        let report = peer.command("check_guard", Value::Null).await.unwrap();
        let attempts = report["attempts"].as_array().unwrap();
        for attempt in attempts {
            // "refused" at the layer tried: the guard stopped it there, before
            // any lower layer (for asyncio calls: before any socket existed).
            // "tripwire" would mean the guard let it through.
            assert_eq!(attempt["outcome"], "refused", "{attempt}");
            assert_eq!(attempt["layer"], attempt["expected_layer"], "{attempt}");
        }
        let mut layers: Vec<&str> = attempts
            .iter()
            .map(|a| a["layer"].as_str().unwrap())
            .collect();
        layers.dedup();
        assert_eq!(
            layers,
            [
                "asyncio.open_connection",
                "asyncio.start_server",
                "loop.create_connection",
                "loop.create_server",
                "loop.create_datagram_endpoint",
                "socket.connect",
                "socket.connect_ex",
                "socket.bind",
                "socket.sendto",
                "socket.sendmsg",
                "socket.getaddrinfo",
            ]
        );
        assert_eq!(report["loopback_control"], "connected");
        // Deliberate refusals are not reported as aioslsk leaving loopback.
        peer.command("ping", Value::Null).await.unwrap();
        assert!(
            peer.drain_events()
                .iter()
                .all(|e| e["event"] != "guard_refused")
        );
    })
    .await;
}

#[tokio::test]
async fn a_guard_refusal_fails_every_later_call() {
    bounded(async {
        let peer = AioslskPeer::spawn(PeerOptions::named("escape"))
            .await
            .unwrap();
        // The driver reports the refusal (as it would one of aioslsk's) before
        // its reply, so the command itself already fails.
        match peer.command("simulate_escape", Value::Null).await {
            Err(PeerError::LeftLoopback { refusals }) => {
                assert_eq!(refusals.len(), 1);
                assert_eq!(refusals[0]["layer"], "asyncio.open_connection");
                assert_eq!(refusals[0]["address"], "('192.0.2.1', 9)");
            }
            other => panic!("expected LeftLoopback, got {other:?}"),
        }
        assert!(matches!(
            peer.command("ping", Value::Null).await,
            Err(PeerError::LeftLoopback { .. })
        ));
        assert!(matches!(
            peer.event("driver_ready", SHORT).await,
            Err(PeerError::LeftLoopback { .. })
        ));
    })
    .await;
}

/// Local addresses of the listening TCP sockets on `port`, from
/// /proc/net/tcp ("0100007F" is 127.0.0.1, "00000000" is 0.0.0.0).
fn listening_addresses(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let (address, hex_port) = fields.get(1)?.split_once(':')?;
            let listening = fields.get(3) == Some(&"0A");
            (listening && u16::from_str_radix(hex_port, 16).ok()? == port)
                .then(|| address.to_string())
        })
        .collect()
}

#[tokio::test]
async fn aioslsk_listens_on_loopback_only_and_reports_an_unreachable_server() {
    bounded(async {
        let dir = scratch_dir("unreachable");
        let peer = AioslskPeer::spawn(PeerOptions::named("unreachable"))
            .await
            .unwrap();
        // Nothing listens there: the port was free a moment ago.
        let mut options = StartOptions::new("nobody", "pw", free_loopback_port(), &dir);
        options.obfuscated_port = free_loopback_port();
        options.scan_on_start = false;
        match peer.start(&options).await {
            Err(PeerError::Command { kind, message, .. }) => {
                assert_eq!(kind, "ConnectionFailedError", "{message}");
                assert!(message.starts_with("127.0.0.1:"), "{message}");
            }
            other => panic!("start without a server: {other:?}"),
        }
        // aioslsk opened its listening ports before trying the server.
        for port in [options.listen_port, options.obfuscated_port] {
            assert_eq!(listening_addresses(port), ["0100007F"], "port {port}");
        }
        assert_eq!(peer.stop().await.unwrap().code(), Some(0));
    })
    .await;
}

#[tokio::test]
async fn driver_stops_when_its_stdin_closes() {
    bounded(async {
        let peer = AioslskPeer::spawn(PeerOptions::named("stdin"))
            .await
            .unwrap();
        peer.close_stdin().await;
        let status = peer.wait_exit(SHORT).await.unwrap();
        assert_eq!(status.code(), Some(0));
        let stopped = peer.event("driver_stopped", SHORT).await.unwrap();
        assert_eq!(stopped["exit_code"], 0);
    })
    .await;
}

#[tokio::test]
async fn driver_stops_at_its_deadline() {
    bounded(async {
        let mut options = PeerOptions::named("deadline");
        options.deadline = Duration::from_secs(3);
        let peer = AioslskPeer::spawn(options).await.unwrap();
        let deadline = peer.event("deadline", SHORT).await.unwrap();
        assert_eq!(deadline["seconds"], 3.0);
        let status = peer.wait_exit(SHORT).await.unwrap();
        assert_eq!(status.code(), Some(DEADLINE_EXIT_CODE));
    })
    .await;
}

/// Two aioslsk peers log in to the server on 127.0.0.1:$SLSK_LIVE_SERVER_PORT,
/// exchange private messages and fetch each other's user info.
#[tokio::test]
#[ignore = "needs a Soulseek server on 127.0.0.1:$SLSK_LIVE_SERVER_PORT"]
async fn two_peers_through_a_server() {
    let server_port: u16 = std::env::var("SLSK_LIVE_SERVER_PORT")
        .expect("set SLSK_LIVE_SERVER_PORT to the server's port on 127.0.0.1")
        .parse()
        .expect("SLSK_LIVE_SERVER_PORT is a port number");
    bounded(async {
        let dir = scratch_dir("two-peers");
        let mut peers = Vec::new();
        for (name, description) in [("alice", "alice here"), ("bob", "bob here")] {
            let peer = AioslskPeer::spawn(PeerOptions::named(name)).await.unwrap();
            let downloads = dir.join(name);
            std::fs::create_dir_all(&downloads).unwrap();
            let mut options = StartOptions::new(name, "secret", server_port, &downloads);
            options.description = Some(description.into());
            options.scan_on_start = false;
            peer.start(&options).await.unwrap();
            let session = peer.login().await.unwrap();
            assert_eq!(session["username"], name);
            peers.push(peer);
        }
        let (alice, bob) = (&peers[0], &peers[1]);

        alice.send_private_message("bob", "hi bob").await.unwrap();
        let message = bob.event("private_message", SHORT).await.unwrap();
        assert_eq!(
            (&message["user"], &message["text"]),
            (&json!("alice"), &json!("hi bob"))
        );
        bob.send_private_message("alice", "hi alice").await.unwrap();
        let message = alice.event("private_message", SHORT).await.unwrap();
        assert_eq!(
            (&message["user"], &message["text"]),
            (&json!("bob"), &json!("hi alice"))
        );

        let info = alice.get_user_info("bob").await.unwrap();
        assert_eq!(info.description, "bob here");
        bob.set_description("bob, changed").await.unwrap();
        assert_eq!(
            alice.get_user_info("bob").await.unwrap().description,
            "bob, changed"
        );
        assert_eq!(
            bob.get_user_info("alice").await.unwrap().description,
            "alice here"
        );

        for peer in &peers {
            assert_eq!(peer.stop().await.unwrap().code(), Some(0));
        }
    })
    .await;
}

/// Against the same server: bob shares a file, alice finds it with a global
/// search, browses bob, downloads it byte for byte, and both talk in a room.
#[tokio::test]
#[ignore = "needs a Soulseek server on 127.0.0.1:$SLSK_LIVE_SERVER_PORT"]
async fn two_peers_search_browse_download_and_chat() {
    let server_port: u16 = std::env::var("SLSK_LIVE_SERVER_PORT")
        .expect("set SLSK_LIVE_SERVER_PORT to the server's port on 127.0.0.1")
        .parse()
        .expect("SLSK_LIVE_SERVER_PORT is a port number");
    bounded(async {
        let dir = scratch_dir("share");
        let shared = dir.join("bob-shared");
        std::fs::create_dir_all(&shared).unwrap();
        let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(shared.join("unusual-track.bin"), &content).unwrap();

        let mut peers = Vec::new();
        for name in ["carol", "dave"] {
            let peer = AioslskPeer::spawn(PeerOptions::named(name)).await.unwrap();
            let downloads = dir.join(format!("{name}-downloads"));
            std::fs::create_dir_all(&downloads).unwrap();
            let mut options = StartOptions::new(name, "secret", server_port, &downloads);
            if name == "dave" {
                options.shared_dirs.push(shared.clone());
            }
            peer.start(&options).await.unwrap();
            peer.login().await.unwrap();
            peers.push(peer);
        }
        let (carol, dave) = (&peers[0], &peers[1]);
        let scanned = dave.event("scan_complete", SHORT).await.unwrap();
        assert_eq!(scanned["file_count"], 1);

        let ticket = carol.global_search("unusual track").await.unwrap();
        let result = carol
            .next_event(
                |e| e["event"] == "search_result" && e["ticket"] == ticket,
                SHORT,
            )
            .await
            .unwrap();
        assert_eq!(result["username"], "dave");
        let remote_path = result["files"][0]["filename"].as_str().unwrap().to_string();
        assert!(
            remote_path.ends_with("\\unusual-track.bin"),
            "{remote_path}"
        );

        let shares = carol.browse("dave").await.unwrap();
        let directory = &shares["directories"][0];
        assert_eq!(directory["files"][0]["filesize"], content.len());
        assert_eq!(
            format!(
                "{}\\{}",
                directory["name"].as_str().unwrap(),
                directory["files"][0]["filename"].as_str().unwrap()
            ),
            remote_path
        );

        carol.download("dave", &remote_path).await.unwrap();
        let done = carol
            .next_event(
                |e| {
                    e["remote_path"] == remote_path.as_str()
                        && ["transfer_complete", "transfer_failed", "transfer_aborted"]
                            .contains(&e["event"].as_str().unwrap_or(""))
                },
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(done["event"], "transfer_complete", "{done}");
        let local = done["local_path"].as_str().unwrap();
        assert_eq!(std::fs::read(local).unwrap(), content);

        carol.join_room("harness").await.unwrap();
        dave.join_room("harness").await.unwrap();
        carol.say_room("harness", "hello room").await.unwrap();
        let said = dave
            .next_event(|e| e["event"] == "room_message", SHORT)
            .await
            .unwrap();
        assert_eq!(
            (&said["room"], &said["user"], &said["text"]),
            (&json!("harness"), &json!("carol"), &json!("hello room"))
        );
        carol.leave_room("harness").await.unwrap();
        let left = dave
            .next_event(|e| e["event"] == "room_left" && e["user"] == "carol", SHORT)
            .await
            .unwrap();
        assert_eq!(left["room"], "harness");

        for peer in &peers {
            assert_eq!(peer.stop().await.unwrap().code(), Some(0));
        }
    })
    .await;
}
