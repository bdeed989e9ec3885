//! The distributed state machine, without sockets.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use slsk_proto::distributed::{
    DistributedBranchLevel, DistributedBranchRoot, DistributedMessage, DistributedSearchRequest,
    DistributedServerSearchRequest,
};
use slsk_proto::server::{
    AcceptChildrenRequest, BranchLevelRequest, BranchRootRequest, GetUserStatsResponse,
    LoginResponse, ParentMinSpeedResponse, ParentSpeedRatioResponse, PotentialParentsResponse,
    ResetDistributedResponse, ServerRequest, ServerResponse, ServerSearchRequestResponse,
    ToggleParentSearchRequest,
};
use slsk_proto::structures::{PotentialParent, UserStats};
use slsk_proto::{FramedMessage, Limits};

use super::state::{Action, ConnId, Machine};
use super::wire::encode;
use super::{DistributedConfig, DistributedEvent, MAX_CANDIDATES};

fn login() -> ServerResponse {
    ServerResponse::Login(LoginResponse::Success {
        greeting: String::new(),
        ip: Ipv4Addr::LOCALHOST,
        md5_hash: String::new(),
        is_supporter: false,
    })
}

fn machine_with(config: DistributedConfig, now: Instant) -> Machine {
    let mut m = Machine::new("me", config, Limits::DEFAULT);
    m.server_message(&login(), now);
    assert_eq!(drain(&mut m), [], "the session already said the defaults");
    m
}

fn machine(now: Instant) -> Machine {
    machine_with(DistributedConfig::default(), now)
}

