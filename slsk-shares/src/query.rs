//! Search queries: parsing an incoming query into the words the matching
//! rules use (client-behaviour.md 4.3), the settings and server-excluded
//! phrases that filter replies, and sanitising our own outgoing queries (4.1).

use crate::words::{split_whitespace, split_words};

/// Limits applied to incoming searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSettings {
    /// Queries shorter than this many characters (counted before any
    /// parsing) get no results. Nicotine+'s default: 3.
    pub min_query_chars: usize,
    /// The most results one reply carries; 0 disables replies. Nicotine+'s
    /// default (300) rather than aioslsk's (100): more is what a searcher
    /// wants, and a 300-file reply is still small (~40 KB before zlib).
    pub max_results: usize,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            min_query_chars: 3,
            max_results: 300,
        }
    }
}

/// The phrases the server forbids in search results (ExcludedSearchPhrases):
/// a file whose lower-cased virtual path contains one of them is never
/// returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExcludedPhrases {
    phrases: Vec<String>,
}

impl ExcludedPhrases {
    /// Lower-cases the phrases; empty ones are dropped (they would exclude
    /// everything).
    pub fn new<I, S>(phrases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut phrases: Vec<String> = phrases
            .into_iter()
            .map(|p| p.as_ref().to_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        phrases.sort();
        phrases.dedup();
        Self { phrases }
    }

    /// True when none are set.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// True when `lower_path` (already lower-cased) contains a phrase.
    pub fn excludes(&self, lower_path: &str) -> bool {
        self.phrases.iter().any(|p| lower_path.contains(p.as_str()))
    }
}

/// Queries with more distinct words than this (included, partial and
/// excluded together) get no results: each word costs work per candidate
/// file, and real queries have a handful.
pub const MAX_QUERY_WORDS: usize = 64;

/// An incoming query split by the matching rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedQuery {
    /// Words every result must contain (exact word match).
    pub included: Vec<String>,
    /// Suffixes (`*erm`): every result must contain a word ending in each.
    pub partial: Vec<String>,
    /// Words (`-word`) no result may contain.
    pub excluded: Vec<String>,
}

impl ParsedQuery {
    /// Parses `query` (client-behaviour.md 4.3 step 2): lower-case; a
    /// whitespace-separated term starting with `-` adds its words to the
    /// excluded set, one starting with `*` to the partial set; the words of
    /// the whole query with punctuation removed, minus those two sets, are
    /// the included words. `None` when the query can have no result: too
    /// short, or no included word (Nicotine+ and the official clients need
    /// at least one complete word), or more than [`MAX_QUERY_WORDS`] words.
    pub fn parse(query: &str, settings: &SearchSettings) -> Option<Self> {
        if settings.max_results == 0 || query.chars().count() < settings.min_query_chars {
            return None;
        }
        let lower = query.to_lowercase();
        let mut parsed = ParsedQuery::default();
        for term in split_whitespace(&lower) {
            let set = match term.chars().next() {
                Some('-') => &mut parsed.excluded,
                Some('*') => &mut parsed.partial,
                _ => continue,
            };
            for word in split_words(term) {
                push_distinct(set, word);
            }
        }
        for word in split_words(&lower) {
            if !parsed.excluded.iter().any(|w| w == word)
                && !parsed.partial.iter().any(|w| w == word)
            {
                push_distinct(&mut parsed.included, word);
            }
        }
        let words = parsed.included.len() + parsed.partial.len() + parsed.excluded.len();
        (!parsed.included.is_empty() && words <= MAX_QUERY_WORDS).then_some(parsed)
    }
}

fn push_distinct(set: &mut Vec<String>, word: &str) {
    if !set.iter().any(|w| w == word) {
        set.push(word.to_owned());
    }
}

/// Characters removed from our own outgoing queries: SoulseekQt is reported
/// not to answer queries containing them (client-behaviour.md 4.1).
const REMOVED_FROM_OUTGOING: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~–—‐’“”…";

/// Our own search query, made safe to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingQuery {
    /// What to put in FileSearch / UserSearch / RoomSearch / WishlistSearch.
    pub wire: String,
    /// Lower-cased words and phrases the user asked for (to filter replies
    /// locally): plain words, `*suffix` terms without the `*`, and quoted
    /// phrases as a whole.
    pub included: Vec<String>,
    /// Lower-cased `-word` terms without the `-`.
    pub excluded: Vec<String>,
}

