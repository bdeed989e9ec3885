//! The same file downloaded four ways over loopback through our server,
//! side by side: our client from our client, our client from aioslsk 1.7.1,
//! aioslsk from our client, and aioslsk from aioslsk. Each time is from the
//! download call to the completed file. Not part of the test suite; see
//! docs/performance.md, "Transfers".
//!
//! `cargo bench -p slsk-tests --bench aioslsk_transfers` (needs the live
//! aioslsk venv of the tests, made on first use from PyPI;
//! `SLSK_BENCH_MIB` sets the size, default 256; `SLSK_BENCH_DIR` the
//! folder, default /dev/shm). The sources are sparse files; everything is
//! written in a temporary directory removed at the end.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bench_dir, client_config, mib_per_s, runtime, sparse, start_server, timed_download};
use slsk_net::client::{Client, SharedFile};
use slsk_server::Server;
use support::aioslsk_peer::{AioslskPeer, PeerOptions, StartOptions};

/// Measured downloads per way.
const RUNS: u32 = 2;
/// No single wait of the bench may take longer.
const WAIT: Duration = Duration::from_secs(900);

/// aioslsk downloads `remote_path` from `from`; the time to its
/// `transfer_complete` (the file removed after).
async fn aioslsk_download(
    peer: &AioslskPeer,
    from: &str,
    remote_path: &str,
    size: u64,
) -> Duration {
    let started = Instant::now();
    peer.download(from, remote_path).await.unwrap();
    let done = peer
        .next_event(
            |e| {
                e["remote_path"] == remote_path
                    && ["transfer_complete", "transfer_failed", "transfer_aborted"]
                        .contains(&e["event"].as_str().unwrap_or(""))
            },
            WAIT,
        )
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(done["event"], "transfer_complete", "{done}");
    let local = done["local_path"].as_str().unwrap();
    assert_eq!(std::fs::metadata(local).unwrap().len(), size);
    std::fs::remove_file(local).unwrap();
    // Its progress events are not needed.
    peer.drain_events();
    elapsed
}

async fn aioslsk(name: &str, server: &Server, dir: &Path, shared: Option<&Path>) -> AioslskPeer {
    let mut options = PeerOptions::named(name);
    options.deadline = Duration::from_secs(3600);
    options.log_level = "WARNING".into();
    let peer = AioslskPeer::spawn(options).await.unwrap();
    let downloads = dir.join(format!("{name}-downloads"));
    std::fs::create_dir_all(&downloads).unwrap();
    let mut start = StartOptions::new(name, "secret", server.local_addr().port(), &downloads);
    start.scan_on_start = shared.is_some();
    start.shared_dirs = shared.into_iter().map(Path::to_path_buf).collect();
    peer.start(&start).await.unwrap();
    if shared.is_some() {
        peer.event("scan_complete", WAIT).await.unwrap();
    }
    peer.login().await.unwrap();
    peer
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let mib: u64 = std::env::var("SLSK_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let size = mib * 1024 * 1024;
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let ours_source = dir.path().join("ours.bin");
    sparse(&ours_source, size);
    // aioslsk shares one sparse file per run (a completed download is not
    // fetched again under the same name).
    let py_shared = dir.path().join("py-shared");
    std::fs::create_dir_all(&py_shared).unwrap();
    for run in 0..=2 * RUNS {
        sparse(&py_shared.join(format!("{run}.bin")), size);
    }
    let runtime = runtime();

    runtime.block_on(async {
        let server = start_server().await;
        let mut up_config = client_config(&server, "rust-up", &dir.path().join("rust-up"));
        let source = ours_source.clone();
        up_config.transfers.as_mut().unwrap().resolver = Arc::new(move |path: &str| {
            path.strip_prefix("@@bench\\")?
                .strip_suffix(".bin")?
                .parse::<u32>()
                .ok()?;
            Some(SharedFile {
                path: source.clone(),
                size,
            })
        });
        let (rust_up, mut up_events) = Client::connect(up_config).await.unwrap();
        tokio::spawn(async move { while up_events.recv().await.is_some() {} });
        let (rust_dl, mut events) = Client::connect(client_config(
            &server,
            "rust-dl",
            &dir.path().join("rust-dl"),
        ))
        .await
        .unwrap();
        let py_up = aioslsk("py-up", &server, dir.path(), Some(&py_shared)).await;
        let py_dl = aioslsk("py-dl", &server, dir.path(), None).await;
        let listed = py_up.list_shares().await.unwrap();
        let py_dir = listed["directories"][0]["name"]
            .as_str()
            .unwrap()
            .to_owned();

        // Our names and aioslsk's, a new one per download.
        let mut ours_run = 0u32;
        let mut ours_path = || {
            ours_run += 1;
            format!("@@bench\\{ours_run}.bin")
        };
        let mut py_run = 0u32;
        let mut py_path = || {
            py_run += 1;
            format!("{py_dir}\\{py_run}.bin")
        };
        let mut times: [Vec<Duration>; 4] = Default::default();
        for _ in 0..RUNS {
            times[0].push(
                timed_download(&rust_dl, &mut events, "rust-up", &ours_path(), size, WAIT).await,
            );
            times[1]
                .push(timed_download(&rust_dl, &mut events, "py-up", &py_path(), size, WAIT).await);
            times[2].push(aioslsk_download(&py_dl, "rust-up", &ours_path(), size).await);
            times[3].push(aioslsk_download(&py_dl, "py-up", &py_path(), size).await);
        }
        println!(
            "file: {mib} MiB (sparse) in {}, {RUNS} runs each",
            dir.path().display()
        );
        let names = [
            "our client from our client",
            "our client from aioslsk",
            "aioslsk from our client",
            "aioslsk from aioslsk",
        ];
        for (name, runs) in names.iter().zip(&times) {
            let best = runs.iter().min().unwrap();
            println!(
                "{name:>27}: best {:6.0} MiB/s ({:?})",
                mib_per_s(size, *best),
                runs.iter()
                    .map(|d| format!("{:.2}s", d.as_secs_f64()))
                    .collect::<Vec<_>>(),
            );
        }
        for peer in [&py_up, &py_dl] {
            let _ = peer.stop().await;
        }
        rust_dl.shutdown().await;
        rust_up.shutdown().await;
        server.shutdown().await;
    });
    drop(runtime);
    dir.close().unwrap();
}
