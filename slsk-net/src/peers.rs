//! The peer connection layer: listeners, the [`Connector`] driven by a tokio
//! task, the user's `P` connections, and the [`Peers`] handle the rest of a
//! client uses.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use slsk_proto::peer::PeerMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};
use slsk_proto::{DecodeError, Limits};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::connector::{ConnectorConfig, FailReason};
use crate::driver::{self, Command};
use crate::file::FileConnection;
use crate::frame::{Outbound, PeerFrame};
use crate::handshake::DistributedConnection;
use crate::listener::{AcceptSettings, accept_loop};
use crate::stats::{Counters, PeerStats};

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
    /// Neither path worked: our dial failed and the peer could not dial
    /// back (the server relayed its CannotConnect).
    Unreachable,
    /// No path worked within [`PeerConfig::indirect_timeout`].
    TimedOut,
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
            Self::TimedOut => f.write_str("connecting to the peer timed out"),
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
            FailReason::TimedOut => Self::TimedOut,
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

/// Room for commands; `handle_server_message` drops (and logs) past it.
const COMMAND_QUEUE: usize = 1024;
/// Room for accepted sockets waiting for the core.
const ACCEPTED_QUEUE: usize = 256;

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
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers")
            .field("listen_port", &self.inner.listen_port)
            .field("obfuscated_port", &self.inner.obfuscated_port)
            .finish_non_exhaustive()
    }
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
        let (accepted_tx, accepted_rx) = mpsc::channel(ACCEPTED_QUEUE);

        let counters = Arc::new(Counters::default());
        let settings = AcceptSettings {
            limits: config.limits.clone(),
            handshake_timeout: config.handshake_timeout,
            handshakes: Arc::new(Semaphore::new(config.max_handshakes)),
            counters: counters.clone(),
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

        let core = driver::spawn(
            config,
            to_server,
            events_tx,
            commands_rx,
            accepted_rx,
            shutdown.clone(),
            counters.clone(),
        );
        let peers = Peers {
            inner: Arc::new(Inner {
                commands: commands_tx,
                listen_port,
                obfuscated_port,
                shutdown,
                core: Mutex::new(Some(core)),
                counters,
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

    /// How many connections each path has carried so far.
    pub fn stats(&self) -> PeerStats {
        self.inner.counters.snapshot()
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
        self.queue_outbound(username, Outbound::Message(message))
            .await
    }

    /// Like [`Peers::send`], for a message encoded already (a reply built
    /// once and sent to many, e.g. the browse reply of `slsk-shares`):
    /// the frame's bytes are written as they are, in order with the
    /// messages queued with [`Peers::send`].
    ///
    /// ```no_run
    /// # async fn run(peers: slsk_net::Peers) -> Result<(), slsk_net::PeerError> {
    /// use slsk_net::PeerFrame;
    /// use slsk_proto::peer::PeerUserInfoRequest;
    ///
    /// let frame = PeerFrame::encode(&PeerUserInfoRequest.into()).expect("encodable");
    /// for user in ["bob", "carol"] {
    ///     peers.send_frame(user, frame.clone()).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_frame(&self, username: &str, frame: PeerFrame) -> Result<(), PeerError> {
        self.queue_outbound(username, Outbound::Frame(frame)).await
    }

    async fn queue_outbound(&self, username: &str, item: Outbound) -> Result<(), PeerError> {
        let queue = self.peer_queue(username).await?;
        match queue.send(item).await {
            Ok(()) => Ok(()),
            // The connection closed just now: make a new one, once.
            Err(mpsc::error::SendError(item)) => {
                let queue = self.peer_queue(username).await?;
                queue.send(item).await.map_err(|_| PeerError::Closed)
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

    async fn peer_queue(&self, username: &str) -> Result<mpsc::Sender<Outbound>, PeerError> {
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
