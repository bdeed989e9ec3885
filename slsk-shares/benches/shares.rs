//! Benchmark of slsk-shares (not part of the test suite):
//!
//!     cargo bench -p slsk-shares
//!
//! 1. Scan of 100,000 generated files (three quarters real WAV/FLAC/MP3
//!    headers, one quarter plain files): empty cache with the files' data
//!    in the page cache, empty cache with it evicted, then a warm rescan.
//! 2. Queries against a 1,000,000-file generated index: median and p99
//!    latency of the index next to the linear reference, same queries, same
//!    run.
//! 3. Index memory per file: the sum of its allocations' capacities, and
//!    the live bytes a counting global allocator sees it keep.
//!
//! `SLSK_BENCH_FILES` and `SLSK_BENCH_INDEX` change the two sizes.

#[path = "../tests/common/audio.rs"]
mod audio;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use slsk_shares::{
    AudioAttributes, ExcludedPhrases, ScanCache, ScanOptions, ScanOutcome, SearchSettings,
    SharedFile, SharedFolder, Shares, scan,
};

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// CPU time (user + system, all threads) of this process so far, from
/// `/proc/self/stat` (Linux; clock ticks of 10 ms). Less disturbed than wall
/// time by other processes on a shared machine.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter word picks one part.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |part: &str| filter.as_deref().is_none_or(|f| part.contains(f));
    if wants("scan") {
        bench_scan(env_usize("SLSK_BENCH_FILES", 100_000));
    }
    if wants("query") {
        bench_query(env_usize("SLSK_BENCH_INDEX", 1_000_000));
    }
}

