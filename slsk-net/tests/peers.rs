//! Two `Peers` layers on loopback with a tiny fake server between them.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slsk_net::{MessageCodec, PeerConfig, PeerError, PeerEvent, PeerEvents, Peers};
use slsk_proto::distributed::{DistributedBranchLevel, DistributedMessage};
use slsk_proto::obfuscation::obfuscate;
use slsk_proto::peer::{PeerMessage, PeerSharesRequest};
use slsk_proto::peer_init::{PeerInit, PeerInitMessage, PeerPierceFirewall};
use slsk_proto::server::{
    CannotConnectRequest, CannotConnectResponse, ConnectToPeerResponse, GetPeerAddressResponse,
    ServerRequest, ServerResponse,
};
use slsk_proto::tables::{ConnectionType, ObfuscationType};
use slsk_proto::{FramedMessage, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

const T: Duration = Duration::from_secs(20);

/// Shows the layer's debug log with a failing test's output.
fn trace() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_test_writer()
        .with_ansi(false)
        .try_init();
}
const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// What the fake server tells about a user.
#[derive(Clone, Copy)]
enum Advertise {
    /// The user's real listen port.
    Real,
    /// A port nobody listens on.
    Closed,
}

struct Options {
    alice: Advertise,
    bob: Advertise,
    /// Relay ConnectToPeer to the target.
    relay: bool,
    /// Bob listens on an obfuscated port, advertised as such, and alice
    /// dials obfuscated ports.
    obfuscated: bool,
    config: PeerConfig,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            alice: Advertise::Real,
            bob: Advertise::Real,
            relay: true,
            obfuscated: false,
            config: PeerConfig::default(),
        }
    }
}

struct Side {
    peers: Peers,
    events: PeerEvents,
}

struct Net {
    alice: Side,
    bob: Side,
    /// Every request either side sent the server, with the sender's name.
    seen: mpsc::Receiver<(String, ServerRequest)>,
}

struct User {
    peers: Peers,
    port: u32,
    obfuscated_port: Option<u16>,
}

async fn closed_port() -> u32 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    u32::from(listener.local_addr().unwrap().port())
}

async fn advertised(port: u16, how: Advertise) -> u32 {
    match how {
        Advertise::Real => u32::from(port),
        Advertise::Closed => closed_port().await,
    }
}

async fn net(options: Options) -> Net {
    let (alice_tx, alice_rx) = mpsc::channel(64);
    let (bob_tx, bob_rx) = mpsc::channel(64);
    let alice_config = PeerConfig {
        dial_obfuscated: options.obfuscated,
        ..options.config.clone()
    };
    let bob_config = PeerConfig {
        obfuscated_listen_addr: options.obfuscated.then(|| "127.0.0.1:0".parse().unwrap()),
        ..options.config.clone()
    };
    let (alice, alice_events) = Peers::start(alice_config, alice_tx).await.unwrap();
    let (bob, bob_events) = Peers::start(bob_config, bob_tx).await.unwrap();
    alice.set_username("alice");
    bob.set_username("bob");
    let mut users = HashMap::new();
    users.insert(
        "alice".to_owned(),
        User {
            peers: alice.clone(),
            port: advertised(alice.listen_port(), options.alice).await,
            obfuscated_port: None,
        },
    );
    users.insert(
        "bob".to_owned(),
        User {
            peers: bob.clone(),
            port: advertised(bob.listen_port(), options.bob).await,
            obfuscated_port: bob.obfuscated_port(),
        },
    );
    let users = Arc::new(users);
    let (seen_tx, seen) = mpsc::channel(256);
    for (name, rx) in [("alice", alice_rx), ("bob", bob_rx)] {
        tokio::spawn(serve(
            name.to_owned(),
            rx,
            users.clone(),
            options.relay,
            seen_tx.clone(),
        ));
    }
    Net {
        alice: Side {
            peers: alice,
            events: alice_events,
        },
        bob: Side {
            peers: bob,
            events: bob_events,
        },
        seen,
    }
}

