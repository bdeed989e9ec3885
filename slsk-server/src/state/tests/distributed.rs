//! The distributed tree: candidate parents, search delivery, resets.

use super::*;
use slsk_proto::distributed::{DistributedMessage, DistributedSearchRequest};
use slsk_proto::structures::PotentialParent;

const PORT: u32 = 2234;

/// What a user reports about its place in the tree.
struct Report<'a> {
    no_parent: bool,
    accepts: bool,
    level: u32,
    root: &'a str,
}

/// A user without a parent, at level 0 and its own root (what clients send
/// after login).
fn seeking(name: &str, accepts: bool) -> Report<'_> {
    Report {
        no_parent: true,
        accepts,
        level: 0,
        root: name,
    }
}

/// A user with a parent in `root`'s branch.
fn member<'a>(root: &'a str, level: u32, accepts: bool) -> Report<'a> {
    Report {
        no_parent: false,
        accepts,
        level,
        root,
    }
}

impl Harness {
    /// Logs in with a listening port and an upload speed.
    fn login_fast(&mut self, name: &str, speed: u32) -> ConnId {
        let conn = self.login(name, "pw");
        self.request(
            conn,
            SetListenPortRequest {
                port: PORT,
                obfuscation_type: None,
                obfuscated_port: None,
            },
        );
        if speed > 0 {
            self.request(conn, SendUploadSpeedRequest { speed });
        }
        conn
    }

    /// Sends the reports in the order aioslsk does; returns the outputs.
    fn report(&mut self, conn: ConnId, report: Report<'_>) -> Vec<Output> {
        let mut out = self.request(
            conn,
            BranchLevelRequest {
                level: report.level,
            },
        );
        out.extend(self.request(
            conn,
            BranchRootRequest {
                username: report.root.into(),
            },
        ));
        out.extend(self.request(
            conn,
            ToggleParentSearchRequest {
                enable: report.no_parent,
            },
        ));
        out.extend(self.request(
            conn,
            AcceptChildrenRequest {
                accept: report.accepts,
            },
        ));
        out
    }

    /// Time passes, then the timers run.
    fn wait(&mut self, duration: Duration) -> Vec<Output> {
        self.now.instant += duration;
        self.now.unix += duration.as_secs();
        self.state.tick(self.now);
        self.settle()
    }

    fn search(&mut self, conn: ConnId, ticket: u32, query: &str) -> Vec<Output> {
        self.request(
            conn,
            FileSearchRequest {
                ticket,
                query: query.into(),
            },
        )
    }
}

/// The candidate names of the one PossibleParents sent to `conn`, if any.
fn offered(out: &[Output], conn: ConnId) -> Option<Vec<String>> {
    let offers: Vec<Vec<String>> = sent_to(out, conn)
        .into_iter()
        .filter_map(|m| match m {
            ServerResponse::PotentialParents(p) => {
                Some(p.parents.into_iter().map(|p| p.username).collect())
            }
            _ => None,
        })
        .collect();
    assert!(offers.len() <= 1, "{offers:?}");
    offers.into_iter().next()
}

fn file_search(searcher: &str, ticket: u32, query: &str) -> ServerResponse {
    FileSearchResponse {
        username: searcher.into(),
        ticket,
        query: query.into(),
    }
    .into()
}

/// The search inside an EmbeddedMessage(93).
fn embedded(message: &ServerResponse) -> DistributedSearchRequest {
    let ServerResponse::ServerSearchRequest(m) = message else {
        panic!("not an EmbeddedMessage: {message:?}");
    };
    assert_eq!(m.distributed_code, 3);
    match m.embedded().unwrap() {
        DistributedMessage::DistributedSearchRequest(search) => search,
        other => panic!("{other:?}"),
    }
}

fn reset() -> ServerResponse {
    ResetDistributedResponse.into()
}

