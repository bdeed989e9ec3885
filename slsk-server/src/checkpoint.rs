//! A thread that checkpoints the database's write-ahead log, so that the
//! fsyncs of a checkpoint never stall the state machine (whose store has
//! automatic checkpoints turned off).

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::store::checkpoint_passive;

/// How often the log is checkpointed. It bounds the commits an OS crash or
/// power loss can take (a process crash loses none) and the log's size.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// The running checkpoint thread; dropping it stops the thread after one
/// last checkpoint.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to `path` and checkpoints it every
    /// [`CHECKPOINT_INTERVAL`].
    pub fn start(path: PathBuf) -> Result<Self, rusqlite::Error> {
        let db = Connection::open(&path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("slsk-checkpoint".into())
            .spawn(move || {
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(CHECKPOINT_INTERVAL),
                        Err(mpsc::RecvTimeoutError::Timeout)
                    );
                    if let Err(e) = checkpoint_passive(&db) {
                        tracing::warn!(%e, "database checkpoint failed");
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
        })
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
