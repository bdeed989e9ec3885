//! The download queue state machine, without sockets.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use slsk_proto::peer::{
    PeerMessage, PeerPlaceInQueueReply, PeerTransferQueueFailed, PeerTransferReply,
    PeerTransferReplyOutcome, PeerTransferRequest, PeerUploadFailed,
};
use slsk_proto::tables::{TransferDirection, TransferRejectionReason};
use slsk_transfers::{
    DownloadConfig, DownloadId, DownloadManager, DownloadOutput, DownloadState, DownloadStore,
    FailReason, incomplete_path, local_path,
};

const FILE: &str = "@@share\\Music\\Album\\01 Song.flac";

fn manager() -> DownloadManager {
    DownloadManager::new(DownloadConfig::new("/dl", "/dl/incomplete"))
}

fn drain(m: &mut DownloadManager) -> Vec<DownloadOutput> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

/// The messages in `outputs`, with their user.
fn sent(outputs: &[DownloadOutput]) -> Vec<(String, PeerMessage)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            DownloadOutput::Send { user, message } => Some((user.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

fn queue_upload(user: &str, file: &str) -> (String, PeerMessage) {
    (
        user.to_owned(),
        slsk_proto::peer::PeerTransferQueue {
            filename: file.to_owned(),
        }
        .into(),
    )
}

fn offer(ticket: u32, file: &str, size: Option<u64>) -> PeerTransferRequest {
    PeerTransferRequest {
        direction: TransferDirection::Upload,
        ticket,
        filename: file.to_owned(),
        filesize: size,
    }
}

fn reply(user: &str, ticket: u32, outcome: PeerTransferReplyOutcome) -> (String, PeerMessage) {
    (
        user.to_owned(),
        PeerTransferReply { ticket, outcome }.into(),
    )
}

fn allowed(user: &str, ticket: u32) -> (String, PeerMessage) {
    reply(
        user,
        ticket,
        PeerTransferReplyOutcome::Allowed { filesize: None },
    )
}

fn rejected(user: &str, ticket: u32, reason: &str) -> (String, PeerMessage) {
    reply(
        user,
        ticket,
        PeerTransferReplyOutcome::Rejected {
            reason: Some(TransferRejectionReason::from_wire(reason.to_owned())),
        },
    )
}

fn state(m: &DownloadManager, id: DownloadId) -> DownloadState {
    m.get(id).unwrap().state.clone()
}

fn denied(file: &str, reason: &str) -> PeerTransferQueueFailed {
    PeerTransferQueueFailed {
        filename: file.to_owned(),
        reason: TransferRejectionReason::from_wire(reason.to_owned()),
    }
}

#[test]
fn queue_allow_and_stream_job() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, Some(1000), now);
    let out = drain(&mut m);
    assert_eq!(sent(&out), vec![queue_upload("alice", FILE)]);
    assert!(out.contains(&DownloadOutput::Changed(id)));
    assert_eq!(state(&m, id), DownloadState::QueuedRemotely { place: None });
    // Queueing again is the same download, and sends nothing new.
    assert_eq!(m.enqueue("alice", FILE, Some(1000), now), id);
    assert!(sent(&drain(&mut m)).is_empty());

    assert!(m.on_transfer_request("alice", &offer(7, FILE, Some(1000)), now));
    assert_eq!(sent(&drain(&mut m)), vec![allowed("alice", 7)]);
    assert_eq!(
        state(&m, id),
        DownloadState::Connecting {
            ticket: 7,
            size: 1000
        }
    );
    // Only alice's connection with ticket 7 matches.
    assert_eq!(m.on_file_connection("bob", 7, now), None);
    assert_eq!(m.on_file_connection("alice", 8, now), None);
    let job = m.on_file_connection("alice", 7, now).unwrap();
    assert_eq!(job.id, id);
    assert_eq!(job.size, 1000);
    assert!(!job.restart);
    assert_eq!(
        job.partial,
        incomplete_path("/dl/incomplete".as_ref(), "alice", FILE)
    );
    assert_eq!(job.destination, local_path("/dl".as_ref(), FILE));
    assert_eq!(job.destination, PathBuf::from("/dl/Album/01 Song.flac"));
    m.on_progress(id, 500);
    assert_eq!(
        state(&m, id),
        DownloadState::Transferring {
            ticket: 7,
            size: 1000,
            bytes: 500
        }
    );
    m.on_finished(id, 7, Ok("/dl/Album/01 Song.flac".into()), now);
    assert_eq!(
        state(&m, id),
        DownloadState::Completed {
            path: "/dl/Album/01 Song.flac".into()
        }
    );
    // The uploader offers it again: it is complete.
    assert!(m.on_transfer_request("alice", &offer(9, FILE, Some(1000)), now));
    assert_eq!(sent(&drain(&mut m)), vec![rejected("alice", 9, "Complete")]);
}

