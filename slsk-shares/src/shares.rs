//! [`Shares`]: one immutable snapshot of what we share, answering searches,
//! browse and folder requests, and resolving uploads.

use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::Bytes;
use slsk_proto::EncodeError;
use slsk_proto::FramedMessage;
use slsk_proto::peer::{PeerDirectoryContentsReply, PeerMessage, PeerSharesReply};
use slsk_proto::structures::{DirectoryData, FileData};

use crate::attributes::AudioAttributes;
use crate::folders::{
    FolderError, Root, SharedFolder, is_inside, is_shareable, local_path, resolve_roots,
};
use crate::index::{FileId, IndexedFile, ShareIndex};
use crate::linear;
use crate::query::{ExcludedPhrases, ParsedQuery, SearchSettings};

/// A shared file as the scanner found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFile {
    /// `VirtualName\Sub\name.ext`.
    pub virtual_path: String,
    pub size: u64,
    pub attributes: AudioAttributes,
}

/// Everything we share, as of one scan. Cheap to query from many threads
/// (`Sync`); replace it (e.g. behind an `Arc`) after each rescan.
#[derive(Debug)]
pub struct Shares {
    roots: Vec<Root>,
    index: ShareIndex,
    /// The browse reply frame, built and compressed on first use.
    browse_frame: OnceLock<Result<Bytes, EncodeError>>,
}

impl Shares {
    /// Shares built from files listed by the caller rather than scanned
    /// (tests, benchmarks, a library kept elsewhere). Files whose first path
    /// component names none of `folders`, or whose path has an empty, hidden
    /// or `..` component, are left out. [`Shares::resolve`] answers only for
    /// folders whose directory exists.
    pub fn from_files(
        folders: &[SharedFolder],
        files: Vec<SharedFile>,
    ) -> Result<Self, FolderError> {
        Ok(Self::with_roots(resolve_roots(folders)?, files))
    }

    pub(crate) fn with_roots(roots: Vec<Root>, files: Vec<SharedFile>) -> Self {
        let files = files
            .into_iter()
            .filter(|f| is_shareable(&roots, &f.virtual_path))
            .map(|f| IndexedFile {
                virtual_path: f.virtual_path,
                size: f.size,
                attributes: f.attributes,
            })
            .collect();
        Self {
            roots,
            index: ShareIndex::build(files),
            browse_frame: OnceLock::new(),
        }
    }

    /// Shares around an index built before (loaded from a snapshot).
    pub(crate) fn with_index(roots: Vec<Root>, index: ShareIndex) -> Self {
        Self {
            roots,
            index,
            browse_frame: OnceLock::new(),
        }
    }

    /// Shares with nothing in them.
    pub fn empty() -> Self {
        Self::with_roots(Vec::new(), Vec::new())
    }

    /// Number of shared files (for SharedFoldersFiles).
    pub fn file_count(&self) -> usize {
        self.index.file_count()
    }

    /// Number of shared directories: every directory holding a file, with
    /// its parents up to the shared folder (for SharedFoldersFiles).
    pub fn folder_count(&self) -> usize {
        self.index.dir_count()
    }

    /// The index, for statistics and lower-level queries.
    pub fn index(&self) -> &ShareIndex {
        &self.index
    }

    /// The files answering an incoming search, as search-reply entries
    /// (full virtual paths), sorted by path; empty when nothing matches or
    /// the query is refused (see [`ParsedQuery::parse`]). The caller builds
    /// the `PeerSearchReply` around them (slots, speed, queue) and sends
    /// nothing when empty.
    ///
    /// The cap keeps the first results in path order (Nicotine+ keeps an
    /// arbitrary subset), and files with an excluded phrase are removed
    /// before capping (Nicotine+ removes them after, sending fewer).
    ///
    /// ```
    /// use slsk_shares::{ExcludedPhrases, SearchSettings, SharedFile, SharedFolder, Shares};
    ///
    /// let file = |p: &str| SharedFile { virtual_path: p.into(), size: 1, attributes: Default::default() };
    /// let shares = Shares::from_files(
    ///     &[SharedFolder::new("Music", "/nonexistent")],
    ///     vec![file("Music\\Air\\Moon Safari\\01 La femme d'argent.flac"), file("Music\\Air\\Talkie Walkie\\01 Venus.mp3")],
    /// )?;
    /// let hits = shares.search("air -talkie", &SearchSettings::default(), &ExcludedPhrases::default());
    /// assert_eq!(hits.len(), 1);
    /// assert_eq!(hits[0].filename, "Music\\Air\\Moon Safari\\01 La femme d'argent.flac");
    /// # Ok::<(), slsk_shares::FolderError>(())
    /// ```
    pub fn search(
        &self,
        query: &str,
        settings: &SearchSettings,
        phrases: &ExcludedPhrases,
    ) -> Vec<FileData> {
        self.search_ids(query, settings, phrases)
            .into_iter()
            .map(|id| self.file_data(id, self.index.path(id)))
            .collect()
    }

