//! The distributed network between our clients on loopback, over real `D`
//! connections, with a scripted fake server: it names the parents
//! (PossibleParents), answers GetPeerAddress, and hands searches to the
//! branch root (EmbeddedMessage). A search then flows down the tree and
//! every client answers the searcher over a `P` connection.
#![cfg(feature = "shares")]

mod support;

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use slsk_net::MessageCodec;
use slsk_net::client::{Client, DistributedConfig, DistributedEvent, Event, Events, SharesConfig};
use slsk_proto::FramedMessage;
use slsk_proto::distributed::{DistributedMessage, DistributedSearchRequest};
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
use slsk_proto::server::{
    AcceptChildrenRequest, BranchLevelRequest, BranchRootRequest, GetPeerAddressResponse,
    PotentialParentsResponse, ResetDistributedResponse, ServerRequest, ServerResponse,
    ServerSearchRequestResponse, ToggleParentSearchRequest,
};
use slsk_proto::structures::PotentialParent;
use slsk_proto::tables::ConnectionType;
use slsk_shares::SharedFolder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_util::codec::Framed;

use support::{FakeServer, ServerSide, TIMEOUT, logged_in, wait_for};

/// Listening ports by username, for the fake server's GetPeerAddress.
type Ports = Arc<Mutex<HashMap<String, u16>>>;

/// One of our clients, its share folder and its side of the fake server.
struct Node {
    name: String,
    client: Client,
    events: Events,
    /// What the client sent the server (GetPeerAddress is answered and
    /// left out).
    requests: mpsc::Receiver<ServerRequest>,
    /// What the fake server sends it.
    to_client: mpsc::Sender<ServerResponse>,
    _folder: tempfile::TempDir,
}

impl Node {
    async fn start(server: &FakeServer, ports: &Ports, name: &str) -> Node {
        Self::start_with(server, ports, name, DistributedConfig::default()).await
    }

    async fn start_with(
        server: &FakeServer,
        ports: &Ports,
        name: &str,
        distributed: DistributedConfig,
    ) -> Node {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join(format!("{name} moon safari.txt")), b"x").unwrap();
        let mut config = server.config(name);
        config.advertised_port = None;
        config.advertised_obfuscated_port = None;
        config.peer.obfuscated_listen_addr = None;
        config.shares = SharesConfig {
            folders: vec![SharedFolder::new("Music", folder.path())],
            ..SharesConfig::default()
        };
        config.distributed = distributed;
        // Roots are made by the server's searches here, not by waiting.
        config.distributed.become_root_after = Duration::from_secs(3600);
        let (client, mut events, side) = logged_in(server, config).await;
        ports
            .lock()
            .unwrap()
            .insert(name.into(), client.peers().listen_port());
        let (requests_tx, requests) = mpsc::channel(1024);
        let (to_client, to_client_rx) = mpsc::channel(64);
        tokio::spawn(serve(side, ports.clone(), requests_tx, to_client_rx));
        wait_for(&mut events, |e| matches!(e, Event::ScanComplete(_))).await;
        Node {
            name: name.into(),
            client,
            events,
            requests,
            to_client,
            _folder: folder,
        }
    }

    async fn send(&self, message: impl Into<ServerResponse>) {
        self.to_client.send(message.into()).await.unwrap();
    }

    async fn distributed_event(&mut self, wanted: DistributedEvent) {
        let wanted = Event::Distributed(wanted);
        wait_for(&mut self.events, |e| *e == wanted).await;
    }

    /// Skips requests until `wanted`.
    async fn expect_request(&mut self, wanted: impl Into<ServerRequest>) {
        let wanted = wanted.into();
        for _ in 0..1000 {
            let request = timeout(TIMEOUT, self.requests.recv())
                .await
                .expect("the client sends")
                .expect("the fake server runs");
            if request == wanted {
                return;
            }
        }
        panic!("{} never sent {wanted:?}", self.name);
    }

    /// Names `parents` in PossibleParents and waits until the first is
    /// adopted at `level` under `root`.
    async fn attach(&mut self, parent: &str, level: u32, root: &str) {
        self.send(PotentialParentsResponse {
            parents: vec![PotentialParent {
                username: parent.into(),
                ip: Ipv4Addr::LOCALHOST,
                port: 0,
            }],
        })
        .await;
        self.distributed_event(DistributedEvent::ParentAdopted {
            username: parent.into(),
            branch_level: level,
            branch_root: root.into(),
        })
        .await;
        self.expect_request(ToggleParentSearchRequest { enable: false })
            .await;
        self.expect_request(BranchLevelRequest { level }).await;
        self.expect_request(BranchRootRequest {
            username: root.into(),
        })
        .await;
        self.expect_request(AcceptChildrenRequest { accept: true })
            .await;
        let state = self.client.distributed();
        assert_eq!(state.parent.as_deref(), Some(parent));
        assert_eq!(
            (state.branch_level, state.branch_root.as_str()),
            (level, root)
        );
    }
}