fn drain(m: &mut Machine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn possible_parents(names: &[&str]) -> ServerResponse {
    PotentialParentsResponse {
        parents: names
            .iter()
            .map(|name| PotentialParent {
                username: (*name).into(),
                ip: Ipv4Addr::LOCALHOST,
                port: 2234,
            })
            .collect(),
    }
    .into()
}

fn level(level: u32) -> Bytes {
    encode(DistributedBranchLevel { level }).unwrap()
}

fn root(username: &str) -> Bytes {
    encode(DistributedBranchRoot {
        username: username.into(),
    })
    .unwrap()
}

fn search(username: &str, ticket: u32, query: &str) -> DistributedSearchRequest {
    DistributedSearchRequest {
        unknown: 49,
        username: username.into(),
        ticket,
        query: query.into(),
    }
}

fn server(request: impl Into<ServerRequest>) -> Action {
    Action::Server(request.into())
}

fn emit(event: DistributedEvent) -> Action {
    Action::Emit(event)
}

/// What the server hears when we have no parent: all four, as after a
/// reset or a lost parent.
fn no_parent_announcement(accept: bool) -> Vec<Action> {
    vec![
        server(ToggleParentSearchRequest { enable: true }),
        server(BranchLevelRequest { level: 0 }),
        server(BranchRootRequest {
            username: "me".into(),
        }),
        server(AcceptChildrenRequest { accept }),
    ]
}

/// A machine with `parent` (at `parent_level`, root `parent_root`) adopted
/// over connection 100.
fn with_parent(now: Instant, parent: &str, parent_level: u32, parent_root: &str) -> Machine {
    let mut m = machine(now);
    m.server_message(&possible_parents(&[parent]), now);
    assert_eq!(drain(&mut m), [Action::Connect(parent.into())]);
    m.connected(parent, 100, now);
    m.frame(100, level(parent_level), now);
    m.frame(100, root(parent_root), now);
    let actions = drain(&mut m);
    assert!(
        actions.contains(&emit(DistributedEvent::ParentAdopted {
            username: parent.into(),
            branch_level: parent_level + 1,
            branch_root: parent_root.into(),
        })),
        "{actions:?}"
    );
    m
}

/// Adds a child over `conn`, checking it is told our level and root.
fn add_child(m: &mut Machine, username: &str, conn: ConnId, our_level: u32, our_root: &str) {
    m.incoming(username, conn);
    let actions = drain(m);
    assert_eq!(
        actions[..3],
        [
            emit(DistributedEvent::ChildAdded {
                username: username.into()
            }),
            Action::Send {
                conn,
                frame: level(our_level)
            },
            Action::Send {
                conn,
                frame: root(our_root)
            },
        ],
        "{actions:?}"
    );
}

#[test]
fn candidates_are_dialled_and_the_first_with_level_and_root_is_adopted() {
    let now = Instant::now();
    let mut m = machine(now);
    let long = "x".repeat(super::MAX_NAME_BYTES + 1);
    m.server_message(
        &possible_parents(&["a", "b", "me", "", &long, "c", "a"]),
        now,
    );
    assert_eq!(
        drain(&mut m),
        [
            Action::Connect("a".into()),
            Action::Connect("b".into()),
            Action::Connect("c".into()),
        ],
        "never ourselves, an empty or overlong name, or twice the same"
    );
    m.connected("a", 1, now);
    m.connected("b", 2, now);
    m.frame(1, level(4), now);
    m.frame(2, level(2), now);
    assert_eq!(drain(&mut m), [], "a level alone (above 0) is not enough");
    m.frame(2, root("r"), now);
    assert_eq!(
        drain(&mut m),
        [
            Action::Close(1),
            emit(DistributedEvent::ParentAdopted {
                username: "b".into(),
                branch_level: 3,
                branch_root: "r".into(),
            }),
            server(ToggleParentSearchRequest { enable: false }),
            server(BranchLevelRequest { level: 3 }),
            server(BranchRootRequest {
                username: "r".into()
            }),
            server(AcceptChildrenRequest { accept: true }),
        ]
    );
    // c's dial finishes late: closed at once.
    m.connected("c", 3, now);
    assert_eq!(drain(&mut m), [Action::Close(3)]);
    let state = m.snapshot();
    assert_eq!(state.parent.as_deref(), Some("b"));
    assert_eq!((state.branch_level, state.branch_root.as_str()), (3, "r"));
    assert!(state.accepting_children);
    // A new list while we have a parent is ignored (as Nicotine+ does).
    m.server_message(&possible_parents(&["d"]), now);
    assert_eq!(drain(&mut m), []);
}

#[test]
fn a_root_candidate_need_not_send_its_root() {
    let now = Instant::now();
    let mut m = machine(now);
    m.server_message(&possible_parents(&["a"]), now);
    drain(&mut m);
    m.connected("a", 1, now);
    m.frame(1, level(0), now);
    let actions = drain(&mut m);
    assert!(actions.contains(&emit(DistributedEvent::ParentAdopted {
        username: "a".into(),
        branch_level: 1,
        branch_root: "a".into(),
    })));
}

#[test]
fn candidates_are_capped_and_failures_free_their_place() {
    let now = Instant::now();
    let mut m = machine(now);
    let names: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    m.server_message(&possible_parents(&refs), now);
    assert_eq!(drain(&mut m).len(), MAX_CANDIDATES);
    m.connect_failed("u0");
    m.server_message(&possible_parents(&refs), now);
    assert_eq!(drain(&mut m), [Action::Connect("u0".into())]);
}

#[test]
fn a_silent_or_garbling_or_lying_candidate_is_closed() {
    let now = Instant::now();
    let mut m = machine(now);
    m.server_message(
        &possible_parents(&["silent", "garbage", "deep", "loop", "empty"]),
        now,
    );
    drain(&mut m);
    for (i, name) in ["silent", "garbage", "deep", "loop", "empty"]
        .iter()
        .enumerate()
    {
        m.connected(name, i as ConnId, now);
    }
    m.frame(1, Bytes::from_static(&[2, 0, 0, 0, 4, 9]), now); // a level cut short
    m.frame(2, level(u32::MAX), now);
    m.frame(3, root("me"), now); // we would be our own ancestor
    m.frame(4, root(""), now);
    assert_eq!(
        drain(&mut m),
        [
            Action::Close(1),
            Action::Close(2),
            Action::Close(3),
            Action::Close(4)
        ]
    );
    let deadline = m.next_deadline().unwrap();
    assert_eq!(
        deadline,
        now + DistributedConfig::default().candidate_timeout
    );
    m.timer(deadline);
    assert_eq!(drain(&mut m), [Action::Close(0)]);
}

#[test]
fn without_a_parent_in_time_we_become_a_branch_root() {
    let now = Instant::now();
    let mut m = machine(now);
    m.incoming("kid", 1);
    assert_eq!(
        drain(&mut m),
        [Action::Close(1)],
        "no parent and not a root: no children"
    );
    let at = m.next_deadline().unwrap();
    assert_eq!(at, now + DistributedConfig::default().become_root_after);
    m.timer(at);
    let mut expected = vec![emit(DistributedEvent::BecameRoot)];
    expected.extend(no_parent_announcement(true));
    assert_eq!(drain(&mut m), expected);
    let state = m.snapshot();
    assert_eq!((state.branch_level, state.branch_root.as_str()), (0, "me"));
    assert!(state.accepting_children && state.parent.is_none());
    add_child(&mut m, "kid", 2, 0, "me");
    // A root with children keeps its branch.
    m.server_message(&possible_parents(&["other"]), now);
    assert_eq!(drain(&mut m), []);
}

#[test]
fn a_root_without_children_still_joins_a_tree() {
    let now = Instant::now();
    let mut m = machine(now);
    m.timer(now + Duration::from_secs(3600));
    drain(&mut m);
    m.server_message(&possible_parents(&["p"]), now);
    assert_eq!(drain(&mut m), [Action::Connect("p".into())]);
}

#[test]
fn an_embedded_search_from_the_server_makes_us_a_root_and_is_passed_down_unwrapped() {
    let now = Instant::now();
    let mut m = machine(now);
    let wanted = search("bob", 7, "moon safari");
    let frame = encode(wanted.clone()).unwrap();
    let embedded = ServerSearchRequestResponse {
        distributed_code: 3,
        payload: frame[5..].to_vec(),
    };
    m.server_message(&embedded.clone().into(), now);
    let mut expected = vec![emit(DistributedEvent::BecameRoot)];
    expected.extend(no_parent_announcement(true));
    expected.push(Action::Answer {
        username: "bob".into(),
        ticket: 7,
        query: "moon safari".into(),
    });
    assert_eq!(drain(&mut m), expected);
    add_child(&mut m, "kid", 1, 0, "me");
    let next = ServerSearchRequestResponse {
        distributed_code: 3,
        payload: encode(search("bob", 8, "air")).unwrap()[5..].to_vec(),
    };
    m.server_message(&next.into(), now);
    assert_eq!(
        drain(&mut m)[0],
        Action::ForwardToChildren(encode(search("bob", 8, "air")).unwrap()),
        "a code-3 frame, not the server's 93"
    );
    // Another embedded code is not a search: ignored.
    m.server_message(
        &ServerSearchRequestResponse {
            distributed_code: 4,
            payload: vec![1, 0, 0, 0],
        }
        .into(),
        now,
    );
    assert_eq!(drain(&mut m), []);
}

#[test]
fn a_search_from_the_parent_goes_down_as_the_same_bytes_and_is_answered_once() {
    let now = Instant::now();
    let mut m = with_parent(now, "p", 0, "p");
    add_child(&mut m, "k1", 1, 1, "p");
    add_child(&mut m, "k2", 2, 1, "p");
    assert_eq!(m.child_conns(), [1, 2]);
    let frame = encode(search("bob", 7, "moon safari")).unwrap();
    m.frame(100, frame.clone(), now);
    let actions = drain(&mut m);
    match &actions[..] {
        [
            Action::ForwardToChildren(forwarded),
            Action::Answer {
                username,
                ticket: 7,
                query,
            },
        ] => {
            assert_eq!(forwarded.as_ptr(), frame.as_ptr(), "the very bytes");
            assert_eq!(forwarded.len(), frame.len());
            assert_eq!((username.as_str(), query.as_str()), ("bob", "moon safari"));
        }
        other => panic!("{other:?}"),
    }
    m.frame(100, frame.clone(), now);
    assert_eq!(drain(&mut m), [], "a duplicate is dropped");
    // Our own search is passed down but not answered.
    let own = encode(search("me", 9, "x")).unwrap();
    m.frame(100, own.clone(), now);
    assert_eq!(drain(&mut m), [Action::ForwardToChildren(own)]);
    // A wrong identifier is dropped (Nicotine+ does too).
    let mut odd = search("bob", 10, "x");
    odd.unknown = 50;
    m.frame(100, encode(odd).unwrap(), now);
    assert_eq!(drain(&mut m), []);
    // A child's frames, and frames on unknown connections, are ignored.
    m.frame(1, encode(search("eve", 1, "x")).unwrap(), now);
    m.frame(55, encode(search("eve", 2, "x")).unwrap(), now);
    assert_eq!(drain(&mut m), []);
}

#[test]
fn an_obsolete_d93_from_the_parent_is_unwrapped_padded_or_bare() {
    let now = Instant::now();
    let mut m = with_parent(now, "p", 0, "p");
    add_child(&mut m, "k", 1, 1, "p");
    for (ticket, padded) in [(1, true), (2, false)] {
        let inner = encode(search("bob", ticket, "air")).unwrap();
        let d93 = DistributedMessage::from(DistributedServerSearchRequest {
            padded,
            distributed_code: 3,
            payload: inner[5..].to_vec(),
        });
        m.frame(100, Bytes::from(d93.to_frame().unwrap()), now);
        assert_eq!(drain(&mut m)[0], Action::ForwardToChildren(inner));
    }
}

#[test]
fn level_and_root_changes_reach_the_children_and_the_server() {
    let now = Instant::now();
    let mut m = with_parent(now, "p", 2, "r");
    add_child(&mut m, "k", 1, 3, "r");
    m.frame(100, level(5), now);
    assert_eq!(
        drain(&mut m),
        [
            Action::ForwardToChildren(level(6)),
            Action::ForwardToChildren(root("r")),
            emit(DistributedEvent::BranchChanged {
                branch_level: 6,
                branch_root: "r".into()
            }),
            server(BranchLevelRequest { level: 6 }),
        ]
    );
    m.frame(100, root("s"), now);
    assert_eq!(
        drain(&mut m),
        [
            Action::ForwardToChildren(level(6)),
            Action::ForwardToChildren(root("s")),
            emit(DistributedEvent::BranchChanged {
                branch_level: 6,
                branch_root: "s".into()
            }),
            server(BranchRootRequest {
                username: "s".into()
            }),
        ]
    );
    m.frame(100, root("s"), now);
    assert_eq!(drain(&mut m), [], "no change, nothing said");
    assert_eq!(m.snapshot().branch_level, 6);
}

#[test]
fn the_child_limit_holds_and_accept_children_follows_it() {
    let now = Instant::now();
    let config = DistributedConfig {
        max_children: Some(2),
        ..DistributedConfig::default()
    };
    let mut m = machine_with(config, now);
    m.server_message(&possible_parents(&["p"]), now);
    drain(&mut m);
    m.connected("p", 100, now);
    m.frame(100, level(0), now);
    drain(&mut m);
    add_child(&mut m, "k1", 1, 1, "p");
    m.incoming("k2", 2);
    assert_eq!(
        drain(&mut m).last(),
        Some(&server(AcceptChildrenRequest { accept: false })),
        "full"
    );
    m.incoming("k3", 3);
    assert_eq!(drain(&mut m), [Action::Close(3)]);
    // The same child again: a spare connection, told our place too and
    // given every search, until one of the two closes.
    m.incoming("k2", 4);
    let actions = drain(&mut m);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::Emit(_) | Action::Close(_)))
    );
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::Send { conn: 4, .. }))
    );
    assert_eq!(m.child_conns(), [1, 2, 4]);
    // The child kept the spare: the child stays.
    m.closed(2, now);
    assert!(drain(&mut m).iter().all(|a| !matches!(a, Action::Emit(_))));
    assert_eq!(m.child_conns(), [1, 4]);
    // A third connection replaces the spare, never the one in use.
    m.incoming("k2", 5);
    m.incoming("k2", 6);
    let actions = drain(&mut m);
    assert!(actions.contains(&Action::Close(5)), "{actions:?}");
    assert_eq!(m.child_conns(), [1, 4, 6]);
    m.closed(6, now);
    assert!(drain(&mut m).iter().all(|a| !matches!(a, Action::Emit(_))));
    assert_eq!(m.child_conns(), [1, 4], "the spare is forgotten");
    m.closed(1, now);
    assert_eq!(
        drain(&mut m),
        [
            emit(DistributedEvent::ChildRemoved {
                username: "k1".into()
            }),
            server(AcceptChildrenRequest { accept: true }),
        ]
    );
    assert_eq!(m.snapshot().children, ["k2"]);
    m.child_too_slow(4);
    assert_eq!(
        drain(&mut m)[..2],
        [
            Action::Close(4),
            emit(DistributedEvent::ChildRemoved {
                username: "k2".into()
            })
        ]
    );
    // Never ourselves, never the parent.
    m.incoming("me", 5);
    m.incoming("p", 6);
    assert_eq!(drain(&mut m), [Action::Close(5), Action::Close(6)]);
}

