//! The in-memory share index: every shared file in a compact table, and an
//! inverted index from words to files for searching.
//!
//! Layout (a few large allocations, no per-file or per-word allocation):
//! - files are numbered (`u32`) in the byte order of their virtual paths,
//!   so any list of file ids in ascending order is also sorted by path;
//! - a file is its directory id, its name (a range of one string arena), its
//!   size and its packed attributes (28 bytes plus the name), and the ids of
//!   the words of its name;
//! - directories are numbered in path order, their paths in a second arena,
//!   with the ids of their files and of the words of their path;
//! - a word's id is its rank by *reversed* bytes, so the words ending in a
//!   suffix (`*suffix` terms) are one range of ids; a second array orders
//!   the ids by the words' bytes for exact lookup by binary search;
//! - each word's posting list (the ascending ids of the files containing it)
//!   is a range of one `u32` array, in word-id order.
//!
//! A query drives the shortest posting list of its included words and
//! leapfrogs (galloping search) through the others, so its cost follows the
//! rarest word; it stops at the result cap. A `*suffix` term whose words are
//! in few files becomes one more merged list; otherwise each candidate's
//! word ids are checked against the suffix's id range.

mod dense;
mod snapshot;

use crate::attributes::{AudioAttributes, PackedAttributes};
use crate::query::{ExcludedPhrases, ParsedQuery};
use crate::words::split_words;
use dense::{Bitmap, DenseWords};

/// A file's number in the index.
pub type FileId = u32;

/// One file handed to the index builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFile {
    /// `Folder\Sub\name.ext`: at least two components.
    pub virtual_path: String,
    pub size: u64,
    pub attributes: AudioAttributes,
}

/// Strings stored end to end, addressed by number.
#[derive(Debug, Default, Clone)]
struct Arena {
    text: String,
    /// `ends[i]` is where string `i` ends; it starts where `i - 1` ends.
    ends: Vec<u32>,
}

