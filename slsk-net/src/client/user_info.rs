//! Who waits for which user's info: the table behind
//! [`Client::user_info`](super::Client::user_info), without I/O.
//!
//! Callers asking for the same user while a request is out share it: the
//! first one makes the peer task send PeerUserInfoRequest, the reply (or the
//! failure, or the deadline) answers them all. Each request has a
//! generation number, so that the late failure of a request that already
//! timed out cannot fail a newer one for the same user.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One outstanding request: who waits, until when, and which one it is.
#[derive(Debug)]
struct Pending<T> {
    waiters: Vec<T>,
    deadline: Instant,
    generation: u64,
}

/// What [`InfoRequests::start`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Started<T> {
    /// A new request: send PeerUserInfoRequest and report the outcome of the
    /// send with this generation.
    Send(u64),
    /// A request for the user is out already; the caller waits with it.
    Joined,
    /// Too many users are being asked at once: answer the caller at once.
    Refused(T),
}

/// The waiter table. `T` is the driver's token for a caller (a oneshot
/// sender in the client, a number in tests).
#[derive(Debug)]
pub(crate) struct InfoRequests<T> {
    pending: BTreeMap<String, Pending<T>>,
    max_pending: usize,
    timeout: Duration,
    next_generation: u64,
}

impl<T> InfoRequests<T> {
    /// At most `max_pending` users asked at once, each for at most `timeout`.
    pub(crate) fn new(max_pending: usize, timeout: Duration) -> Self {
        Self {
            pending: BTreeMap::new(),
            max_pending,
            timeout,
            next_generation: 0,
        }
    }

    /// A caller asks for `username`'s info.
    pub(crate) fn start(&mut self, username: &str, waiter: T, now: Instant) -> Started<T> {
        if let Some(pending) = self.pending.get_mut(username) {
            pending.waiters.push(waiter);
            return Started::Joined;
        }
        if self.pending.len() >= self.max_pending {
            return Started::Refused(waiter);
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        self.pending.insert(
            username.to_owned(),
            Pending {
                waiters: vec![waiter],
                deadline: later(now, self.timeout),
                generation,
            },
        );
        Started::Send(generation)
    }

    /// `username`'s reply arrived: the callers to answer with it, or `None`
    /// if nobody asked (an unsolicited reply).
    pub(crate) fn replied(&mut self, username: &str) -> Option<Vec<T>> {
        self.pending.remove(username).map(|p| p.waiters)
    }

    /// Sending request `generation` to `username` failed: its callers, if it
    /// is still the user's current request.
    pub(crate) fn send_failed(&mut self, username: &str, generation: u64) -> Vec<T> {
        match self.pending.get(username) {
            Some(p) if p.generation == generation => self
                .pending
                .remove(username)
                .map(|p| p.waiters)
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The callers whose deadline has passed at `now`, in user order.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<T> {
        let late: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(u, _)| u.clone())
            .collect();
        late.into_iter()
            .filter_map(|u| self.pending.remove(&u))
            .flat_map(|p| p.waiters)
            .collect()
    }

    /// When [`InfoRequests::expire`] must be called next.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    /// Every caller still waiting (the client is ending).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.pending)
            .into_values()
            .flat_map(|p| p.waiters)
            .collect()
    }
}

/// `now + wait`, saturating (a huge timeout means "about never").
fn later(now: Instant, wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(wait.min(CENTURY)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(60);

    fn table() -> (InfoRequests<u32>, Instant) {
        (InfoRequests::new(2, TIMEOUT), Instant::now())
    }

    #[test]
    fn concurrent_callers_for_one_user_share_one_request() {
        let (mut t, now) = table();
        assert_eq!(t.start("bob", 1, now), Started::Send(1));
        assert_eq!(t.start("bob", 2, now), Started::Joined);
        assert_eq!(t.start("carol", 3, now), Started::Send(2));
        assert_eq!(t.replied("bob"), Some(vec![1, 2]));
        // Answered: the next caller sends anew.
        assert_eq!(t.start("bob", 4, now), Started::Send(3));
    }

    #[test]
    fn an_unsolicited_reply_has_no_callers() {
        let (mut t, _) = table();
        assert_eq!(t.replied("bob"), None);
    }

    #[test]
    fn past_the_limit_new_users_are_refused_but_joining_is_not() {
        let (mut t, now) = table();
        t.start("bob", 1, now);
        t.start("carol", 2, now);
        assert_eq!(t.start("dave", 3, now), Started::Refused(3));
        assert_eq!(t.start("bob", 4, now), Started::Joined);
    }

    #[test]
    fn a_failed_send_fails_every_caller_of_that_request_only() {
        let (mut t, now) = table();
        let Started::Send(first) = t.start("bob", 1, now) else {
            panic!()
        };
        t.start("bob", 2, now);
        // The first request times out while its send is still connecting;
        // a new caller starts a second request.
        assert_eq!(t.expire(now + TIMEOUT), vec![1, 2]);
        let Started::Send(second) = t.start("bob", 3, now + TIMEOUT) else {
            panic!()
        };
        // The first send's late failure leaves the second request alone.
        assert_eq!(t.send_failed("bob", first), Vec::<u32>::new());
        assert_eq!(t.send_failed("bob", second), vec![3]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn deadlines_expire_exactly_and_in_user_order() {
        let (mut t, now) = table();
        t.start("carol", 1, now);
        t.start("bob", 2, now + Duration::from_secs(1));
        assert_eq!(t.next_deadline(), Some(now + TIMEOUT));
        assert_eq!(t.expire(now + TIMEOUT - Duration::from_millis(1)), vec![]);
        assert_eq!(t.expire(now + TIMEOUT), vec![1]);
        assert_eq!(t.expire(now + TIMEOUT + Duration::from_secs(1)), vec![2]);
    }

    #[test]
    fn a_huge_timeout_saturates_and_drain_takes_everyone() {
        let mut t = InfoRequests::new(8, Duration::MAX);
        let now = Instant::now();
        t.start("bob", 1, now);
        t.start("bob", 2, now);
        t.start("carol", 3, now);
        assert!(t.next_deadline().unwrap() > now);
        let mut all = t.drain();
        all.sort();
        assert_eq!(all, vec![1, 2, 3]);
        assert_eq!(t.next_deadline(), None);
    }
}
