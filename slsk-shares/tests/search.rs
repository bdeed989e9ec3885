//! Matching rules (client-behaviour.md 4.3), and the index against the
//! linear reference.

use proptest::prelude::*;
use slsk_shares::{
    AudioAttributes, ExcludedPhrases, SearchSettings, SharedFile, SharedFolder, Shares,
};

fn shares(paths: &[&str]) -> Shares {
    let files = paths
        .iter()
        .map(|p| SharedFile {
            virtual_path: (*p).to_owned(),
            size: 1000,
            attributes: AudioAttributes::default(),
        })
        .collect();
    let folders = ["Music", "Books", "M"].map(|n| SharedFolder::new(n, "/nonexistent/slsk-shares"));
    Shares::from_files(&folders, files).unwrap()
}

fn find(shares: &Shares, query: &str) -> Vec<String> {
    find_with(
        shares,
        query,
        &SearchSettings::default(),
        &ExcludedPhrases::default(),
    )
}

fn find_with(
    shares: &Shares,
    query: &str,
    settings: &SearchSettings,
    phrases: &ExcludedPhrases,
) -> Vec<String> {
    let hits: Vec<String> = shares
        .search(query, settings, phrases)
        .into_iter()
        .map(|f| f.filename)
        .collect();
    let linear: Vec<String> = shares
        .search_ids_linear(query, settings, phrases)
        .into_iter()
        .map(|id| shares.index().path(id))
        .collect();
    assert_eq!(hits, linear, "index and linear scan disagree on {query:?}");
    hits
}

const LIBRARY: &[&str] = &[
    "Music\\Pink Floyd\\The Wall\\01 In the Flesh.flac",
    "Music\\Pink Floyd\\The Wall\\02 Another Brick (Live).flac",
    "Music\\Pink Floyd\\Animals\\Dogs.mp3",
    "Music\\Floyds\\Pink.mp3",
    "Music\\Pink_Martini\\Sympathique.ogg",
    "Music\\Germ Theory\\Long term.mp3",
    "Music\\Björk\\Homogenic\\Jóga.FLAC",
    "Books\\Floyd «Pink» Biography.epub",
];

#[test]
fn every_included_word_must_be_a_whole_word_of_the_path() {
    let s = shares(LIBRARY);
    assert_eq!(
        find(&s, "pink floyd wall"),
        [
            "Music\\Pink Floyd\\The Wall\\01 In the Flesh.flac",
            "Music\\Pink Floyd\\The Wall\\02 Another Brick (Live).flac",
        ]
    );
    // "floyd" is not "floyds", "pin" is not "pink".
    assert_eq!(find(&s, "floyds"), ["Music\\Floyds\\Pink.mp3"]);
    assert!(find(&s, "pin floyd").is_empty());
    assert!(find(&s, "pink nonexistentword").is_empty());
}

#[test]
fn directory_words_match_every_file_below() {
    let s = shares(LIBRARY);
    assert_eq!(find(&s, "animals").len(), 1);
    assert_eq!(find(&s, "music pink").len(), 5);
}

#[test]
fn excluded_words_remove_hits() {
    let s = shares(LIBRARY);
    assert_eq!(
        find(&s, "pink floyd -live -animals"),
        [
            "Books\\Floyd «Pink» Biography.epub",
            "Music\\Pink Floyd\\The Wall\\01 In the Flesh.flac",
        ]
    );
    assert_eq!(
        find(&s, "pink -music"),
        ["Books\\Floyd «Pink» Biography.epub"]
    );
    // An excluded word we do not have changes nothing.
    assert_eq!(find(&s, "pink -zzzz").len(), 6);
}

#[test]
fn partial_words_match_word_endings() {
    let s = shares(LIBRARY);
    assert_eq!(
        find(&s, "music *erm"),
        ["Music\\Germ Theory\\Long term.mp3"],
        "germ and term"
    );
    assert_eq!(
        find(&s, "theory *germ").len(),
        1,
        "a whole word ends with itself"
    );
    assert!(find(&s, "music *xyz").is_empty());
    // Not a prefix or infix match.
    assert!(find(&s, "music *ger").is_empty());
    // A partial term alone is not enough: a complete word is required.
    assert!(find(&s, "*erm").is_empty());
}

#[test]
fn queries_shorter_than_the_minimum_get_nothing() {
    let s = shares(&["Music\\ab\\ab.mp3", "Music\\abc\\x.mp3"]);
    assert!(find(&s, "ab").is_empty());
    assert_eq!(find(&s, "abc").len(), 1);
    let relaxed = SearchSettings {
        min_query_chars: 1,
        ..Default::default()
    };
    assert_eq!(
        find_with(&s, "ab", &relaxed, &ExcludedPhrases::default()).len(),
        1
    );
}

