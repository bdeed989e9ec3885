//! The upload queue state machine, without sockets.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use slsk_proto::peer::{
    PeerMessage, PeerPlaceInQueueReply, PeerPlaceInQueueRequest, PeerTransferQueue,
    PeerTransferQueueFailed, PeerTransferReply, PeerTransferReplyOutcome, PeerTransferRequest,
    PeerUploadFailed,
};
use slsk_proto::server::{SendUploadSpeedRequest, ServerRequest};
use slsk_proto::tables::{TransferDirection, TransferRejectionReason};
use slsk_transfers::{
    SharedFile, UploadConfig, UploadFailure, UploadId, UploadManager, UploadOutcome, UploadOutput,
    UploadState,
};

/// A share of `name -> size` that tests can change while the queue runs.
#[derive(Clone, Default)]
struct Share(Rc<RefCell<HashMap<String, u64>>>);

impl Share {
    fn with(files: &[(&str, u64)]) -> Self {
        let share = Self::default();
        for (name, size) in files {
            share.0.borrow_mut().insert((*name).to_owned(), *size);
        }
        share
    }

    fn resolver(&self) -> impl Fn(&str) -> Option<SharedFile> + use<> {
        let files = self.0.clone();
        move |path: &str| {
            files.borrow().get(path).map(|&size| SharedFile {
                path: format!("/share/{path}").into(),
                size,
            })
        }
    }
}

type Manager = UploadManager<Box<dyn Fn(&str) -> Option<SharedFile>>>;

fn manager(config: UploadConfig, share: &Share) -> Manager {
    UploadManager::new(
        UploadConfig {
            first_ticket: Some(100),
            ..config
        },
        Box::new(share.resolver()),
    )
}

fn slots(n: usize) -> UploadConfig {
    UploadConfig {
        slots: n,
        ..UploadConfig::default()
    }
}

fn drain(m: &mut Manager) -> Vec<UploadOutput> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

