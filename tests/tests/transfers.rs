//! File transfers between our clients through our server on loopback: a
//! download over a direct and over an indirect file connection, a refusal
//! for a file that is not shared, ten concurrent downloads from three
//! uploaders within their upload slots, and a download interrupted by the
//! uploader going away that resumes after the downloader restarts on the
//! same SQLite queue and incomplete directory.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use slsk_net::client::{
    Client, ClientConfig, DownloadId, DownloadState, Event, Events, FailReason, QueueStorage,
    SharedFile, TransferEvent, TransferSettings,
};
use slsk_proto::tables::TransferRejectionReason;
use slsk_server::{Database, Server};
use support::network::{EVENT_WAIT, bounded, client_config, closed_port, login, start_server};
use tokio::sync::oneshot;

const TEST_LIMIT: Duration = Duration::from_secs(120);
const DOWNLOAD_WAIT: Duration = Duration::from_secs(60);

/// Bytes that differ from file to file.
fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[0] ^ seed)
        .collect()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Writes `files` (name, bytes) under `dir/shared` and returns a config
/// sharing them as `@@share\name`, downloading into `dir/downloads`.
fn transfer_config(
    server: &Server,
    username: &str,
    dir: &Path,
    files: &[(&str, &[u8])],
    queue: QueueStorage,
) -> ClientConfig {
    let shared_dir = dir.join("shared");
    std::fs::create_dir_all(&shared_dir).unwrap();
    let mut table = HashMap::new();
    for (name, bytes) in files {
        let path = shared_dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        table.insert(
            format!("@@share\\{name}"),
            SharedFile {
                path,
                size: bytes.len() as u64,
            },
        );
    }
    let mut settings = TransferSettings::new(dir.join("downloads"), dir.join("incomplete"));
    settings.queue = queue;
    settings.resolver = Arc::new(move |path: &str| table.get(path).cloned());
    let mut config = client_config(server, username);
    config.transfers = Some(settings);
    config
}

/// Waits until download `id` completes and returns its final path; a failure
/// fails the test.
async fn completed(events: &mut Events, id: DownloadId) -> PathBuf {
    let wait = async {
        while let Some(event) = events.recv().await {
            if let Event::Transfer(TransferEvent::DownloadChanged {
                id: changed, state, ..
            }) = event
                && changed == id
            {
                match state {
                    DownloadState::Completed { path } => return path,
                    DownloadState::Failed { reason } => panic!("download failed: {reason:?}"),
                    _ => {}
                }
            }
        }
        panic!("the event stream ended first");
    };
    tokio::time::timeout(DOWNLOAD_WAIT, wait)
        .await
        .expect("the download ends in time")
}