#[test]
fn results_are_capped_in_path_order() {
    let paths: Vec<String> = (0..50)
        .rev()
        .map(|i| format!("Music\\song {i:02}.mp3"))
        .collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let s = shares(&refs);
    let settings = SearchSettings {
        max_results: 3,
        ..Default::default()
    };
    assert_eq!(
        find_with(&s, "song", &settings, &ExcludedPhrases::default()),
        [
            "Music\\song 00.mp3",
            "Music\\song 01.mp3",
            "Music\\song 02.mp3"
        ]
    );
    assert_eq!(find(&s, "song").len(), 50);
    let off = SearchSettings {
        max_results: 0,
        ..Default::default()
    };
    assert!(find_with(&s, "song", &off, &ExcludedPhrases::default()).is_empty());
    let default_cap: Vec<String> = (0..400)
        .map(|i| format!("Music\\x{i:03} song.mp3"))
        .collect();
    let refs: Vec<&str> = default_cap.iter().map(String::as_str).collect();
    assert_eq!(find(&shares(&refs), "song").len(), 300);
}

#[test]
fn excluded_phrases_remove_files_before_the_cap() {
    let s = shares(&[
        "Music\\a Linux Distro.iso",
        "Music\\b linux distro.mp3",
        "Music\\c linux.mp3",
        "Music\\d linux.mp3",
    ]);
    let phrases = ExcludedPhrases::new(["LINUX DISTRO"]);
    let settings = SearchSettings {
        max_results: 2,
        ..Default::default()
    };
    assert_eq!(
        find_with(&s, "linux", &settings, &phrases),
        ["Music\\c linux.mp3", "Music\\d linux.mp3"]
    );
    // Phrases match anywhere in the path, across word boundaries.
    let phrases = ExcludedPhrases::new(["sic\\c"]);
    assert_eq!(
        find_with(&s, "linux", &SearchSettings::default(), &phrases).len(),
        3
    );
}

#[test]
fn case_does_not_matter() {
    let s = shares(LIBRARY);
    assert_eq!(
        find(&s, "PINK FLOYD dogs"),
        ["Music\\Pink Floyd\\Animals\\Dogs.mp3"]
    );
    assert_eq!(find(&s, "björk jóga flac").len(), 1);
    assert_eq!(find(&s, "BJÖRK").len(), 1);
}

#[test]
fn punctuation_separates_words_in_paths_and_queries() {
    let s = shares(LIBRARY);
    assert_eq!(
        find(&s, "pink martini"),
        ["Music\\Pink_Martini\\Sympathique.ogg"]
    );
    assert_eq!(find(&s, "(live)").len(), 1);
    assert_eq!(find(&s, "pink.floyd.dogs!").len(), 1);
    // « and » are punctuation too.
    assert_eq!(
        find(&s, "pink biography"),
        ["Books\\Floyd «Pink» Biography.epub"]
    );
    // Only punctuation: no word, no result.
    assert!(find(&s, "!!!...").is_empty());
}

#[test]
fn many_partial_matches_are_checked_file_by_file() {
    // The words ending in "ing" are in far more files than "d3": each
    // candidate's words are checked. Those ending in "ck5" are in one file:
    // its posting list is merged and intersected.
    const N: usize = 20_000;
    let paths: Vec<String> = (0..N)
        .map(|i| format!("Music\\d{}\\track{i} {}ing.mp3", i % 97, i % 5))
        .collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let s = shares(&refs);
    let all = SearchSettings {
        max_results: 100_000,
        ..Default::default()
    };
    let none = ExcludedPhrases::default();
    assert_eq!(
        find_with(&s, "d3 *ing", &all, &none).len(),
        (0..N).filter(|i| i % 97 == 3).count()
    );
    assert_eq!(find_with(&s, "d3 *3ing -mp3", &all, &none).len(), 0);
    assert_eq!(
        find_with(&s, "mp3 *ck5", &all, &none),
        ["Music\\d5\\track5 0ing.mp3"]
    );
    assert_eq!(
        find_with(&s, "d3 *3ing", &all, &ExcludedPhrases::new(["track3 "])).len(),
        (0..N)
            .filter(|i| i % 97 == 3 && i % 5 == 3 && *i != 3)
            .count()
    );
}

