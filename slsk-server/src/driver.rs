//! The tokio driver around [`ServerState`]: a listener, one task per
//! connection (its reader and its writer share it), and one central task that
//! owns the state and carries out its outputs.
//!
//! Memory per idle connection is kept small on purpose (the server is meant
//! to hold tens of thousands): no read buffer while no frame is partly read,
//! no write buffer while nothing is queued, one task rather than a pair.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use slsk_proto::FramedMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::checkpoint::Checkpointer;
use crate::codec::RequestCodec;
use crate::config::{Database, ServerConfig};
use crate::hashing::HashingPool;
use crate::password::{PasswordJob, PasswordOutcome};
use crate::queue::{OutQueue, PushError, write_some};
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

/// A connection's socket and outgoing queue, shared by its task (which
/// reads, and writes what the socket did not take at once) and the central
/// task (which queues frames and writes them straight away: see `queue`).
#[derive(Debug)]
struct Link {
    stream: TcpStream,
    queue: OutQueue,
}

impl Link {
    /// Writes what is queued, as far as the socket takes it now.
    fn flush(&self) {
        self.queue
            .flush(|slices| self.stream.try_write_vectored(slices));
    }
}

/// What the connection tasks tell the central task.
enum Event {
    Connected {
        conn: ConnId,
        peer: SocketAddr,
        link: Arc<Link>,
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
        let (store, checkpointer) = match &config.database {
            Database::File(path) => {
                let store = Store::open(path).map_err(io::Error::other)?;
                store.disable_auto_checkpoint().map_err(io::Error::other)?;
                let checkpointer = Checkpointer::start(path.clone()).map_err(io::Error::other)?;
                (store, Some(checkpointer))
            }
            Database::InMemory => (Store::open_in_memory().map_err(io::Error::other)?, None),
        };
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        tracing::info!(%local_addr, database = ?config.database, "server listening");

        let stop = CancellationToken::new();
        let (events, events_rx) = mpsc::channel(EVENT_QUEUE);
        let connection_settings = ConnectionSettings {
            max_frame_size: config.max_frame_size,
            max_queued_bytes: config.max_queued_bytes,
            max_connections_per_ip: config.max_connections_per_ip,
        };
        let state = ServerState::new(config, store);
        let central = tokio::spawn(central(state, checkpointer, events_rx, stop.clone()));
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
    max_connections_per_ip: usize,
}

async fn accept(
    listener: TcpListener,
    events: mpsc::Sender<Event>,
    settings: ConnectionSettings,
    stop: CancellationToken,
) {
    // Each connection task returns its peer's IP, to count it down.
    let mut connections: JoinSet<IpAddr> = JoinSet::new();
    let mut per_ip: HashMap<IpAddr, usize> = HashMap::new();
    let mut next_id: ConnId = 1;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let open = per_ip.entry(peer.ip()).or_default();
                    if settings.max_connections_per_ip != 0 && *open >= settings.max_connections_per_ip {
                        tracing::debug!(%peer, "too many connections from this address: refused");
                        continue;
                    }
                    *open += 1;
                    let conn = next_id;
                    next_id += 1;
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(conn, %e, "TCP_NODELAY");
                    }
                    let link = Arc::new(Link {
                        stream,
                        queue: OutQueue::new(settings.max_queued_bytes),
                    });
                    let connected = Event::Connected { conn, peer, link: link.clone() };
                    if events.send(connected).await.is_err() {
                        break;
                    }
                    // At debug level: an enabled span per connection costs memory.
                    let span = tracing::debug_span!("conn", id = conn, %peer);
                    let task = connection(conn, link, events.clone(), settings.max_frame_size);
                    connections.spawn(async move {
                        task.await;
                        peer.ip()
                    }.instrument(span));
                }
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                match finished {
                    Ok(ip) => {
                        if let Some(open) = per_ip.get_mut(&ip) {
                            *open -= 1;
                            if *open == 0 {
                                per_ip.remove(&ip);
                            }
                        }
                    }
                    // Only a panic loses the IP; its count stays one too high.
                    Err(e) => tracing::error!(%e, "connection task failed"),
                }
            }
        }
    }
    connections.shutdown().await;
}

/// Read in steps of this many bytes. The buffer exists only while a frame is
/// partly read: an idle connection holds none.
const READ_CHUNK: usize = 4096;