/// The fake server's side of one client: answers GetPeerAddress from
/// `ports`, passes every other request on, sends what the test gives it.
async fn serve(
    mut side: ServerSide,
    ports: Ports,
    requests: mpsc::Sender<ServerRequest>,
    mut to_client: mpsc::Receiver<ServerResponse>,
) {
    loop {
        tokio::select! {
            request = side.reader.next() => match request {
                Some(Ok(Ok(ServerRequest::GetPeerAddress(r)))) => {
                    let port = ports.lock().unwrap().get(&r.username).copied();
                    let reply = GetPeerAddressResponse {
                        username: r.username,
                        ip: if port.is_some() { Ipv4Addr::LOCALHOST } else { Ipv4Addr::UNSPECIFIED },
                        port: port.map_or(0, u32::from),
                        obfuscation_type: None,
                        obfuscated_port: None,
                    };
                    if side.writer.send(reply.into()).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Ok(request))) => {
                    let _ = requests.try_send(request);
                }
                _ => return,
            },
            Some(message) = to_client.recv() => {
                if side.writer.send(message).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// A search from `searcher`, as the server wraps it for a branch root.
fn embedded_search(searcher: &str, ticket: u32, query: &str) -> ServerSearchRequestResponse {
    let frame = DistributedMessage::from(DistributedSearchRequest {
        unknown: 49,
        username: searcher.into(),
        ticket,
        query: query.into(),
    })
    .to_frame()
    .unwrap();
    ServerSearchRequestResponse {
        distributed_code: 3,
        payload: frame[5..].to_vec(),
    }
}

/// Accepts `count` peers at the searcher's listener and returns who
/// answered `ticket` (each peer's PeerInit, then its PeerSearchReply).
async fn answers(listener: &TcpListener, count: usize, ticket: u32) -> BTreeSet<String> {
    let mut who = BTreeSet::new();
    for _ in 0..count {
        let (socket, _) = timeout(TIMEOUT, listener.accept())
            .await
            .expect("a peer answers")
            .unwrap();
        let mut init = Framed::new(socket, MessageCodec::<PeerInitMessage>::default());
        let Some(Ok(Ok(PeerInitMessage::PeerInit(hello)))) =
            timeout(TIMEOUT, init.next()).await.unwrap()
        else {
            panic!("no PeerInit")
        };
        let mut peer = init.map_codec(|_| MessageCodec::<PeerMessage>::default());
        let Some(Ok(Ok(PeerMessage::PeerSearchReply(reply)))) =
            timeout(TIMEOUT, peer.next()).await.unwrap()
        else {
            panic!("no search reply")
        };
        assert_eq!(reply.ticket, ticket);
        assert_eq!(reply.username, hello.username);
        assert_eq!(reply.results.len(), 1);
        assert!(
            reply.results[0]
                .filename
                .ends_with(&format!("{} moon safari.txt", reply.username))
        );
        who.insert(reply.username);
    }
    who
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn a_search_flows_down_a_tree_of_our_clients_and_every_one_answers() {
    timeout(Duration::from_secs(120), async {
        let server = FakeServer::start().await;
        let ports: Ports = Arc::default();
        let searcher = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports
            .lock()
            .unwrap()
            .insert("searcher".into(), searcher.local_addr().unwrap().port());
        let mut root = Node::start(&server, &ports, "root").await;
        let mut a = Node::start(&server, &ports, "a").await;
        let mut b = Node::start(&server, &ports, "b").await;
        let mut c = Node::start(&server, &ports, "c").await;

        // A search from the server makes `root` a branch root.
        root.send(embedded_search("searcher", 1, "nothing shared matches"))
            .await;
        root.distributed_event(DistributedEvent::BecameRoot).await;
        root.expect_request(AcceptChildrenRequest { accept: true })
            .await;

        //   root
        //   ├── a
        //   │   └── c
        //   └── b
        a.attach("root", 1, "root").await;
        b.attach("root", 1, "root").await;
        c.attach("a", 2, "root").await;
        let tree = root.client.distributed();
        assert_eq!(
            tree.children.iter().cloned().collect::<BTreeSet<_>>(),
            set(&["a", "b"])
        );
        assert_eq!((tree.branch_level, tree.branch_root.as_str()), (0, "root"));
        assert!(tree.accepting_children);
        assert_eq!(a.client.distributed().children, ["c"]);

        root.send(embedded_search("searcher", 42, "moon safari"))
            .await;
        assert_eq!(
            answers(&searcher, 4, 42).await,
            set(&["root", "a", "b", "c"])
        );

        // a leaves: c loses its parent, announces none, and re-attaches
        // under b when the server names it.
        a.client.shutdown().await;
        c.distributed_event(DistributedEvent::ParentLost {
            username: "a".into(),
        })
        .await;
        c.expect_request(ToggleParentSearchRequest { enable: true })
            .await;
        root.distributed_event(DistributedEvent::ChildRemoved {
            username: "a".into(),
        })
        .await;
        c.attach("b", 2, "root").await;
        root.send(embedded_search("searcher", 43, "moon safari"))
            .await;
        assert_eq!(answers(&searcher, 3, 43).await, set(&["root", "b", "c"]));

        // ResetDistributed drops b's parent and child: c loses b.
        b.send(ResetDistributedResponse).await;
        b.distributed_event(DistributedEvent::Reset).await;
        c.distributed_event(DistributedEvent::ParentLost {
            username: "b".into(),
        })
        .await;
        assert_eq!(b.client.distributed(), Default::default());
        for node in [root, b, c] {
            node.client.shutdown().await;
        }
    })
    .await
    .expect("the test took over two minutes");
}

#[tokio::test]
async fn with_the_network_off_d_connections_are_closed() {
    timeout(Duration::from_secs(60), async {
        let server = FakeServer::start().await;
        let mut config = server.config("off");
        config.distributed.enabled = false;
        let (client, _events, _side) = logged_in(&server, config).await;
        let mut socket = TcpStream::connect(("127.0.0.1", client.peers().listen_port()))
            .await
            .unwrap();
        let init = PeerInitMessage::from(PeerInit {
            username: "kid".into(),
            connection_type: ConnectionType::Distributed,
            ticket: 0.into(),
        });
        socket.write_all(&init.to_frame().unwrap()).await.unwrap();
        let mut buf = [0u8; 16];
        let read = timeout(TIMEOUT, socket.read(&mut buf))
            .await
            .expect("closed in time");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert_eq!(client.distributed(), Default::default());
        client.shutdown().await;
    })
    .await
    .expect("the test took over a minute");
}

/// A raw `D` child of the client listening on `port`, after it has read
/// the client's level and root; `recv_buffer` shrinks its socket's receive
/// buffer (a child that will not read).
async fn raw_child(port: u16, name: &str, recv_buffer: Option<u32>) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let mut socket = socket
        .connect((Ipv4Addr::LOCALHOST, port).into())
        .await
        .unwrap();
    let init = PeerInitMessage::from(PeerInit {
        username: name.into(),
        connection_type: ConnectionType::Distributed,
        ticket: 0.into(),
    });
    socket.write_all(&init.to_frame().unwrap()).await.unwrap();
    let mut framed = Framed::new(socket, MessageCodec::<DistributedMessage>::default());
    for _ in 0..2 {
        timeout(TIMEOUT, framed.next())
            .await
            .expect("level and root come")
            .unwrap()
            .unwrap()
            .unwrap();
    }
    let parts = framed.into_parts();
    assert!(parts.read_buf.is_empty());
    parts.io
}

/// The port map with "feeder", a hand-driven parent, listening on it.
async fn feeder_listening() -> (Ports, TcpListener) {
    let ports: Ports = Arc::default();
    let feeder = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ports
        .lock()
        .unwrap()
        .insert("feeder".into(), feeder.local_addr().unwrap().port());
    (ports, feeder)
}

#[tokio::test]
async fn a_slow_child_is_dropped_and_the_others_get_every_search() {
    timeout(Duration::from_secs(120), async {
        let server = FakeServer::start().await;
        let (ports, feeder) = feeder_listening().await;
        // The default queue limit: 1 MiB per child.
        let mut relay = Node::start(&server, &ports, "relay").await;

        let parent = raw_parent(&mut relay, &feeder).await;

        let port = relay.client.peers().listen_port();
        let mut fast = raw_child(port, "fast", None).await;
        let _slow = raw_child(port, "slow", Some(4096)).await;
        relay
            .distributed_event(DistributedEvent::ChildAdded {
                username: "slow".into(),
            })
            .await;

        // About 10 MB of searches: more than the slow child's socket
        // buffers and its 1 MiB queue hold.
        let mut stream = Vec::new();
        for ticket in 0..200_000u32 {
            DistributedMessage::from(DistributedSearchRequest {
                unknown: 49,
                username: "searcher".into(),
                ticket,
                query: format!("nothing matches {ticket}"),
            })
            .encode_frame(&mut stream)
            .unwrap();
        }
        let expected = stream.clone();
        let mut socket = parent;
        let writer = tokio::spawn(async move { socket.write_all(&stream).await.map(|()| socket) });
        let mut received = vec![0u8; expected.len()];
        timeout(TIMEOUT, fast.read_exact(&mut received))
            .await
            .expect("the fast child gets everything in time")
            .unwrap();
        assert!(received == expected, "the same bytes, in order");
        relay
            .distributed_event(DistributedEvent::ChildRemoved {
                username: "slow".into(),
            })
            .await;
        assert_eq!(relay.client.distributed().children, ["fast"]);
        let _feeder_socket = writer.await.unwrap().unwrap();
        relay.client.shutdown().await;
    })
    .await
    .expect("the test took over two minutes");
}

/// A raw parent for `relay`: named in PossibleParents, it accepts the
/// relay's `D` connection on `feeder` (whose port the fake server gives
/// for "feeder") and sends level 0; returns once the relay adopted it.
async fn raw_parent(relay: &mut Node, feeder: &TcpListener) -> TcpStream {
    relay
        .send(PotentialParentsResponse {
            parents: vec![PotentialParent {
                username: "feeder".into(),
                ip: Ipv4Addr::LOCALHOST,
                port: 0,
            }],
        })
        .await;
    let (socket, _) = timeout(TIMEOUT, feeder.accept()).await.unwrap().unwrap();
    let mut parent = Framed::new(socket, MessageCodec::<PeerInitMessage>::default());
    let Some(Ok(Ok(PeerInitMessage::PeerInit(init)))) =
        timeout(TIMEOUT, parent.next()).await.unwrap()
    else {
        panic!("no PeerInit")
    };
    assert_eq!(
        (init.username.as_str(), init.connection_type),
        (relay.name.as_str(), ConnectionType::Distributed)
    );
    let mut parent = parent.map_codec(|_| MessageCodec::<DistributedMessage>::default());
    parent
        .send(slsk_proto::distributed::DistributedBranchLevel { level: 0 }.into())
        .await
        .unwrap();
    relay
        .distributed_event(DistributedEvent::ParentAdopted {
            username: "feeder".into(),
            branch_level: 1,
            branch_root: "feeder".into(),
        })
        .await;
    let parts = parent.into_parts();
    assert!(parts.read_buf.is_empty());
    parts.io
}

#[tokio::test]
async fn a_parent_sending_garbage_or_an_oversized_frame_is_dropped() {
    timeout(Duration::from_secs(120), async {
        let server = FakeServer::start().await;
        let (ports, feeder) = feeder_listening().await;
        let mut relay = Node::start(&server, &ports, "relay").await;
        // A BranchLevel cut short, then a BranchRoot announcing 10 MB
        // (past the 1 MiB distributed limit: refused from its length).
        let garbage: &[u8] = &[2, 0, 0, 0, 4, 9];
        let mut huge = (10u32 * 1024 * 1024 + 1).to_le_bytes().to_vec();
        huge.push(5);
        for bad in [garbage.to_vec(), huge] {
            let mut parent = raw_parent(&mut relay, &feeder).await;
            parent.write_all(&bad).await.unwrap();
            relay
                .distributed_event(DistributedEvent::ParentLost {
                    username: "feeder".into(),
                })
                .await;
            relay
                .expect_request(ToggleParentSearchRequest { enable: true })
                .await;
            let mut rest = Vec::new();
            let read = timeout(TIMEOUT, parent.read_to_end(&mut rest))
                .await
                .expect("the relay closes the connection");
            assert!(read.is_ok() || rest.is_empty());
            assert_eq!(relay.client.distributed().parent, None);
        }
        relay.client.shutdown().await;
    })
    .await
    .expect("the test took over two minutes");
}

#[tokio::test]
async fn two_roots_named_in_each_others_lists_end_with_exactly_one_parent() {
    timeout(Duration::from_secs(120), async {
        let server = FakeServer::start().await;
        let ports: Ports = Arc::default();
        let mut alpha = Node::start(&server, &ports, "alpha").await;
        let mut zulu = Node::start(&server, &ports, "zulu").await;
        for node in [&mut alpha, &mut zulu] {
            node.send(embedded_search("searcher", 1, "nothing shared matches"))
                .await;
            node.distributed_event(DistributedEvent::BecameRoot).await;
        }
        let list = |name: &str| PotentialParentsResponse {
            parents: vec![PotentialParent {
                username: name.into(),
                ip: Ipv4Addr::LOCALHOST,
                port: 0,
            }],
        };
        // Both lists at once: each dials the other as a candidate.
        alpha.send(list("zulu")).await;
        zulu.send(list("alpha")).await;
        // Every event of both, until one adopted the other and that one
        // took it as a child (`recv` loses nothing when the other wins).
        let (mut seen_alpha, mut seen_zulu) = (Vec::new(), Vec::new());
        let settled = |mine: &[Event], theirs: &[Event], me: &str, them: &str| {
            mine.contains(&Event::Distributed(DistributedEvent::ParentAdopted {
                username: them.into(),
                branch_level: 1,
                branch_root: them.into(),
            })) && theirs.contains(&Event::Distributed(DistributedEvent::ChildAdded {
                username: me.into(),
            }))
        };
        let zulu_is_child = loop {
            tokio::select! {
                Some(e) = alpha.events.recv() => seen_alpha.push(e),
                Some(e) = zulu.events.recv() => seen_zulu.push(e),
            }
            if settled(&seen_zulu, &seen_alpha, "zulu", "alpha") {
                break true;
            }
            if settled(&seen_alpha, &seen_zulu, "alpha", "zulu") {
                break false;
            }
            assert!(seen_alpha.len() + seen_zulu.len() < 1000, "never settles");
        };
        let (child, parent) = if zulu_is_child {
            (&zulu, &alpha)
        } else {
            (&alpha, &zulu)
        };
        assert_eq!(child.client.distributed().parent, Some(parent.name.clone()));
        let tree = parent.client.distributed();
        assert_eq!(tree.parent, None);
        assert_eq!(tree.children, std::slice::from_ref(&child.name));
        alpha.client.shutdown().await;
        zulu.client.shutdown().await;
    })
    .await
    .expect("the test took over two minutes");
}
