//! The `tree` phase: global searches through the distributed search tree.
//!
//! The model: `--tree-clients` clients (1,000 by default) log in to a fresh
//! server and take fixed places in `--tree-roots` branches of fan-out
//! `--tree-fanout`, numbered breadth first (clients `0..roots` are the
//! roots; the children of client `p` are `roots + p * fanout ..`). Each
//! tells the server its place as real clients do (SetListenPort,
//! BranchLevel, BranchRoot, HaveNoParent, AcceptChildren); PossibleParents
//! offers are ignored, the layout is the generator's. Every parent listens
//! on 127.0.0.1 and each child holds a real TCP connection to it (a `D`
//! connection without the PeerInit: the frames are what matters). A root
//! turns the server's EmbeddedMessage(93) into a DistributedSearchRequest
//! frame and writes it to each child; every other client passes the frame
//! it reads from its parent to its children as the same bytes. Every
//! client decodes what it receives to record the latency, which the query
//! carries (as in the `search` phase).
//!
//! One more client, outside the tree, sends `--searches` global searches one
//! after the other; each is timed from its send to its last delivery. The
//! same is then run against a server started with `--no-distributed-tree`
//! (every client gets FileSearch(26) from the server), for comparison.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use slsk_net::MessageCodec;
use slsk_proto::distributed::DistributedSearchRequest;
use slsk_proto::server::{
    AcceptChildrenRequest, BranchLevelRequest, BranchRootRequest, FileSearchRequest,
    GetUserStatusRequest, LoginResponse, ServerRequest, ServerResponse, SetListenPortRequest,
    ToggleParentSearchRequest,
};
use slsk_proto::{FramedMessage, Limits, Message};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};

use crate::client::{self, Behaviour, DEADLINE, Shared};
use crate::process::{CpuMeter, ServerProcess};
use crate::report::Percentiles;
use crate::{PER_IP, Result};

/// Logins in flight at once while the tree is built.
const WINDOW: usize = 100;

/// The largest D frame a client accepts from its parent.
const MAX_D_FRAME: usize = 64 * 1024;

/// The distributed code of DistributedSearchRequest.
const DISTRIBUTED_SEARCH: u8 = 3;

/// Where each client sits: breadth-first numbering of `roots` branches of
/// fan-out `fanout`.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub clients: usize,
    pub roots: usize,
    pub fanout: usize,
}

impl Layout {
    fn parent(&self, i: usize) -> Option<usize> {
        (i >= self.roots).then(|| (i - self.roots) / self.fanout)
    }

    fn children(&self, i: usize) -> Range<usize> {
        let first = self
            .roots
            .saturating_add(i.saturating_mul(self.fanout))
            .min(self.clients);
        first..first.saturating_add(self.fanout).min(self.clients)
    }

    /// The level (0 for a root) and the root of client `i`.
    fn place(&self, mut i: usize) -> (u32, usize) {
        let mut level = 0;
        while let Some(parent) = self.parent(i) {
            level += 1;
            i = parent;
        }
        (level, i)
    }

    fn depth(&self) -> u32 {
        self.clients
            .checked_sub(1)
            .map_or(0, |last| self.place(last).0)
    }
}

/// How searches reached the tree's clients.
#[derive(Debug, Default)]
struct Counts {
    /// EmbeddedMessage(93) from the server (roots).
    embedded: AtomicU64,
    /// A D frame from the parent.
    from_parent: AtomicU64,
    /// FileSearch(26) from the server.
    direct: AtomicU64,
    /// Children whose D connection the parent has accepted.
    attached: AtomicUsize,
}

fn name(i: usize) -> String {
    format!("tree{i}")
}

fn frame(request: impl Into<ServerRequest>) -> Vec<u8> {
    request
        .into()
        .to_frame()
        .expect("a request the load generator builds always encodes")
}

