//! The `P` connections of one user: a reader task per connection that turns
//! frames into events, and a writer task per connection, of which only the
//! *current* one drains the user's outgoing queue.
//!
//! The queue belongs to the user, not to a socket. A new connection from the
//! same user becomes the current one and its writer takes over the queue, so
//! queued messages are not lost; a message whose write was blocked at that
//! moment is sent again first on the new connection (and the old one, which
//! now holds part of a frame, closes). The connections it replaced keep
//! reading until the peer closes them or they go idle, and when the current
//! one closes, the most recent of them becomes current again. This is what
//! makes racing connections harmless: when both paths to a peer succeed, or
//! both sides open a connection at the same moment, each side writes on one
//! connection and reads on all of them. Messages keep their order on each
//! connection; around a switch, messages on different connections may be
//! read out of order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use slsk_proto::peer::PeerMessage;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc, watch};
use tokio::time::Instant;
use tokio_util::codec::{Framed, FramedParts, FramedWrite};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug};

use crate::frame::Outbound;
use crate::handshake::PeerFramed;
use crate::obfuscated::PeerCodec;
use crate::peers::PeerEvent;

/// Connections kept per user (the current one and the ones it replaced,
/// reading only); past this the oldest is closed. Four is what two sides
/// opening at once over both paths make.
const MAX_CONNECTIONS_PER_USER: usize = 4;

/// Who opened the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

/// A connection has ended.
#[derive(Debug)]
pub(crate) struct Closed {
    pub username: String,
    pub id: u64,
}

/// What the connection tasks report to and share with the layer.
#[derive(Clone)]
pub(crate) struct Shared {
    pub idle_timeout: Duration,
    pub events: mpsc::Sender<PeerEvent>,
    pub closed_tx: mpsc::Sender<Closed>,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
}

/// What the current writer drains: the queue, and a message a previous
/// writer could not finish.
pub(crate) struct Outgoing {
    rx: mpsc::Receiver<Outbound>,
    carry: Option<Outbound>,
}

/// A user's `P` connections and outgoing queue.
pub(crate) struct Link {
    queue: mpsc::Sender<Outbound>,
    outgoing: Arc<Mutex<Outgoing>>,
    /// The id of the connection whose writer drains the queue.
    current: watch::Sender<u64>,
    /// Open connections, oldest first, with what closes each.
    connections: Vec<(u64, CancellationToken)>,
}

impl Link {
    pub fn new(queue_size: usize) -> Self {
        let (queue, rx) = mpsc::channel(queue_size.max(1));
        Self {
            queue,
            outgoing: Arc::new(Mutex::new(Outgoing { rx, carry: None })),
            current: watch::Sender::new(0),
            connections: Vec::new(),
        }
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    /// Whether any connection is open.
    pub fn is_open(&self) -> bool {
        !self.connections.is_empty()
    }

    /// Whether messages wait to be written (or may: a writer is busy with
    /// the queue).
    pub fn has_pending(&self) -> bool {
        self.queue.capacity() < self.queue.max_capacity()
            || self
                .outgoing
                .try_lock()
                .map_or(true, |outgoing| outgoing.carry.is_some())
    }

    /// Where messages for the user are queued.
    pub fn queue(&self) -> mpsc::Sender<Outbound> {
        self.queue.clone()
    }

    /// Starts connection `id`; it becomes the current one if `make_current`
    /// or if there is none, and otherwise only reads until it is needed.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        id: u64,
        username: &str,
        framed: PeerFramed,
        addr: SocketAddr,
        direction: Direction,
        make_current: bool,
        shared: &Shared,
    ) {
        let closed = shared.shutdown.child_token();
        spawn(
            framed,
            Connection {
                username: username.to_owned(),
                id,
                addr,
                direction,
                closed: closed.clone(),
                current: self.current.subscribe(),
                queue: self.outgoing.clone(),
                shared: shared.clone(),
            },
        );
        let first = self.connections.is_empty();
        if make_current || first {
            self.connections.push((id, closed));
            self.current.send_replace(id);
        } else {
            // Before the current one, so it is not the first to take over.
            let at = self.connections.len() - 1;
            self.connections.insert(at, (id, closed));
        }
        if self.connections.len() > MAX_CONNECTIONS_PER_USER {
            let (oldest, closed) = self.connections.remove(0);
            closed.cancel();
            // The oldest is never the current one unless it is the only one.
            debug_assert_ne!(*self.current.borrow(), oldest);
        }
    }

