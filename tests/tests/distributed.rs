//! The distributed search network end to end: our server builds the tree,
//! twenty of our clients join it, and a global search reaches every one of
//! them through it; the same after a parent leaves, and with the tree
//! turned off. Two aioslsk clients join a tree of ours as children, and
//! searches cross it both ways. Every wait has a deadline.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use slsk_net::client::{DistributedState, SearchOptions, SharesConfig};
use slsk_net::{Client, Event, Events};
use slsk_server::ServerConfig;
use slsk_shares::SharedFolder;
use support::net::{DEADLINE, client_config, server_config, start_server};

/// How many of our clients share one file each.
const CLIENTS: usize = 20;

/// A whole test, bounded.
async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the test took over four minutes");
}

/// A server that offers parents every second, tree on or off.
fn tree_server(tree: bool) -> ServerConfig {
    let mut config = server_config();
    config.distributed_tree = tree;
    config.possible_parents_interval = Duration::from_secs(1);
    config
}

struct Peer {
    name: String,
    client: Client,
    events: Events,
    _dir: tempfile::TempDir,
}

/// Logs in `name`, sharing one file whose name only it has, and waits for
/// its scan.
async fn sharing_peer(server: SocketAddr, name: &str) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("shared");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(format!("treesong {name}.mp3")), name.as_bytes()).unwrap();
    let mut config = client_config(server, name);
    // A parentless client volunteers as a branch root after a while; a
    // second here, so that the tree forms within the test.
    config.distributed.become_root_after = Duration::from_secs(1);
    config.shares = SharesConfig {
        folders: vec![SharedFolder::new("Music", &folder)],
        ..SharesConfig::default()
    };
    let (client, mut events) = support::net::try_login(config).await.expect("login");
    tokio::time::timeout(DEADLINE, async {
        loop {
            match events.recv().await.expect("events end") {
                Event::ScanComplete(_) => break,
                Event::ScanFailed(e) => panic!("scan failed: {e}"),
                _ => {}
            }
        }
    })
    .await
    .expect("scan");
    Peer {
        name: name.into(),
        client,
        events,
        _dir: dir,
    }
}

/// Drains what each peer was told (the event queues are bounded).
fn drain(peers: &mut [Peer]) {
    for peer in peers {
        while peer.events.try_recv().is_some() {}
    }
}

/// Why the tree is not (yet) consistent, or `None` when it is: every peer
/// has a parent among the peers or is a branch root (no parent, accepting
/// children or having some: the server hands roots every search); each child's level is its
/// parent's plus one and its root is its parent's root (or the parent, at
/// level 0); a peer's children name it as their parent.
fn tree_problem(states: &BTreeMap<String, DistributedState>) -> Option<String> {
    if !states.values().any(|s| s.parent.is_some()) {
        return Some("nobody has a parent yet".into());
    }
    for (name, state) in states {
        match &state.parent {
            None if state.children.is_empty() && !state.accepting_children => {
                return Some(format!("{name} has no parent and is not a root"));
            }
            None => {}
            Some(parent) => {
                let Some(up) = states.get(parent) else {
                    return Some(format!("{name}'s parent {parent} is gone"));
                };
                if state.branch_level != up.branch_level + 1 {
                    return Some(format!(
                        "{name} level {} under {parent} level {}",
                        state.branch_level, up.branch_level
                    ));
                }
                let root = if up.branch_level == 0 {
                    parent
                } else {
                    &up.branch_root
                };
                if &state.branch_root != root {
                    return Some(format!(
                        "{name} root {} but {parent}'s is {root}",
                        state.branch_root
                    ));
                }
            }
        }
        for child in &state.children {
            if states.get(child).and_then(|c| c.parent.as_ref()) != Some(name) {
                return Some(format!(
                    "{name} lists {child}, which does not name it as parent"
                ));
            }
        }
    }
    None
}

/// Waits until the tree of `peers` is consistent.
async fn tree_formed(peers: &mut [Peer]) -> BTreeMap<String, DistributedState> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        drain(peers);
        let states: BTreeMap<String, DistributedState> = peers
            .iter()
            .map(|p| (p.name.clone(), p.client.distributed()))
            .collect();
        let Some(problem) = tree_problem(&states) else {
            return states;
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "no tree after 60 s: {problem}; {states:#?}"
        );
        // The state changes on network events; look again shortly.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The users whose `treesong` files a global search from `searcher` finds.
async fn found_by(searcher: &Peer, expected: usize) -> BTreeSet<String> {
    let options = SearchOptions {
        timeout: Duration::from_secs(10),
        max_results: expected,
        ..Default::default()
    };
    let mut search = searcher
        .client
        .search("treesong", options)
        .await
        .expect("search sent");
    let mut users = BTreeSet::new();
    while let Some(result) = tokio::time::timeout(DEADLINE, search.next())
        .await
        .expect("search ends")
    {
        users.insert(result.username);
    }
    users
}

