//! Decoding and encoding realistic messages, each next to references
//! measured in the same run: the zlib backend alone on the same bytes, and a
//! plain copy of the same size.
//!
//! Run with `cargo bench -p slsk-testkit` (see docs/performance.md). After
//! criterion's own report, a table gives each measurement as a ratio to its
//! reference, and checks the targets of the share list.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use flate2::{Compression, Decompress, FlushDecompress, write::ZlibEncoder};
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::{PeerMessage, PeerSearchReply, PeerSharesReply};
use slsk_proto::server::ServerResponse;
use slsk_proto::stream::BodyStream;
use slsk_proto::structures::DirectoryData;
use slsk_proto::wire::Reader;
use slsk_proto::{FrameReader, FramedMessage, Limits, Message, Wire};
use slsk_testkit::data;

/// Per-iteration times of every benchmark, as criterion ran them, with
/// what one iteration processes.
static TIMES: Mutex<BTreeMap<String, (Throughput, Vec<f64>)>> = Mutex::new(BTreeMap::new());

/// A criterion group that also records each benchmark's times for the
/// ratio table.
struct Group<'a> {
    name: String,
    throughput: Throughput,
    inner: BenchmarkGroup<'a, WallTime>,
}

impl<'a> Group<'a> {
    fn new(c: &'a mut Criterion, name: &str, throughput: Throughput) -> Self {
        let mut inner = c.benchmark_group(name);
        inner
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(throughput.clone());
        Self {
            name: name.to_string(),
            throughput,
            inner,
        }
    }

    /// Times `f` alone: what it returns is dropped after the clock stops, so
    /// freeing a decoded message is not counted as decoding it.
    fn bench<T>(&mut self, id: &str, mut f: impl FnMut() -> T) {
        let key = format!("{}/{id}", self.name);
        let throughput = self.throughput.clone();
        self.inner.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let value = black_box(f());
                    elapsed += start.elapsed();
                    drop(value);
                }
                TIMES
                    .lock()
                    .unwrap()
                    .entry(key.clone())
                    .or_insert_with(|| (throughput.clone(), Vec::new()))
                    .1
                    .push(elapsed.as_secs_f64() / iters as f64);
                elapsed
            })
        });
    }

    fn finish(self) {
        self.inner.finish();
    }
}

/// The median time per iteration of `key`, in seconds, if it was measured
/// (a filter on the command line may leave it out).
fn median(key: &str) -> Option<f64> {
    let mut t = TIMES.lock().unwrap().get(key)?.1.clone();
    t.sort_by(f64::total_cmp);
    Some(t[t.len() / 2])
}

/// `seconds` per iteration as a rate: MB/s (10^6 bytes) or messages/s.
fn rate(key: &str, seconds: f64) -> String {
    match TIMES.lock().unwrap()[key].0 {
        Throughput::Bytes(n) => format!("{:.0} MB/s", n as f64 / seconds / 1e6),
        Throughput::Elements(n) => format!("{:.2} M msg/s", n as f64 / seconds / 1e6),
        _ => String::new(),
    }
}

/// A time with a unit that suits it.
fn time(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} us", seconds * 1e6)
    }
}

// ------------------------------------------------------------- references

/// flate2 alone: inflate into a buffer of exactly the right size.
fn inflate_only(compressed: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    let mut d = Decompress::new(true);
    d.decompress_vec(compressed, &mut out, FlushDecompress::Finish)
        .unwrap();
    assert_eq!(out.len(), size);
    out
}

/// flate2 alone: deflate at the level the codec uses.
fn deflate_only(body: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

fn memcpy(src: &[u8], dst: &mut [u8]) {
    dst.copy_from_slice(black_box(src));
    black_box(dst);
}

fn payload_of<M: Message>(m: &M) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode_payload(&mut out);
    out
}

fn body_of<M: Message>(m: &M) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode_body(&mut out);
    out
}

