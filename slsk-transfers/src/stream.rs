//! Moving a file's bytes over a file (`F`) connection, both sides.
//!
//! Both functions take any `AsyncRead + AsyncWrite + Unpin` positioned just
//! after the ticket (for `slsk-net`, a `FileConnection` after
//! `read_ticket`/`write_ticket`), use one fixed buffer whatever the file
//! size, time out when the peer goes silent, and report progress through a
//! callback at most every [`StreamConfig::progress_interval`].

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{Instant, timeout};

use crate::download::{DownloadJob, FailReason};
use crate::path::numbered_path;
use crate::rate::RateLimiter;

/// How many `name (n).ext` alternatives the final move tries.
const MAX_NUMBERED_NAMES: u32 = 9999;

/// Settings shared by both directions.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The one buffer each stream uses (128 KiB).
    pub buffer_size: usize,
    /// A peer silent for this long has stalled (60 s, Nicotine+'s idle
    /// limit for file connections).
    pub stall_timeout: Duration,
    /// The least time between two progress reports (100 ms: at most 10/s).
    pub progress_interval: Duration,
    /// How long the uploader waits for the downloader's offset (30 s).
    pub offset_timeout: Duration,
    /// How long the uploader waits, after the last byte, for the downloader
    /// to close (3 s, as Soulseek.NET): the downloader closes first.
    pub linger: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            buffer_size: 128 * 1024,
            stall_timeout: Duration::from_secs(60),
            progress_interval: Duration::from_millis(100),
            offset_timeout: Duration::from_secs(30),
            linger: Duration::from_secs(3),
        }
    }
}

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes of the file done, the resumed part included.
    pub bytes: u64,
    /// The size of the file.
    pub size: u64,
    /// Bytes per second over this connection so far.
    pub rate: f64,
}

/// Why a download stream failed.
#[derive(Debug)]
pub enum DownloadError {
    /// The partial or final file could not be written or moved.
    Local(io::Error),
    /// The connection failed.
    Connection(io::Error),
    /// Nothing came for [`StreamConfig::stall_timeout`].
    Stalled { received: u64 },
    /// The uploader closed after `received` of `size` bytes; the partial
    /// file is kept for resuming.
    Truncated { received: u64, size: u64 },
    /// The uploader sent more than `size` bytes; the partial file is
    /// deleted and the final file never appears.
    Overrun { size: u64 },
    /// The partial file does not have the announced size after the last
    /// byte (something else wrote to it); it stays where it is.
    SizeCheck { on_disk: u64, size: u64 },
}

impl DownloadError {
    /// The reason to give [`DownloadManager::on_finished`](crate::DownloadManager::on_finished).
    pub fn reason(&self) -> FailReason {
        match self {
            Self::Local(e) => FailReason::Local(e.to_string()),
            Self::SizeCheck { on_disk, size } => {
                FailReason::Local(format!("partial file has {on_disk} bytes, expected {size}"))
            }
            Self::Connection(_) | Self::Stalled { .. } | Self::Truncated { .. } => {
                FailReason::ConnectionLost
            }
            Self::Overrun { .. } => FailReason::Overrun,
        }
    }
}

impl std::fmt::Display for DownloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(e) => write!(f, "local file error: {e}"),
            Self::Connection(e) => write!(f, "connection error: {e}"),
            Self::Stalled { received } => write!(f, "stalled after {received} bytes"),
            Self::Truncated { received, size } => {
                write!(f, "connection closed after {received} of {size} bytes")
            }
            Self::Overrun { size } => write!(f, "the uploader sent more than {size} bytes"),
            Self::SizeCheck { on_disk, size } => {
                write!(f, "partial file has {on_disk} bytes, expected {size}")
            }
        }
    }
}

impl std::error::Error for DownloadError {}

/// Downloads `job` over `conn` (just after the ticket): sends the offset
/// (the partial file's length, 0 if `job.restart` or if the partial file is
/// longer than the file), appends exactly `job.size - offset` bytes to the
/// partial file, then moves it to `job.destination`, or `name (n).ext` if
/// that exists. Returns the final path.
///
/// Never writes past `job.size`: a peer that sends more fails with
/// [`DownloadError::Overrun`]. A short or overlong file never gets the final
/// name. The caller closes `conn` afterwards (the downloader closes first).
pub async fn download<S, F>(
    conn: &mut S,
    job: &DownloadJob,
    config: &StreamConfig,
    mut progress: F,
) -> Result<PathBuf, DownloadError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(Progress),
{
    if let Some(parent) = job.partial.parent() {
        fs::create_dir_all(parent)
            .await
            .map_err(DownloadError::Local)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&job.partial)
        .await
        .map_err(DownloadError::Local)?;
    let result = receive(conn, &mut file, job, config, &mut progress).await;
    // Whatever happened, what was received reaches the disk (for resuming).
    let flushed = file.flush().await;
    let result = result.and_then(|()| flushed.map_err(DownloadError::Local));
    match result {
        Ok(()) => {}
        Err(DownloadError::Overrun { size }) => {
            drop(file);
            // The content is suspect; resuming from it would keep it.
            let _ = fs::remove_file(&job.partial).await;
            return Err(DownloadError::Overrun { size });
        }
        Err(e) => return Err(e),
    }
    file.sync_all().await.map_err(DownloadError::Local)?;
    let on_disk = file.metadata().await.map_err(DownloadError::Local)?.len();
    drop(file);
    if on_disk != job.size {
        return Err(DownloadError::SizeCheck {
            on_disk,
            size: job.size,
        });
    }
    move_into_place(&job.partial, &job.destination)
        .await
        .map_err(DownloadError::Local)
}

