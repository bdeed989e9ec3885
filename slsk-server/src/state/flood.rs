//! Flood protection: a token bucket per user and kind of request.

use std::time::Instant;

use crate::config::{FloodLimits, Rate};

/// Thousandths of a token, so that slow refill rates stay exact in integers.
const MILLI: u64 = 1000;

/// One bucket. It starts full.
#[derive(Debug, Clone)]
pub(super) struct TokenBucket {
    rate: Rate,
    milli_tokens: u64,
    last: Instant,
}

impl TokenBucket {
    pub(super) fn new(rate: Rate, now: Instant) -> Self {
        Self {
            rate,
            milli_tokens: u64::from(rate.burst) * MILLI,
            last: now,
        }
    }

    /// Takes a token if one is left; false means the action is dropped.
    pub(super) fn take(&mut self, now: Instant) -> bool {
        let elapsed_ms = now.saturating_duration_since(self.last).as_millis();
        self.last = self.last.max(now);
        // per_minute tokens in 60 000 ms: per_minute / 60 milli-tokens per ms.
        let refill = elapsed_ms.saturating_mul(u128::from(self.rate.per_minute)) / 60;
        let capacity = u64::from(self.rate.burst) * MILLI;
        let refilled = u128::from(self.milli_tokens).saturating_add(refill);
        self.milli_tokens = u64::try_from(refilled).unwrap_or(u64::MAX).min(capacity);
        if self.milli_tokens >= MILLI {
            self.milli_tokens -= MILLI;
            true
        } else {
            false
        }
    }
}

/// A user's three buckets.
#[derive(Debug, Clone)]
pub(super) struct FloodBuckets {
    pub(super) room_messages: TokenBucket,
    pub(super) private_messages: TokenBucket,
    pub(super) searches: TokenBucket,
}

impl FloodBuckets {
    pub(super) fn new(limits: &FloodLimits, now: Instant) -> Self {
        Self {
            room_messages: TokenBucket::new(limits.room_messages, now),
            private_messages: TokenBucket::new(limits.private_messages, now),
            searches: TokenBucket::new(limits.searches, now),
        }
    }
}

/// The kinds of request that are rate-limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FloodKind {
    RoomMessage,
    PrivateMessage,
    Search,
}

/// How many requests flood protection has dropped since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloodDrops {
    pub room_messages: u64,
    pub private_messages: u64,
    pub searches: u64,
}

impl FloodDrops {
    pub(super) fn count(&mut self, kind: FloodKind) -> u64 {
        let counter = match kind {
            FloodKind::RoomMessage => &mut self.room_messages,
            FloodKind::PrivateMessage => &mut self.private_messages,
            FloodKind::Search => &mut self.searches,
        };
        *counter += 1;
        *counter
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(
            Rate {
                burst: 3,
                per_minute: 60,
            },
            start,
        );
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        // One token a second.
        assert!(!bucket.take(start + Duration::from_millis(999)));
        assert!(bucket.take(start + Duration::from_millis(1000)));
        assert!(!bucket.take(start + Duration::from_millis(1000)));
        // Refill stops at the burst size.
        let later = start + Duration::from_secs(3600);
        assert!((0..3).all(|_| bucket.take(later)));
        assert!(!bucket.take(later));
        // A zero burst forbids the action.
        let mut none = TokenBucket::new(
            Rate {
                burst: 0,
                per_minute: 1000,
            },
            start,
        );
        assert!(!none.take(later));
    }
}
