//! Scanning real directory trees: what is shared, what is read, the cache.

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::sync::Arc;

use common::{CountingProbe, audio, write};
use slsk_shares::{
    AudioAttributes, ScanCache, ScanOptions, ScanOutcome, ScanPhase, ScanProgress, SharedFolder,
    scan,
};

fn run(folders: &[SharedFolder], cache: &mut ScanCache, probe: &Arc<CountingProbe>) -> ScanOutcome {
    let options = ScanOptions {
        probe: probe.clone(),
        ..Default::default()
    };
    scan(folders, cache, &options, &mut |_| {}).expect("scan")
}

fn paths(outcome: &ScanOutcome) -> Vec<String> {
    let index = outcome.shares.index();
    (0..index.file_count() as u32)
        .map(|id| index.path(id))
        .collect()
}

fn attributes(outcome: &ScanOutcome, path: &str) -> AudioAttributes {
    let index = outcome.shares.index();
    index.attributes(index.find_file(path).expect(path))
}

#[test]
fn shares_nested_files_and_skips_hidden_unreadable_and_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    let outside = tmp.path().join("outside");
    write(&root, "a.txt", b"a");
    write(&root, "Artist/Album/01 - Song.txt", b"song");
    write(&root, "Artist/Album/Deeper/x.txt", b"x");
    write(&root, ".hidden.txt", b"h");
    write(&root, ".hidden_dir/inside.txt", b"h");
    write(&root, "Artist/.cover.jpg", b"h");
    let locked = write(&root, "locked.txt", b"secret");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let secret = write(&outside, "secret.txt", b"outside");
    symlink(&secret, root.join("escape_file.txt")).unwrap();
    symlink(&outside, root.join("escape_dir")).unwrap();
    symlink(root.join("a.txt"), root.join("inside_link.txt")).unwrap();
    symlink(root.join("Artist"), root.join("inside_dir_link")).unwrap();
    symlink(tmp.path(), root.join("Artist/Album/up")).unwrap();
    // A file named like a parent reference cannot exist; `..` as a
    // directory entry is never listed. A backslash in a name is left out.
    write(&root, "back\\slash.txt", b"b");

    let probe = Arc::new(CountingProbe::default());
    if std::fs::File::open(&locked).is_ok() {
        // Running as root: permissions do not stop us, so make the probe
        // fail the way an unreadable file does.
        probe.unreadable.lock().unwrap().push(locked.clone());
    }
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = run(&[SharedFolder::new("Music", &root)], &mut cache, &probe);
    assert_eq!(
        paths(&outcome),
        [
            "Music\\Artist\\Album\\01 - Song.txt",
            "Music\\Artist\\Album\\Deeper\\x.txt",
            "Music\\a.txt",
        ]
    );
    let report = &outcome.report;
    assert_eq!(report.unreadable_files, 1);
    assert_eq!(report.hidden_skipped, 3);
    assert_eq!(report.symlinks_skipped, 5);
    assert_eq!(report.bad_names_skipped, 1);
    assert_eq!(report.files_seen, 4, "three shared + the unreadable one");
    assert_eq!(cache.len().unwrap(), 3, "the unreadable file is not cached");
    let dirs: Vec<&str> = outcome.shares.index().dirs().map(|(_, d)| d).collect();
    assert_eq!(
        dirs,
        [
            "Music",
            "Music\\Artist",
            "Music\\Artist\\Album",
            "Music\\Artist\\Album\\Deeper"
        ]
    );
    // Nothing outside the shared folder is reachable by any name.
    for id in 0..outcome.shares.file_count() as u32 {
        let local = outcome
            .shares
            .resolve(&outcome.shares.index().path(id))
            .unwrap();
        assert!(local.starts_with(root.canonicalize().unwrap()), "{local:?}");
    }
}

#[test]
fn a_shared_folder_given_through_a_symlink_or_dotdot_is_resolved_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("real");
    write(&root, "song.txt", b"x");
    symlink(&root, tmp.path().join("link")).unwrap();
    let via_dotdot = tmp.path().join("real/../real");
    let probe = Arc::new(CountingProbe::default());
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = run(
        &[
            SharedFolder::new("A", tmp.path().join("link")),
            SharedFolder::new("B", &via_dotdot),
        ],
        &mut cache,
        &probe,
    );
    assert_eq!(paths(&outcome), ["A\\song.txt", "B\\song.txt"]);
    let a = outcome.shares.resolve("A\\song.txt").unwrap();
    assert_eq!(a, root.canonicalize().unwrap().join("song.txt"));
}

