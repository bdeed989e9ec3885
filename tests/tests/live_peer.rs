//! Self-test of the aioslsk live-peer harness (`support/aioslsk_peer.rs`,
//! `tests/live/`): everything that needs no Soulseek server. The driver
//! starts, answers and refuses bad commands, its loopback guard refuses every
//! way out before anything reaches the network, a refusal fails every later
//! call on the peer, aioslsk listens on 127.0.0.1 only, and the driver stops on stdin close, on `stop` and at its deadline.
//!
//! Then aioslsk against our server (`slsk-server`, started in-process on
//! 127.0.0.1): two aioslsk peers chat, fetch each other's user info, search,
//! browse and download; aioslsk and our client (`slsk-net`) exchange private
//! messages and user info both ways, and download from each other (our
//! client over a direct and an indirect file connection), the bytes checked
//! by SHA-256.

mod support;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use slsk_net::client::Event;
use slsk_proto::tables::UploadPermissions;
use slsk_server::{Database, Server};
use support::aioslsk_peer::{
    AioslskPeer, DEADLINE_EXIT_CODE, Inbound, PeerError, PeerOptions, StartOptions,
    free_loopback_port, parse_line,
};
use support::network::{client_config, login, start_server, wait_for};

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
        refused(
            peer.command("start", json!({"peer_connect_mode": "sideways"}))
                .await,
            "'peer_connect_mode' must be one of ['fallback', 'race']",
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

/// Our server on a free port of 127.0.0.1, in memory.
async fn our_server() -> (Server, u16) {
    let server = start_server(Database::InMemory).await;
    let port = server.local_addr().port();
    (server, port)
}

/// Two aioslsk peers log in to our server, exchange private messages and
/// fetch each other's user info.
#[tokio::test]
async fn two_peers_through_our_server() {
    bounded(async {
        let (server, server_port) = our_server().await;
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
        server.shutdown().await;
    })
    .await;
}

/// Against our server: dave shares a file, carol finds it with a global
/// search, browses dave, and downloads it byte for byte.
#[tokio::test]
async fn two_peers_search_browse_and_download() {
    bounded(async {
        let (server, server_port) = our_server().await;
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
            // In aioslsk's default (race) mode, dave delivering his results
            // both dials carol and asks her (through the server) to dial him;
            // her dial arrives after his won, he closes it, and carol may
            // send the browse on it before she sees the close: an aioslsk
            // race that loses the request. Directly first avoids it.
            options.peer_connect_mode = Some("fallback".into());
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

        // aioslsk closes the connection the results came on right after
        // reporting them; a browse sent meanwhile on that connection would be
        // lost (an aioslsk race), so wait for the close.
        carol
            .next_event(
                |e| {
                    e["event"] == "peer_disconnected"
                        && e["user"] == "dave"
                        && e["connection_type"] == "P"
                },
                SHORT,
            )
            .await
            .unwrap();
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

        for peer in &peers {
            assert_eq!(peer.stop().await.unwrap().code(), Some(0));
        }
        server.shutdown().await;
    })
    .await;
}

/// Two aioslsk peers talk in a room on our server.
#[tokio::test]
async fn two_peers_chat_in_a_room() {
    bounded(async {
        let (server, server_port) = our_server().await;
        let dir = scratch_dir("room");
        let mut peers = Vec::new();
        for name in ["carol", "dave"] {
            let peer = AioslskPeer::spawn(PeerOptions::named(name)).await.unwrap();
            let mut options = StartOptions::new(name, "secret", server_port, &dir);
            options.scan_on_start = false;
            peer.start(&options).await.unwrap();
            peer.login().await.unwrap();
            peers.push(peer);
        }
        let (carol, dave) = (&peers[0], &peers[1]);
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
        server.shutdown().await;
    })
    .await;
}

/// aioslsk and our client on our server: private messages both ways, and
/// each fetches the other's user info over a peer connection.
#[tokio::test]
async fn aioslsk_and_our_client_through_our_server() {
    bounded(async {
        let (server, server_port) = our_server().await;
        let mut config = client_config(&server, "ours");
        config.user_info.picture = Some(vec![0x89, b'P', b'N', b'G']);
        config.user_info.upload_slots = 2;
        config.user_info.queue_size = 5;
        config.user_info.slots_free = true;
        config.user_info.upload_permissions = UploadPermissions::Everyone;
        let (ours, mut events) = login(config).await;

        let dir = scratch_dir("with-ours");
        let theirs = AioslskPeer::spawn(PeerOptions::named("theirs"))
            .await
            .unwrap();
        let mut options = StartOptions::new("theirs", "secret", server_port, &dir);
        options.description = Some("aioslsk here".into());
        options.upload_slots = Some(3);
        options.scan_on_start = false;
        theirs.start(&options).await.unwrap();
        theirs.login().await.unwrap();

        ours.send_private_message("theirs", "hello aioslsk")
            .await
            .unwrap();
        let message = theirs.event("private_message", SHORT).await.unwrap();
        assert_eq!(
            (&message["user"], &message["text"]),
            (&json!("ours"), &json!("hello aioslsk"))
        );
        theirs
            .send_private_message("ours", "hello slsk")
            .await
            .unwrap();
        match wait_for(&mut events, |e| matches!(e, Event::PrivateMessage(_))).await {
            Event::PrivateMessage(message) => {
                assert_eq!(
                    (message.username.as_str(), message.text.as_str()),
                    ("theirs", "hello slsk")
                );
            }
            _ => unreachable!(),
        }

        let info = ours.user_info("theirs").await.unwrap();
        assert_eq!(info.description, "aioslsk here");
        assert_eq!(info.upload_slots, 3);
        assert_eq!(info.picture, None);

        let info = theirs.get_user_info("ours").await.unwrap();
        assert_eq!(info.description, "ours here");
        assert_eq!(info.picture.as_deref(), Some("89504e47"));
        assert_eq!(info.upload_slots, 2);
        assert_eq!(info.queue_length, 5);
        assert!(info.has_slots_free);
        assert_eq!(info.upload_permissions, "EVERYONE");

        assert_eq!(theirs.stop().await.unwrap().code(), Some(0));
        ours.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// Bytes that differ along the file, `len` of them.
fn track(seed: u32, len: u32) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13 ^ seed) as u8)
        .collect()
}

/// Our client with transfers, downloading into `dir` and sharing `shared`
/// (if any) as "Music".
fn transfer_client(
    server: &Server,
    name: &str,
    dir: &std::path::Path,
    shared: Option<&std::path::Path>,
) -> slsk_net::ClientConfig {
    let mut config = client_config(server, name);
    config.transfers = Some(slsk_net::client::TransferSettings::new(
        dir.join("downloads"),
        dir.join("incomplete"),
    ));
    if let Some(shared) = shared {
        config.shares.folders = vec![slsk_shares::SharedFolder::new("Music", shared)];
    }
    config
}

/// Our client downloads a file aioslsk shares, through our server, over a
/// direct and over an indirect file connection; the bytes' SHA-256 is the
/// source's.
#[tokio::test]
async fn our_client_downloads_from_aioslsk() {
    use slsk_net::client::{DownloadState, TransferEvent};

    bounded(async {
        let (server, server_port) = our_server().await;
        let dir = scratch_dir("ours-downloads");
        let shared = dir.join("py-shared");
        std::fs::create_dir_all(shared.join("Album")).unwrap();
        let content = track(1, 1_500_000);
        std::fs::write(shared.join("Album").join("long track.flac"), &content).unwrap();

        let py = AioslskPeer::spawn(PeerOptions::named("pyshare"))
            .await
            .unwrap();
        let mut options = StartOptions::new("pyshare", "secret", server_port, &dir.join("py-dl"));
        std::fs::create_dir_all(&options.download_dir).unwrap();
        options.shared_dirs = vec![shared.clone()];
        py.start(&options).await.unwrap();
        py.event("scan_complete", SHORT).await.unwrap();
        py.login().await.unwrap();
        let listed = py.list_shares().await.unwrap();
        // The shared root (no files of its own), then "Album".
        let directory = listed["directories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["files"].as_array().is_some_and(|f| !f.is_empty()))
            .unwrap_or_else(|| panic!("a directory with the file: {listed}"));
        let remote_path = format!(
            "{}\\{}",
            directory["name"].as_str().unwrap(),
            directory["files"][0]["filename"].as_str().unwrap()
        );
        assert!(remote_path.ends_with("\\long track.flac"), "{remote_path}");

        // Directly, then as a client aioslsk cannot dial: its file
        // connection comes through the server (ConnectToPeer), we dial it.
        for (name, reachable) in [("rustdl", true), ("rustdl-nat", false)] {
            let mut config = transfer_client(&server, name, &dir.join(name), None);
            if !reachable {
                config.advertised_port = Some(support::network::closed_port().await);
            }
            let (ours, mut events) = login(config).await;
            let id = ours
                .download("pyshare", &remote_path, Some(content.len() as u64))
                .await
                .unwrap();
            let done = tokio::time::timeout(Duration::from_secs(60), async {
                loop {
                    let event = events.recv().await.expect("events go on");
                    if let Event::Transfer(TransferEvent::DownloadChanged { id: c, state, .. }) =
                        event
                        && c == id
                    {
                        match state {
                            DownloadState::Completed { path } => return path,
                            DownloadState::Failed { reason } => {
                                panic!("{name}: download failed: {reason}")
                            }
                            _ => {}
                        }
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{name}: the download completes in time"));
            assert_eq!(sha256(&std::fs::read(&done).unwrap()), sha256(&content));
            if !reachable {
                // Nothing reached us; we dialled the P and the F connection.
                let stats = ours.peers().stats();
                assert_eq!(stats.accepted, 0, "{stats:?}");
                assert!(stats.dialled >= 2, "{stats:?}");
            }
            ours.shutdown().await;
        }

        assert_eq!(py.stop().await.unwrap().code(), Some(0));
        server.shutdown().await;
    })
    .await;
}

/// aioslsk downloads a file our client shares (scanned shares, no
/// resolver), through our server; the bytes' SHA-256 is the source's.
#[tokio::test]
async fn aioslsk_downloads_from_our_client() {
    bounded(async {
        let (server, server_port) = our_server().await;
        let dir = scratch_dir("aioslsk-downloads");
        let shared = dir.join("rust-shared");
        std::fs::create_dir_all(shared.join("Album")).unwrap();
        let content = track(2, 1_500_000);
        std::fs::write(shared.join("Album").join("other track.flac"), &content).unwrap();

        let config = transfer_client(&server, "rustshare", &dir.join("rustshare"), Some(&shared));
        let (ours, mut events) = login(config).await;
        match wait_for(&mut events, |e| {
            matches!(e, Event::ScanComplete(_) | Event::ScanFailed(_))
        })
        .await
        {
            Event::ScanComplete(summary) => assert_eq!(summary.files, 1),
            other => panic!("scan: {other:?}"),
        }

        let py = AioslskPeer::spawn(PeerOptions::named("pydl"))
            .await
            .unwrap();
        let downloads = dir.join("py-dl");
        std::fs::create_dir_all(&downloads).unwrap();
        let mut options = StartOptions::new("pydl", "secret", server_port, &downloads);
        options.scan_on_start = false;
        py.start(&options).await.unwrap();
        py.login().await.unwrap();

        let remote_path = "Music\\Album\\other track.flac";
        py.download("rustshare", remote_path).await.unwrap();
        let done = py
            .next_event(
                |e| {
                    e["remote_path"] == remote_path
                        && ["transfer_complete", "transfer_failed", "transfer_aborted"]
                            .contains(&e["event"].as_str().unwrap_or(""))
                },
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(done["event"], "transfer_complete", "{done}");
        let local = done["local_path"].as_str().unwrap();
        assert_eq!(sha256(&std::fs::read(local).unwrap()), sha256(&content));

        assert_eq!(py.stop().await.unwrap().code(), Some(0));
        ours.shutdown().await;
        server.shutdown().await;
    })
    .await;
}
