//! Streaming a file over loopback TCP and in-memory pipes: resume, the
//! announced size as a contract, stalls, offsets, names, rate limits.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use slsk_proto::peer::PeerTransferRequest;
use slsk_proto::tables::TransferDirection;
use slsk_transfers::{
    DownloadConfig, DownloadError, DownloadId, DownloadJob, DownloadManager, DownloadOutput,
    DownloadState, DownloadStore, Progress, RateLimiter, StreamConfig, UploadError, download,
    upload,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(30);

/// Deterministic, incompressible-looking bytes (xorshift).
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), server.unwrap().0)
}

fn job(dir: &Path, size: u64) -> DownloadJob {
    DownloadJob {
        id: DownloadId(1),
        ticket: 1,
        size,
        partial: dir.join("incomplete/INCOMPLETE song.flac"),
        destination: dir.join("dl/Album/song.flac"),
        restart: false,
    }
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A misbehaving uploader: reads the offset, sends `bytes`, then keeps the
/// connection open until the other side closes.
async fn fake_uploader(mut conn: DuplexStream, bytes: Vec<u8>) -> u64 {
    let offset = conn.read_u64_le().await.unwrap();
    conn.write_all(&bytes).await.unwrap();
    let mut sink = [0u8; 64];
    while let Ok(n) = conn.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
    offset
}

#[tokio::test]
async fn resume_from_a_partial_file_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let source = data(3 * 1024 * 1024 + 17, 1);
    let shared = dir.path().join("share/song.flac");
    write_file(&shared, &source);
    let job = job(dir.path(), source.len() as u64);
    let resumed_from = 1_000_003;
    write_file(&job.partial, &source[..resumed_from]);

    let (downloader, uploader) = tcp_pair().await;
    let config = StreamConfig::default();
    let mut reports: Vec<Progress> = Vec::new();
    let (down, up) = timeout(DEADLINE, async {
        let mut downloader = downloader;
        let mut uploader = uploader;
        tokio::join!(
            async {
                let result = download(&mut downloader, &job, &config, |p| reports.push(p)).await;
                drop(downloader); // the downloader closes first
                result
            },
            upload(
                &mut uploader,
                &shared,
                source.len() as u64,
                &config,
                None,
                |_| {}
            ),
        )
    })
    .await
    .unwrap();
    let path = down.unwrap();
    let outcome = up.unwrap();
    assert_eq!(path, job.destination);
    assert_eq!(outcome.offset, resumed_from as u64);
    assert_eq!(outcome.sent, (source.len() - resumed_from) as u64);
    assert_eq!(sha256(&std::fs::read(&path).unwrap()), sha256(&source));
    assert!(!job.partial.exists());
    let last = reports.last().unwrap();
    assert_eq!(
        (last.bytes, last.size),
        (source.len() as u64, source.len() as u64)
    );
}

#[tokio::test]
async fn more_bytes_than_announced_are_cut_off_and_fail() {
    for buffer_size in [128 * 1024, 1000] {
        let dir = tempfile::tempdir().unwrap();
        let job = job(dir.path(), 1000);
        let (mut downloader, uploader) = duplex(64 * 1024);
        let config = StreamConfig {
            buffer_size,
            ..StreamConfig::default()
        };
        let peer = tokio::spawn(fake_uploader(uploader, data(1005, 2)));
        let result = timeout(DEADLINE, download(&mut downloader, &job, &config, |_| {}))
            .await
            .unwrap();
        assert!(
            matches!(result, Err(DownloadError::Overrun { size: 1000 })),
            "{result:?}"
        );
        drop(downloader);
        assert_eq!(timeout(DEADLINE, peer).await.unwrap().unwrap(), 0);
        assert!(!job.destination.exists(), "the final file never appears");
        assert!(!job.partial.exists(), "suspect bytes are not kept");
    }
}

