//! The tokio task that runs a [`Session`]: it owns the server socket, feeds
//! the session its inputs and carries out its actions.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use slsk_proto::server::{ServerRequest, ServerResponse};
use slsk_proto::{DecodeError, Limits};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};
use tracing::{debug, info, warn};

use super::config::ClientConfig;
use super::error::{ConnectError, RequestError};
use super::events::{Event, LoginInfo};
use super::session::{Action, Command, EndReason, Reply, Session};
use crate::{MessageCodec, Peers};

/// Where a caller waits for the outcome of its command.
pub(crate) type Responder = oneshot::Sender<Result<Reply, RequestError>>;

/// What a [`Client`](super::Client) handle sends to the task.
#[derive(Debug)]
pub(crate) enum Request {
    Command(Command, Responder),
    Shutdown(oneshot::Sender<()>),
}

/// What woke the task up.
enum Wake {
    Request(Option<Request>),
    Forward(ServerRequest),
    Connected(io::Result<TcpStream>),
    Frame(Option<io::Result<Result<ServerResponse, DecodeError>>>),
    Timer,
}

type Connecting = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// An open server connection, split so reads and writes do not wait on each
/// other.
struct Connection {
    reader: FramedRead<OwnedReadHalf, MessageCodec<ServerResponse>>,
    writer: FramedWrite<OwnedWriteHalf, MessageCodec<ServerRequest>>,
}

impl Connection {
    fn new(stream: TcpStream, limits: Limits) -> Self {
        let (read, write) = stream.into_split();
        Self {
            reader: FramedRead::new(read, MessageCodec::new(limits.clone())),
            writer: FramedWrite::new(write, MessageCodec::new(limits)),
        }
    }
}

pub(crate) struct Driver {
    session: Session<Responder>,
    server: String,
    username: String,
    connect_timeout: Duration,
    write_timeout: Duration,
    tcp_keepalive: Option<Duration>,
    limits: Limits,
    connection: Option<Connection>,
    connecting: Option<Connecting>,
    last_connect_error: Option<io::Error>,
    requests: mpsc::Receiver<Request>,
    /// The peer layer: sees every server message, learns our name at login
    /// and the loss of the server, and shuts down with the session.
    peers: Peers,
    /// The peer layer's requests to the server.
    peer_requests: Option<mpsc::Receiver<ServerRequest>>,
    events: mpsc::Sender<Event>,
    /// Sees every server message (search relays, excluded phrases, the
    /// wishlist interval).
    #[cfg(feature = "shares")]
    sharing: Option<super::shares::Sharing>,
    /// Sees the server messages of the distributed network.
    distributed: Option<super::distributed::ServerFeed>,
    /// Gets the user statuses (GetUserStatus, AddUser replies).
    #[cfg(feature = "transfers")]
    transfers: Option<mpsc::Sender<super::transfers::TransferInput>>,
    /// Events the stream had no room for yet. While it is not empty the task
    /// does not read from the server, so it holds at most the events of one
    /// input.
    outbox: VecDeque<Event>,
    first_login: Option<oneshot::Sender<Result<LoginInfo, ConnectError>>>,
    shutdown_waiters: Vec<oneshot::Sender<()>>,
    ended: bool,
}

impl Driver {
    pub(crate) fn new(
        config: ClientConfig,
        session: Session<Responder>,
        requests: mpsc::Receiver<Request>,
        peers: Peers,
        peer_requests: mpsc::Receiver<ServerRequest>,
        events: mpsc::Sender<Event>,
        first_login: oneshot::Sender<Result<LoginInfo, ConnectError>>,
    ) -> Self {
        Self {
            session,
            server: config.server,
            username: config.username,
            connect_timeout: config.timing.connect_timeout,
            write_timeout: config.timing.write_timeout,
            tcp_keepalive: config.timing.tcp_keepalive,
            limits: config.limits,
            connection: None,
            connecting: None,
            last_connect_error: None,
            requests,
            peers,
            peer_requests: Some(peer_requests),
            events,
            #[cfg(feature = "shares")]
            sharing: None,
            distributed: None,
            #[cfg(feature = "transfers")]
            transfers: None,
            outbox: VecDeque::new(),
            first_login: Some(first_login),
            shutdown_waiters: Vec::new(),
            ended: false,
        }
    }

