//! Browse, folder-contents and search payloads decode back with slsk-proto.

mod common;

use std::sync::Arc;

use common::{CountingProbe, audio, write};
use slsk_proto::FramedMessage;
use slsk_proto::peer::{PeerMessage, PeerSearchReply};
use slsk_proto::structures::{Attribute, DirectoryData, FileData};
use slsk_proto::tables::FileAttributeKind;
use slsk_shares::{
    ExcludedPhrases, ScanCache, ScanOptions, SearchSettings, SharedFolder, Shares, scan,
};

fn scanned() -> (tempfile::TempDir, Shares) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "Air/Moon Safari/01 La femme.flac",
        &audio::flac(44_100, 2, 16, 44_100 * 7),
    );
    write(
        root,
        "Air/Moon Safari/02 Sexy Boy.mp3",
        &audio::mp3(false, 100, 2),
    );
    write(root, "Air/Moon Safari/Scans/cover.txt", b"jpeg?");
    write(root, "Air/readme", b"no extension");
    let options = ScanOptions {
        probe: Arc::new(CountingProbe::default()),
        ..Default::default()
    };
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = scan(
        &[SharedFolder::new("Music", root)],
        &mut cache,
        &options,
        &mut |_| {},
    )
    .unwrap();
    (tmp, outcome.shares)
}

fn attr(key: FileAttributeKind, value: u32) -> Attribute {
    Attribute { key, value }
}

#[test]
fn browse_frame_decodes_to_every_directory_with_its_files() {
    let (_tmp, shares) = scanned();
    let frame = shares.browse_frame().unwrap();
    // The same bytes on every call: built once.
    assert_eq!(frame.as_ptr(), shares.browse_frame().unwrap().as_ptr());
    let PeerMessage::PeerSharesReply(reply) = PeerMessage::decode_frame(&frame).unwrap() else {
        panic!("not a shares reply");
    };
    assert_eq!(reply, shares.browse_reply());
    assert_eq!(reply.unknown, 0);
    assert_eq!(reply.locked_directories, Some(vec![]));
    let names: Vec<&str> = reply.directories.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Music",
            "Music\\Air",
            "Music\\Air\\Moon Safari",
            "Music\\Air\\Moon Safari\\Scans"
        ]
    );
    assert!(
        reply.directories[0].files.is_empty(),
        "empty parents are listed"
    );
    assert_eq!(
        reply.directories[1].files,
        [FileData {
            code: 1,
            filename: "readme".into(),
            filesize: 12,
            extension: String::new(),
            attributes: vec![],
        }]
    );
    let album = &reply.directories[2].files;
    assert_eq!(album.len(), 2);
    assert_eq!(album[0].filename, "01 La femme.flac");
    assert_eq!(album[0].extension, "flac");
    assert_eq!(
        album[0].attributes,
        [
            attr(FileAttributeKind::Duration, 7),
            attr(FileAttributeKind::SampleRate, 44_100),
            attr(FileAttributeKind::BitDepth, 16)
        ]
    );
    assert_eq!(album[1].filename, "02 Sexy Boy.mp3");
    assert_eq!(album[1].attributes[0].key, FileAttributeKind::Bitrate);
    assert_eq!(album[1].attributes[1], attr(FileAttributeKind::Duration, 2));
    assert_eq!(album[1].attributes[2], attr(FileAttributeKind::Vbr, 0));
}

#[test]
fn folder_contents_lists_only_the_folders_own_files() {
    let (_tmp, shares) = scanned();
    let reply = shares.folder_contents(77, "Music\\Air\\Moon Safari");
    let PeerMessage::PeerDirectoryContentsReply(decoded) =
        PeerMessage::decode_frame(&PeerMessage::from(reply.clone()).to_frame().unwrap()).unwrap()
    else {
        panic!("not a folder contents reply");
    };
    assert_eq!(decoded, reply);
    assert_eq!(decoded.ticket, 77);
    assert_eq!(decoded.directory, "Music\\Air\\Moon Safari");
    let [DirectoryData { name, files }] = &decoded.directories[..] else {
        panic!("one directory expected");
    };
    assert_eq!(name, "Music\\Air\\Moon Safari");
    let names: Vec<&str> = files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(names, ["01 La femme.flac", "02 Sexy Boy.mp3"]);
}

#[test]
fn folder_contents_of_unknown_folders_is_an_empty_answer() {
    let (_tmp, shares) = scanned();
    for unknown in [
        "Music\\Nope",
        "music\\air",
        "",
        "..",
        "Music\\Air\\Moon Safari\\01 La femme.flac",
    ] {
        let reply = shares.folder_contents(5, unknown);
        assert!(reply.directories.is_empty(), "{unknown:?}");
        let frame = PeerMessage::from(reply.clone()).to_frame().unwrap();
        assert_eq!(
            PeerMessage::decode_frame(&frame).unwrap(),
            PeerMessage::from(reply)
        );
    }
}

#[test]
fn search_results_carry_full_paths_and_fit_a_search_reply() {
    let (_tmp, shares) = scanned();
    let results = shares.search(
        "moon safari",
        &SearchSettings::default(),
        &ExcludedPhrases::default(),
    );
    let names: Vec<&str> = results.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(
        names,
        [
            "Music\\Air\\Moon Safari\\01 La femme.flac",
            "Music\\Air\\Moon Safari\\02 Sexy Boy.mp3",
            "Music\\Air\\Moon Safari\\Scans\\cover.txt"
        ]
    );
    let reply = PeerSearchReply {
        username: "me".into(),
        ticket: 9,
        results,
        has_slots_free: true,
        avg_speed: 1000,
        queue_size: 0,
        unknown: Some(0),
        locked_results: Some(vec![]),
    };
    let frame = PeerMessage::from(reply.clone()).to_frame().unwrap();
    assert_eq!(
        PeerMessage::decode_frame(&frame).unwrap(),
        PeerMessage::from(reply)
    );
}

#[test]
fn shares_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Shares>();
}

#[test]
fn empty_shares_answer_everything_with_nothing() {
    let shares = Shares::empty();
    assert_eq!(shares.file_count(), 0);
    let PeerMessage::PeerSharesReply(reply) =
        PeerMessage::decode_frame(&shares.browse_frame().unwrap()).unwrap()
    else {
        panic!()
    };
    assert!(reply.directories.is_empty());
    assert!(shares.folder_contents(1, "x").directories.is_empty());
    assert!(
        shares
            .search(
                "anything",
                &SearchSettings::default(),
                &ExcludedPhrases::default()
            )
            .is_empty()
    );
    assert_eq!(shares.resolve("x\\y"), None);
}