fn bench_scan(count: usize) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("library");
    let wav = audio::wav(8000, 8, 1, 8000);
    let flac = audio::flac(44_100, 2, 16, 44_100 * 200);
    let mp3 = audio::mp3(true, 8000, 1);
    let started = Instant::now();
    let mut paths = Vec::with_capacity(count);
    for i in 0..count {
        let dir = root.join(format!("Artist {}/Album {}", i / 1000, i / 10));
        if i % 10 == 0 {
            std::fs::create_dir_all(&dir).expect("mkdir");
        }
        let (name, contents): (String, &[u8]) = match i % 4 {
            0 => (format!("{i:06} track.wav"), &wav),
            1 => (format!("{i:06} track.flac"), &flac),
            2 => (format!("{i:06} track.mp3"), &mp3),
            _ => (format!("{i:06} notes.txt"), b"liner notes"),
        };
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write");
        paths.push(path);
    }
    println!(
        "scan: generated {count} files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let folders = [SharedFolder::new("Music", &root)];
    let db = tmp.path().join("cache.db");

    // 1. Empty cache, the files' data still in the page cache (just written).
    let (outcome, cold) = timed_scan(&folders, &db, "cold, file data in the page cache");
    assert_eq!(outcome.report.files_read as usize, count);
    let with_attributes = (0..outcome.shares.file_count() as u32)
        .filter(|&id| !outcome.shares.index().attributes(id).is_empty())
        .count();
    println!("scan: {with_attributes} of {count} files have audio attributes");
    drop(outcome);

    // 2. Empty cache, the files' data evicted: what a first scan after a
    // reboot reads from the disk.
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
    evict(&paths);
    let (outcome, evicted) = timed_scan(&folders, &db, "cold, file data evicted");
    assert_eq!(outcome.report.files_read as usize, count);
    drop(outcome);

    // 3. The cache from 2, reopened: a restart with nothing changed. Run
    // several times (`SLSK_BENCH_WARM_ROUNDS`, default 5); the median
    // counts, so that one preempted round does not.
    let rounds = env_usize("SLSK_BENCH_WARM_ROUNDS", 5).max(1);
    let mut warm_times = Vec::with_capacity(rounds);
    let mut outcome = None;
    for round in 0..rounds {
        let (this, time) = timed_scan(
            &folders,
            &db,
            &format!("warm (restart, nothing changed) {}/{rounds}", round + 1),
        );
        assert_eq!(this.report.files_read, 0);
        assert!(this.report.index_loaded);
        assert_eq!(this.shares.file_count(), count);
        warm_times.push(time);
        outcome = Some(this);
    }
    let outcome = outcome.expect("at least one round");
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let warm = Timing {
        wall: median(warm_times.iter().map(|t| t.wall).collect()),
        cpu: median(warm_times.iter().map(|t| t.cpu).collect()),
    };
    println!(
        "scan: warm median of {rounds}: {:.3} s wall, CPU {:.2} s",
        warm.wall.as_secs_f64(),
        warm.cpu.as_secs_f64()
    );

    for (name, cold) in [("in the page cache", &cold), ("evicted", &evicted)] {
        println!(
            "scan: warm vs cold (data {name}): {:.1}x faster (wall), {:.1}x less CPU",
            cold.wall.as_secs_f64() / warm.wall.as_secs_f64(),
            cold.cpu.as_secs_f64() / warm.cpu.as_secs_f64()
        );
    }
    let started = Instant::now();
    let frame = outcome.shares.browse_frame().unwrap();
    println!(
        "scan: browse frame of {count} files: {} bytes compressed, built in {:.0} ms",
        frame.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
}

#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

fn timed_scan(
    folders: &[SharedFolder],
    db: &std::path::Path,
    label: &str,
) -> (ScanOutcome, Timing) {
    let (started, cpu) = (Instant::now(), cpu_time());
    let outcome = {
        let mut cache = ScanCache::open(db).expect("cache");
        scan(folders, &mut cache, &ScanOptions::default(), &mut |_| {}).expect("scan")
    };
    let (wall, cpu) = (started.elapsed(), cpu_time() - cpu);
    let r = &outcome.report;
    println!(
        "scan: {label}: {:.2} s, {:.0} files/s, CPU {:.2} s; walk + cache load {:.0} ms, read + cache write {:.0} ms, index {} {:.0} ms",
        wall.as_secs_f64(),
        r.files_seen as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64(),
        r.walk_time.as_secs_f64() * 1e3,
        r.read_time.as_secs_f64() * 1e3,
        if r.index_loaded { "loaded" } else { "built" },
        r.index_time.as_secs_f64() * 1e3
    );
    (outcome, Timing { wall, cpu })
}

/// Drops the files' data from the page cache: written back first
/// (`sync`), then `POSIX_FADV_DONTNEED` on each. Directory entries and
/// inodes stay cached, as they would after listing the folders once.
fn evict(paths: &[std::path::PathBuf]) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() };
    for path in paths {
        let file = std::fs::File::open(path).expect("open");
        // SAFETY: a valid open descriptor; offset 0 and length 0 mean the
        // whole file.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0, "posix_fadvise");
    }
}

/// Made-up words with a skewed frequency: a few common, most rare.
struct Words {
    words: Vec<String>,
}

impl Words {
    fn new(rng: &mut SmallRng, count: usize) -> Self {
        const SYLLABLES: &[&str] = &[
            "ka", "lo", "mi", "ra", "to", "ne", "su", "vi", "de", "ba", "ri", "on", "el", "an",
            "or", "is", "um", "ex", "ly", "ho", "ga", "pu", "ze", "fi", "ju", "wo", "ce", "ty",
            "qu", "xa",
        ];
        let mut words: Vec<String> = (0..count)
            .map(|_| {
                let n = rng.random_range(2..5);
                (0..n)
                    .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
                    .collect()
            })
            .collect();
        words.sort();
        words.dedup();
        Self { words }
    }

    /// Index drawn with a roughly Zipfian skew.
    fn pick<'a>(&'a self, rng: &mut SmallRng) -> &'a str {
        let x: f64 = rng.random();
        let i = ((self.words.len() as f64).powf(x) as usize).saturating_sub(1);
        &self.words[i.min(self.words.len() - 1)]
    }

    fn phrase(&self, rng: &mut SmallRng, words: std::ops::Range<usize>) -> String {
        let n = rng.random_range(words);
        (0..n).map(|_| self.pick(rng)).collect::<Vec<_>>().join(" ")
    }
}

