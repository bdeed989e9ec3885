//! `slsk share` with aioslsk 1.7.1, an independent client, searching and
//! downloading from it over loopback.
//!
//! The live-peer harness of the `slsk-tests` crate is included as it is
//! (`#[path]` modules), so this test drives the same pinned aioslsk, venv
//! and loopback guard as `tests/tests/live_peer.rs`.

mod support;

#[allow(dead_code)]
#[path = "../../tests/tests/support/venv.rs"]
mod venv;

#[allow(dead_code)]
#[path = "../../tests/tests/support/aioslsk_peer.rs"]
mod aioslsk_peer;

use std::time::Duration;

use aioslsk_peer::{AioslskPeer, PeerOptions, StartOptions};
use support::{Net, PASSWORD, Running, write_file};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aioslsk_searches_and_downloads_from_slsk_share() {
    let net = Net::start().await;
    let file = net.path("Music/Air/Moon Safari/03 unusual track.bin");
    write_file(&file, 200_000, 7);
    let share_dir = net.path("Music").to_str().unwrap().to_owned();
    let mut alice = Running::spawn(net.slsk("alice", &["share", "--json", &share_dir]));
    assert_eq!(alice.record("shared").await["files"], 1);

    let bob = AioslskPeer::spawn(PeerOptions::named("bob")).await.unwrap();
    let mut options = StartOptions::new("bob", PASSWORD, net.addr().port(), &net.path("bob-dl"));
    // Directly first: aioslsk's race mode can lose a request on the
    // connection it just closed (see tests/tests/live_peer.rs).
    options.peer_connect_mode = Some("fallback".into());
    bob.start(&options).await.unwrap();
    bob.login().await.unwrap();

    let ticket = bob.global_search("unusual track").await.unwrap();
    let result = bob
        .next_event(
            |e| e["event"] == "search_result" && e["ticket"] == ticket,
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(result["username"], "alice");
    let remote_path = result["files"][0]["filename"].as_str().unwrap().to_owned();
    assert_eq!(remote_path, "Music\\Air\\Moon Safari\\03 unusual track.bin");

    bob.download("alice", &remote_path).await.unwrap();
    let done = bob
        .next_event(
            |e| {
                e["remote_path"] == remote_path.as_str()
                    && ["transfer_complete", "transfer_failed", "transfer_aborted"]
                        .contains(&e["event"].as_str().unwrap_or(""))
            },
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(done["event"], "transfer_complete", "{done}");
    let local = done["local_path"].as_str().unwrap();
    assert_eq!(std::fs::read(local).unwrap(), std::fs::read(&file).unwrap());

    // `slsk share` reported the upload as it happened.
    let started = alice.record("transfer").await;
    assert_eq!(
        (&started["direction"], &started["user"], &started["state"]),
        (&"upload".into(), &"bob".into(), &"started".into())
    );
    assert_eq!(started["path"], remote_path.as_str());
    assert_eq!(alice.record("transfer").await["state"], "completed");

    // SIGTERM stops it cleanly, exit 0.
    let pid = alice.child.id().expect("still running") as libc::pid_t;
    // SAFETY: kill only sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert_eq!(alice.wait().await, Some(0));
    assert_eq!(bob.stop().await.unwrap().code(), Some(0));
    net.server.shutdown().await;
}