/// One connection, in one task: its reader and writer share the socket by
/// reference and run together; the first to finish (client gone, bad
/// framing, flushed after a close, killed for not reading) ends both.
async fn connection(
    conn: ConnId,
    link: Arc<Link>,
    events: mpsc::Sender<Event>,
    max_frame_size: usize,
) {
    let stream = &link.stream;
    let queue = &link.queue;
    let reading = async {
        match read_requests(conn, stream, &events, max_frame_size).await {
            Ok(()) => tracing::debug!("closed by the client"),
            Err(e) => tracing::debug!(%e, "closing: read failed"),
        }
    };
    let writing = async {
        while let Some(mut frames) = queue.next_batch().await {
            write_frames(stream, &mut frames).await?;
        }
        // Flushed after a close: FIN, then the task ends and drops the socket.
        let socket = socket2::SockRef::from(stream);
        socket.shutdown(std::net::Shutdown::Write)
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
    if let Ok(permit) = events.reserve().await {
        permit.send(Event::Disconnected { conn });
    }
}

/// Whether `buf` holds a whole frame, or a length field the codec must
/// refuse (under 4, or over the cap: refused before the rest is read).
fn has_frame(buf: &[u8], max_frame_size: usize) -> bool {
    match buf.first_chunk::<4>() {
        Some(len) => {
            let len = u32::from_le_bytes(*len) as usize;
            len < 4 || len.saturating_add(4) > max_frame_size || buf.len() - 4 >= len
        }
        None => false,
    }
}

/// Reads frames until the client closes (`Ok`) or breaks the framing or the
/// connection (`Err`). The read buffer starts empty, grows to the frame being
/// read, and is dropped whenever nothing is left in it, so that a large frame
/// does not pin memory afterwards.
async fn read_requests(
    conn: ConnId,
    stream: &TcpStream,
    events: &mpsc::Sender<Event>,
    max_frame_size: usize,
) -> io::Result<()> {
    let mut codec = RequestCodec::new(max_frame_size);
    let mut buf = BytesMut::new();
    loop {
        stream.readable().await?;
        if buf.capacity() - buf.len() < READ_CHUNK {
            buf.reserve(READ_CHUNK);
        }
        match stream.try_read_buf(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // A spurious wake-up (one comes right after accepting): do
                // not wait for data holding an empty chunk.
                if buf.is_empty() {
                    buf = BytesMut::new();
                }
                continue;
            }
            Err(e) => return Err(e),
        }
        // A place in the event queue first, then the frame: nothing large
        // is held across the wait (it would be in every connection's task).
        while has_frame(&buf, max_frame_size) {
            let Ok(permit) = events.reserve().await else {
                return Ok(());
            };
            match codec.decode(&mut buf)? {
                Some(Ok(request)) => permit.send(Event::Request { conn, request }),
                Some(Err(e)) => tracing::debug!(%e, "undecodable request dropped"),
                None => break,
            }
        }
        if buf.is_empty() {
            buf = BytesMut::new();
        } else if buf.capacity() > 2 * READ_CHUNK && buf.len() <= READ_CHUNK {
            // The end of a large frame read together with the start of the
            // next: keep the start, not the large allocation.
            buf = BytesMut::from(&buf[..]);
        }
    }
}

/// Writes every frame, several per system call, waiting for the socket
/// whenever it is full.
async fn write_frames(
    stream: &TcpStream,
    frames: &mut std::collections::VecDeque<Bytes>,
) -> io::Result<()> {
    while !frames.is_empty() {
        stream.writable().await?;
        write_some(frames, &mut |slices| stream.try_write_vectored(slices))?;
    }
    Ok(())
}

/// Connections to flush after one batch from which the flushing is split
/// over two threads (a search to every user): the system calls are most of
/// a fan-out's cost.
const PARALLEL_FLUSH: usize = 1024;

/// Writes what is queued on each link, on this thread and, for many links,
/// on a second one too.
fn flush_all(links: &[&Link]) {
    if links.len() < PARALLEL_FLUSH {
        links.iter().for_each(|link| link.flush());
        return;
    }
    let (first, second) = links.split_at(links.len() / 2);
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("slsk-flush".into())
            .spawn_scoped(scope, || second.iter().for_each(|link| link.flush()));
        first.iter().for_each(|link| link.flush());
        if helper.is_err() {
            // No thread to be had: do its half here.
            second.iter().for_each(|link| link.flush());
        }
    });
}

/// Inputs run in one batch.
const MAX_BATCH: usize = 256;

/// How long a transaction stays open when no output waits for its commit
/// (acknowledgements, live private messages): a commit writes every page
/// it changed to the log, so committing a few times per batch of such
/// inputs rather than once per batch saves most of the writing.
const COMMIT_DELAY: Duration = Duration::from_millis(5);

/// One input for the state.
enum Input {
    Event(Event),
    Password(PasswordJob, PasswordOutcome),
    Tick,
}

/// The transaction the central task has open, if any.
#[derive(Debug, Default)]
struct Transaction {
    /// When it must be committed, at the latest.
    deadline: Option<tokio::time::Instant>,
}