#[test]
fn parent_speed_settings_come_from_the_config() {
    let mut h = Harness::with(ServerConfig {
        parent_min_speed: 7,
        parent_speed_ratio: 30,
        ..config()
    });
    let conn = h.connect();
    let out = h.request(conn, login_request("alice", "pw"));
    let sent = sent_to(&out, conn);
    assert!(
        sent.contains(
            &ParentMinSpeedResponse {
                parent_min_speed: 7
            }
            .into()
        )
    );
    assert!(
        sent.contains(
            &ParentSpeedRatioResponse {
                parent_speed_ratio: 30
            }
            .into()
        )
    );
}

#[test]
fn reports_are_tracked_and_forgotten_at_logout() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    assert_eq!(
        h.state.distributed("alice"),
        Some(DistributedInfo {
            has_parent: false,
            seeking_parent: false,
            accepts_children: false,
            branch_level: 0,
            branch_root: "alice".into(),
            child_depth: 0,
            is_branch_root: false,
        })
    );
    let bob = h.login("bob", "pw");
    h.report(bob, seeking("bob", true));
    h.report(alice, member("bob", 1, true));
    h.request(alice, ChildDepthRequest { depth: 3 });
    h.request(
        alice,
        ParentIPRequest {
            ip: Ipv4Addr::new(1, 2, 3, 4),
        },
    );
    assert_eq!(
        h.state.distributed("alice"),
        Some(DistributedInfo {
            has_parent: true,
            seeking_parent: false,
            accepts_children: true,
            branch_level: 1,
            branch_root: "bob".into(),
            child_depth: 3,
            is_branch_root: false,
        })
    );
    let bob_info = h.state.distributed("bob").unwrap();
    assert!(bob_info.seeking_parent && bob_info.is_branch_root);
    assert_eq!(
        h.state.branch_members("bob"),
        Some(&BTreeSet::from(["alice".to_owned()]))
    );

    h.state.disconnected(alice, h.now);
    h.settle();
    assert_eq!(h.state.distributed("alice"), None);
    assert_eq!(h.state.branch_members("bob"), None);
    let alice = h.login("alice", "pw");
    assert!(!h.state.distributed("alice").unwrap().has_parent);
    h.state.disconnected(alice, h.now);
}

#[test]
fn candidates_are_ten_of_the_fastest_that_accept_children() {
    let mut h = Harness::new();
    let asker = h.login_fast("asker", 10);
    // Twelve roots that accept children, speeds 100..=1200.
    for i in 1..=12u32 {
        let name = format!("fast{i:02}");
        let conn = h.login_fast(&name, i * 100);
        h.report(conn, seeking(&name, true));
    }
    // Faster, but refusing children, without a port, or neither in a tree
    // nor a root (never said it has no parent): never offered.
    let refuses = h.login_fast("refuses", 9000);
    h.report(refuses, seeking("refuses", false));
    let portless = h.login("portless", "pw");
    h.request(portless, SendUploadSpeedRequest { speed: 9000 });
    h.report(portless, seeking("portless", true));
    let outsider = h.login_fast("outsider", 9000);
    h.request(outsider, AcceptChildrenRequest { accept: true });
    // Slower than the asker: never offered either.
    let slow = h.login_fast("slow", 5);
    h.report(slow, seeking("slow", true));

    let out = h.report(asker, seeking("asker", false));
    assert_eq!(offered(&out, asker), None, "offered at the next tick");
    let out = h.wait(Duration::from_secs(1));
    let expected: Vec<String> = (3..=12).rev().map(|i| format!("fast{i:02}")).collect();
    assert_eq!(offered(&out, asker), Some(expected));
    let ServerResponse::PotentialParents(reply) = &sent_to(&out, asker)[0] else {
        panic!()
    };
    assert_eq!(
        reply.parents[0],
        PotentialParent {
            username: "fast12".into(),
            ip: Ipv4Addr::LOCALHOST,
            port: PORT,
        }
    );
    // The candidates themselves asked too: each is offered only faster
    // ones, and the fastest none.
    assert_eq!(offered(&out, h.state.session("fast12").unwrap().conn), None);
    assert_eq!(
        offered(&out, h.state.session("fast11").unwrap().conn),
        Some(vec!["fast12".into()])
    );
    // Nobody outranks the users at speed 9000: nothing for them.
    assert_eq!(offered(&out, refuses), None);
    assert!(!h.state.distributed("refuses").unwrap().is_branch_root);
}

