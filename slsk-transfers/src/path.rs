//! Safe local names for remote paths.
//!
//! A remote path is whatever a peer typed into a message: it may climb out
//! of the download folder (`..`, absolute paths, drive letters, UNC
//! prefixes), carry control characters, terminal escapes or bidirectional
//! overrides that disguise a name, use names Windows reserves for devices,
//! or be longer than a file system allows. [`local_path`] turns any of it
//! into `download_dir/<folder>/<file>` where both parts are plain, readable
//! names.
//!
//! **Folder choice.** Like Nicotine+, the last folder of the remote path is
//! kept as a subfolder (`@@music\Artist\Album\01.flac` becomes
//! `Album/01.flac`), so the files of one album stay together and two albums
//! with a `01.flac` do not collide. A remote path without a folder gives
//! just the file name.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

/// The longest name, in bytes, of one path component on common file systems.
pub const MAX_COMPONENT_BYTES: usize = 255;

/// The name used when nothing readable is left of a remote file name.
const FALLBACK_FILE: &str = "unnamed";
/// The name used when nothing readable is left of a remote folder name.
const FALLBACK_FOLDER: &str = "folder";
/// An extension longer than this (with its dot) is treated as part of the
/// name when truncating, so truncation cannot eat the whole stem.
const MAX_EXTENSION_BYTES: usize = 32;

/// Where a download of `remote_path` lands inside `download_dir`: its last
/// remote folder as a subfolder, then its file name, both sanitized. The
/// result is always a strict descendant of `download_dir` made of normal
/// components (no `..`, no root, no prefix), each at most
/// [`MAX_COMPONENT_BYTES`] long.
///
/// The name may already exist; [`numbered_path`] gives the alternatives
/// (`name (1).ext`) that the final move tries so nothing is overwritten.
///
/// ```
/// use std::path::Path;
/// use slsk_transfers::local_path;
///
/// let dir = Path::new("/downloads");
/// assert_eq!(
///     local_path(dir, "@@music\\Artist\\Album\\01 Song.flac"),
///     Path::new("/downloads/Album/01 Song.flac"),
/// );
/// assert_eq!(local_path(dir, "..\\..\\etc/passwd"), Path::new("/downloads/etc/passwd"));
/// assert_eq!(local_path(dir, "C:\\CON.txt"), Path::new("/downloads/C_/_CON.txt"));
/// ```
pub fn local_path(download_dir: &Path, remote_path: &str) -> PathBuf {
    let (folder, file) = split_remote(remote_path);
    let mut path = download_dir.to_path_buf();
    if let Some(folder) = folder {
        path.push(sanitize_component(folder, FALLBACK_FOLDER));
    }
    path.push(sanitize_component(file, FALLBACK_FILE));
    path
}

/// Where the partial file of a download of `remote_path` from `user` lives
/// inside `incomplete_dir`: one flat file named after a hash of the user and
/// the remote path, then the sanitized file name. The hash keeps downloads
/// of equally named files from different folders or users apart, and is
/// stable across restarts (MD5, not std's hasher) so a partial file is found
/// again to resume.
pub fn incomplete_path(incomplete_dir: &Path, user: &str, remote_path: &str) -> PathBuf {
    let mut hasher = Md5::new();
    hasher.update(user.as_bytes());
    hasher.update([0]);
    hasher.update(remote_path.as_bytes());
    let digest = hasher.finalize();
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let (_, file) = split_remote(remote_path);
    let name = format!(
        "INCOMPLETE{hash} {}",
        sanitize_component(file, FALLBACK_FILE)
    );
    let (stem, ext) = split_extension(&name);
    incomplete_dir.join(fit_name(stem, ext))
}

/// The `n`th alternative to `path` for a file that must not overwrite
/// another: `name (n).ext`, still at most [`MAX_COMPONENT_BYTES`] long.
/// `n == 0` gives `path` itself.
pub fn numbered_path(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| FALLBACK_FILE.to_owned());
    let (stem, ext) = split_extension(&name);
    let suffix = format!(" ({n})");
    // Cut the stem so that the stem, the suffix and the extension fit.
    let budget = MAX_COMPONENT_BYTES.saturating_sub(suffix.len() + ext.len());
    let stem = trim_end(truncate_on_char_boundary(stem, budget));
    path.with_file_name(format!("{stem}{suffix}{ext}"))
}

/// The last folder (if any) and the file name of a remote path, splitting on
/// both separators and skipping empty and dot-only parts, so `..`, roots,
/// UNC prefixes and trailing separators disappear. A path that ends with a
/// separator names its last folder as the file.
fn split_remote(remote: &str) -> (Option<&str>, &str) {
    let mut folder = None;
    let mut file = "";
    for part in remote
        .split(['/', '\\'])
        .filter(|part| !part.is_empty() && !part.chars().all(|c| c == '.'))
    {
        if !file.is_empty() {
            folder = Some(file);
        }
        file = part;
    }
    (folder, file)
}