#[test]
fn unwanted_offers_are_cancelled() {
    let mut m = manager();
    let now = Instant::now();
    // Unknown file, and a known file from another user.
    let id = m.enqueue("alice", FILE, None, now);
    drain(&mut m);
    assert!(m.on_transfer_request("alice", &offer(1, "other.mp3", Some(5)), now));
    assert!(m.on_transfer_request("mallory", &offer(2, FILE, Some(5)), now));
    assert_eq!(
        sent(&drain(&mut m)),
        vec![
            rejected("alice", 1, "Cancelled"),
            rejected("mallory", 2, "Cancelled")
        ]
    );
    // A file already streaming is not offered twice.
    m.on_transfer_request("alice", &offer(3, FILE, Some(5)), now);
    m.on_file_connection("alice", 3, now).unwrap();
    drain(&mut m);
    m.on_transfer_request("alice", &offer(4, FILE, Some(5)), now);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![rejected("alice", 4, "Cancelled")]
    );
    // A cancelled download is refused too; its stream's end is ignored.
    m.cancel(id);
    m.on_finished(id, 3, Ok("/x".into()), now);
    assert_eq!(state(&m, id), DownloadState::Cancelled);
    m.on_transfer_request("alice", &offer(5, FILE, Some(5)), now);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![rejected("alice", 5, "Cancelled")]
    );
}

#[test]
fn legacy_direction_zero_is_not_for_downloads() {
    let mut m = manager();
    let now = Instant::now();
    drain(&mut m);
    let legacy = PeerTransferRequest {
        direction: TransferDirection::Download,
        ticket: 1,
        filename: FILE.into(),
        filesize: None,
    };
    assert!(!m.on_transfer_request("bob", &legacy, now));
    let odd = PeerTransferRequest {
        direction: TransferDirection::Unknown(7),
        ..legacy
    };
    assert!(!m.on_transfer_request("bob", &odd, now));
    assert!(drain(&mut m).is_empty());
}

#[test]
fn a_size_other_than_expected_is_refused() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, Some(1000), now);
    drain(&mut m);
    m.on_transfer_request("alice", &offer(1, FILE, Some(999)), now);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![rejected("alice", 1, "Cancelled")]
    );
    assert_eq!(
        state(&m, id),
        DownloadState::Failed {
            reason: FailReason::SizeMismatch {
                expected: Some(1000),
                offered: Some(999)
            }
        }
    );
    // No size at all, nothing expected: refused as well.
    let other = m.enqueue("alice", "b.mp3", None, now);
    drain(&mut m);
    m.on_transfer_request("alice", &offer(2, "b.mp3", None), now);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![rejected("alice", 2, "Cancelled")]
    );
    assert!(matches!(
        state(&m, other),
        DownloadState::Failed {
            reason: FailReason::SizeMismatch { offered: None, .. }
        }
    ));
}

#[test]
fn soulseekqt_zero_size_for_big_files_keeps_the_expected_size() {
    let mut m = manager();
    let now = Instant::now();
    let big = 3 << 30;
    let id = m.enqueue("qt", "big.mkv", Some(big), now);
    m.on_transfer_request("qt", &offer(1, "big.mkv", Some(0)), now);
    assert_eq!(
        state(&m, id),
        DownloadState::Connecting {
            ticket: 1,
            size: big
        }
    );
    // Below 2 GiB a zero size is just a wrong size.
    let small = m.enqueue("qt", "small.mkv", Some(100), now);
    m.on_transfer_request("qt", &offer(2, "small.mkv", Some(0)), now);
    assert!(matches!(state(&m, small), DownloadState::Failed { .. }));
}

