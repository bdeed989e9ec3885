//! A connection's outgoing frames, bounded in bytes.
//!
//! The central task appends encoded frames as [`Bytes`], so that a frame sent
//! to many connections (a search fanned out to everyone) is encoded once and
//! shared. It then [flushes](OutQueue::flush) the queue itself: one
//! non-blocking write of everything queued, straight to the socket. Only
//! what the socket does not take at once is left for the connection's own
//! writer, which is woken for it. A delivery thus costs one system call and
//! no task wake-up when the client keeps up (the common case), and frames
//! still go out in the order they were queued: every write, by either side,
//! happens under the queue's lock, and never while the writer holds a batch.
//!
//! If the client does not read, the queue grows until [`OutQueue::enqueue`]
//! finds it over its limit: the connection is then killed instead of the
//! server's memory growing. At most twice the limit is held per connection
//! (the queue plus the batch being written).
//!
//! An idle connection's queue holds no allocation: the writer takes the
//! whole deque, and a flush that writes everything drops it.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Mutex, MutexGuard};

use bytes::{Buf, Bytes};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why a frame was refused.
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
    /// The writer holds a batch it has not finished writing: nobody else
    /// may write (its bytes would come after later frames otherwise).
    writer_busy: bool,
    /// The kill token was cancelled (checked here, under the lock already
    /// held: asking the token takes a lock of its own).
    killed: bool,
}

/// One connection's outgoing queue.
#[derive(Debug)]
pub struct OutQueue {
    inner: Mutex<Inner>,
    limit: usize,
    ready: Notify,
    /// Cancelled when the connection must end now, without flushing
    /// (always through `OutQueue::kill`).
    kill: CancellationToken,
}

/// What the writer should do next.
#[derive(Debug)]
enum Next {
    Write(VecDeque<Bytes>),
    Close,
    Wait,
}

/// Frames handed to one vectored write.
const SLICES: usize = 16;