#[test]
fn candidates_exclude_the_askers_branch_and_take_tree_members() {
    let mut h = Harness::new();
    let asker = h.login_fast("asker", 10);
    let top = h.login_fast("top", 1000);
    h.report(top, seeking("top", true));
    // A fast member of the asker's own branch (its child, say).
    let child = h.login_fast("child", 900);
    h.report(child, member("asker", 1, true));
    // A member of another branch: a fine candidate.
    let other = h.login_fast("other", 800);
    h.report(other, member("top", 1, true));
    h.report(asker, seeking("asker", true));
    let out = h.wait(Duration::from_secs(1));
    assert_eq!(
        offered(&out, asker),
        Some(vec!["top".to_owned(), "other".to_owned()])
    );

    // An asker still naming an old root: that whole branch is left out (its
    // own children may be in it).
    let late = h.login_fast("late", 1);
    h.report(
        late,
        Report {
            no_parent: true,
            accepts: false,
            level: 2,
            root: "top",
        },
    );
    let out = h.wait(Duration::from_secs(1));
    assert_eq!(
        offered(&out, late),
        Some(vec!["top".into(), "child".into(), "asker".into()]),
        "not other"
    );
}

#[test]
fn offers_repeat_at_the_interval_until_a_parent_is_reported() {
    let mut h = Harness::with(ServerConfig {
        possible_parents_interval: Duration::from_secs(10),
        ..config()
    });
    let top = h.login_fast("top", 1000);
    h.report(top, seeking("top", true));
    let asker = h.login_fast("asker", 1);
    h.report(asker, seeking("asker", false));
    assert!(offered(&h.wait(Duration::from_secs(1)), asker).is_some());
    // Saying "no parent" again does not bring the next offer forward.
    h.request(asker, ToggleParentSearchRequest { enable: true });
    assert_eq!(offered(&h.wait(Duration::from_secs(9)), asker), None);
    assert!(offered(&h.wait(Duration::from_secs(1)), asker).is_some());
    assert_eq!(offered(&h.wait(Duration::from_secs(5)), asker), None);
    assert!(offered(&h.wait(Duration::from_secs(5)), asker).is_some());

    h.report(asker, member("top", 1, true));
    assert!(!h.state.distributed("asker").unwrap().seeking_parent);
    for _ in 0..3 {
        assert_eq!(offered(&h.wait(Duration::from_secs(10)), asker), None);
    }
    // Its parent lost: offers start again.
    h.report(asker, seeking("asker", true));
    assert!(offered(&h.wait(Duration::from_secs(1)), asker).is_some());
}

#[test]
fn only_users_that_accept_children_or_have_them_are_roots() {
    let mut h = Harness::new();
    let alone = h.login_fast("alone", 0);
    h.report(alone, seeking("alone", false));
    let out = h.wait(Duration::from_secs(1));
    assert_eq!(out, vec![], "no candidate: nothing sent");
    // Refusing children, it cannot pass searches on: searched directly.
    assert!(!h.state.distributed("alone").unwrap().is_branch_root);
    let searcher = h.login_fast("searcher", 0);
    let out = h.search(searcher, 1, "q");
    assert_eq!(sent_to(&out, alone), [file_search("searcher", 1, "q")]);
    // Accepting children, it is a root.
    h.request(alone, AcceptChildrenRequest { accept: true });
    assert!(h.state.distributed("alone").unwrap().is_branch_root);
    // Refusing again but with a child naming it: still a root.
    let child = h.login_fast("child", 0);
    h.report(child, member("alone", 1, false));
    h.request(alone, AcceptChildrenRequest { accept: false });
    assert!(h.state.distributed("alone").unwrap().is_branch_root);
    // Until it reports a parent itself.
    let top = h.login_fast("top", 50);
    h.report(top, seeking("top", true));
    h.report(alone, member("top", 1, false));
    assert!(!h.state.distributed("alone").unwrap().is_branch_root);
}