#[test]
fn a_directory_shared_twice_is_read_once_and_cached_once() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "rock/a.wav", &audio::wav(8000, 8, 1, 8000));
    let folders = [
        SharedFolder::new("All", tmp.path()),
        SharedFolder::new("Rock", tmp.path().join("rock")),
    ];
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = run(&folders, &mut cache, &Arc::new(CountingProbe::default()));
    assert_eq!(paths(&outcome), ["All\\rock\\a.wav", "Rock\\a.wav"]);
    assert_eq!(cache.len().unwrap(), 1);
    let probe = Arc::new(CountingProbe::default());
    let outcome = run(&folders, &mut cache, &probe);
    assert_eq!(probe.reads(), 0);
    assert_eq!(outcome.report.files_dropped, 0);
    assert_eq!(outcome.shares.file_count(), 2);
}

#[test]
fn invalid_folder_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cache = ScanCache::in_memory().unwrap();
    for name in ["", ".", "..", ".hidden", "a\\b", "a/b"] {
        let folders = [SharedFolder::new(name, tmp.path())];
        assert!(
            scan(&folders, &mut cache, &ScanOptions::default(), &mut |_| {}).is_err(),
            "{name:?}"
        );
    }
    let twice = [
        SharedFolder::new("A", tmp.path()),
        SharedFolder::new("A", tmp.path()),
    ];
    assert!(scan(&twice, &mut cache, &ScanOptions::default(), &mut |_| {}).is_err());
}

#[test]
fn attributes_come_from_real_audio_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "a/tone.wav", &audio::wav(8000, 16, 1, 8000 * 2 * 3));
    write(root, "a/tone.flac", &audio::flac(44_100, 2, 24, 44_100 * 5));
    write(root, "a/vbr.mp3", &audio::mp3(true, 100, 3));
    write(root, "a/cbr.mp3", &audio::mp3(false, 100, 3));
    write(root, "a/notes.txt", b"plain");
    let probe = Arc::new(CountingProbe::default());
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = run(&[SharedFolder::new("M", root)], &mut cache, &probe);

    let wav = attributes(&outcome, "M\\a\\tone.wav");
    assert_eq!(wav.duration, Some(3));
    assert_eq!(wav.sample_rate, Some(8000));
    assert_eq!(wav.bit_depth, Some(16));
    assert_eq!(wav.bitrate, Some(128));

    let flac = attributes(&outcome, "M\\a\\tone.flac");
    assert_eq!(flac.duration, Some(5));
    assert_eq!(flac.sample_rate, Some(44_100));
    assert_eq!(flac.bit_depth, Some(24));

    // 100 frames of 1152 samples at 44.1 kHz: 2.6 s.
    let vbr = attributes(&outcome, "M\\a\\vbr.mp3");
    assert_eq!(vbr.duration, Some(2));
    assert_eq!(vbr.sample_rate, Some(44_100));
    assert_eq!(vbr.bit_depth, None);
    assert!(matches!(vbr.bitrate, Some(120..=130)), "{vbr:?}");
    assert_eq!(vbr.vbr, Some(true));
    assert_eq!(attributes(&outcome, "M\\a\\cbr.mp3").vbr, Some(false));

    assert!(attributes(&outcome, "M\\a\\notes.txt").is_empty());
    assert_eq!(probe.reads(), 5);
}

#[test]
fn a_file_with_broken_metadata_is_shared_without_attributes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "broken.flac", b"fLaC this is not a stream info block");
    write(root, "garbage.mp3", &[0x5a; 3000]);
    write(
        root,
        "truncated.wav",
        &audio::wav(44_100, 16, 2, 1000)[..30],
    );
    write(root, "empty.ogg", b"");
    let probe = Arc::new(CountingProbe::default());
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = run(&[SharedFolder::new("M", root)], &mut cache, &probe);
    assert_eq!(outcome.shares.file_count(), 4);
    for path in [
        "M\\broken.flac",
        "M\\garbage.mp3",
        "M\\truncated.wav",
        "M\\empty.ogg",
    ] {
        assert!(attributes(&outcome, path).is_empty(), "{path}");
    }
}