#[test]
fn a_new_size_restarts_the_partial_file() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, None, now);
    m.on_transfer_request("alice", &offer(1, FILE, Some(100)), now);
    m.on_file_connection("alice", 1, now).unwrap();
    m.on_finished(id, 1, Err(FailReason::ConnectionLost), now);
    let retry = m.poll_timeout().unwrap();
    m.handle_timeout(retry);
    // Same size: resume. Other size: start again.
    m.on_transfer_request("alice", &offer(2, FILE, Some(100)), retry);
    assert!(!m.on_file_connection("alice", 2, retry).unwrap().restart);
    m.on_finished(id, 2, Err(FailReason::ConnectionLost), retry);
    let retry = m.poll_timeout().unwrap();
    m.handle_timeout(retry);
    m.on_transfer_request("alice", &offer(3, FILE, Some(200)), retry);
    let job = m.on_file_connection("alice", 3, retry).unwrap();
    assert!(job.restart);
    assert_eq!(job.size, 200);
}

#[test]
fn file_connection_timeout_retries_with_backoff_then_fails() {
    let mut config = DownloadConfig::new("/dl", "/inc");
    config.max_attempts = 3;
    let mut m = DownloadManager::new(config);
    let mut now = Instant::now();
    let id = m.enqueue("alice", FILE, None, now);
    let mut delays = Vec::new();
    for attempt in 1..=3u32 {
        drain(&mut m);
        m.on_transfer_request("alice", &offer(attempt, FILE, Some(10)), now);
        // The file connection must come within 60 s.
        assert_eq!(m.poll_timeout(), Some(now + Duration::from_secs(60)));
        now += Duration::from_secs(60);
        m.handle_timeout(now);
        if attempt == 3 {
            break;
        }
        let DownloadState::QueuedLocally {
            retry_at: Some(retry_at),
        } = state(&m, id)
        else {
            panic!("{:?}", state(&m, id));
        };
        assert_eq!(
            m.get(id).unwrap().last_error,
            Some(FailReason::ConnectionTimeout)
        );
        delays.push(retry_at - now);
        drain(&mut m);
        m.handle_timeout(retry_at - Duration::from_millis(1));
        assert!(sent(&drain(&mut m)).is_empty(), "not before its time");
        now = retry_at;
        m.handle_timeout(now);
        assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
    }
    assert_eq!(delays, [Duration::from_secs(30), Duration::from_secs(60)]);
    assert_eq!(
        state(&m, id),
        DownloadState::Failed {
            reason: FailReason::ConnectionTimeout
        }
    );
    // A failed download is still accepted if the uploader offers it.
    drain(&mut m);
    m.on_transfer_request("alice", &offer(99, FILE, Some(10)), now);
    assert_eq!(sent(&drain(&mut m)), vec![allowed("alice", 99)]);
}

#[test]
fn upload_denied_reasons() {
    let now = Instant::now();
    for (reason, expected) in [
        ("File not shared.", TransferRejectionReason::FileNotShared),
        ("File read error.", TransferRejectionReason::FileReadError),
        ("Banned", TransferRejectionReason::Banned),
        ("Cancelled", TransferRejectionReason::Cancelled),
        (
            "Disallowed extension",
            TransferRejectionReason::Unknown("Disallowed extension".into()),
        ),
    ] {
        let mut m = manager();
        let id = m.enqueue("alice", FILE, None, now);
        m.on_upload_denied("alice", &denied(FILE, reason), now);
        assert_eq!(
            state(&m, id),
            DownloadState::Failed {
                reason: FailReason::Rejected(expected)
            },
            "{reason}"
        );
    }
    // Limits: still queued, asked again in 5 minutes, no failure counted.
    for reason in ["Too many files", "Too many megabytes"] {
        let mut m = manager();
        let id = m.enqueue("alice", FILE, None, now);
        drain(&mut m);
        m.on_upload_denied("alice", &denied(FILE, reason), now);
        let later = now + Duration::from_secs(300);
        assert_eq!(
            state(&m, id),
            DownloadState::QueuedLocally {
                retry_at: Some(later)
            }
        );
        assert_eq!(m.get(id).unwrap().attempts, 0);
        m.handle_timeout(later);
        assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
    }
    // Pending shutdown: retried like a lost connection.
    let mut m = manager();
    let id = m.enqueue("alice", FILE, None, now);
    m.on_upload_denied("alice", &denied(FILE, "Pending shutdown."), now);
    assert_eq!(
        state(&m, id),
        DownloadState::QueuedLocally {
            retry_at: Some(now + Duration::from_secs(30))
        }
    );
    assert_eq!(m.get(id).unwrap().attempts, 1);
    // A denial for another user's file, or an unknown file, changes nothing.
    m.on_upload_denied("bob", &denied(FILE, "Banned"), now);
    m.on_upload_denied("alice", &denied("x", "Banned"), now);
    assert!(matches!(state(&m, id), DownloadState::QueuedLocally { .. }));
}

