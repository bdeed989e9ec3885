//! The searches seen lately, to drop duplicates in bounded memory.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault};

use foldhash::fast::RandomState;

/// The keys are hashes already: the set uses them as they are.
#[derive(Default)]
struct Identity(u64);

impl std::hash::Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else in anyway.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// The last `capacity` searches, by a 64-bit hash of (user, ticket).
///
/// Only the hashes are kept (no strings), with a per-process random seed so
/// a peer cannot aim collisions at someone else's search.
pub(crate) struct RecentSearches {
    keys: RandomState,
    seen: HashSet<u64, BuildHasherDefault<Identity>>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl std::fmt::Debug for RecentSearches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentSearches")
            .field("len", &self.order.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl RecentSearches {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            keys: RandomState::default(),
            seen: HashSet::with_capacity_and_hasher(capacity, BuildHasherDefault::default()),
            order: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Records the search; `false` if it was seen among the recent ones.
    pub(crate) fn first_time(&mut self, username: &str, ticket: u32) -> bool {
        let key = self.keys.hash_one((username, ticket));
        if !self.seen.insert(key) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.order.push_back(key);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_refused_until_it_falls_out_of_the_window() {
        let mut recent = RecentSearches::new(2);
        assert!(recent.first_time("bob", 1));
        assert!(!recent.first_time("bob", 1));
        assert!(recent.first_time("bob", 2), "another ticket");
        assert!(recent.first_time("carol", 1), "another user");
        // (bob, 1) was pushed out by the two after it.
        assert!(recent.first_time("bob", 1));
        assert!(recent.seen.len() <= 2 && recent.order.len() <= 2);
    }
}
