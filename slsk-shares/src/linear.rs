//! The reference matcher: every file's path tested in turn against the
//! rules of client-behaviour.md 4.3. Slow and obviously right; the index
//! must give the same answers (tested, and measured against it).

use crate::index::FileId;
use crate::query::{ExcludedPhrases, ParsedQuery};
use crate::words::split_words;

/// The ids of the paths matching `query`, in the order given (path order),
/// at most `max_results`.
pub(crate) fn search(
    paths: impl Iterator<Item = (FileId, String)>,
    query: &ParsedQuery,
    max_results: usize,
    phrases: &ExcludedPhrases,
) -> Vec<FileId> {
    let mut results = Vec::new();
    if max_results == 0 || query.included.is_empty() {
        return results;
    }
    for (id, path) in paths {
        let lower = path.to_lowercase();
        let words: Vec<&str> = split_words(&lower).collect();
        let has = |w: &String| words.contains(&w.as_str());
        let matches = query.included.iter().all(has)
            && query
                .partial
                .iter()
                .all(|s| words.iter().any(|w| w.ends_with(s.as_str())))
            && !query.excluded.iter().any(has)
            && !phrases.excludes(&lower);
        if matches {
            results.push(id);
            if results.len() == max_results {
                break;
            }
        }
    }
    results
}