impl Transaction {
    /// Opens one if none is open.
    fn begin(&mut self, store: &Store) {
        if self.deadline.is_none() {
            if let Err(e) = store.begin_batch() {
                tracing::error!(%e, "store: opening a transaction");
            }
            self.deadline = Some(tokio::time::Instant::now() + COMMIT_DELAY);
        }
    }

    /// Commits if one is open.
    fn commit(&mut self, store: &Store) {
        if self.deadline.take().is_some()
            && let Err(e) = store.commit_batch()
        {
            tracing::error!(%e, "store: committing");
        }
    }

    /// Whether it is open past its deadline.
    fn overdue(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| deadline <= tokio::time::Instant::now())
    }

    /// Waits until it must be committed (never if none is open).
    async fn due(&self) {
        match self.deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    }
}

/// Feeds one input to the state.
fn apply(state: &mut ServerState, links: &mut HashMap<ConnId, Arc<Link>>, input: Input) {
    let now = Now::system();
    match input {
        Input::Event(Event::Connected { conn, peer, link }) => {
            links.insert(conn, link);
            state.connected(conn, peer.ip(), now);
        }
        Input::Event(Event::Request { conn, request }) => state.handle(conn, request, now),
        Input::Event(Event::Disconnected { conn }) => {
            links.remove(&conn);
            state.disconnected(conn, now);
        }
        Input::Password(job, outcome) => state.password_checked(job, outcome, now),
        Input::Tick => state.tick(now),
    }
}

/// Carries out the state's outputs: encodes messages (a fan-out, the same
/// message for many connections in a row, once), queues frames, submits
/// password jobs.
#[derive(Default)]
struct Outbox {
    /// The last frame encoded, with its message.
    last_encoded: Option<(ServerResponse, Bytes)>,
}

impl Outbox {
    /// Carries out `output`. Returns the link to flush if its queue was empty
    /// before (otherwise a flush is already due or its writer has it).
    fn carry_out<'a>(
        &mut self,
        output: Output,
        links: &'a HashMap<ConnId, Arc<Link>>,
        hashing: &HashingPool,
    ) -> Option<&'a Link> {
        match output {
            Output::Send { conn, message } => {
                let link = links.get(&conn)?;
                let frame = match &self.last_encoded {
                    Some((last, frame)) if *last == message => frame.clone(),
                    _ => {
                        let frame = match message.to_frame() {
                            Ok(frame) => Bytes::from(frame),
                            Err(error) => {
                                // Only a message built wrongly by the state can fail.
                                tracing::error!(conn, %error, "message not sent");
                                return None;
                            }
                        };
                        self.last_encoded = Some((message, frame.clone()));
                        frame
                    }
                };
                match link.queue.enqueue(frame) {
                    Ok(true) => return Some(link),
                    Ok(false) | Err(PushError::Closed) => {}
                    Err(PushError::Overflow) => {
                        tracing::warn!(conn, "client is not reading: disconnected");
                    }
                }
            }
            Output::Close { conn } => {
                if let Some(link) = links.get(&conn) {
                    link.queue.close();
                }
            }
            Output::Password(job) => hashing.submit(job),
        }
        None
    }
}

/// The outputs of a batch that wait for its commit, and their connections.
#[derive(Default)]
struct Held {
    outputs: Vec<Output>,
    conns: HashSet<ConnId>,
}

impl Held {
    /// Holds `output` until the commit, or gives it back to be carried out
    /// now: if it may precede the commit ([`Output::may_precede_commit`])
    /// and nothing held is for the same connection (it would overtake it).
    fn hold(&mut self, output: Output) -> Option<Output> {
        let conn = output.conn();
        if output.may_precede_commit() && conn.is_some_and(|c| !self.conns.contains(&c)) {
            return Some(output);
        }
        self.conns.extend(conn);
        self.outputs.push(output);
        None
    }

    /// Takes the state's new outputs: holds them, or writes them now.
    fn sort(
        &mut self,
        state: &mut ServerState,
        links: &HashMap<ConnId, Arc<Link>>,
        outbox: &mut Outbox,
        hashing: &HashingPool,
    ) {
        while let Some(output) = state.poll_output() {
            if let Some(now) = self.hold(output)
                && let Some(link) = outbox.carry_out(now, links, hashing)
            {
                link.flush();
            }
        }
    }
}

/// Commits, then checkpoints the log from the writer's connection: with no
/// transaction in between, the whole log is copied and the next one
/// restarts it. It fsyncs on this task (milliseconds), but only when the
/// checkpoint thread could not keep up for `LOG_SIZE_LIMIT` bytes of log.
fn catch_up(transaction: &mut Transaction, store: &Store) {
    transaction.commit(store);
    match store.checkpoint() {
        Ok(log) => tracing::info!(?log, "database log caught up"),
        Err(e) => tracing::warn!(%e, "database checkpoint failed"),
    }
}