#[test]
fn words_in_many_files_are_intersected_as_bitmaps() {
    // Enough files that `flac`, `mp3` and `common` are dense (in at least
    // 4,096 files and a sixteenth of all): queries made only of them
    // intersect bitmaps; with a rarer word, the bitmaps are tested per
    // candidate.
    const N: usize = 13_000;
    let paths: Vec<String> = (0..N)
        .map(|i| {
            format!(
                "Music\\d{}\\t{i} {} {}.{}",
                i % 101,
                if i % 2 == 0 { "common" } else { "plain" },
                if i % 97 == 0 { "rare" } else { "usual" },
                if i % 3 == 0 { "flac" } else { "mp3" },
            )
        })
        .collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let s = shares(&refs);
    let all = SearchSettings {
        max_results: 100_000,
        ..Default::default()
    };
    let none = ExcludedPhrases::default();
    let count = |f: &dyn Fn(usize) -> bool| (0..N).filter(|&i| f(i)).count();
    assert!(find_with(&s, "flac mp3", &all, &none).is_empty());
    assert_eq!(
        find_with(&s, "flac common", &all, &none).len(),
        count(&|i| i % 3 == 0 && i % 2 == 0)
    );
    assert_eq!(
        find_with(&s, "common -flac", &all, &none).len(),
        count(&|i| i % 3 != 0 && i % 2 == 0)
    );
    assert_eq!(
        find_with(&s, "rare -mp3 common", &all, &none).len(),
        count(&|i| i % 97 == 0 && i % 3 == 0 && i % 2 == 0)
    );
    assert_eq!(
        find_with(&s, "flac common -rare", &all, &none).len(),
        count(&|i| i % 3 == 0 && i % 2 == 0 && i % 97 != 0)
    );
    assert_eq!(
        find_with(&s, "mp3 *mon", &all, &none).len(),
        count(&|i| i % 3 != 0 && i % 2 == 0)
    );
    assert_eq!(
        find_with(&s, "mp3 d7 *sual", &all, &none).len(),
        count(&|i| i % 3 != 0 && i % 101 == 7 && i % 97 != 0)
    );
    // The cap keeps the first in path order, as the linear scan does.
    assert_eq!(find(&s, "flac common").len(), 300);
    let phrases = ExcludedPhrases::new(["t6 common"]);
    assert_eq!(
        find_with(&s, "flac common", &all, &phrases).len(),
        count(&|i| i % 3 == 0 && i % 2 == 0 && i != 6)
    );
}

const VOCABULARY: &[&str] = &[
    "rock", "Rock", "ROCK", "rocks", "live", "love", "glove", "erm", "term", "germ", "a", "b",
    "ab", "ΟΔΟΣ", "οδος", "Σ", "naïve", "NAÏVE", "mp3", "flac", "01", "1", "x",
];
const SEPARATORS: &[&str] = &[
    " ", "_", "-", ".", " - ", "(", ")", "«", "»", "…", "+", "'", "\u{3000}",
];

fn path_strategy() -> impl Strategy<Value = String> {
    let component = prop::collection::vec(
        (
            prop::sample::select(VOCABULARY),
            prop::sample::select(SEPARATORS),
        ),
        1..4,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, s)| format!("{w}{s}"))
            .collect::<String>()
    });
    prop::collection::vec(component, 1..4).prop_map(|parts| format!("M\\{}", parts.join("\\")))
}

fn query_strategy() -> impl Strategy<Value = String> {
    let term = (
        prop::sample::select(&["", "", "", "-", "*", "*r", "-("][..]),
        prop::sample::select(VOCABULARY),
        prop::sample::select(&["", "", ".", "!", "_x"][..]),
    )
        .prop_map(|(prefix, word, suffix)| {
            let word = if prefix.starts_with('*') && word.chars().count() > 1 {
                word.chars().skip(1).collect()
            } else {
                word.to_owned()
            };
            format!("{prefix}{word}{suffix}")
        });
    prop::collection::vec(term, 1..5).prop_map(|terms| terms.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn index_answers_like_the_linear_scan(
        paths in prop::collection::vec(path_strategy(), 0..60),
        queries in prop::collection::vec(query_strategy(), 1..8),
        max_results in 1usize..20,
        min_query_chars in 0usize..4,
        phrases in prop::collection::vec(prop::sample::select(&["", "rock", "e r", "ΣΣ", "x\\", "zzz"][..]), 0..2),
    ) {
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let s = shares(&refs);
        let settings = SearchSettings { max_results, min_query_chars };
        let phrases = ExcludedPhrases::new(phrases);
        for query in &queries {
            let index = s.search_ids(query, &settings, &phrases);
            let linear = s.search_ids_linear(query, &settings, &phrases);
            prop_assert_eq!(&index, &linear, "query {:?}", query);
            prop_assert!(index.windows(2).all(|w| s.index().path(w[0]) < s.index().path(w[1])));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Any text a peer may send as a query: no panic, same answer.
    #[test]
    fn arbitrary_queries_never_panic(query in any::<String>(), prefix in prop::sample::select(&["", "rock ", "-", "*", "rock *"][..])) {
        let s = shares(LIBRARY);
        let settings = SearchSettings { min_query_chars: 0, max_results: 50 };
        let query = format!("{prefix}{query}");
        let none = ExcludedPhrases::default();
        prop_assert_eq!(s.search_ids(&query, &settings, &none), s.search_ids_linear(&query, &settings, &none));
        let _ = s.folder_contents(1, &query);
        prop_assert_eq!(s.resolve(&query), None);
    }
}

#[test]
fn a_huge_hostile_query_is_answered_quickly() {
    let s = shares(LIBRARY);
    let query = "pink *k ".repeat(200_000) + &"\u{FF0B}-".repeat(100_000);
    let started = std::time::Instant::now();
    assert!(
        s.search(
            &query,
            &SearchSettings::default(),
            &ExcludedPhrases::default()
        )
        .len()
            <= 300
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