    /// Connection `id` has closed. Returns false when none is left.
    pub fn remove(&mut self, id: u64) -> bool {
        self.connections.retain(|(c, _)| *c != id);
        match self.connections.last() {
            None => false,
            Some(&(latest, _)) => {
                if *self.current.borrow() == id {
                    self.current.send_replace(latest);
                }
                true
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for (_, closed) in &self.connections {
            closed.cancel();
        }
    }
}

/// Everything one connection's tasks need.
struct Connection {
    username: String,
    id: u64,
    addr: SocketAddr,
    direction: Direction,
    closed: CancellationToken,
    current: watch::Receiver<u64>,
    queue: Arc<Mutex<Outgoing>>,
    shared: Shared,
}

/// The last time anything was read or written, as milliseconds since the
/// connection started.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

fn spawn(framed: PeerFramed, connection: Connection) {
    let span = tracing::debug_span!(
        "peer_connection",
        user = %connection.username,
        id = connection.id,
        kind = "P",
        direction = ?connection.direction,
        addr = %connection.addr,
        obfuscated = framed.codec().is_obfuscated(),
    );
    let parts = framed.into_parts();
    let (read_half, write_half) = parts.io.into_split();
    // Bytes read along with the peer-init message belong to the reader;
    // built from parts, the reader decodes them before reading again.
    let mut read_parts = FramedParts::new::<PeerMessage>(read_half, parts.codec.clone());
    read_parts.read_buf = parts.read_buf;
    let reader = Framed::from_parts(read_parts);
    let writer = FramedWrite::new(write_half, parts.codec);
    let activity = Arc::new(Activity {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
    });
    let connection = Arc::new(connection);
    tokio::spawn(write_loop(writer, activity.clone(), connection.clone()).instrument(span.clone()));
    tokio::spawn(read_loop(reader, activity, connection).instrument(span));
}

async fn read_loop(
    mut reader: Framed<OwnedReadHalf, PeerCodec<PeerMessage>>,
    activity: Arc<Activity>,
    conn: Arc<Connection>,
) {
    debug!("open");
    let idle_timeout = conn.shared.idle_timeout;
    loop {
        let idle_at = activity.last() + idle_timeout;
        let item = tokio::select! {
            _ = conn.closed.cancelled() => break,
            item = tokio::time::timeout_at(idle_at, reader.next()) => item,
        };
        let event = match item {
            Err(_) if activity.last() + idle_timeout <= Instant::now() => {
                debug!("idle, closing");
                break;
            }
            // The writer was active meanwhile.
            Err(_) => continue,
            Ok(None) => {
                debug!("closed by the peer");
                break;
            }
            Ok(Some(Err(e))) => {
                debug!(error = %e, "read failed, closing");
                break;
            }
            Ok(Some(Ok(Ok(message)))) => PeerEvent::Message {
                username: conn.username.clone(),
                message,
            },
            Ok(Some(Ok(Err(error)))) => {
                debug!(%error, "undecodable message skipped");
                PeerEvent::BadMessage {
                    username: conn.username.clone(),
                    error,
                }
            }
        };
        activity.touch();
        tokio::select! {
            _ = conn.closed.cancelled() => break,
            sent = conn.shared.events.send(event) => if sent.is_err() { break },
        }
        // Time spent waiting for the application is not idleness.
        activity.touch();
    }
    conn.closed.cancel();
    let _ = conn
        .shared
        .closed_tx
        .send(Closed {
            username: conn.username.clone(),
            id: conn.id,
        })
        .await;
}

/// Waits until connection `id` is the current one; false if the user's
/// link is gone.
async fn until_current(current: &mut watch::Receiver<u64>, id: u64) -> bool {
    current.wait_for(|&c| c == id).await.is_ok()
}

/// Waits until connection `id` is no longer the current one.
async fn until_replaced(current: &mut watch::Receiver<u64>, id: u64) {
    let _ = current.wait_for(|&c| c != id).await;
}

/// How a write ended.
enum Written {
    Sent(std::io::Result<()>),
    Closed,
    Replaced,
}

async fn write_loop(
    mut writer: FramedWrite<OwnedWriteHalf, PeerCodec<PeerMessage>>,
    activity: Arc<Activity>,
    conn: Arc<Connection>,
) {
    let mut current = conn.current.clone();
    let closed = &conn.closed;
    'standby: loop {
        tokio::select! {
            _ = closed.cancelled() => break,
            is_current = until_current(&mut current, conn.id) => if !is_current { break },
        }
        let mut queue = tokio::select! {
            _ = closed.cancelled() => break,
            _ = until_replaced(&mut current, conn.id) => continue,
            queue = conn.queue.lock() => queue,
        };
        debug!("current: writing");
        loop {
            let message = match queue.carry.take() {
                Some(message) => message,
                None => tokio::select! {
                    biased;
                    _ = closed.cancelled() => break 'standby,
                    _ = until_replaced(&mut current, conn.id) => {
                        debug!("replaced: reading only");
                        continue 'standby;
                    }
                    message = queue.rx.recv() => match message {
                        Some(message) => message,
                        None => break 'standby,
                    },
                },
            };
            let written = tokio::select! {
                biased;
                _ = closed.cancelled() => Written::Closed,
                sent = writer.send(&message) => Written::Sent(sent),
                _ = until_replaced(&mut current, conn.id) => Written::Replaced,
            };
            match written {
                Written::Sent(Ok(())) => activity.touch(),
                Written::Sent(Err(e)) => {
                    debug!(error = %e, "write failed, closing");
                    queue.carry = Some(message);
                    break 'standby;
                }
                // A message not wholly written goes first on the next
                // current connection. This one now holds part of a frame,
                // so it can never write again: it closes.
                Written::Closed => {
                    queue.carry = Some(message);
                    break 'standby;
                }
                Written::Replaced => {
                    debug!("replaced while a write was blocked, closing");
                    queue.carry = Some(message);
                    break 'standby;
                }
            }
        }
    }
    closed.cancel();
}