fn library(count: usize) -> Vec<SharedFile> {
    let mut rng = SmallRng::seed_from_u64(7);
    let words = Words::new(&mut rng, 250_000);
    let mut files = Vec::with_capacity(count);
    let mut album = String::new();
    for i in 0..count {
        if i % 12 == 0 {
            let artist = words.phrase(&mut rng, 1..3);
            let title = words.phrase(&mut rng, 1..4);
            let genre = words.pick(&mut rng);
            album = format!(
                "Music\\{genre}\\{artist}\\{} - {title} ({})",
                artist,
                rng.random_range(1960..2025)
            );
        }
        let lossless = i % 3 == 0;
        let title = words.phrase(&mut rng, 1..5);
        let path = format!(
            "{album}\\{:02} - {title}.{}",
            i % 12 + 1,
            if lossless { "flac" } else { "mp3" }
        );
        let attributes = if lossless {
            AudioAttributes {
                duration: Some(rng.random_range(60..600)),
                sample_rate: Some(44_100),
                bit_depth: Some(16),
                ..Default::default()
            }
        } else {
            AudioAttributes {
                bitrate: Some(320),
                duration: Some(rng.random_range(60..600)),
                vbr: Some(false),
                ..Default::default()
            }
        };
        files.push(SharedFile {
            virtual_path: path,
            size: rng.random_range(1_000_000..60_000_000),
            attributes,
        });
    }
    files
}

