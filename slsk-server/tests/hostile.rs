//! Hostile input over real sockets: random frames, huge and tiny length
//! fields, truncated frames and garbage from many sockets, while two
//! well-behaved clients keep exchanging private messages. Nothing may panic.
//!
//! Its own test binary, because it counts panics with a process-wide hook.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Client, DEADLINE, start, test_config};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use slsk_proto::server::{PrivateChatMessageAckRequest, PrivateChatMessageRequest, ServerResponse};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

static PANICS: AtomicUsize = AtomicUsize::new(0);

const HOSTILE_SOCKETS: u64 = 12;
const ACTIONS_PER_SOCKET: usize = 40;
const MESSAGES: usize = 30;

/// Codes the server knows, so that many random frames reach a real decoder.
const CODES: &[u32] = &[
    1, 2, 3, 5, 6, 7, 13, 14, 15, 18, 22, 23, 26, 28, 32, 35, 36, 42, 51, 64, 71, 92, 103, 120,
    121, 142, 149, 160, 1001,
];

async fn hostile(addr: SocketAddr, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut stream: Option<TcpStream> = None;
    for _ in 0..ACTIONS_PER_SOCKET {
        if stream.is_none() {
            stream = Some(TcpStream::connect(addr).await.expect("connect"));
        }
        let socket = stream.as_mut().unwrap();
        let mut bytes = Vec::new();
        let ends_connection = match rng.random_range(0..10) {
            // A well-framed message with a random payload.
            0..=4 => {
                let code = if rng.random_bool(0.8) {
                    CODES[rng.random_range(0..CODES.len())]
                } else {
                    rng.random()
                };
                let payload: Vec<u8> = (0..rng.random_range(0..96)).map(|_| rng.random()).collect();
                bytes.extend_from_slice(&(4 + payload.len() as u32).to_le_bytes());
                bytes.extend_from_slice(&code.to_le_bytes());
                bytes.extend_from_slice(&payload);
                false
            }
            // A length field over the cap: the server closes.
            5 => {
                bytes.extend_from_slice(&rng.random_range(8189..=u32::MAX).to_le_bytes());
                bytes.extend_from_slice(&[0xAB; 16]);
                true
            }
            // A length field too small to hold a code: the server closes.
            6 => {
                bytes.extend_from_slice(&rng.random_range(0u32..4).to_le_bytes());
                true
            }
            // A frame cut short, then the socket closes.
            7 => {
                bytes.extend_from_slice(&200u32.to_le_bytes());
                bytes.extend_from_slice(&22u32.to_le_bytes());
                bytes.extend((0..rng.random_range(0..100)).map(|_| rng.random::<u8>()));
                true
            }
            // Garbage.
            _ => {
                bytes.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>()));
                rng.random_bool(0.5)
            }
        };
        // The server may already have closed this socket: then start anew.
        if socket.write_all(&bytes).await.is_err() || ends_connection {
            stream = None;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sockets_do_not_disturb_well_behaved_clients() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));

    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut alice = Client::login(addr, "alice", "pw").await;
    let mut bob = Client::login(addr, "bob", "pw").await;

    let attackers: Vec<_> = (0..HOSTILE_SOCKETS)
        .map(|seed| tokio::spawn(hostile(addr, 0x5151 + seed)))
        .collect();

    // Ping-pong: each message is received, acknowledged and answered.
    let exchange = async {
        for round in 0..MESSAGES {
            let (from, to, to_name, from_name) = if round % 2 == 0 {
                (&mut alice, &mut bob, "bob", "alice")
            } else {
                (&mut bob, &mut alice, "alice", "bob")
            };
            let text = format!("message {round}");
            from.send(PrivateChatMessageRequest {
                username: to_name.into(),
                message: text.clone(),
            })
            .await;
            let ServerResponse::PrivateChatMessage(got) = to
                .recv_until(|m| matches!(m, ServerResponse::PrivateChatMessage(_)))
                .await
            else {
                unreachable!()
            };
            assert_eq!(
                (got.username.as_str(), got.message.as_str()),
                (from_name, text.as_str())
            );
            assert_eq!(got.is_direct, Some(true));
            to.send(PrivateChatMessageAckRequest {
                chat_id: got.chat_id,
            })
            .await;
        }
    };
    timeout(DEADLINE, exchange)
        .await
        .expect("the exchange stalled");
    for attacker in attackers {
        timeout(DEADLINE, attacker)
            .await
            .expect("an attacker stalled")
            .expect("attacker task");
    }

    // The server still serves new users after all that.
    let mut carol = Client::login(addr, "carol", "pw").await;
    carol.sync("carol").await;
    server.shutdown().await;
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}