/// The fake server for one user's connection.
async fn serve(
    from: String,
    mut requests: mpsc::Receiver<ServerRequest>,
    users: Arc<HashMap<String, User>>,
    relay: bool,
    seen: mpsc::Sender<(String, ServerRequest)>,
) {
    let me = &users[&from];
    while let Some(request) = requests.recv().await {
        match &request {
            ServerRequest::GetPeerAddress(r) => {
                let reply = match users.get(&r.username) {
                    Some(user) => GetPeerAddressResponse {
                        username: r.username.clone(),
                        ip: LOCAL,
                        port: user.port,
                        obfuscation_type: user.obfuscated_port.map(|_| ObfuscationType::Rotated),
                        obfuscated_port: user.obfuscated_port,
                    },
                    None => GetPeerAddressResponse {
                        username: r.username.clone(),
                        ip: Ipv4Addr::UNSPECIFIED,
                        port: 0,
                        obfuscation_type: None,
                        obfuscated_port: None,
                    },
                };
                me.peers
                    .handle_server_message(&ServerResponse::GetPeerAddress(reply));
            }
            ServerRequest::ConnectToPeer(r) if relay => {
                if let Some(target) = users.get(&r.username) {
                    target
                        .peers
                        .handle_server_message(&ServerResponse::ConnectToPeer(
                            ConnectToPeerResponse {
                                username: from.clone(),
                                connection_type: r.connection_type.clone(),
                                ip: LOCAL,
                                port: me.port,
                                ticket: r.ticket,
                                privileged: false,
                                obfuscation_type: me
                                    .obfuscated_port
                                    .map(|_| ObfuscationType::Rotated),
                                obfuscated_port: me.obfuscated_port.map(u32::from),
                            },
                        ));
                }
            }
            ServerRequest::CannotConnect(r) => {
                if let Some(target) = users.get(&r.username) {
                    target
                        .peers
                        .handle_server_message(&ServerResponse::CannotConnect(
                            CannotConnectResponse {
                                ticket: r.ticket,
                                username: None,
                            },
                        ));
                }
            }
            _ => {}
        }
        let _ = seen.send((from.clone(), request)).await;
    }
}

fn shares(ticket: u32) -> PeerMessage {
    PeerSharesRequest {
        ticket: Some(ticket),
    }
    .into()
}

async fn next_event(events: &mut PeerEvents) -> PeerEvent {
    tokio::time::timeout(T, events.recv())
        .await
        .expect("an event in time")
        .expect("the layer is running")
}

async fn expect_message(events: &mut PeerEvents, from: &str, expected: PeerMessage) {
    match next_event(events).await {
        PeerEvent::Message { username, message } => {
            assert_eq!(username, from);
            assert_eq!(message, expected);
        }
        other => panic!("expected a message, got {other:?}"),
    }
}

fn drain_seen(seen: &mut mpsc::Receiver<(String, ServerRequest)>) -> Vec<(String, ServerRequest)> {
    std::iter::from_fn(|| seen.try_recv().ok()).collect()
}

/// Alice sends, bob answers on the same connection (he asks the server for
/// nothing).
async fn exchange(net: &mut Net) {
    tokio::time::timeout(T, net.alice.peers.send("bob", shares(1)))
        .await
        .unwrap()
        .unwrap();
    expect_message(&mut net.bob.events, "alice", shares(1)).await;
    tokio::time::timeout(T, net.bob.peers.send("alice", shares(2)))
        .await
        .unwrap()
        .unwrap();
    expect_message(&mut net.alice.events, "bob", shares(2)).await;
    let bob_asked: Vec<_> = drain_seen(&mut net.seen)
        .into_iter()
        .filter(|(from, _)| from == "bob")
        .collect();
    assert!(
        bob_asked.is_empty(),
        "bob reused the connection: {bob_asked:?}"
    );
}

#[tokio::test]
async fn a_message_over_a_direct_connection() {
    trace();
    // No relay: only the direct path can work.
    let mut net = net(Options {
        relay: false,
        ..Options::default()
    })
    .await;
    exchange(&mut net).await;
}

#[tokio::test]
async fn a_message_over_an_indirect_connection() {
    trace();
    // Bob's advertised port is closed: bob must dial alice back.
    let mut net = net(Options {
        bob: Advertise::Closed,
        ..Options::default()
    })
    .await;
    exchange(&mut net).await;
}

