//! Searching, sharing and browsing end to end: our server (`slsk-server`)
//! and two of our clients (`slsk-net::client`, feature `shares`) on
//! loopback. One client shares a folder; the other searches it (global,
//! user and room scope, with filters), browses it and asks for a folder's
//! contents. Every wait has a deadline; nothing sleeps.

mod support;

use std::path::Path;
use std::time::Duration;

use slsk_net::Event;
use slsk_net::client::{SearchFilters, SearchOptions, SearchResult, SearchScope, SharesConfig};
use slsk_shares::SharedFolder;
use support::net::{DEADLINE, User, client_config, server_config, start_server};

/// A whole test, bounded.
async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(120), test)
        .await
        .expect("the test took over two minutes");
}

/// A valid one-second 44.1 kHz 16-bit mono WAV file.
fn wav() -> Vec<u8> {
    let samples = 44_100u32;
    let data_len = samples * 2;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&44_100u32.to_le_bytes());
    out.extend_from_slice(&(44_100u32 * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(out.len() + data_len as usize, 0);
    out
}

/// `root/shared` (shared as "Music") with two songs and a forbidden one;
/// `root/secret zebra.txt` next to it and a symlink inside pointing at it.
fn share_tree(root: &Path) -> std::path::PathBuf {
    let shared = root.join("shared");
    let album = shared.join("Air").join("Moon Safari");
    std::fs::create_dir_all(&album).unwrap();
    std::fs::write(album.join("Sexy Boy.wav"), wav()).unwrap();
    std::fs::write(album.join("Sexy Boy demo.mp3"), b"not really mp3").unwrap();
    std::fs::write(album.join("Forbidden Kelp.txt"), b"x").unwrap();
    std::fs::write(root.join("secret zebra.txt"), b"outside").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("secret zebra.txt"), album.join("link zebra.txt"))
        .unwrap();
    shared
}

/// Logs in a user sharing `folder` and waits for its first scan.
async fn sharer(server: std::net::SocketAddr, name: &str, folder: &Path) -> User {
    let mut config = client_config(server, name);
    config.shares = SharesConfig {
        folders: vec![SharedFolder::new("Music", folder)],
        ..SharesConfig::default()
    };
    config.browse_timeout = DEADLINE;
    let (client, events) = support::net::try_login(config).await.expect("login");
    let mut user = User {
        name: name.into(),
        client,
        events,
    };
    let summary = user
        .wait_for("scan complete", |e| match e {
            Event::ScanComplete(s) => Some(*s),
            Event::ScanFailed(e) => panic!("scan failed: {e}"),
            _ => None,
        })
        .await;
    assert_eq!(
        summary.files, 3,
        "wav, mp3, txt; no symlink, nothing outside"
    );
    user
}

/// Every result of a search, until it ends.
async fn collect(
    client: &slsk_net::Client,
    query: &str,
    options: SearchOptions,
) -> Vec<SearchResult> {
    let mut search = client.search(query, options).await.expect("search sent");
    let mut results = Vec::new();
    while let Some(result) = tokio::time::timeout(DEADLINE, search.next())
        .await
        .expect("search ends by its own timeout")
    {
        results.push(result);
    }
    results
}

