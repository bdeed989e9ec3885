//! The peer connection layer: listeners, the [`Connector`] driven by a tokio
//! task, the user's `P` connections, and the [`Peers`] handle the rest of a
//! client uses.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
use slsk_proto::server::{ServerRequest, ServerResponse};
use slsk_proto::{DecodeError, Limits};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::connection::{Closed, Direction, Link, Shared};
use crate::connector::{
    Action, Connector, ConnectorConfig, FailReason, PeerConnectionKind, RequestId, SocketId,
};
use crate::file::FileConnection;
use crate::handshake::{self, DistributedConnection, InitFramed};
use crate::listener::{AcceptSettings, Accepted, accept_loop};

/// Settings of the peer connection layer.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Where to listen for peers. Default `127.0.0.1:0` (a free loopback
    /// port); a client reachable from the network sets its public port here.
    pub listen_addr: SocketAddr,
    /// Where to listen for obfuscated `P` connections, if anywhere (usually
    /// the listen port + 1). Default none.
    pub obfuscated_listen_addr: Option<SocketAddr>,
    /// Dial a peer's obfuscated port when it advertises one. Default false.
    pub dial_obfuscated: bool,
    /// How long an accepted socket has to send its peer-init message.
    /// Default 10 s.
    pub handshake_timeout: Duration,
    /// How long one dial (TCP connect and peer-init message) may take.
    /// Default 10 s.
    pub connect_timeout: Duration,
    /// How long an outgoing request waits in all, in particular for the peer
    /// to dial back with PierceFirewall. Default 20 s.
    pub indirect_timeout: Duration,
    /// A `P` connection with nothing read or written for this long is
    /// closed. Default 60 s.
    pub idle_timeout: Duration,
    /// Decoding limits for every peer connection.
    pub limits: Limits,
    /// Outgoing messages queued per user before [`Peers::send`] waits.
    /// Default 64.
    pub queue_size: usize,
    /// Events buffered before readers wait for the application. Default 256.
    pub event_queue_size: usize,
    /// Accepted sockets allowed to wait for their peer-init message at once;
    /// more are dropped on arrival. Default 256.
    pub max_handshakes: usize,
    /// `P` connections kept open at once, over all users; a peer opening
    /// one past this is refused (connections we ask for are not). Default
    /// 1024.
    pub max_peer_connections: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        let connector = ConnectorConfig::default();
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            obfuscated_listen_addr: None,
            dial_obfuscated: connector.dial_obfuscated,
            handshake_timeout: Duration::from_secs(10),
            connect_timeout: connector.connect_timeout,
            indirect_timeout: connector.indirect_timeout,
            idle_timeout: Duration::from_secs(60),
            limits: Limits::DEFAULT,
            queue_size: 64,
            event_queue_size: 256,
            max_handshakes: 256,
            max_peer_connections: 1024,
        }
    }
}

/// Something a peer did.
#[derive(Debug)]
pub enum PeerEvent {
    /// A message on a `P` connection.
    Message {
        username: String,
        message: PeerMessage,
    },
    /// A frame on a `P` connection that did not decode; it was skipped and
    /// the connection goes on.
    BadMessage {
        username: String,
        error: DecodeError,
    },
    /// A `D` connection a peer opened to us (or that we opened when the
    /// server relayed the peer's ConnectToPeer).
    Distributed {
        username: String,
        connection: DistributedConnection,
    },
    /// An `F` connection a peer opened to us (or that we opened when the
    /// server relayed the peer's ConnectToPeer): the peer is the uploader,
    /// read the ticket next ([`FileConnection::read_ticket`]).
    File {
        username: String,
        connection: FileConnection,
    },
}