#[test]
fn the_limit_comes_from_our_speed_and_the_server_values() {
    let now = Instant::now();
    let limit_with = |speed: u32, min: u32, ratio: u32| {
        let mut m = machine(now);
        m.timer(now + Duration::from_secs(3600)); // a root: takes children
        m.server_message(
            &ParentMinSpeedResponse {
                parent_min_speed: min,
            }
            .into(),
            now,
        );
        m.server_message(
            &ParentSpeedRatioResponse {
                parent_speed_ratio: ratio,
            }
            .into(),
            now,
        );
        m.server_message(
            &GetUserStatsResponse {
                username: "me".into(),
                stats: UserStats {
                    avg_speed: speed,
                    uploads: 0,
                    shared_file_count: 0,
                    shared_folder_count: 0,
                },
            }
            .into(),
            now,
        );
        drain(&mut m);
        let mut taken = 0;
        for i in 0..20 {
            m.incoming(&format!("k{i}"), i);
            if !drain(&mut m).contains(&Action::Close(i)) {
                taken += 1;
            }
        }
        taken
    };
    assert_eq!(limit_with(0, 1, 50), 10, "speed never measured");
    assert_eq!(limit_with(50, 100, 1), 0, "below the minimum speed");
    assert_eq!(limit_with(3_000, 1, 10), 3);
    assert_eq!(limit_with(10_000_000, 1, 50), 10, "capped at 10");
}

