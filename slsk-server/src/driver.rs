//! The tokio driver around [`ServerState`]: a listener, one task per
//! connection (its reader and its writer), and one central task that owns the
//! state and carries out its outputs.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use slsk_proto::FramedMessage;
use slsk_proto::server::ServerRequest;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::codec::RequestCodec;
use crate::config::{Database, ServerConfig};
use crate::password::{PasswordJob, PasswordOutcome};
use crate::queue::{OutQueue, PushError};
use crate::state::{ConnId, Now, Output, ServerState};
use crate::store::Store;

/// Requests waiting for the central task, from all connections together.
/// Readers wait when it is full, so a flood slows its sender down.
const EVENT_QUEUE: usize = 1024;

/// How often the state's timers run (login timeouts).
const TICK: Duration = Duration::from_secs(1);

/// A running server. Dropping it stops it too, without waiting.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use slsk_server::{Server, ServerConfig};
///
/// let server = Server::start(ServerConfig::default()).await?;
/// println!("listening on {}", server.local_addr());
/// tokio::signal::ctrl_c().await?;
/// server.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: CancellationToken,
    acceptor: Option<JoinHandle<()>>,
    central: Option<JoinHandle<()>>,
}

/// What the connection tasks tell the central task.
enum Event {
    Connected {
        conn: ConnId,
        peer: SocketAddr,
        queue: Arc<OutQueue>,
    },
    Request {
        conn: ConnId,
        request: ServerRequest,
    },
    Disconnected {
        conn: ConnId,
    },
}

impl Server {
    /// Opens the database, binds `config.listen` and starts serving.
    pub async fn start(config: ServerConfig) -> io::Result<Server> {
        let store = match &config.database {
            Database::File(path) => Store::open(path),
            Database::InMemory => Store::open_in_memory(),
        }
        .map_err(io::Error::other)?;
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        tracing::info!(%local_addr, database = ?config.database, "server listening");

        let stop = CancellationToken::new();
        let (events, events_rx) = mpsc::channel(EVENT_QUEUE);
        let connection_settings = ConnectionSettings {
            max_frame_size: config.max_frame_size,
            max_queued_bytes: config.max_queued_bytes,
        };
        let state = ServerState::new(config, store);
        let central = tokio::spawn(central(state, events_rx, stop.clone()));
        let acceptor = tokio::spawn(accept(listener, events, connection_settings, stop.clone()));
        Ok(Server {
            local_addr,
            stop,
            acceptor: Some(acceptor),
            central: Some(central),
        })
    }

    /// The address the server listens on (with the port chosen by the OS if
    /// the configured one was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes every connection, and waits until the state
    /// and its database are closed.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        for task in [self.acceptor.take(), self.central.take()]
            .into_iter()
            .flatten()
        {
            if let Err(e) = task.await {
                tracing::error!(%e, "server task failed");
            }
        }
        tracing::info!("server stopped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[derive(Debug, Clone, Copy)]
struct ConnectionSettings {
    max_frame_size: usize,
    max_queued_bytes: usize,
}

async fn accept(
    listener: TcpListener,
    events: mpsc::Sender<Event>,
    settings: ConnectionSettings,
    stop: CancellationToken,
) {
    let mut connections = JoinSet::new();
    let mut next_id: ConnId = 1;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let conn = next_id;
                    next_id += 1;
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(conn, %e, "TCP_NODELAY");
                    }
                    let queue = Arc::new(OutQueue::new(settings.max_queued_bytes));
                    let connected = Event::Connected { conn, peer, queue: queue.clone() };
                    if events.send(connected).await.is_err() {
                        break;
                    }
                    let span = tracing::info_span!("conn", id = conn, %peer);
                    let task = connection(conn, stream, queue, events.clone(), settings.max_frame_size);
                    connections.spawn(task.instrument(span));
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = finished
                    && e.is_panic() {
                        tracing::error!(%e, "connection task panicked");
                    }
            }
        }
    }
    connections.shutdown().await;
}