#[test]
fn a_restart_with_an_unchanged_library_reads_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lib");
    for i in 0..40 {
        write(
            &root,
            &format!("d{}/t{i}.wav", i % 4),
            &audio::wav(8000, 8, 1, 8000),
        );
    }
    let db = tmp.path().join("cache.db");
    let folders = [SharedFolder::new("M", &root)];

    let first = Arc::new(CountingProbe::default());
    let before = {
        let mut cache = ScanCache::open(&db).unwrap();
        run(&folders, &mut cache, &first)
    };
    assert_eq!(first.reads(), 40);
    assert_eq!(before.report.files_read, 40);

    // A new process: the cache comes from disk.
    let second = Arc::new(CountingProbe::default());
    let mut cache = ScanCache::open(&db).unwrap();
    let after = run(&folders, &mut cache, &second);
    assert_eq!(second.reads(), 0);
    assert_eq!(after.report.files_cached, 40);
    assert_eq!(paths(&after), paths(&before));
    assert_eq!(
        attributes(&after, "M\\d0\\t0.wav"),
        attributes(&before, "M\\d0\\t0.wav")
    );
    assert_eq!(attributes(&after, "M\\d0\\t0.wav").duration, Some(1));
    assert!(
        !before.report.index_loaded,
        "the first scan builds the index"
    );
    assert!(after.report.index_loaded, "the restart loads it");
    assert_eq!(after.shares.folder_count(), before.shares.folder_count());
    assert_eq!(
        after.shares.browse_frame().unwrap(),
        before.shares.browse_frame().unwrap()
    );
}

/// The saved index is used only for the very files it was built from: any
/// change (a new, removed, renamed or resized file, a different folder
/// name) builds it again, and the result is what a fresh build gives.
#[test]
fn a_saved_index_is_used_only_while_nothing_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lib");
    write(&root, "Air/Moon Safari/01 Sexy Boy.txt", b"one");
    let kelly = write(&root, "Air/Moon Safari/02 Kelly.txt", b"two");
    let db = tmp.path().join("cache.db");
    let scan_as = |name: &str| {
        let mut cache = ScanCache::open(&db).unwrap();
        let folders = [SharedFolder::new(name, &root)];
        run(&folders, &mut cache, &Arc::new(CountingProbe::default()))
    };
    let search = |outcome: &ScanOutcome, query: &str| -> Vec<String> {
        outcome
            .shares
            .search(
                query,
                &slsk_shares::SearchSettings::default(),
                &Default::default(),
            )
            .into_iter()
            .map(|f| f.filename)
            .collect()
    };
    assert!(!scan_as("M").report.index_loaded);
    let same = scan_as("M");
    assert!(same.report.index_loaded);
    assert_eq!(
        search(&same, "kelly"),
        ["M\\Air\\Moon Safari\\02 Kelly.txt"]
    );

    // A new file.
    write(&root, "Air/Talkie Walkie/01 Venus.txt", b"three");
    let added = scan_as("M");
    assert!(!added.report.index_loaded);
    assert_eq!(
        search(&added, "venus"),
        ["M\\Air\\Talkie Walkie\\01 Venus.txt"]
    );
    assert!(scan_as("M").report.index_loaded);

    // A resized file (same name).
    std::fs::write(&kelly, b"a longer kelly").unwrap();
    let resized = scan_as("M");
    assert!(!resized.report.index_loaded);
    let index = resized.shares.index();
    let id = index
        .find_file("M\\Air\\Moon Safari\\02 Kelly.txt")
        .unwrap();
    assert_eq!(index.size(id), 14);

    // A renamed file.
    std::fs::rename(&kelly, root.join("Air/Moon Safari/02 Kelly Watch.txt")).unwrap();
    let renamed = scan_as("M");
    assert!(!renamed.report.index_loaded);
    assert_eq!(
        search(&renamed, "kelly"),
        ["M\\Air\\Moon Safari\\02 Kelly Watch.txt"]
    );
    assert!(search(&renamed, "kelly -watch").is_empty());

    // A removed file.
    std::fs::remove_file(root.join("Air/Talkie Walkie/01 Venus.txt")).unwrap();
    let removed = scan_as("M");
    assert!(!removed.report.index_loaded);
    assert!(search(&removed, "venus").is_empty());

    // The same files under another folder name.
    let renamed_folder = scan_as("Music");
    assert!(!renamed_folder.report.index_loaded);
    assert_eq!(
        search(&renamed_folder, "sexy"),
        ["Music\\Air\\Moon Safari\\01 Sexy Boy.txt"]
    );
    let again = scan_as("Music");
    assert!(again.report.index_loaded);
    assert_eq!(search(&again, "sexy"), search(&renamed_folder, "sexy"));
}