#[test]
fn losing_the_parent_without_children_announces_no_parent() {
    let now = Instant::now();
    let mut m = with_parent(now, "p", 0, "p");
    m.closed(100, now);
    let mut expected = vec![
        Action::Close(100),
        emit(DistributedEvent::ParentLost {
            username: "p".into(),
        }),
    ];
    expected.extend(no_parent_announcement(false));
    assert_eq!(drain(&mut m), expected);
    let state = m.snapshot();
    assert_eq!(state.parent, None);
    assert_eq!(state.branch_root, "");
    // Looking again: the next list is dialled.
    m.server_message(&possible_parents(&["q"]), now);
    assert_eq!(drain(&mut m), [Action::Connect("q".into())]);
}

#[test]
fn losing_the_parent_with_children_keeps_them_under_us_as_a_root() {
    let now = Instant::now();
    let mut m = with_parent(now, "p", 3, "r");
    add_child(&mut m, "k", 1, 4, "r");
    // Garbage from the parent counts as losing it.
    m.frame(100, Bytes::from_static(&[1, 0, 0, 0, 5]), now);
    let mut expected = vec![
        Action::Close(100),
        emit(DistributedEvent::ParentLost {
            username: "p".into(),
        }),
        emit(DistributedEvent::BecameRoot),
        Action::ForwardToChildren(level(0)),
        Action::ForwardToChildren(root("me")),
    ];
    expected.extend(no_parent_announcement(true));
    assert_eq!(drain(&mut m), expected);
    assert_eq!(m.snapshot().children, ["k"]);
}

