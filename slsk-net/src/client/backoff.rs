//! The reconnect schedule: jittered exponential backoff, with the random
//! source injected so tests can replay it.

use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;

use super::config::ReconnectPolicy;

/// Successive waits before reconnecting; see [`ReconnectPolicy`] for the
/// schedule.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: ReconnectPolicy,
    rng: SmallRng,
    previous: Option<Duration>,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(policy: ReconnectPolicy, rng: SmallRng) -> Self {
        Self {
            policy,
            rng,
            previous: None,
            attempt: 0,
        }
    }

    /// The wait before the next attempt, and that attempt's number (from 1).
    pub(crate) fn next_delay(&mut self) -> (u32, Duration) {
        let max = self.policy.max_delay;
        let delay = match self.previous {
            None => {
                let low = self.policy.first_delay_min.min(max);
                let high = self.policy.first_delay_max.clamp(low, max);
                self.uniform(low, high)
            }
            Some(previous) => {
                let doubled = previous.saturating_mul(2);
                if doubled >= max {
                    self.uniform(max / 2, max)
                } else {
                    doubled
                }
            }
        };
        self.previous = Some(delay);
        self.attempt = self.attempt.saturating_add(1);
        (self.attempt, delay)
    }

    /// Start the schedule over (after a successful login).
    pub(crate) fn reset(&mut self) {
        self.previous = None;
        self.attempt = 0;
    }

    fn uniform(&mut self, low: Duration, high: Duration) -> Duration {
        if high <= low {
            return low;
        }
        // Millisecond resolution is plenty for reconnect waits and keeps the
        // arithmetic in u64.
        let low_ms = low.as_millis().min(u128::from(u64::MAX)) as u64;
        let high_ms = high.as_millis().min(u128::from(u64::MAX)) as u64;
        Duration::from_millis(self.rng.random_range(low_ms..=high_ms))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn policy() -> ReconnectPolicy {
        ReconnectPolicy::default()
    }

    #[test]
    fn first_wait_is_within_bounds_then_doubles_up_to_the_cap() {
        for seed in 0..50 {
            let mut backoff = Backoff::new(policy(), SmallRng::seed_from_u64(seed));
            let (attempt, first) = backoff.next_delay();
            assert_eq!(attempt, 1);
            assert!((Duration::from_secs(5)..=Duration::from_secs(15)).contains(&first));
            let mut previous = first;
            for n in 2..20 {
                let (attempt, delay) = backoff.next_delay();
                assert_eq!(attempt, n);
                if previous * 2 < Duration::from_secs(300) {
                    assert_eq!(delay, previous * 2);
                } else {
                    assert!(
                        (Duration::from_secs(150)..=Duration::from_secs(300)).contains(&delay),
                        "{delay:?}"
                    );
                }
                previous = delay;
            }
        }
    }

    #[test]
    fn same_seed_same_schedule_and_seeds_spread_the_first_wait() {
        let schedule = |seed| {
            let mut backoff = Backoff::new(policy(), SmallRng::seed_from_u64(seed));
            (0..10).map(|_| backoff.next_delay().1).collect::<Vec<_>>()
        };
        assert_eq!(schedule(7), schedule(7));
        let firsts: std::collections::BTreeSet<_> = (0..20).map(|s| schedule(s)[0]).collect();
        assert!(
            firsts.len() > 10,
            "jitter spreads the first wait: {firsts:?}"
        );
    }

    #[test]
    fn reset_starts_over() {
        let mut backoff = Backoff::new(policy(), SmallRng::seed_from_u64(1));
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.reset();
        let (attempt, delay) = backoff.next_delay();
        assert_eq!(attempt, 1);
        assert!(delay <= Duration::from_secs(15));
    }

    #[test]
    fn degenerate_policies_do_not_panic() {
        let zero = ReconnectPolicy {
            first_delay_min: Duration::ZERO,
            first_delay_max: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..ReconnectPolicy::default()
        };
        let mut backoff = Backoff::new(zero, SmallRng::seed_from_u64(1));
        for _ in 0..5 {
            assert_eq!(backoff.next_delay().1, Duration::ZERO);
        }
        let inverted = ReconnectPolicy {
            first_delay_min: Duration::from_secs(20),
            first_delay_max: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            ..ReconnectPolicy::default()
        };
        let mut backoff = Backoff::new(inverted, SmallRng::seed_from_u64(1));
        assert_eq!(backoff.next_delay().1, Duration::from_secs(10));
    }
}