#[test]
fn upload_failed_queues_again() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, None, now);
    m.on_transfer_request("alice", &offer(1, FILE, Some(10)), now);
    drain(&mut m);
    m.on_upload_failed(
        "alice",
        &PeerUploadFailed {
            filename: FILE.into(),
        },
        now,
    );
    assert_eq!(
        m.get(id).unwrap().last_error,
        Some(FailReason::UploadFailed)
    );
    let retry = m.poll_timeout().unwrap();
    assert_eq!(retry, now + Duration::from_secs(30));
    m.handle_timeout(retry);
    assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
    // While streaming, UploadFailed is left to the stream's end.
    m.on_transfer_request("alice", &offer(2, FILE, Some(10)), retry);
    m.on_file_connection("alice", 2, retry).unwrap();
    m.on_upload_failed(
        "alice",
        &PeerUploadFailed {
            filename: FILE.into(),
        },
        retry,
    );
    assert!(matches!(
        state(&m, id),
        DownloadState::Transferring { ticket: 2, .. }
    ));
    // A stream that ends short is retried; one that overran fails.
    m.on_finished(id, 2, Err(FailReason::ConnectionLost), retry);
    assert!(matches!(state(&m, id), DownloadState::QueuedLocally { .. }));
    let again = m.poll_timeout().unwrap();
    m.handle_timeout(again);
    m.on_transfer_request("alice", &offer(3, FILE, Some(10)), again);
    m.on_file_connection("alice", 3, again).unwrap();
    m.on_finished(id, 3, Err(FailReason::Overrun), again);
    assert_eq!(
        state(&m, id),
        DownloadState::Failed {
            reason: FailReason::Overrun
        }
    );
}

#[test]
fn offline_users_are_waited_for() {
    let mut m = manager();
    let now = Instant::now();
    m.user_offline("alice");
    let id = m.enqueue("alice", FILE, None, now);
    assert!(sent(&drain(&mut m)).is_empty());
    assert_eq!(
        state(&m, id),
        DownloadState::QueuedLocally { retry_at: None }
    );
    assert_eq!(m.poll_timeout(), None);
    m.user_online("alice", now);
    assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
    // Going offline while queued remotely: wait again, no failure counted.
    m.user_offline("alice");
    assert_eq!(
        state(&m, id),
        DownloadState::QueuedLocally { retry_at: None }
    );
    m.user_online("alice", now);
    assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
    assert_eq!(m.get(id).unwrap().attempts, 0);
    // Unreachable: a transient failure, retried later.
    m.peer_unreachable("alice", now);
    assert_eq!(
        state(&m, id),
        DownloadState::QueuedLocally {
            retry_at: Some(now + Duration::from_secs(30))
        }
    );
    assert_eq!(
        m.get(id).unwrap().last_error,
        Some(FailReason::PeerUnreachable)
    );
}

#[test]
fn place_in_queue_is_asked_while_queued() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, None, now);
    drain(&mut m);
    let ask = now + Duration::from_secs(300);
    assert_eq!(m.poll_timeout(), Some(ask));
    m.handle_timeout(ask);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![(
            "alice".to_owned(),
            slsk_proto::peer::PeerPlaceInQueueRequest {
                filename: FILE.into()
            }
            .into()
        )]
    );
    assert_eq!(m.poll_timeout(), Some(ask + Duration::from_secs(300)));
    m.on_place_in_queue(
        "alice",
        &PeerPlaceInQueueReply {
            filename: FILE.into(),
            place: 12,
        },
    );
    assert_eq!(
        state(&m, id),
        DownloadState::QueuedRemotely { place: Some(12) }
    );
}