#[test]
fn searches_go_to_roots_embedded_and_directly_to_the_rest() {
    let mut h = Harness::new();
    let searcher = h.login_fast("searcher", 0);
    let root = h.login_fast("root", 100);
    h.report(root, seeking("root", true));
    let tree_member = h.login_fast("member", 50);
    h.report(tree_member, member("root", 1, true));
    let deep = h.login_fast("deep", 40);
    h.report(deep, member("root", 2, false));
    // Said no parent, refuses children, not yet offered anything.
    let parentless = h.login_fast("parentless", 10);
    h.report(parentless, seeking("parentless", false));
    // Never took part in the tree at all.
    let bystander = h.login_fast("bystander", 0);
    // Names a root that is online but has a parent itself (its update has
    // not come down the tree yet).
    let stale = h.login_fast("stale", 30);
    h.report(stale, member("deep", 3, false));

    let out = h.search(searcher, 7, "jazz");
    let to_root = sent_to(&out, root);
    assert_eq!(to_root.len(), 1);
    assert_eq!(
        embedded(&to_root[0]),
        DistributedSearchRequest {
            unknown: 49,
            username: "searcher".into(),
            ticket: 7,
            query: "jazz".into(),
        }
    );
    assert_eq!(sent_to(&out, tree_member), [], "the tree brings it");
    assert_eq!(sent_to(&out, deep), []);
    for conn in [parentless, bystander, stale] {
        assert_eq!(sent_to(&out, conn), [file_search("searcher", 7, "jazz")]);
    }
    assert_eq!(sent_to(&out, searcher), []);
    // All 93s first, then all 26s: each is encoded once by the driver.
    assert!(matches!(
        out[0],
        Output::Send {
            message: ServerResponse::ServerSearchRequest(_),
            ..
        }
    ));

    // Wishlist searches go the same way.
    let out = h.request(
        searcher,
        WishlistSearchRequest {
            ticket: 8,
            query: "blues".into(),
        },
    );
    assert_eq!(embedded(&sent_to(&out, root)[0]).ticket, 8);
    assert_eq!(sent_to(&out, tree_member), []);
    assert_eq!(
        sent_to(&out, bystander),
        [file_search("searcher", 8, "blues")]
    );

    // The root searches: it gets nothing, so its own branch is searched
    // directly; the others as before.
    let out = h.search(root, 9, "folk");
    assert_eq!(sent_to(&out, root), []);
    assert_eq!(sent_to(&out, tree_member), [file_search("root", 9, "folk")]);
    assert_eq!(sent_to(&out, deep), [file_search("root", 9, "folk")]);
    assert_eq!(sent_to(&out, searcher), [file_search("root", 9, "folk")]);

    // A tree member searches: its root gets the 93 as usual.
    let out = h.search(tree_member, 10, "soul");
    assert_eq!(embedded(&sent_to(&out, root)[0]).username, "member");
    assert_eq!(sent_to(&out, tree_member), []);
    assert_eq!(sent_to(&out, deep), []);
}

