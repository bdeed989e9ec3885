//! The transfer settings of [`ClientConfig`](crate::client::ClientConfig).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use slsk_transfers::SharedFile;

/// Maps a virtual path a peer asked for to a local file, or `None` when it
/// is not shared. The shares feature plugs in here (`Shares::resolve`);
/// until then the application supplies it.
pub type ShareResolverFn = Arc<dyn Fn(&str) -> Option<SharedFile> + Send + Sync>;

/// Where the download queue is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueStorage {
    /// Forgotten when the client ends.
    Memory,
    /// A SQLite file: unfinished downloads are queued again at connect.
    Sqlite(PathBuf),
}

/// Downloads and uploads.
///
/// ```
/// use std::sync::Arc;
/// use slsk_net::client::{ClientConfig, QueueStorage, SharedFile, TransferSettings};
///
/// let mut config = ClientConfig::new("127.0.0.1:2242", "alice", "secret");
/// let mut transfers = TransferSettings::new("/tmp/dl", "/tmp/dl/.incomplete");
/// transfers.queue = QueueStorage::Sqlite("/tmp/dl/queue.sqlite".into());
/// transfers.resolver = Arc::new(|path: &str| {
///     (path == "music\\song.mp3").then(|| SharedFile { path: "/music/song.mp3".into(), size: 42 })
/// });
/// config.transfers = Some(transfers);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct TransferSettings {
    /// Where finished downloads go.
    pub download_dir: PathBuf,
    /// Where partial downloads are kept (resumed from their length).
    pub incomplete_dir: PathBuf,
    /// The download queue's storage.
    pub queue: QueueStorage,
    /// Uploads streaming at once.
    pub upload_slots: usize,
    /// Files one user may have queued with us.
    pub max_files_per_user: usize,
    /// Bytes one user may have queued with us.
    pub max_bytes_per_user: u64,
    /// Upload bandwidth for all uploads together, in bytes per second.
    pub upload_rate_limit: Option<u64>,
    /// What we share; nothing else is ever uploaded. Shares nothing by
    /// default. With the `shares` feature, the files of
    /// [`ClientConfig::shares`](super::super::ClientConfig::shares) are
    /// served too (this resolver is asked first).
    pub resolver: ShareResolverFn,
}

impl TransferSettings {
    /// In-memory queue, the `slsk-transfers` upload slots and per-user
    /// limits, no rate limit, nothing shared.
    pub fn new(download_dir: impl Into<PathBuf>, incomplete_dir: impl Into<PathBuf>) -> Self {
        let defaults = slsk_transfers::UploadConfig::default();
        Self {
            download_dir: download_dir.into(),
            incomplete_dir: incomplete_dir.into(),
            queue: QueueStorage::Memory,
            upload_slots: defaults.slots,
            max_files_per_user: defaults.max_files_per_user,
            max_bytes_per_user: defaults.max_bytes_per_user,
            upload_rate_limit: None,
            resolver: Arc::new(|_: &str| None),
        }
    }
}

#[cfg(feature = "shares")]
impl TransferSettings {
    /// These settings with the current shares of `sharing` served after
    /// [`resolver`](Self::resolver): a virtual path the scan indexed, still
    /// a regular file inside its shared folder (`Shares::resolve`), at its
    /// size now.
    pub(crate) fn serving_shares(&self, sharing: super::super::shares::Sharing) -> Self {
        let own = self.resolver.clone();
        let mut settings = self.clone();
        settings.resolver = Arc::new(move |virtual_path: &str| {
            own(virtual_path).or_else(|| {
                let path = sharing.current().resolve(virtual_path)?;
                let size = std::fs::metadata(&path).ok()?.len();
                Some(SharedFile { path, size })
            })
        });
        settings
    }
}

impl fmt::Debug for TransferSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransferSettings")
            .field("download_dir", &self.download_dir)
            .field("incomplete_dir", &self.incomplete_dir)
            .field("queue", &self.queue)
            .field("upload_slots", &self.upload_slots)
            .field("max_files_per_user", &self.max_files_per_user)
            .field("max_bytes_per_user", &self.max_bytes_per_user)
            .field("upload_rate_limit", &self.upload_rate_limit)
            .finish_non_exhaustive()
    }
}