#[tokio::test]
async fn a_message_over_an_obfuscated_connection() {
    trace();
    // Bob's plain port is closed and nothing is relayed: only his
    // obfuscated port works, and only if the framing is right both ways.
    let mut net = net(Options {
        bob: Advertise::Closed,
        relay: false,
        obfuscated: true,
        ..Options::default()
    })
    .await;
    exchange(&mut net).await;
    // Many messages, in order.
    for i in 0..50 {
        net.alice.peers.send("bob", shares(i)).await.unwrap();
    }
    for i in 0..50 {
        expect_message(&mut net.bob.events, "alice", shares(i)).await;
    }
}

#[tokio::test]
async fn neither_path_working_fails_and_the_target_reports_cannot_connect() {
    trace();
    let mut net = net(Options {
        alice: Advertise::Closed,
        bob: Advertise::Closed,
        config: PeerConfig {
            // The failure must come from CannotConnect, not the timeout.
            indirect_timeout: Duration::from_secs(600),
            ..PeerConfig::default()
        },
        ..Options::default()
    })
    .await;
    let result = tokio::time::timeout(T, net.alice.peers.send("bob", shares(1)))
        .await
        .unwrap();
    assert!(matches!(result, Err(PeerError::Unreachable)), "{result:?}");
    let seen = drain_seen(&mut net.seen);
    let ticket = seen
        .iter()
        .find_map(|(from, r)| match r {
            ServerRequest::ConnectToPeer(r) if from == "alice" => Some(r.ticket),
            _ => None,
        })
        .unwrap();
    assert!(
        seen.contains(&(
            "bob".to_owned(),
            CannotConnectRequest {
                ticket,
                username: "alice".into()
            }
            .into()
        ))
    );
    // An offline user fails at once.
    let result = tokio::time::timeout(T, net.alice.peers.send("nobody", shares(1)))
        .await
        .unwrap();
    assert!(matches!(result, Err(PeerError::Offline)), "{result:?}");
}

#[tokio::test]
async fn losing_the_server_fails_pending_sends() {
    trace();
    let net = net(Options {
        bob: Advertise::Closed,
        relay: false,
        config: PeerConfig {
            indirect_timeout: Duration::from_secs(600),
            ..PeerConfig::default()
        },
        ..Options::default()
    })
    .await;
    let peers = net.alice.peers.clone();
    let send = tokio::spawn(async move { peers.send("bob", shares(1)).await });
    // Wait until the attempt is under way (its GetPeerAddress was sent).
    let mut seen = net.seen;
    tokio::time::timeout(T, async {
        while !matches!(
            seen.recv().await,
            Some((_, ServerRequest::ConnectToPeer(_)))
        ) {}
    })
    .await
    .unwrap();
    net.alice.peers.server_lost();
    let result = tokio::time::timeout(T, send).await.unwrap().unwrap();
    assert!(matches!(result, Err(PeerError::ServerLost)), "{result:?}");
}

/// A raw socket pretending to be a peer: it sends its PeerInit itself.
async fn raw_peer(port: u16, username: &str, kind: ConnectionType) -> TcpStream {
    let mut socket = TcpStream::connect((LOCAL, port)).await.unwrap();
    let init = PeerInitMessage::from(PeerInit {
        username: username.into(),
        connection_type: kind,
        ticket: 0.into(),
    });
    socket.write_all(&init.to_frame().unwrap()).await.unwrap();
    socket
}

/// A big message carrying its sequence number.
fn big(i: u32) -> PeerMessage {
    let mut payload = i.to_le_bytes().to_vec();
    payload.resize(256 << 10, 0xa5);
    PeerMessage::Unknown {
        code: 9000,
        payload,
    }
}

fn sequence(message: &PeerMessage) -> u32 {
    match message {
        PeerMessage::Unknown { payload, .. } => {
            u32::from_le_bytes(payload[..4].try_into().unwrap())
        }
        other => panic!("{other:?}"),
    }
}