#[test]
fn restart_queues_unfinished_downloads_again_from_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("downloads.db");
    let now = Instant::now();
    let (queued, active, done, failed);
    {
        let store = DownloadStore::open(&db).unwrap();
        let mut m = manager();
        queued = m.enqueue("alice", "q.mp3", Some(5), now);
        active = m.enqueue("bob", "a.mp3", None, now);
        done = m.enqueue("carol", "d.mp3", None, now);
        failed = m.enqueue("dave", "f.mp3", None, now);
        m.on_transfer_request("bob", &offer(1, "a.mp3", Some(50)), now);
        m.on_file_connection("bob", 1, now).unwrap();
        m.on_transfer_request("carol", &offer(2, "d.mp3", Some(5)), now);
        m.on_file_connection("carol", 2, now).unwrap();
        m.on_finished(done, 2, Ok("/dl/d.mp3".into()), now);
        m.on_upload_denied("dave", &denied("f.mp3", "File not shared."), now);
        // The driver stores every change.
        while let Some(output) = m.poll_output() {
            match output {
                DownloadOutput::Changed(id) => store.save(&m.record(id).unwrap()).unwrap(),
                DownloadOutput::Removed(id) => store.remove(id.0).unwrap(),
                DownloadOutput::Send { .. } => {}
            }
        }
    }
    let store = DownloadStore::open(&db).unwrap();
    let mut m = manager();
    m.restore(store.load().unwrap(), now);
    let out = drain(&mut m);
    let mut resent = sent(&out);
    resent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        resent,
        vec![queue_upload("alice", "q.mp3"), queue_upload("bob", "a.mp3")]
    );
    assert_eq!(
        state(&m, queued),
        DownloadState::QueuedRemotely { place: None }
    );
    assert_eq!(m.get(queued).unwrap().expected_size, Some(5));
    assert_eq!(
        state(&m, done),
        DownloadState::Completed {
            path: "/dl/d.mp3".into()
        }
    );
    assert_eq!(
        state(&m, failed),
        DownloadState::Failed {
            reason: FailReason::Rejected(TransferRejectionReason::FileNotShared)
        }
    );
    // The active one resumes: same size, same partial file, no restart.
    m.on_transfer_request("bob", &offer(7, "a.mp3", Some(50)), now);
    let job = m.on_file_connection("bob", 7, now).unwrap();
    assert_eq!(job.id, active);
    assert!(!job.restart);
    assert_eq!(
        job.partial,
        incomplete_path("/dl/incomplete".as_ref(), "bob", "a.mp3")
    );
    // New downloads get fresh ids.
    assert!(m.enqueue("erin", "e.mp3", None, now).0 > failed.0);
}

#[test]
fn fail_reasons_survive_the_store() {
    for reason in [
        FailReason::Rejected(TransferRejectionReason::FileNotShared),
        FailReason::Rejected(TransferRejectionReason::Unknown("odd: text".into())),
        FailReason::UploadFailed,
        FailReason::ConnectionTimeout,
        FailReason::ConnectionLost,
        FailReason::PeerUnreachable,
        FailReason::SizeMismatch {
            expected: Some(3),
            offered: None,
        },
        FailReason::Overrun,
        FailReason::Local("disk: full".into()),
    ] {
        assert_eq!(FailReason::from_stored(&reason.to_stored()), reason);
    }
}

/// Found by the property test below: an accepted offer, then "Queued"
/// from the uploader, left the file connection's deadline behind, due for
/// ever (the caller's timer would spin).
#[test]
fn queued_after_an_accepted_offer_leaves_no_deadline_behind() {
    let mut m = manager();
    let now = Instant::now();
    m.enqueue("alice", FILE, None, now);
    m.on_transfer_request("alice", &offer(1, FILE, Some(0)), now);
    drain(&mut m);
    m.on_upload_denied("alice", &denied(FILE, "Queued"), now);
    drain(&mut m);
    let later = now + Duration::from_secs(60);
    m.handle_timeout(later);
    assert!(m.poll_timeout().is_none_or(|at| at > later));
}