fn parse_body<M: Message>(body: &[u8]) -> M {
    let limits = Limits::DEFAULT;
    let mut r = Reader::new(body, &limits);
    let m = M::decode_body(&mut r).unwrap();
    r.finish().unwrap();
    m
}

// ------------------------------------------------------------- benchmarks

fn shares(c: &mut Criterion) {
    let reply = data::large_share_list();
    let body = body_of(&reply);
    let payload = payload_of(&reply);
    let files: usize = reply.directories.iter().map(|d| d.files.len()).sum();
    println!(
        "PeerSharesReply: {} folders, {files} files, {} bytes inflated, {} compressed",
        reply.directories.len(),
        body.len(),
        payload.len()
    );
    let mut copy = vec![0u8; body.len()];
    let limits = Limits::DEFAULT;
    let mut stream = BodyStream::new(&payload, &limits);
    stream
        .each("directories", DirectoryData::decode, drop)
        .unwrap();
    println!(
        "PeerSharesReply::decode_streaming inflates through a window of at most {} bytes",
        stream.peak_window()
    );

    let mut g = Group::new(c, "shares_decode", Throughput::Bytes(body.len() as u64));
    g.bench("inflate_only", || {
        inflate_only(black_box(&payload), body.len())
    });
    g.bench("decode_compressed", || {
        PeerSharesReply::decode_payload(black_box(&payload), &limits).unwrap()
    });
    g.bench("decode_streaming", || {
        let mut files = 0;
        PeerSharesReply::decode_streaming(black_box(&payload), &limits, |_, d| {
            files += d.files.len();
            drop(black_box(d));
        })
        .unwrap();
        assert_eq!(files, 200_000);
    });
    g.bench("parse_uncompressed", || {
        parse_body::<PeerSharesReply>(black_box(&body))
    });
    g.bench("memcpy", || memcpy(&body, &mut copy));
    g.finish();

    let mut g = Group::new(c, "shares_encode", Throughput::Bytes(body.len() as u64));
    g.bench("deflate_only", || deflate_only(black_box(&body)));
    g.bench("encode_compressed", || payload_of(black_box(&reply)));
    g.bench("serialize_uncompressed", || body_of(black_box(&reply)));
    g.bench("memcpy", || memcpy(&body, &mut copy));
    g.finish();
}

fn search_reply(c: &mut Criterion) {
    let reply = data::search_reply(500);
    let body = body_of(&reply);
    let payload = payload_of(&reply);
    let frame = PeerMessage::from(reply.clone()).to_frame();
    let mut copy = vec![0u8; body.len()];

    let mut g = Group::new(c, "search_reply_500", Throughput::Bytes(body.len() as u64));
    g.bench("inflate_only", || {
        inflate_only(black_box(&payload), body.len())
    });
    g.bench("decode_frame", || {
        PeerMessage::decode_frame(black_box(&frame)).unwrap()
    });
    g.bench("parse_uncompressed", || {
        parse_body::<PeerSearchReply>(black_box(&body))
    });
    g.bench("deflate_only", || deflate_only(black_box(&body)));
    let message = PeerMessage::from(reply);
    g.bench("encode_frame", || black_box(&message).to_frame());
    g.bench("memcpy", || memcpy(&body, &mut copy));
    g.finish();
}

fn join_room(c: &mut Criterion) {
    let message = ServerResponse::from(data::join_room(1000));
    let frame = message.to_frame();
    let mut copy = vec![0u8; frame.len()];
    let mut out = Vec::with_capacity(frame.len());

    let mut g = Group::new(c, "join_room_1000", Throughput::Bytes(frame.len() as u64));
    g.bench("decode_frame", || {
        ServerResponse::decode_frame(black_box(&frame)).unwrap()
    });
    g.bench("encode_frame", || {
        out.clear();
        black_box(&message).encode_frame(&mut out);
        black_box(&out);
    });
    g.bench("memcpy", || memcpy(&frame, &mut copy));
    g.finish();
}