impl Arena {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
    }

    fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 4
    }

    fn shrink(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Ranges of one `u32` array, addressed by number (posting lists, the
/// files of each directory).
#[derive(Debug, Default, Clone)]
struct Lists {
    items: Vec<u32>,
    ends: Vec<u32>,
}

impl Lists {
    fn start(&self, i: u32) -> usize {
        match i.checked_sub(1) {
            Some(before) => self.ends[before as usize] as usize,
            None => 0,
        }
    }

    fn get(&self, i: u32) -> &[u32] {
        &self.items[self.start(i)..self.ends[i as usize] as usize]
    }

    fn push(&mut self, items: &[u32]) {
        self.items.extend_from_slice(items);
        self.ends.push(self.items.len() as u32);
    }

    fn heap_bytes(&self) -> usize {
        (self.items.capacity() + self.ends.capacity()) * 4
    }

    fn shrink(&mut self) {
        self.items.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// The index. Immutable once built.
#[derive(Debug, Default, Clone)]
pub struct ShareIndex {
    dirs: Arena,
    dir_files: Lists,
    file_dir: Vec<u32>,
    names: Arena,
    sizes: Vec<u64>,
    attributes: Vec<PackedAttributes>,
    /// The vocabulary; a word's id is its rank by reversed bytes, so the
    /// words ending in a suffix have consecutive ids.
    words: Arena,
    /// Word ids in the order of their (forward) bytes, for exact lookup.
    by_forward: Vec<u32>,
    /// Word id -> ascending ids of the files containing the word.
    postings: Lists,
    /// Directory id -> ids of the words of its path.
    dir_words: Lists,
    /// File id -> ids of the words of its name not already in its
    /// directory's path.
    name_words: Lists,
    /// Bitmaps of the words in many files (derived from `postings`).
    dense: DenseWords,
}

/// Arenas and lists are addressed with `u32`: past this many bytes or
/// entries, files are left out of the index (with a warning).
const U32_LIMIT: usize = u32::MAX as usize;

impl ShareIndex {
    /// Builds the index. Files are sorted by path; a path given twice is
    /// kept once; a path without a `\` is left out.
    pub fn build(mut files: Vec<IndexedFile>) -> Self {
        files.retain(|f| f.virtual_path.contains('\\'));
        files.sort_unstable_by(|a, b| a.virtual_path.cmp(&b.virtual_path));
        files.dedup_by(|a, b| a.virtual_path == b.virtual_path);

        let mut index = ShareIndex::default();
        // Directories: every parent of a file, and their parents. Files are
        // in path order, so the files of one directory mostly follow each
        // other: their parents are collected once per run.
        let mut dir_paths: Vec<&str> = Vec::new();
        let mut previous_parent = None;
        for file in &files {
            let first = parent(&file.virtual_path);
            if first == previous_parent {
                continue;
            }
            previous_parent = first;
            let mut dir = first;
            while let Some(d) = dir {
                dir_paths.push(d);
                dir = parent(d);
            }
        }
        dir_paths.sort_unstable();
        dir_paths.dedup();

        // Word ids during the build are in first-seen order; they are
        // renumbered once the vocabulary is complete.
        let mut vocabulary = Vocabulary::default();
        let mut dir_words: Vec<Vec<u32>> = Vec::with_capacity(dir_paths.len());
        let mut lower = String::new();
        for dir in &dir_paths {
            index.dirs.push(dir);
            let mut ids = Vec::new();
            for word in split_words(lowercase_into(&mut lower, dir)) {
                let id = vocabulary.id(word);
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            dir_words.push(ids);
        }

        let mut name_words: Vec<u32> = Vec::new();
        let mut name_word_ends: Vec<u32> = Vec::with_capacity(files.len());
        let mut total_postings = 0usize;
        let mut current_dir: Option<(&str, u32)> = None;
        for file in &files {
            let id = index.file_dir.len();
            let (dir, name) = file
                .virtual_path
                .rsplit_once('\\')
                .expect("paths without a backslash were removed");
            if id >= U32_LIMIT
                || index.names.text.len() + name.len() >= U32_LIMIT
                || total_postings >= U32_LIMIT - 65_536
            {
                tracing::warn!(files = files.len(), "share index full; files left out");
                break;
            }
            let dir_id = match current_dir {
                Some((path, dir_id)) if path == dir => dir_id,
                _ => {
                    let dir_id = dir_paths
                        .binary_search(&dir)
                        .expect("every parent was collected")
                        as u32;
                    current_dir = Some((dir, dir_id));
                    dir_id
                }
            };
            let dir_word_ids = &dir_words[dir_id as usize];
            let first_name_word = name_words.len();
            for word in split_words(lowercase_into(&mut lower, name)) {
                let w = vocabulary.id(word);
                if !dir_word_ids.contains(&w) && !name_words[first_name_word..].contains(&w) {
                    name_words.push(w);
                }
            }
            total_postings += dir_word_ids.len() + name_words.len() - first_name_word;
            name_word_ends.push(name_words.len() as u32);
            index.file_dir.push(dir_id);
            index.names.push(name);
            index.sizes.push(file.size);
            index
                .attributes
                .push(PackedAttributes::pack(&file.attributes));
        }
        let dir_count = dir_paths.len();
        drop(dir_paths);
        drop(files);
        // The files of each directory, by counting sort (ids stay ascending).
        index.dir_files = group(dir_count, index.file_dir.len(), |emit| {
            for (file, &dir) in index.file_dir.iter().enumerate() {
                emit(dir, file as u32);
            }
        });

        // Renumber the words by reversed bytes.
        let mut words: Vec<(Box<str>, u32)> = vocabulary.ids.into_iter().collect();
        words.sort_unstable_by(|(a, _), (b, _)| a.bytes().rev().cmp(b.bytes().rev()));
        let mut renumber = vec![0u32; words.len()];
        for (new, (word, old)) in words.iter().enumerate() {
            renumber[*old as usize] = new as u32;
            index.words.push(word);
        }
        let mut by_forward: Vec<u32> = (0..words.len() as u32).collect();
        by_forward.sort_unstable_by(|&a, &b| words[a as usize].0.cmp(&words[b as usize].0));
        index.by_forward = by_forward;
        drop(words);
        for ids in &dir_words {
            let ids: Vec<u32> = ids.iter().map(|&w| renumber[w as usize]).collect();
            index.dir_words.push(&ids);
        }
        drop(dir_words);
        for w in &mut name_words {
            *w = renumber[*w as usize];
        }
        index.name_words = Lists {
            items: name_words,
            ends: name_word_ends,
        };

        // Posting lists from the per-file words, by counting sort: files in
        // ascending order, so every list comes out sorted.
        index.postings = group(index.words.len(), total_postings, |emit| {
            for (file, &dir) in index.file_dir.iter().enumerate() {
                let file = file as u32;
                for &w in index
                    .dir_words
                    .get(dir)
                    .iter()
                    .chain(index.name_words.get(file))
                {
                    emit(w, file);
                }
            }
        });

        index.dense = DenseWords::build(&index.postings, index.file_dir.len());
        index.dirs.shrink();
        index.names.shrink();
        index.words.shrink();
        index.postings.shrink();
        index.dir_files.shrink();
        index.dir_words.shrink();
        index.name_words.shrink();
        index.file_dir.shrink_to_fit();
        index.sizes.shrink_to_fit();
        index.attributes.shrink_to_fit();
        index.by_forward.shrink_to_fit();
        index
    }

    /// Number of files.
    pub fn file_count(&self) -> usize {
        self.file_dir.len()
    }

    /// Number of directories (every parent of a file, shared roots included).
    pub fn dir_count(&self) -> usize {
        self.dirs.len()
    }

    /// Number of distinct words.
    pub fn word_count(&self) -> usize {
        self.words.len()
    }

    /// Heap bytes held: the sum of the capacities of its allocations.
    pub fn heap_bytes(&self) -> usize {
        self.heap_bytes_by_part()
            .iter()
            .map(|(_, bytes)| bytes)
            .sum()
    }

    /// [`ShareIndex::heap_bytes`] by part: the per-file table (directory,
    /// name end, size, attributes), file names, the word ids of each name,
    /// posting lists (with the bitmaps of the commonest words), directories (paths, files, word ids) and the
    /// vocabulary.
    pub fn heap_bytes_by_part(&self) -> [(&'static str, usize); 6] {
        let table = self.file_dir.capacity() * 4
            + self.names.ends.capacity() * 4
            + self.sizes.capacity() * 8
            + self.attributes.capacity() * std::mem::size_of::<PackedAttributes>();
        [
            ("file table", table),
            ("file names", self.names.text.capacity()),
            ("name word ids", self.name_words.heap_bytes()),
            (
                "posting lists",
                self.postings.heap_bytes() + self.dense.heap_bytes(),
            ),
            (
                "directories",
                self.dirs.heap_bytes() + self.dir_files.heap_bytes() + self.dir_words.heap_bytes(),
            ),
            (
                "vocabulary",
                self.words.heap_bytes() + self.by_forward.capacity() * 4,
            ),
        ]
    }

    /// A file's name (last path component).
    pub fn name(&self, id: FileId) -> &str {
        self.names.get(id)
    }

    /// A file's directory path.
    pub fn dir_of(&self, id: FileId) -> &str {
        self.dirs.get(self.file_dir[id as usize])
    }

    /// A file's whole virtual path.
    pub fn path(&self, id: FileId) -> String {
        let (dir, name) = (self.dir_of(id), self.name(id));
        let mut path = String::with_capacity(dir.len() + 1 + name.len());
        path.push_str(dir);
        path.push('\\');
        path.push_str(name);
        path
    }

    pub fn size(&self, id: FileId) -> u64 {
        self.sizes[id as usize]
    }

    pub fn attributes(&self, id: FileId) -> AudioAttributes {
        self.attributes[id as usize].unpack()
    }

    /// Directory ids with their paths, in path order.
    pub fn dirs(&self) -> impl Iterator<Item = (u32, &str)> {
        (0..self.dirs.len() as u32).map(|d| (d, self.dirs.get(d)))
    }

    /// The id of a directory path (exact match).
    pub fn find_dir(&self, path: &str) -> Option<u32> {
        binary_search_by(self.dirs.len(), |i| self.dirs.get(i).cmp(path))
    }

    /// The files directly in a directory, in name order.
    pub fn files_in(&self, dir: u32) -> &[FileId] {
        self.dir_files.get(dir)
    }

    /// The id of a virtual path (exact match).
    pub fn find_file(&self, path: &str) -> Option<FileId> {
        let (dir, name) = path.rsplit_once('\\')?;
        let files = self.files_in(self.find_dir(dir)?);
        let at = binary_search_by(files.len(), |i| self.name(files[i as usize]).cmp(name))?;
        Some(files[at as usize])
    }

    fn find_word(&self, word: &str) -> Option<u32> {
        let at = binary_search_by(self.by_forward.len(), |i| {
            self.words.get(self.by_forward[i as usize]).cmp(word)
        })?;
        Some(self.by_forward[at as usize])
    }

    /// The ids of the words ending in `suffix`: one range, since ids follow
    /// the reversed bytes.
    fn words_ending_in(&self, suffix: &str) -> std::ops::Range<u32> {
        let reversed = |w: usize| self.words.get(w as u32).bytes().rev();
        let n = self.words.len();
        // The first word whose reversed bytes are >= the reversed suffix...
        let start = partition_point(n, |w| reversed(w).lt(suffix.bytes().rev()));
        // ...then every word that has the reversed suffix as a prefix.
        let len = partition_point(n - start, |w| {
            reversed(start + w)
                .take(suffix.len())
                .eq(suffix.bytes().rev())
        });
        start as u32..(start + len) as u32
    }

    /// The posting entries of a range of word ids (contiguous).
    fn postings_of_range(&self, words: &std::ops::Range<u32>) -> &[u32] {
        if words.is_empty() {
            return &[];
        }
        let from = self.postings.start(words.start);
        let to = self.postings.ends[words.end as usize - 1] as usize;
        &self.postings.items[from..to]
    }

    /// Whether a file has a word whose id is in `words`.
    fn has_word_in(&self, id: FileId, words: &std::ops::Range<u32>) -> bool {
        let dir = self.file_dir[id as usize];
        self.dir_words.get(dir).iter().any(|w| words.contains(w))
            || self.name_words.get(id).iter().any(|w| words.contains(w))
    }

    /// The files matching `query`, in path order, at most `max_results`,
    /// without those whose lower-cased path contains an excluded phrase.
    pub fn search(
        &self,
        query: &ParsedQuery,
        max_results: usize,
        phrases: &ExcludedPhrases,
    ) -> Vec<FileId> {
        // Each list with the word's bitmap when the word is dense.
        let mut required: Vec<(std::borrow::Cow<'_, [u32]>, Option<Bitmap<'_>>)> = Vec::new();
        for word in &query.included {
            match self.find_word(word) {
                Some(w) => required.push((self.postings.get(w).into(), self.dense.get(w))),
                None => return Vec::new(),
            }
        }
        if required.is_empty() || max_results == 0 {
            return Vec::new();
        }
        let smallest = required.iter().map(|l| l.0.len()).min().unwrap_or(0);
        // Partial terms: when the words ending in the suffix are in few
        // files, their merged posting list is one more list to intersect;
        // in not many more files than the shortest list, a bitmap of those
        // files (a bit set per posting, no sort) tests each candidate;
        // otherwise each candidate's own words are checked.
        let mut checked_ranges: Vec<std::ops::Range<u32>> = Vec::new();
        let mut suffix_maps: Vec<Vec<u64>> = Vec::new();
        for suffix in &query.partial {
            let words = self.words_ending_in(suffix);
            if words.is_empty() {
                return Vec::new();
            }
            let postings = self.postings_of_range(&words);
            if postings.len() <= smallest / 8 {
                let mut merged = postings.to_vec();
                merged.sort_unstable();
                merged.dedup();
                required.push((merged.into(), None));
            } else if postings.len() <= smallest.saturating_mul(4) {
                let mut map = vec![0u64; self.file_count().div_ceil(64)];
                for &file in postings {
                    if let Some(bits) = map.get_mut(file as usize / 64) {
                        *bits |= 1 << (file % 64);
                    }
                }
                suffix_maps.push(map);
            } else {
                checked_ranges.push(words);
            }
        }
        required.sort_by_key(|l| l.0.len());
        let excluded: Vec<(&[u32], Option<Bitmap<'_>>)> = query
            .excluded
            .iter()
            .filter_map(|w| self.find_word(w))
            .map(|w| (self.postings.get(w), self.dense.get(w)))
            .collect();

        let mut results = Vec::new();
        let mut excluded_cursors = vec![0usize; excluded.len()];
        let mut phrase_check = PhraseCheck::default();
        // Whether a file holding every included word is a result; pushes
        // it, and says when the cap is reached.
        let mut accept = |id: FileId| -> bool {
            for ((list, bitmap), cursor) in excluded.iter().zip(&mut excluded_cursors) {
                let has = match bitmap {
                    Some(bitmap) => bitmap.contains(id),
                    None => {
                        *cursor = gallop(list, *cursor, id);
                        list.get(*cursor) == Some(&id)
                    }
                };
                if has {
                    return false;
                }
            }
            if !suffix_maps.iter().all(|map| Bitmap(map).contains(id))
                || !checked_ranges
                    .iter()
                    .all(|words| self.has_word_in(id, words))
            {
                return false;
            }
            if !phrases.is_empty() && phrase_check.excludes(self, id, phrases) {
                return false;
            }
            results.push(id);
            results.len() == max_results
        };

        let bitmaps: Option<Vec<Bitmap<'_>>> = required.iter().map(|l| l.1).collect();
        if let Some(bitmaps) = bitmaps {
            // Only dense words: intersect the bitmaps, 64 files at a time.
            'blocks: for block in 0..self.dense.stride() {
                let mut bits = bitmaps.iter().fold(!0u64, |all, b| all & b.0[block]);
                while bits != 0 {
                    let id = (block * 64) as u32 + bits.trailing_zeros();
                    bits &= bits - 1;
                    if accept(id) {
                        break 'blocks;
                    }
                }
            }
            return results;
        }

        let (driver, others) = required.split_first().expect("not empty");
        let driver = &driver.0;
        let mut cursors = vec![0usize; others.len()];
        let mut at = 0;
        'candidates: while let Some(&id) = driver.get(at) {
            // Leapfrog: a list without `id` tells where the next possible
            // match is; skip the driver there. A dense word's bitmap only
            // says yes or no, in one step.
            for ((list, bitmap), cursor) in others.iter().zip(&mut cursors) {
                if let Some(bitmap) = bitmap {
                    if !bitmap.contains(id) {
                        at += 1;
                        continue 'candidates;
                    }
                    continue;
                }
                *cursor = gallop(list, *cursor, id);
                match list.get(*cursor) {
                    None => break 'candidates,
                    Some(&next) if next != id => {
                        at = gallop(driver, at + 1, next);
                        continue 'candidates;
                    }
                    Some(_) => {}
                }
            }
            at += 1;
            if accept(id) {
                break;
            }
        }
        results
    }
}

/// Word ids while building, in first-seen order.
#[derive(Default)]
struct Vocabulary {
    ids: std::collections::HashMap<Box<str>, u32, foldhash::fast::RandomState>,
}

impl Vocabulary {
    fn id(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(word.into(), id);
        id
    }
}

/// Groups `(key, item)` pairs (`key < keys`, `total` pairs in all) into one
/// list per key, keeping the order in which `pairs` emits them: a counting
/// sort in two passes, with no per-key allocation.
fn group(keys: usize, total: usize, pairs: impl Fn(&mut dyn FnMut(u32, u32))) -> Lists {
    let mut ends = vec![0u32; keys];
    pairs(&mut |key, _| ends[key as usize] += 1);
    let mut sum = 0u32;
    for end in &mut ends {
        sum += *end;
        *end = sum;
    }
    // Fill each list from its start: `next[key]` is where its next item goes.
    let mut next: Vec<u32> = Vec::with_capacity(keys);
    next.push(0);
    next.extend_from_slice(&ends[..keys.saturating_sub(1)]);
    let mut items = vec![0u32; total];
    pairs(&mut |key, item| {
        let slot = &mut next[key as usize];
        items[*slot as usize] = item;
        *slot += 1;
    });
    Lists { items, ends }
}

/// Tests lower-cased paths against the excluded phrases, lower-casing each
/// directory once for a run of results in it.
#[derive(Default)]
struct PhraseCheck {
    dir: Option<u32>,
    lower: String,
    dir_len: usize,
}

impl PhraseCheck {
    fn excludes(&mut self, index: &ShareIndex, id: FileId, phrases: &ExcludedPhrases) -> bool {
        let dir = index.file_dir[id as usize];
        if self.dir != Some(dir) {
            self.lower.clear();
            self.lower.push_str(&index.dirs.get(dir).to_lowercase());
            self.lower.push('\\');
            self.dir_len = self.lower.len();
            self.dir = Some(dir);
        }
        // Lower-casing the directory and the name apart gives the same text
        // as the whole path: `\` ends a word for the final-sigma rule.
        self.lower.truncate(self.dir_len);
        self.lower.push_str(&index.name(id).to_lowercase());
        phrases.excludes(&self.lower)
    }
}

/// `text` lower-cased into `buffer` (reused from call to call: no
/// allocation per file for ASCII names, the common case).
fn lowercase_into<'a>(buffer: &'a mut String, text: &str) -> &'a str {
    buffer.clear();
    if text.is_ascii() {
        buffer.push_str(text);
        buffer.make_ascii_lowercase();
    } else {
        // Whole-string lower-casing (the final-sigma rule looks at neighbours).
        buffer.push_str(&text.to_lowercase());
    }
    buffer
}

/// The first `i` in `0..len` for which `pred(i)` is false (`pred` must be
/// true then false).
fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The parent of a virtual path, if it has one.
fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('\\').map(|(dir, _)| dir)
}

/// Binary search over `0..len` with a comparison of item `i` to the target.
fn binary_search_by(len: usize, cmp: impl Fn(u32) -> std::cmp::Ordering) -> Option<u32> {
    let (mut lo, mut hi) = (0usize, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match cmp(mid as u32) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid as u32),
        }
    }
    None
}