    /// Connect, log in, and run the session until it ends.
    pub(crate) async fn run(mut self) {
        self.start_connect();
        loop {
            self.apply_actions().await;
            if self.ended {
                break;
            }
            let deadline = self.session.next_deadline().map(Instant::from_std);
            let can_read = self.outbox.is_empty();
            let wake = tokio::select! {
                request = self.requests.recv() => Wake::Request(request),
                Some(request) = next_peer_request(&mut self.peer_requests) => Wake::Forward(request),
                result = connect_result(&mut self.connecting) => Wake::Connected(result),
                frame = next_frame(&mut self.connection), if can_read => Wake::Frame(frame),
                permit = self.events.reserve(), if !self.outbox.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.outbox.pop_front() {
                                permit.send(event);
                            }
                        }
                        // Nobody listens: the events are dropped, the
                        // session goes on.
                        Err(_) => self.outbox.clear(),
                    }
                    continue;
                }
                () = sleep_until(deadline) => Wake::Timer,
            };
            self.wake(wake);
        }
        self.finish().await;
    }

    fn wake(&mut self, wake: Wake) {
        match wake {
            Wake::Request(Some(Request::Command(command, responder))) => {
                self.session.command(responder, command, now())
            }
            Wake::Request(Some(Request::Shutdown(done))) => {
                self.shutdown_waiters.push(done);
                self.session.shutdown();
            }
            // Every handle is gone: nobody can use the session.
            Wake::Request(None) => self.session.shutdown(),
            Wake::Forward(request) => {
                if !self.session.forward(request) {
                    debug!("dropped a peer-layer request while not logged in");
                }
            }
            Wake::Connected(result) => {
                self.connecting = None;
                self.connect_finished(result);
            }
            Wake::Frame(frame) => self.frame(frame),
            Wake::Timer => self.session.timer(now()),
        }
    }

    fn start_connect(&mut self) {
        let server = self.server.clone();
        let timeout = self.connect_timeout;
        let keepalive = self.tcp_keepalive;
        info!(%server, "connecting");
        self.connecting = Some(Box::pin(async move {
            let stream = tokio::time::timeout(timeout, TcpStream::connect(&server))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
            configure_socket(&stream, keepalive);
            Ok(stream)
        }));
    }

    /// Hands every server message to the sharing side as well.
    #[cfg(feature = "shares")]
    pub(crate) fn with_sharing(mut self, sharing: super::shares::Sharing) -> Self {
        self.sharing = Some(sharing);
        self
    }

    /// Hands the distributed network its server messages.
    pub(crate) fn with_distributed(mut self, distributed: super::distributed::ServerFeed) -> Self {
        self.distributed = Some(distributed);
        self
    }

    /// Hands the user statuses the server sends to the transfer task.
    #[cfg(feature = "transfers")]
    pub(crate) fn with_transfers(
        mut self,
        transfers: mpsc::Sender<super::transfers::TransferInput>,
    ) -> Self {
        self.transfers = Some(transfers);
        self
    }

    /// The transfer task asks again what it could not while we were not
    /// logged in.
    fn tell_transfers_logged_in(&self) {
        #[cfg(feature = "transfers")]
        if let Some(transfers) = &self.transfers
            && transfers
                .try_send(super::transfers::TransferInput::LoggedIn)
                .is_err()
        {
            warn!("transfer queue full or closed: the login was not passed on");
        }
    }

    fn connect_finished(&mut self, result: io::Result<TcpStream>) {
        match result {
            Ok(stream) => {
                info!("connected, logging in");
                self.connection = Some(Connection::new(stream, self.limits.clone()));
                self.session.connected(now());
            }
            Err(error) => {
                warn!(%error, "cannot connect to the server");
                self.last_connect_error = Some(error);
                self.session.connect_failed(now());
            }
        }
    }

    fn frame(&mut self, frame: Option<io::Result<Result<ServerResponse, DecodeError>>>) {
        match frame {
            Some(Ok(Ok(message))) => {
                debug!(message = message.name(), "from server");
                self.peers.handle_server_message(&message);
                #[cfg(feature = "shares")]
                if let Some(sharing) = &self.sharing {
                    sharing.server_message(&message);
                }
                if let Some(distributed) = &self.distributed {
                    distributed.server_message(&message);
                }
                #[cfg(feature = "transfers")]
                if let Some(transfers) = &self.transfers
                    && let Some(input) = super::transfers::TransferInput::from_server(&message)
                    && transfers.try_send(input).is_err()
                {
                    warn!("transfer queue full or closed: a user status was dropped");
                }
                self.session.server_message(message, now());
            }
            Some(Ok(Err(error))) => {
                warn!(%error, "undecodable server message skipped");
                self.session.undecodable(error);
            }
            Some(Err(error)) => {
                warn!(%error, "server connection broken");
                self.connection = None;
                self.session.disconnected(now());
            }
            None => {
                info!("server closed the connection");
                self.connection = None;
                self.session.disconnected(now());
            }
        }
    }

    /// Carry out everything the session asked for. Requests are buffered and
    /// written in one flush at the end, so what the session queues together
    /// (Login and SetListenPort) leaves in one write.
    async fn apply_actions(&mut self) {
        loop {
            let mut unflushed = false;
            while let Some(action) = self.session.poll_action() {
                match action {
                    Action::Send(request) => {
                        debug!(message = request.name(), "to server");
                        if let Some(connection) = &mut self.connection {
                            let feed = connection.writer.feed(request);
                            match within(self.write_timeout, feed).await {
                                Ok(()) => unflushed = true,
                                Err(error) => self.write_failed(error),
                            }
                        }
                    }
                    Action::Emit(event) => {
                        if event == Event::Disconnected {
                            // No address or relay will come for pending
                            // peer requests.
                            self.peers.server_lost();
                        }
                        if matches!(event, Event::Reconnected(_)) {
                            self.tell_transfers_logged_in();
                        }
                        self.emit(event)
                    }
                    Action::Reply(responder, result) => {
                        // The caller may have given up (dropped its future).
                        let _ = responder.send(result);
                    }
                    Action::Connect => self.start_connect(),
                    Action::CloseConnection => self.connection = None,
                    Action::LoggedIn(info) => {
                        info!(greeting = %info.greeting, "logged in");
                        self.peers.set_username(&self.username);
                        self.tell_transfers_logged_in();
                        if let Some(first) = self.first_login.take() {
                            let _ = first.send(Ok(info));
                        }
                    }
                    Action::End(reason) => {
                        info!(?reason, "session ends");
                        if let Some(first) = self.first_login.take() {
                            let _ = first.send(Err(self.connect_error(reason)));
                        }
                        self.ended = true;
                    }
                }
            }
            if !unflushed {
                return;
            }
            // A failed flush reports a lost connection: go round again for
            // the actions that queues.
            self.flush().await;
        }
    }

    async fn flush(&mut self) {
        if let Some(connection) = &mut self.connection
            && let Err(error) = within(self.write_timeout, connection.writer.flush()).await
        {
            self.write_failed(error);
        }
    }

    fn write_failed(&mut self, error: io::Error) {
        warn!(%error, "cannot write to the server");
        self.connection = None;
        self.session.disconnected(now());
    }

    fn emit(&mut self, event: Event) {
        if !self.outbox.is_empty() {
            self.outbox.push_back(event);
            return;
        }
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => self.outbox.push_back(event),
            // Nobody listens to events; the session goes on.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn connect_error(&mut self, reason: EndReason) -> ConnectError {
        match reason {
            EndReason::Rejected { reason, detail } => ConnectError::Rejected { reason, detail },
            EndReason::LoginTimeout => ConnectError::Timeout,
            EndReason::ConnectFailed => match self.last_connect_error.take() {
                Some(error) if error.kind() == io::ErrorKind::TimedOut => ConnectError::Timeout,
                Some(error) => ConnectError::Io(error),
                None => ConnectError::Closed,
            },
            EndReason::ClosedBeforeLogin
            | EndReason::ConnectionLost
            | EndReason::Kicked
            | EndReason::Shutdown => ConnectError::Closed,
        }
    }

    /// Close the socket, release shutdown callers, deliver the last events,
    /// then end the stream (by dropping its sender).
    async fn finish(mut self) {
        self.connecting = None;
        if let Some(mut connection) = self.connection.take() {
            // Bounded: a server that does not read must not hold us.
            let close = connection.writer.close();
            if tokio::time::timeout(self.connect_timeout, close)
                .await
                .is_err()
            {
                debug!("closing the server connection timed out");
            }
        }
        self.peers.shutdown().await;
        for done in self.shutdown_waiters.drain(..) {
            let _ = done.send(());
        }
        // Requests that raced with the end are answered, not left hanging.
        self.requests.close();
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::Shutdown(done) => {
                    let _ = done.send(());
                }
                Request::Command(_, responder) => {
                    let _ = responder.send(Err(RequestError::Closed));
                }
            }
        }
        for event in self.outbox.drain(..) {
            if self.events.send(event).await.is_err() {
                break;
            }
        }
        info!("session ended");
    }
}