/// Why a connection could not be had.
#[derive(Debug)]
pub enum PeerError {
    /// The server says the user is not online.
    Offline,
    /// Neither the direct nor the indirect path worked in time.
    Unreachable,
    /// The server connection was lost while connecting.
    ServerLost,
    /// Our username is not set yet ([`Peers::set_username`]).
    NoUsername,
    /// The connection closed before the message could be queued.
    Closed,
    /// The layer was shut down.
    Shutdown,
    /// Writing on a new file connection failed.
    Io(io::Error),
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Offline => f.write_str("the user is offline"),
            Self::Unreachable => f.write_str("the peer could not be reached"),
            Self::ServerLost => f.write_str("the server connection was lost"),
            Self::NoUsername => f.write_str("our username is not set"),
            Self::Closed => f.write_str("the connection closed"),
            Self::Shutdown => f.write_str("the peer layer is shut down"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PeerError {}

impl From<FailReason> for PeerError {
    fn from(reason: FailReason) -> Self {
        match reason {
            FailReason::Offline => Self::Offline,
            FailReason::Unreachable => Self::Unreachable,
            FailReason::ServerLost => Self::ServerLost,
            FailReason::NoUsername => Self::NoUsername,
        }
    }
}

/// The events of the peer layer, in order per connection. Drain it: readers
/// wait while it is full.
#[derive(Debug)]
pub struct PeerEvents(mpsc::Receiver<PeerEvent>);

impl PeerEvents {
    /// The next event; `None` once the layer has shut down.
    pub async fn recv(&mut self) -> Option<PeerEvent> {
        self.0.recv().await
    }

    /// The inner receiver.
    pub fn into_inner(self) -> mpsc::Receiver<PeerEvent> {
        self.0
    }
}

/// The commands the handle sends the core task.
enum Command {
    SetUsername(String),
    Server(ServerResponse),
    ServerLost,
    PeerQueue {
        username: String,
        reply: oneshot::Sender<Result<mpsc::Sender<PeerMessage>, PeerError>>,
    },
    Distributed {
        username: String,
        reply: oneshot::Sender<Result<DistributedConnection, PeerError>>,
    },
    File {
        username: String,
        reply: oneshot::Sender<Result<FileConnection, PeerError>>,
    },
}

/// Room for commands; `handle_server_message` drops (and logs) past it.
const COMMAND_QUEUE: usize = 1024;
/// Room for reports from accept, dial and connection tasks.
const INTERNAL_QUEUE: usize = 256;

/// A handle on the peer connection layer. Cheap to clone.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use slsk_net::{PeerConfig, PeerEvent, Peers};
/// use slsk_proto::peer::{PeerMessage, PeerUserInfoRequest};
///
/// let (to_server, mut server_requests) = tokio::sync::mpsc::channel(64);
/// let (peers, mut events) = Peers::start(PeerConfig::default(), to_server).await?;
/// // The session advertises peers.listen_port() with SetListenPort, sends
/// // every ServerRequest from `server_requests` to the server, and passes
/// // every ServerResponse to peers.handle_server_message(..).
/// peers.set_username("alice");
/// peers.send("bob", PeerMessage::from(PeerUserInfoRequest)).await.ok();
/// while let Some(event) = events.recv().await {
///     if let PeerEvent::Message { username, message } = event {
///         println!("{username}: {}", message.name());
///     }
/// }
/// # let _ = server_requests; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Peers {
    inner: Arc<Inner>,
}

struct Inner {
    commands: mpsc::Sender<Command>,
    listen_port: u16,
    obfuscated_port: Option<u16>,
    shutdown: CancellationToken,
    core: Mutex<Option<JoinHandle<()>>>,
}

impl Peers {
    /// Binds the listeners and starts the layer. `to_server` is where it
    /// sends GetPeerAddress, ConnectToPeer and CannotConnect; a full channel
    /// drops the message (the request then times out), so the session should
    /// drain it promptly.
    pub async fn start(
        config: PeerConfig,
        to_server: mpsc::Sender<ServerRequest>,
    ) -> io::Result<(Peers, PeerEvents)> {
        let listener = TcpListener::bind(config.listen_addr).await?;
        let listen_port = listener.local_addr()?.port();
        let obfuscated = match config.obfuscated_listen_addr {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let obfuscated_port = match &obfuscated {
            Some(l) => Some(l.local_addr()?.port()),
            None => None,
        };
        let shutdown = CancellationToken::new();
        let (events_tx, events_rx) = mpsc::channel(config.event_queue_size.max(1));
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (accepted_tx, accepted_rx) = mpsc::channel(INTERNAL_QUEUE);
        let (dialed_tx, dialed_rx) = mpsc::channel(INTERNAL_QUEUE);
        let (closed_tx, closed_rx) = mpsc::channel(INTERNAL_QUEUE);

        let settings = AcceptSettings {
            limits: config.limits.clone(),
            handshake_timeout: config.handshake_timeout,
            handshakes: Arc::new(Semaphore::new(config.max_handshakes)),
        };
        tokio::spawn(accept_loop(
            listener,
            false,
            settings.clone(),
            accepted_tx.clone(),
            shutdown.clone(),
        ));
        if let Some(listener) = obfuscated {
            tokio::spawn(accept_loop(
                listener,
                true,
                settings,
                accepted_tx,
                shutdown.clone(),
            ));
        }

        let connector = Connector::new(
            ConnectorConfig {
                connect_timeout: config.connect_timeout,
                indirect_timeout: config.indirect_timeout,
                dial_obfuscated: config.dial_obfuscated,
            },
            // A random start makes a stale PierceFirewall from an earlier run
            // unlikely to match a ticket of this one.
            rand::random::<u32>() >> 1,
        );
        let core = Core {
            connector,
            to_server,
            shared: Shared {
                idle_timeout: config.idle_timeout,
                events: events_tx.clone(),
                closed_tx,
                shutdown: shutdown.clone(),
            },
            config,
            events: events_tx,
            dialed_tx,
            shutdown: shutdown.clone(),
            stash: HashMap::new(),
            dials: HashMap::new(),
            waiters: HashMap::new(),
            links: HashMap::new(),
            next_connection: 0,
        };
        let core = tokio::spawn(core.run(commands_rx, accepted_rx, dialed_rx, closed_rx));
        let peers = Peers {
            inner: Arc::new(Inner {
                commands: commands_tx,
                listen_port,
                obfuscated_port,
                shutdown,
                core: Mutex::new(Some(core)),
            }),
        };
        Ok((peers, PeerEvents(events_rx)))
    }

    /// The port peers connect to (advertise it with SetListenPort).
    pub fn listen_port(&self) -> u16 {
        self.inner.listen_port
    }

    /// The obfuscated port, if one is open (advertise it with SetListenPort,
    /// obfuscation type 1).
    pub fn obfuscated_port(&self) -> Option<u16> {
        self.inner.obfuscated_port
    }

    /// Our username, sent in PeerInit; known after login.
    pub fn set_username(&self, username: &str) {
        self.command(Command::SetUsername(username.to_owned()));
    }

    /// Pass every server message here; GetPeerAddress, ConnectToPeer and
    /// CannotConnect are acted on, the others ignored.
    pub fn handle_server_message(&self, message: &ServerResponse) {
        if matches!(
            message,
            ServerResponse::GetPeerAddress(_)
                | ServerResponse::ConnectToPeer(_)
                | ServerResponse::CannotConnect(_)
        ) {
            self.command(Command::Server(message.clone()));
        }
    }

    /// The server connection is gone: pending connection attempts fail with
    /// [`PeerError::ServerLost`]. Established connections stay.
    pub fn server_lost(&self) {
        self.command(Command::ServerLost);
    }

    /// Queues `message` for `username`, on the user's `P` connection, opened
    /// first if there is none. Returns once the message is queued; `Err` if
    /// no connection could be made.
    pub async fn send(&self, username: &str, message: PeerMessage) -> Result<(), PeerError> {
        let queue = self.peer_queue(username).await?;
        match queue.send(message).await {
            Ok(()) => Ok(()),
            // The connection closed just now: make a new one, once.
            Err(mpsc::error::SendError(message)) => {
                let queue = self.peer_queue(username).await?;
                queue.send(message).await.map_err(|_| PeerError::Closed)
            }
        }
    }

    /// Opens an `F` connection to `username` for the transfer `ticket` and
    /// sends the ticket (we are the uploader); read the offset next. File
    /// connections are never reused.
    pub async fn connect_file(
        &self,
        username: &str,
        ticket: u32,
    ) -> Result<FileConnection, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.request(Command::File {
            username: username.to_owned(),
            reply,
        })
        .await?;
        let mut connection = answer.await.map_err(|_| PeerError::Shutdown)??;
        connection
            .write_ticket(ticket)
            .await
            .map_err(PeerError::Io)?;
        Ok(connection)
    }

