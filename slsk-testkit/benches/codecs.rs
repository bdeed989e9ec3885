//! Decoding and encoding realistic messages, each next to references
//! measured in the same run: the zlib backend alone on the same bytes, and a
//! plain copy of the same size.
//!
//! Run with `cargo bench -p slsk-testkit` (see docs/performance.md).
//! Criterion reports each benchmark with its throughput; then a table gives
//! each measurement as a ratio to its reference, from runs of the two that
//! alternate (so that load from other processes falls on both alike), and
//! checks the targets of the share list.

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

/// A criterion group whose benchmarks time only the closure: what it
/// returns is dropped after the clock stops, so freeing a decoded message
/// is not counted as decoding it.
struct Group<'a> {
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
            .throughput(throughput);
        Self { inner }
    }

    fn bench<T>(&mut self, id: &str, mut f: impl FnMut() -> T) {
        self.inner.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let value = black_box(f());
                    elapsed += start.elapsed();
                    drop(value);
                }
                elapsed
            })
        });
    }

    fn finish(self) {
        self.inner.finish();
    }
}

// ------------------------------------------------------------- ratios

/// One line of the ratio table.
struct Row {
    what: &'static str,
    amount: Throughput,
    subject: f64,
    reference_name: &'static str,
    reference: f64,
    ratio: f64,
    target: Option<f64>,
}

static ROWS: Mutex<Vec<Row>> = Mutex::new(Vec::new());