#[test]
fn changed_files_are_read_again_and_deleted_ones_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "a.wav", &audio::wav(8000, 8, 1, 8000));
    let b = write(root, "b.wav", &audio::wav(8000, 8, 1, 8000));
    let c = write(root, "c.wav", &audio::wav(8000, 8, 1, 8000));
    let d = write(root, "d.txt", b"same size");
    let folders = [SharedFolder::new("M", root)];
    let mut cache = ScanCache::in_memory().unwrap();
    run(&folders, &mut cache, &Arc::new(CountingProbe::default()));

    // b grows (new size), c is deleted, d keeps its size but its mtime moves.
    std::fs::write(&b, audio::wav(8000, 8, 1, 8000 * 4)).unwrap();
    std::fs::remove_file(&c).unwrap();
    let file = std::fs::File::options().write(true).open(&d).unwrap();
    file.set_modified(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000),
    )
    .unwrap();

    let probe = Arc::new(CountingProbe::default());
    let outcome = run(&folders, &mut cache, &probe);
    assert_eq!(probe.reads(), 2, "b and d");
    assert_eq!(outcome.report.files_read, 2);
    assert_eq!(outcome.report.files_cached, 1);
    assert_eq!(outcome.report.files_dropped, 1);
    assert_eq!(paths(&outcome), ["M\\a.wav", "M\\b.wav", "M\\d.txt"]);
    assert_eq!(attributes(&outcome, "M\\b.wav").duration, Some(4));
    assert_eq!(cache.len().unwrap(), 3);

    // And once more: nothing to do.
    let probe = Arc::new(CountingProbe::default());
    run(&folders, &mut cache, &probe);
    assert_eq!(probe.reads(), 0);
}

#[test]
fn an_unavailable_folder_shares_nothing_but_keeps_its_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    let other = tmp.path().join("other");
    write(&disk, "x.wav", &audio::wav(8000, 8, 1, 8000));
    write(&other, "y.wav", &audio::wav(8000, 8, 1, 8000));
    let folders = [
        SharedFolder::new("Disk", &disk),
        SharedFolder::new("Other", &other),
    ];
    let mut cache = ScanCache::in_memory().unwrap();
    run(&folders, &mut cache, &Arc::new(CountingProbe::default()));

    let unmounted = tmp.path().join("unmounted");
    std::fs::rename(&disk, &unmounted).unwrap();
    let outcome = run(&folders, &mut cache, &Arc::new(CountingProbe::default()));
    assert_eq!(outcome.report.unavailable_folders, ["Disk"]);
    assert_eq!(paths(&outcome), ["Other\\y.wav"]);
    assert_eq!(cache.len().unwrap(), 2);

    std::fs::rename(&unmounted, &disk).unwrap();
    let probe = Arc::new(CountingProbe::default());
    let outcome = run(&folders, &mut cache, &probe);
    assert_eq!(probe.reads(), 0, "back from the cache");
    assert_eq!(paths(&outcome), ["Disk\\x.wav", "Other\\y.wav"]);

    // A folder no longer shared at all: its entries go.
    let outcome = run(
        &folders[1..],
        &mut cache,
        &Arc::new(CountingProbe::default()),
    );
    assert_eq!(outcome.report.files_dropped, 1);
    assert_eq!(cache.len().unwrap(), 1);
}