    /// Opens a `D` connection to `username`. The caller owns it (the
    /// distributed network keeps its own parent and children).
    pub async fn connect_distributed(
        &self,
        username: &str,
    ) -> Result<DistributedConnection, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.request(Command::Distributed {
            username: username.to_owned(),
            reply,
        })
        .await?;
        answer.await.map_err(|_| PeerError::Shutdown)?
    }

    /// Closes every listener and connection and stops the layer.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        let core = self.inner.core.lock().expect("not poisoned").take();
        if let Some(core) = core {
            let _ = core.await;
        }
    }

    async fn peer_queue(&self, username: &str) -> Result<mpsc::Sender<PeerMessage>, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.request(Command::PeerQueue {
            username: username.to_owned(),
            reply,
        })
        .await?;
        answer.await.map_err(|_| PeerError::Shutdown)?
    }

    async fn request(&self, command: Command) -> Result<(), PeerError> {
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| PeerError::Shutdown)
    }

    fn command(&self, command: Command) {
        if let Err(e) = self.inner.commands.try_send(command) {
            warn!(error = %e, "peer layer command dropped");
        }
    }
}

/// Someone waiting for an outgoing request.
enum Waiter {
    Peer(oneshot::Sender<Result<mpsc::Sender<PeerMessage>, PeerError>>),
    Distributed(oneshot::Sender<Result<DistributedConnection, PeerError>>),
    File(oneshot::Sender<Result<FileConnection, PeerError>>),
}