/// One remote name as a safe local file name, or `fallback` when nothing
/// readable is left.
fn sanitize_component(raw: &str, fallback: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| if is_reserved_char(c) { '_' } else { c })
        .collect();
    // Windows drops trailing dots and spaces; leading spaces hide names.
    let trimmed = trim_end(cleaned.trim_start());
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') {
        return fallback.to_owned();
    }
    let name = if is_reserved_device_name(trimmed) {
        format!("_{trimmed}")
    } else {
        trimmed.to_owned()
    };
    let (stem, ext) = split_extension(&name);
    fit_name(stem, ext)
}

/// Characters removed outright: controls (C0, DEL, C1, which also breaks
/// terminal escape sequences), bidirectional overrides, isolates and marks
/// that make a name display differently from what it is.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Characters that no Windows file name may hold (separators are split on
/// before this, but a stray one is replaced too).
fn is_reserved_char(c: char) -> bool {
    matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*')
}

/// Windows device names (`CON`, `nul.tar.gz`, `COM1.txt`, `LPT¹`...): the
/// part before the first dot, without trailing spaces, in any case.
fn is_reserved_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("").trim_end();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let mut chars = upper.chars();
            let prefix: String = chars.by_ref().take(3).collect();
            let rest: Vec<char> = chars.collect();
            (prefix == "COM" || prefix == "LPT")
                && rest.len() == 1
                && (rest[0].is_ascii_digit() || matches!(rest[0], '¹' | '²' | '³'))
        }
    }
}

/// `name` split before its last dot (`("song", ".flac")`); no extension for
/// a leading dot only or an overlong "extension".
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_EXTENSION_BYTES => name.split_at(dot),
        _ => (name, ""),
    }
}