/// Sends the offset and receives the rest of the file into `file`.
async fn receive<S, F>(
    conn: &mut S,
    file: &mut File,
    job: &DownloadJob,
    config: &StreamConfig,
    progress: &mut F,
) -> Result<(), DownloadError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(Progress),
{
    let mut offset = file.metadata().await.map_err(DownloadError::Local)?.len();
    if job.restart || offset > job.size {
        file.set_len(0).await.map_err(DownloadError::Local)?;
        offset = 0;
    }
    file.seek(SeekFrom::Start(offset))
        .await
        .map_err(DownloadError::Local)?;
    let send_offset = async {
        conn.write_all(&offset.to_le_bytes()).await?;
        conn.flush().await
    };
    match timeout(config.stall_timeout, send_offset).await {
        Err(_) => return Err(DownloadError::Stalled { received: offset }),
        Ok(Err(e)) => return Err(DownloadError::Connection(e)),
        Ok(Ok(())) => {}
    }
    let mut meter = Meter::new(offset, job.size, config.progress_interval);
    let mut received = offset;
    let mut buf = vec![0u8; config.buffer_size.max(1)];
    while received < job.size {
        let n = match timeout(config.stall_timeout, conn.read(&mut buf)).await {
            Err(_) => return Err(DownloadError::Stalled { received }),
            Ok(Err(e)) => return Err(DownloadError::Connection(e)),
            Ok(Ok(0)) => {
                return Err(DownloadError::Truncated {
                    received,
                    size: job.size,
                });
            }
            Ok(Ok(n)) => n,
        };
        let remaining = job.size - received;
        let take = usize::try_from(remaining).map_or(n, |r| n.min(r));
        file.write_all(&buf[..take])
            .await
            .map_err(DownloadError::Local)?;
        received += take as u64;
        if take < n {
            return Err(DownloadError::Overrun { size: job.size });
        }
        meter.tick(received, progress);
    }
    // Exactly `size` bytes are in; a byte already waiting means the peer
    // sends more than it announced.
    if byte_waiting(conn) {
        return Err(DownloadError::Overrun { size: job.size });
    }
    meter.finish(received, progress);
    Ok(())
}

/// Whether `conn` has a byte ready right now (polled once, never waiting).
fn byte_waiting<S: AsyncRead + Unpin>(conn: &mut S) -> bool {
    let mut byte = [0u8; 1];
    let mut buf = ReadBuf::new(&mut byte);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    matches!(
        Pin::new(conn).poll_read(&mut cx, &mut buf),
        Poll::Ready(Ok(()))
    ) && !buf.filled().is_empty()
}

/// Moves the finished `partial` file to `destination`, or to the first free
/// `name (n).ext`, never overwriting a file: the name is reserved with
/// `create_new` first, then the file renamed (or copied, across file
/// systems) over the reservation. Returns the path used.
pub async fn move_into_place(partial: &Path, destination: &Path) -> io::Result<PathBuf> {
    if let Some(parent) = destination.parent() {
        fs::create_dir_all(parent).await?;
    }
    for n in 0..=MAX_NUMBERED_NAMES {
        let candidate = numbered_path(destination, n);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
            .await
        {
            Ok(reservation) => {
                drop(reservation);
                if fs::rename(partial, &candidate).await.is_ok() {
                    return Ok(candidate);
                }
                let copied = fs::copy(partial, &candidate).await;
                return match copied {
                    Ok(_) => {
                        fs::remove_file(partial).await?;
                        Ok(candidate)
                    }
                    Err(e) => {
                        // Never leave a short file under the final name.
                        let _ = fs::remove_file(&candidate).await;
                        Err(e)
                    }
                };
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every numbered name is taken",
    ))
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOutcome {
    /// Where the downloader asked to start.
    pub offset: u64,
    /// Bytes sent on this connection.
    pub sent: u64,
    /// From the offset to the last byte written.
    pub elapsed: Duration,
}

impl UploadOutcome {
    /// The speed of this upload in bytes per second (for `SendUploadSpeed`),
    /// saturating at `u32::MAX`.
    pub fn speed(&self) -> u32 {
        let secs = self.elapsed.as_secs_f64().max(0.001);
        (self.sent as f64 / secs).min(f64::from(u32::MAX)) as u32
    }
}

/// Why an upload stream failed.
#[derive(Debug)]
pub enum UploadError {
    /// The downloader did not send its offset in time.
    OffsetTimeout,
    /// The downloader asked to start past the end of the file.
    OffsetPastEnd { offset: u64, size: u64 },
    /// The file could not be read, or is no longer the announced size.
    File(io::Error),
    /// The connection failed.
    Connection(io::Error),
    /// The downloader stopped reading for [`StreamConfig::stall_timeout`].
    Stalled { sent: u64 },
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OffsetTimeout => f.write_str("no offset from the downloader"),
            Self::OffsetPastEnd { offset, size } => {
                write!(
                    f,
                    "offset {offset} is past the end of the file ({size} bytes)"
                )
            }
            Self::File(e) => write!(f, "file error: {e}"),
            Self::Connection(e) => write!(f, "connection error: {e}"),
            Self::Stalled { sent } => write!(f, "stalled after sending {sent} bytes"),
        }
    }
}