impl Waiter {
    fn fail(self, reason: FailReason) {
        match self {
            Self::Peer(w) => drop(w.send(Err(reason.into()))),
            Self::Distributed(w) => drop(w.send(Err(reason.into()))),
            Self::File(w) => drop(w.send(Err(reason.into()))),
        }
    }
}

/// A dial's result.
struct Dialed {
    socket: SocketId,
    result: io::Result<InitFramed>,
}

/// A socket waiting for the connector's decision.
struct Stashed {
    framed: InitFramed,
    addr: SocketAddr,
    direction: Direction,
}

/// The task that owns the connector and every decision.
struct Core {
    config: PeerConfig,
    connector: Connector,
    to_server: mpsc::Sender<ServerRequest>,
    events: mpsc::Sender<PeerEvent>,
    dialed_tx: mpsc::Sender<Dialed>,
    shared: Shared,
    shutdown: CancellationToken,
    stash: HashMap<SocketId, Stashed>,
    dials: HashMap<SocketId, AbortHandle>,
    waiters: HashMap<RequestId, Vec<Waiter>>,
    links: HashMap<String, Link>,
    next_connection: u64,
}

impl Core {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut accepted: mpsc::Receiver<Accepted>,
        mut dialed: mpsc::Receiver<Dialed>,
        mut closed: mpsc::Receiver<Closed>,
    ) {
        loop {
            let timer = self.connector.next_timeout();
            let sleep = tokio::time::sleep_until(
                timer.map_or_else(far_future, tokio::time::Instant::from_std),
            );
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                command = commands.recv() => match command {
                    Some(command) => self.command(command),
                    // Every handle is gone.
                    None => break,
                },
                Some(accepted) = accepted.recv() => self.accepted(accepted),
                Some(dialed) = dialed.recv() => self.dialed(dialed),
                Some(closed) = closed.recv() => self.closed(closed),
                _ = sleep, if timer.is_some() => self.connector.poll_timeout(Instant::now()),
            }
            self.run_actions();
        }
        self.shutdown.cancel();
        for (_, dial) in self.dials.drain() {
            dial.abort();
        }
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::SetUsername(name) => self.connector.set_username(&name),
            Command::Server(ServerResponse::GetPeerAddress(reply)) => {
                self.connector.peer_address(&reply, now)
            }
            Command::Server(ServerResponse::ConnectToPeer(relayed)) => {
                self.connector.connect_to_peer(&relayed, now)
            }
            Command::Server(ServerResponse::CannotConnect(reply)) => {
                self.connector.cannot_connect(reply.ticket)
            }
            Command::Server(_) => {}
            Command::ServerLost => self.connector.server_lost(),
            Command::PeerQueue { username, reply } => {
                if let Some(link) = self.links.get(&username).filter(|l| l.is_open()) {
                    let _ = reply.send(Ok(link.queue()));
                } else {
                    let id = self
                        .connector
                        .connect(&username, PeerConnectionKind::Peer, now);
                    self.waiters
                        .entry(id)
                        .or_default()
                        .push(Waiter::Peer(reply));
                }
            }
            Command::Distributed { username, reply } => {
                let id = self
                    .connector
                    .connect(&username, PeerConnectionKind::Distributed, now);
                self.waiters
                    .entry(id)
                    .or_default()
                    .push(Waiter::Distributed(reply));
            }
            Command::File { username, reply } => {
                let id = self
                    .connector
                    .connect(&username, PeerConnectionKind::File, now);
                self.waiters
                    .entry(id)
                    .or_default()
                    .push(Waiter::File(reply));
            }
        }
    }

    fn accepted(&mut self, accepted: Accepted) {
        let Accepted { init, framed, addr } = accepted;
        match init {
            PeerInitMessage::PeerInit(PeerInit {
                username,
                connection_type,
                ..
            }) => {
                let Some(kind) = PeerConnectionKind::from_type(&connection_type) else {
                    debug!(%addr, %username, ?connection_type, "unknown connection type, dropping");
                    return;
                };
                if !plausible_username(&username) {
                    debug!(%addr, "implausible username in PeerInit, dropping");
                    return;
                }
                if kind == PeerConnectionKind::Peer && self.peer_connections_full() {
                    debug!(%addr, %username, "too many peer connections, refusing");
                    return;
                }
                self.open(username.clone(), kind, framed, addr, Direction::Inbound);
                self.connector.inbound_init(&username, kind);
            }
            PeerInitMessage::PeerPierceFirewall(pierce) => {
                let socket = self.connector.new_socket_id();
                self.stash.insert(
                    socket,
                    Stashed {
                        framed,
                        addr,
                        direction: Direction::Inbound,
                    },
                );
                self.connector.inbound_pierce(pierce.ticket, socket);
            }
            PeerInitMessage::Unknown { code, .. } => {
                debug!(%addr, code, "unknown peer-init message, dropping");
            }
        }
    }

    fn peer_connections_full(&self) -> bool {
        let open: usize = self.links.values().map(Link::len).sum();
        open >= self.config.max_peer_connections
    }

    fn dialed(&mut self, dialed: Dialed) {
        self.dials.remove(&dialed.socket);
        match dialed.result {
            Ok(framed) => {
                let addr = framed
                    .get_ref()
                    .peer_addr()
                    .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
                self.stash.insert(
                    dialed.socket,
                    Stashed {
                        framed,
                        addr,
                        direction: Direction::Outbound,
                    },
                );
                self.connector.dial_succeeded(dialed.socket);
            }
            Err(e) => {
                debug!(error = %e, "dial failed");
                self.connector.dial_failed(dialed.socket);
            }
        }
    }

    fn closed(&mut self, closed: Closed) {
        let Some(link) = self.links.get_mut(&closed.username) else {
            return;
        };
        if link.remove(closed.id) {
            return;
        }
        if link.has_pending() {
            // The peer closed (as Nicotine+ does after search results) while
            // messages wait: connect again; they go out on the new one.
            debug!(username = %closed.username, "closed with messages queued, reconnecting");
            self.connector
                .connect(&closed.username, PeerConnectionKind::Peer, Instant::now());
        } else {
            self.links.remove(&closed.username);
        }
    }

    fn run_actions(&mut self) {
        while let Some(action) = self.connector.poll_action() {
            match action {
                Action::SendToServer(request) => {
                    if let Err(e) = self.to_server.try_send(request) {
                        warn!(error = %e, "server request dropped");
                    }
                }
                Action::Dial {
                    socket,
                    addr,
                    obfuscated,
                    init,
                } => self.dial(socket, addr, obfuscated, init),
                Action::AbortDial(socket) => {
                    if let Some(dial) = self.dials.remove(&socket) {
                        dial.abort();
                    }
                }
                Action::Established {
                    request,
                    username,
                    kind,
                    socket,
                    via,
                } => {
                    let Some(stashed) = self.stash.remove(&socket) else {
                        continue;
                    };
                    debug!(%username, ?kind, ?via, "connected");
                    self.established(request, username, kind, stashed);
                }
                Action::AnsweredByInbound {
                    request, username, ..
                } => {
                    let queue = self.links.get(&username).map(Link::queue);
                    for waiter in self.waiters.remove(&request).unwrap_or_default() {
                        if let (Waiter::Peer(w), Some(queue)) = (waiter, &queue) {
                            let _ = w.send(Ok(queue.clone()));
                        }
                    }
                }
                Action::Pierced {
                    username,
                    kind,
                    socket,
                } => {
                    if let Some(stashed) = self.stash.remove(&socket) {
                        self.open(
                            username,
                            kind,
                            stashed.framed,
                            stashed.addr,
                            Direction::Outbound,
                        );
                    }
                }
                Action::Failed {
                    request,
                    username,
                    kind,
                    reason,
                } => {
                    debug!(%username, ?kind, ?reason, "connection failed");
                    // A link waiting to reconnect gives up its queue.
                    if kind == PeerConnectionKind::Peer
                        && self.links.get(&username).is_some_and(|l| !l.is_open())
                    {
                        self.links.remove(&username);
                    }
                    for waiter in self.waiters.remove(&request).unwrap_or_default() {
                        waiter.fail(reason);
                    }
                }
                Action::Surplus {
                    username,
                    kind,
                    socket,
                } => {
                    let Some(stashed) = self.stash.remove(&socket) else {
                        continue;
                    };
                    // Only a `P` connection is worth keeping: the peer may
                    // write on it. `D` and `F` ones are handed out already.
                    if kind == PeerConnectionKind::Peer {
                        let framed = handshake::into_peer(stashed.framed);
                        self.add_connection(
                            username,
                            framed,
                            stashed.addr,
                            stashed.direction,
                            false,
                        );
                    }
                }
                Action::Close(socket) => {
                    self.stash.remove(&socket);
                }
            }
        }
    }

    fn dial(
        &mut self,
        socket: SocketId,
        addr: SocketAddr,
        obfuscated: bool,
        init: PeerInitMessage,
    ) {
        let limits = self.config.limits.clone();
        let report = self.dialed_tx.clone();
        let task = tokio::spawn(async move {
            let result = handshake::dial(addr, obfuscated, init, &limits).await;
            let _ = report.send(Dialed { socket, result }).await;
        });
        self.dials.insert(socket, task.abort_handle());
    }

    /// An outgoing request's connection: to whoever asked for it.
    fn established(
        &mut self,
        request: RequestId,
        username: String,
        kind: PeerConnectionKind,
        stashed: Stashed,
    ) {
        let waiters = self.waiters.remove(&request).unwrap_or_default();
        match kind {
            PeerConnectionKind::Peer => {
                let framed = handshake::into_peer(stashed.framed);
                let queue = self.install(username, framed, stashed.addr, stashed.direction);
                for waiter in waiters {
                    if let Waiter::Peer(w) = waiter {
                        let _ = w.send(Ok(queue.clone()));
                    }
                }
            }
            PeerConnectionKind::Distributed => {
                if let Some(Waiter::Distributed(w)) = waiters.into_iter().next() {
                    let _ = w.send(Ok(handshake::into_distributed(stashed.framed)));
                }
            }
            PeerConnectionKind::File => {
                if let Some(Waiter::File(w)) = waiters.into_iter().next() {
                    let _ = w.send(Ok(handshake::into_file(stashed.framed)));
                }
            }
        }
    }

    /// A connection the peer opened to us, or that we opened on the
    /// server's request: `P` is kept, `D` and `F` go to the application.
    fn open(
        &mut self,
        username: String,
        kind: PeerConnectionKind,
        framed: InitFramed,
        addr: SocketAddr,
        direction: Direction,
    ) {
        let event = match kind {
            PeerConnectionKind::Peer => {
                self.install(username, handshake::into_peer(framed), addr, direction);
                return;
            }
            PeerConnectionKind::Distributed => PeerEvent::Distributed {
                username,
                connection: handshake::into_distributed(framed),
            },
            PeerConnectionKind::File => PeerEvent::File {
                username,
                connection: handshake::into_file(framed),
            },
        };
        // The core never waits for the application (which may be waiting
        // for the core): a full event queue drops the connection.
        if let Err(e) = self.events.try_send(event) {
            warn!("event queue full, dropping a new connection: {e}");
        }
    }

    /// Makes `framed` the user's current `P` connection; its writer takes
    /// over the user's queue. Returns the queue.
    fn install(
        &mut self,
        username: String,
        framed: handshake::PeerFramed,
        addr: SocketAddr,
        direction: Direction,
    ) -> mpsc::Sender<PeerMessage> {
        self.add_connection(username, framed, addr, direction, true)
    }

    /// Adds a `P` connection to the user's link, as the current one (or the
    /// current one if there is none), or else for reading only.
    fn add_connection(
        &mut self,
        username: String,
        framed: handshake::PeerFramed,
        addr: SocketAddr,
        direction: Direction,
        make_current: bool,
    ) -> mpsc::Sender<PeerMessage> {
        self.next_connection += 1;
        let queue_size = self.config.queue_size;
        let link = self
            .links
            .entry(username.clone())
            .or_insert_with(|| Link::new(queue_size));
        link.add(
            self.next_connection,
            &username,
            framed,
            addr,
            direction,
            make_current,
            &self.shared,
        );
        link.queue()
    }
}

/// NP's rule: a name is not empty, not over 256 bytes, and has no control
/// characters.
fn plausible_username(name: &str) -> bool {
    !name.is_empty() && name.len() <= 256 && !name.chars().any(char::is_control)
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400)
}
