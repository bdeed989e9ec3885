//! A scan: walk the shared folders, read new and changed files in parallel,
//! update the cache, and build the [`Shares`].

use std::io;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::attributes::AudioAttributes;
use crate::cache::{CacheError, CacheWriter, CachedFile, ScanCache, path_bytes};
use crate::cache_map::CachedFiles;
use crate::folders::{FolderError, Root, SharedFolder, resolve_roots};
use crate::probe::{AudioProbe, FileProbe};
use crate::shares::{SharedFile, Shares};
use crate::walk::{FoundFile, walk};

/// How to scan.
#[derive(Clone)]
pub struct ScanOptions {
    /// Threads reading metadata; `None` for one per core.
    pub threads: Option<NonZeroUsize>,
    /// What reads a file; [`AudioProbe`] unless testing.
    pub probe: Arc<dyn FileProbe>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            threads: None,
            probe: Arc::new(AudioProbe),
        }
    }
}

impl std::fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanOptions")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// Where a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanPhase {
    /// Listing directories; `files_seen` grows.
    Walking,
    /// Reading new and changed files; `files_read` grows to `files_to_read`.
    Reading,
    /// Finished (the last report).
    Done,
}

/// Progress of a scan, reported about every 1,024 files walked and every 64
/// files read, and at each phase change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanProgress {
    pub phase: ScanPhase,
    /// Files found so far.
    pub files_seen: u64,
    /// Files that must be read (new or changed); known once walking ends.
    pub files_to_read: u64,
    /// Files read so far.
    pub files_read: u64,
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Regular files found.
    pub files_seen: u64,
    /// Files read (new, or size or mtime changed), readable or not.
    pub files_read: u64,
    /// Files taken from the cache unread.
    pub files_cached: u64,
    /// Cache entries dropped (files gone, or no longer shared).
    pub files_dropped: u64,
    /// Files that could not be opened: not shared.
    pub unreadable_files: u64,
    /// Dot-prefixed entries skipped.
    pub hidden_skipped: u64,
    /// Symlinks skipped (never followed).
    pub symlinks_skipped: u64,
    /// Names skipped: not UTF-8, or containing a backslash.
    pub bad_names_skipped: u64,
    /// Directories that could not be listed.
    pub unreadable_dirs: u64,
    /// Entries that are neither regular files nor directories (sockets,
    /// FIFOs, devices) or that vanished while being looked at.
    pub other_skipped: u64,
    /// Shared folders whose directory is missing: nothing under them is
    /// shared, and their cache entries are kept for when they return.
    pub unavailable_folders: Vec<String>,
    /// Wall time spent walking the folders and loading the cache (done at
    /// the same time) and comparing.
    pub walk_time: Duration,
    /// Wall time spent reading files and writing the cache.
    pub read_time: Duration,
    /// Time spent building the index, or loading the one saved by an
    /// earlier scan of the same files.
    pub index_time: Duration,
    /// Whether the index was loaded from the scan cache (nothing changed
    /// since it was built) rather than built.
    pub index_loaded: bool,
}

/// A digest of what the index is built from: the shared folders' names and
/// every file's path, size and attributes, in any order. Two 64-bit hashes
/// (fixed seeds, so stable across runs) per file, summed: an unchanged
/// library gives the same 128 bits whatever order the walk found it in.
fn fingerprint(roots: &[Root], files: &[SharedFile]) -> Vec<u8> {
    use std::hash::{BuildHasher, Hash, Hasher};
    let seeds = [
        foldhash::quality::FixedState::with_seed(0x736c_736b_0001),
        foldhash::quality::FixedState::with_seed(0x736c_736b_0002),
    ];
    let mut sums = [0u64; 2];
    for (sum, seed) in sums.iter_mut().zip(&seeds) {
        for file in files {
            let mut h = seed.build_hasher();
            file.virtual_path.hash(&mut h);
            file.size.hash(&mut h);
            file.attributes.hash(&mut h);
            *sum = sum.wrapping_add(h.finish());
        }
    }
    let mut names: Vec<&str> = roots.iter().map(|r| r.virtual_name.as_str()).collect();
    names.sort_unstable();
    let mut h = seeds[0].build_hasher();
    names.hash(&mut h);
    (files.len() as u64).hash(&mut h);
    let mut bytes = Vec::with_capacity(24);
    for value in [sums[0], sums[1], h.finish()] {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// What a scan produced.
#[derive(Debug)]
pub struct ScanOutcome {
    pub shares: Shares,
    pub report: ScanReport,
}

/// Why a scan failed.
#[derive(Debug)]
pub enum ScanError {
    Folder(FolderError),
    Cache(CacheError),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Folder(e) => write!(f, "shared folders: {e}"),
            Self::Cache(e) => write!(f, "scan cache: {e}"),
        }
    }
}

