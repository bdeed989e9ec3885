//! A built [`ShareIndex`] as bytes, so that a restart with an unchanged
//! library loads the index instead of building it again.
//!
//! The bytes are the index's arrays end to end (little-endian, each with its
//! length) after a magic and a checksum. Loading checks the checksum and
//! every invariant the index's accessors rely on (lengths that agree, ends
//! that ascend within their arrays, ids in range, text on character
//! boundaries): damaged bytes give `None`, never a panic or an allocation
//! larger than the bytes themselves.

use std::hash::BuildHasher;

use super::{Arena, DenseWords, Lists, ShareIndex};
use crate::attributes::PackedAttributes;

/// Names the layout *and* what the builder puts in it: bump it when either
/// changes (word splitting, ordering, ...), so older snapshots are rebuilt.
const MAGIC: &[u8; 8] = b"SLSKIX01";

fn checksum(bytes: &[u8]) -> u64 {
    foldhash::quality::FixedState::with_seed(0x5eed_1dec).hash_one(bytes)
}

impl ShareIndex {
    /// The index as bytes for [`ShareIndex::from_snapshot`].
    pub(crate) fn to_snapshot(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.heap_bytes() + 256);
        put_arena(&mut body, &self.dirs);
        put_lists(&mut body, &self.dir_files);
        put_u32s(&mut body, &self.file_dir);
        put_arena(&mut body, &self.names);
        put_len(&mut body, self.sizes.len());
        for size in &self.sizes {
            body.extend_from_slice(&size.to_le_bytes());
        }
        put_len(&mut body, self.attributes.len());
        for a in &self.attributes {
            body.extend_from_slice(&a.to_bytes());
        }
        put_arena(&mut body, &self.words);
        put_u32s(&mut body, &self.by_forward);
        put_lists(&mut body, &self.postings);
        put_lists(&mut body, &self.dir_words);
        put_lists(&mut body, &self.name_words);
        let mut bytes = Vec::with_capacity(body.len() + 16);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&checksum(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes
    }

    /// The index saved by [`ShareIndex::to_snapshot`]; `None` if the bytes
    /// are from another version, damaged, or inconsistent.
    pub(crate) fn from_snapshot(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let (sum, body) = rest.split_first_chunk::<8>()?;
        if u64::from_le_bytes(*sum) != checksum(body) {
            return None;
        }
        let mut r = Reader(body);
        let dirs = r.arena()?;
        let dir_files = r.lists()?;
        let file_dir = r.u32s()?;
        let names = r.arena()?;
        let sizes = r
            .array(8)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect::<Vec<u64>>();
        let attributes = r
            .array(12)?
            .chunks_exact(12)
            .map(|c| PackedAttributes::from_bytes(c.try_into().expect("12 bytes")))
            .collect::<Vec<_>>();
        let words = r.arena()?;
        let by_forward = r.u32s()?;
        let postings = r.lists()?;
        let dir_words = r.lists()?;
        let name_words = r.lists()?;
        if !r.0.is_empty() {
            return None;
        }
        let (files, dir_count, word_count) = (file_dir.len(), dirs.len(), words.len());
        let consistent = names.len() == files
            && sizes.len() == files
            && attributes.len() == files
            && name_words.ends.len() == files
            && dir_files.ends.len() == dir_count
            && dir_words.ends.len() == dir_count
            && postings.ends.len() == word_count
            && by_forward.len() == word_count
            && all_below(&file_dir, dir_count)
            && all_below(&dir_files.items, files)
            && all_below(&postings.items, files)
            && all_below(&by_forward, word_count)
            && all_below(&dir_words.items, word_count)
            && all_below(&name_words.items, word_count);
        if !consistent {
            return None;
        }
        Some(ShareIndex {
            dense: DenseWords::build(&postings, files),
            dirs,
            dir_files,
            file_dir,
            names,
            sizes,
            attributes,
            words,
            by_forward,
            postings,
            dir_words,
            name_words,
        })
    }
}

