//! Bitmaps of the words found in many files (`flac`, `mp3`, a common
//! artist word): testing a file against one is a single bit, and two of
//! them intersect 64 files at a time, where walking two long posting lists
//! that rarely meet (`flac mp3`) costs a step per file.
//!
//! A word gets a bitmap when it is in at least a sixteenth of the files
//! (and [`MIN_FILES`]): the bitmap (one bit per file) then takes at most
//! half the bytes of the word's posting list. Derived from the posting
//! lists, so never saved.

use super::Lists;

/// Below this many files, posting lists are short enough as they are.
const MIN_FILES: usize = 4096;

/// The bitmaps of the dense words.
#[derive(Debug, Default, Clone)]
pub(super) struct DenseWords {
    /// Word ids with a bitmap, ascending.
    words: Vec<u32>,
    /// Their bitmaps end to end, `stride` `u64`s each.
    bits: Vec<u64>,
    stride: usize,
}

/// One word's files, a bit each.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bitmap<'a>(pub(super) &'a [u64]);

impl Bitmap<'_> {
    pub(super) fn contains(self, file: u32) -> bool {
        let file = file as usize;
        self.0
            .get(file / 64)
            .is_some_and(|bits| bits & (1 << (file % 64)) != 0)
    }
}

impl DenseWords {
    /// Bitmaps for the words of `postings` (file ids below `files`) that are
    /// in at least a sixteenth of the files.
    pub(super) fn build(postings: &Lists, files: usize) -> Self {
        let threshold = (files / 16).max(MIN_FILES);
        let stride = files.div_ceil(64);
        let mut dense = DenseWords {
            stride,
            ..Default::default()
        };
        for word in 0..postings.ends.len() as u32 {
            let list = postings.get(word);
            if list.len() < threshold {
                continue;
            }
            let start = dense.bits.len();
            dense.bits.resize(start + stride, 0);
            let map = &mut dense.bits[start..];
            for &file in list {
                if let Some(bits) = map.get_mut(file as usize / 64) {
                    *bits |= 1 << (file % 64);
                }
            }
            dense.words.push(word);
        }
        dense.bits.shrink_to_fit();
        dense.words.shrink_to_fit();
        dense
    }

    /// The bitmap of `word`, if it is dense.
    pub(super) fn get(&self, word: u32) -> Option<Bitmap<'_>> {
        let at = self.words.binary_search(&word).ok()?;
        Some(Bitmap(&self.bits[at * self.stride..(at + 1) * self.stride]))
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.words.capacity() * 4
    }

    /// Number of `u64`s in each bitmap.
    pub(super) fn stride(&self) -> usize {
        self.stride
    }
}