#[test]
fn remove_and_retry() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, None, now);
    m.on_upload_denied("alice", &denied(FILE, "Banned"), now);
    drain(&mut m);
    m.retry(id, now);
    assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
    assert!(m.remove(id).is_some());
    assert_eq!(drain(&mut m), vec![DownloadOutput::Removed(id)]);
    assert!(m.get(id).is_none());
    // Removed means unknown: an offer is cancelled.
    m.on_transfer_request("alice", &offer(1, FILE, Some(1)), now);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![rejected("alice", 1, "Cancelled")]
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Enqueue(u8, u8, Option<u64>),
        Offer(u8, u8, u32, Option<u64>, u32),
        FileConnection(u8, u32),
        Finished(u8, u32, u8),
        Denied(u8, u8, u8),
        Failed(u8, u8),
        Place(u8, u8, u32),
        Offline(u8),
        Online(u8),
        Unreachable(u8),
        Cancel(u8),
        Retry(u8),
        Remove(u8),
        Wait(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        let size = prop_oneof![Just(None), (0..3u64).prop_map(Some)];
        prop_oneof![
            3 => (0..4u8, 0..6u8, size.clone()).prop_map(|(u, f, s)| Op::Enqueue(u, f, s)),
            3 => (0..4u8, 0..6u8, 0..8u32, size, 0..3u32).prop_map(|(u, f, t, s, d)| Op::Offer(u, f, t, s, d)),
            2 => (0..4u8, 0..8u32).prop_map(|(u, t)| Op::FileConnection(u, t)),
            2 => (0..20u8, 0..8u32, 0..4u8).prop_map(|(i, t, r)| Op::Finished(i, t, r)),
            1 => (0..4u8, 0..6u8, 0..10u8).prop_map(|(u, f, r)| Op::Denied(u, f, r)),
            1 => (0..4u8, 0..6u8).prop_map(|(u, f)| Op::Failed(u, f)),
            1 => (0..4u8, 0..6u8, any::<u32>()).prop_map(|(u, f, p)| Op::Place(u, f, p)),
            1 => (0..4u8).prop_map(Op::Offline),
            1 => (0..4u8).prop_map(Op::Online),
            1 => (0..4u8).prop_map(Op::Unreachable),
            1 => (0..20u8).prop_map(Op::Cancel),
            1 => (0..20u8).prop_map(Op::Retry),
            1 => (0..20u8).prop_map(Op::Remove),
            2 => (0..700u16).prop_map(Op::Wait),
        ]
    }

    proptest! {
        /// Any sequence of inputs: no panic, every offer answered exactly
        /// once, and nothing left due after `handle_timeout` (no busy loop,
        /// no hang).
        #[test]
        fn invariants_hold(ops in prop::collection::vec(op(), 1..150)) {
            let mut m = manager();
            let mut now = Instant::now();
            let user = |u: u8| format!("u{u}");
            let file = |f: u8| format!("d\\f{f}");
            let nth = |m: &DownloadManager, i: u8| m.iter().nth(usize::from(i)).map(|d| d.id);
            let reasons = TransferRejectionReason::KNOWN;
            for op in ops {
                match op {
                    Op::Enqueue(u, f, s) => { m.enqueue(&user(u), &file(f), s, now); }
                    Op::Offer(u, f, ticket, size, direction) => {
                        let request = PeerTransferRequest {
                            direction: TransferDirection::from_wire(direction),
                            ticket,
                            filename: file(f),
                            filesize: size,
                        };
                        drain(&mut m);
                        let handled = m.on_transfer_request(&user(u), &request, now);
                        prop_assert_eq!(handled, direction == 1);
                        let replies = sent(&drain(&mut m)).into_iter().filter(|(_, msg)| matches!(msg, PeerMessage::PeerTransferReply(r) if r.ticket == ticket)).count();
                        prop_assert_eq!(replies, usize::from(handled));
                    }
                    Op::FileConnection(u, ticket) => {
                        if let Some(job) = m.on_file_connection(&user(u), ticket, now) {
                            prop_assert!(job.partial.starts_with("/dl/incomplete"));
                            prop_assert!(job.destination.starts_with("/dl"));
                        }
                    }
                    Op::Finished(i, ticket, r) => if let Some(id) = nth(&m, i) {
                        let result = match r {
                            0 => Ok(PathBuf::from("/dl/x")),
                            1 => Err(FailReason::ConnectionLost),
                            2 => Err(FailReason::Overrun),
                            _ => Err(FailReason::Local("disk".into())),
                        };
                        m.on_finished(id, ticket, result, now);
                    },
                    Op::Denied(u, f, r) => {
                        let reason = reasons.get(usize::from(r)).cloned().unwrap_or(TransferRejectionReason::Unknown("Disallowed extension".into()));
                        m.on_upload_denied(&user(u), &PeerTransferQueueFailed { filename: file(f), reason }, now);
                    }
                    Op::Failed(u, f) => m.on_upload_failed(&user(u), &PeerUploadFailed { filename: file(f) }, now),
                    Op::Place(u, f, place) => m.on_place_in_queue(&user(u), &PeerPlaceInQueueReply { filename: file(f), place }),
                    Op::Offline(u) => m.user_offline(&user(u)),
                    Op::Online(u) => m.user_online(&user(u), now),
                    Op::Unreachable(u) => m.peer_unreachable(&user(u), now),
                    Op::Cancel(i) => if let Some(id) = nth(&m, i) { m.cancel(id) },
                    Op::Retry(i) => if let Some(id) = nth(&m, i) { m.retry(id, now) },
                    Op::Remove(i) => if let Some(id) = nth(&m, i) { m.remove(id); },
                    Op::Wait(secs) => {
                        now += Duration::from_secs(u64::from(secs));
                        m.handle_timeout(now);
                        prop_assert!(m.poll_timeout().is_none_or(|at| at > now));
                    }
                }
                drain(&mut m);
                // Each record reads back as the same download after a restart.
                for d in m.iter() {
                    let record = m.record(d.id).unwrap();
                    prop_assert_eq!(&record.user, &d.user);
                }
            }
        }
    }
}

