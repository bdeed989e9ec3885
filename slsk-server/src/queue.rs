//! A connection's outgoing frames, bounded in bytes.
//!
//! The central task appends encoded frames as [`Bytes`], so that a frame sent
//! to many connections (a search fanned out to everyone) is encoded once and
//! shared. The connection's writer takes everything queued at once and writes
//! it. If the client does not read, the queue grows until [`OutQueue::push`]
//! finds it over its limit: the connection is then killed instead of the
//! server's memory growing. At most twice the limit is held per connection
//! (the queue plus the batch being written).
//!
//! An idle connection's queue holds no allocation: the writer takes the
//! whole deque, leaving an empty one behind.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue was over its limit: the connection has just been killed.
    Overflow,
    /// The connection is closing or dead already.
    Closed,
}

#[derive(Debug, Default)]
struct Inner {
    frames: VecDeque<Bytes>,
    /// The bytes in `frames`.
    queued: usize,
    /// Write what is queued, then close.
    closing: bool,
}

/// One connection's outgoing queue.
#[derive(Debug)]
pub struct OutQueue {
    inner: Mutex<Inner>,
    limit: usize,
    ready: Notify,
    /// Cancelled when the connection must end now, without flushing.
    kill: CancellationToken,
}

/// What the writer should do next.
#[derive(Debug)]
enum Next {
    Write(VecDeque<Bytes>),
    Close,
    Wait,
}

impl OutQueue {
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            limit,
            ready: Notify::new(),
            kill: CancellationToken::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave a frame half-queued:
        // keep going with what is there.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an encoded frame, or kills the connection if that would take
    /// the queue over its limit.
    pub fn push(&self, frame: Bytes) -> Result<(), PushError> {
        if self.kill.is_cancelled() {
            return Err(PushError::Closed);
        }
        let mut inner = self.lock();
        if inner.closing {
            return Err(PushError::Closed);
        }
        if inner.queued + frame.len() > self.limit {
            drop(inner);
            self.kill.cancel();
            return Err(PushError::Overflow);
        }
        inner.queued += frame.len();
        inner.frames.push_back(frame);
        drop(inner);
        self.ready.notify_one();
        Ok(())
    }

    /// Write what is queued, then close.
    pub fn close(&self) {
        self.lock().closing = true;
        self.ready.notify_one();
    }

    /// The token that ends the connection at once.
    pub fn kill_token(&self) -> &CancellationToken {
        &self.kill
    }

    fn next(&self) -> Next {
        let mut inner = self.lock();
        if !inner.frames.is_empty() {
            inner.queued = 0;
            Next::Write(std::mem::take(&mut inner.frames))
        } else if inner.closing {
            Next::Close
        } else {
            Next::Wait
        }
    }

    /// Waits for the next batch of frames to write, or `None` once closing
    /// and flushed.
    pub async fn next_batch(&self) -> Option<VecDeque<Bytes>> {
        loop {
            match self.next() {
                Next::Write(frames) => return Some(frames),
                Next::Close => return None,
                // notify_one keeps a permit if nobody waits, so a push between
                // `next` and here is not missed.
                Next::Wait => self.ready.notified().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(frames: VecDeque<Bytes>) -> Vec<u8> {
        frames.into_iter().flatten().collect()
    }

    #[tokio::test]
    async fn over_the_limit_kills_and_close_flushes_first() {
        let queue = OutQueue::new(10);
        queue.push(Bytes::from_static(b"12345")).unwrap();
        queue.push(Bytes::from_static(b"6789")).unwrap();
        queue.close();
        assert_eq!(queue.push(Bytes::from_static(b"x")), Err(PushError::Closed));
        assert_eq!(flat(queue.next_batch().await.unwrap()), b"123456789");
        assert!(queue.next_batch().await.is_none());

        let queue = OutQueue::new(10);
        queue.push(Bytes::from_static(b"12345678")).unwrap();
        assert_eq!(
            queue.push(Bytes::from_static(b"abc")),
            Err(PushError::Overflow)
        );
        assert!(queue.kill_token().is_cancelled());
        assert_eq!(queue.push(Bytes::from_static(b"a")), Err(PushError::Closed));
    }

    #[tokio::test]
    async fn a_taken_batch_frees_its_room() {
        let queue = OutQueue::new(10);
        queue.push(Bytes::from_static(b"12345678")).unwrap();
        assert_eq!(flat(queue.next_batch().await.unwrap()), b"12345678");
        queue.push(Bytes::from_static(b"12345678")).unwrap();
        assert!(!queue.kill_token().is_cancelled());
    }
}
