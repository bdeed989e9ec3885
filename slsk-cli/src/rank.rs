//! Which search result to download first, and which folder makes the best
//! album. No I/O.
//!
//! The filters have already removed what does not match (the library
//! applies them as results arrive). What is left is ordered by: a free
//! upload slot first, then the shortest upload queue, the fastest peer, the
//! highest bitrate; equal results keep their arrival order.

use std::cmp::Reverse;
use std::collections::HashMap;

use slsk_net::client::SearchResult;
use slsk_proto::tables::FileAttributeKind;

use crate::output::attribute;

/// Orders `results` best first (stable).
pub fn rank(results: &mut [SearchResult]) {
    results.sort_by_key(|r| {
        (
            !r.slot_free,
            r.queue_length,
            Reverse(r.avg_speed),
            Reverse(attribute(&r.file, FileAttributeKind::Bitrate).unwrap_or(0)),
        )
    });
}

/// The folder part of a remote path (`a\b\c.mp3` → `a\b`), empty for a
/// bare name.
pub fn folder_of(path: &str) -> &str {
    path.rfind('\\').map_or("", |at| &path[..at])
}

/// One user's folder with the matching files found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderCandidate {
    pub user: String,
    pub folder: String,
    /// The matching files, best first.
    pub files: Vec<SearchResult>,
}

/// Groups ranked results by (user, folder) and orders the folders: the most
/// matching files first, then the best rank of their best file.
pub fn rank_folders(ranked: &[SearchResult]) -> Vec<FolderCandidate> {
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut folders: Vec<FolderCandidate> = Vec::new();
    for result in ranked {
        let key = (result.username.as_str(), folder_of(&result.file.filename));
        let at = *index.entry(key).or_insert_with(|| {
            folders.push(FolderCandidate {
                user: result.username.clone(),
                folder: key.1.to_owned(),
                files: Vec::new(),
            });
            folders.len() - 1
        });
        folders[at].files.push(result.clone());
    }
    // Folders were created in rank order of their best file; a stable sort
    // by size keeps that order among equals.
    folders.sort_by_key(|f| Reverse(f.files.len()));
    folders
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::structures::{Attribute, FileData};

    fn result(
        user: &str,
        path: &str,
        slot: bool,
        queue: u32,
        speed: u32,
        kbps: u32,
    ) -> SearchResult {
        SearchResult {
            username: user.into(),
            ticket: 1,
            file: FileData {
                code: 1,
                filename: path.into(),
                filesize: 10,
                extension: String::new(),
                attributes: vec![Attribute {
                    key: FileAttributeKind::Bitrate,
                    value: kbps,
                }],
            },
            slot_free: slot,
            avg_speed: speed,
            queue_length: queue,
        }
    }

    fn order(results: &[SearchResult]) -> Vec<&str> {
        results.iter().map(|r| r.username.as_str()).collect()
    }

    #[test]
    fn free_slot_then_queue_then_speed_then_bitrate() {
        let mut results = vec![
            result("busy", "a\\x.mp3", false, 0, 999, 320),
            result("queued", "a\\x.mp3", true, 5, 999, 320),
            result("slow", "a\\x.mp3", true, 0, 10, 320),
            result("fast-low", "a\\x.mp3", true, 0, 500, 128),
            result("fast-high", "a\\x.mp3", true, 0, 500, 320),
            result("fast-high-later", "a\\x.mp3", true, 0, 500, 320),
        ];
        rank(&mut results);
        assert_eq!(
            order(&results),
            [
                "fast-high",
                "fast-high-later",
                "fast-low",
                "slow",
                "queued",
                "busy"
            ]
        );
    }

    #[test]
    fn the_folder_with_most_matches_wins_then_the_best_ranked() {
        let ranked = vec![
            result("a", "m\\single\\1.mp3", true, 0, 9, 320),
            result("b", "m\\album\\1.mp3", true, 0, 5, 320),
            result("c", "m\\album\\1.mp3", true, 0, 4, 320),
            result("b", "m\\album\\2.mp3", true, 0, 5, 320),
            result("c", "m\\album\\2.mp3", true, 0, 4, 320),
            result("b", "m\\other\\1.mp3", true, 0, 5, 320),
        ];
        let folders = rank_folders(&ranked);
        let seen: Vec<(&str, &str, usize)> = folders
            .iter()
            .map(|f| (f.user.as_str(), f.folder.as_str(), f.files.len()))
            .collect();
        assert_eq!(
            seen,
            [
                ("b", "m\\album", 2),
                ("c", "m\\album", 2),
                ("a", "m\\single", 1),
                ("b", "m\\other", 1)
            ]
        );
        assert_eq!(folder_of("x.mp3"), "");
    }
}
