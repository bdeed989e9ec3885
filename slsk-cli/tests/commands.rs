//! The network commands run as a user would run them: the built `slsk`
//! against our server on loopback, with peers that are `slsk share`
//! children or in-process clients. JSON lines and exit codes are checked.

mod support;

use std::collections::BTreeSet;

use support::{Net, Running, Sharer, SharerOptions, run, write_file};

fn options(avg_speed: u32) -> SharerOptions {
    SharerOptions {
        avg_speed,
        slot_free: true,
        uploads: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_lists_results_from_two_sharers_as_json_and_exits_3_on_nothing() {
    let net = Net::start().await;
    write_file(&net.path("alice/Air/Moon Safari/01 La femme.mp3"), 2000, 1);
    write_file(&net.path("carol/Moon Safari live.mp3"), 3000, 2);
    write_file(&net.path("carol/unrelated.txt"), 10, 3);
    let mut alice =
        Running::spawn(net.slsk("alice", &["share", "--json", &path_arg(&net.path("alice"))]));
    let mut carol =
        Running::spawn(net.slsk("carol", &["share", "--json", &path_arg(&net.path("carol"))]));
    assert_eq!(alice.record("shared").await["files"], 1);
    assert_eq!(carol.record("shared").await["files"], 2);

    let found = run(net.slsk(
        "bob",
        &[
            "search",
            "moon safari",
            "--max-results",
            "2",
            "--wait",
            "30",
            "--json",
        ],
    ))
    .await;
    found.expect_code(0);
    let users: BTreeSet<String> = found
        .of_type("result")
        .iter()
        .map(|r| r["user"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, BTreeSet::from(["alice".into(), "carol".into()]));
    let results = found.of_type("result");
    let femme = results.iter().find(|r| r["user"] == "alice").unwrap();
    assert_eq!(femme["path"], "alice\\Air\\Moon Safari\\01 La femme.mp3");
    assert_eq!(femme["size"], 2000);
    assert_eq!(femme["extension"], "mp3");
    assert_eq!(found.of_type("summary")[0]["results"], 2);

    // Text mode: the table, best first, with its header.
    let table = run(net.slsk(
        "bob",
        &[
            "search",
            "moon safari",
            "--max-results",
            "2",
            "--wait",
            "30",
        ],
    ))
    .await;
    table.expect_code(0);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].starts_with("user") && lines[0].ends_with("path"),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 3, "{lines:?}");

    // A filter nobody matches, then a query nobody matches: exit 3.
    let filtered = run(net.slsk(
        "bob",
        &[
            "search",
            "moon safari",
            "--wait",
            "2",
            "--json",
            "--ext",
            "flac",
        ],
    ))
    .await;
    filtered.expect_code(3);
    assert!(filtered.of_type("result").is_empty());
    let nothing = run(net.slsk("bob", &["search", "zzyzx quux", "--wait", "1", "--json"])).await;
    nothing.expect_code(3);
    let error = &nothing.of_type("error")[0];
    assert_eq!(error["exit_code"], 3);
    assert!(error["message"].as_str().unwrap().contains("nothing found"));

    for sharer in [&mut alice, &mut carol] {
        sharer.child.start_kill().unwrap();
        sharer.wait().await;
    }
}

/// A path as a command-line argument (the tests' paths are UTF-8).
fn path_arg(path: &std::path::Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_filters_ranks_and_falls_back_when_the_best_candidate_refuses() {
    let net = Net::start().await;
    // The fastest peer has only an mp3: --ext flac filters it out.
    write_file(&net.path("fast/moon safari.mp3"), 1000, 1);
    // The next fastest refuses: its file is gone from disk after the scan,
    // so its upload side answers "File not shared.".
    write_file(&net.path("gone/moon safari.flac"), 4000, 2);
    // The slowest delivers.
    write_file(&net.path("slow/moon safari.flac"), 5000, 3);
    let _fast = Sharer::start(&net, "fast", &net.path("fast"), options(9_000_000)).await;
    let _gone = Sharer::start(&net, "gone", &net.path("gone"), options(5_000_000)).await;
    let _slow = Sharer::start(&net, "slow", &net.path("slow"), options(10)).await;
    std::fs::remove_file(net.path("gone/moon safari.flac")).unwrap();

    let to = net.path("downloads");
    let got = run(net.slsk(
        "bob",
        &[
            "get",
            "moon safari",
            "--ext",
            "flac",
            "--max-results",
            "2",
            "--wait",
            "30",
            "--json",
            "--to",
            &path_arg(&to),
        ],
    ))
    .await;
    got.expect_code(0);
    let results = got.of_type("result");
    assert!(
        results.iter().all(|r| r["extension"] == "flac"),
        "{results:?}"
    );
    let ends: Vec<(String, String)> = got
        .of_type("transfer")
        .iter()
        .filter(|t| t["state"] == "completed" || t["state"] == "failed")
        .map(|t| {
            (
                t["user"].as_str().unwrap().to_owned(),
                t["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        ends,
        [
            ("gone".to_owned(), "failed".to_owned()),
            ("slow".to_owned(), "completed".to_owned())
        ]
    );
    let refused = got
        .of_type("transfer")
        .into_iter()
        .find(|t| t["state"] == "failed")
        .unwrap();
    assert_eq!(refused["reason"], "refused: File not shared.");
    let summary = &got.of_type("summary")[0];
    assert_eq!(
        (summary["completed"].as_u64(), summary["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        std::fs::read(to.join("music/moon safari.flac")).unwrap(),
        std::fs::read(net.path("slow/moon safari.flac")).unwrap()
    );
    assert!(!to.join(".slsk-incomplete").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_gives_a_stalled_candidate_up_and_takes_the_next() {
    let net = Net::start().await;
    write_file(&net.path("mute/x/stall test.mp3"), 1000, 1);
    write_file(&net.path("live/x/stall test.mp3"), 1200, 2);
    // Fastest, but without transfers: its QueueUpload is never answered.
    let _mute = Sharer::start(
        &net,
        "mute",
        &net.path("mute"),
        SharerOptions {
            avg_speed: 1_000_000,
            slot_free: true,
            uploads: false,
        },
    )
    .await;
    let _live = Sharer::start(&net, "live", &net.path("live"), options(1)).await;
    let to = net.path("dl");
    let got = run(net.slsk(
        "bob",
        &[
            "get",
            "stall test",
            "--max-results",
            "2",
            "--wait",
            "30",
            "--stall-timeout",
            "2",
            "--to",
            &path_arg(&to),
        ],
    ))
    .await;
    got.expect_code(0);
    assert!(
        got.stderr.contains("stalled: no data for 2 s"),
        "{}",
        got.stderr
    );
    assert_eq!(
        got.stdout.trim(),
        to.join("x/stall test.mp3").display().to_string()
    );
    assert_eq!(
        std::fs::read(to.join("x/stall test.mp3")).unwrap().len(),
        1200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_album_takes_every_file_of_the_best_folder() {
    let net = Net::start().await;
    // Two matching files in the album, one elsewhere; the cover does not
    // match the query but belongs to the folder.
    write_file(&net.path("a/Air/Moon Safari/01 moon safari.mp3"), 3000, 1);
    write_file(&net.path("a/Air/Moon Safari/02 moon safari.mp3"), 3100, 2);
    write_file(&net.path("a/Air/Moon Safari/cover.jpg"), 50, 3);
    write_file(&net.path("b/Single/moon safari.mp3"), 3200, 4);
    let _a = Sharer::start(&net, "sharer-a", &net.path("a"), options(1)).await;
    let _b = Sharer::start(&net, "sharer-b", &net.path("b"), options(1_000_000)).await;
    let to = net.path("dl");
    let got = run(net.slsk(
        "bob",
        &[
            "get",
            "moon safari",
            "--album",
            "--max-results",
            "3",
            "--wait",
            "30",
            "--json",
            "--to",
            &path_arg(&to),
        ],
    ))
    .await;
    got.expect_code(0);
    let mut names: Vec<String> = std::fs::read_dir(to.join("Moon Safari"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["01 moon safari.mp3", "02 moon safari.mp3", "cover.jpg"]
    );
    assert!(!to.join("Single").exists());
    assert_eq!(got.of_type("summary")[0]["completed"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_by_path_and_browse_as_a_tree_and_as_json() {
    let net = Net::start().await;
    write_file(&net.path("share/Album/01 one.mp3"), 700, 1);
    write_file(&net.path("share/Album/02 two.mp3"), 800, 2);
    let _alice = Sharer::start(&net, "alice", &net.path("share"), options(1)).await;

    let to = net.path("dl");
    let got = run(net.slsk(
        "bob",
        &[
            "download",
            "alice",
            "music\\Album\\01 one.mp3",
            "music\\Album\\02 two.mp3",
            "--json",
            "--to",
            &path_arg(&to),
        ],
    ))
    .await;
    got.expect_code(0);
    for name in ["01 one.mp3", "02 two.mp3"] {
        assert_eq!(
            std::fs::read(to.join("Album").join(name)).unwrap(),
            std::fs::read(net.path("share/Album").join(name)).unwrap()
        );
    }
    let completed = got
        .of_type("transfer")
        .into_iter()
        .filter(|t| t["state"] == "completed")
        .count();
    assert_eq!(completed, 2);

    // A path alice does not share: refused, exit 3.
    let missing = run(net.slsk(
        "bob",
        &[
            "download",
            "alice",
            "music\\Album\\nope.mp3",
            "--json",
            "--to",
            &path_arg(&to),
        ],
    ))
    .await;
    missing.expect_code(3);
    assert_eq!(missing.of_type("summary")[0]["failed"], 1);

    let tree = run(net.slsk("bob", &["browse", "alice"])).await;
    tree.expect_code(0);
    assert_eq!(
        tree.stdout.lines().collect::<Vec<_>>(),
        [
            "└── music\\",
            "    └── Album\\",
            "        ├── 01 one.mp3  (700 B)",
            "        └── 02 two.mp3  (800 B)",
        ]
    );
    let listing = run(net.slsk("bob", &["browse", "alice", "--json"])).await;
    listing.expect_code(0);
    let paths: Vec<String> = listing
        .of_type("file")
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        paths,
        ["music\\Album\\01 one.mp3", "music\\Album\\02 two.mp3"]
    );

    // Nobody by that name is online: an error, exit 1.
    let offline = run(net.slsk("bob", &["browse", "nobody-here"])).await;
    offline.expect_code(1);
    assert!(
        offline.stderr.contains("slsk: browsing nobody-here"),
        "{}",
        offline.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_on_a_pipe_stays_line_oriented() {
    let net = Net::start().await;
    write_file(&net.path("share/big/large file.bin"), 3 << 20, 9);
    let _alice = Sharer::start(&net, "alice", &net.path("share"), options(1)).await;
    let to = net.path("dl");
    let got = run(net.slsk(
        "bob",
        &[
            "get",
            "large file",
            "--max-results",
            "1",
            "--wait",
            "30",
            "--to",
            &path_arg(&to),
        ],
    ))
    .await;
    got.expect_code(0);
    // stderr was a pipe: plain lines, no carriage return, no escape code.
    assert!(!got.stderr.contains('\r'), "{:?}", got.stderr);
    assert!(!got.stderr.contains('\u{1b}'), "{:?}", got.stderr);
    assert!(
        got.stderr.contains("search: 1 result(s) from 1 user(s)"),
        "{}",
        got.stderr
    );
    assert!(got.stderr.contains("3.0 MiB of 3.0 MiB"), "{}", got.stderr);
    assert!(
        got.stderr.lines().any(|l| l.ends_with("transferring")),
        "{}",
        got.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_come_from_flags_then_the_environment_then_the_config_file() {
    let net = Net::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let config = net.path("config.toml");
    let password = net.path("password");
    std::fs::write(&password, "from-file\n").unwrap();
    std::fs::write(
        &config,
        format!(
            "server = \"{closed}\"\nuser = \"carol\"\npassword_file = \"{}\"\nsearch_rate = \"off\"\n",
            password.display()
        ),
    )
    .unwrap();
    let search = |server_env: Option<String>, extra: &[&str]| {
        let mut command = support::bare_slsk();
        command
            .args(["search", "zzyzx", "--wait", "1", "--json"])
            .args(extra);
        command.arg("--config").arg(&config);
        command.arg("--state-dir").arg(net.path("state"));
        if let Some(server) = server_env {
            command.env("SLSK_SERVER", server);
        }
        command
    };
    // The config file's server is closed: an error (exit 1).
    run(search(None, &[])).await.expect_code(1);
    // The environment beats the config file: logged in, nothing found (3).
    run(search(Some(net.addr().to_string()), &[]))
        .await
        .expect_code(3);
    // A flag beats the environment.
    run(search(Some(net.addr().to_string()), &["--server", &closed]))
        .await
        .expect_code(1);
    // The config file's user and password were used: carol registered with
    // the password from the file, so another password is refused now.
    let refused = run(search(
        Some(net.addr().to_string()),
        &["--password", "another"],
    ))
    .await;
    refused.expect_code(1);
    assert!(refused.stderr.contains("logging in"), "{}", refused.stderr);
}

#[tokio::test]
async fn usage_errors_exit_2() {
    for args in [
        vec!["search"],
        vec!["get", "x", "--min-size", "5X"],
        vec!["download", "alice"],
        vec!["share", "--for", "soon", "."],
        vec!["frobnicate"],
        // No username anywhere: a usage error too.
        vec!["search", "x", "--config", "", "--password", "p"],
        vec![
            "search",
            "x",
            "--config",
            "",
            "--user",
            "u",
            "--password",
            "p",
            "--search-rate",
            "lots",
        ],
    ] {
        let out = run({
            let mut c = support::bare_slsk();
            c.args(&args);
            c
        })
        .await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("slsk: "), "{args:?}: {}", out.stderr);
    }
    let help = run({
        let mut c = support::bare_slsk();
        c.args(["get", "--help"]);
        c
    })
    .await;
    help.expect_code(0);
    assert!(
        help.stdout.contains("Exit codes: 0 success"),
        "{}",
        help.stdout
    );
    assert!(help.stdout.contains("SLSK_SERVER"), "{}", help.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_from_the_network_cannot_inject_terminal_codes() {
    let net = Net::start().await;
    let hostile = "evil \u{1b}[2J\r name.mp3";
    write_file(&net.path("share/x").join(hostile), 100, 1);
    let _alice = Sharer::start(&net, "alice", &net.path("share"), options(1)).await;
    let to = net.path("dl");
    let runs = [
        run(net.slsk(
            "bob",
            &["search", "evil name", "--max-results", "1", "--wait", "30"],
        ))
        .await,
        run(net.slsk("bob", &["browse", "alice"])).await,
        run(net.slsk(
            "bob",
            &[
                "get",
                "evil name",
                "--max-results",
                "1",
                "--wait",
                "30",
                "--to",
                &path_arg(&to),
            ],
        ))
        .await,
    ];
    for (n, out) in runs.iter().enumerate() {
        out.expect_code(0);
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
        }
        if n < 2 {
            // search and browse show the remote name, escaped.
            assert!(
                out.stdout.contains("evil \\u{1b}[2J\\r name.mp3"),
                "{:?}",
                out.stdout
            );
        }
    }
    // get prints the local path: the transfer library has already dropped
    // the control characters from the file name.
    let local = runs[2].stdout.trim();
    assert!(std::path::Path::new(local).is_file(), "{local}");
    assert_eq!(std::fs::read_dir(to.join("x")).unwrap().count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_stops_when_its_time_is_up_and_fails_on_a_missing_folder() {
    let net = Net::start().await;
    write_file(&net.path("share/a.mp3"), 10, 1);
    let mut share = Running::spawn(net.slsk(
        "alice",
        &[
            "share",
            "--for",
            "1",
            "--json",
            &path_arg(&net.path("share")),
        ],
    ));
    assert_eq!(share.record("shared").await["files"], 1);
    assert_eq!(share.wait().await, Some(0));

    let missing = run(net.slsk(
        "alice",
        &["share", "--json", &path_arg(&net.path("nowhere"))],
    ))
    .await;
    missing.expect_code(1);
    assert_eq!(missing.of_type("error")[0]["exit_code"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_rate_limit_is_shared_by_processes_and_makes_them_wait() {
    let net = Net::start().await;
    // One search per 5 seconds: the first goes at once, the second (another
    // process, same state folder, well within 5 s) waits for the bucket and
    // says so.
    let search = || {
        net.slsk(
            "bob",
            &["search", "zzyzx", "--wait", "0", "--search-rate", "1/5"],
        )
    };
    let first = run(search()).await;
    first.expect_code(3);
    assert!(
        !first.stderr.contains("search rate limit"),
        "{}",
        first.stderr
    );
    let second = run(search()).await;
    second.expect_code(3);
    assert!(
        second
            .stderr
            .contains("search rate limit (1 per 5 s, --search-rate): waiting"),
        "{}",
        second.stderr
    );
}
