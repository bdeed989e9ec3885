//! A thread that checkpoints the database's write-ahead log, so that the
//! fsyncs of a checkpoint never stall the state machine (whose store has
//! automatic checkpoints turned off).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::store::{LOG_SIZE_LIMIT, checkpoint_passive};

/// How often the log is checkpointed. It bounds the commits an OS crash or
/// power loss can take (a process crash loses none) and the log's size.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// The running checkpoint thread; dropping it stops the thread after one
/// last checkpoint.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Set when a checkpoint found the log long.
    behind: Arc<AtomicBool>,
}

/// Log pages (4 KiB) past which a log this thread cannot catch up with is
/// reported [behind](Checkpointer::take_behind).
const BEHIND_FRAMES: i64 = LOG_SIZE_LIMIT / 4096;

impl Checkpointer {
    /// Opens a second connection to `path` and checkpoints it every
    /// [`CHECKPOINT_INTERVAL`].
    pub fn start(path: PathBuf) -> Result<Self, rusqlite::Error> {
        let db = Connection::open(&path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let behind = Arc::new(AtomicBool::new(false));
        let report = behind.clone();
        let thread = std::thread::Builder::new()
            .name("slsk-checkpoint".into())
            .spawn(move || {
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(CHECKPOINT_INTERVAL),
                        Err(mpsc::RecvTimeoutError::Timeout)
                    );
                    match checkpoint_passive(&db) {
                        Ok(log) => {
                            if log.behind(BEHIND_FRAMES) {
                                report.store(true, Ordering::Relaxed);
                            }
                        }
                        Err(e) => tracing::warn!(%e, "database checkpoint failed"),
                    }
                    if last {
                        break;
                    }
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
            behind,
        })
    }

    /// Whether a checkpoint since the last call found the log long: the
    /// writer should then checkpoint between two of its
    /// transactions ([`Store::checkpoint`](crate::store::Store::checkpoint)).
    pub fn take_behind(&self) -> bool {
        self.behind.swap(false, Ordering::Relaxed)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("checkpoint thread panicked");
        }
    }
}