/// One connection: its reader and writer run together; the first to finish
/// (client gone, bad framing, flushed after a close, killed for not reading)
/// ends both.
async fn connection(
    conn: ConnId,
    stream: TcpStream,
    queue: Arc<OutQueue>,
    events: mpsc::Sender<Event>,
    max_frame_size: usize,
) {
    let (read_half, mut write_half) = stream.into_split();
    let reading = async {
        let mut frames = FramedRead::new(read_half, RequestCodec::new(max_frame_size));
        while let Some(frame) = frames.next().await {
            match frame {
                Ok(Ok(request)) => {
                    if events.send(Event::Request { conn, request }).await.is_err() {
                        return;
                    }
                }
                Ok(Err(e)) => tracing::debug!(%e, "undecodable request dropped"),
                Err(e) => return tracing::debug!(%e, "closing: bad framing"),
            }
        }
        tracing::debug!("closed by the client");
    };
    let writing = async {
        while let Some(batch) = queue.next_batch().await {
            write_half.write_all(&batch).await?;
        }
        write_half.shutdown().await
    };
    tokio::select! {
        () = reading => {}
        written = writing => {
            if let Err(e) = written {
                tracing::debug!(%e, "write failed");
            }
        }
        () = queue.kill_token().cancelled() => {}
    }
    let _ = events.send(Event::Disconnected { conn }).await;
}

/// Owns the state: feeds it events, timer ticks and password outcomes, and
/// carries out its outputs.
async fn central(
    mut state: ServerState,
    mut events: mpsc::Receiver<Event>,
    stop: CancellationToken,
) {
    let mut queues: HashMap<ConnId, Arc<OutQueue>> = HashMap::new();
    let mut passwords: JoinSet<(PasswordJob, PasswordOutcome)> = JoinSet::new();
    // argon2 takes its configured memory per job: bound how many run at once.
    let hashing = Arc::new(Semaphore::new(
        std::thread::available_parallelism().map_or(2, |n| n.get()),
    ));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            event = events.recv() => match event {
                None => break,
                Some(Event::Connected { conn, peer, queue }) => {
                    queues.insert(conn, queue);
                    state.connected(conn, peer.ip(), Now::system());
                }
                Some(Event::Request { conn, request }) => state.handle(conn, request, Now::system()),
                Some(Event::Disconnected { conn }) => {
                    queues.remove(&conn);
                    state.disconnected(conn, Now::system());
                }
            },
            Some(done) = passwords.join_next(), if !passwords.is_empty() => match done {
                Ok((job, outcome)) => state.password_checked(job, outcome, Now::system()),
                Err(e) => tracing::error!(%e, "password task failed"),
            },
            _ = tick.tick() => state.tick(Now::system()),
        }
        while let Some(output) = state.poll_output() {
            match output {
                Output::Send { conn, message } => {
                    let Some(queue) = queues.get(&conn) else {
                        continue;
                    };
                    let mut encoded = Ok(());
                    let pushed = queue.push(|bytes| encoded = message.encode_frame(bytes));
                    if let Err(error) = encoded {
                        // Only a message built wrongly by the state can fail.
                        tracing::error!(conn, %error, "message not sent");
                    }
                    if let Err(PushError::Overflow) = pushed {
                        tracing::warn!(conn, "client is not reading: disconnected");
                    }
                }
                Output::Close { conn } => {
                    if let Some(queue) = queues.get(&conn) {
                        queue.close();
                    }
                }
                Output::Password(job) => {
                    let hashing = hashing.clone();
                    passwords.spawn(async move {
                        let _permit = hashing.acquire_owned().await;
                        let work = job.clone();
                        let outcome = tokio::task::spawn_blocking(move || work.run())
                            .await
                            .unwrap_or_else(|e| PasswordOutcome::Failed(e.to_string()));
                        (job, outcome)
                    });
                }
            }
        }
    }
}