#[test]
fn with_the_tree_off_every_search_goes_directly_and_no_parents_are_offered() {
    let mut h = Harness::with(ServerConfig {
        distributed_tree: false,
        ..config()
    });
    let searcher = h.login_fast("searcher", 0);
    let root = h.login_fast("root", 100);
    h.report(root, seeking("root", true));
    let tree_member = h.login_fast("member", 50);
    h.report(tree_member, member("root", 1, true));
    let orphan = h.login_fast("orphan", 10);
    let out = h.report(orphan, member("gone", 1, false));
    assert_eq!(out, vec![], "no ResetDistributed either");
    let asker = h.login_fast("asker", 1);
    h.report(asker, seeking("asker", false));
    assert_eq!(h.wait(Duration::from_secs(120)), vec![]);

    let out = h.search(searcher, 1, "jazz");
    for conn in [root, tree_member, orphan, asker] {
        assert_eq!(sent_to(&out, conn), [file_search("searcher", 1, "jazz")]);
    }
    assert_eq!(sent_to(&out, searcher), []);
    assert_eq!(out.len(), 4);
}

#[test]
fn reset_distributed_when_the_branch_root_is_not_online() {
    let mut h = Harness::new();
    let root = h.login_fast("root", 100);
    h.report(root, seeking("root", true));
    let a = h.login_fast("a", 50);
    h.report(a, member("root", 1, true));
    let b = h.login_fast("b", 40);
    h.report(b, member("root", 2, false));
    let other_root = h.login_fast("other", 100);
    h.report(other_root, seeking("other", true));
    let c = h.login_fast("c", 30);
    h.report(c, member("other", 1, false));

    // Naming a root that is not online: reset at once.
    let d = h.login_fast("d", 20);
    let out = h.request(
        d,
        BranchRootRequest {
            username: "ghost".into(),
        },
    );
    assert_eq!(sent_to(&out, d), [reset()]);
    // Naming itself, or an online root: no reset.
    let out = h.request(
        d,
        BranchRootRequest {
            username: "d".into(),
        },
    );
    assert_eq!(out, vec![]);

    // The root leaves: every member of its branch is reset, nobody else.
    h.state.disconnected(root, h.now);
    let out = h.settle();
    assert_eq!(sent_to(&out, a), [reset()]);
    assert_eq!(sent_to(&out, b), [reset()]);
    assert_eq!(sent_to(&out, c), []);
    assert_eq!(sent_to(&out, d), []);
    // Until they report again, searches reach them directly.
    let out = h.search(d, 1, "x");
    assert_eq!(sent_to(&out, a), [file_search("d", 1, "x")]);
    assert_eq!(sent_to(&out, c), []);

    // A relogin of a root ends its old session the same way.
    let other_again = h.connect();
    let out = h.request(other_again, login_request("other", "pw"));
    assert_eq!(sent_to(&out, c), [reset()]);
}

#[test]
fn hostile_reports_are_bounded_and_harmless() {
    let mut h = Harness::new();
    let alice = h.login_fast("alice", 0);
    let out = h.report(
        alice,
        Report {
            no_parent: false,
            accepts: true,
            level: u32::MAX,
            root: &"x".repeat(4000),
        },
    );
    assert_eq!(sent_to(&out, alice), [reset()]);
    h.request(alice, ChildDepthRequest { depth: u32::MAX });
    // Empty root, then itself: the index follows, with no stale entry.
    h.request(
        alice,
        BranchRootRequest {
            username: String::new(),
        },
    );
    h.request(
        alice,
        BranchRootRequest {
            username: "alice".into(),
        },
    );
    assert_eq!(h.state.branch_members(&"x".repeat(4000)), None);
    assert_eq!(h.state.branch_members(""), None);
    // Naming itself while having a parent: searched directly, not lost.
    let bob = h.login_fast("bob", 0);
    let out = h.search(bob, 1, "q");
    assert_eq!(sent_to(&out, alice), [file_search("bob", 1, "q")]);
    // Reports before login are dropped.
    let anonymous = h.connect();
    assert_eq!(
        h.request(anonymous, ToggleParentSearchRequest { enable: true }),
        vec![]
    );
    // Only the login timeout: no PossibleParents for it.
    assert_eq!(
        h.wait(Duration::from_secs(61)),
        vec![Output::Close { conn: anonymous }]
    );
}