/// Sanitises a query typed by the user (client-behaviour.md 4.1).
///
/// Terms are separated by whitespace; `"a quoted phrase"` is one term.
/// `-word` and `*word` terms are sent as they are; the other terms, and the
/// words inside a quoted phrase, have the characters SoulseekQt chokes on
/// replaced by spaces. If nothing would be left, the trimmed query is sent
/// unchanged (a query of only special characters is the user's business).
///
/// ```
/// let q = slsk_shares::sanitize_outgoing_query(r#"AC/DC "back in black" -live *mix"#);
/// assert_eq!(q.wire, "AC DC back in black -live *mix");
/// assert_eq!(q.included, ["ac/dc", "back in black", "mix"]);
/// assert_eq!(q.excluded, ["live"]);
/// ```
pub fn sanitize_outgoing_query(query: &str) -> OutgoingQuery {
    let removed = |c: char| REMOVED_FROM_OUTGOING.contains(c);
    let clean = |s: &str| -> Vec<String> {
        s.split(|c: char| removed(c) || crate::words::is_separator(c))
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut wire: Vec<String> = Vec::new();
    let mut included = Vec::new();
    let mut excluded = Vec::new();
    for term in outgoing_terms(query.trim()) {
        let first = term.chars().next();
        if term.chars().count() > 1 && first == Some('*') {
            included.push(term[1..].to_lowercase());
            wire.push(term.to_owned());
        } else if term.chars().count() > 1 && first == Some('-') {
            excluded.push(term[1..].to_lowercase());
            wire.push(term.to_owned());
        } else if term.len() > 2 && term.starts_with('"') && term.ends_with('"') {
            let phrase = &term[1..term.len() - 1];
            included.push(phrase.to_lowercase());
            wire.extend(clean(phrase));
        } else {
            let words = clean(term);
            if !words.is_empty() {
                included.push(term.to_lowercase());
                wire.push(words.join(" "));
            }
        }
    }
    let wire = wire.join(" ");
    OutgoingQuery {
        wire: if wire.is_empty() {
            query.trim().to_owned()
        } else {
            wire
        },
        included,
        excluded,
    }
}

/// Whitespace-separated terms, a `"..."` run (closed by a quote) being one
/// term even with spaces inside. An unclosed quote is an ordinary character.
fn outgoing_terms(query: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut rest = query;
    loop {
        rest = rest.trim_start_matches(crate::words::is_separator);
        if rest.is_empty() {
            return terms;
        }
        if let Some(inner) = rest.strip_prefix('"') {
            if let Some(close) = inner.find('"') {
                let end = close + 2;
                let after = &rest[end..];
                if after.is_empty() || after.starts_with(crate::words::is_separator) {
                    terms.push(&rest[..end]);
                    rest = after;
                    continue;
                }
            }
        }
        let end = rest.find(crate::words::is_separator).unwrap_or(rest.len());
        terms.push(&rest[..end]);
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Option<ParsedQuery> {
        ParsedQuery::parse(q, &SearchSettings::default())
    }

    #[test]
    fn included_excluded_and_partial_words() {
        let q = parse("Pink Floyd -live *wall").unwrap();
        assert_eq!(q.included, ["pink", "floyd"]);
        assert_eq!(q.excluded, ["live"]);
        assert_eq!(q.partial, ["wall"]);
    }

    #[test]
    fn punctuation_splits_included_and_prefixed_terms() {
        let q = parse("AC/DC -live.bootleg *.flac").unwrap();
        assert_eq!(q.included, ["ac", "dc"]);
        assert_eq!(q.excluded, ["live", "bootleg"]);
        assert_eq!(q.partial, ["flac"]);
    }

    #[test]
    fn a_word_both_included_and_excluded_is_not_included() {
        assert_eq!(parse("live -live"), None);
        assert_eq!(parse("*erm -abc"), None, "needs a complete word");
        assert_eq!(parse("- * -- **"), None);
    }

    #[test]
    fn minimum_length_counts_characters_of_the_raw_query() {
        let s = SearchSettings::default();
        assert!(ParsedQuery::parse("ab", &s).is_none());
        assert!(ParsedQuery::parse("abc", &s).is_some());
        assert!(
            ParsedQuery::parse("äöü", &s).is_some(),
            "characters, not bytes"
        );
        let off = SearchSettings {
            max_results: 0,
            ..s
        };
        assert!(ParsedQuery::parse("abcdef", &off).is_none());
    }

    #[test]
    fn queries_with_too_many_words_are_refused() {
        let words = |n: usize| {
            (0..n)
                .map(|i| format!("w{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(parse(&words(MAX_QUERY_WORDS)).is_some());
        assert!(parse(&words(MAX_QUERY_WORDS + 1)).is_none());
        let partial = format!(
            "word {}",
            (0..MAX_QUERY_WORDS)
                .map(|i| format!("*p{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(parse(&partial).is_none());
        // Repeated words count once.
        assert!(parse(&"same ".repeat(10_000)).is_some());
    }

    #[test]
    fn excluded_phrases_are_lower_cased_substrings() {
        let p = ExcludedPhrases::new(["Linux Distro", "", "netbsd"]);
        assert!(p.excludes("music\\my linux distro.iso"));
        assert!(p.excludes("a\\netbsdx"));
        assert!(!p.excludes("a\\linux\\distro"));
        assert!(!ExcludedPhrases::default().excludes("anything"));
    }

    #[test]
    fn outgoing_special_characters_become_spaces() {
        let q = sanitize_outgoing_query("  Björk: Vespertine (2001) — “Hidden Place”… ");
        assert_eq!(q.wire, "Björk Vespertine 2001 Hidden Place");
    }

    #[test]
    fn outgoing_keeps_prefixed_terms_and_unquotes_phrases() {
        let q = sanitize_outgoing_query("\"daft punk\" -remix *ology a.b");
        assert_eq!(q.wire, "daft punk -remix *ology a b");
        assert_eq!(q.included, ["daft punk", "ology", "a.b"]);
        assert_eq!(q.excluded, ["remix"]);
    }

    #[test]
    fn outgoing_of_only_special_characters_is_unchanged() {
        assert_eq!(sanitize_outgoing_query(" ?!? ").wire, "?!?");
        assert_eq!(
            sanitize_outgoing_query("\"unclosed phrase").wire,
            "unclosed phrase"
        );
    }
}