impl std::error::Error for ScanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Folder(e) => Some(e),
            Self::Cache(e) => Some(e),
        }
    }
}

impl From<CacheError> for ScanError {
    fn from(e: CacheError) -> Self {
        Self::Cache(e)
    }
}

const WALK_REPORT_EVERY: u64 = 1024;
const READ_REPORT_EVERY: u64 = 64;
/// Read results waiting for the cache writer.
const RESULT_QUEUE: usize = 256;

/// Scans `folders`, reading only files that are new or whose size or mtime
/// changed since `cache` last saw them, and returns the new [`Shares`].
/// Blocking: run it on a thread of its own (or `spawn_blocking`).
///
/// ```no_run
/// use slsk_shares::{ScanCache, ScanOptions, SharedFolder, scan};
///
/// let folders = [SharedFolder::new("Music", "/home/me/Music")];
/// let mut cache = ScanCache::open("/home/me/.cache/slsk/shares.db")?;
/// let outcome = scan(&folders, &mut cache, &ScanOptions::default(), &mut |p| {
///     eprintln!("{:?}: {}/{} read", p.phase, p.files_read, p.files_to_read);
/// })?;
/// println!("sharing {} files", outcome.shares.file_count());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scan(
    folders: &[SharedFolder],
    cache: &mut ScanCache,
    options: &ScanOptions,
    progress: &mut dyn FnMut(ScanProgress),
) -> Result<ScanOutcome, ScanError> {
    let roots = resolve_roots(folders).map_err(ScanError::Folder)?;
    let mut report = ScanReport::default();
    let mut state = ScanProgress {
        phase: ScanPhase::Walking,
        files_seen: 0,
        files_to_read: 0,
        files_read: 0,
    };
    progress(state);

    for root in roots.iter().filter(|r| !r.available) {
        report.unavailable_folders.push(root.virtual_name.clone());
    }
    let threads = options
        .threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    // Walk the folders while another thread loads the index saved by the
    // last scan.
    let started = Instant::now();
    let (found, skips, snapshot) = std::thread::scope(|s| {
        let cache = &mut *cache;
        let loader = s.spawn(move || cache.load_index_snapshot());
        let (found, skips) = walk(&roots, threads, WALK_REPORT_EVERY, &mut |seen| {
            state.files_seen = seen;
            progress(state);
        });
        let snapshot = loader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (found, skips, snapshot)
    });
    let snapshot = snapshot?;
    state.files_seen = found.len() as u64;
    report.files_seen = state.files_seen;
    report.hidden_skipped = skips.hidden;
    report.symlinks_skipped = skips.symlinks;
    report.bad_names_skipped = skips.bad_names;
    report.unreadable_dirs = skips.unreadable_dirs;
    report.other_skipped = skips.other;

    // The walk found every file with the size and mtime it had at the end
    // of the last scan, which cached them all: that scan's index is the
    // answer, and the per-file cache need not even be loaded.
    let walk_fingerprint = walk_fingerprint(&roots, &found);
    let snapshot = match snapshot {
        Some(snapshot) if snapshot.walk_fingerprint == walk_fingerprint => {
            report.files_cached = report.files_seen;
            report.index_loaded = true;
            report.walk_time = started.elapsed();
            // The same reports as any scan: nothing to read, then done.
            for phase in [ScanPhase::Reading, ScanPhase::Done] {
                state.phase = phase;
                progress(state);
            }
            return Ok(ScanOutcome {
                shares: Shares::with_index(roots, snapshot.index),
                report,
            });
        }
        other => other,
    };

    let cached = cache.load()?;
    let Comparison {
        mut attributes,
        to_read,
        dropped,
    } = compare(&found, cached, &roots);
    report.files_cached = (found.len() - to_read.len()) as u64;

    report.walk_time = started.elapsed();
    let started = Instant::now();
    state.phase = ScanPhase::Reading;
    state.files_to_read = to_read.len() as u64;
    progress(state);

    let writer = cache.writer()?;
    for key in &dropped {
        writer.delete(key)?;
    }
    report.files_dropped = dropped.len() as u64;

    let reading = Reading {
        found: &found,
        to_read: &to_read,
        threads,
        probe: &*options.probe,
    };
    reading.run(&writer, &mut attributes, &mut |read, unreadable| {
        state.files_read = read;
        report.unreadable_files = unreadable;
        progress(state);
    })?;
    writer.commit()?;
    report.files_read = state.files_read;

    let files: Vec<SharedFile> = found
        .into_iter()
        .zip(attributes)
        .filter_map(|(file, attributes)| {
            Some(SharedFile {
                virtual_path: file.virtual_path,
                size: file.size,
                attributes: attributes?,
            })
        })
        .collect();
    report.read_time = started.elapsed();
    let started = Instant::now();
    // Unreadable files are tried again by every scan: a walk that finds
    // one must never skip the comparison.
    let walk_fingerprint = if report.unreadable_files == 0 {
        walk_fingerprint
    } else {
        Vec::new()
    };
    // The same files as when the index was saved (only times changed):
    // load it rather than build it again.
    let fingerprint = fingerprint(&roots, &files);
    let loaded = snapshot
        .filter(|s| s.fingerprint == fingerprint)
        .map(|s| s.index);
    report.index_loaded = loaded.is_some();
    let saved = match &loaded {
        Some(_) => cache.save_walk_fingerprint(&walk_fingerprint),
        None => Ok(()),
    };
    let (shares, saved) = match loaded {
        Some(index) => (Shares::with_index(roots, index), saved),
        None => {
            let shares = Shares::with_roots(roots, files);
            let data = shares.index().to_snapshot();
            let saved = cache.save_index_snapshot(&fingerprint, &walk_fingerprint, &data);
            (shares, saved)
        }
    };
    if let Err(error) = saved {
        // Only the next restart is slower: it builds the index.
        tracing::warn!(%error, "cannot save the index snapshot");
    }
    report.index_time = started.elapsed();
    state.phase = ScanPhase::Done;
    progress(state);
    Ok(ScanOutcome { shares, report })
}

