//! The task behind [`Peers`](crate::Peers): it owns the [`Connector`] and
//! every decision, runs the connector's actions (dials, server messages,
//! handing connections out) and keeps the users' `P` links.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
use slsk_proto::server::{ServerRequest, ServerResponse};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::connection::{Closed, Direction, Link, Shared};
use crate::connector::{
    Action, Connector, ConnectorConfig, FailReason, PeerConnectionKind, RequestId, SocketId,
};
use crate::file::FileConnection;
use crate::frame::Outbound;
use crate::handshake::{self, DistributedConnection, InitFramed};
use crate::listener::Accepted;
use crate::peers::{PeerConfig, PeerError, PeerEvent};
use crate::stats::Counters;

/// Room for reports from dial and connection tasks.
const INTERNAL_QUEUE: usize = 256;

/// The commands the handle sends the core task.
pub(crate) enum Command {
    SetUsername(String),
    Server(ServerResponse),
    ServerLost,
    PeerQueue {
        username: String,
        reply: oneshot::Sender<Result<mpsc::Sender<Outbound>, PeerError>>,
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

/// Starts the core task.
pub(crate) fn spawn(
    config: PeerConfig,
    to_server: mpsc::Sender<ServerRequest>,
    events: mpsc::Sender<PeerEvent>,
    commands: mpsc::Receiver<Command>,
    accepted: mpsc::Receiver<Accepted>,
    shutdown: CancellationToken,
    counters: Arc<Counters>,
) -> JoinHandle<()> {
    let (dialed_tx, dialed_rx) = mpsc::channel(INTERNAL_QUEUE);
    let (closed_tx, closed_rx) = mpsc::channel(INTERNAL_QUEUE);
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
            events: events.clone(),
            closed_tx,
            shutdown: shutdown.clone(),
        },
        config,
        events,
        dialed_tx,
        shutdown,
        stash: HashMap::new(),
        dials: HashMap::new(),
        waiters: HashMap::new(),
        links: HashMap::new(),
        next_connection: 0,
        counters,
    };
    tokio::spawn(core.run(commands, accepted, dialed_rx, closed_rx))
}

/// Someone waiting for an outgoing request.
enum Waiter {
    Peer(oneshot::Sender<Result<mpsc::Sender<Outbound>, PeerError>>),
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
    counters: Arc<Counters>,
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
                    self.counters.established(kind, via);
                    self.established(request, username, kind, stashed);
                }
                Action::AnsweredByInbound {
                    request,
                    username,
                    kind,
                } => {
                    self.counters.answered_by_inbound(kind);
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
        let counters = self.counters.clone();
        let task = tokio::spawn(async move {
            let result = handshake::dial(addr, obfuscated, init, &limits).await;
            if result.is_ok() {
                counters.dialled(obfuscated);
            }
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
    ) -> mpsc::Sender<Outbound> {
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
    ) -> mpsc::Sender<Outbound> {
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
