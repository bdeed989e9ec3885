//! The tokio task that runs the distributed [`Machine`]: it owns the `D`
//! connections (a reader task each, and a writer task per child), feeds the
//! machine their frames, the server's messages and the time, and carries
//! out its actions.
//!
//! Every queue is bounded: server messages and incoming connections are
//! dropped when their queue is full (the server repeats PossibleParents; a
//! dropped search is one search), frames wait for room (TCP pushes back on
//! the parent), each child's queue is bounded in bytes and a child past it
//! is dropped, and events the application does not read are dropped past
//! [`EVENT_BACKLOG`] (the state stays readable).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, StreamExt};
use slsk_proto::Limits;
use slsk_proto::server::{ServerRequest, ServerResponse};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tracing::{Instrument, debug};

use super::state::{Action, ConnId, Machine};
use super::wire::RawFrames;
use super::{DistributedConfig, DistributedState, MAX_CANDIDATES, SharedDistributed};
use crate::client::events::Event;
use crate::{DistributedConnection, PeerError, Peers};

/// Answers a search through the shares: (searcher, ticket, query).
pub(crate) type AnswerFn = Arc<dyn Fn(&str, u32, &str) + Send + Sync>;

/// Server messages waiting for the task.
const SERVER_QUEUE: usize = 1024;
/// Incoming `D` connections waiting for the task.
const INCOMING_QUEUE: usize = 64;
/// Frames and closings from the connection tasks.
const INPUT_QUEUE: usize = 1024;
/// Gathered frames are queued on the children once they reach this size
/// (and at the end of each batch of inputs).
const FORWARD_CHUNK: usize = 64 * 1024;
/// Inputs taken from the input queue at once: with [`READ_BATCH`], at most
/// some 200 KB of searches queued on each child per turn, after which the
/// task yields so the children's writers (and readers) run; a child counts
/// as slow only if it falls [`DistributedConfig::child_queue_bytes`]
/// behind over several turns.
const INPUT_BATCH: usize = 16;
/// Frames a reader sends in one input.
const READ_BATCH: usize = 256;
/// The smallest frame (length and code): a child's queue holds at most
/// [`DistributedConfig::child_queue_bytes`] / this many frames, so the
/// byte limit is always the one that trips.
const SMALLEST_FRAME: usize = 5;
/// Past what a tokio channel can count.
const MAX_CHILD_QUEUE_FRAMES: usize = 1 << 28;
/// Frames a child writer takes at once (written in one `write_all`).
const WRITE_BATCH: usize = 512;
/// Events kept while the application does not read them; more are dropped.
const EVENT_BACKLOG: usize = 1024;
/// Server requests kept while the session's queue is full.
const SERVER_BACKLOG: usize = 256;
/// Bound on one attempt to connect to a candidate (the peer layer has its
/// own, shorter, timeouts).
const CONNECT_LIMIT: Duration = Duration::from_secs(60);

/// The session driver's side of the distributed task: the task ends when
/// this is dropped (the session ended).
#[derive(Debug)]
pub(crate) struct ServerFeed {
    server: mpsc::Sender<ServerResponse>,
}

/// The other side of the distributed task, for the peer task and the
/// [`Client`](crate::client::Client) handles. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct DistributedHandle {
    incoming: mpsc::Sender<(String, DistributedConnection)>,
    shared: SharedDistributed,
}

impl ServerFeed {
    /// Passes a server message on if the distributed network cares.
    pub(crate) fn server_message(&self, message: &ServerResponse) {
        let relevant = matches!(
            message,
            ServerResponse::Login(_)
                | ServerResponse::ParentMinSpeed(_)
                | ServerResponse::ParentSpeedRatio(_)
                | ServerResponse::GetUserStats(_)
                | ServerResponse::AddUser(_)
                | ServerResponse::PotentialParents(_)
                | ServerResponse::ServerSearchRequest(_)
                | ServerResponse::ResetDistributed(_)
        );
        if relevant && self.server.try_send(message.clone()).is_err() {
            debug!(
                message = message.name(),
                "distributed queue full: server message dropped"
            );
        }
    }
}

impl DistributedHandle {
    /// A `D` connection a peer opened to us.
    pub(crate) fn incoming(&self, username: String, connection: DistributedConnection) {
        if self.incoming.try_send((username, connection)).is_err() {
            debug!("distributed queue full: incoming connection dropped");
        }
    }

    /// Our place in the network now.
    pub(crate) fn state(&self) -> DistributedState {
        self.shared.get()
    }
}

