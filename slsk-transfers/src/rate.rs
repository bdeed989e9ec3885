//! A token bucket for upload bandwidth, shareable between uploads.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{Instant, sleep};

/// Limits bytes per second. Share one (in an `Arc`) between uploads for a
/// total limit, or give each upload its own.
///
/// The bucket holds up to one second of tokens. Taking more than are there
/// leaves a debt that the taker sleeps off, so the long-run rate holds even
/// for chunks bigger than the bucket, and later takers wait their turn.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use slsk_transfers::RateLimiter;
/// let limiter = RateLimiter::new(1000);
/// let start = tokio::time::Instant::now();
/// limiter.acquire(1000).await; // the full bucket: no wait
/// limiter.acquire(2000).await; // two seconds' worth
/// assert_eq!(start.elapsed().as_secs(), 2);
/// # }
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    bytes_per_second: f64,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Negative while in debt.
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    /// A limiter of `bytes_per_second` (at least 1), with a full bucket.
    pub fn new(bytes_per_second: u64) -> Self {
        let rate = bytes_per_second.max(1) as f64;
        Self {
            bytes_per_second: rate,
            bucket: Mutex::new(Bucket {
                tokens: rate,
                refilled: Instant::now(),
            }),
        }
    }

    /// The limit, in bytes per second.
    pub fn rate(&self) -> u64 {
        self.bytes_per_second as u64
    }

    /// Waits until `bytes` may be sent.
    pub async fn acquire(&self, bytes: usize) {
        let wait = {
            let mut bucket = self
                .bucket
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let earned = now.duration_since(bucket.refilled).as_secs_f64() * self.bytes_per_second;
            bucket.tokens = (bucket.tokens + earned).min(self.bytes_per_second);
            bucket.refilled = now;
            bucket.tokens -= bytes as f64;
            if bucket.tokens < 0.0 {
                Duration::from_secs_f64(-bucket.tokens / self.bytes_per_second)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn long_run_rate_holds() {
        let limiter = RateLimiter::new(10_000);
        let start = Instant::now();
        // 1 s of burst, then 50_000 bytes at 10_000 B/s.
        for _ in 0..60 {
            limiter.acquire(1000).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((4.9..=5.1).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn shared_limiter_splits_the_rate() {
        let limiter = std::sync::Arc::new(RateLimiter::new(1000));
        limiter.acquire(1000).await; // empty the bucket
        let start = Instant::now();
        let a = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire(1000).await }
        });
        let b = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire(1000).await }
        });
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(start.elapsed().as_secs(), 2);
    }
}