#[test]
fn progress_goes_through_the_phases_and_counts_everything() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..200 {
        write(tmp.path(), &format!("d/{i}.txt"), b"x");
    }
    let mut reports: Vec<ScanProgress> = Vec::new();
    let mut cache = ScanCache::in_memory().unwrap();
    let folders = [SharedFolder::new("M", tmp.path())];
    scan(&folders, &mut cache, &ScanOptions::default(), &mut |p| {
        reports.push(p)
    })
    .unwrap();
    let phases: Vec<ScanPhase> = reports.iter().map(|p| p.phase).collect();
    assert_eq!(phases.first(), Some(&ScanPhase::Walking));
    assert_eq!(phases.last(), Some(&ScanPhase::Done));
    assert!(
        phases.windows(2).all(|w| w[0] as u8 <= w[1] as u8),
        "{phases:?}"
    );
    assert!(
        reports
            .iter()
            .any(|p| p.phase == ScanPhase::Reading && p.files_read == 64)
    );
    let last = reports.last().unwrap();
    assert_eq!(
        (last.files_seen, last.files_to_read, last.files_read),
        (200, 200, 200)
    );
    assert!(
        reports
            .windows(2)
            .all(|w| w[0].files_read <= w[1].files_read)
    );

    // A rescan with nothing changed reports the same phases, nothing to read.
    let mut reports: Vec<ScanProgress> = Vec::new();
    let outcome = scan(&folders, &mut cache, &ScanOptions::default(), &mut |p| {
        reports.push(p)
    })
    .unwrap();
    assert!(outcome.report.index_loaded);
    let phases: Vec<ScanPhase> = reports.iter().map(|p| p.phase).collect();
    assert_eq!(phases.first(), Some(&ScanPhase::Walking));
    assert!(phases.contains(&ScanPhase::Reading), "{phases:?}");
    assert_eq!(phases.last(), Some(&ScanPhase::Done));
    let last = reports.last().unwrap();
    assert_eq!(
        (last.files_seen, last.files_to_read, last.files_read),
        (200, 0, 0)
    );
}

#[test]
fn resolve_refuses_anything_not_shared() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    let song = write(&root, "Artist/Song.txt", b"s");
    write(&root, ".hidden.txt", b"h");
    write(tmp.path(), "outside.txt", b"o");
    symlink(tmp.path().join("outside.txt"), root.join("link.txt")).unwrap();
    let swapped = write(&root, "Artist/Swapped.txt", b"w");
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = run(
        &[SharedFolder::new("Music", &root)],
        &mut cache,
        &Arc::new(CountingProbe::default()),
    );
    let shares = &outcome.shares;

    let canonical_song = song.canonicalize().unwrap();
    assert_eq!(
        shares.resolve("Music\\Artist\\Song.txt"),
        Some(canonical_song)
    );
    for refused in [
        "Music\\Artist\\song.txt",
        "music\\Artist\\Song.txt",
        "Music\\Artist",
        "Music",
        "Music\\",
        "",
        "\\",
        "Music\\.hidden.txt",
        "Music\\link.txt",
        "Music\\..\\outside.txt",
        "Music\\Artist\\..\\..\\outside.txt",
        "Music\\Artist\\..\\Artist\\Song.txt",
        "Music\\Artist\\.\\Song.txt",
        "Music\\Artist\\\\Song.txt",
        "Music/Artist/Song.txt",
        "Music\\Artist/Song.txt",
        "Music\\Artist\\Song.txt\\",
        "Music\\Artist\\Song.txt\0",
        "Other\\Artist\\Song.txt",
        "..\\outside.txt",
        "/etc/passwd",
        "Music\\..\\..\\..\\..\\etc\\passwd",
    ] {
        assert_eq!(shares.resolve(refused), None, "{refused:?}");
    }
    // Shared at scan time, swapped for a link to the outside since.
    assert!(shares.resolve("Music\\Artist\\Swapped.txt").is_some());
    std::fs::remove_file(&swapped).unwrap();
    symlink(tmp.path().join("outside.txt"), &swapped).unwrap();
    assert_eq!(shares.resolve("Music\\Artist\\Swapped.txt"), None);
    // A directory on the way swapped for a link.
    std::fs::rename(root.join("Artist"), tmp.path().join("moved")).unwrap();
    symlink(tmp.path().join("moved"), root.join("Artist")).unwrap();
    assert_eq!(shares.resolve("Music\\Artist\\Song.txt"), None);
}

#[test]
fn a_missing_file_is_not_resolved() {
    let tmp = tempfile::tempdir().unwrap();
    let song = write(tmp.path(), "a.txt", b"s");
    let mut cache = ScanCache::in_memory().unwrap();
    let outcome = run(
        &[SharedFolder::new("M", tmp.path())],
        &mut cache,
        &Arc::new(CountingProbe::default()),
    );
    std::fs::remove_file(&song).unwrap();
    assert_eq!(outcome.shares.resolve("M\\a.txt"), None);
}

