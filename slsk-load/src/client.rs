//! The simulated clients: one tokio task each, reading what the server sends
//! and writing what the scenario asks for.
//!
//! Latency is carried in the messages themselves: a private message's text
//! and a search's query start with the microseconds since the run began at
//! the moment it was sent, so the receiver needs no lookup.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use slsk_net::MessageCodec;
use slsk_proto::FramedMessage;
use slsk_proto::server::{
    GetPeerAddressRequest, LoginRequest, LoginResponse, PrivateChatMessageAckRequest,
    ServerRequest, ServerResponse,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

/// Every wait for the server is bounded by this.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Frames a client may have waiting to be written before the scenario
/// counts a send as refused (the generator is then the bottleneck).
const OUTBOX: usize = 256;

/// What the clients record, shared by all of them.
pub struct Shared {
    pub start: Instant,
    /// Private messages of this phase are counted; older ones are not.
    pub phase: AtomicU32,
    pub pm_received: AtomicU64,
    /// Microseconds from send to receipt, this phase's messages.
    pub pm_latencies: Mutex<Vec<u32>>,
    /// For each search ticket, the microseconds to each recipient.
    pub searches: Mutex<HashMap<u32, Vec<u32>>>,
    /// Ends every client task.
    pub stop: CancellationToken,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            phase: AtomicU32::new(0),
            pm_received: AtomicU64::new(0),
            pm_latencies: Mutex::new(Vec::new()),
            searches: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
        }
    }

    pub fn micros(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Microseconds from `sent_micros` (see [`micros`](Self::micros)) to now.
    pub fn since(&self, sent_micros: u64) -> u32 {
        u32::try_from(self.micros().saturating_sub(sent_micros)).unwrap_or(u32::MAX)
    }
}

/// A logged-in client, as the scenarios see it.
pub struct Client {
    pub name: String,
    outbox: mpsc::Sender<Bytes>,
}

impl Client {
    /// Queues a frame; false if the client's outbox is full.
    pub fn try_send(&self, frame: Bytes) -> bool {
        self.outbox.try_send(frame).is_ok()
    }

    /// Another handle on the outbox, for a task of its own.
    pub fn outbox_clone(&self) -> mpsc::Sender<Bytes> {
        self.outbox.clone()
    }
}

/// What a client does after login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Reads everything, acknowledges private messages, records latencies.
    Normal,
    /// Never reads again (its socket buffers and then the server's queue
    /// fill up).
    NoRead,
    /// Sends GetPeerAddress every millisecond and reads the replies.
    Flood,
}

/// The source address for client `index`: clients are spread over
/// 127.0.x.y, `per_ip` to an address, so that the server's per-address
/// connection cap holds and ephemeral ports do not run out. `base` keeps
/// groups apart.
pub fn source_ip(base: u32, index: usize, per_ip: usize) -> Ipv4Addr {
    let n = base + (index / per_ip.max(1)) as u32;
    Ipv4Addr::new(127, 1 + (n >> 16) as u8, (n >> 8) as u8, n as u8)
}

/// A TCP connection from `source` to the server.
pub async fn connect_from(source: Ipv4Addr, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    tokio::time::timeout(DEADLINE, socket.connect(server))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect"))?
}

/// A Login frame for `name` (the password is the same for every client).
pub fn login_frame(name: &str) -> Vec<u8> {
    ServerRequest::from(LoginRequest {
        username: name.to_owned(),
        password: "load".into(),
        version: 160,
        md5_hash: Some(slsk_proto::login_hash(name, "load")),
        minor_version: Some(1),
    })
    .to_frame()
    .expect("a request the load generator builds always encodes")
}

