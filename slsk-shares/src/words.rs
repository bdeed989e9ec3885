//! Splitting text into search words, the way the matching rules split it
//! (client-behaviour.md 4.3, Nicotine+'s `TRANSLATE_PUNCTUATION`): lower-case,
//! punctuation to spaces, split on whitespace.

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Mathematical-symbol forms Nicotine+ also treats as punctuation: the small
/// and full-width variants of the ASCII symbols `+ < = > | ~`.
const EXTRA_PUNCTUATION: [char; 10] = [
    '\u{FE62}', '\u{FE64}', '\u{FE65}', '\u{FE66}', '\u{FF0B}', '\u{FF1C}', '\u{FF1D}', '\u{FF1E}',
    '\u{FF5C}', '\u{FF5E}',
];

/// True for the characters that separate words: every ASCII punctuation
/// character (`$ + < = > ^ \` | ~` included), every Unicode punctuation
/// character (general category P), and [`EXTRA_PUNCTUATION`].
pub fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    c.general_category_group() == GeneralCategoryGroup::Punctuation
        || EXTRA_PUNCTUATION.contains(&c)
}

/// True for the characters Python's `str.split()` splits on: Unicode
/// whitespace plus the ASCII information separators U+001C..U+001F.
pub fn is_separator(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The words of already lower-cased text: runs of characters that are
/// neither punctuation nor whitespace.
pub fn split_words(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| is_separator(c) || is_punctuation(c))
        .filter(|w| !w.is_empty())
}

/// Splits on whitespace only, like Python's `str.split()`.
pub fn split_whitespace(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_separator).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_ascii_and_unicode_punctuation_and_whitespace() {
        let words: Vec<_> =
            split_words("music\\artist_name\\(2001) best-of…vol.1 «live» a+b\u{3000}c").collect();
        assert_eq!(
            words,
            [
                "music", "artist", "name", "2001", "best", "of", "vol", "1", "live", "a", "b", "c"
            ]
        );
    }

    #[test]
    fn symbols_outside_the_set_stay_in_words() {
        // € (Sc) and © (So) are not punctuation; ＋ (U+FF0B) is.
        let words: Vec<_> = split_words("5€ ©2020 x＋y").collect();
        assert_eq!(words, ["5€", "©2020", "x", "y"]);
    }
}
