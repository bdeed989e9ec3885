//! A whole client-to-client download of a 1 GiB file over loopback, through
//! `Client::download` (our server brokering, the queue, the offer, the file
//! connection, the stream, the move to the final name), against a plain
//! tokio TCP copy of the same bytes measured in the same run. Not part of
//! the test suite; see docs/performance.md, "Transfers".
//!
//! `cargo bench -p slsk-tests --bench client_download` (`SLSK_BENCH_MIB`
//! sets the size, default 1024; `SLSK_BENCH_DIR` the folder, default
//! /dev/shm when it exists so that the disk does not drown the difference).
//! The source is a sparse file; everything is written in a temporary
//! directory removed at the end.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use slsk_net::client::{Client, SharedFile};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, copy_buf};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::{bench_dir, client_config, mib_per_s, runtime, sparse, start_server, timed_download};

/// Measured rounds (after one warm-up of each).
const RUNS: usize = 3;
/// The buffer of the plain copy: the size `slsk-transfers` streams with.
const BUFFER: usize = 128 * 1024;
/// No single wait of the bench may take longer.
const WAIT: Duration = Duration::from_secs(600);

/// Peak resident memory of this process so far (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The reference: file to socket to file over loopback with tokio's
/// `copy_buf`, the offset exchange first and `sync_all` last, as a download.
async fn plain_copy(source: &Path, target: &Path) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let source = source.to_path_buf();
    let target = target.to_path_buf();
    let started = Instant::now();
    let up = tokio::spawn(async move {
        let (mut uploader, _) = listener.accept().await.unwrap();
        let _offset = uploader.read_u64_le().await.unwrap();
        let mut file =
            BufReader::with_capacity(BUFFER, tokio::fs::File::open(source).await.unwrap());
        copy_buf(&mut file, &mut uploader).await.unwrap();
        uploader.flush().await.unwrap();
    });
    let written = target.clone();
    let down = tokio::spawn(async move {
        let mut downloader = TcpStream::connect(addr).await.unwrap();
        downloader.write_all(&0u64.to_le_bytes()).await.unwrap();
        let mut file = tokio::fs::File::create(&written).await.unwrap();
        let mut reader = BufReader::with_capacity(BUFFER, downloader);
        copy_buf(&mut reader, &mut file).await.unwrap();
        file.flush().await.unwrap();
        file.sync_all().await.unwrap();
    });
    down.await.unwrap();
    let elapsed = started.elapsed();
    up.await.unwrap();
    std::fs::remove_file(target).unwrap();
    elapsed
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let mib: u64 = std::env::var("SLSK_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = mib * 1024 * 1024;
    let small = 16 * 1024 * 1024;
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let source = dir.path().join("source.bin");
    sparse(&source, size);
    let small_source = dir.path().join("small.bin");
    sparse(&small_source, small);
    let runtime = runtime();

    runtime.block_on(async {
        let server = start_server().await;
        // The uploader shares `@@bench\small.bin` and any `@@bench\<n>.bin`
        // as the big source (a new name per run: a completed download is
        // not downloaded again).
        let mut uploader_config = client_config(&server, "uploader", &dir.path().join("up"));
        uploader_config.transfers.as_mut().unwrap().upload_slots = 1;
        let (big, little) = (source.clone(), small_source.clone());
        uploader_config.transfers.as_mut().unwrap().resolver = Arc::new(move |path: &str| {
            let name = path.strip_prefix("@@bench\\")?;
            if name == "small.bin" {
                return Some(SharedFile {
                    path: little.clone(),
                    size: small,
                });
            }
            name.strip_suffix(".bin")?.parse::<u32>().ok()?;
            Some(SharedFile {
                path: big.clone(),
                size,
            })
        });
        let (uploader, mut uploader_events) = Client::connect(uploader_config).await.unwrap();
        // Its events are read, or its session would wait for room.
        tokio::spawn(async move { while uploader_events.recv().await.is_some() {} });
        let (downloader, mut events) = Client::connect(client_config(
            &server,
            "downloader",
            &dir.path().join("down"),
        ))
        .await
        .unwrap();

        timed_download(
            &downloader,
            &mut events,
            "uploader",
            "@@bench\\small.bin",
            small,
            WAIT,
        )
        .await;
        let rss_small = peak_rss_kib();
        // Warm-ups, not counted: ours first, so the peak RSS after it is
        // ours alone.
        let mut run = 0u32;
        let mut next_path = || {
            run += 1;
            format!("@@bench\\{run}.bin")
        };
        timed_download(
            &downloader,
            &mut events,
            "uploader",
            &next_path(),
            size,
            WAIT,
        )
        .await;
        let rss_big = peak_rss_kib();
        let target = dir.path().join("plain.bin");
        plain_copy(&source, &target).await;

        let mut plain = Vec::new();
        let mut ours = Vec::new();
        for _ in 0..RUNS {
            plain.push(plain_copy(&source, &target).await);
            ours.push(
                timed_download(
                    &downloader,
                    &mut events,
                    "uploader",
                    &next_path(),
                    size,
                    WAIT,
                )
                .await,
            );
        }
        let best = |v: &[Duration]| *v.iter().min().unwrap();
        let median = |v: &[Duration]| {
            let mut v = v.to_vec();
            v.sort();
            v[v.len() / 2]
        };
        println!(
            "file: {mib} MiB (sparse) in {}, {RUNS} runs each",
            dir.path().display()
        );
        for (name, runs) in [("plain tokio copy", &plain), ("Client::download", &ours)] {
            println!(
                "{name:>17}: best {:7.0} MiB/s, median {:7.0} MiB/s ({:?})",
                mib_per_s(size, best(runs)),
                mib_per_s(size, median(runs)),
                runs.iter()
                    .map(|d| format!("{:.2}s", d.as_secs_f64()))
                    .collect::<Vec<_>>(),
            );
        }
        println!(
            "ratio (Client::download / plain): best {:.1}%, median {:.1}%",
            100.0 * best(&plain).as_secs_f64() / best(&ours).as_secs_f64(),
            100.0 * median(&plain).as_secs_f64() / median(&ours).as_secs_f64(),
        );
        if let (Some(small), Some(big)) = (rss_small, rss_big) {
            println!(
                "peak RSS (server and both clients): {small} KiB after 16 MiB, \
                 {big} KiB after {mib} MiB"
            );
        }
        downloader.shutdown().await;
        uploader.shutdown().await;
        server.shutdown().await;
    });
    drop(runtime);
    dir.close().unwrap();
}