    /// Like [`Shares::search`], giving file ids (see [`ShareIndex`]).
    pub fn search_ids(
        &self,
        query: &str,
        settings: &SearchSettings,
        phrases: &ExcludedPhrases,
    ) -> Vec<FileId> {
        match ParsedQuery::parse(query, settings) {
            Some(parsed) => self.index.search(&parsed, settings.max_results, phrases),
            None => Vec::new(),
        }
    }

    /// The same answer as [`Shares::search_ids`] by testing every file's
    /// path in turn: the reference the index is tested and measured against.
    pub fn search_ids_linear(
        &self,
        query: &str,
        settings: &SearchSettings,
        phrases: &ExcludedPhrases,
    ) -> Vec<FileId> {
        let Some(parsed) = ParsedQuery::parse(query, settings) else {
            return Vec::new();
        };
        let paths = (0..self.index.file_count() as FileId).map(|id| (id, self.index.path(id)));
        linear::search(paths, &parsed, settings.max_results, phrases)
    }

    /// One file as a wire entry named `filename`. `extension` gets what its
    /// name says (lower-case, no dot); Nicotine+ sends it empty, and no
    /// receiver we know reads it.
    fn file_data(&self, id: FileId, filename: String) -> FileData {
        FileData {
            code: 1,
            extension: extension(self.index.name(id)),
            filename,
            filesize: self.index.size(id),
            attributes: self.index.attributes(id).to_wire(),
        }
    }

    fn directory_data(&self, dir: u32, path: &str) -> DirectoryData {
        DirectoryData {
            name: path.to_owned(),
            files: self
                .index
                .files_in(dir)
                .iter()
                .map(|&id| self.file_data(id, self.index.name(id).to_owned()))
                .collect(),
        }
    }

    /// The browse reply: every directory (parents without files included),
    /// in path order, with the names of its files; no locked directories.
    pub fn browse_reply(&self) -> PeerSharesReply {
        PeerSharesReply {
            directories: self
                .index
                .dirs()
                .map(|(dir, path)| self.directory_data(dir, path))
                .collect(),
            unknown: 0,
            locked_directories: Some(Vec::new()),
        }
    }

    /// The whole peer frame (length, code 5, zlib payload) of
    /// [`Shares::browse_reply`], built and compressed on the first call and
    /// shared by every later one (cloning `Bytes` copies nothing). The first
    /// call takes a while on a large share (seconds for a million files,
    /// see docs/performance.md): make it from a blocking thread, e.g. right
    /// after the scan.
    /// A share list too large for one frame (4 GiB) is an error, every time.
    pub fn browse_frame(&self) -> Result<Bytes, EncodeError> {
        self.browse_frame
            .get_or_init(|| {
                PeerMessage::from(self.browse_reply())
                    .to_frame()
                    .map(Bytes::from)
            })
            .clone()
    }

    /// The reply to a folder-contents request: the directory with its own
    /// files (not those of subdirectories). An unknown directory, or one we
    /// do not share, gets a reply with no directory, as Nicotine+ sends.
    pub fn folder_contents(&self, ticket: u32, directory: &str) -> PeerDirectoryContentsReply {
        PeerDirectoryContentsReply {
            ticket,
            directory: directory.to_owned(),
            directories: self
                .index
                .find_dir(directory)
                .map(|dir| self.directory_data(dir, directory))
                .into_iter()
                .collect(),
        }
    }

    /// The local file behind a virtual path, for an upload: `None` unless the
    /// path is exactly one shared file (no case folding, no `..`, no
    /// prefix), and unless the local file is still a regular file reached
    /// without symlinks inside its shared folder (checked now, so a file
    /// swapped for a link since the scan is refused).
    pub fn resolve(&self, virtual_path: &str) -> Option<PathBuf> {
        self.index.find_file(virtual_path)?;
        let path = local_path(&self.roots, virtual_path)?;
        let root = self
            .roots
            .iter()
            .find(|r| r.available && is_inside(r, &path))?;
        let metadata = std::fs::symlink_metadata(&path).ok()?;
        if !metadata.is_file() {
            return None;
        }
        // Canonical only if no component is a symlink or `..`.
        let canonical = std::fs::canonicalize(&path).ok()?;
        (canonical == path && is_inside(root, &canonical)).then_some(path)
    }
}

/// The lower-case extension of a file name, without the dot; empty if none.
fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => ext.to_lowercase(),
        _ => String::new(),
    }
}
