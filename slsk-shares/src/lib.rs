//! The share library of a Soulseek client: scanning shared folders, a scan
//! cache, a search index, and the browse, folder-contents and search-reply
//! payloads. No networking: the client session calls it.
//!
//! - [`scan`] walks the [`SharedFolder`]s, reads the audio attributes of new
//!   and changed files in parallel (with `lofty`), keeps what it read in a
//!   [`ScanCache`] (SQLite), and returns [`Shares`]. The cache also keeps
//!   the last index built: a rescan that finds every file as the last scan
//!   left it (a restart) loads that index instead of comparing every file
//!   and building it again.
//! - [`Shares`] answers searches ([`Shares::search`], the matching rules of
//!   Nicotine+, client-behaviour.md 4.3), builds the browse reply once per
//!   scan ([`Shares::browse_frame`]), folder contents
//!   ([`Shares::folder_contents`]), and maps a virtual path back to the
//!   local file for an upload ([`Shares::resolve`]).
//! - [`sanitize_outgoing_query`] prepares our own searches (4.1).
//!
//! What is shared: regular files under each shared folder, published as
//! `VirtualName\sub\dir\file.ext`. Hidden (dot-prefixed) files and
//! directories, names that are not UTF-8 or contain a backslash, unreadable
//! files and directories are left out. **Symlinks are never followed**, not
//! even to a file inside the same folder, so nothing outside a shared folder
//! can be published or uploaded, and nothing is shared twice.
//!
//! ```
//! use slsk_shares::{ExcludedPhrases, ScanCache, ScanOptions, SearchSettings, SharedFolder, scan};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir_all(dir.path().join("Air/Moon Safari"))?;
//! std::fs::write(dir.path().join("Air/Moon Safari/Sexy Boy.txt"), b"not audio")?;
//!
//! let folders = [SharedFolder::new("Music", dir.path())];
//! let mut cache = ScanCache::in_memory()?;
//! let outcome = scan(&folders, &mut cache, &ScanOptions::default(), &mut |_| {})?;
//! let shares = outcome.shares;
//!
//! let hits = shares.search("sexy boy", &SearchSettings::default(), &ExcludedPhrases::default());
//! assert_eq!(hits[0].filename, "Music\\Air\\Moon Safari\\Sexy Boy.txt");
//! assert!(shares.resolve("Music\\Air\\Moon Safari\\Sexy Boy.txt").is_some());
//! assert!(shares.resolve("Music\\Air\\..\\..\\etc\\passwd").is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attributes;
mod cache;
mod cache_map;
mod folders;
mod index;
mod linear;
mod probe;
mod query;
mod scan;
mod shares;
mod walk;
pub mod words;

pub use attributes::AudioAttributes;
pub use cache::{CacheError, ScanCache};
pub use folders::{FolderError, SharedFolder};
pub use index::{FileId, IndexedFile, ShareIndex};
pub use probe::{AudioProbe, FileProbe};
pub use query::{
    ExcludedPhrases, MAX_QUERY_WORDS, OutgoingQuery, ParsedQuery, SearchSettings,
    sanitize_outgoing_query,
};
pub use scan::{ScanError, ScanOptions, ScanOutcome, ScanPhase, ScanProgress, ScanReport, scan};
pub use shares::{SharedFile, Shares};