/// A damaged index snapshot in the cache file is rebuilt, not trusted.
#[test]
fn a_damaged_saved_index_is_built_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lib");
    write(&root, "Air/01 Sexy Boy.txt", b"one");
    let db = tmp.path().join("cache.db");
    let folders = [SharedFolder::new("M", &root)];
    let scan_once = || {
        let mut cache = ScanCache::open(&db).unwrap();
        run(&folders, &mut cache, &Arc::new(CountingProbe::default()))
    };
    assert!(!scan_once().report.index_loaded);
    let damage = |sql: &str| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        assert_eq!(conn.execute(sql, []).unwrap(), 1);
    };
    for sql in [
        // The last bytes changed (the checksum no longer matches).
        "UPDATE index_snapshot SET data = CAST(substr(data, 1, length(data) - 3) || x'ffffff' AS BLOB)",
        // Cut short.
        "UPDATE index_snapshot SET data = substr(data, 1, 20)",
        // Not even a blob.
        "UPDATE index_snapshot SET data = 'text'",
    ] {
        damage(sql);
        let outcome = scan_once();
        assert!(!outcome.report.index_loaded, "{sql}");
        assert_eq!(paths(&outcome), ["M\\Air\\01 Sexy Boy.txt"]);
        assert!(scan_once().report.index_loaded, "saved again");
    }
}

/// The shortcut of an unchanged walk (the index loaded, the per-file cache
/// not even compared) never hides work: an unreadable file is tried again
/// by every scan, and a file whose mtime alone moved is read again, after
/// which the saved index (the same files) serves again.
#[test]
fn an_unchanged_walk_skips_the_comparison_only_when_everything_was_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("lib");
    write(&root, "a.wav", &audio::wav(8000, 8, 1, 8000));
    let b = write(&root, "b.txt", b"plain");
    let locked = write(&root, "locked.txt", b"secret");
    let locked = std::fs::canonicalize(locked).unwrap();
    let db = tmp.path().join("cache.db");
    let folders = [SharedFolder::new("M", &root)];
    let scan_with = |probe: &Arc<CountingProbe>| {
        let mut cache = ScanCache::open(&db).unwrap();
        run(&folders, &mut cache, probe)
    };
    let failing = || {
        let probe = Arc::new(CountingProbe::default());
        probe.unreadable.lock().unwrap().push(locked.clone());
        probe
    };

    for expected_reads in [3, 1] {
        let probe = failing();
        let outcome = scan_with(&probe);
        assert_eq!(
            probe.reads(),
            expected_reads,
            "the unreadable file, every time"
        );
        assert_eq!(outcome.report.unreadable_files, 1);
        assert_eq!(paths(&outcome), ["M\\a.wav", "M\\b.txt"]);
    }
    // Readable now: shared, and from then on nothing is read.
    let probe = Arc::new(CountingProbe::default());
    let outcome = scan_with(&probe);
    assert_eq!(probe.reads(), 1);
    assert_eq!(paths(&outcome), ["M\\a.wav", "M\\b.txt", "M\\locked.txt"]);
    let probe = Arc::new(CountingProbe::default());
    let outcome = scan_with(&probe);
    assert_eq!(probe.reads(), 0);
    assert!(outcome.report.index_loaded);
    assert_eq!(outcome.report.files_cached, 3);
    assert_eq!(outcome.report.files_seen, 3);

    // Only the mtime of b moves: b is read again, the index is the same.
    let file = std::fs::File::options().write(true).open(&b).unwrap();
    file.set_modified(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000),
    )
    .unwrap();
    let probe = Arc::new(CountingProbe::default());
    let outcome = scan_with(&probe);
    assert_eq!(probe.reads(), 1);
    assert!(outcome.report.index_loaded, "same files, same attributes");
    let probe = Arc::new(CountingProbe::default());
    let outcome = scan_with(&probe);
    assert_eq!(probe.reads(), 0);
    assert!(outcome.report.index_loaded);
    assert_eq!(
        attributes(&outcome, "M\\a.wav"),
        AudioAttributes {
            duration: Some(1),
            sample_rate: Some(8000),
            bit_depth: Some(8),
            bitrate: Some(64),
            ..Default::default()
        }
    );
}