#[test]
fn a_parent_that_lies_about_its_place_is_dropped() {
    let now = Instant::now();
    for bad in [
        level(u32::MAX),
        level(super::MAX_BRANCH_LEVEL + 1),
        root("me"),
        root(""),
        root(&"x".repeat(super::MAX_NAME_BYTES + 1)),
    ] {
        let mut m = with_parent(now, "p", 0, "p");
        m.frame(100, bad, now);
        let actions = drain(&mut m);
        assert!(
            actions.contains(&emit(DistributedEvent::ParentLost {
                username: "p".into()
            })),
            "{actions:?}"
        );
    }
}

#[test]
fn reset_drops_parent_candidates_and_children() {
    let now = Instant::now();
    let mut m = with_parent(now, "p", 0, "p");
    add_child(&mut m, "k", 1, 1, "p");
    m.server_message(&ResetDistributedResponse.into(), now);
    let actions = drain(&mut m);
    let mut closed: Vec<ConnId> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Close(c) => Some(*c),
            _ => None,
        })
        .collect();
    closed.sort_unstable();
    assert_eq!(closed, [1, 100]);
    let rest: Vec<Action> = actions
        .into_iter()
        .filter(|a| !matches!(a, Action::Close(_)))
        .collect();
    let mut expected = vec![emit(DistributedEvent::Reset)];
    expected.extend(no_parent_announcement(false));
    assert_eq!(rest, expected);
    assert_eq!(m.snapshot(), Default::default());
    assert_eq!(m.child_conns(), [] as [ConnId; 0]);
}