/// Starts the distributed task for `own_username`. It ends when the
/// [`ServerFeed`] is dropped (the session ended), closing its connections.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    own_username: &str,
    config: DistributedConfig,
    limits: Limits,
    peers: Peers,
    to_server: mpsc::Sender<ServerRequest>,
    events: mpsc::Sender<Event>,
    answer: Option<AnswerFn>,
    span: tracing::Span,
) -> (ServerFeed, DistributedHandle) {
    let (server_tx, server_rx) = mpsc::channel(SERVER_QUEUE);
    let (incoming_tx, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
    let (inputs_tx, inputs_rx) = mpsc::channel(INPUT_QUEUE);
    let (connected_tx, connected_rx) = mpsc::channel(MAX_CANDIDATES * 2);
    let shared = SharedDistributed::default();
    let task = Task {
        child_queue_bytes: config.child_queue_bytes.max(1),
        machine: Machine::new(own_username, config, limits.clone()),
        limits,
        peers,
        conns: HashMap::new(),
        next_id: 0,
        server_rx,
        incoming_rx,
        inputs_tx,
        inputs_rx,
        connected_tx,
        connected_rx,
        to_server,
        server_outbox: VecDeque::new(),
        events,
        event_outbox: VecDeque::new(),
        shared: shared.clone(),
        answer,
        forward: BytesMut::new(),
    };
    tokio::spawn(task.run().instrument(span));
    (
        ServerFeed { server: server_tx },
        DistributedHandle {
            incoming: incoming_tx,
            shared,
        },
    )
}

/// What a connection task reports.
enum ConnInput {
    /// Whole frames, in order: every frame already buffered is sent at
    /// once, so a busy parent costs one queue operation per batch.
    Frames(ConnId, Vec<Bytes>),
    Closed(ConnId),
}

/// One child's outgoing queue.
struct ChildQueue {
    frames: mpsc::Sender<Bytes>,
    /// Bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl ChildQueue {
    /// Queues `frame`; `false` if the child is past its limit.
    fn push(&self, frame: Bytes, limit: usize) -> bool {
        let len = frame.len();
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if before + len > limit {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        match self.frames.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => false,
            // The writer ended; its closing is on the way.
            Err(mpsc::error::TrySendError::Closed(_)) => true,
        }
    }
}

struct Conn {
    reader: JoinHandle<()>,
    child: Option<ChildQueue>,
}

impl Conn {
    fn abort(self) {
        self.reader.abort();
        if let Some(child) = self.child {
            child.task.abort();
        }
    }
}

enum Wake {
    Server(Option<ServerResponse>),
    Incoming(String, DistributedConnection),
    Connected(String, Result<DistributedConnection, PeerError>),
    Inputs,
    Timer,
}

struct Task {
    machine: Machine,
    limits: Limits,
    child_queue_bytes: usize,
    peers: Peers,
    conns: HashMap<ConnId, Conn>,
    next_id: ConnId,
    server_rx: mpsc::Receiver<ServerResponse>,
    incoming_rx: mpsc::Receiver<(String, DistributedConnection)>,
    inputs_tx: mpsc::Sender<ConnInput>,
    inputs_rx: mpsc::Receiver<ConnInput>,
    connected_tx: mpsc::Sender<(String, Result<DistributedConnection, PeerError>)>,
    connected_rx: mpsc::Receiver<(String, Result<DistributedConnection, PeerError>)>,
    to_server: mpsc::Sender<ServerRequest>,
    server_outbox: VecDeque<ServerRequest>,
    events: mpsc::Sender<Event>,
    event_outbox: VecDeque<Event>,
    shared: SharedDistributed,
    answer: Option<AnswerFn>,
    /// Frames for every child, gathered while carrying out actions.
    forward: BytesMut,
}

impl Task {
    async fn run(mut self) {
        let mut batch = Vec::with_capacity(INPUT_BATCH);
        let mut yield_after = false;
        loop {
            self.apply();
            if std::mem::take(&mut yield_after) {
                // A busy parent keeps the input queue ready: without this
                // the task would run on (tokio's budget allows many turns)
                // while the writers it fills wait.
                tokio::task::yield_now().await;
            }
            let deadline = self.machine.next_deadline().map(Instant::from_std);
            let wake = tokio::select! {
                message = self.server_rx.recv() => Wake::Server(message),
                Some((username, conn)) = self.incoming_rx.recv() => Wake::Incoming(username, conn),
                Some((username, result)) = self.connected_rx.recv() => Wake::Connected(username, result),
                _ = self.inputs_rx.recv_many(&mut batch, INPUT_BATCH) => Wake::Inputs,
                permit = self.to_server.reserve(), if !self.server_outbox.is_empty() => {
                    if let (Ok(permit), Some(request)) = (permit, self.server_outbox.pop_front()) {
                        permit.send(request);
                    } else {
                        self.server_outbox.clear();
                    }
                    continue;
                }
                permit = self.events.reserve(), if !self.event_outbox.is_empty() => {
                    if let (Ok(permit), Some(event)) = (permit, self.event_outbox.pop_front()) {
                        permit.send(event);
                    } else {
                        self.event_outbox.clear();
                    }
                    continue;
                }
                () = sleep_until(deadline) => Wake::Timer,
            };
            let now = std::time::Instant::now();
            match wake {
                Wake::Server(Some(message)) => self.machine.server_message(&message, now),
                Wake::Server(None) => break,
                Wake::Incoming(username, connection) => {
                    let id = self.open(connection, true);
                    self.machine.incoming(&username, id);
                }
                Wake::Connected(username, Ok(connection)) => {
                    let id = self.open(connection, false);
                    self.machine.connected(&username, id, now);
                }
                Wake::Connected(username, Err(error)) => {
                    debug!(candidate = %username, %error, "cannot connect to candidate parent");
                    self.machine.connect_failed(&username);
                }
                Wake::Inputs => {
                    yield_after = true;
                    // The whole batch's actions are carried out together
                    // (by `apply` at the top of the loop), so consecutive
                    // searches reach each child in one queue operation.
                    for input in batch.drain(..) {
                        match input {
                            ConnInput::Frames(id, frames) => {
                                for frame in frames {
                                    self.machine.frame(id, frame, now);
                                }
                            }
                            ConnInput::Closed(id) => {
                                if let Some(conn) = self.conns.remove(&id) {
                                    conn.abort();
                                    self.machine.closed(id, now);
                                }
                            }
                        }
                    }
                }
                Wake::Timer => self.machine.timer(now),
            }
        }
        for (_, conn) in self.conns.drain() {
            conn.abort();
        }
        self.shared.set(DistributedState::default());
    }

    /// Starts the tasks of a new connection. A child gets a writer; every
    /// connection a reader (a child's only watches for the end).
    fn open(&mut self, connection: DistributedConnection, child: bool) -> ConnId {
        let id = self.next_id;
        self.next_id += 1;
        let parts = connection.into_parts();
        let buffered = parts.read_buf;
        let inputs = self.inputs_tx.clone();
        let limits = self.limits.clone();
        let conn = if child {
            let (read, write) = parts.io.into_split();
            let (frames_tx, frames_rx) = mpsc::channel(
                (self.child_queue_bytes / SMALLEST_FRAME + 1).min(MAX_CHILD_QUEUE_FRAMES),
            );
            let queued = Arc::new(AtomicUsize::new(0));
            let writer = tokio::spawn(write_child(
                write,
                frames_rx,
                queued.clone(),
                id,
                inputs.clone(),
            ));
            let mut frames = FramedRead::new(read, RawFrames::new(limits));
            frames.read_buffer_mut().extend_from_slice(&buffered);
            let reader = tokio::spawn(async move {
                // Whatever a child sends is read (under the size limit) and
                // ignored; only the end matters.
                while let Some(Ok(_)) = frames.next().await {}
                let _ = inputs.send(ConnInput::Closed(id)).await;
            });
            Conn {
                reader,
                child: Some(ChildQueue {
                    frames: frames_tx,
                    queued,
                    task: writer,
                }),
            }
        } else {
            // Never written to, but kept whole: dropping the write half
            // would shut our side down.
            let mut frames = FramedRead::new(parts.io, RawFrames::new(limits));
            frames.read_buffer_mut().extend_from_slice(&buffered);
            let reader = tokio::spawn(async move {
                while let Some(Ok(frame)) = frames.next().await {
                    let mut batch = vec![frame];
                    // The frames already buffered, without waiting.
                    while batch.len() < READ_BATCH {
                        match frames.next().now_or_never() {
                            Some(Some(Ok(frame))) => batch.push(frame),
                            _ => break,
                        }
                    }
                    if inputs.send(ConnInput::Frames(id, batch)).await.is_err() {
                        return;
                    }
                }
                let _ = inputs.send(ConnInput::Closed(id)).await;
            });
            Conn {
                reader,
                child: None,
            }
        };
        self.conns.insert(id, conn);
        id
    }

    /// Carries out the machine's actions. Consecutive frames for every
    /// child are gathered (copied as they came, one after the other) and
    /// queued as one buffer per child; any other action on a connection
    /// queues the gathered frames first, so each child's order is kept.
    fn apply(&mut self) {
        let mut slow = Vec::new();
        loop {
            if self.machine.take_changed() {
                self.shared.set(self.machine.snapshot());
            }
            let Some(action) = self.machine.poll_action() else {
                self.flush_forward(&mut slow);
                if slow.is_empty() {
                    return;
                }
                for id in slow.drain(..) {
                    self.machine.child_too_slow(id);
                }
                continue;
            };
            if matches!(action, Action::Close(_) | Action::Send { .. }) {
                self.flush_forward(&mut slow);
            }
            match action {
                Action::Connect(username) => self.connect(username),
                Action::Close(id) => {
                    if let Some(conn) = self.conns.remove(&id) {
                        conn.abort();
                    }
                }
                Action::Send { conn, frame } => {
                    if let Some(child) = self.conns.get(&conn).and_then(|c| c.child.as_ref())
                        && !child.push(frame, self.child_queue_bytes)
                    {
                        slow.push(conn);
                    }
                }
                Action::ForwardToChildren(frame) => {
                    self.forward.extend_from_slice(&frame);
                    if self.forward.len() >= FORWARD_CHUNK {
                        self.flush_forward(&mut slow);
                    }
                }
                Action::Server(request) => self.send_server(request),
                Action::Answer {
                    username,
                    ticket,
                    query,
                } => {
                    if let Some(answer) = &self.answer {
                        answer(&username, ticket, &query);
                    }
                }
                Action::Emit(event) => self.emit(Event::Distributed(event)),
            }
            for id in slow.drain(..) {
                self.machine.child_too_slow(id);
            }
        }
    }

    /// Queues the gathered frames on every child's connection; children
    /// past their limit go to `slow`.
    fn flush_forward(&mut self, slow: &mut Vec<ConnId>) {
        if self.forward.is_empty() {
            return;
        }
        let frames = self.forward.split().freeze();
        for id in self.machine.child_conns() {
            if let Some(child) = self.conns.get(id).and_then(|c| c.child.as_ref())
                && !child.push(frames.clone(), self.child_queue_bytes)
            {
                slow.push(*id);
            }
        }
    }

    fn connect(&mut self, username: String) {
        let peers = self.peers.clone();
        let report = self.connected_tx.clone();
        tokio::spawn(async move {
            let result = tokio::time::timeout(CONNECT_LIMIT, peers.connect_distributed(&username))
                .await
                .unwrap_or(Err(PeerError::TimedOut));
            let _ = report.send((username, result)).await;
        });
    }

    fn send_server(&mut self, request: ServerRequest) {
        if self.server_outbox.is_empty() {
            match self.to_server.try_send(request) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(request)) => {
                    self.server_outbox.push_back(request)
                }
            }
        } else if self.server_outbox.len() < SERVER_BACKLOG {
            self.server_outbox.push_back(request);
        } else {
            debug!("server queue full: distributed request dropped");
        }
    }

    fn emit(&mut self, event: Event) {
        if self.event_outbox.is_empty() {
            match self.events.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(event)) => self.event_outbox.push_back(event),
            }
        } else if self.event_outbox.len() < EVENT_BACKLOG {
            self.event_outbox.push_back(event);
        } else {
            debug!("event stream full: distributed event dropped");
        }
    }
}

/// Writes a child's queue, a batch per write, and reports a failed write.
async fn write_child(
    mut write: OwnedWriteHalf,
    mut frames: mpsc::Receiver<Bytes>,
    queued: Arc<AtomicUsize>,
    id: ConnId,
    inputs: mpsc::Sender<ConnInput>,
) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut buffer = Vec::new();
    while frames.recv_many(&mut batch, WRITE_BATCH).await > 0 {
        let written = if let [one] = &batch[..] {
            write.write_all(one).await.map(|()| one.len())
        } else {
            buffer.clear();
            for frame in &batch {
                buffer.extend_from_slice(frame);
            }
            write.write_all(&buffer).await.map(|()| buffer.len())
        };
        batch.clear();
        match written {
            Ok(len) => {
                queued.fetch_sub(len, Ordering::Relaxed);
            }
            Err(_) => {
                let _ = inputs.send(ConnInput::Closed(id)).await;
                return;
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
