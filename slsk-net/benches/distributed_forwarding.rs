//! Distributed search forwarding, measured: a stream of searches written
//! by a parent over a `D` connection to one of our clients (the relay),
//! which passes each to its 10 children over `D` connections, all on
//! loopback; next to it, in the same run and on the same thread, a plain
//! copy of the same bytes from one socket to 10 others.
//!
//! Everything runs on one tokio thread (a current-thread runtime), so the
//! rate is per core, feeder and readers included for both. The relay shares
//! nothing, so answering a search costs only the check that nothing can
//! match; the relay decodes each search once (to check the identifier and
//! duplicates) and forwards the frame it received.
//!
//! `cargo bench -p slsk-net --bench distributed_forwarding`
//! (`SLSK_BENCH_SEARCHES` sets the number of searches per round, default
//! 1,000,000; three rounds of each, best reported).

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use slsk_net::MessageCodec;
use slsk_net::client::{Client, DistributedConfig, DistributedEvent, Event};
use slsk_proto::FramedMessage;
use slsk_proto::distributed::{
    DistributedBranchLevel, DistributedMessage, DistributedSearchRequest,
};
use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
use slsk_proto::server::{
    GetPeerAddressResponse, PotentialParentsResponse, ServerRequest, ServerResponse,
};
use slsk_proto::structures::PotentialParent;
use slsk_proto::tables::ConnectionType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::codec::Framed;

const CHILDREN: usize = 10;
const ROUNDS: usize = 3;
const LIMIT: Duration = Duration::from_secs(300);

/// `count` distinct searches from ticket `first` on, framed, back to back.
fn searches(first: u32, count: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for ticket in first..first + count {
        let search = DistributedMessage::from(DistributedSearchRequest {
            unknown: 49,
            username: "searcher".into(),
            ticket,
            query: format!("artist album track {}", ticket % 1000),
        });
        search.encode_frame(&mut out).unwrap();
    }
    out
}

/// Reads `expected` from `socket`, checking it byte for byte.
async fn read_all(mut socket: TcpStream, expected: std::sync::Arc<Vec<u8>>) -> TcpStream {
    let mut buf = vec![0u8; 256 * 1024];
    let mut at = 0;
    while at < expected.len() {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "a child was closed after {at} bytes");
        assert_eq!(&buf[..n], &expected[at..at + n], "bytes differ at {at}");
        at += n;
    }
    socket
}