/// Owns the state: feeds it events, timer ticks and password outcomes, and
/// carries out its outputs.
async fn central(
    mut state: ServerState,
    checkpointer: Option<Checkpointer>,
    mut events: mpsc::Receiver<Event>,
    stop: CancellationToken,
) {
    let mut links: HashMap<ConnId, Arc<Link>> = HashMap::new();
    // argon2 takes its configured memory per job: one thread per core.
    let (hashing, mut passwords) =
        HashingPool::start(std::thread::available_parallelism().map_or(2, |n| n.get()));
    let mut outbox = Outbox::default();
    let mut transaction = Transaction::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            _ = stop.cancelled() => break,
            event = events.recv() => match event {
                None => break,
                Some(event) => Input::Event(event),
            },
            Some((job, outcome)) = passwords.recv() => Input::Password(job, outcome),
            _ = tick.tick() => {
                if checkpointer.as_ref().is_some_and(Checkpointer::take_behind) {
                    catch_up(&mut transaction, state.store());
                }
                Input::Tick
            }
            () = transaction.due() => {
                transaction.commit(state.store());
                continue;
            }
        };
        // Group commit: this input and whatever else is waiting run in one
        // transaction, and what they produce is held until it commits, so
        // a reply never announces a write that a crash could undo. Live
        // private messages go at once (see `Output::may_precede_commit`).
        // A batch with nothing held leaves the transaction open for the
        // next ones, for up to COMMIT_DELAY.
        transaction.begin(state.store());
        let mut held = Held::default();
        apply(&mut state, &mut links, first);
        held.sort(&mut state, &links, &mut outbox, &hashing);
        for _ in 1..MAX_BATCH {
            match events.try_recv() {
                Ok(event) => apply(&mut state, &mut links, Input::Event(event)),
                Err(_) => break,
            }
            held.sort(&mut state, &links, &mut outbox, &hashing);
        }
        if held.outputs.is_empty() {
            // Under a steady stream of inputs, `due` may not be picked.
            if transaction.overdue() {
                transaction.commit(state.store());
            }
            continue;
        }
        transaction.commit(state.store());
        // Queue every held output, then write them: a fan-out's writes can
        // then be shared between two threads, and each connection gets one
        // system call for everything the batch sent it.
        let due: Vec<&Link> = held
            .outputs
            .into_iter()
            .filter_map(|output| outbox.carry_out(output, &links, &hashing))
            .collect();
        flush_all(&due);
    }
    // The store closes first; the checkpointer's last checkpoint, on the
    // last connection to the file, then empties the log into the database.
    transaction.commit(state.store());
    drop(state);
    if let Some(checkpointer) = checkpointer {
        let _ = tokio::task::spawn_blocking(move || drop(checkpointer)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection's task holds this future: it must stay small (it is
    /// most of an idle connection's memory).
    #[test]
    fn a_connection_task_is_under_a_kibibyte() {
        let (events, _rx) = mpsc::channel(1);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let stream = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let link = Arc::new(Link {
                stream,
                queue: OutQueue::new(10),
            });
            let task = connection(1, link, events, 8192);
            let size = std::mem::size_of_val(&task);
            assert!(size <= 1024, "{size} bytes");
        });
    }

    fn message(conn: ConnId, from: &str) -> Output {
        Output::Send {
            conn,
            message: ServerResponse::from(slsk_proto::server::PrivateChatMessageResponse {
                chat_id: 1,
                timestamp: 0,
                username: from.to_owned(),
                message: "hi".to_owned(),
                is_direct: Some(true),
            }),
        }
    }

    #[test]
    fn live_messages_go_before_the_commit_unless_they_would_overtake() {
        let mut held = Held::default();
        assert!(held.hold(message(1, "alice")).is_some(), "nothing held yet");
        assert!(held.hold(message(1, "server")).is_none(), "notices wait");
        assert!(
            held.hold(message(1, "alice")).is_none(),
            "would overtake the notice"
        );
        assert!(
            held.hold(message(2, "alice")).is_some(),
            "another connection"
        );
        assert!(held.hold(Output::Close { conn: 3 }).is_none());
        assert!(held.hold(message(3, "alice")).is_none(), "after the close");
        assert_eq!(held.outputs.len(), 4);
    }

    #[test]
    fn whole_frames_and_refusable_lengths_are_frames() {
        assert!(!has_frame(&[8, 0, 0], 100));
        assert!(!has_frame(&[8, 0, 0, 0, 1, 2], 100));
        assert!(has_frame(&[2, 0, 0, 0, 1, 2], 100), "under 4: refused now");
        assert!(has_frame(&[200, 0, 0, 0], 100), "over the cap: refused now");
        assert!(has_frame(&[4, 0, 0, 0, 1, 0, 0, 0], 100));
    }
}
