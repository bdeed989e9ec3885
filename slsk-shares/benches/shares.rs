//! Benchmark of slsk-shares (not part of the test suite):
//!
//!     cargo bench -p slsk-shares
//!
//! 1. Scan of 100,000 generated files (three quarters real WAV/FLAC/MP3
//!    headers, one quarter plain files): cold cache, then a warm rescan.
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
    AudioAttributes, ExcludedPhrases, ScanCache, ScanOptions, SearchSettings, SharedFile,
    SharedFolder, Shares, scan,
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
        std::fs::write(dir.join(name), contents).expect("write");
    }
    println!(
        "scan: generated {count} files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let folders = [SharedFolder::new("Music", &root)];
    let db = tmp.path().join("cache.db");
    let options = ScanOptions::default();

    let (started, cpu) = (Instant::now(), cpu_time());
    let cold = {
        let mut cache = ScanCache::open(&db).expect("cache");
        scan(&folders, &mut cache, &options, &mut |_| {}).expect("scan")
    };
    let (cold_time, cold_cpu) = (started.elapsed(), cpu_time() - cpu);
    assert_eq!(cold.report.files_read as usize, count);
    let with_attributes = (0..cold.shares.file_count() as u32)
        .filter(|&id| !cold.shares.index().attributes(id).is_empty())
        .count();
    let cold_report = cold.report;
    drop(cold.shares);

    let (started, cpu) = (Instant::now(), cpu_time());
    let warm = {
        let mut cache = ScanCache::open(&db).expect("cache");
        scan(&folders, &mut cache, &options, &mut |_| {}).expect("scan")
    };
    let (warm_time, warm_cpu) = (started.elapsed(), cpu_time() - cpu);
    assert_eq!(warm.report.files_read, 0);
    assert_eq!(warm.shares.file_count(), count);

    for (name, report) in [("cold", &cold_report), ("warm", &warm.report)] {
        println!(
            "scan: {name}: walk + cache load {:.0} ms, compare + read + cache write {:.0} ms, index {:.0} ms",
            report.walk_time.as_secs_f64() * 1e3,
            report.read_time.as_secs_f64() * 1e3,
            report.index_time.as_secs_f64() * 1e3
        );
    }
    println!(
        "scan: CPU time (all threads): cold {:.2} s, warm {:.2} s: {:.1}x",
        cold_cpu.as_secs_f64(),
        warm_cpu.as_secs_f64(),
        cold_cpu.as_secs_f64() / warm_cpu.as_secs_f64()
    );
    let started = Instant::now();
    let frame = warm.shares.browse_frame().unwrap();
    let browse_time = started.elapsed();

    let rate = |t: Duration| count as f64 / t.as_secs_f64();
    println!(
        "scan: cold {:.2} s ({:.0} files/s, {with_attributes} with attributes), warm {:.3} s ({:.0} files/s): warm {:.1}x faster",
        cold_time.as_secs_f64(),
        rate(cold_time),
        warm_time.as_secs_f64(),
        rate(warm_time),
        cold_time.as_secs_f64() / warm_time.as_secs_f64()
    );
    println!(
        "scan: browse frame of {count} files: {} bytes compressed, built in {:.0} ms",
        frame.len(),
        browse_time.as_secs_f64() * 1e3
    );
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
        let started = Instant::now();
        let found = shares.search_ids(q, &settings, &phrases);
        index_times.push(started.elapsed());
        hits += found.len();
        empty += usize::from(found.is_empty());
    }
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
        let mut times: Vec<Duration> = (0..queries.len())
            .filter(|i| KINDS[i % 10] == *name)
            .map(|i| index_times[i])
            .collect();
        times.sort();
        println!(
            "query:   {name:<24} median {:8.1} us  p99 {:8.1} us",
            times[times.len() / 2].as_secs_f64() * 1e6,
            percentile(&times, 0.99).as_secs_f64() * 1e6
        );
    }
    if std::env::var_os("SLSK_BENCH_SLOWEST").is_some() {
        let mut order: Vec<usize> = (0..queries.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(index_times[i]));
        for &i in order.iter().take(30) {
            println!("slow: {:?} {:?}", index_times[i], queries[i]);
        }
    }
    let mut reply_times = Vec::with_capacity(queries.len());
    for q in &queries {
        let started = Instant::now();
        std::hint::black_box(shares.search(q, &settings, &phrases));
        reply_times.push(started.elapsed());
    }
    // The linear scan takes far longer: a sample of the same queries.
    let sample: Vec<&String> = queries.iter().step_by(queries.len() / 40).collect();
    let mut linear_times = Vec::with_capacity(sample.len());
    let mut index_sample_times = Vec::with_capacity(sample.len());
    for q in &sample {
        let started = Instant::now();
        let linear = shares.search_ids_linear(q, &settings, &phrases);
        linear_times.push(started.elapsed());
        let started = Instant::now();
        let indexed = shares.search_ids(q, &settings, &phrases);
        index_sample_times.push(started.elapsed());
        assert_eq!(linear, indexed, "{q:?}");
    }
    for times in [
        &mut index_times,
        &mut reply_times,
        &mut linear_times,
        &mut index_sample_times,
    ] {
        times.sort();
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "query: {} queries, {:.1} results on average, {empty} without results",
        queries.len(),
        hits as f64 / queries.len() as f64
    );
    println!(
        "query: index (file ids)      median {:8.1} us  p99 {:8.1} us  max {:8.1} us",
        us(percentile(&index_times, 0.5)),
        us(percentile(&index_times, 0.99)),
        us(*index_times.last().unwrap())
    );
    println!(
        "query: index + FileData list median {:8.1} us  p99 {:8.1} us",
        us(percentile(&reply_times, 0.5)),
        us(percentile(&reply_times, 0.99))
    );
    println!(
        "query: {} sampled queries: linear median {:.1} us p99 {:.1} us; index on the same median {:.1} us p99 {:.1} us",
        sample.len(),
        us(percentile(&linear_times, 0.5)),
        us(percentile(&linear_times, 0.99)),
        us(percentile(&index_sample_times, 0.5)),
        us(percentile(&index_sample_times, 0.99))
    );
    let started = Instant::now();
    let frame = shares.browse_frame().unwrap();
    println!(
        "browse: frame of {n} files: {} bytes compressed, built in {:.1} s",
        frame.len(),
        started.elapsed().as_secs_f64()
    );
}