fn names(results: &[SearchResult]) -> Vec<String> {
    let mut names: Vec<String> = results.iter().map(|r| r.file.filename.clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn our_clients_search_browse_and_list_folders_through_our_server() {
    bounded(async {
        let mut config = server_config();
        config.excluded_phrases = vec!["kelp".into()];
        let server = start_server(config).await;
        let addr = server.local_addr();
        let dir = tempfile::tempdir().unwrap();
        let folder = share_tree(dir.path());
        let alice = sharer(addr, "alice", &folder).await;
        let bob = User::login_with({
            let mut c = client_config(addr, "bob");
            c.browse_timeout = DEADLINE;
            c
        })
        .await;

        // Global, with a filter on sample rate: only the WAV passes; the
        // result limit ends the search at once.
        let options = SearchOptions {
            timeout: Duration::from_secs(3),
            max_results: 1,
            filters: SearchFilters {
                min_sample_rate: Some(44_100),
                ..Default::default()
            },
            ..Default::default()
        };
        let found = collect(&bob.client, "sexy boy", options).await;
        assert_eq!(names(&found), ["Music\\Air\\Moon Safari\\Sexy Boy.wav"]);
        assert_eq!(found[0].username, "alice");

        // User scope, no filter: both songs.
        let options = SearchOptions {
            scope: SearchScope::User("alice".into()),
            timeout: Duration::from_secs(3),
            ..Default::default()
        };
        let found = collect(&bob.client, "sexy", options).await;
        assert_eq!(
            names(&found),
            [
                "Music\\Air\\Moon Safari\\Sexy Boy demo.mp3",
                "Music\\Air\\Moon Safari\\Sexy Boy.wav"
            ]
        );

        // Room scope, an extension filter.
        alice.client.join_room("search room").await.unwrap();
        bob.client.join_room("search room").await.unwrap();
        let options = SearchOptions {
            scope: SearchScope::Room("search room".into()),
            timeout: Duration::from_secs(3),
            filters: SearchFilters {
                extensions: vec!["mp3".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let found = collect(&bob.client, "sexy", options).await;
        assert_eq!(
            names(&found),
            ["Music\\Air\\Moon Safari\\Sexy Boy demo.mp3"]
        );

        // A phrase the server excludes, and files outside the share.
        for query in ["forbidden kelp", "zebra", "secret"] {
            let options = SearchOptions {
                timeout: Duration::from_secs(2),
                ..Default::default()
            };
            assert!(
                collect(&bob.client, query, options).await.is_empty(),
                "{query}"
            );
        }

        // Browse and folder contents.
        let shares = bob.client.browse("alice").await.expect("browse");
        let dirs: Vec<&str> = shares.directories.iter().map(|d| d.name.as_str()).collect();
        assert!(dirs.contains(&"Music\\Air\\Moon Safari"), "{dirs:?}");
        let files: Vec<&str> = shares
            .directories
            .iter()
            .flat_map(|d| d.files.iter().map(|f| f.filename.as_str()))
            .collect();
        assert_eq!(files.len(), 3, "{files:?}");
        assert!(!files.iter().any(|f| f.contains("zebra")));
        let contents = bob
            .client
            .folder_contents("alice", "Music\\Air\\Moon Safari")
            .await
            .expect("folder contents");
        assert_eq!(contents.directory, "Music\\Air\\Moon Safari");
        let listed: usize = contents.directories.iter().map(|d| d.files.len()).sum();
        assert_eq!(listed, 3);

        // A rescan after a new file: found by the next search.
        std::fs::write(folder.join("Air").join("Sexy Boy live.txt"), b"y").unwrap();
        let summary = alice.client.rescan().await.expect("rescan");
        assert_eq!(summary.files, 4);
        let options = SearchOptions {
            scope: SearchScope::User("alice".into()),
            timeout: Duration::from_secs(3),
            ..Default::default()
        };
        assert_eq!(collect(&bob.client, "sexy live", options).await.len(), 1);
    })
    .await;
}

/// aioslsk 1.7.1 as a live peer: it finds and browses what our client
/// shares, and our client finds and browses what it shares.
#[tokio::test]
async fn aioslsk_and_our_client_search_and_browse_each_other() {
    use support::aioslsk_peer::{AioslskPeer, PeerOptions, StartOptions};

    bounded(async {
        let server = start_server(server_config()).await;
        let addr = server.local_addr();
        let dir = tempfile::tempdir().unwrap();
        let folder = share_tree(dir.path());
        let rusty = sharer(addr, "rusty", &folder).await;

        let py_shared = dir.path().join("py shared");
        std::fs::create_dir_all(py_shared.join("Aphex")).unwrap();
        std::fs::write(py_shared.join("Aphex").join("Windowlicker.txt"), b"w").unwrap();
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let py = AioslskPeer::spawn(PeerOptions::named("pyuser"))
            .await
            .unwrap();
        let mut options = StartOptions::new("pyuser", "secret", addr.port(), &downloads);
        options.shared_dirs = vec![py_shared];
        py.start(&options).await.unwrap();
        py.event("scan_complete", DEADLINE).await.unwrap();
        py.login().await.unwrap();

        // aioslsk finds our file.
        let ticket = py.global_search("sexy boy").await.unwrap();
        let result = py.event("search_result", DEADLINE).await.unwrap();
        assert_eq!(result["ticket"], ticket);
        assert_eq!(result["username"], "rusty");
        let files: Vec<&str> = result["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["filename"].as_str())
            .collect();
        assert!(
            files.contains(&"Music\\Air\\Moon Safari\\Sexy Boy.wav"),
            "{files:?}"
        );

        // Our client finds aioslsk's file.
        let options = SearchOptions {
            timeout: Duration::from_secs(5),
            max_results: 1,
            ..Default::default()
        };
        let found = collect(&rusty.client, "windowlicker", options).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].username, "pyuser");
        assert!(
            found[0]
                .file
                .filename
                .ends_with("\\Aphex\\Windowlicker.txt")
        );

        // Browse both ways.
        let theirs = rusty.client.browse("pyuser").await.expect("browse aioslsk");
        let listed: Vec<&str> = theirs
            .directories
            .iter()
            .flat_map(|d| d.files.iter().map(|f| f.filename.as_str()))
            .collect();
        assert_eq!(listed, ["Windowlicker.txt"], "{theirs:?}");
        let ours = py.browse("rusty").await.expect("aioslsk browses us");
        let dirs: Vec<&str> = ours["directories"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["name"].as_str())
            .collect();
        assert!(dirs.contains(&"Music\\Air\\Moon Safari"), "{ours}");
        let _ = py.stop().await;
    })
    .await;
}

/// One whole frame read from `socket` (length field included).
async fn read_frame(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut length = [0u8; 4];
    tokio::time::timeout(DEADLINE, socket.read_exact(&mut length))
        .await
        .expect("a frame in time")
        .expect("read");
    let size = u32::from_le_bytes(length) as usize;
    assert!(size < 1 << 20, "a small share list, not {size} bytes");
    let mut frame = length.to_vec();
    frame.resize(4 + size, 0);
    socket.read_exact(&mut frame[4..]).await.expect("read");
    frame
}

/// The browse reply is built once per scan: two requests get the very same
/// bytes, which decode to the whole share list; after a rescan the list
/// (and the frame) is new.
#[tokio::test]
async fn browse_replies_are_the_frame_built_once_per_scan() {
    use slsk_proto::FramedMessage;
    use slsk_proto::peer::{PeerMessage, PeerSharesRequest};
    use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
    use slsk_proto::tables::ConnectionType;
    use tokio::io::AsyncWriteExt;

    bounded(async {
        let server = start_server(server_config()).await;
        let dir = tempfile::tempdir().unwrap();
        let folder = share_tree(dir.path());
        let alice = sharer(server.local_addr(), "alice", &folder).await;

        // A raw peer opens a P connection to alice and browses twice.
        let port = alice.client.peers().listen_port();
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let init = PeerInitMessage::from(PeerInit {
            username: "raw".into(),
            connection_type: ConnectionType::Peer,
            ticket: 0.into(),
        });
        let browse = PeerMessage::from(PeerSharesRequest { ticket: None })
            .to_frame()
            .unwrap();
        socket.write_all(&init.to_frame().unwrap()).await.unwrap();
        socket.write_all(&browse).await.unwrap();
        let first = read_frame(&mut socket).await;
        socket.write_all(&browse).await.unwrap();
        let second = read_frame(&mut socket).await;
        assert_eq!(first, second);
        let Ok(PeerMessage::PeerSharesReply(reply)) = PeerMessage::decode_frame(&first) else {
            panic!("not a share list");
        };
        let files: usize = reply.directories.iter().map(|d| d.files.len()).sum();
        assert_eq!(files, 3);

        // A rescan with one more file: the next reply lists it.
        std::fs::write(folder.join("Air").join("Sexy Boy live.txt"), b"y").unwrap();
        assert_eq!(alice.client.rescan().await.expect("rescan").files, 4);
        socket.write_all(&browse).await.unwrap();
        let third = read_frame(&mut socket).await;
        assert_ne!(first, third);
        let Ok(PeerMessage::PeerSharesReply(reply)) = PeerMessage::decode_frame(&third) else {
            panic!("not a share list");
        };
        let files: usize = reply.directories.iter().map(|d| d.files.len()).sum();
        assert_eq!(files, 4);
    })
    .await;
}

/// The wishlist: with the server's WishlistInterval at one second, the
/// client searches its wishlist term every interval (one WishlistSearch
/// each time, a new ticket each), and the replies arrive as peer message
/// events.
#[tokio::test]
async fn wishlist_terms_are_searched_at_the_servers_interval() {
    use slsk_proto::peer::PeerMessage;
    use tokio::time::Instant;

    bounded(async {
        let mut config = server_config();
        config.wishlist_interval = 1;
        let server = start_server(config).await;
        let addr = server.local_addr();
        let dir = tempfile::tempdir().unwrap();
        let folder = share_tree(dir.path());
        let _alice = sharer(addr, "alice", &folder).await;
        let mut bob = User::login_with(client_config(addr, "bob")).await;
        bob.client.add_wishlist("moon safari demo");

        let mut replies = Vec::new();
        while replies.len() < 2 {
            let reply = bob
                .wait_for("a wishlist reply", |event| match event {
                    Event::PeerMessage {
                        username,
                        message: PeerMessage::PeerSearchReply(reply),
                    } if username == "alice" => Some(reply.clone()),
                    _ => None,
                })
                .await;
            replies.push((Instant::now(), reply));
        }
        let (first_at, first) = &replies[0];
        let (second_at, second) = &replies[1];
        for (_, reply) in &replies {
            let names: Vec<&str> = reply.results.iter().map(|f| f.filename.as_str()).collect();
            assert_eq!(names, ["Music\\Air\\Moon Safari\\Sexy Boy demo.mp3"]);
        }
        assert_ne!(first.ticket, second.ticket, "two searches");
        // One interval apart (with room for the replies' own delays).
        let apart = *second_at - *first_at;
        assert!(apart >= Duration::from_millis(500), "{apart:?}");
    })
    .await;
}