fn all_below(items: &[u32], bound: usize) -> bool {
    items.iter().all(|&i| (i as usize) < bound)
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

fn put_u32s(out: &mut Vec<u8>, items: &[u32]) {
    put_len(out, items.len());
    for item in items {
        out.extend_from_slice(&item.to_le_bytes());
    }
}

fn put_arena(out: &mut Vec<u8>, arena: &Arena) {
    put_len(out, arena.text.len());
    out.extend_from_slice(arena.text.as_bytes());
    put_u32s(out, &arena.ends);
}

fn put_lists(out: &mut Vec<u8>, lists: &Lists) {
    put_u32s(out, &lists.items);
    put_u32s(out, &lists.ends);
}

/// Reads the arrays back, checking each length against the bytes left
/// before allocating.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The bytes of an array of `len`-prefixed items of `size` bytes.
    fn array(&mut self, size: usize) -> Option<&'a [u8]> {
        let (len, rest) = self.0.split_first_chunk::<8>()?;
        let bytes = usize::try_from(u64::from_le_bytes(*len))
            .ok()?
            .checked_mul(size)?;
        if bytes > rest.len() {
            return None;
        }
        let (array, rest) = rest.split_at(bytes);
        self.0 = rest;
        Some(array)
    }

    fn u32s(&mut self) -> Option<Vec<u32>> {
        Some(
            self.array(4)?
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
        )
    }

    /// Ends that never go down and stay within `len`.
    fn ends(&mut self, len: usize) -> Option<Vec<u32>> {
        let ends = self.u32s()?;
        let ascending = ends.windows(2).all(|w| w[0] <= w[1]);
        (ascending && ends.last().is_none_or(|&e| e as usize <= len)).then_some(ends)
    }

    fn arena(&mut self) -> Option<Arena> {
        let text = std::str::from_utf8(self.array(1)?).ok()?.to_owned();
        let ends = self.ends(text.len())?;
        if !ends.iter().all(|&e| text.is_char_boundary(e as usize)) {
            return None;
        }
        Some(Arena { text, ends })
    }

    fn lists(&mut self) -> Option<Lists> {
        let items = self.u32s()?;
        let ends = self.ends(items.len())?;
        Some(Lists { items, ends })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::AudioAttributes;
    use crate::index::IndexedFile;
    use crate::query::{ExcludedPhrases, ParsedQuery, SearchSettings};

    fn index() -> ShareIndex {
        let file = |path: &str, size: u64, bitrate: Option<u32>| IndexedFile {
            virtual_path: path.into(),
            size,
            attributes: AudioAttributes {
                bitrate,
                ..Default::default()
            },
        };
        ShareIndex::build(vec![
            file(
                "Music\\Air\\Moon Safari\\01 La femme d'argent.flac",
                10,
                None,
            ),
            file("Music\\Air\\Talkie Walkie\\01 Venus.mp3", 20, Some(320)),
            file("Music\\Ökologie\\Σίσυφος.ogg", 30, Some(128)),
        ])
    }

    fn search(index: &ShareIndex, query: &str) -> Vec<u32> {
        let settings = SearchSettings::default();
        let parsed = ParsedQuery::parse(query, &settings).expect("query");
        index.search(&parsed, 100, &ExcludedPhrases::default())
    }

    #[test]
    fn a_snapshot_loads_back_to_the_same_index() {
        let built = index();
        let loaded = ShareIndex::from_snapshot(&built.to_snapshot()).expect("loads");
        assert_eq!(loaded.file_count(), 3);
        for id in 0..3 {
            assert_eq!(loaded.path(id), built.path(id));
            assert_eq!(loaded.size(id), built.size(id));
            assert_eq!(loaded.attributes(id), built.attributes(id));
        }
        for query in ["air", "air -talkie", "air *fari", "σίσυφος", "ökologie ogg"] {
            assert!(!search(&built, query).is_empty(), "{query}");
            assert_eq!(search(&loaded, query), search(&built, query), "{query}");
        }
        assert_eq!(loaded.to_snapshot(), built.to_snapshot());
        let empty = ShareIndex::build(Vec::new());
        assert_eq!(
            ShareIndex::from_snapshot(&empty.to_snapshot())
                .expect("empty")
                .file_count(),
            0
        );
    }

    #[test]
    fn damaged_snapshots_are_refused_without_panicking() {
        let bytes = index().to_snapshot();
        // Every truncation, and every single flipped byte.
        for len in 0..bytes.len() {
            assert!(ShareIndex::from_snapshot(&bytes[..len]).is_none(), "{len}");
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x41;
            assert!(ShareIndex::from_snapshot(&damaged).is_none(), "{at}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(ShareIndex::from_snapshot(&longer).is_none());
    }

    /// Bytes with a valid checksum but inconsistent content (what a bug, or
    /// a snapshot written by hand, would give) are refused too.
    #[test]
    fn inconsistent_content_with_a_valid_checksum_is_refused() {
        let built = index();
        let with_body = |edit: &dyn Fn(&mut ShareIndex)| {
            let mut index = built.clone();
            edit(&mut index);
            ShareIndex::from_snapshot(&index.to_snapshot())
        };
        assert!(with_body(&|i| i.file_dir[0] = 99).is_none());
        assert!(with_body(&|i| i.postings.items[0] = 99).is_none());
        assert!(with_body(&|i| i.names.ends[0] = 10_000).is_none());
        assert!(with_body(&|i| i.dir_files.ends.reverse()).is_none());
        assert!(with_body(&|i| i.sizes.pop().map(drop).unwrap_or(())).is_none());
        assert!(with_body(&|i| i.by_forward[0] = 10_000).is_none());
        // An end inside a two-byte character.
        assert!(
            with_body(&|i| {
                let at = i.dirs.text.find('Ö').expect("Ö") as u32 + 1;
                let last = i.dirs.ends.len() - 1;
                i.dirs.ends[last - 1] = at;
            })
            .is_none()
        );
        assert!(with_body(&|_| {}).is_some());
    }
}