/// Writes the front of `frames` with one call of `write`; returns how many
/// bytes it took (0 if the socket would block).
pub fn write_some(
    frames: &mut VecDeque<Bytes>,
    write: &mut impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); SLICES];
    let count = frames.len().min(SLICES);
    for (slice, frame) in slices.iter_mut().zip(frames.iter()) {
        *slice = IoSlice::new(frame);
    }
    let written = match write(&slices[..count]) {
        Ok(0) if count > 0 => return Err(io::ErrorKind::WriteZero.into()),
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut left = written;
    while left > 0 {
        let Some(front) = frames.front_mut() else {
            break;
        };
        if left >= front.len() {
            left -= front.len();
            frames.pop_front();
        } else {
            front.advance(left);
            left = 0;
        }
    }
    Ok(written)
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

    /// Appends an encoded frame without writing it or waking the writer
    /// (call [`flush`](Self::flush) next), or kills the connection if it
    /// would take the queue over its limit. `Ok(true)` if the queue was
    /// empty before: the caller has to flush it (otherwise a flush is
    /// already due, or the writer is busy and will take it).
    pub fn enqueue(&self, frame: Bytes) -> Result<bool, PushError> {
        let mut inner = self.lock();
        if inner.closing || inner.killed {
            return Err(PushError::Closed);
        }
        if inner.queued + frame.len() > self.limit {
            self.kill(inner);
            return Err(PushError::Overflow);
        }
        let was_empty = inner.frames.is_empty();
        inner.queued += frame.len();
        inner.frames.push_back(frame);
        Ok(was_empty)
    }

    /// Writes what is queued with `write` (a non-blocking vectored write to
    /// the socket) until it is all written or the socket would block, unless
    /// the writer holds a batch (it takes the queue when done). What is left
    /// is the writer's: it is woken. A write error kills the connection.
    pub fn flush(&self, mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>) {
        let mut inner = self.lock();
        if !inner.writer_busy && !inner.killed {
            while !inner.frames.is_empty() {
                match write_some(&mut inner.frames, &mut write) {
                    Ok(0) => break,
                    Ok(written) => inner.queued -= written,
                    Err(e) => {
                        tracing::debug!(%e, "write failed");
                        return self.kill(inner);
                    }
                }
            }
            if inner.frames.is_empty() {
                // Give the deque's allocation back: idle queues hold none.
                inner.frames = VecDeque::new();
            }
        }
        let wake = !inner.frames.is_empty() || inner.closing;
        drop(inner);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Write what is queued, then close.
    pub fn close(&self) {
        self.lock().closing = true;
        self.ready.notify_one();
    }

    /// Ends the connection now: nothing more is queued or written.
    fn kill(&self, mut inner: MutexGuard<'_, Inner>) {
        inner.killed = true;
        inner.frames = VecDeque::new();
        inner.queued = 0;
        drop(inner);
        self.kill.cancel();
    }

    /// The token that ends the connection at once.
    pub fn kill_token(&self) -> &CancellationToken {
        &self.kill
    }

    fn next(&self) -> Next {
        let mut inner = self.lock();
        if !inner.frames.is_empty() {
            inner.queued = 0;
            inner.writer_busy = true;
            Next::Write(std::mem::take(&mut inner.frames))
        } else {
            inner.writer_busy = false;
            if inner.closing {
                Next::Close
            } else {
                Next::Wait
            }
        }
    }

    /// For the connection's writer: waits for the next batch of frames to
    /// write, or `None` once closing and flushed. Until it asks again, the
    /// batch is its own and nobody else writes.
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

    /// A socket that takes at most `room` bytes, recording them.
    fn socket(room: usize) -> (std::cell::RefCell<Vec<u8>>, usize) {
        (std::cell::RefCell::new(Vec::new()), room)
    }

    fn writer<'a>(
        out: &'a std::cell::RefCell<Vec<u8>>,
        room: usize,
    ) -> impl FnMut(&[IoSlice<'_>]) -> io::Result<usize> + 'a {
        move |slices| {
            let mut out = out.borrow_mut();
            let free = room - out.len();
            if free == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut taken = 0;
            for slice in slices {
                let n = slice.len().min(free - taken);
                out.extend_from_slice(&slice[..n]);
                taken += n;
            }
            Ok(taken)
        }
    }

    #[tokio::test]
    async fn over_the_limit_kills_and_close_flushes_first() {
        let queue = OutQueue::new(10);
        queue.enqueue(Bytes::from_static(b"12345")).unwrap();
        queue.enqueue(Bytes::from_static(b"6789")).unwrap();
        queue.close();
        assert_eq!(
            queue.enqueue(Bytes::from_static(b"x")),
            Err(PushError::Closed)
        );
        assert_eq!(flat(queue.next_batch().await.unwrap()), b"123456789");
        assert!(queue.next_batch().await.is_none());

        let queue = OutQueue::new(10);
        queue.enqueue(Bytes::from_static(b"12345678")).unwrap();
        assert_eq!(
            queue.enqueue(Bytes::from_static(b"abc")),
            Err(PushError::Overflow)
        );
        assert!(queue.kill_token().is_cancelled());
        assert_eq!(
            queue.enqueue(Bytes::from_static(b"a")),
            Err(PushError::Closed)
        );
    }

    #[tokio::test]
    async fn a_taken_batch_frees_its_room() {
        let queue = OutQueue::new(10);
        queue.enqueue(Bytes::from_static(b"12345678")).unwrap();
        assert_eq!(flat(queue.next_batch().await.unwrap()), b"12345678");
        queue.enqueue(Bytes::from_static(b"12345678")).unwrap();
        assert!(!queue.kill_token().is_cancelled());
    }

    #[tokio::test]
    async fn a_flush_writes_everything_the_socket_takes() {
        let queue = OutQueue::new(100);
        assert_eq!(queue.enqueue(Bytes::from_static(b"abc")), Ok(true));
        assert_eq!(queue.enqueue(Bytes::from_static(b"def")), Ok(false));
        let (out, room) = socket(100);
        queue.flush(writer(&out, room));
        assert_eq!(out.borrow().as_slice(), b"abcdef");
        assert_eq!(queue.lock().queued, 0);
        assert_eq!(queue.lock().frames.capacity(), 0, "no idle allocation");
        assert_eq!(queue.enqueue(Bytes::from_static(b"g")), Ok(true));
    }

    #[tokio::test]
    async fn what_the_socket_refuses_is_left_to_the_writer_in_order() {
        let queue = OutQueue::new(100);
        queue.enqueue(Bytes::from_static(b"abcd")).unwrap();
        queue.enqueue(Bytes::from_static(b"efgh")).unwrap();
        let (out, room) = socket(6);
        queue.flush(writer(&out, room));
        assert_eq!(out.borrow().as_slice(), b"abcdef");
        assert_eq!(queue.lock().queued, 2);
        queue.enqueue(Bytes::from_static(b"ij")).unwrap();
        assert_eq!(flat(queue.next_batch().await.unwrap()), b"ghij");
    }

    #[tokio::test]
    async fn nothing_is_written_while_the_writer_holds_a_batch() {
        let queue = OutQueue::new(100);
        queue.enqueue(Bytes::from_static(b"first")).unwrap();
        let batch = queue.next_batch().await.unwrap();
        queue.enqueue(Bytes::from_static(b"second")).unwrap();
        let (out, room) = socket(100);
        queue.flush(writer(&out, room));
        assert!(out.borrow().is_empty(), "would overtake the writer's batch");
        assert_eq!(flat(batch), b"first");
        assert_eq!(flat(queue.next_batch().await.unwrap()), b"second");
        // Once the writer asks again and finds nothing, flushes write.
        let mut writer_task = std::pin::pin!(queue.next_batch());
        assert!(poll_once(writer_task.as_mut()).is_none());
        queue.enqueue(Bytes::from_static(b"third")).unwrap();
        queue.flush(writer(&out, room));
        assert_eq!(out.borrow().as_slice(), b"third");
    }

    #[tokio::test]
    async fn a_write_error_kills_the_connection() {
        let queue = OutQueue::new(100);
        queue.enqueue(Bytes::from_static(b"abc")).unwrap();
        queue.flush(|_| Err(io::ErrorKind::ConnectionReset.into()));
        assert!(queue.kill_token().is_cancelled());
        assert_eq!(
            queue.enqueue(Bytes::from_static(b"x")),
            Err(PushError::Closed)
        );
    }

    /// Polls a future once with a no-op waker.
    fn poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.poll(&mut context) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        }
    }
}
