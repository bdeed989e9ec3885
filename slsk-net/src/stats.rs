//! Counters of the peer layer's connections, by path: how many peer-init
//! handshakes each listener took and each kind of dial made. They let a
//! caller (a test, a status page) see which paths are really in use.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of [`Peers::stats`](crate::Peers::stats). Each counter counts
/// connections whose peer-init message went through (a socket that never
/// sent or took one is not counted), over the layer's lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerStats {
    /// Sockets accepted on the plain port that sent a valid peer-init
    /// message.
    pub accepted: u64,
    /// The same on the obfuscated port.
    pub accepted_obfuscated: u64,
    /// Our dials to a plain port (direct requests and answers to a relayed
    /// ConnectToPeer) that connected and sent their peer-init message.
    pub dialled: u64,
    /// The same to an obfuscated port.
    pub dialled_obfuscated: u64,
}

/// The live counters, shared by the accept loops and the dial tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    accepted_obfuscated: AtomicU64,
    dialled: AtomicU64,
    dialled_obfuscated: AtomicU64,
}

impl Counters {
    pub(crate) fn accepted(&self, obfuscated: bool) {
        let counter = if obfuscated {
            &self.accepted_obfuscated
        } else {
            &self.accepted
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dialled(&self, obfuscated: bool) {
        let counter = if obfuscated {
            &self.dialled_obfuscated
        } else {
            &self.dialled
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PeerStats {
        PeerStats {
            accepted: self.accepted.load(Ordering::Relaxed),
            accepted_obfuscated: self.accepted_obfuscated.load(Ordering::Relaxed),
            dialled: self.dialled.load(Ordering::Relaxed),
            dialled_obfuscated: self.dialled_obfuscated.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_counts_on_its_own() {
        let counters = Counters::default();
        counters.accepted(false);
        counters.accepted(true);
        counters.accepted(true);
        counters.dialled(true);
        assert_eq!(
            counters.snapshot(),
            PeerStats {
                accepted: 1,
                accepted_obfuscated: 2,
                dialled: 0,
                dialled_obfuscated: 1,
            }
        );
    }
}