/// The uploader logs out in the middle of a stream, again and again: the
/// download waits for them each time (never failing, however many times),
/// and asks again as soon as they are back.
#[test]
fn an_uploader_who_leaves_mid_stream_is_waited_for_not_failed() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, Some(1000), now);
    let max_attempts = m.config().max_attempts;
    for round in 0..max_attempts + 2 {
        let ticket = 100 + round;
        assert!(m.on_transfer_request("alice", &offer(ticket, FILE, Some(1000)), now));
        // No byte arrives before the break (progress would reset the count).
        let job = m.on_file_connection("alice", ticket, now).expect("a job");
        drain(&mut m);
        // The server says alice left; the stream is still going.
        m.user_offline("alice");
        assert!(matches!(state(&m, id), DownloadState::Transferring { .. }));
        // Then her connection breaks.
        m.on_finished(id, job.ticket, Err(FailReason::ConnectionLost), now);
        assert_eq!(
            state(&m, id),
            DownloadState::QueuedLocally { retry_at: None },
            "round {round}"
        );
        // Nothing is due while she is away.
        assert_eq!(m.poll_timeout(), None);
        assert!(sent(&drain(&mut m)).is_empty());
        m.user_online("alice", now);
        assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
        assert_eq!(state(&m, id), DownloadState::QueuedRemotely { place: None });
    }
    assert_eq!(m.get(id).unwrap().attempts, 0);
}

/// A QueueUpload lost on our side (not logged in yet) is sent again when
/// asked, with no failure counted; not to a user known to be offline.
#[test]
fn downloads_are_asked_for_again_after_our_own_outage() {
    let mut m = manager();
    let now = Instant::now();
    let id = m.enqueue("alice", FILE, None, now);
    drain(&mut m);
    m.ask_again("alice", now);
    assert_eq!(sent(&drain(&mut m)), vec![queue_upload("alice", FILE)]);
    assert_eq!(state(&m, id), DownloadState::QueuedRemotely { place: None });
    assert_eq!(m.get(id).unwrap().attempts, 0);
    // Other users' downloads, and an offline user's, are left alone.
    m.ask_again("bob", now);
    assert!(drain(&mut m).is_empty());
    m.user_offline("alice");
    drain(&mut m);
    m.ask_again("alice", now);
    assert!(sent(&drain(&mut m)).is_empty());
    assert_eq!(
        state(&m, id),
        DownloadState::QueuedLocally { retry_at: None }
    );
}