/// Connects, logs in as `name` and starts the client's task.
pub async fn login(
    name: String,
    source: Ipv4Addr,
    server: SocketAddr,
    behaviour: Behaviour,
    everyone: std::sync::Arc<Vec<String>>,
    shared: std::sync::Arc<Shared>,
) -> io::Result<Client> {
    let stream = connect_from(source, server).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    write.write_all(&login_frame(&name)).await?;
    let mut frames = FramedRead::new(read, MessageCodec::<ServerResponse>::default());
    let reply = tokio::time::timeout(DEADLINE, frames.next())
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "login reply"))?;
    match reply {
        Some(Ok(Ok(ServerResponse::Login(LoginResponse::Success { .. })))) => {}
        other => return Err(io::Error::other(format!("login of {name}: {other:?}"))),
    }
    let (outbox, mut outgoing) = mpsc::channel::<Bytes>(OUTBOX);
    let stop = shared.stop.clone();
    tokio::spawn(async move {
        let mut flood = tokio::time::interval(Duration::from_millis(1));
        let mut flood_count = 0usize;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                frame = frames.next(), if behaviour != Behaviour::NoRead => match frame {
                    Some(Ok(Ok(message))) => {
                        if let Some(ack) = received(message, &shared)
                            && write.write_all(&ack).await.is_err() {
                                break;
                            }
                    }
                    Some(Ok(Err(_))) => {}
                    Some(Err(_)) | None => break,
                },
                Some(frame) = outgoing.recv() => {
                    if write.write_all(&frame).await.is_err() {
                        break;
                    }
                }
                _ = flood.tick(), if behaviour == Behaviour::Flood => {
                    flood_count += 1;
                    let target = &everyone[flood_count % everyone.len()];
                    let request = ServerRequest::from(GetPeerAddressRequest { username: target.clone() });
                    if write.write_all(&request.to_frame().expect("a request the load generator builds always encodes")).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok(Client { name, outbox })
}

/// Records a received message; returns a frame to send back (the ack of a
/// private message).
fn received(message: ServerResponse, shared: &Shared) -> Option<Vec<u8>> {
    match message {
        ServerResponse::PrivateChatMessage(pm) => {
            if let Some((phase, sent)) = parse_pm(&pm.message)
                && phase == shared.phase.load(Ordering::Relaxed)
            {
                let latency = shared.since(sent);
                shared.pm_received.fetch_add(1, Ordering::Relaxed);
                lock(&shared.pm_latencies).push(latency);
            }
            let ack = PrivateChatMessageAckRequest {
                chat_id: pm.chat_id,
            };
            Some(
                ServerRequest::from(ack)
                    .to_frame()
                    .expect("a request the load generator builds always encodes"),
            )
        }
        ServerResponse::FileSearch(search) => {
            if let Some(sent) = search.query.strip_prefix('S').and_then(|t| t.parse().ok()) {
                let latency = shared.since(sent);
                lock(&shared.searches)
                    .entry(search.ticket)
                    .or_default()
                    .push(latency);
            }
            None
        }
        _ => None,
    }
}

/// Locks, even a mutex poisoned by a panicking client task.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The text of a private message of `phase` sent now: `L<phase>:<micros>:`
/// and padding to about the size of a chat line.
pub fn pm_text(phase: u32, micros: u64) -> String {
    format!("L{phase}:{micros}:the quick brown fox jumps over the lazy dog")
}

fn parse_pm(text: &str) -> Option<(u32, u64)> {
    let mut parts = text.strip_prefix('L')?.split(':');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// A search query that carries its send time.
pub fn search_query(micros: u64) -> String {
    format!("S{micros}")
}

/// Takes this phase's latencies, leaving an empty list.
pub fn take_pm_latencies(shared: &Shared) -> Vec<u32> {
    std::mem::take(&mut *lock(&shared.pm_latencies))
}

/// The latencies recorded for a search ticket so far.
pub fn search_latencies(shared: &Shared, ticket: u32) -> Vec<u32> {
    lock(&shared.searches)
        .get(&ticket)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_carry_their_time() {
        assert_eq!(parse_pm(&pm_text(3, 12345)), Some((3, 12345)));
        assert_eq!(parse_pm("hello"), None);
        assert_eq!(source_ip(0, 0, 50), Ipv4Addr::new(127, 1, 0, 0));
        assert_eq!(source_ip(0, 50 * 300, 50), Ipv4Addr::new(127, 1, 1, 44));
    }
}