/// Runs the phase against a server with the tree on, then off.
pub async fn tree_phase(bin: &std::path::Path, layout: Layout, searches: u32) -> Result<()> {
    for (label, extra) in [
        ("tree on", &["--no-flood-limits"][..]),
        (
            "tree off",
            &["--no-flood-limits", "--no-distributed-tree"][..],
        ),
    ] {
        let server = ServerProcess::start(bin, true, PER_IP, extra)?;
        let shared = Arc::new(Shared::new());
        let counts = Arc::new(Counts::default());
        build(server.addr, layout, &shared, &counts).await?;
        let searcher = client::login(
            "tree-searcher".into(),
            client::source_ip(layout.clients.div_ceil(PER_IP) as u32 + 10, 0, PER_IP),
            server.addr,
            Behaviour::Normal,
            Arc::new(Vec::new()),
            shared.clone(),
        )
        .await?;
        let meter = CpuMeter::start(server.pid());
        let (mut last, mut median, mut incomplete) = (Vec::new(), Vec::new(), 0);
        for ticket in 0..searches {
            let request = FileSearchRequest {
                ticket,
                query: client::search_query(shared.micros()),
            };
            let _ = searcher.try_send(Bytes::from(frame(request)));
            let deadline = Instant::now() + Duration::from_secs(10);
            let latencies = loop {
                let latencies = client::search_latencies(&shared, ticket);
                if latencies.len() >= layout.clients || Instant::now() >= deadline {
                    break latencies;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            };
            if latencies.len() < layout.clients {
                incomplete += 1;
            }
            let p = Percentiles::of(latencies);
            last.push(p.max);
            median.push(p.p50);
        }
        println!(
            "tree ({label}): {searches} global searches to {} clients in {} branches of fan-out {}, depth {} \
             ({incomplete} incomplete): last delivery {}; median delivery {}; \
             received as 93 from the server {}, from the parent {}, as 26 from the server {}; {}; \
             server cpu {:.0} us per search",
            layout.clients,
            layout.roots,
            layout.fanout,
            layout.depth(),
            Percentiles::of(last),
            Percentiles::of(median),
            counts.embedded.load(Ordering::Relaxed),
            counts.from_parent.load(Ordering::Relaxed),
            counts.direct.load(Ordering::Relaxed),
            meter.report(),
            meter.server_cpu().as_secs_f64() * 1e6 / f64::from(searches.max(1))
        );
        shared.stop.cancel();
    }
    Ok(())
}

/// Logs every client in, tells the server its place, connects it to its
/// parent and starts its task; returns once every child is attached.
async fn build(
    server: SocketAddr,
    layout: Layout,
    shared: &Arc<Shared>,
    counts: &Arc<Counts>,
) -> Result<()> {
    // Listeners first, so that children can connect to any parent.
    let mut listeners: Vec<Option<TcpListener>> = Vec::with_capacity(layout.clients);
    let mut ports = Vec::with_capacity(layout.clients);
    for i in 0..layout.clients {
        if layout.children(i).is_empty() {
            listeners.push(None);
            ports.push(0);
        } else {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            ports.push(u32::from(listener.local_addr()?.port()));
            listeners.push(Some(listener));
        }
    }
    let ports = Arc::new(ports);
    let mut pending = JoinSet::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        if pending.len() >= WINDOW {
            pending.join_next().await.expect("not empty")??;
        }
        pending.spawn(join(
            server,
            layout,
            i,
            listener,
            ports.clone(),
            shared.clone(),
            counts.clone(),
        ));
    }
    while let Some(joined) = pending.join_next().await {
        joined??;
    }
    let children = layout.clients - layout.roots.min(layout.clients);
    let deadline = Instant::now() + DEADLINE;
    while counts.attached.load(Ordering::Relaxed) < children {
        if Instant::now() >= deadline {
            return Err("the tree did not form in time".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// One client: login, its report to the server, the connection to its
/// parent; then its task runs until the phase stops.
async fn join(
    server: SocketAddr,
    layout: Layout,
    i: usize,
    listener: Option<TcpListener>,
    ports: Arc<Vec<u32>>,
    shared: Arc<Shared>,
    counts: Arc<Counts>,
) -> std::io::Result<()> {
    let me = name(i);
    let stream = client::connect_from(client::source_ip(0, i, PER_IP), server).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut from_server = FramedRead::new(read, MessageCodec::<ServerResponse>::default());
    let (level, root) = layout.place(i);
    // Requests sent before the Login reply would be dropped.
    write.write_all(&client::login_frame(&me)).await?;
    match next_message(&mut from_server, &me).await? {
        ServerResponse::Login(LoginResponse::Success { .. }) => {}
        other => return Err(std::io::Error::other(format!("{me}: login: {other:?}"))),
    }
    let mut report = Vec::new();
    for request in [
        ServerRequest::from(SetListenPortRequest {
            port: ports[i],
            obfuscation_type: None,
            obfuscated_port: None,
        }),
        BranchLevelRequest { level }.into(),
        BranchRootRequest {
            username: name(root),
        }
        .into(),
        ToggleParentSearchRequest { enable: level == 0 }.into(),
        AcceptChildrenRequest {
            accept: listener.is_some(),
        }
        .into(),
        GetUserStatusRequest {
            username: me.clone(),
        }
        .into(),
    ] {
        report.extend(frame(request));
    }
    write.write_all(&report).await?;
    // Until the reply to the last request: the server has the whole report.
    loop {
        match next_message(&mut from_server, &me).await? {
            ServerResponse::GetUserStatus(s) if s.username == me => break,
            _ => {}
        }
    }
    let parent = match layout.parent(i) {
        Some(p) => {
            let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, ports[p] as u16)).await?;
            stream.set_nodelay(true)?;
            Some(FramedRead::new(stream, d_codec()))
        }
        None => None,
    };
    tokio::spawn(run(from_server, write, parent, listener, shared, counts));
    Ok(())
}

/// Whole D frames, length field included, so that they are passed on as
/// they came.
fn d_codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .little_endian()
        .length_field_length(4)
        // The length counts what follows it; the frame kept includes it.
        .length_adjustment(4)
        .num_skip(0)
        .max_frame_length(MAX_D_FRAME)
        .new_codec()
}

type ServerFrames = FramedRead<tokio::net::tcp::OwnedReadHalf, MessageCodec<ServerResponse>>;
type ParentFrames = FramedRead<TcpStream, LengthDelimitedCodec>;

/// A tree client's life: searches from the server or the parent are
/// recorded and written to every child.
async fn run(
    mut from_server: ServerFrames,
    // Kept open: the server session ends when it is dropped.
    _to_server: OwnedWriteHalf,
    mut parent: Option<ParentFrames>,
    listener: Option<TcpListener>,
    shared: Arc<Shared>,
    counts: Arc<Counts>,
) {
    let mut children: Vec<TcpStream> = Vec::new();
    let stop = shared.stop.clone();
    loop {
        let frame: Bytes = tokio::select! {
            _ = stop.cancelled() => break,
            message = from_server.next() => match message {
                Some(Ok(Ok(ServerResponse::ServerSearchRequest(m)))) => {
                    counts.embedded.fetch_add(1, Ordering::Relaxed);
                    d_frame(m.distributed_code, &m.payload)
                }
                Some(Ok(Ok(ServerResponse::FileSearch(s)))) => {
                    counts.direct.fetch_add(1, Ordering::Relaxed);
                    record(&shared, s.ticket, &s.query);
                    continue;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => break,
            },
            frame = next_from(&mut parent), if parent.is_some() => match frame {
                Some(Ok(frame)) => {
                    counts.from_parent.fetch_add(1, Ordering::Relaxed);
                    frame.freeze()
                }
                _ => break,
            },
            accepted = accept(&listener), if listener.is_some() => match accepted {
                Ok(child) => {
                    let _ = child.set_nodelay(true);
                    children.push(child);
                    counts.attached.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Err(_) => continue,
            },
        };
        // Pass it on first, as clients do, then read it.
        let mut kept = Vec::with_capacity(children.len());
        for mut child in children.drain(..) {
            if child.write_all(&frame).await.is_ok() {
                kept.push(child);
            }
        }
        children = kept;
        if frame.get(4) == Some(&DISTRIBUTED_SEARCH)
            && let Ok(search) =
                DistributedSearchRequest::decode_payload(&frame[5..], &Limits::DEFAULT)
        {
            record(&shared, search.ticket, &search.query);
        }
    }
}

/// The next message from the server, within the deadline.
async fn next_message(from_server: &mut ServerFrames, me: &str) -> std::io::Result<ServerResponse> {
    match tokio::time::timeout(DEADLINE, from_server.next()).await {
        Err(_) => Err(std::io::Error::other(format!("{me}: no reply in time"))),
        Ok(Some(Ok(Ok(message)))) => Ok(message),
        Ok(Some(Ok(Err(e)))) => Err(std::io::Error::other(format!("{me}: {e}"))),
        Ok(Some(Err(e))) => Err(e),
        Ok(None) => Err(std::io::Error::other(format!("{me}: closed by the server"))),
    }
}

async fn next_from(parent: &mut Option<ParentFrames>) -> Option<std::io::Result<BytesMut>> {
    parent.as_mut()?.next().await
}

async fn accept(listener: &Option<TcpListener>) -> std::io::Result<TcpStream> {
    match listener {
        Some(listener) => listener.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// A D frame: u32 length, u8 code, payload.
fn d_frame(code: u8, payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(5 + payload.len());
    frame.extend_from_slice(&(1 + payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&[code]);
    frame.extend_from_slice(payload);
    frame.freeze()
}

fn record(shared: &Shared, ticket: u32, query: &str) {
    if let Some(sent) = query.strip_prefix('S').and_then(|t| t.parse().ok()) {
        let latency = shared.since(sent);
        client::lock(&shared.searches)
            .entry(ticket)
            .or_default()
            .push(latency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_breadth_first() {
        let layout = Layout {
            clients: 1000,
            roots: 10,
            fanout: 10,
        };
        assert_eq!(layout.parent(5), None);
        assert_eq!(layout.children(0), 10..20);
        assert_eq!(layout.parent(19), Some(0));
        assert_eq!(layout.children(10), 110..120);
        assert_eq!(layout.place(115), (2, 0));
        assert_eq!(layout.place(999), (2, 8));
        assert_eq!(layout.children(99), 1000..1000);
        assert_eq!(layout.depth(), 2);
        let chain = Layout {
            clients: 4,
            roots: 1,
            fanout: 1,
        };
        assert_eq!(chain.place(3), (3, 0));
    }

    #[test]
    fn a_d_frame_decodes_as_the_search() {
        let search = DistributedSearchRequest {
            unknown: 49,
            username: "a".into(),
            ticket: 5,
            query: "S12".into(),
        };
        let mut payload = Vec::new();
        search.encode_payload(&mut payload).unwrap();
        let frame = d_frame(3, &payload);
        let decoded = slsk_proto::distributed::DistributedMessage::decode_frame(&frame).unwrap();
        assert_eq!(
            decoded,
            slsk_proto::distributed::DistributedMessage::DistributedSearchRequest(search)
        );
    }
}

#[cfg(test)]
mod codec_tests {
    use super::*;
    use tokio_util::codec::Decoder;

    #[test]
    fn d_frames_come_out_whole() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&d_frame(3, b"abc"));
        buf.extend_from_slice(&d_frame(4, b"defgh"));
        let mut codec = d_codec();
        let first = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(&first[..], &d_frame(3, b"abc")[..]);
        let second = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(&second[..], &d_frame(4, b"defgh")[..]);
    }
}
