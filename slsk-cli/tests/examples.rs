//! The slsk-net examples, run rather than only compiled: the quickstart's
//! function logs in to our server on 127.0.0.1, finds a file another
//! client shares and downloads it; the PM bot answers a user through our
//! server; the examples' argument handling takes the login settings from
//! flags before the environment.

// pm_bot.rs declares the examples' `support` module for itself; this file
// declares it too, to test it.
#![allow(clippy::duplicate_mod)]

use std::time::Duration;

use slsk_net::client::{DownloadState, Event, TransferSettings};
use slsk_net::{Client, ClientConfig};
use slsk_server::{Database, PasswordCost, Server, ServerConfig};
use slsk_shares::SharedFolder;
use tokio::task::JoinHandle;

// The example's own `main` is not called here.
#[allow(dead_code)]
#[path = "../../slsk-net/examples/quickstart.rs"]
mod quickstart;

// The same: only the bot's loop and answers are used.
#[allow(dead_code)]
#[path = "../../slsk-net/examples/pm_bot.rs"]
mod pm_bot;

#[path = "../../slsk-net/examples/support/mod.rs"]
mod support;

const LIMIT: Duration = Duration::from_secs(60);

/// Our server on a free port of 127.0.0.1, with cheap password hashing.
async fn start_server() -> Server {
    Server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: Database::InMemory,
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_downloads_a_file_a_peer_shares() {
    tokio::time::timeout(LIMIT, async {
        let dir = tempfile::tempdir().unwrap();
        let album = dir.path().join("shared").join("Some Album");
        std::fs::create_dir_all(&album).unwrap();
        let content: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(album.join("01 Quickstart Song.mp3"), &content).unwrap();

        let server = start_server().await;
        let address = server.local_addr().to_string();

        // Alice shares the album and serves uploads.
        let mut config = ClientConfig::new(&address, "alice", "secret");
        config.reconnect.enabled = false;
        config.shares.folders = vec![SharedFolder::new("Music", dir.path().join("shared"))];
        let uploads = dir.path().join("alice");
        config.transfers = Some(TransferSettings::new(&uploads, uploads.join("incomplete")));
        let (alice, mut events) = Client::connect(config).await.unwrap();
        loop {
            match events.recv().await.expect("alice's session goes on") {
                Event::ScanComplete(summary) => {
                    assert_eq!(summary.files, 1);
                    break;
                }
                Event::ScanFailed(e) => panic!("scan failed: {e}"),
                _ => {}
            }
        }
        // Her events are read, so her session never waits on them.
        tokio::spawn(async move { while events.recv().await.is_some() {} });

        // Bob is the quickstart, with its settings as arguments.
        let downloads = dir.path().join("downloads");
        let args = ["quickstart song", &address, "bob", "secret"].map(String::from);
        let state = quickstart::quickstart(args.into_iter(), downloads.to_str().unwrap())
            .await
            .unwrap();
        let DownloadState::Completed { path } = state else {
            panic!("the download ended {state:?}");
        };
        assert!(path.starts_with(&downloads), "{path:?}");
        assert_eq!(std::fs::read(&path).unwrap(), content);

        alice.shutdown().await;
        server.shutdown().await;
    })
    .await
    .expect("the quickstart finishes in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pm_bot_answers_a_user() {
    tokio::time::timeout(LIMIT, async {
        let server = start_server().await;
        let address = server.local_addr().to_string();
        let mut config = ClientConfig::new(&address, "bot", "secret");
        config.reconnect.enabled = false;
        let (bot, bot_events) = Client::connect(config).await.unwrap();
        let serving: JoinHandle<()> = tokio::spawn({
            let bot = bot.clone();
            async move { pm_bot::answer_messages(&bot, bot_events).await.unwrap() }
        });

        let mut config = ClientConfig::new(&address, "carol", "secret");
        config.reconnect.enabled = false;
        let (carol, mut events) = Client::connect(config).await.unwrap();
        for (asked, expected) in [("ping", "pong"), ("echo hello bot", "hello bot")] {
            carol.send_private_message("bot", asked).await.unwrap();
            let reply = loop {
                match events.recv().await.expect("carol's session goes on") {
                    Event::PrivateMessage(message) if message.username == "bot" => break message,
                    _ => {}
                }
            };
            assert_eq!(reply.text, expected);
        }
        assert!(pm_bot::answer("time").ends_with("seconds since 1970"));
        assert!(pm_bot::answer("what").starts_with("I am a bot"));

        carol.shutdown().await;
        bot.shutdown().await;
        // The bot's loop ends with its session, without an error.
        serving.await.unwrap();
        server.shutdown().await;
    })
    .await
    .expect("the bot answers in time");
}

#[test]
fn flags_take_the_login_settings_and_leave_the_rest() {
    let args = [
        "--server",
        "127.0.0.1:2242",
        "some",
        "--user",
        "bob",
        "--password",
        "pw",
        "words",
    ]
    .map(String::from);
    let (config, rest) = support::login_config(args).unwrap();
    assert_eq!(config.server, "127.0.0.1:2242");
    assert_eq!(config.username, "bob");
    assert_eq!(config.password, "pw");
    assert_eq!(rest, ["some", "words"]);
    let missing = support::login_config(["--user".to_owned()]).unwrap_err();
    assert_eq!(missing, "--user needs a value");
}