/// A digest of what the walk found: the shared folders and every file's
/// local path, virtual path, size and mtime, in any order (summed hashes,
/// as in [`fingerprint`]).
fn walk_fingerprint(roots: &[Root], found: &[FoundFile]) -> Vec<u8> {
    use std::hash::{BuildHasher, Hash, Hasher};
    let seeds = [
        foldhash::quality::FixedState::with_seed(0x736c_736b_0003),
        foldhash::quality::FixedState::with_seed(0x736c_736b_0004),
    ];
    let mut sums = [0u64; 2];
    for (sum, seed) in sums.iter_mut().zip(&seeds) {
        for file in found {
            let mut h = seed.build_hasher();
            path_bytes(&file.local_path).hash(&mut h);
            file.virtual_path.hash(&mut h);
            file.size.hash(&mut h);
            file.mtime_ns.hash(&mut h);
            *sum = sum.wrapping_add(h.finish());
        }
    }
    let mut h = seeds[0].build_hasher();
    for root in roots {
        root.virtual_name.hash(&mut h);
        path_bytes(&root.path).hash(&mut h);
        root.available.hash(&mut h);
    }
    (found.len() as u64).hash(&mut h);
    let mut bytes = Vec::with_capacity(24);
    for value in [sums[0], sums[1], h.finish()] {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// What the cache says about the files found.
struct Comparison {
    /// Per found file: its attributes if the cache has them for its current
    /// size and mtime.
    attributes: Vec<Option<AudioAttributes>>,
    /// Found files to read (new, or changed).
    to_read: Vec<usize>,
    /// Cache keys of files to forget.
    dropped: Vec<Vec<u8>>,
}

fn compare(found: &[FoundFile], mut cached: CachedFiles, roots: &[Root]) -> Comparison {
    let mut attributes: Vec<Option<AudioAttributes>> = vec![None; found.len()];
    let mut to_read: Vec<usize> = Vec::new();
    for (i, file) in found.iter().enumerate() {
        // Taking marks the entry found; a directory shared under two names,
        // or inside another shared one, lists the same local file twice and
        // finds it both times.
        match cached.take(path_bytes(&file.local_path)) {
            Some(entry) if entry.size == file.size && entry.mtime_ns == file.mtime_ns => {
                attributes[i] = Some(entry.attributes);
            }
            _ => to_read.push(i),
        }
    }
    // What was not found: keep what lies under a folder that is unavailable
    // right now (an unmounted disk); drop the rest.
    let unavailable_prefixes: Vec<Vec<u8>> = roots
        .iter()
        .filter(|r| !r.available)
        .map(|r| {
            let mut prefix = path_bytes(&r.path).to_vec();
            prefix.extend_from_slice(std::path::MAIN_SEPARATOR_STR.as_bytes());
            prefix
        })
        .collect();
    let dropped = cached
        .unseen_keys()
        .filter(|key| !unavailable_prefixes.iter().any(|p| key.starts_with(p)))
        .map(<[u8]>::to_vec)
        .collect();
    Comparison {
        attributes,
        to_read,
        dropped,
    }
}

/// Reading new and changed files on several threads, while this one
/// writes what they read to the cache.
struct Reading<'a> {
    found: &'a [FoundFile],
    to_read: &'a [usize],
    threads: usize,
    probe: &'a dyn FileProbe,
}

impl Reading<'_> {
    /// Fills `attributes` for the files read; calls `progress(read,
    /// unreadable)` every [`READ_REPORT_EVERY`] files and at the end.
    fn run(
        &self,
        writer: &CacheWriter<'_>,
        attributes: &mut [Option<AudioAttributes>],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), CacheError> {
        let found = self.found;
        let cursor = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let mut write_error = None;
        let (mut read, mut unreadable) = (0u64, 0u64);
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::sync_channel::<(usize, io::Result<AudioAttributes>)>(RESULT_QUEUE);
            for _ in 0..self.threads.min(self.to_read.len()) {
                let tx = tx.clone();
                let (cursor, stop) = (&cursor, &stop);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let next = cursor.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = self.to_read.get(next) else {
                            break;
                        };
                        if tx
                            .send((i, self.probe.probe(&found[i].local_path)))
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for (i, result) in rx {
                read += 1;
                let key = path_bytes(&found[i].local_path);
                let written = match result {
                    Ok(attrs) => {
                        attributes[i] = Some(attrs);
                        let entry = CachedFile {
                            size: found[i].size,
                            mtime_ns: found[i].mtime_ns,
                            attributes: attrs,
                        };
                        writer.upsert(key, &entry)
                    }
                    Err(error) => {
                        tracing::debug!(path = %found[i].local_path.display(), %error, "unreadable; not shared");
                        unreadable += 1;
                        // An entry from an earlier, readable version must go.
                        writer.delete(key)
                    }
                };
                if let Err(e) = written {
                    stop.store(true, Ordering::Relaxed);
                    write_error.get_or_insert(e);
                }
                if read % READ_REPORT_EVERY == 0 {
                    progress(read, unreadable);
                }
            }
        });
        progress(read, unreadable);
        write_error.map_or(Ok(()), Err)
    }
}
