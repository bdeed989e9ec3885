//! The transfer engine of a Soulseek client: download and upload queues as
//! state machines without I/O, safe local paths, the download queue in
//! SQLite, and the streaming of file bytes over file (`F`) connections.
//!
//! It does not depend on `slsk-net`: the driver (for example `slsk-net`'s
//! client) owns the sockets, feeds the managers what arrives and does what
//! they output.
//!
//! | piece | what it does |
//! |---|---|
//! | [`DownloadManager`] | `QueueUpload`, accepting offers, retries, timeouts |
//! | [`UploadManager`] | admission with the exact reject strings, slots, fairness |
//! | [`download`], [`upload`] | the bytes of one file connection, either side |
//! | [`local_path`], [`incomplete_path`] | where a remote file lands, safely |
//! | [`DownloadStore`] | the download queue across restarts |
//! | [`RateLimiter`] | an upload bandwidth limit |
//!
//! Routing a peer's `TransferRequest`: direction 1 (the peer will upload)
//! goes to [`DownloadManager::on_transfer_request`], direction 0 (the peer
//! wants to download, the legacy way) to
//! [`UploadManager::on_transfer_request`]; each returns `false` for the
//! other's direction. `TransferReply` goes to
//! [`UploadManager::on_transfer_reply`] (only uploads send requests);
//! `UploadFailed`, `UploadDenied` and `PlaceInQueueResponse` to the
//! download manager; `QueueUpload` and `PlaceInQueueRequest` to the upload
//! manager.
//!
//! The download side of a driver, in short (a real one keeps the manager
//! behind a lock and spawns the stream):
//!
//! ```no_run
//! use std::time::Instant;
//! use tokio::io::{AsyncRead, AsyncWrite};
//! use slsk_transfers::{DownloadManager, DownloadOutput, DownloadStore, StreamConfig, download};
//!
//! async fn on_file_connection<S: AsyncRead + AsyncWrite + Unpin>(
//!     mut conn: S, // after the ticket was read
//!     user: &str,
//!     ticket: u32,
//!     downloads: &mut DownloadManager,
//!     store: &DownloadStore,
//! ) {
//!     let Some(job) = downloads.on_file_connection(user, ticket, Instant::now()) else {
//!         return; // not a transfer we allowed: close
//!     };
//!     let result = download(&mut conn, &job, &StreamConfig::default(), |progress| {
//!         println!("{} of {} bytes, {:.0} B/s", progress.bytes, progress.size, progress.rate);
//!     })
//!     .await;
//!     drop(conn); // the downloader closes first
//!     let result = result.map_err(|error| error.reason());
//!     downloads.on_finished(job.id, job.ticket, result, Instant::now());
//!     while let Some(output) = downloads.poll_output() {
//!         match output {
//!             DownloadOutput::Send { user, message } => { /* to user's P connection */ }
//!             DownloadOutput::Changed(id) => store.save(&downloads.record(id).unwrap()).unwrap(),
//!             DownloadOutput::Removed(id) => store.remove(id.0).unwrap(),
//!         }
//!     }
//! }
//! ```

mod download;
mod path;
mod rate;
mod store;
mod stream;
mod upload;

pub use download::{
    Download, DownloadConfig, DownloadId, DownloadJob, DownloadManager, DownloadOutput,
    DownloadState, FailReason,
};
pub use path::{MAX_COMPONENT_BYTES, incomplete_path, local_path, numbered_path};
pub use rate::RateLimiter;
pub use store::{DownloadRecord, DownloadStore, StoredStatus};
pub use stream::{
    DownloadError, Progress, StreamConfig, UploadError, UploadOutcome, download, move_into_place,
    upload,
};
pub use upload::{
    ShareResolver, SharedFile, Upload, UploadConfig, UploadFailure, UploadId, UploadManager,
    UploadOutput, UploadState,
};