/// Queries like real ones: mostly words of a real file (so most have hits),
/// some common words, exclusions, partial words, and misses.
fn queries(shares: &Shares, count: usize) -> Vec<String> {
    let mut rng = SmallRng::seed_from_u64(11);
    let index = shares.index();
    (0..count)
        .map(|i| {
            let id = rng.random_range(0..index.file_count() as u32);
            let path = index.path(id).to_lowercase();
            let words: Vec<&str> = slsk_shares::words::split_words(&path)
                .filter(|w| w.len() > 2 && *w != "music")
                .collect();
            let pick = |rng: &mut SmallRng| words[rng.random_range(0..words.len())].to_owned();
            match i % 10 {
                0 => "flac".to_owned(),
                1 => format!("{} -flac", pick(&mut rng)),
                2 => {
                    let w = pick(&mut rng);
                    format!("{} *{}", pick(&mut rng), &w[w.len() - 2..])
                }
                3 => format!("{} zzqqxx", pick(&mut rng)),
                4 => format!("{} mp3", pick(&mut rng)),
                5..=7 => format!("{} {}", pick(&mut rng), pick(&mut rng)),
                _ => format!("{} {} {}", pick(&mut rng), pick(&mut rng), pick(&mut rng)),
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// CPU time of the calling thread: unlike the wall clock, it does not
/// count the time other processes hold the core.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill; this clock exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f`, giving its result and its (wall, thread CPU) time.
fn measure<T>(f: impl FnOnce() -> T) -> (T, (Duration, Duration)) {
    let (wall, cpu) = (Instant::now(), thread_cpu());
    let result = std::hint::black_box(f());
    let cpu = thread_cpu() - cpu;
    (result, (wall.elapsed(), cpu))
}

/// Prints median, p99 and max of wall and CPU times.
fn report(name: &str, times: &[(Duration, Duration)]) {
    let mut wall: Vec<Duration> = times.iter().map(|t| t.0).collect();
    let mut cpu: Vec<Duration> = times.iter().map(|t| t.1).collect();
    wall.sort();
    cpu.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "query:   {name:<32} median {:8.1} us ({:8.1})  p99 {:8.1} us ({:8.1})  max {:8.1} us ({:8.1})",
        us(percentile(&wall, 0.5)),
        us(percentile(&cpu, 0.5)),
        us(percentile(&wall, 0.99)),
        us(percentile(&cpu, 0.99)),
        us(*wall.last().unwrap()),
        us(*cpu.last().unwrap()),
    );
}

fn bench_query(count: usize) {
    let before = LIVE.load(Ordering::Relaxed);
    let started = Instant::now();
    let files = library(count);
    let generated = started.elapsed();
    let folders = [SharedFolder::new("Music", "/nonexistent/slsk-bench")];
    let started = Instant::now();
    let shares = Shares::from_files(&folders, files).expect("folders");
    let built = started.elapsed();
    let live = LIVE.load(Ordering::Relaxed) - before;
    let index = shares.index();
    let n = index.file_count();
    println!(
        "query: {n} files, {} directories, {} words; generated in {:.1} s, index built in {:.1} s",
        index.dir_count(),
        index.word_count(),
        generated.as_secs_f64(),
        built.as_secs_f64()
    );
    println!(
        "memory: {:.1} bytes/file by capacities ({} bytes), {:.1} bytes/file live by the counting allocator",
        index.heap_bytes() as f64 / n as f64,
        index.heap_bytes(),
        live as f64 / n as f64
    );

    for (part, bytes) in index.heap_bytes_by_part() {
        println!(
            "memory:   {part:<14} {:6.1} bytes/file",
            bytes as f64 / n as f64
        );
    }
    if std::env::var_os("SLSK_BENCH_BUILD_ONLY").is_some() {
        return;
    }
    let settings = SearchSettings::default();
    let phrases = ExcludedPhrases::new(["zzzz excluded phrase"]);
    let queries = queries(&shares, 20_000);
    // Warm up caches and branch predictors.
    for q in queries.iter().take(2000) {
        std::hint::black_box(shares.search_ids(q, &settings, &phrases));
    }
    let mut index_times = Vec::with_capacity(queries.len());
    let mut hits = 0usize;
    let mut empty = 0usize;
    for q in &queries {
        let (found, time) = measure(|| shares.search_ids(q, &settings, &phrases));
        index_times.push(time);
        hits += found.len();
        empty += usize::from(found.is_empty());
    }
    println!(
        "query: {} queries, {:.1} results on average, {empty} without results",
        queries.len(),
        hits as f64 / queries.len() as f64
    );
    println!("query: latency, wall clock and (in brackets) thread CPU time:");
    report("index, all queries", &index_times);
    // Per kind of query (the `i % 10` of `queries`).
    const KINDS: [&str; 10] = [
        "one common word (flac)",
        "word -flac",
        "word *suffix",
        "word + missing word",
        "word mp3",
        "two words",
        "two words",
        "two words",
        "three words",
        "three words",
    ];
    for (kind, name) in KINDS.iter().enumerate() {
        if KINDS[..kind].contains(name) {
            continue;
        }
        let times: Vec<(Duration, Duration)> = (0..queries.len())
            .filter(|i| KINDS[i % 10] == *name)
            .map(|i| index_times[i])
            .collect();
        report(&format!("  {name}"), &times);
    }
    if std::env::var_os("SLSK_BENCH_SLOWEST").is_some() {
        let mut order: Vec<usize> = (0..queries.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(index_times[i].1));
        for &i in order.iter().take(30) {
            println!("slow: {:?} {:?}", index_times[i], queries[i]);
        }
    }
    let reply_times: Vec<_> = queries
        .iter()
        .map(|q| measure(|| shares.search(q, &settings, &phrases)).1)
        .collect();
    report("index + FileData list", &reply_times);
    // The linear scan takes far longer: a sample of the same queries, six
    // of each kind.
    let sample: Vec<&String> = (0..60).map(|k| &queries[k * 311 + k % 10]).collect();
    let mut linear_times = Vec::with_capacity(sample.len());
    let mut index_sample_times = Vec::with_capacity(sample.len());
    for q in &sample {
        let (linear, time) = measure(|| shares.search_ids_linear(q, &settings, &phrases));
        linear_times.push(time);
        let (indexed, time) = measure(|| shares.search_ids(q, &settings, &phrases));
        index_sample_times.push(time);
        assert_eq!(linear, indexed, "{q:?}");
    }
    report(
        &format!("linear scan, {} queries", sample.len()),
        &linear_times,
    );
    report("index, the same queries", &index_sample_times);
    let started = Instant::now();
    let frame = shares.browse_frame().unwrap();
    println!(
        "browse: frame of {n} files: {} bytes compressed, built in {:.1} s",
        frame.len(),
        started.elapsed().as_secs_f64()
    );
}