/// Waits until every download of `wanted` completes with the expected
/// SHA-256; returns how many did.
async fn all_completed(events: &mut Events, mut wanted: HashMap<DownloadId, [u8; 32]>) -> usize {
    let mut done = 0;
    let wait = async {
        while !wanted.is_empty() {
            match events.recv().await.expect("events go on") {
                Event::Transfer(TransferEvent::DownloadChanged {
                    id,
                    state: DownloadState::Completed { path },
                    ..
                }) => {
                    let digest = wanted.remove(&id).expect("a download of ours");
                    assert_eq!(sha256(&std::fs::read(&path).unwrap()), digest, "{path:?}");
                    done += 1;
                }
                Event::Transfer(TransferEvent::DownloadChanged {
                    state: DownloadState::Failed { reason },
                    ..
                }) => panic!("a download failed: {reason:?}"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(DOWNLOAD_WAIT, wait)
        .await
        .expect("every download ends in time");
    done
}

async fn check_download(downloader: (&Client, &mut Events), from: &str, name: &str, bytes: &[u8]) {
    let (client, events) = downloader;
    let id = client
        .download(from, &format!("@@share\\{name}"), Some(bytes.len() as u64))
        .await
        .unwrap();
    let path = completed(events, id).await;
    assert_eq!(sha256(&std::fs::read(&path).unwrap()), sha256(bytes));
}

#[tokio::test]
async fn a_download_over_a_direct_file_connection() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let file = content(1, 300_000);
        let bob_config = transfer_config(
            &server,
            "bob",
            &dir.path().join("bob"),
            &[("song.mp3", &file)],
            QueueStorage::Memory,
        );
        let (bob, _bob_events) = login(bob_config).await;
        let alice_config = transfer_config(
            &server,
            "alice",
            &dir.path().join("alice"),
            &[],
            QueueStorage::Memory,
        );
        let (alice, mut alice_events) = login(alice_config).await;

        check_download((&alice, &mut alice_events), "bob", "song.mp3", &file).await;
        // Bob dialled alice for the file connection.
        assert!(bob.peers().stats().dialled >= 1);
        // Both paths are tried at once; bob's one request won one way.
        let file = bob.peers().stats().file;
        assert_eq!(file.direct + file.indirect, 1, "{file:?}");
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_download_over_an_indirect_file_connection() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let file = content(2, 200_000);
        let (bob, _bob_events) = login(transfer_config(
            &server,
            "bob",
            &dir.path().join("bob"),
            &[("song.mp3", &file)],
            QueueStorage::Memory,
        ))
        .await;
        // Alice cannot be dialled: bob's file connection reaches her through
        // the server's ConnectToPeer, alice dialling bob.
        let mut alice_config = transfer_config(
            &server,
            "alice",
            &dir.path().join("alice"),
            &[],
            QueueStorage::Memory,
        );
        alice_config.advertised_port = Some(closed_port().await);
        let (alice, mut alice_events) = login(alice_config).await;

        check_download((&alice, &mut alice_events), "bob", "song.mp3", &file).await;
        assert!(alice.peers().stats().dialled >= 1);
        let paths = bob.peers().stats().file;
        assert_eq!((paths.indirect, paths.total()), (1, 1), "{paths:?}");
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_that_is_not_shared_is_refused_and_not_read() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let bob_dir = dir.path().join("bob");
        let (bob, mut bob_events) = login(transfer_config(
            &server,
            "bob",
            &bob_dir,
            &[("song.mp3", b"shared")],
            QueueStorage::Memory,
        ))
        .await;
        // On bob's disk, but not in what he shares.
        std::fs::write(bob_dir.join("secret.txt"), b"private").unwrap();
        let alice_dir = dir.path().join("alice");
        let (alice, mut alice_events) = login(transfer_config(
            &server,
            "alice",
            &alice_dir,
            &[],
            QueueStorage::Memory,
        ))
        .await;

        let id = alice
            .download("bob", "@@share\\..\\secret.txt", None)
            .await
            .unwrap();
        let reason = tokio::time::timeout(DOWNLOAD_WAIT, async {
            loop {
                if let Some(Event::Transfer(TransferEvent::DownloadChanged {
                    id: changed,
                    state: DownloadState::Failed { reason },
                    ..
                })) = alice_events.recv().await
                    && changed == id
                {
                    return reason;
                }
            }
        })
        .await
        .expect("the refusal comes in time");
        assert_eq!(
            reason,
            FailReason::Rejected(TransferRejectionReason::FileNotShared)
        );
        assert!(!alice_dir.join("downloads").exists());
        bob.shutdown().await;
        // Bob never started an upload.
        while let Some(event) = bob_events.try_recv() {
            assert!(
                !matches!(event, Event::Transfer(TransferEvent::UploadStarted { .. })),
                "{event:?}"
            );
        }
        alice.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

/// Counts an uploader's uploads under way until told to stop; returns the
/// most at once and how many completed.
fn count_uploads(
    mut events: Events,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<(usize, usize)>) {
    let (stop_tx, mut stop) = oneshot::channel();
    let task = tokio::spawn(async move {
        let (mut active, mut most, mut done) = (0usize, 0usize, 0usize);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                event = events.recv() => match event {
                    Some(Event::Transfer(TransferEvent::UploadStarted { .. })) => {
                        active += 1;
                        most = most.max(active);
                    }
                    Some(Event::Transfer(TransferEvent::UploadEnded { completed, .. })) => {
                        active = active.saturating_sub(1);
                        done += usize::from(completed);
                    }
                    Some(_) => {}
                    None => break,
                },
            }
        }
        (most, done)
    });
    (stop_tx, task)
}

#[tokio::test]
async fn ten_concurrent_downloads_from_three_uploaders_respect_their_slots() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let names = ["a.flac", "b.flac", "c.flac", "d.flac"];
        let mut uploaders = Vec::new();
        let mut wanted = Vec::new();
        for (index, (user, slots, count)) in [("u1", 1, 4), ("u2", 1, 3), ("u3", 2, 3)]
            .into_iter()
            .enumerate()
        {
            let files: Vec<(&str, Vec<u8>)> = names[..count]
                .iter()
                .enumerate()
                .map(|(n, name)| (*name, content((index * 10 + n) as u8, 150_000 + n * 7_000)))
                .collect();
            let borrowed: Vec<(&str, &[u8])> =
                files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
            let mut config = transfer_config(
                &server,
                user,
                &dir.path().join(user),
                &borrowed,
                QueueStorage::Memory,
            );
            config.transfers.as_mut().unwrap().upload_slots = slots;
            let (client, events) = login(config).await;
            uploaders.push((client, slots, count_uploads(events)));
            for (name, bytes) in files {
                wanted.push((user, name, bytes));
            }
        }
        assert_eq!(wanted.len(), 10);
        // Two downloaders, so that an uploader with one slot has two users
        // asking at once (a user gets one upload at a time anyway).
        let mut downloaders = Vec::new();
        for user in ["alice", "carol"] {
            downloaders.push(
                login(transfer_config(
                    &server,
                    user,
                    &dir.path().join(user),
                    &[],
                    QueueStorage::Memory,
                ))
                .await,
            );
        }

        let mut ids = Vec::new();
        for (index, (user, name, bytes)) in wanted.iter().enumerate() {
            let which = index % 2;
            let id = downloaders[which]
                .0
                .download(user, &format!("@@share\\{name}"), None)
                .await
                .unwrap();
            ids.push((which, id, sha256(bytes)));
        }
        let (alice, carol) = downloaders.split_at_mut(1);
        let mine = |which| {
            ids.iter()
                .filter(|(w, ..)| *w == which)
                .map(|(_, id, digest)| (*id, *digest))
                .collect::<HashMap<_, _>>()
        };
        let (from_alice, from_carol) = tokio::join!(
            all_completed(&mut alice[0].1, mine(0)),
            all_completed(&mut carol[0].1, mine(1)),
        );
        assert_eq!(from_alice + from_carol, 10);
        for (client, _) in &downloaders {
            let downloads = client.downloads();
            assert_eq!(downloads.len(), 5);
            assert!(
                downloads
                    .iter()
                    .all(|d| matches!(d.state, DownloadState::Completed { .. }))
            );
        }
        for (client, slots, (stop, counter)) in uploaders {
            client.shutdown().await;
            let _ = stop.send(());
            let (most, done) = counter.await.unwrap();
            assert!(most <= slots, "{most} uploads at once with {slots} slots");
            assert!(most >= 1 && done >= 3, "{most} {done}");
        }
        for (client, _) in downloaders {
            client.shutdown().await;
        }
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_interrupted_download_resumes_after_a_restart() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let file = content(7, 3_000_000);
        let bob_dir = dir.path().join("bob");
        let mut slow = transfer_config(
            &server,
            "bob",
            &bob_dir,
            &[("big.wav", &file)],
            QueueStorage::Memory,
        );
        // Slow enough to be caught mid-way.
        slow.transfers.as_mut().unwrap().upload_rate_limit = Some(500_000);
        let (bob, _bob_events) = login(slow.clone()).await;
        let alice_dir = dir.path().join("alice");
        let queue = QueueStorage::Sqlite(dir.path().join("queue.sqlite"));
        let alice_config = transfer_config(&server, "alice", &alice_dir, &[], queue);
        let (alice, mut alice_events) = login(alice_config.clone()).await;

        let id = alice
            .download("bob", "@@share\\big.wav", Some(file.len() as u64))
            .await
            .unwrap();
        let received = tokio::time::timeout(DOWNLOAD_WAIT, async {
            loop {
                if let Some(Event::Transfer(TransferEvent::DownloadProgress {
                    id: progressed,
                    bytes,
                    ..
                })) = alice_events.recv().await
                    && progressed == id
                    && bytes > 200_000
                {
                    return bytes;
                }
            }
        })
        .await
        .expect("bytes arrive in time");
        assert!(received < file.len() as u64);
        bob.shutdown().await;
        drop(bob);
        alice.shutdown().await;
        drop((alice, alice_events));

        // Bob is back (at full speed), alice restarts on the same queue.
        let mut fast = slow;
        fast.transfers.as_mut().unwrap().upload_rate_limit = None;
        let (bob, _bob_events) = login(fast).await;
        let (alice, mut alice_events) = login(alice_config).await;
        assert!(alice.downloads().iter().any(|d| d.id == id));
        // The QueueUpload of the restored download, lost before the login,
        // goes again at the login, not after the 30 s backoff.
        let path = tokio::time::timeout(Duration::from_secs(25), completed(&mut alice_events, id))
            .await
            .expect("resumed at the login, not at the end of the backoff");
        assert_eq!(sha256(&std::fs::read(&path).unwrap()), sha256(&file));
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_file_connection_with_an_unknown_ticket_is_closed() {
    use slsk_proto::FramedMessage;
    use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
    use slsk_proto::tables::ConnectionType;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let file = content(3, 50_000);
        let (bob, _bob_events) = login(transfer_config(
            &server,
            "bob",
            &dir.path().join("bob"),
            &[("song.mp3", &file)],
            QueueStorage::Memory,
        ))
        .await;
        let (alice, mut alice_events) = login(transfer_config(
            &server,
            "alice",
            &dir.path().join("alice"),
            &[],
            QueueStorage::Memory,
        ))
        .await;

        // "mallory" offers bytes for a transfer alice never allowed.
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", alice.peers().listen_port()))
            .await
            .unwrap();
        let init = PeerInitMessage::from(PeerInit {
            username: "mallory".into(),
            connection_type: ConnectionType::File,
            ticket: 0.into(),
        });
        socket.write_all(&init.to_frame().unwrap()).await.unwrap();
        socket.write_all(&12345u32.to_le_bytes()).await.unwrap();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(DOWNLOAD_WAIT, socket.read_to_end(&mut rest))
            .await
            .expect("alice closes in time");
        assert!(read.is_err() || rest.is_empty(), "{rest:?}");
        assert!(alice.downloads().is_empty());

        // Alice goes on downloading.
        check_download((&alice, &mut alice_events), "bob", "song.mp3", &file).await;
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

/// With the `shares` feature, what the client shares is what it uploads: no
/// resolver is set, the file is found through the scanned shares.
#[tokio::test]
async fn a_file_of_the_scanned_shares_is_uploaded_without_a_resolver() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let file = content(7, 120_000);
        let music = dir.path().join("bob-music");
        std::fs::create_dir_all(&music).unwrap();
        std::fs::write(music.join("track.flac"), &file).unwrap();
        let mut bob_config = transfer_config(
            &server,
            "bob",
            &dir.path().join("bob"),
            &[],
            QueueStorage::Memory,
        );
        bob_config.shares.folders = vec![slsk_shares::SharedFolder::new("Music", &music)];
        let (bob, mut bob_events) = login(bob_config).await;
        loop {
            match bob_events.recv().await {
                Some(Event::ScanComplete(summary)) => {
                    assert_eq!(summary.files, 1);
                    break;
                }
                Some(Event::ScanFailed(error)) => panic!("scan failed: {error}"),
                Some(_) => {}
                None => panic!("bob's events ended before the scan"),
            }
        }
        let alice_config = transfer_config(
            &server,
            "alice",
            &dir.path().join("alice"),
            &[],
            QueueStorage::Memory,
        );
        let (alice, mut alice_events) = login(alice_config).await;
        let id = alice
            .download("bob", "Music\\track.flac", Some(file.len() as u64))
            .await
            .unwrap();
        let path = completed(&mut alice_events, id).await;
        assert_eq!(sha256(&std::fs::read(&path).unwrap()), sha256(&file));
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

/// A hand-driven peer: a `P` connection to `port` introduced as `username`.
async fn raw_peer(port: u16, username: &str) -> tokio::net::TcpStream {
    use slsk_proto::FramedMessage;
    use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
    use slsk_proto::tables::ConnectionType;
    use tokio::io::AsyncWriteExt;

    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let init = PeerInitMessage::from(PeerInit {
        username: username.into(),
        connection_type: ConnectionType::Peer,
        ticket: 0.into(),
    });
    socket.write_all(&init.to_frame().unwrap()).await.unwrap();
    socket
}

async fn write_peer(socket: &mut tokio::net::TcpStream, message: slsk_proto::peer::PeerMessage) {
    use slsk_proto::FramedMessage;
    use tokio::io::AsyncWriteExt;
    socket
        .write_all(&message.to_frame().unwrap())
        .await
        .unwrap();
}

/// The next peer message on `socket`, within [`EVENT_WAIT`].
async fn read_peer(socket: &mut tokio::net::TcpStream) -> slsk_proto::peer::PeerMessage {
    use slsk_proto::FramedMessage;
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut length = [0u8; 4];
        socket.read_exact(&mut length).await.unwrap();
        let size = u32::from_le_bytes(length) as usize;
        assert!(size < 1 << 20, "a small message, not {size} bytes");
        let mut frame = length.to_vec();
        frame.resize(4 + size, 0);
        socket.read_exact(&mut frame[4..]).await.unwrap();
        slsk_proto::peer::PeerMessage::decode_frame(&frame).unwrap()
    };
    tokio::time::timeout(EVENT_WAIT, read)
        .await
        .expect("a peer message in time")
}

/// Search replies and user info advertise the upload queue itself: a free
/// slot while none is taken; once a peer holds the only slot and has a file
/// waiting, no free slot and a queue of one.
#[tokio::test]
async fn search_replies_and_user_info_advertise_the_upload_queue() {
    use slsk_net::client::{SearchOptions, SearchScope};
    use slsk_proto::peer::{
        PeerMessage, PeerPlaceInQueueRequest, PeerTransferQueue, PeerTransferRequest,
    };

    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let music = dir.path().join("alice-music");
        std::fs::create_dir_all(&music).unwrap();
        std::fs::write(music.join("zebra one.flac"), content(1, 1000)).unwrap();
        std::fs::write(music.join("zebra two.flac"), content(2, 1000)).unwrap();
        let mut alice_config = transfer_config(
            &server,
            "alice",
            &dir.path().join("alice"),
            &[],
            QueueStorage::Memory,
        );
        alice_config.shares.folders = vec![slsk_shares::SharedFolder::new("Music", &music)];
        // Fixed values that must not be what is advertised.
        alice_config.shares.slot_free = false;
        alice_config.shares.queue_length = 77;
        alice_config.user_info.upload_slots = 77;
        alice_config.transfers.as_mut().unwrap().upload_slots = 1;
        let (alice, mut alice_events) = login(alice_config).await;
        support::network::wait_for(&mut alice_events, |e| {
            matches!(e, Event::ScanComplete(_) | Event::ScanFailed(_))
        })
        .await;
        let (bob, _bob_events) = login(client_config(&server, "bob")).await;
        let search = async |bob: &Client| {
            let options = SearchOptions {
                scope: SearchScope::User("alice".into()),
                timeout: Duration::from_secs(10),
                max_results: 1,
                ..Default::default()
            };
            let mut search = bob.search("zebra one", options).await.unwrap();
            tokio::time::timeout(EVENT_WAIT, search.next())
                .await
                .expect("a result in time")
                .expect("a result")
        };

        let idle = search(&bob).await;
        assert_eq!((idle.slot_free, idle.queue_length), (true, 0));
        let info = bob.user_info("alice").await.unwrap();
        assert_eq!(
            (info.upload_slots, info.queue_size, info.has_slots_free),
            (1, 0, true)
        );

        // Mallory queues both files and never answers the offer of the
        // first: it holds the only slot, the second waits.
        let mut mallory = raw_peer(alice.peers().listen_port(), "mallory").await;
        for name in ["zebra one", "zebra two"] {
            let filename = format!("Music\\{name}.flac");
            write_peer(&mut mallory, PeerTransferQueue { filename }.into()).await;
        }
        let PeerMessage::PeerTransferRequest(PeerTransferRequest { filename, .. }) =
            read_peer(&mut mallory).await
        else {
            panic!("an offer first");
        };
        assert_eq!(filename, "Music\\zebra one.flac");
        let filename = "Music\\zebra two.flac".to_owned();
        write_peer(&mut mallory, PeerPlaceInQueueRequest { filename }.into()).await;
        let PeerMessage::PeerPlaceInQueueReply(place) = read_peer(&mut mallory).await else {
            panic!("the place of the waiting file");
        };
        assert_eq!(place.place, 1);

        let busy = search(&bob).await;
        assert_eq!((busy.slot_free, busy.queue_length), (false, 1));
        let info = bob.user_info("alice").await.unwrap();
        assert_eq!(
            (info.upload_slots, info.queue_size, info.has_slots_free),
            (1, 1, false)
        );
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}

/// The uploader logs out in the middle of a download and back in later:
/// the download waits for them (not failed, no retry timer running) and
/// resumes as soon as the server says they are back, the downloader
/// running all along; the file's SHA-256 is the source's.
#[tokio::test]
async fn a_download_waits_for_an_uploader_who_logs_out_and_resumes_when_back() {
    bounded(TEST_LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let server = start_server(Database::InMemory).await;
        let file = content(9, 3_000_000);
        let mut slow = transfer_config(
            &server,
            "bob",
            &dir.path().join("bob"),
            &[("big.wav", &file)],
            QueueStorage::Memory,
        );
        slow.transfers.as_mut().unwrap().upload_rate_limit = Some(500_000);
        let (bob, _bob_events) = login(slow.clone()).await;
        let alice_config = transfer_config(
            &server,
            "alice",
            &dir.path().join("alice"),
            &[],
            QueueStorage::Memory,
        );
        let (alice, mut alice_events) = login(alice_config).await;

        let id = alice
            .download("bob", "@@share\\big.wav", Some(file.len() as u64))
            .await
            .unwrap();
        support::network::wait_for(&mut alice_events, |event| {
            matches!(event, Event::Transfer(TransferEvent::DownloadProgress { id: p, bytes, .. })
                if *p == id && *bytes > 200_000)
        })
        .await;
        bob.shutdown().await;
        drop(bob);

        // Alice waits for bob: queued locally with no retry time.
        let waiting =
            tokio::time::timeout(DOWNLOAD_WAIT, async {
                loop {
                    match alice_events.recv().await.expect("events go on") {
                        Event::Transfer(TransferEvent::DownloadChanged {
                            id: c, state, ..
                        }) if c == id => match state {
                            DownloadState::QueuedLocally { retry_at: None } => return,
                            DownloadState::Failed { reason } => panic!("failed: {reason:?}"),
                            DownloadState::Completed { .. } => panic!("completed too early"),
                            _ => {}
                        },
                        _ => {}
                    }
                }
            });
        waiting.await.expect("the download waits for bob in time");
        let partial = alice.downloads().into_iter().find(|d| d.id == id).unwrap();
        assert!(partial.last_error.is_some(), "{partial:?}");

        // Bob is back, at full speed: alice asks again at once.
        let mut fast = slow;
        fast.transfers.as_mut().unwrap().upload_rate_limit = None;
        let (bob, _bob_events) = login(fast).await;
        let path = completed(&mut alice_events, id).await;
        assert_eq!(sha256(&std::fs::read(&path).unwrap()), sha256(&file));
        alice.shutdown().await;
        bob.shutdown().await;
        server.shutdown().await;
    })
    .await;
}