fn distributed_stream(c: &mut Criterion) {
    const COUNT: usize = 1_000_000;
    let messages: Vec<DistributedMessage> = data::search_requests(COUNT).collect();
    let mut stream = Vec::new();
    for m in &messages {
        m.encode_frame(&mut stream);
    }
    println!(
        "distributed stream: {COUNT} search requests, {} bytes",
        stream.len()
    );
    let mut copy = vec![0u8; stream.len()];
    let mut out = Vec::with_capacity(stream.len());

    let mut g = Group::new(
        c,
        "distributed_search_1m",
        Throughput::Elements(COUNT as u64),
    );
    g.bench("decode_stream", || {
        let mut reader = FrameReader::<DistributedMessage>::new(Limits::DEFAULT);
        *reader.buffer_mut() = BytesMut::from(black_box(&stream[..]));
        let mut n = 0;
        while let Some(m) = reader.next_message().unwrap() {
            black_box(m);
            n += 1;
        }
        assert_eq!(n, COUNT);
    });
    g.bench("encode_stream", || {
        out.clear();
        for m in black_box(&messages) {
            m.encode_frame(&mut out);
        }
        black_box(&out);
    });
    g.bench("memcpy", || memcpy(&stream, &mut copy));
    g.finish();
}

// ------------------------------------------------------------- the table

fn report() {
    let row = |what: &str, key: &str, reference: &str, target: Option<f64>| {
        let (Some(t), Some(r)) = (median(key), median(reference)) else {
            return;
        };
        let ratio = t / r;
        let verdict = match target {
            Some(max) if ratio <= max => format!("target <= {max}: met"),
            Some(max) => format!("target <= {max}: MISSED"),
            None => String::new(),
        };
        let reference_name = reference.rsplit('/').next().unwrap_or(reference);
        println!(
            "{what:<36} {:>9} {:>13} | {reference_name:<14} {:>9} {:>13} | x{ratio:<5.2} {verdict}",
            time(t),
            rate(key, t),
            time(r),
            rate(reference, r),
        );
    };
    println!("\nRatios against references measured in this run (median time per iteration):");
    row(
        "share list: decode compressed",
        "shares_decode/decode_compressed",
        "shares_decode/inflate_only",
        Some(2.0),
    );
    row(
        "share list: parse uncompressed",
        "shares_decode/parse_uncompressed",
        "shares_decode/inflate_only",
        Some(1.0),
    );
    row(
        "share list: decode streaming",
        "shares_decode/decode_streaming",
        "shares_decode/inflate_only",
        None,
    );
    row(
        "share list: encode compressed",
        "shares_encode/encode_compressed",
        "shares_encode/deflate_only",
        Some(1.3),
    );
    row(
        "share list: serialize uncompressed",
        "shares_encode/serialize_uncompressed",
        "shares_encode/memcpy",
        None,
    );
    row(
        "search reply: decode frame",
        "search_reply_500/decode_frame",
        "search_reply_500/inflate_only",
        None,
    );
    row(
        "search reply: encode frame",
        "search_reply_500/encode_frame",
        "search_reply_500/deflate_only",
        None,
    );
    row(
        "join room: decode frame",
        "join_room_1000/decode_frame",
        "join_room_1000/memcpy",
        None,
    );
    row(
        "join room: encode frame",
        "join_room_1000/encode_frame",
        "join_room_1000/memcpy",
        None,
    );
    row(
        "1M distributed searches: decode",
        "distributed_search_1m/decode_stream",
        "distributed_search_1m/memcpy",
        None,
    );
    row(
        "1M distributed searches: encode",
        "distributed_search_1m/encode_stream",
        "distributed_search_1m/memcpy",
        None,
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    shares(&mut c);
    search_reply(&mut c);
    join_room(&mut c);
    distributed_stream(&mut c);
    c.final_summary();
    if !TIMES.lock().unwrap().is_empty() {
        report();
    }
}