#[test]
fn two_roots_naming_each_other_settle_on_the_smaller_name_as_parent() {
    let now = Instant::now();
    // "me" sorts after "alpha": alpha is the parent, its dial is refused.
    let mut m = machine(now);
    m.timer(now + Duration::from_secs(3600));
    m.server_message(&possible_parents(&["alpha"]), now);
    drain(&mut m);
    m.connected("alpha", 1, now);
    m.incoming("alpha", 7);
    assert_eq!(drain(&mut m), [Action::Close(7)]);
    m.frame(1, level(0), now);
    assert!(
        drain(&mut m).contains(&emit(DistributedEvent::ParentAdopted {
            username: "alpha".into(),
            branch_level: 1,
            branch_root: "alpha".into(),
        }))
    );

    // "me" sorts before "zulu": zulu becomes our child, and our dial to it
    // is closed.
    let mut m = machine(now);
    m.timer(now + Duration::from_secs(3600));
    m.server_message(&possible_parents(&["zulu"]), now);
    drain(&mut m);
    m.connected("zulu", 1, now);
    add_child_after(&mut m, "zulu", 7, [Action::Close(1)]);
    m.frame(1, level(0), now);
    assert_eq!(drain(&mut m), [], "the closed candidate is forgotten");
    assert_eq!(m.snapshot().parent, None);
}

/// Like [`add_child`], with `before` carried out first.
fn add_child_after<const N: usize>(
    m: &mut Machine,
    username: &str,
    conn: ConnId,
    before: [Action; N],
) {
    m.incoming(username, conn);
    let actions = drain(m);
    assert_eq!(actions[..N], before, "{actions:?}");
    assert_eq!(
        actions[N],
        emit(DistributedEvent::ChildAdded {
            username: username.into()
        }),
        "{actions:?}"
    );
}

#[test]
fn a_new_login_re_announces_what_differs_from_the_defaults() {
    let now = Instant::now();
    let mut m = with_parent(now, "p", 1, "r");
    m.server_message(&login(), now);
    assert_eq!(
        drain(&mut m),
        [
            server(ToggleParentSearchRequest { enable: false }),
            server(BranchLevelRequest { level: 2 }),
            server(BranchRootRequest {
                username: "r".into()
            }),
            server(AcceptChildrenRequest { accept: true }),
        ]
    );
}

#[test]
fn disabled_does_nothing() {
    let now = Instant::now();
    let config = DistributedConfig {
        enabled: false,
        ..DistributedConfig::default()
    };
    let mut m = machine_with(config, now);
    m.server_message(&possible_parents(&["p"]), now);
    m.server_message(
        &ServerSearchRequestResponse {
            distributed_code: 3,
            payload: encode(search("bob", 1, "x")).unwrap()[5..].to_vec(),
        }
        .into(),
        now,
    );
    m.incoming("kid", 1);
    assert_eq!(m.next_deadline(), None);
    assert_eq!(drain(&mut m), [Action::Close(1)]);
}

#[test]
fn a_ten_megabyte_root_never_reaches_the_machine() {
    use tokio_util::codec::Decoder;
    let big = "x".repeat(10 * 1024 * 1024);
    let frame = encode(DistributedBranchRoot { username: big }).unwrap();
    let mut src = bytes::BytesMut::from(&frame[..8]);
    let mut codec = super::wire::RawFrames::new(Limits::DEFAULT);
    let error = codec.decode(&mut src).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
}
