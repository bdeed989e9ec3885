//! The client's transfers (feature `transfers`, on by default): a task that
//! owns a [`DownloadManager`] and an [`UploadManager`] from
//! `slsk-transfers` and drives them with what the peer layer delivers,
//! their timers and the file (`F`) connections.
//!
//! Routing (as the `slsk-transfers` docs say): `TransferRequest` direction
//! 1 and `UploadFailed`, `UploadDenied`, `PlaceInQueueReply` go to the
//! downloads; `TransferRequest` direction 0, `TransferReply`, `QueueUpload`
//! and `PlaceInQueueRequest` to the uploads. An incoming `F` connection has
//! its ticket read and is handed to the download it belongs to; uploads
//! open their own with [`Peers::connect_file`](crate::Peers::connect_file).
//!
//! What is uploaded is decided by [`TransferSettings::resolver`] only: a
//! path it does not resolve is answered "File not shared." and nothing is
//! read.
//!
//! User status: the client watches (AddUser, through the session, so it
//! shows in [`Client::watched`](super::Client::watched) and is renewed
//! after a reconnect) every user it downloads from or has uploads queued
//! for, and feeds their statuses to both queues (client-behaviour.md 6.5):
//! a download from a user who logged out waits for them without counting
//! a failure and is queued again as soon as they are back; a user who goes
//! offline loses their waiting uploads (active ones go on). A message that
//! cannot be sent because the server says the user is offline counts as
//! such a status. At most 4096 users are watched this way per session, and
//! they are not unwatched when their transfers end (the application may be
//! watching them too).

mod presence;
mod settings;
mod status;
mod task;

pub use settings::{QueueStorage, ShareResolverFn, TransferSettings};
pub use slsk_transfers::{Download, DownloadId, DownloadState, FailReason, SharedFile};

pub(crate) use status::{UploadFigures, UploadStatus};
pub(crate) use task::{TransferHandle, TransferInput, start};

/// Something that happened to a transfer ([`Event::Transfer`](super::Event::Transfer)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferEvent {
    /// A download was added or changed state.
    DownloadChanged {
        id: DownloadId,
        user: String,
        remote_path: String,
        state: DownloadState,
    },
    /// Bytes arrived (at most every 100 ms per download).
    DownloadProgress {
        id: DownloadId,
        bytes: u64,
        size: u64,
        /// Bytes per second, averaged over the stream so far.
        rate: u64,
    },
    /// An upload to `user` started streaming.
    UploadStarted { user: String, virtual_path: String },
    /// An upload ended (done, failed, refused or cancelled).
    UploadEnded {
        user: String,
        virtual_path: String,
        completed: bool,
    },
}

/// Why a transfer call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferError {
    /// [`ClientConfig::transfers`](super::ClientConfig::transfers) was `None`.
    Disabled,
    /// The client is shut down.
    Closed,
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Disabled => f.write_str("transfers are not configured"),
            Self::Closed => f.write_str("the client is shut down"),
        }
    }
}

impl std::error::Error for TransferError {}