/// A socket that says it is `username` and reads through a tiny window.
async fn slow_raw_peer(port: u16, username: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut socket = socket.connect((LOCAL, port).into()).await.unwrap();
    let init = PeerInitMessage::from(PeerInit {
        username: username.into(),
        connection_type: ConnectionType::Peer,
        ticket: 0.into(),
    });
    socket.write_all(&init.to_frame().unwrap()).await.unwrap();
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_cut_short_by_a_replacement_goes_out_whole_on_the_new_connection() {
    trace();
    let (alice, _events) = Peers::start(PeerConfig::default(), mpsc::channel(8).0)
        .await
        .unwrap();
    alice.set_username("alice");
    let mut old = slow_raw_peer(alice.listen_port(), "bob").await;
    // 12 MiB cannot fit in the socket buffers: the write blocks part way.
    let mut payload = vec![0x5a; 12 << 20];
    payload[..4].copy_from_slice(&7u32.to_le_bytes());
    let huge = PeerMessage::Unknown {
        code: 9000,
        payload,
    };
    alice.send("bob", huge.clone()).await.unwrap();
    for i in 0..5 {
        alice.send("bob", shares(i)).await.unwrap();
    }
    // The huge message is on its way on the old connection.
    let mut first = [0u8; 4];
    tokio::time::timeout(T, old.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    let new = raw_peer(alice.listen_port(), "bob", ConnectionType::Peer).await;
    let mut new = FramedRead::new(new, MessageCodec::<PeerMessage>::default());
    let mut next = async || {
        tokio::time::timeout(T, new.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .unwrap()
    };
    assert!(next().await == huge, "the cut message is sent whole");
    for i in 0..5 {
        assert_eq!(next().await, shares(i));
    }
    // The old connection, holding part of a frame, is closed.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(T, old.read_to_end(&mut rest)).await;
    assert!(closed.unwrap().is_ok());
    assert!(4 + rest.len() < 8 + (12 << 20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_connection_keeps_the_queued_messages() {
    trace();
    const N: u32 = 64; // 16 MiB in all: more than the socket buffers hold
    let (alice, _events) = Peers::start(
        PeerConfig {
            queue_size: 8,
            ..PeerConfig::default()
        },
        mpsc::channel(8).0,
    )
    .await
    .unwrap();
    alice.set_username("alice");
    // "bob" connects with a small receive window and never reads.
    let mut old = slow_raw_peer(alice.listen_port(), "bob").await;
    let sender = alice.clone();
    let sending = tokio::spawn(async move {
        for i in 0..N {
            sender.send("bob", big(i)).await.unwrap();
        }
    });
    // Wait until the first message is on its way on the old connection.
    let mut first = [0u8; 4];
    tokio::time::timeout(T, old.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    assert!(!sending.is_finished());
    // Bob connects again: the new connection takes over the queue.
    let new = raw_peer(alice.listen_port(), "bob", ConnectionType::Peer).await;
    let limits = Limits::DEFAULT;
    let mut new = FramedRead::new(new, MessageCodec::<PeerMessage>::new(limits.clone()));
    let mut on_new = Vec::new();
    while on_new.last() != Some(&(N - 1)) {
        let message = tokio::time::timeout(T, new.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .unwrap();
        on_new.push(sequence(&message));
    }
    tokio::time::timeout(T, sending).await.unwrap().unwrap();
    // The old connection holds what was written on it before the switch.
    // Alice closed it if a write was cut short (it holds part of a frame);
    // if not, she keeps reading it, and ending our side makes her close it.
    let _ = old.shutdown().await;
    let mut rest = first.to_vec();
    tokio::time::timeout(T, old.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    let mut reader = slsk_proto::FrameReader::<PeerMessage>::new(limits);
    reader.push(&rest);
    let mut on_old = Vec::new();
    while let Ok(Some(message)) = reader.next_message() {
        on_old.push(sequence(&message));
    }
    // The old connection got a prefix, the new one everything after it,
    // starting with the message whose write was cut short by the switch.
    let expected_old: Vec<u32> = (0..on_old.len() as u32).collect();
    assert_eq!(on_old, expected_old);
    let expected_new: Vec<u32> = (on_old.len() as u32..N).collect();
    assert_eq!(on_new, expected_new);
    assert!(
        on_new.len() > 8,
        "queued messages moved over: {}",
        on_new.len()
    );
}

#[tokio::test]
async fn file_bytes_in_the_peer_init_segment_are_not_lost() {
    trace();
    let (bob, mut events) = Peers::start(PeerConfig::default(), mpsc::channel(8).0)
        .await
        .unwrap();
    let mut socket = TcpStream::connect((LOCAL, bob.listen_port()))
        .await
        .unwrap();
    let mut bytes = PeerInitMessage::from(PeerInit {
        username: "alice".into(),
        connection_type: ConnectionType::File,
        ticket: 0.into(),
    })
    .to_frame()
    .unwrap();
    bytes.extend_from_slice(&1234u32.to_le_bytes());
    bytes.extend_from_slice(b"file bytes");
    socket.write_all(&bytes).await.unwrap();
    let PeerEvent::File {
        username,
        mut connection,
    } = next_event(&mut events).await
    else {
        panic!("expected a file connection")
    };
    assert_eq!(username, "alice");
    assert_eq!(connection.read_ticket().await.unwrap(), 1234);
    let mut rest = [0u8; 10];
    connection.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest, b"file bytes");
}

#[tokio::test]
async fn file_and_distributed_connections_between_two_layers() {
    trace();
    // Direct only: with the relay, bob would also dial alice back for the
    // same request and get a second connection, which alice closes.
    let mut net = net(Options {
        relay: false,
        ..Options::default()
    })
    .await;
    let mut upload = tokio::time::timeout(T, net.alice.peers.connect_file("bob", 99))
        .await
        .unwrap()
        .unwrap();
    let PeerEvent::File {
        username,
        connection: mut download,
    } = next_event(&mut net.bob.events).await
    else {
        panic!("expected a file connection")
    };
    assert_eq!(username, "alice");
    assert_eq!(download.read_ticket().await.unwrap(), 99);
    download.write_offset(5).await.unwrap();
    assert_eq!(upload.read_offset().await.unwrap(), 5);
    upload.write_all(b"payload").await.unwrap();
    let mut got = [0u8; 7];
    download.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"payload");

    let mut parent = tokio::time::timeout(T, net.alice.peers.connect_distributed("bob"))
        .await
        .unwrap()
        .unwrap();
    let PeerEvent::Distributed {
        username,
        connection: mut child,
    } = next_event(&mut net.bob.events).await
    else {
        panic!("expected a distributed connection")
    };
    assert_eq!(username, "alice");
    let level = DistributedMessage::from(DistributedBranchLevel { level: 3 });
    parent.send(level.clone()).await.unwrap();
    assert_eq!(child.next().await.unwrap().unwrap().unwrap(), level);
}

#[tokio::test]
async fn bad_frames_are_reported_and_oversized_ones_close_only_that_connection() {
    trace();
    let limits = Limits {
        max_frame_size: slsk_proto::FrameLimits {
            peer: 4096,
            ..slsk_proto::FrameLimits::DEFAULT
        },
        ..Limits::DEFAULT
    };
    let (bob, mut events) = Peers::start(
        PeerConfig {
            limits,
            ..PeerConfig::default()
        },
        mpsc::channel(8).0,
    )
    .await
    .unwrap();
    let mut mallory = raw_peer(bob.listen_port(), "mallory", ConnectionType::Peer).await;
    // PeerSharesReply (5) whose body is not zlib, then a good message.
    mallory
        .write_all(&[6, 0, 0, 0, 5, 0, 0, 0, 1, 2])
        .await
        .unwrap();
    mallory
        .write_all(&shares(3).to_frame().unwrap())
        .await
        .unwrap();
    match next_event(&mut events).await {
        PeerEvent::BadMessage { username, error } => {
            assert_eq!(username, "mallory");
            assert_eq!(error.message(), Some("PeerSharesReply"));
        }
        other => panic!("{other:?}"),
    }
    expect_message(&mut events, "mallory", shares(3)).await;
    // A frame over the limit: the connection is closed.
    mallory.write_all(&5000u32.to_le_bytes()).await.unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(T, mallory.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
}

#[tokio::test]
async fn an_idle_connection_is_closed() {
    trace();
    let (bob, _events) = Peers::start(
        PeerConfig {
            idle_timeout: Duration::from_millis(200),
            ..PeerConfig::default()
        },
        mpsc::channel(8).0,
    )
    .await
    .unwrap();
    let mut idle = raw_peer(bob.listen_port(), "sleepy", ConnectionType::Peer).await;
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(T, idle.read(&mut buf)).await.unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
}

/// One hostile client's behaviour.
async fn hostile(port: u16, obfuscated_port: u16, rng: &mut StdRng) -> Option<TcpStream> {
    let mut socket = TcpStream::connect((LOCAL, port)).await.ok()?;
    let bytes: Vec<u8> = match rng.random_range(0..7u8) {
        // Random bytes.
        0 => (0..rng.random_range(1..200))
            .map(|_| rng.random())
            .collect(),
        // A huge length field.
        1 => rng
            .random_range(1u32 << 20..=u32::MAX)
            .to_le_bytes()
            .to_vec(),
        // A truncated PeerInit.
        2 => {
            let frame = PeerInitMessage::from(PeerInit {
                username: "truncated".into(),
                connection_type: ConnectionType::Peer,
                ticket: 0.into(),
            })
            .to_frame()
            .unwrap();
            frame[..rng.random_range(1..frame.len())].to_vec()
        }
        // A PierceFirewall nobody asked for.
        3 => PeerInitMessage::from(PeerPierceFirewall {
            ticket: rng.random(),
        })
        .to_frame()
        .unwrap(),
        // An unknown peer-init code.
        4 => vec![1, 0, 0, 0, 7],
        // Garbage on the obfuscated port.
        5 => {
            socket = TcpStream::connect((LOCAL, obfuscated_port)).await.ok()?;
            let mut bytes = obfuscate(rng.random(), &[0xff; 12]);
            bytes.truncate(rng.random_range(1..bytes.len()));
            bytes
        }
        // A PeerInit with an unknown connection type.
        _ => PeerInitMessage::from(PeerInit {
            username: "x".into(),
            connection_type: ConnectionType::Unknown("Z".into()),
            ticket: 0.into(),
        })
        .to_frame()
        .unwrap(),
    };
    socket.write_all(&bytes).await.ok()?;
    Some(socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sockets_do_not_disturb_a_good_peer() {
    trace();
    let mut net = net(Options {
        obfuscated: true,
        config: PeerConfig {
            handshake_timeout: Duration::from_millis(500),
            ..PeerConfig::default()
        },
        ..Options::default()
    })
    .await;
    let port = net.bob.peers.listen_port();
    let obfuscated_port = net.bob.peers.obfuscated_port().unwrap();
    let attack = tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(0x5eed);
        let mut sockets = Vec::new();
        for _ in 0..200 {
            if let Some(socket) = hostile(port, obfuscated_port, &mut rng).await {
                sockets.push(socket);
            }
        }
        // Every hostile socket is closed by bob (at once, or at the
        // handshake timeout).
        for mut socket in sockets {
            let mut buf = [0u8; 64];
            loop {
                match tokio::time::timeout(T, socket.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(_)) => continue,
                    Err(_) => panic!("a hostile socket was left open"),
                }
            }
        }
    });
    for i in 0..100 {
        net.alice.peers.send("bob", shares(i)).await.unwrap();
        expect_message(&mut net.bob.events, "alice", shares(i)).await;
        net.bob.peers.send("alice", shares(i)).await.unwrap();
        expect_message(&mut net.alice.events, "bob", shares(i)).await;
    }
    tokio::time::timeout(T * 2, attack).await.unwrap().unwrap();
    // Bob is still fine afterwards.
    net.alice.peers.send("bob", shares(1000)).await.unwrap();
    expect_message(&mut net.bob.events, "alice", shares(1000)).await;
    net.alice.peers.shutdown().await;
    net.bob.peers.shutdown().await;
    // After shutdown: no more sending, and the events end.
    let after = net.alice.peers.send("bob", shares(1)).await;
    assert!(matches!(after, Err(PeerError::Shutdown)), "{after:?}");
    tokio::time::timeout(T, async { while net.bob.events.recv().await.is_some() {} })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_paths_lose_nothing() {
    trace();
    // Both paths work: alice dials bob while bob dials alice back. Each side
    // ends up with two connections; whichever each uses, nothing is lost.
    let mut net = net(Options::default()).await;
    for round in 0..3 {
        for i in 0..20 {
            net.alice
                .peers
                .send("bob", shares(round * 100 + i))
                .await
                .unwrap();
        }
        for i in 0..20 {
            expect_message(&mut net.bob.events, "alice", shares(round * 100 + i)).await;
        }
        for i in 0..20 {
            net.bob
                .peers
                .send("alice", shares(round * 100 + i))
                .await
                .unwrap();
        }
        for i in 0..20 {
            expect_message(&mut net.alice.events, "bob", shares(round * 100 + i)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_opening_at_once_lose_nothing() {
    trace();
    // Alice and bob each open a connection to the other at the same moment,
    // each over both paths: up to four connections between them.
    trace();
    let mut net = net(Options::default()).await;
    let (alice, bob) = (net.alice.peers.clone(), net.bob.peers.clone());
    let to_bob = tokio::spawn(async move {
        for i in 0..30 {
            alice.send("bob", shares(i)).await.unwrap();
        }
    });
    let to_alice = tokio::spawn(async move {
        for i in 0..30 {
            bob.send("alice", shares(i)).await.unwrap();
        }
    });
    // Each side reads on every connection: none is lost or doubled, though
    // messages around a switch of connection may be read out of order.
    for events in [&mut net.bob.events, &mut net.alice.events] {
        let mut got = Vec::new();
        for _ in 0..30 {
            match next_event(events).await {
                PeerEvent::Message {
                    message: PeerMessage::PeerSharesRequest(r),
                    ..
                } => got.push(r.ticket.unwrap()),
                other => panic!("{other:?}"),
            }
        }
        got.sort();
        assert_eq!(got, (0..30).collect::<Vec<_>>());
    }
    to_bob.await.unwrap();
    to_alice.await.unwrap();
}

#[tokio::test]
async fn a_file_connection_over_the_indirect_path() {
    trace();
    // Bob cannot be reached: he dials alice back, and alice (the uploader)
    // sends the ticket on the connection bob opened.
    let mut net = net(Options {
        bob: Advertise::Closed,
        ..Options::default()
    })
    .await;
    let mut upload = tokio::time::timeout(T, net.alice.peers.connect_file("bob", 4242))
        .await
        .unwrap()
        .unwrap();
    let PeerEvent::File {
        username,
        connection: mut download,
    } = next_event(&mut net.bob.events).await
    else {
        panic!("expected a file connection")
    };
    assert_eq!(username, "alice");
    assert_eq!(download.read_ticket().await.unwrap(), 4242);
    download.write_offset(0).await.unwrap();
    assert_eq!(upload.read_offset().await.unwrap(), 0);
}

#[tokio::test]
async fn peer_connections_past_the_limit_are_refused() {
    trace();
    let (bob, mut events) = Peers::start(
        PeerConfig {
            max_peer_connections: 2,
            ..PeerConfig::default()
        },
        mpsc::channel(8).0,
    )
    .await
    .unwrap();
    let mut kept = Vec::new();
    for name in ["one", "two"] {
        let mut socket = raw_peer(bob.listen_port(), name, ConnectionType::Peer).await;
        // A message through it shows it is open.
        socket
            .write_all(&shares(1).to_frame().unwrap())
            .await
            .unwrap();
        expect_message(&mut events, name, shares(1)).await;
        kept.push(socket);
    }
    let mut third = raw_peer(bob.listen_port(), "three", ConnectionType::Peer).await;
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(T, third.read(&mut buf)).await.unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
    // Once one closes, there is room again: retry until bob has noticed
    // (a refused socket is closed; an accepted one delivers its message).
    drop(kept.pop());
    tokio::time::timeout(T, async {
        loop {
            let mut socket = raw_peer(bob.listen_port(), "four", ConnectionType::Peer).await;
            socket
                .write_all(&shares(4).to_frame().unwrap())
                .await
                .unwrap();
            let mut buf = [0u8; 1];
            tokio::select! {
                _ = socket.read(&mut buf) => continue,
                event = events.recv() => match event {
                    Some(PeerEvent::Message { username, message }) => {
                        assert_eq!((username.as_str(), message), ("four", shares(4)));
                        break;
                    }
                    other => panic!("{other:?}"),
                },
            }
        }
    })
    .await
    .unwrap();
}