#[tokio::test]
async fn fewer_bytes_then_eof_keeps_the_partial_file_for_resuming() {
    let dir = tempfile::tempdir().unwrap();
    let source = data(200_000, 3);
    let job = job(dir.path(), source.len() as u64);
    let config = StreamConfig::default();
    // First attempt: the uploader sends 70 000 bytes and closes.
    let (mut downloader, mut uploader) = duplex(64 * 1024);
    let first = source[..70_000].to_vec();
    let peer = tokio::spawn(async move {
        let offset = uploader.read_u64_le().await.unwrap();
        uploader.write_all(&first).await.unwrap();
        offset
    });
    let result = timeout(DEADLINE, download(&mut downloader, &job, &config, |_| {}))
        .await
        .unwrap();
    assert!(
        matches!(
            result,
            Err(DownloadError::Truncated {
                received: 70_000,
                size: 200_000
            })
        ),
        "{result:?}"
    );
    assert_eq!(peer.await.unwrap(), 0);
    assert_eq!(std::fs::metadata(&job.partial).unwrap().len(), 70_000);
    assert!(!job.destination.exists());
    // Second attempt resumes at 70 000 with a real uploader over TCP.
    let shared = dir.path().join("share/x");
    write_file(&shared, &source);
    let (mut downloader, mut uploader) = tcp_pair().await;
    let (down, up) = timeout(DEADLINE, async {
        tokio::join!(
            async {
                let r = download(&mut downloader, &job, &config, |_| {}).await;
                drop(downloader);
                r
            },
            upload(&mut uploader, &shared, 200_000, &config, None, |_| {})
        )
    })
    .await
    .unwrap();
    assert_eq!(up.unwrap().offset, 70_000);
    assert_eq!(
        sha256(&std::fs::read(down.unwrap()).unwrap()),
        sha256(&source)
    );
}

#[tokio::test]
async fn a_silent_uploader_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let job = job(dir.path(), 1000);
    let (mut downloader, uploader) = duplex(64 * 1024);
    let config = StreamConfig {
        stall_timeout: Duration::from_millis(200),
        ..StreamConfig::default()
    };
    // It sends 10 bytes, then nothing, without closing.
    let peer = tokio::spawn(fake_uploader(uploader, data(10, 4)));
    let result = timeout(DEADLINE, download(&mut downloader, &job, &config, |_| {}))
        .await
        .unwrap();
    assert!(
        matches!(result, Err(DownloadError::Stalled { received: 10 })),
        "{result:?}"
    );
    drop(downloader);
    timeout(DEADLINE, peer).await.unwrap().unwrap();
    assert_eq!(std::fs::metadata(&job.partial).unwrap().len(), 10);
}

#[tokio::test]
async fn offsets_never_go_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let config = StreamConfig::default();
    // Uploader: an offset past the end is refused.
    let shared = dir.path().join("share/x");
    write_file(&shared, &data(100, 5));
    let (mut downloader, mut uploader) = duplex(1024);
    downloader.write_all(&101u64.to_le_bytes()).await.unwrap();
    let result = timeout(
        DEADLINE,
        upload(&mut uploader, &shared, 100, &config, None, |_| {}),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            result,
            Err(UploadError::OffsetPastEnd {
                offset: 101,
                size: 100
            })
        ),
        "{result:?}"
    );
    // An offset exactly at the end sends nothing and succeeds.
    let (mut downloader, mut uploader) = duplex(1024);
    downloader.write_all(&100u64.to_le_bytes()).await.unwrap();
    drop(downloader);
    let outcome = timeout(
        DEADLINE,
        upload(&mut uploader, &shared, 100, &config, None, |_| {}),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((outcome.offset, outcome.sent), (100, 0));

    // Downloader: a partial file longer than the file restarts at 0.
    let job = job(dir.path(), 50);
    write_file(&job.partial, &data(80, 6));
    let (mut downloader, uploader) = duplex(1024);
    let body = data(50, 7);
    let peer = tokio::spawn(fake_uploader(uploader, body.clone()));
    let path = timeout(DEADLINE, download(&mut downloader, &job, &config, |_| {}))
        .await
        .unwrap()
        .unwrap();
    drop(downloader);
    assert_eq!(peer.await.unwrap(), 0);
    assert_eq!(std::fs::read(path).unwrap(), body);

    // A complete partial file: offset = size, nothing to receive.
    let job = DownloadJob {
        destination: dir.path().join("dl/other.bin"),
        ..job
    };
    write_file(&job.partial, &body);
    let (mut downloader, uploader) = duplex(1024);
    let peer = tokio::spawn(fake_uploader(uploader, Vec::new()));
    let path = timeout(DEADLINE, download(&mut downloader, &job, &config, |_| {}))
        .await
        .unwrap()
        .unwrap();
    drop(downloader);
    assert_eq!(peer.await.unwrap(), 50);
    assert_eq!(std::fs::read(path).unwrap(), body);
}