fn everyone_but(peers: &[Peer], me: &str) -> BTreeSet<String> {
    peers
        .iter()
        .map(|p| p.name.clone())
        .filter(|n| n != me)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_form_a_tree_that_carries_global_searches() {
    bounded(async {
        let server = start_server(tree_server(true)).await;
        let addr = server.local_addr();
        let mut peers = Vec::new();
        for i in 0..CLIENTS {
            peers.push(sharing_peer(addr, &format!("tree{i:02}")).await);
        }
        let states = tree_formed(&mut peers).await;
        let roots = states.values().filter(|s| s.parent.is_none()).count();
        let depth = states.values().map(|s| s.branch_level).max().unwrap_or(0);
        eprintln!("tree: {roots} root(s), deepest level {depth}");

        let found = found_by(&peers[0], CLIENTS - 1).await;
        assert_eq!(found, everyone_but(&peers, &peers[0].name));

        // A parent of a subtree leaves (one that is not the searcher): its
        // children find new parents.
        let leaving = states
            .iter()
            .find(|(name, s)| {
                !s.children.is_empty() && s.parent.is_some() && *name != &peers[0].name
            })
            .or_else(|| {
                states
                    .iter()
                    .find(|(name, s)| !s.children.is_empty() && *name != &peers[0].name)
            })
            .map(|(name, _)| name.clone())
            .expect("a peer with children");
        let index = peers.iter().position(|p| p.name == leaving).unwrap();
        let gone = peers.remove(index);
        gone.client.shutdown().await;
        drop(gone);
        tree_formed(&mut peers).await;
        let found = found_by(&peers[0], CLIENTS - 2).await;
        assert_eq!(found, everyone_but(&peers, &peers[0].name));
        drop(server);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_tree_off_a_global_search_still_finds_everyone() {
    bounded(async {
        let server = start_server(tree_server(false)).await;
        let addr = server.local_addr();
        let mut peers = Vec::new();
        for i in 0..CLIENTS {
            peers.push(sharing_peer(addr, &format!("flat{i:02}")).await);
        }
        let found = found_by(&peers[0], CLIENTS - 1).await;
        assert_eq!(found, everyone_but(&peers, &peers[0].name));
        drain(&mut peers);
        assert!(
            peers
                .iter()
                .all(|p| p.client.distributed().parent.is_none()),
            "no tree when it is off"
        );
    })
    .await;
}

/// Two aioslsk clients in a network with two of ours: they are offered our
/// branch root as a parent, join the tree as its children, and global
/// searches cross the tree both ways (theirs find our files, ours find
/// theirs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aioslsk_clients_join_our_tree_and_searches_cross_it_both_ways() {
    use serde_json::Value;
    use support::aioslsk_peer::{AioslskPeer, PeerOptions, StartOptions};

    bounded(async {
        let server = start_server(tree_server(true)).await;
        let addr = server.local_addr();
        // Names decide the rank among equally slow users: ours come first,
        // so that aioslsk is offered them as parents.
        let mut ours = vec![sharing_peer(addr, "aaroot").await];
        tree_becomes_root(&mut ours[0]).await;
        ours.push(sharing_peer(addr, "bbsearch").await);

        let dir = tempfile::tempdir().unwrap();
        let mut theirs = Vec::new();
        for name in ["zzpy1", "zzpy2"] {
            let shared = dir.path().join(name).join("shared");
            std::fs::create_dir_all(&shared).unwrap();
            std::fs::write(shared.join(format!("treesong {name}.mp3")), name).unwrap();
            let downloads = dir.path().join(name).join("downloads");
            std::fs::create_dir_all(&downloads).unwrap();
            let peer = AioslskPeer::spawn(PeerOptions::named(name)).await.unwrap();
            let mut options = StartOptions::new(name, "secret", addr.port(), &downloads);
            options.shared_dirs = vec![shared];
            peer.start(&options).await.unwrap();
            peer.event("scan_complete", DEADLINE).await.unwrap();
            peer.login().await.unwrap();
            theirs.push(peer);
        }

        // Each aioslsk client adopts one of ours as its parent.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        for peer in &theirs {
            loop {
                drain(&mut ours);
                let state = peer.distributed_state().await.unwrap();
                if let Value::String(parent) = &state["parent"] {
                    assert!(["aaroot", "bbsearch"].contains(&parent.as_str()), "{state}");
                    assert_eq!(state["branch_root"], "aaroot", "{state}");
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{} has no parent: {state}",
                    peer.name()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let children: BTreeSet<String> = ours
            .iter()
            .flat_map(|p| p.client.distributed().children)
            .collect();
        assert!(
            children.contains("zzpy1") && children.contains("zzpy2"),
            "{children:?}"
        );

        // Ours finds theirs (and our root's file).
        let found = found_by(&ours[1], 3).await;
        assert_eq!(
            found,
            BTreeSet::from(["aaroot".into(), "zzpy1".into(), "zzpy2".into()])
        );

        // Theirs finds ours (and the other aioslsk client's file). aioslsk
        // answers its own search when the tree brings it back (it checks
        // the searcher's name only on FileSearch): that result is skipped.
        let ticket = theirs[0].global_search("treesong").await.unwrap();
        let expected = BTreeSet::from(["aaroot".into(), "bbsearch".into(), "zzpy2".into()]);
        let mut found = BTreeSet::new();
        while found != expected {
            let result = theirs[0]
                .next_event(
                    |e| e["event"] == "search_result" && e["ticket"] == ticket,
                    DEADLINE,
                )
                .await
                .unwrap_or_else(|e| panic!("results so far {found:?}: {e:?}"));
            let user = result["username"].as_str().unwrap().to_owned();
            if user != theirs[0].name() {
                assert!(expected.contains(&user), "{user}");
                found.insert(user);
            }
        }

        for peer in &theirs {
            assert_eq!(peer.stop().await.unwrap().code(), Some(0));
        }
        drop(server);
    })
    .await;
}

/// Waits until `peer` accepts children as a branch root.
async fn tree_becomes_root(peer: &mut Peer) {
    tokio::time::timeout(DEADLINE, async {
        while !peer.client.distributed().accepting_children {
            match peer.events.recv().await.expect("events go on") {
                Event::Distributed(_) => {}
                _ => continue,
            }
        }
    })
    .await
    .expect("a branch root in time");
}