/// The first index at or after `from` whose item is >= `target`, found by
/// doubling steps then bisecting: cheap when the target is near.
fn gallop(list: &[u32], from: usize, target: u32) -> usize {
    if from >= list.len() || list[from] >= target {
        return from;
    }
    let mut step = 1;
    let mut lo = from; // list[lo] < target
    let mut hi = from + step;
    while hi < list.len() && list[hi] < target {
        lo = hi;
        step *= 2;
        hi = lo + step;
    }
    let hi = hi.min(list.len());
    lo + 1 + list[lo + 1..hi].partition_point(|&x| x < target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallop_finds_the_first_item_not_below_the_target() {
        let list: Vec<u32> = (0..100).map(|i| i * 3).collect();
        for from in [0, 5, 50, 99, 100] {
            for target in 0..310 {
                let expected = from + list[from.min(list.len())..].partition_point(|&x| x < target);
                assert_eq!(
                    gallop(&list, from, target),
                    expected,
                    "from {from} target {target}"
                );
            }
        }
    }

    fn file(path: &str) -> IndexedFile {
        IndexedFile {
            virtual_path: path.into(),
            size: 1,
            attributes: AudioAttributes::default(),
        }
    }

    #[test]
    fn layout_keeps_paths_directories_and_order() {
        let index = ShareIndex::build(vec![
            file("M\\b\\z.mp3"),
            file("M\\a.mp3"),
            file("M\\b\\c\\d.flac"),
            file("M\\a.mp3"),
            file("nobackslash"),
        ]);
        assert_eq!(index.file_count(), 3);
        let paths: Vec<String> = (0..3).map(|i| index.path(i)).collect();
        assert_eq!(paths, ["M\\a.mp3", "M\\b\\c\\d.flac", "M\\b\\z.mp3"]);
        let dirs: Vec<&str> = index.dirs().map(|(_, d)| d).collect();
        assert_eq!(dirs, ["M", "M\\b", "M\\b\\c"]);
        assert_eq!(index.files_in(index.find_dir("M\\b").unwrap()), [2]);
        assert_eq!(index.find_file("M\\b\\c\\d.flac"), Some(1));
        assert_eq!(index.find_file("M\\b\\c\\D.flac"), None);
        assert_eq!(index.find_file("M\\b"), None);
    }

    #[test]
    fn words_in_a_sixteenth_of_the_files_and_at_least_4096_get_a_bitmap() {
        let paths: Vec<String> = (0..13_000)
            .map(|i| format!("M\\t{i}.{}", if i % 3 == 0 { "flac" } else { "mp3" }))
            .collect();
        let index = ShareIndex::build(paths.iter().map(|p| file(p)).collect());
        let bitmap = |word: &str| index.dense.get(index.find_word(word).unwrap());
        assert!(bitmap("m").is_some(), "every file");
        assert!(bitmap("mp3").is_some());
        let flac = bitmap("flac").expect("4,334 files");
        assert!(bitmap("t7").is_none());
        let flac_files: Vec<u32> = (0..13_000).filter(|&id| flac.contains(id)).collect();
        assert_eq!(
            flac_files,
            index.postings.get(index.find_word("flac").unwrap())
        );
        assert!(!flac.contains(13_000) && !flac.contains(u32::MAX));
        // A small index has none.
        let small = ShareIndex::build(vec![file("M\\a.flac"), file("M\\b.flac")]);
        assert!(small.dense.get(small.find_word("flac").unwrap()).is_none());
    }

    #[test]
    fn suffix_ranges() {
        let index = ShareIndex::build(vec![file("M\\term sperm germ"), file("M\\erm x.ogg")]);
        let mut words: Vec<&str> = index
            .words_ending_in("erm")
            .map(|w| index.words.get(w))
            .collect();
        words.sort();
        assert_eq!(words, ["erm", "germ", "sperm", "term"]);
        assert!(index.words_ending_in("zzz").is_empty());
    }
}