/// The relay under test: one of our clients with a parent (`feeder`) and
/// 10 children; returns the feeder's socket, the children's sockets and the
/// client.
async fn relay() -> (TcpStream, Vec<TcpStream>, Client) {
    let server = support::FakeServer::start().await;
    let feeder = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feeder_port = feeder.local_addr().unwrap().port();
    let mut config = server.config("relay");
    config.advertised_port = None;
    config.advertised_obfuscated_port = None;
    config.peer.obfuscated_listen_addr = None;
    let mut distributed = DistributedConfig::default();
    distributed.max_children = Some(CHILDREN as u32);
    // The default queue limit (1 MiB per child): a child dropped as too
    // slow fails the round.
    config.distributed = distributed;
    let (client, mut events, mut side) = support::logged_in(&server, config).await;
    side.send(PotentialParentsResponse {
        parents: vec![PotentialParent {
            username: "feeder".into(),
            ip: Ipv4Addr::LOCALHOST,
            port: u32::from(feeder_port),
        }],
    })
    .await;
    // Answer the relay's GetPeerAddress for the feeder, then keep reading.
    loop {
        if let ServerRequest::GetPeerAddress(r) = side.recv().await {
            assert_eq!(r.username, "feeder");
            side.send(ServerResponse::from(GetPeerAddressResponse {
                username: r.username,
                ip: Ipv4Addr::LOCALHOST,
                port: u32::from(feeder_port),
                obfuscation_type: None,
                obfuscated_port: None,
            }))
            .await;
            break;
        }
    }
    tokio::spawn(async move { while side.recv_or_eof().await.is_some() {} });
    let (socket, _) = timeout(LIMIT, feeder.accept()).await.unwrap().unwrap();
    let mut parent = Framed::new(socket, MessageCodec::<PeerInitMessage>::default());
    let init = parent.next().await.unwrap().unwrap().unwrap();
    assert!(
        matches!(init, PeerInitMessage::PeerInit(ref i) if i.connection_type == ConnectionType::Distributed)
    );
    let mut parent = parent.map_codec(|_| MessageCodec::<DistributedMessage>::default());
    parent
        .send(DistributedBranchLevel { level: 0 }.into())
        .await
        .unwrap();
    support::wait_for(&mut events, |e| {
        matches!(
            e,
            Event::Distributed(DistributedEvent::ParentAdopted { .. })
        )
    })
    .await;
    let port = client.peers().listen_port();
    let mut children = Vec::new();
    for i in 0..CHILDREN {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        socket.set_nodelay(true).unwrap();
        let init = PeerInitMessage::from(PeerInit {
            username: format!("child{i}"),
            connection_type: ConnectionType::Distributed,
            ticket: 0.into(),
        });
        socket.write_all(&init.to_frame().unwrap()).await.unwrap();
        let mut framed = Framed::new(socket, MessageCodec::<DistributedMessage>::default());
        // Our level, then our root.
        for _ in 0..2 {
            timeout(LIMIT, framed.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
                .unwrap();
        }
        let parts = framed.into_parts();
        assert!(parts.read_buf.is_empty());
        children.push(parts.io);
    }
    assert_eq!(client.distributed().children.len(), CHILDREN);
    drop(events);
    (parent.into_inner(), children, client)
}

/// Writes the stream into `from` and waits until every child has it all.
async fn round(
    from: &mut TcpStream,
    children: Vec<TcpStream>,
    stream: &std::sync::Arc<Vec<u8>>,
) -> (Duration, Vec<TcpStream>) {
    let start = Instant::now();
    let readers: Vec<_> = children
        .into_iter()
        .map(|child| tokio::spawn(read_all(child, stream.clone())))
        .collect();
    from.write_all(stream).await.unwrap();
    let mut back = Vec::new();
    for reader in readers {
        back.push(timeout(LIMIT, reader).await.expect("in time").unwrap());
    }
    (start.elapsed(), back)
}

/// The plain copy: one socket in, 10 out, 64 KiB at a time.
async fn plain_copy() -> (TcpStream, Vec<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let feeder = TcpStream::connect(addr).await.unwrap();
    let (mut input, _) = listener.accept().await.unwrap();
    let mut outputs = Vec::new();
    let mut children = Vec::new();
    for _ in 0..CHILDREN {
        let child = TcpStream::connect(addr).await.unwrap();
        let (output, _) = listener.accept().await.unwrap();
        output.set_nodelay(true).unwrap();
        outputs.push(output);
        children.push(child);
    }
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match input.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for output in &mut outputs {
                if output.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    });
    (feeder, children)
}

fn main() {
    let count: u32 = std::env::var("SLSK_BENCH_SEARCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (mut relay_in, mut relay_children, client) = relay().await;
        let (mut plain_in, mut plain_children) = plain_copy().await;
        let mut best_relay = Duration::MAX;
        let mut best_plain = Duration::MAX;
        for r in 0..ROUNDS {
            // Fresh tickets each round: the relay drops recent duplicates.
            let first = u32::try_from(r).unwrap() * count;
            let stream = std::sync::Arc::new(searches(first, count));
            let (relay_time, back) = round(&mut relay_in, relay_children, &stream).await;
            relay_children = back;
            let (plain_time, back) = round(&mut plain_in, plain_children, &stream).await;
            plain_children = back;
            println!(
                "round {r}: {count} searches ({} bytes each way): relay {:.3} s, plain copy {:.3} s",
                stream.len(),
                relay_time.as_secs_f64(),
                plain_time.as_secs_f64()
            );
            best_relay = best_relay.min(relay_time);
            best_plain = best_plain.min(plain_time);
        }
        let relay_rate = f64::from(count) / best_relay.as_secs_f64();
        let plain_rate = f64::from(count) / best_plain.as_secs_f64();
        println!(
            "distributed forwarding to {CHILDREN} children, one core: relay {:.0} searches/s, plain copy {:.0} searches/s, relay/plain {:.2}",
            relay_rate,
            plain_rate,
            relay_rate / plain_rate
        );
        client.shutdown().await;
    });
}