/// `stem` + `ext` cut to [`MAX_COMPONENT_BYTES`], shortening the stem on a
/// character boundary and keeping the extension.
fn fit_name(stem: &str, ext: &str) -> String {
    if stem.len() + ext.len() <= MAX_COMPONENT_BYTES {
        return format!("{stem}{ext}");
    }
    let stem = trim_end(truncate_on_char_boundary(
        stem,
        MAX_COMPONENT_BYTES - ext.len(),
    ));
    let stem = if stem.is_empty() { FALLBACK_FILE } else { stem };
    format!("{stem}{ext}")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a
/// character boundary.
fn truncate_on_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` without trailing dots and spaces (Windows strips them, which would
/// change the name or make it empty).
fn trim_end(s: &str) -> &str {
    s.trim_end_matches(['.', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Component;

    fn dir() -> &'static Path {
        Path::new("/dl")
    }

    fn name_of(remote: &str) -> String {
        local_path(dir(), remote)
            .strip_prefix(dir())
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn keeps_the_last_folder_and_the_file_name() {
        assert_eq!(
            name_of("@@abcde\\Music\\Artist\\Album\\01.flac"),
            "Album/01.flac"
        );
        assert_eq!(name_of("song.mp3"), "song.mp3");
        assert_eq!(name_of("a/b/c.txt"), "b/c.txt");
    }

    #[test]
    fn climbing_out_is_impossible() {
        assert_eq!(name_of("../../../etc/passwd"), "etc/passwd");
        assert_eq!(name_of("..\\..\\..\\windows\\win.ini"), "windows/win.ini");
        assert_eq!(name_of("/etc/passwd"), "etc/passwd");
        assert_eq!(name_of("\\\\server\\share\\x.txt"), "share/x.txt");
        assert_eq!(name_of("C:\\x.txt"), "C_/x.txt");
        assert_eq!(name_of("C:x.txt"), "C_x.txt");
        assert_eq!(name_of("\\\\?\\C:\\a\\..\\b.txt"), "a/b.txt");
        assert_eq!(name_of(".."), FALLBACK_FILE);
        assert_eq!(name_of("..."), FALLBACK_FILE);
        assert_eq!(name_of(""), FALLBACK_FILE);
        assert_eq!(name_of("/"), FALLBACK_FILE);
        assert_eq!(name_of("a/ .. /b"), "folder/b");
    }

    #[test]
    fn trailing_separator_names_the_folder() {
        assert_eq!(name_of("Music\\Album\\"), "Music/Album");
    }

    #[test]
    fn control_escape_and_bidi_characters_are_removed() {
        assert_eq!(name_of("a\0b.txt"), "ab.txt");
        assert_eq!(name_of("x\u{1b}[31mred\u{1b}[0m.txt"), "x[31mred[0m.txt");
        assert_eq!(name_of("\u{9b}31mred.txt"), "31mred.txt");
        assert_eq!(name_of("evil\u{202E}txt.exe"), "eviltxt.exe");
        assert_eq!(name_of("a\u{2066}b\u{2069}.mp3"), "ab.mp3");
        assert_eq!(name_of("line\nbreak\r.txt"), "linebreak.txt");
        assert_eq!(name_of("\u{7f}\u{1}"), FALLBACK_FILE);
    }

    #[test]
    fn windows_reserved_names_and_characters() {
        assert_eq!(name_of("CON"), "_CON");
        assert_eq!(name_of("COM1.txt"), "_COM1.txt");
        assert_eq!(name_of("nul.tar.gz"), "_nul.tar.gz");
        assert_eq!(name_of("lpt9"), "_lpt9");
        assert_eq!(name_of("LPT¹.doc"), "_LPT¹.doc");
        assert_eq!(name_of("aux .txt"), "_aux .txt");
        assert_eq!(name_of("CONSOLE.txt"), "CONSOLE.txt");
        assert_eq!(name_of("COM10"), "COM10");
        assert_eq!(name_of("what?<>|*\".mp3"), "what______.mp3");
        assert_eq!(name_of("name. . ."), "name");
        assert_eq!(name_of("   spaced.txt"), "spaced.txt");
    }

    #[test]
    fn lossy_text_stays_readable() {
        // slsk-proto decodes invalid UTF-8 as latin-1; a lossy U+FFFD is kept.
        assert_eq!(name_of("caf\u{e9}.mp3"), "caf\u{e9}.mp3");
        assert_eq!(name_of("bad\u{fffd}.mp3"), "bad\u{fffd}.mp3");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.flac", "é".repeat(300));
        let name = name_of(&long);
        assert!(name.len() <= MAX_COMPONENT_BYTES);
        assert!(name.ends_with("é.flac"), "{name}");
        let no_ext = "x".repeat(1000);
        assert_eq!(name_of(&no_ext).len(), MAX_COMPONENT_BYTES);
        // A huge "extension" is not kept whole.
        let weird = format!("a.{}", "y".repeat(600));
        assert_eq!(name_of(&weird).len(), MAX_COMPONENT_BYTES);
    }

    #[test]
    fn numbered_alternatives() {
        let p = Path::new("/dl/Album/song.flac");
        assert_eq!(numbered_path(p, 0), p);
        assert_eq!(numbered_path(p, 1), Path::new("/dl/Album/song (1).flac"));
        assert_eq!(
            numbered_path(Path::new("/dl/x"), 12),
            Path::new("/dl/x (12)")
        );
        let long = local_path(dir(), &format!("{}.mp3", "z".repeat(400)));
        let numbered = numbered_path(&long, 7);
        let name = numbered.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= MAX_COMPONENT_BYTES);
        assert!(name.ends_with(" (7).mp3"));
    }

    #[test]
    fn incomplete_names_differ_per_user_and_path() {
        let inc = Path::new("/inc");
        let a = incomplete_path(inc, "alice", "x\\a\\01.flac");
        let b = incomplete_path(inc, "bob", "x\\a\\01.flac");
        let c = incomplete_path(inc, "alice", "x\\b\\01.flac");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, incomplete_path(inc, "alice", "x\\a\\01.flac"));
        assert_eq!(a.parent(), Some(inc));
        assert!(a.to_string_lossy().ends_with(" 01.flac"));
        let long = incomplete_path(inc, "u", &"q".repeat(900));
        assert!(long.file_name().unwrap().len() <= MAX_COMPONENT_BYTES);
    }

    /// Hostile path pieces: separators, dots, drive letters, controls,
    /// bidi characters, device names and arbitrary text.
    fn hostile_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just("/".to_owned()),
            Just("\\".to_owned()),
            Just("C:".to_owned()),
            Just("\\\\?\\".to_owned()),
            Just("CON".to_owned()),
            Just("nul.tar.gz".to_owned()),
            Just("\u{202E}".to_owned()),
            Just("\u{1b}[2J".to_owned()),
            Just("\0".to_owned()),
            Just(" ".to_owned()),
            "[\\x00-\\x20./\\\\:]{0,6}",
            ".{0,40}",
            "[a-zé]{200,300}",
        ]
    }

    fn hostile_path() -> impl Strategy<Value = String> {
        prop::collection::vec(hostile_piece(), 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn result_is_a_strict_descendant_with_normal_safe_components(remote in hostile_path()) {
            let base = Path::new("/srv/downloads");
            let path = local_path(base, &remote);
            let rest = path.strip_prefix(base).expect("inside the download folder");
            let components: Vec<_> = rest.components().collect();
            prop_assert!(matches!(components.len(), 1 | 2), "{components:?}");
            for component in components {
                let Component::Normal(name) = component else {
                    panic!("not a normal component: {component:?} in {path:?}");
                };
                let name = name.to_str().expect("UTF-8");
                prop_assert!(!name.is_empty() && name.len() <= MAX_COMPONENT_BYTES);
                prop_assert!(!name.chars().any(|c| is_invisible(c) || is_reserved_char(c)), "{name:?}");
                prop_assert!(!is_reserved_device_name(name), "{name:?}");
                prop_assert!(!name.ends_with(['.', ' ']) && !name.starts_with(' '), "{name:?}");
            }
            let numbered = numbered_path(&path, 99);
            prop_assert!(numbered.starts_with(base));
            prop_assert!(numbered.file_name().unwrap().len() <= MAX_COMPONENT_BYTES);
            let partial = incomplete_path(base, "user", &remote);
            prop_assert_eq!(partial.parent(), Some(base));
        }
    }
}
