//! What the transfer benchmarks share: where the data goes, sparse
//! sources, a client that downloads, one timed download, and MiB/s.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slsk_net::client::{
    Client, ClientConfig, DownloadState, Event, Events, TransferEvent, TransferSettings,
};
use slsk_server::{Database, PasswordCost, Server, ServerConfig};

/// `SLSK_BENCH_DIR`, else /dev/shm (no disk in the measurement), else the
/// temporary folder.
pub fn bench_dir() -> PathBuf {
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

/// The runtime every benchmark runs on: two workers, as the machine has
/// two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Our server on a free port of 127.0.0.1, in memory, with the test
/// password cost.
pub async fn start_server() -> Server {
    Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Database::InMemory,
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    })
    .await
    .expect("the server starts")
}

/// A sparse file of `size` bytes (zeros, no blocks written).
pub fn sparse(path: &Path, size: u64) {
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
}

/// A client of `server` named `name` (password "secret"), downloading
/// under `dir`, not reconnecting.
pub fn client_config(server: &Server, name: &str, dir: &Path) -> ClientConfig {
    let mut config = ClientConfig::new(server.local_addr().to_string(), name, "secret");
    config.reconnect.enabled = false;
    config.transfers = Some(TransferSettings::new(
        dir.join("downloads"),
        dir.join("incomplete"),
    ));
    config
}

/// `client` downloads `remote_path` from `from`: the time from
/// `Client::download` to the completed file, whose size is checked (the
/// file is removed after). Panics if the download fails or takes longer
/// than `wait`.
pub async fn timed_download(
    client: &Client,
    events: &mut Events,
    from: &str,
    remote_path: &str,
    size: u64,
    wait: Duration,
) -> Duration {
    let started = Instant::now();
    let id = client
        .download(from, remote_path, Some(size))
        .await
        .unwrap();
    let path = tokio::time::timeout(wait, async {
        loop {
            match events.recv().await.expect("events go on") {
                Event::Transfer(TransferEvent::DownloadChanged { id: c, state, .. }) if c == id => {
                    match state {
                        DownloadState::Completed { path } => return path,
                        DownloadState::Failed { reason } => panic!("download failed: {reason}"),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the download ends in time");
    let elapsed = started.elapsed();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    std::fs::remove_file(path).unwrap();
    elapsed
}

pub fn mib_per_s(size: u64, elapsed: Duration) -> f64 {
    size as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
}