#[tokio::test]
async fn restart_flag_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut job = job(dir.path(), 40);
    job.restart = true;
    write_file(&job.partial, &data(20, 8));
    let (mut downloader, uploader) = duplex(1024);
    let body = data(40, 9);
    let peer = tokio::spawn(fake_uploader(uploader, body.clone()));
    let path = timeout(
        DEADLINE,
        download(&mut downloader, &job, &StreamConfig::default(), |_| {}),
    )
    .await
    .unwrap()
    .unwrap();
    drop(downloader);
    assert_eq!(peer.await.unwrap(), 0);
    assert_eq!(std::fs::read(path).unwrap(), body);
}

#[tokio::test]
async fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let job = job(dir.path(), 30);
    write_file(&job.destination, b"keep me");
    let numbered = job.destination.with_file_name("song (1).flac");
    write_file(&numbered, b"and me");
    let (mut downloader, uploader) = duplex(1024);
    let body = data(30, 10);
    let peer = tokio::spawn(fake_uploader(uploader, body.clone()));
    let path = timeout(
        DEADLINE,
        download(&mut downloader, &job, &StreamConfig::default(), |_| {}),
    )
    .await
    .unwrap()
    .unwrap();
    drop(downloader);
    peer.await.unwrap();
    assert_eq!(path, job.destination.with_file_name("song (2).flac"));
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(std::fs::read(&job.destination).unwrap(), b"keep me");
    assert_eq!(std::fs::read(&numbered).unwrap(), b"and me");
}

#[tokio::test]
async fn the_uploader_lingers_a_bounded_time_for_the_close() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("x");
    write_file(&shared, &data(10, 11));
    let config = StreamConfig {
        linger: Duration::from_millis(300),
        ..StreamConfig::default()
    };
    // A downloader that never closes: the upload still ends, after linger.
    let (mut downloader, mut uploader) = duplex(1024);
    downloader.write_all(&0u64.to_le_bytes()).await.unwrap();
    let started = Instant::now();
    let outcome = timeout(
        DEADLINE,
        upload(&mut uploader, &shared, 10, &config, None, |_| {}),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(outcome.sent, 10);
    let mut got = [0u8; 10];
    downloader.read_exact(&mut got).await.unwrap();
    assert_eq!(got.to_vec(), data(10, 11));
    // A file that is not the announced size is a file error.
    let (mut downloader, mut uploader) = duplex(1024);
    downloader.write_all(&0u64.to_le_bytes()).await.unwrap();
    let result = upload(&mut uploader, &shared, 11, &config, None, |_| {}).await;
    assert!(matches!(result, Err(UploadError::File(_))), "{result:?}");
}

#[tokio::test]
async fn uploads_respect_the_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let body = data(600_000, 12);
    let shared = dir.path().join("x");
    write_file(&shared, &body);
    // 400 kB/s with a full one-second bucket: the last 200 kB take 0.5 s.
    let limiter = RateLimiter::new(400_000);
    let (mut downloader, mut uploader) = tcp_pair().await;
    let config = StreamConfig::default();
    let started = Instant::now();
    let (got, up) = timeout(DEADLINE, async {
        tokio::join!(
            async {
                downloader.write_all(&0u64.to_le_bytes()).await.unwrap();
                let mut got = vec![0u8; body.len()];
                downloader.read_exact(&mut got).await.unwrap();
                drop(downloader);
                got
            },
            upload(
                &mut uploader,
                &shared,
                body.len() as u64,
                &config,
                Some(&limiter),
                |_| {}
            )
        )
    })
    .await
    .unwrap();
    assert_eq!(got, body);
    assert_eq!(up.unwrap().sent, 600_000);
    assert!(started.elapsed() >= Duration::from_millis(450));
}