fn sent(outputs: &[UploadOutput]) -> Vec<(String, PeerMessage)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            UploadOutput::Send { user, message } => Some((user.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

fn queue(m: &mut Manager, user: &str, file: &str, now: Instant) {
    m.on_queue_upload(
        user,
        &PeerTransferQueue {
            filename: file.into(),
        },
        now,
    );
}

fn denied(user: &str, file: &str, reason: &str) -> (String, PeerMessage) {
    (
        user.to_owned(),
        PeerTransferQueueFailed {
            filename: file.into(),
            reason: TransferRejectionReason::from_wire(reason.to_owned()),
        }
        .into(),
    )
}

/// The `TransferRequest`s in `outputs`, as (user, ticket, file, size).
fn offers(outputs: &[UploadOutput]) -> Vec<(String, u32, String, Option<u64>)> {
    sent(outputs)
        .into_iter()
        .filter_map(|(user, message)| match message {
            PeerMessage::PeerTransferRequest(r) => {
                assert_eq!(r.direction, TransferDirection::Upload);
                Some((user, r.ticket, r.filename, r.filesize))
            }
            _ => None,
        })
        .collect()
}

fn allow(m: &mut Manager, user: &str, ticket: u32, now: Instant) -> bool {
    m.on_transfer_reply(
        user,
        &PeerTransferReply {
            ticket,
            outcome: PeerTransferReplyOutcome::Allowed { filesize: None },
        },
        now,
    )
}

fn active_id(m: &Manager, user: &str) -> UploadId {
    m.iter()
        .find(|u| u.user == user && u.state != UploadState::Queued)
        .unwrap()
        .id
}

fn done(secs: u64, sent: u64) -> Result<UploadOutcome, UploadFailure> {
    Ok(UploadOutcome {
        offset: 0,
        sent,
        elapsed: Duration::from_secs(secs),
    })
}

#[test]
fn refusals_use_the_exact_strings() {
    let share = Share::with(&[("a.mp3", 10), ("..\\secret", 1), ("big.iso", 900)]);
    let config = UploadConfig {
        slots: 0, // keep everything queued
        max_files_per_user: 2,
        max_bytes_per_user: 1000,
        ..UploadConfig::default()
    };
    let mut m = manager(config, &share);
    let now = Instant::now();
    queue(&mut m, "u", "missing.mp3", now);
    // Even a path the resolver knows is refused when it climbs out.
    queue(&mut m, "u", "..\\secret", now);
    queue(&mut m, "u", "a\0.mp3", now);
    queue(&mut m, "u", "a.mp3", now);
    queue(&mut m, "u", "a.mp3", now); // duplicate: silently dropped
    share.0.borrow_mut().insert("b.mp3".into(), 200);
    queue(&mut m, "u", "big.iso", now); // 10 + 900 bytes: fits
    queue(&mut m, "u", "b.mp3", now); // a third file
    share.0.borrow_mut().insert("c.mp3".into(), 200);
    queue(&mut m, "v", "big.iso", now);
    queue(&mut m, "v", "c.mp3", now); // 900 + 200 > 1000
    m.set_banned("w", true);
    queue(&mut m, "w", "a.mp3", now);
    m.shutdown();
    queue(&mut m, "x", "a.mp3", now);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![
            denied("u", "missing.mp3", "File not shared."),
            denied("u", "..\\secret", "File not shared."),
            denied("u", "a\0.mp3", "File not shared."),
            denied("u", "b.mp3", "Too many files"),
            denied("v", "c.mp3", "Too many megabytes"),
            denied("w", "a.mp3", "Banned"),
            denied("x", "a.mp3", "Pending shutdown."),
        ]
    );
    assert_eq!(m.queue_length(), 3);
    assert!(!m.has_free_slot());
}

#[test]
fn legacy_direction_zero_is_answered_queued() {
    let share = Share::with(&[("a.mp3", 10)]);
    let mut m = manager(slots(1), &share);
    let now = Instant::now();
    let legacy = |ticket: u32, file: &str| PeerTransferRequest {
        direction: TransferDirection::Download,
        ticket,
        filename: file.into(),
        filesize: None,
    };
    let queued_reply = |ticket: u32, reason: &str| {
        (
            "snet".to_owned(),
            PeerMessage::from(PeerTransferReply {
                ticket,
                outcome: PeerTransferReplyOutcome::Rejected {
                    reason: Some(TransferRejectionReason::from_wire(reason.into())),
                },
            }),
        )
    };
    assert!(m.on_transfer_request("snet", &legacy(5, "a.mp3"), now));
    let out = drain(&mut m);
    // "Queued", then our own offer (direction 1) as a slot is free.
    assert_eq!(sent(&out)[0], queued_reply(5, "Queued"));
    assert_eq!(
        offers(&out),
        vec![("snet".into(), 100, "a.mp3".into(), Some(10))]
    );
    // Asking again: still "Queued"; a file not shared: the reason.
    assert!(m.on_transfer_request("snet", &legacy(6, "a.mp3"), now));
    assert!(m.on_transfer_request("snet", &legacy(7, "nope"), now));
    assert_eq!(
        sent(&drain(&mut m)),
        vec![
            queued_reply(6, "Queued"),
            queued_reply(7, "File not shared.")
        ]
    );
    // Direction 1 is for the download queue.
    let upload_offer = PeerTransferRequest {
        direction: TransferDirection::Upload,
        ..legacy(8, "a.mp3")
    };
    assert!(!m.on_transfer_request("snet", &upload_offer, now));
    assert!(drain(&mut m).is_empty());
}

#[test]
fn slots_one_per_user_and_round_robin() {
    let share = Share::with(&[("1", 1), ("2", 1), ("3", 1)]);
    let mut m = manager(slots(2), &share);
    let now = Instant::now();
    for user in ["a", "b", "c"] {
        for file in ["1", "2"] {
            queue(&mut m, user, file, now);
        }
    }
    // Two slots, one per user: a and b get theirs.
    let first = offers(&drain(&mut m));
    assert_eq!(
        first
            .iter()
            .map(|o| (o.0.as_str(), o.2.as_str()))
            .collect::<Vec<_>>(),
        [("a", "1"), ("b", "1")]
    );
    assert_eq!(m.queue_length(), 4);
    // Serving order from here: c (never served), then a, then b.
    let mut order = Vec::new();
    for (user, ticket, file, _) in first {
        order.push((user.clone(), file));
        assert!(allow(&mut m, &user, ticket, now));
    }
    let mut rounds = 0;
    while m.iter().next().is_some() && rounds < 20 {
        rounds += 1;
        // Finish the oldest active upload.
        let id = m
            .iter()
            .find(|u| matches!(u.state, UploadState::Connecting { .. }))
            .unwrap()
            .id;
        m.on_file_connection_open(id);
        m.on_finished(id, done(1, 1), now);
        for (user, ticket, file, _) in offers(&drain(&mut m)) {
            order.push((user.clone(), file));
            assert!(allow(&mut m, &user, ticket, now));
        }
    }
    let users: Vec<&str> = order.iter().map(|o| o.0.as_str()).collect();
    assert_eq!(users, ["a", "b", "c", "a", "b", "c"]);
    assert!(m.has_free_slot());
}

#[test]
fn privileged_users_go_first() {
    let share = Share::with(&[("1", 1), ("2", 1)]);
    let mut m = manager(slots(1), &share);
    let now = Instant::now();
    queue(&mut m, "a", "1", now);
    queue(&mut m, "a", "2", now);
    queue(&mut m, "b", "1", now);
    queue(&mut m, "vip", "1", now);
    queue(&mut m, "vip", "2", now);
    m.set_privileged("vip", true);
    let out = offers(&drain(&mut m));
    assert_eq!(out[0].0, "a");
    // Places: vip's two files first, then b (never served), then a.
    let place = |m: &mut Manager, user: &str, file: &str| {
        m.on_place_in_queue_request(
            user,
            &PeerPlaceInQueueRequest {
                filename: file.into(),
            },
        );
        sent(&drain(m))
            .into_iter()
            .find_map(|(_, message)| match message {
                PeerMessage::PeerPlaceInQueueReply(PeerPlaceInQueueReply { place, .. }) => {
                    Some(place)
                }
                _ => None,
            })
    };
    assert_eq!(place(&mut m, "vip", "1"), Some(1));
    assert_eq!(place(&mut m, "vip", "2"), Some(2));
    assert_eq!(place(&mut m, "b", "1"), Some(3));
    assert_eq!(place(&mut m, "a", "2"), Some(4));
    // Not queued (active, or unknown): no answer.
    assert_eq!(place(&mut m, "a", "1"), None);
    assert_eq!(place(&mut m, "zed", "1"), None);
    // The slot frees: vip, twice in a row (privileged only compete with
    // privileged), then b.
    let mut next = out[0].clone();
    let mut served = Vec::new();
    for _ in 0..3 {
        assert!(allow(&mut m, &next.0, next.1, now));
        let id = active_id(&m, &next.0);
        m.on_finished(id, done(1, 1), now);
        next = offers(&drain(&mut m)).remove(0);
        served.push(next.0.clone());
    }
    assert_eq!(served, ["vip", "vip", "b"]);
}

#[test]
fn replies_connections_and_ends() {
    let share = Share::with(&[("f", 4000)]);
    let mut m = manager(slots(1), &share);
    let now = Instant::now();
    queue(&mut m, "a", "f", now);
    queue(&mut m, "b", "f", now);
    let (_, ticket, _, _) = offers(&drain(&mut m)).remove(0);
    // A reply with a wrong ticket or from someone else is not ours.
    assert!(!allow(&mut m, "a", ticket + 1, now));
    assert!(!allow(&mut m, "b", ticket, now));
    assert!(allow(&mut m, "a", ticket, now));
    let out = drain(&mut m);
    let id = active_id(&m, "a");
    assert_eq!(
        out,
        vec![UploadOutput::OpenFileConnection {
            id,
            user: "a".into(),
            ticket,
            file: SharedFile {
                path: "/share/f".into(),
                size: 4000
            },
        }]
    );
    m.on_file_connection_open(id);
    assert_eq!(
        m.get(id).unwrap().state,
        UploadState::Transferring { ticket }
    );
    // Done in 2 s: 2000 B/s goes to the server, and b is offered the file.
    m.on_finished(id, done(2, 4000), now);
    let out = drain(&mut m);
    assert!(
        out.contains(&UploadOutput::SendServer(ServerRequest::SendUploadSpeed(
            SendUploadSpeedRequest { speed: 2000 }
        )))
    );
    assert!(out.contains(&UploadOutput::Ended {
        id,
        completed: true
    }));
    assert_eq!(offers(&out)[0].0, "b");
    assert_eq!(m.average_speed(), 2000);
    // A refused offer frees the slot.
    let b_ticket = offers(&out)[0].1;
    assert!(m.on_transfer_reply(
        "b",
        &PeerTransferReply {
            ticket: b_ticket,
            outcome: PeerTransferReplyOutcome::Rejected {
                reason: Some(TransferRejectionReason::Cancelled)
            },
        },
        now
    ));
    assert!(m.iter().next().is_none());
    assert!(m.has_free_slot());
}

#[test]
fn failures_tell_the_downloader() {
    let share = Share::with(&[("f", 10)]);
    let now = Instant::now();
    for (failure, expected) in [
        (
            UploadFailure::Connection,
            PeerMessage::from(PeerUploadFailed {
                filename: "f".into(),
            }),
        ),
        (
            UploadFailure::FileRead,
            denied("a", "f", "File read error.").1,
        ),
        (
            UploadFailure::OffsetPastEnd,
            denied("a", "f", "Cancelled").1,
        ),
    ] {
        let mut m = manager(slots(1), &share);
        queue(&mut m, "a", "f", now);
        let (_, ticket, _, _) = offers(&drain(&mut m)).remove(0);
        allow(&mut m, "a", ticket, now);
        drain(&mut m);
        let id = active_id(&m, "a");
        m.on_finished(id, Err(failure), now);
        assert_eq!(sent(&drain(&mut m)), vec![("a".to_owned(), expected)]);
        assert!(m.get(id).is_none());
    }
    // An offline user is not told about the broken connection.
    let mut m = manager(slots(1), &share);
    queue(&mut m, "a", "f", now);
    let (_, ticket, _, _) = offers(&drain(&mut m)).remove(0);
    allow(&mut m, "a", ticket, now);
    m.user_offline("a");
    drain(&mut m);
    m.on_finished(active_id(&m, "a"), Err(UploadFailure::Connection), now);
    assert!(sent(&drain(&mut m)).is_empty());
}

#[test]
fn timeouts_free_the_slot() {
    let share = Share::with(&[("f", 10)]);
    let mut m = manager(slots(1), &share);
    let now = Instant::now();
    queue(&mut m, "a", "f", now);
    queue(&mut m, "b", "f", now);
    drain(&mut m);
    // No reply to a's offer within 30 s: dropped, b is offered.
    assert_eq!(m.poll_timeout(), Some(now + Duration::from_secs(30)));
    m.handle_timeout(now + Duration::from_secs(29));
    assert!(offers(&drain(&mut m)).is_empty());
    let later = now + Duration::from_secs(30);
    m.handle_timeout(later);
    let (user, ticket, _, _) = offers(&drain(&mut m)).remove(0);
    assert_eq!(user, "b");
    // b allows, but the file connection never opens: UploadFailed.
    allow(&mut m, "b", ticket, later);
    drain(&mut m);
    let deadline = later + Duration::from_secs(60);
    assert_eq!(m.poll_timeout(), Some(deadline));
    m.handle_timeout(deadline);
    assert_eq!(
        sent(&drain(&mut m)),
        vec![(
            "b".to_owned(),
            PeerUploadFailed {
                filename: "f".into()
            }
            .into()
        )]
    );
    assert_eq!(m.poll_timeout(), None);
    // The driver's own connect failure does the same.
    queue(&mut m, "c", "f", deadline);
    let (_, ticket, _, _) = offers(&drain(&mut m)).remove(0);
    allow(&mut m, "c", ticket, deadline);
    drain(&mut m);
    m.on_connect_failed(active_id(&m, "c"), deadline);
    assert_eq!(sent(&drain(&mut m)).len(), 1);
}

#[test]
fn a_file_gone_from_the_share_is_denied_when_its_turn_comes() {
    let share = Share::with(&[("f", 10), ("g", 20)]);
    let mut m = manager(slots(1), &share);
    let now = Instant::now();
    queue(&mut m, "a", "f", now);
    queue(&mut m, "b", "g", now);
    queue(&mut m, "c", "f", now);
    let (_, ticket, _, _) = offers(&drain(&mut m)).remove(0);
    share.0.borrow_mut().remove("g");
    share.0.borrow_mut().insert("f".into(), 11); // changed size: announced anew
    allow(&mut m, "a", ticket, now);
    m.on_finished(active_id(&m, "a"), done(1, 10), now);
    let out = drain(&mut m);
    assert!(sent(&out).contains(&denied("b", "g", "File not shared.")));
    assert_eq!(
        offers(&out),
        vec![("c".into(), ticket + 1, "f".into(), Some(11))]
    );
}

#[test]
fn cancel_offline_and_slot_changes() {
    let share = Share::with(&[("f", 10), ("g", 10)]);
    let mut m = manager(slots(0), &share);
    let now = Instant::now();
    queue(&mut m, "a", "f", now);
    queue(&mut m, "a", "g", now);
    queue(&mut m, "b", "f", now);
    assert_eq!(m.queue_length(), 3);
    m.user_offline("a");
    assert_eq!(m.queue_length(), 1);
    let b = m.iter().next().unwrap().id;
    drain(&mut m);
    m.cancel(b, now);
    assert_eq!(
        drain(&mut m),
        vec![
            UploadOutput::Send {
                user: "b".into(),
                message: denied("b", "f", "Cancelled").1
            },
            UploadOutput::Ended {
                id: b,
                completed: false
            }
        ]
    );
    queue(&mut m, "b", "f", now);
    assert!(offers(&drain(&mut m)).is_empty());
    m.set_slots(1, now);
    assert_eq!(offers(&drain(&mut m)).len(), 1);
    // A ban drops what is waiting.
    queue(&mut m, "c", "f", now);
    m.set_banned("c", true);
    assert_eq!(m.queue_length(), 0);
}

#[test]
fn average_speed_follows_the_server_formula() {
    let share = Share::with(&[("f", 10)]);
    let mut m = manager(slots(1), &share);
    let now = Instant::now();
    for (i, speed) in [1000u64, 3000, 5000].into_iter().enumerate() {
        let user = format!("u{i}");
        queue(&mut m, &user, "f", now);
        let (_, ticket, _, _) = offers(&drain(&mut m)).remove(0);
        allow(&mut m, &user, ticket, now);
        m.on_finished(active_id(&m, &user), done(1, speed), now);
    }
    assert_eq!(m.average_speed(), 3000);
    // A zero-speed upload is not reported.
    queue(&mut m, "z", "f", now);
    let (_, ticket, _, _) = offers(&drain(&mut m)).remove(0);
    allow(&mut m, "z", ticket, now);
    m.on_finished(active_id(&m, "z"), done(1, 0), now);
    assert!(
        !drain(&mut m)
            .iter()
            .any(|o| matches!(o, UploadOutput::SendServer(_)))
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Queue(u8, u8),
        Legacy(u8, u8, u32),
        Reply(u8, u32, bool),
        Open(u8),
        Finish(u8, u8),
        ConnectFailed(u8),
        Place(u8, u8),
        Cancel(u8),
        Offline(u8),
        Online(u8),
        Ban(u8, bool),
        Privileged(u8, bool),
        Unshare(u8),
        Wait(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..6u8, 0..8u8).prop_map(|(u, f)| Op::Queue(u, f)),
            1 => (0..6u8, 0..8u8, any::<u32>()).prop_map(|(u, f, t)| Op::Legacy(u, f, t)),
            // Tickets near the first one, so some replies match.
            3 => (0..6u8, 100..130u32, any::<bool>()).prop_map(|(u, t, a)| Op::Reply(u, t, a)),
            2 => (0..40u8).prop_map(Op::Open),
            3 => (0..40u8, 0..4u8).prop_map(|(i, r)| Op::Finish(i, r)),
            1 => (0..40u8).prop_map(Op::ConnectFailed),
            1 => (0..6u8, 0..8u8).prop_map(|(u, f)| Op::Place(u, f)),
            1 => (0..40u8).prop_map(Op::Cancel),
            1 => (0..6u8).prop_map(Op::Offline),
            1 => (0..6u8).prop_map(Op::Online),
            1 => (0..6u8, any::<bool>()).prop_map(|(u, b)| Op::Ban(u, b)),
            1 => (0..6u8, any::<bool>()).prop_map(|(u, b)| Op::Privileged(u, b)),
            1 => (0..8u8).prop_map(Op::Unshare),
            1 => (0..120u16).prop_map(Op::Wait),
        ]
    }

    proptest! {
        /// Any sequence of inputs: no panic, at most `slots` uploads hold a
        /// slot, one per user, the counters agree, and every deadline is in
        /// the future after `handle_timeout`.
        #[test]
        fn invariants_hold(ops in prop::collection::vec(op(), 1..120)) {
            let files: Vec<(String, u64)> = (0..8).map(|f| (format!("f{f}"), 10 + f)).collect();
            let share = Share::default();
            for (name, size) in &files {
                share.0.borrow_mut().insert(name.clone(), *size);
            }
            let config = UploadConfig { slots: 2, max_files_per_user: 5, max_bytes_per_user: 60, ..UploadConfig::default() };
            let mut m = manager(config, &share);
            let mut now = Instant::now();
            let user = |u: u8| format!("u{u}");
            let nth = |m: &Manager, i: u8| m.iter().nth(usize::from(i)).map(|u| u.id);
            for op in ops {
                match op {
                    Op::Queue(u, f) => queue(&mut m, &user(u), &format!("f{f}"), now),
                    Op::Legacy(u, f, ticket) => {
                        let request = PeerTransferRequest { direction: TransferDirection::Download, ticket, filename: format!("f{f}"), filesize: None };
                        prop_assert!(m.on_transfer_request(&user(u), &request, now));
                    }
                    Op::Reply(u, ticket, allowed) => {
                        let outcome = if allowed {
                            PeerTransferReplyOutcome::Allowed { filesize: None }
                        } else {
                            PeerTransferReplyOutcome::Rejected { reason: None }
                        };
                        m.on_transfer_reply(&user(u), &PeerTransferReply { ticket, outcome }, now);
                    }
                    Op::Open(i) => if let Some(id) = nth(&m, i) { m.on_file_connection_open(id) },
                    Op::Finish(i, r) => if let Some(id) = nth(&m, i) {
                        let result = match r {
                            0 => done(1, 10),
                            1 => Err(UploadFailure::Connection),
                            2 => Err(UploadFailure::FileRead),
                            _ => Err(UploadFailure::OffsetPastEnd),
                        };
                        m.on_finished(id, result, now);
                    },
                    Op::ConnectFailed(i) => if let Some(id) = nth(&m, i) { m.on_connect_failed(id, now) },
                    Op::Place(u, f) => m.on_place_in_queue_request(&user(u), &PeerPlaceInQueueRequest { filename: format!("f{f}") }),
                    Op::Cancel(i) => if let Some(id) = nth(&m, i) { m.cancel(id, now) },
                    Op::Offline(u) => m.user_offline(&user(u)),
                    Op::Online(u) => m.user_online(&user(u)),
                    Op::Ban(u, b) => m.set_banned(&user(u), b),
                    Op::Privileged(u, b) => m.set_privileged(&user(u), b),
                    Op::Unshare(f) => { share.0.borrow_mut().remove(&format!("f{f}")); }
                    Op::Wait(secs) => {
                        now += Duration::from_secs(u64::from(secs));
                        m.handle_timeout(now);
                        prop_assert!(m.poll_timeout().is_none_or(|at| at > now));
                    }
                }
                drain(&mut m);
                let holding: Vec<&str> = m.iter().filter(|u| u.state != UploadState::Queued).map(|u| u.user.as_str()).collect();
                prop_assert!(holding.len() <= 2);
                let mut unique = holding.clone();
                unique.sort();
                unique.dedup();
                prop_assert_eq!(unique.len(), holding.len());
                let queued = m.iter().filter(|u| u.state == UploadState::Queued).count();
                prop_assert_eq!(m.queue_length() as usize, queued);
            }
        }
    }
}