/// Seconds for one call of `f`, over a batch long enough to time well;
/// the results are dropped after the clock stops.
fn time_batch<T>(f: &mut impl FnMut() -> T, batch: usize) -> f64 {
    let mut results = Vec::with_capacity(batch);
    let start = Instant::now();
    for _ in 0..batch {
        results.push(black_box(f()));
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(results);
    elapsed / batch as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Times `subject` and `reference` alternately, `rounds` times each, and
/// records the medians and the median of the per-round ratios.
#[allow(clippy::too_many_arguments)]
fn ratio<A, B>(
    what: &'static str,
    amount: Throughput,
    target: Option<f64>,
    rounds: usize,
    mut subject: impl FnMut() -> A,
    reference_name: &'static str,
    mut reference: impl FnMut() -> B,
) {
    let batch_for = |once: f64| ((2e-3 / once).ceil() as usize).clamp(1, 10_000);
    let batch_s = batch_for(time_batch(&mut subject, 1));
    let batch_r = batch_for(time_batch(&mut reference, 1));
    let (mut s, mut r, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let ts = time_batch(&mut subject, batch_s);
        let tr = time_batch(&mut reference, batch_r);
        s.push(ts);
        r.push(tr);
        ratios.push(ts / tr);
    }
    ROWS.lock().unwrap().push(Row {
        what,
        amount,
        subject: median(s),
        reference_name,
        reference: median(r),
        ratio: median(ratios),
        target,
    });
}

/// `seconds` per iteration as a rate: MB/s (10^6 bytes) or messages/s.
fn rate(amount: &Throughput, seconds: f64) -> String {
    match amount {
        Throughput::Bytes(n) => format!("{:.0} MB/s", *n as f64 / seconds / 1e6),
        Throughput::Elements(n) => format!("{:.2} M msg/s", *n as f64 / seconds / 1e6),
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

fn report() {
    println!("\nRatios to references measured in this run (medians of alternating runs):");
    for row in ROWS.lock().unwrap().iter() {
        let verdict = match row.target {
            Some(max) if row.ratio <= max => format!("target <= {max}: met"),
            Some(max) => format!("target <= {max}: MISSED"),
            None => String::new(),
        };
        println!(
            "{:<36} {:>9} {:>13} | {:<14} {:>9} {:>13} | x{:<5.2} {verdict}",
            row.what,
            time(row.subject),
            rate(&row.amount, row.subject),
            row.reference_name,
            time(row.reference),
            rate(&row.amount, row.reference),
            row.ratio,
        );
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
    m.encode_payload(&mut out).unwrap();
    out
}

fn body_of<M: Message>(m: &M) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode_body(&mut out).unwrap();
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

    let bytes = Throughput::Bytes(body.len() as u64);
    let mut inflate = || inflate_only(black_box(&payload), body.len());
    let mut decode = || PeerSharesReply::decode_payload(black_box(&payload), &limits).unwrap();
    let mut streaming = || {
        let mut files = 0;
        PeerSharesReply::decode_streaming(black_box(&payload), &limits, |_, d| {
            files += d.files.len();
            drop(black_box(d));
        })
        .unwrap();
        assert_eq!(files, 200_000);
    };
    let mut parse = || parse_body::<PeerSharesReply>(black_box(&body));
    let mut copy_body = || memcpy(&body, &mut copy);
    let mut g = Group::new(c, "shares_decode", bytes.clone());
    g.bench("inflate_only", &mut inflate);
    g.bench("decode_compressed", &mut decode);
    g.bench("decode_streaming", &mut streaming);
    g.bench("parse_uncompressed", &mut parse);
    g.bench("memcpy", &mut copy_body);
    g.finish();

    let mut deflate = || deflate_only(black_box(&body));
    let mut encode = || payload_of(black_box(&reply));
    let mut serialize = || body_of(black_box(&reply));
    let mut g = Group::new(c, "shares_encode", bytes.clone());
    g.bench("deflate_only", &mut deflate);
    g.bench("encode_compressed", &mut encode);
    g.bench("serialize_uncompressed", &mut serialize);
    g.bench("memcpy", &mut copy_body);
    g.finish();

    if ratios_wanted("shares") {
        let rounds = 15;
        let what = "share list: decode compressed";
        ratio(
            what,
            bytes.clone(),
            Some(2.0),
            rounds,
            &mut decode,
            "inflate_only",
            &mut inflate,
        );
        let what = "share list: parse uncompressed";
        ratio(
            what,
            bytes.clone(),
            Some(1.0),
            rounds,
            &mut parse,
            "inflate_only",
            &mut inflate,
        );
        let what = "share list: decode streaming";
        ratio(
            what,
            bytes.clone(),
            None,
            rounds,
            &mut streaming,
            "inflate_only",
            &mut inflate,
        );
        let what = "share list: encode compressed";
        ratio(
            what,
            bytes.clone(),
            Some(1.3),
            7,
            &mut encode,
            "deflate_only",
            &mut deflate,
        );
        let what = "share list: serialize uncompressed";
        ratio(
            what,
            bytes,
            None,
            rounds,
            &mut serialize,
            "memcpy",
            &mut copy_body,
        );
    }
}

fn search_reply(c: &mut Criterion) {
    let reply = data::search_reply(500);
    let body = body_of(&reply);
    let payload = payload_of(&reply);
    let message = PeerMessage::from(reply);
    let frame = message.to_frame().unwrap();
    let mut copy = vec![0u8; body.len()];

    let bytes = Throughput::Bytes(body.len() as u64);
    let mut inflate = || inflate_only(black_box(&payload), body.len());
    let mut decode = || PeerMessage::decode_frame(black_box(&frame)).unwrap();
    let mut parse = || parse_body::<PeerSearchReply>(black_box(&body));
    let mut deflate = || deflate_only(black_box(&body));
    let mut encode = || black_box(&message).to_frame().unwrap();
    let mut copy_body = || memcpy(&body, &mut copy);
    let mut g = Group::new(c, "search_reply_500", bytes.clone());
    g.bench("inflate_only", &mut inflate);
    g.bench("decode_frame", &mut decode);
    g.bench("parse_uncompressed", &mut parse);
    g.bench("deflate_only", &mut deflate);
    g.bench("encode_frame", &mut encode);
    g.bench("memcpy", &mut copy_body);
    g.finish();

    if ratios_wanted("search_reply") {
        let what = "search reply: decode frame";
        ratio(
            what,
            bytes.clone(),
            None,
            15,
            &mut decode,
            "inflate_only",
            &mut inflate,
        );
        let what = "search reply: parse uncompressed";
        ratio(
            what,
            bytes.clone(),
            None,
            15,
            &mut parse,
            "inflate_only",
            &mut inflate,
        );
        let what = "search reply: encode frame";
        ratio(
            what,
            bytes,
            None,
            15,
            &mut encode,
            "deflate_only",
            &mut deflate,
        );
    }
}

fn join_room(c: &mut Criterion) {
    let message = ServerResponse::from(data::join_room(1000));
    let frame = message.to_frame().unwrap();
    let mut copy = vec![0u8; frame.len()];

    let bytes = Throughput::Bytes(frame.len() as u64);
    let mut decode = || ServerResponse::decode_frame(black_box(&frame)).unwrap();
    let mut encode = || black_box(&message).to_frame().unwrap();
    let mut copy_frame = || memcpy(&frame, &mut copy);
    let mut g = Group::new(c, "join_room_1000", bytes.clone());
    g.bench("decode_frame", &mut decode);
    g.bench("encode_frame", &mut encode);
    g.bench("memcpy", &mut copy_frame);
    g.finish();

    if ratios_wanted("join_room") {
        let what = "join room: decode frame";
        ratio(
            what,
            bytes.clone(),
            None,
            15,
            &mut decode,
            "memcpy",
            &mut copy_frame,
        );
        let what = "join room: encode frame";
        ratio(
            what,
            bytes,
            None,
            15,
            &mut encode,
            "memcpy",
            &mut copy_frame,
        );
    }
}

fn distributed_stream(c: &mut Criterion) {
    const COUNT: usize = 1_000_000;
    let messages: Vec<DistributedMessage> = data::search_requests(COUNT).collect();
    let mut stream = Vec::new();
    for m in &messages {
        m.encode_frame(&mut stream).unwrap();
    }
    println!(
        "distributed stream: {COUNT} search requests, {} bytes",
        stream.len()
    );
    let mut copy = vec![0u8; stream.len()];
    let mut out = Vec::with_capacity(stream.len());

    let count = Throughput::Elements(COUNT as u64);
    let mut decode = || {
        let mut reader = FrameReader::<DistributedMessage>::new(Limits::DEFAULT);
        *reader.buffer_mut() = BytesMut::from(black_box(&stream[..]));
        let mut n = 0;
        while let Some(m) = reader.next_message().unwrap() {
            black_box(m);
            n += 1;
        }
        assert_eq!(n, COUNT);
    };
    let mut encode = || {
        out.clear();
        for m in black_box(&messages) {
            m.encode_frame(&mut out).unwrap();
        }
        black_box(&out);
    };
    let mut copy_stream = || memcpy(&stream, &mut copy);
    let mut g = Group::new(c, "distributed_search_1m", count.clone());
    g.bench("decode_stream", &mut decode);
    g.bench("encode_stream", &mut encode);
    g.bench("memcpy", &mut copy_stream);
    g.finish();

    if ratios_wanted("distributed") {
        let what = "1M distributed searches: decode";
        ratio(
            what,
            count.clone(),
            None,
            7,
            &mut decode,
            "memcpy",
            &mut copy_stream,
        );
        let what = "1M distributed searches: encode";
        ratio(
            what,
            count,
            None,
            7,
            &mut encode,
            "memcpy",
            &mut copy_stream,
        );
    }
}

/// Whether the ratio rows of `group` should run: always, unless a filter on
/// the command line names other groups.
fn ratios_wanted(group: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty()
        || filters
            .iter()
            .any(|f| group.contains(f.as_str()) || f.contains(group))
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    shares(&mut c);
    search_reply(&mut c);
    join_room(&mut c);
    distributed_stream(&mut c);
    c.final_summary();
    report();
}