impl std::error::Error for UploadError {}

/// Uploads the file at `path` (announced as `size` bytes) over `conn`
/// (just after the ticket): reads the downloader's offset, refuses one past
/// the end, sends from there with one fixed buffer, through `limiter` if
/// given, then waits at most [`StreamConfig::linger`] for the downloader to
/// close (the uploader does not close first).
pub async fn upload<S, F>(
    conn: &mut S,
    path: &Path,
    size: u64,
    config: &StreamConfig,
    limiter: Option<&RateLimiter>,
    mut progress: F,
) -> Result<UploadOutcome, UploadError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(Progress),
{
    let offset = match timeout(config.offset_timeout, conn.read_u64_le()).await {
        Err(_) => return Err(UploadError::OffsetTimeout),
        Ok(Err(e)) => return Err(UploadError::Connection(e)),
        Ok(Ok(offset)) => offset,
    };
    if offset > size {
        return Err(UploadError::OffsetPastEnd { offset, size });
    }
    let mut file = File::open(path).await.map_err(UploadError::File)?;
    let on_disk = file.metadata().await.map_err(UploadError::File)?.len();
    if on_disk != size {
        return Err(UploadError::File(io::Error::other(format!(
            "the file has {on_disk} bytes, {size} were announced"
        ))));
    }
    file.seek(SeekFrom::Start(offset))
        .await
        .map_err(UploadError::File)?;
    let started = Instant::now();
    let mut meter = Meter::new(offset, size, config.progress_interval);
    let mut buf = vec![0u8; config.buffer_size.max(1)];
    let mut position = offset;
    while position < size {
        let want = usize::try_from(size - position).map_or(buf.len(), |r| r.min(buf.len()));
        let n = file
            .read(&mut buf[..want])
            .await
            .map_err(UploadError::File)?;
        if n == 0 {
            return Err(UploadError::File(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while uploading",
            )));
        }
        if let Some(limiter) = limiter {
            limiter.acquire(n).await;
        }
        match timeout(config.stall_timeout, conn.write_all(&buf[..n])).await {
            Err(_) => {
                return Err(UploadError::Stalled {
                    sent: position - offset,
                });
            }
            Ok(Err(e)) => return Err(UploadError::Connection(e)),
            Ok(Ok(())) => {}
        }
        position += n as u64;
        meter.tick(position, &mut progress);
    }
    match timeout(config.stall_timeout, conn.flush()).await {
        Err(_) => {
            return Err(UploadError::Stalled {
                sent: position - offset,
            });
        }
        Ok(Err(e)) => return Err(UploadError::Connection(e)),
        Ok(Ok(())) => {}
    }
    let elapsed = started.elapsed();
    meter.finish(position, &mut progress);
    // The downloader closes; wait for that, but not for ever (anything it
    // still sends is read into a small buffer and dropped).
    let _ = timeout(config.linger, async {
        let mut sink = [0u8; 512];
        while let Ok(n) = conn.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    Ok(UploadOutcome {
        offset,
        sent: position - offset,
        elapsed,
    })
}

/// Rate-limited progress reports.
struct Meter {
    started: Instant,
    start_bytes: u64,
    size: u64,
    interval: Duration,
    last: Option<Instant>,
}

impl Meter {
    fn new(start_bytes: u64, size: u64, interval: Duration) -> Self {
        Self {
            started: Instant::now(),
            start_bytes,
            size,
            interval,
            last: None,
        }
    }

    fn report(&self, now: Instant, bytes: u64) -> Progress {
        let secs = now.duration_since(self.started).as_secs_f64();
        let rate = if secs > 0.0 {
            (bytes - self.start_bytes) as f64 / secs
        } else {
            0.0
        };
        Progress {
            bytes,
            size: self.size,
            rate,
        }
    }

    /// Reports if the interval has passed since the last report.
    fn tick<F: FnMut(Progress)>(&mut self, bytes: u64, progress: &mut F) {
        let now = Instant::now();
        if self
            .last
            .is_none_or(|last| now.duration_since(last) >= self.interval)
        {
            self.last = Some(now);
            progress(self.report(now, bytes));
        }
    }

    /// Always reports (the final figure).
    fn finish<F: FnMut(Progress)>(&mut self, bytes: u64, progress: &mut F) {
        let now = Instant::now();
        self.last = Some(now);
        progress(self.report(now, bytes));
    }
}