/// `write`, failing with `TimedOut` if it takes longer than `limit`.
async fn within(limit: Duration, write: impl Future<Output = io::Result<()>>) -> io::Result<()> {
    tokio::time::timeout(limit, write)
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")))
}

fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// TCP keepalive finds a dead server connection even when we send nothing;
/// no delay, since our messages are small and latency matters more.
fn configure_socket(stream: &TcpStream, keepalive: Option<Duration>) {
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%error, "cannot set TCP_NODELAY");
    }
    if let Some(idle) = keepalive {
        let params = socket2::TcpKeepalive::new().with_time(idle);
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "windows"
        ))]
        let params = params.with_interval(Duration::from_secs(5));
        if let Err(error) = socket2::SockRef::from(stream).set_tcp_keepalive(&params) {
            debug!(%error, "cannot enable TCP keepalive");
        }
    }
}

async fn next_frame(
    connection: &mut Option<Connection>,
) -> Option<io::Result<Result<ServerResponse, DecodeError>>> {
    match connection {
        Some(connection) => connection.reader.next().await,
        None => std::future::pending().await,
    }
}

async fn connect_result(connecting: &mut Option<Connecting>) -> io::Result<TcpStream> {
    match connecting {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

async fn next_peer_request(
    requests: &mut Option<mpsc::Receiver<ServerRequest>>,
) -> Option<ServerRequest> {
    match requests {
        Some(receiver) => match receiver.recv().await {
            Some(request) => Some(request),
            // The peer layer is gone; stop polling its channel.
            None => {
                *requests = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (client.unwrap(), server.unwrap().0)
    }

    #[tokio::test]
    async fn server_socket_gets_tcp_keepalive_and_nodelay() {
        let (stream, _other) = pair().await;
        configure_socket(&stream, Some(Duration::from_secs(60)));
        assert!(socket2::SockRef::from(&stream).keepalive().unwrap());
        assert!(stream.nodelay().unwrap());

        let (stream, _other) = pair().await;
        configure_socket(&stream, None);
        assert!(!socket2::SockRef::from(&stream).keepalive().unwrap());
    }
}