#[tokio::test]
async fn progress_reports_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let size = 8 * 1024 * 1024;
    let body = data(size, 13);
    let shared = dir.path().join("x");
    write_file(&shared, &body);
    let job = job(dir.path(), size as u64);
    let config = StreamConfig {
        buffer_size: 4096,
        progress_interval: Duration::from_millis(100),
        ..StreamConfig::default()
    };
    let (mut downloader, mut uploader) = tcp_pair().await;
    let mut reports = Vec::new();
    let started = Instant::now();
    let (down, up) = timeout(DEADLINE, async {
        tokio::join!(
            async {
                let r = download(&mut downloader, &job, &config, |p| reports.push(p)).await;
                drop(downloader);
                r
            },
            upload(&mut uploader, &shared, size as u64, &config, None, |_| {})
        )
    })
    .await
    .unwrap();
    down.unwrap();
    up.unwrap();
    let allowed = started.elapsed().as_millis() / 100 + 2;
    assert!(
        reports.len() as u128 <= allowed,
        "{} reports in {:?}",
        reports.len(),
        started.elapsed()
    );
    assert!(reports.windows(2).all(|w| w[0].bytes <= w[1].bytes));
    assert_eq!(reports.last().unwrap().bytes, size as u64);
}

/// The whole path: queue, offer, a stream cut short, a restart from
/// SQLite, the offer again, a resumed stream, a byte-identical file.
#[tokio::test]
async fn restart_resumes_through_store_manager_and_stream() {
    let dir = tempfile::tempdir().unwrap();
    let source = data(500_000, 14);
    let shared = dir.path().join("share/track.flac");
    write_file(&shared, &source);
    let db = dir.path().join("downloads.db");
    let remote = "@@x\\Music\\Album\\track.flac";
    let config = DownloadConfig::new(dir.path().join("dl"), dir.path().join("incomplete"));
    let stream_config = StreamConfig::default();
    let offer = |ticket| PeerTransferRequest {
        direction: TransferDirection::Upload,
        ticket,
        filename: remote.into(),
        filesize: Some(source.len() as u64),
    };
    let persist = |m: &mut DownloadManager, store: &DownloadStore| {
        while let Some(output) = m.poll_output() {
            if let DownloadOutput::Changed(id) = output {
                store.save(&m.record(id).unwrap()).unwrap();
            }
        }
    };
    let now = Instant::now();
    let id;
    {
        let store = DownloadStore::open(&db).unwrap();
        let mut m = DownloadManager::new(config.clone());
        id = m.enqueue("alice", remote, Some(source.len() as u64), now);
        m.on_transfer_request("alice", &offer(1), now);
        let job = m.on_file_connection("alice", 1, now).unwrap();
        persist(&mut m, &store);
        // 123 456 bytes arrive, then the process dies.
        let (mut downloader, mut uploader) = duplex(64 * 1024);
        let part = source[..123_456].to_vec();
        tokio::spawn(async move {
            uploader.read_u64_le().await.unwrap();
            uploader.write_all(&part).await.unwrap();
        });
        let result = timeout(
            DEADLINE,
            download(&mut downloader, &job, &stream_config, |_| {}),
        )
        .await
        .unwrap();
        assert!(matches!(result, Err(DownloadError::Truncated { .. })));
    }
    let store = DownloadStore::open(&db).unwrap();
    let mut m = DownloadManager::new(config);
    m.restore(store.load().unwrap(), now);
    persist(&mut m, &store);
    assert_eq!(
        m.get(id).unwrap().state,
        DownloadState::QueuedRemotely { place: None }
    );
    m.on_transfer_request("alice", &offer(2), now);
    let job = m.on_file_connection("alice", 2, now).unwrap();
    let (mut downloader, mut uploader) = tcp_pair().await;
    let (down, up) = timeout(DEADLINE, async {
        tokio::join!(
            async {
                let r = download(&mut downloader, &job, &stream_config, |_| {}).await;
                drop(downloader);
                r
            },
            upload(
                &mut uploader,
                &shared,
                source.len() as u64,
                &stream_config,
                None,
                |_| {}
            )
        )
    })
    .await
    .unwrap();
    assert_eq!(up.unwrap().offset, 123_456);
    let path: PathBuf = down.unwrap();
    assert_eq!(path, dir.path().join("dl/Album/track.flac"));
    assert_eq!(sha256(&std::fs::read(&path).unwrap()), sha256(&source));
    m.on_finished(id, 2, Ok(path.clone()), now);
    persist(&mut m, &store);
    assert_eq!(m.get(id).unwrap().state, DownloadState::Completed { path });
}
