//! The scan cache loaded in memory: every cached file by key, for the
//! comparison with what the walk found.
//!
//! Built for a rescan of a large library, where every row is loaded and
//! looked up once: the keys are kept end to end in one buffer (no
//! allocation per file), the table holds entry numbers, and a lookup marks
//! its entry seen instead of removing it, so what was not seen (files gone)
//! is listed at the end.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::cache::CachedFile;

/// One cached file: where its key is in the key buffer, what was cached,
/// and whether the walk found it.
struct Entry {
    start: usize,
    end: usize,
    file: CachedFile,
    seen: bool,
}

/// Cached files by key (see [`path_bytes`](crate::cache::path_bytes)).
#[derive(Default)]
pub(crate) struct CachedFiles {
    keys: Vec<u8>,
    entries: Vec<Entry>,
    /// Entry numbers, hashed by their key.
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl CachedFiles {
    /// An empty map with room for `files` entries and `key_bytes` bytes of
    /// keys.
    pub(crate) fn with_capacity(files: usize, key_bytes: usize) -> Self {
        Self {
            keys: Vec::with_capacity(key_bytes),
            entries: Vec::with_capacity(files),
            table: HashTable::with_capacity(files),
            hasher: Default::default(),
        }
    }

    fn key(&self, entry: u32) -> &[u8] {
        let e = &self.entries[entry as usize];
        &self.keys[e.start..e.end]
    }

    fn find(&self, key: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.table.find(hash, |&e| self.key(e) == key).copied()
    }

    /// Adds a file, or replaces the one cached under the same key.
    pub(crate) fn insert(&mut self, key: &[u8], file: CachedFile) {
        if let Some(existing) = self.find(key) {
            self.entries[existing as usize].file = file;
            return;
        }
        let Ok(number) = u32::try_from(self.entries.len()) else {
            // More than 4 billion files: the rest are read again.
            return;
        };
        let start = self.keys.len();
        self.keys.extend_from_slice(key);
        self.entries.push(Entry {
            start,
            end: self.keys.len(),
            file,
            seen: false,
        });
        let hash = self.hasher.hash_one(key);
        let (entries, keys, hasher) = (&self.entries, &self.keys, &self.hasher);
        self.table.insert_unique(hash, number, |&e| {
            let e = &entries[e as usize];
            hasher.hash_one(&keys[e.start..e.end])
        });
    }

    /// The file cached under `key`, marking it seen (found by the walk).
    pub(crate) fn take(&mut self, key: &[u8]) -> Option<CachedFile> {
        let found = self.find(key)?;
        let entry = &mut self.entries[found as usize];
        entry.seen = true;
        Some(entry.file)
    }

    /// The file cached under `key`, without marking it.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &[u8]) -> Option<CachedFile> {
        self.find(key).map(|e| self.entries[e as usize].file)
    }

    /// Number of files.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The keys of the files never [taken](CachedFiles::take).
    pub(crate) fn unseen_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.entries
            .iter()
            .filter(|e| !e.seen)
            .map(|e| &self.keys[e.start..e.end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::AudioAttributes;

    fn file(size: u64) -> CachedFile {
        CachedFile {
            size,
            mtime_ns: 7,
            attributes: AudioAttributes::default(),
        }
    }

    #[test]
    fn finds_marks_and_lists_the_unseen() {
        let mut files = CachedFiles::with_capacity(2, 0);
        for i in 0..1000u64 {
            files.insert(format!("/music/{i}.flac").as_bytes(), file(i));
        }
        files.insert(b"/music/5.flac", file(55));
        assert_eq!(files.len(), 1000, "a key given twice is kept once");
        assert_eq!(files.get(b"/music/5.flac"), Some(file(55)));
        assert_eq!(files.get(b"/music/5.fla"), None);
        for i in (0..1000u64).filter(|i| i % 10 != 3) {
            let key = format!("/music/{i}.flac");
            assert!(files.take(key.as_bytes()).is_some());
            // Taking twice (a folder shared twice) finds it again.
            assert!(files.take(key.as_bytes()).is_some());
        }
        assert_eq!(files.take(b"/music/missing.flac"), None);
        let mut unseen: Vec<&[u8]> = files.unseen_keys().collect();
        unseen.sort();
        let mut expected: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("/music/{}.flac", i * 10 + 3).into_bytes())
            .collect();
        expected.sort();
        assert_eq!(unseen, expected);
    }
}
