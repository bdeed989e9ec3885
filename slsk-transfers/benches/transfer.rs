//! A 1 GiB file through `upload` and `download` over loopback TCP, against
//! a plain tokio copy of the same bytes (file to socket to file, with the
//! same buffer size) in the same run. Not part of the test suite.
//!
//! `cargo bench -p slsk-transfers --bench transfer` (`SLSK_BENCH_MIB` sets
//! the size, `SLSK_BENCH_DIR` the folder; /dev/shm by default when it
//! exists, so the disk does not drown the difference).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slsk_transfers::{DownloadId, DownloadJob, StreamConfig, download, upload};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, copy_buf};
use tokio::net::{TcpListener, TcpStream};

const RUNS: usize = 5;

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), server.unwrap().0)
}

/// Peak resident memory of this process so far (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn make_source(path: &Path, size: u64) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    let mut written = 0;
    while written < size {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let n = (size - written).min(block.len() as u64) as usize;
        file.write_all(&block[..n]).unwrap();
        written += n as u64;
    }
    file.flush().unwrap();
}

/// The plain copy: the same offset exchange, then `copy_buf` both ways.
async fn plain_copy(source: &Path, target: &Path, buffer: usize) -> Duration {
    let (mut downloader, uploader) = tcp_pair().await;
    let source = source.to_path_buf();
    let target = target.to_path_buf();
    let started = Instant::now();
    let up = tokio::spawn(async move {
        let mut uploader = uploader;
        let _offset = uploader.read_u64_le().await.unwrap();
        let mut file =
            BufReader::with_capacity(buffer, tokio::fs::File::open(source).await.unwrap());
        copy_buf(&mut file, &mut uploader).await.unwrap();
        uploader.flush().await.unwrap();
    });
    let down = tokio::spawn(async move {
        downloader.write_all(&0u64.to_le_bytes()).await.unwrap();
        let mut file = tokio::fs::File::create(&target).await.unwrap();
        let mut reader = BufReader::with_capacity(buffer, downloader);
        copy_buf(&mut reader, &mut file).await.unwrap();
        file.flush().await.unwrap();
        file.sync_all().await.unwrap();
    });
    down.await.unwrap();
    up.await.unwrap();
    started.elapsed()
}

/// The same bytes through `upload` and `download`.
async fn slsk_copy(source: &Path, dir: &Path, size: u64, config: &StreamConfig) -> Duration {
    let (mut downloader, mut uploader) = tcp_pair().await;
    let job = DownloadJob {
        id: DownloadId(1),
        ticket: 1,
        size,
        partial: dir.join("incomplete/bench.bin"),
        destination: dir.join("done/bench.bin"),
        restart: true,
    };
    let source = source.to_path_buf();
    let up_config = config.clone();
    let started = Instant::now();
    let up = tokio::spawn(async move {
        upload(&mut uploader, &source, size, &up_config, None, |_| {})
            .await
            .unwrap()
    });
    // Both sides on the runtime's workers, as in the plain copy.
    let config = config.clone();
    let down = tokio::spawn(async move {
        let mut reports = 0u32;
        let path = download(&mut downloader, &job, &config, |_| reports += 1)
            .await
            .unwrap();
        drop(downloader);
        assert!(reports >= 1);
        path
    });
    let path = down.await.unwrap();
    let elapsed = started.elapsed();
    up.await.unwrap();
    std::fs::remove_file(path).unwrap();
    elapsed
}

fn mib_per_s(size: u64, elapsed: Duration) -> f64 {
    size as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
}

fn bench_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SLSK_BENCH_DIR") {
        return dir.into();
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let mib: u64 = std::env::var("SLSK_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = mib * 1024 * 1024;
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = StreamConfig::default();

    // Memory first with a small file, to compare with the big one.
    let small = dir.path().join("small.bin");
    make_source(&small, 16 * 1024 * 1024);
    runtime.block_on(slsk_copy(&small, dir.path(), 16 * 1024 * 1024, &config));
    let rss_small = peak_rss_kib();

    let source = dir.path().join("source.bin");
    make_source(&source, size);
    // One big run of ours alone, before the plain copy touches memory; it
    // and one plain run are warm-ups, not counted.
    runtime.block_on(slsk_copy(&source, dir.path(), size, &config));
    let rss_big = peak_rss_kib();
    let target = dir.path().join("plain.bin");
    runtime.block_on(plain_copy(&source, &target, config.buffer_size));
    std::fs::remove_file(&target).unwrap();
    let mut plain = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..RUNS {
        plain.push(runtime.block_on(plain_copy(&source, &target, config.buffer_size)));
        std::fs::remove_file(&target).unwrap();
        ours.push(runtime.block_on(slsk_copy(&source, dir.path(), size, &config)));
    }
    let rss_all = peak_rss_kib();
    let best = |v: &[Duration]| *v.iter().min().unwrap();
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "file: {mib} MiB in {}, buffer {} KiB, {RUNS} runs each",
        dir.path().display(),
        config.buffer_size / 1024
    );
    for (name, runs) in [
        ("plain tokio copy", &plain),
        ("slsk upload+download", &ours),
    ] {
        println!(
            "{name:>22}: best {:7.0} MiB/s, median {:7.0} MiB/s ({:?})",
            mib_per_s(size, best(runs)),
            mib_per_s(size, median(runs)),
            runs.iter()
                .map(|d| format!("{:.2}s", d.as_secs_f64()))
                .collect::<Vec<_>>(),
        );
    }
    println!(
        "ratio (slsk / plain): best {:.1}%, median {:.1}%",
        100.0 * best(&plain).as_secs_f64() / best(&ours).as_secs_f64(),
        100.0 * median(&plain).as_secs_f64() / median(&ours).as_secs_f64(),
    );
    if let (Some(small), Some(big), Some(all)) = (rss_small, rss_big, rss_all) {
        println!(
            "peak RSS: {small} KiB after 16 MiB, {big} KiB after {mib} MiB (slsk only), \
             {all} KiB after every run"
        );
    }
}
