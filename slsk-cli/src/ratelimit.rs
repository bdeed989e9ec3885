//! The search rate limit: a token bucket kept in a small file, so that a
//! script running `slsk search` in a loop is limited as much as one process
//! running many searches. Servers ban users who flood them with searches.
//!
//! The default, 34 searches per 220 seconds, is the default of slsk-batchdl
//! (a widely used downloader), whose help warns that more may bring a
//! 30-minute ban. The bucket holds at most `count` tokens and refills
//! continuously at `count / per`; a search takes one, or waits until one is
//! there.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fs4::FileExt;

use crate::exit::Failure;

/// How many searches per how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Searches allowed in a burst, and per `per`.
    pub count: u32,
    /// The refill period.
    pub per: Duration,
}

/// The default rate (slsk-batchdl's).
pub const DEFAULT_RATE: &str = "34/220";

/// Parses `N/SECONDS`; `off` (or `0`) turns the limit off (`None`).
pub fn parse_rate(text: &str) -> Result<Option<Rate>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text == "0" {
        return Ok(None);
    }
    let bad = || format!("search rate {text:?}: expected N/SECONDS (like {DEFAULT_RATE}) or off");
    let (count, secs) = text.split_once('/').ok_or_else(bad)?;
    let count: u32 = count.trim().parse().map_err(|_| bad())?;
    let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
    if count == 0 {
        return Ok(None);
    }
    if secs == 0 {
        return Err(bad());
    }
    Ok(Some(Rate {
        count,
        per: Duration::from_secs(secs),
    }))
}

/// The bucket's state: tokens left at a moment (milliseconds since the Unix
/// epoch). No I/O: [`Bucket::take`] decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Tokens left at `at_ms`.
    pub tokens: f64,
    /// When `tokens` was computed.
    pub at_ms: u64,
}

impl Bucket {
    /// A full bucket at `now_ms`.
    pub fn full(rate: Rate, now_ms: u64) -> Self {
        Bucket {
            tokens: f64::from(rate.count),
            at_ms: now_ms,
        }
    }

    /// Takes a token at `now_ms`: `Ok` with the new state, or `Err` with
    /// how long to wait for one. A clock that went backwards refills
    /// nothing.
    pub fn take(self, rate: Rate, now_ms: u64) -> Result<Bucket, Duration> {
        let elapsed_ms = now_ms.saturating_sub(self.at_ms) as f64;
        let per_ms = rate.per.as_millis() as f64;
        let capacity = f64::from(rate.count);
        let refilled = (self.tokens + elapsed_ms * capacity / per_ms).min(capacity);
        if refilled >= 1.0 {
            return Ok(Bucket {
                tokens: refilled - 1.0,
                at_ms: now_ms.max(self.at_ms),
            });
        }
        let missing_ms = (1.0 - refilled) * per_ms / capacity;
        Err(Duration::from_millis(missing_ms.ceil() as u64))
    }

    fn parse(text: &str) -> Option<Bucket> {
        let (tokens, at) = text.trim().split_once(' ')?;
        let tokens: f64 = tokens.parse().ok()?;
        Some(Bucket {
            tokens: if tokens.is_finite() {
                tokens.max(0.0)
            } else {
                0.0
            },
            at_ms: at.parse().ok()?,
        })
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Takes a token from the bucket kept in `state_dir/search-tokens`
/// (created if needed, locked while read and written), or says how long to
/// wait. An unreadable state starts a full bucket.
pub fn try_take(state_dir: &Path, rate: Rate) -> Result<Result<(), Duration>, Failure> {
    let io_error = |e: std::io::Error| {
        Failure::Error(format!(
            "search rate limit state in {}: {e}",
            state_dir.display()
        ))
    };
    std::fs::create_dir_all(state_dir).map_err(io_error)?;
    let path = state_dir.join("search-tokens");
    let mut file: File = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    // Fully qualified: std's File has an inherent `lock` in newer Rust.
    FileExt::lock(&file).map_err(io_error)?;
    let mut text = String::new();
    // A few bytes at most; a larger or garbled file just starts over.
    let _ = (&mut file).take(64).read_to_string(&mut text);
    let now = now_ms();
    let bucket = Bucket::parse(&text).unwrap_or_else(|| Bucket::full(rate, now));
    let outcome = match bucket.take(rate, now) {
        Ok(next) => {
            file.set_len(0).map_err(io_error)?;
            file.seek(SeekFrom::Start(0)).map_err(io_error)?;
            write!(file, "{} {}", next.tokens, next.at_ms).map_err(io_error)?;
            Ok(())
        }
        Err(wait) => Err(wait),
    };
    let _ = FileExt::unlock(&file);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        count: 2,
        per: Duration::from_secs(10),
    };

    #[test]
    fn rates_parse_and_off_turns_the_limit_off() {
        assert_eq!(
            parse_rate("34/220").unwrap(),
            Some(Rate {
                count: 34,
                per: Duration::from_secs(220)
            })
        );
        assert_eq!(parse_rate("off").unwrap(), None);
        assert_eq!(parse_rate("0").unwrap(), None);
        assert!(parse_rate("3/0").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("-1/5").is_err());
    }

    #[test]
    fn a_bucket_allows_a_burst_then_waits_for_the_refill() {
        let b = Bucket::full(RATE, 1_000);
        let b = b.take(RATE, 1_000).unwrap();
        let b = b.take(RATE, 1_000).unwrap();
        // Empty: one token takes 5 s to come back.
        assert_eq!(b.take(RATE, 1_000), Err(Duration::from_secs(5)));
        assert_eq!(b.take(RATE, 4_000), Err(Duration::from_secs(2)));
        let b = b.take(RATE, 6_000).unwrap();
        assert!(b.tokens.abs() < 1e-9);
        // A long pause refills only up to the capacity.
        let b = b.take(RATE, 1_000_000).unwrap();
        assert!((b.tokens - 1.0).abs() < 1e-9);
        // A clock that went backwards refills nothing and never panics.
        let empty = Bucket {
            tokens: 0.0,
            at_ms: 5_000,
        };
        assert!(empty.take(RATE, 0).is_err());
    }

    #[test]
    fn the_bucket_persists_across_calls_and_survives_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(try_take(dir.path(), RATE).unwrap(), Ok(()));
        assert_eq!(try_take(dir.path(), RATE).unwrap(), Ok(()));
        assert!(try_take(dir.path(), RATE).unwrap().is_err());
        std::fs::write(dir.path().join("search-tokens"), "NaN x\0\0").unwrap();
        assert_eq!(try_take(dir.path(), RATE).unwrap(), Ok(()));
    }
}
