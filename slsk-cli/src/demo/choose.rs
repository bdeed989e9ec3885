//! Which folder of the search results is the album to download: the
//! folder, of one user, with the most results in it.

use std::collections::HashMap;

use slsk_net::client::SearchResult;

/// A folder one user shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub username: String,
    /// The folder's virtual path, without a trailing `\`.
    pub path: String,
    /// Results found in it.
    pub results: usize,
}

/// The folder of a virtual path (`Music\a\b\c.wav` gives `Music\a\b`);
/// `None` for a path without one.
pub fn folder_of(virtual_path: &str) -> Option<&str> {
    virtual_path
        .rsplit_once('\\')
        .map(|(folder, _)| folder)
        .filter(|folder| !folder.is_empty())
}

/// The folder with the most results; on a tie, the one whose first result
/// came first. `None` without results in any folder.
pub fn best_folder(results: &[SearchResult]) -> Option<Folder> {
    // (user, folder) -> (results, first position)
    let mut folders: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    for (position, result) in results.iter().enumerate() {
        let Some(folder) = folder_of(&result.file.filename) else {
            continue;
        };
        folders
            .entry((result.username.as_str(), folder))
            .or_insert((0, position))
            .0 += 1;
    }
    folders
        .into_iter()
        .max_by(|(_, (count_a, first_a)), (_, (count_b, first_b))| {
            count_a.cmp(count_b).then(first_b.cmp(first_a))
        })
        .map(|((username, path), (results, _))| Folder {
            username: username.to_owned(),
            path: path.to_owned(),
            results,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::structures::FileData;

    fn result(username: &str, filename: &str) -> SearchResult {
        SearchResult {
            username: username.into(),
            ticket: 1,
            file: FileData {
                code: 1,
                filename: filename.into(),
                filesize: 1,
                extension: String::new(),
                attributes: vec![],
            },
            slot_free: true,
            avg_speed: 0,
            queue_length: 0,
        }
    }

    #[test]
    fn the_fullest_folder_wins_and_ties_go_to_the_first() {
        let results = [
            result("carol", "M\\x\\1.wav"),
            result("alice", "M\\a\\1.wav"),
            result("alice", "M\\a\\2.wav"),
            result("bob", "M\\a\\1.wav"),
            result("bob", "M\\a\\2.wav"),
        ];
        let best = best_folder(&results).unwrap();
        assert_eq!(
            (best.username.as_str(), best.path.as_str()),
            ("alice", "M\\a")
        );
        assert_eq!(best.results, 2);
        let best = best_folder(&results[..1]).unwrap();
        assert_eq!(best.path, "M\\x");
    }

    #[test]
    fn paths_without_a_folder_are_skipped() {
        assert_eq!(best_folder(&[result("a", "song.wav")]), None);
        assert_eq!(best_folder(&[result("a", "\\song.wav")]), None);
        assert_eq!(best_folder(&[]), None);
        assert_eq!(folder_of("Music\\a\\b.wav"), Some("Music\\a"));
    }
}
