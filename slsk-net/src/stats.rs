//! Counters of the peer layer's connections, by path: how many peer-init
//! handshakes each listener took, each kind of dial made, and which path
//! won for each of our own connection requests. They let a caller (a test,
//! a status page, the demo's summary) see which paths are really in use.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::connector::{PeerConnectionKind, Via};

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
    /// Our requests for a `P` connection that succeeded, by the path that
    /// won.
    pub peer: PathCounts,
    /// The same for `F` (file) connections.
    pub file: PathCounts,
    /// The same for `D` (distributed) connections.
    pub distributed: PathCounts,
}

/// How our own connection requests of one kind succeeded. Both paths are
/// tried at once (client-behaviour §2.1); each request counts once, under
/// the path whose connection it got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PathCounts {
    /// We dialled the peer and sent PeerInit.
    pub direct: u64,
    /// Through the server: the peer dialled us back with PierceFirewall
    /// after our ConnectToPeer.
    pub indirect: u64,
    /// The peer opened the same kind of connection to us (PeerInit) while
    /// we were still trying, and that one answered the request.
    pub inbound: u64,
}

impl PathCounts {
    /// Every request counted, whatever its path.
    pub fn total(&self) -> u64 {
        self.direct + self.indirect + self.inbound
    }
}

/// Live [`PathCounts`].
#[derive(Debug, Default)]
struct PathCounters {
    direct: AtomicU64,
    indirect: AtomicU64,
    inbound: AtomicU64,
}

impl PathCounters {
    fn snapshot(&self) -> PathCounts {
        PathCounts {
            direct: self.direct.load(Ordering::Relaxed),
            indirect: self.indirect.load(Ordering::Relaxed),
            inbound: self.inbound.load(Ordering::Relaxed),
        }
    }
}

/// The live counters, shared by the accept loops and the dial tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    accepted_obfuscated: AtomicU64,
    dialled: AtomicU64,
    dialled_obfuscated: AtomicU64,
    peer: PathCounters,
    file: PathCounters,
    distributed: PathCounters,
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

    /// One of our requests of `kind` got its connection through `via`.
    pub(crate) fn established(&self, kind: PeerConnectionKind, via: Via) {
        let counters = self.by_kind(kind);
        let counter = match via {
            Via::Direct => &counters.direct,
            Via::Indirect => &counters.indirect,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// One of our requests of `kind` was answered by the peer's own
    /// connection.
    pub(crate) fn answered_by_inbound(&self, kind: PeerConnectionKind) {
        self.by_kind(kind).inbound.fetch_add(1, Ordering::Relaxed);
    }

    fn by_kind(&self, kind: PeerConnectionKind) -> &PathCounters {
        match kind {
            PeerConnectionKind::Peer => &self.peer,
            PeerConnectionKind::File => &self.file,
            PeerConnectionKind::Distributed => &self.distributed,
        }
    }

    pub(crate) fn snapshot(&self) -> PeerStats {
        PeerStats {
            accepted: self.accepted.load(Ordering::Relaxed),
            accepted_obfuscated: self.accepted_obfuscated.load(Ordering::Relaxed),
            dialled: self.dialled.load(Ordering::Relaxed),
            dialled_obfuscated: self.dialled_obfuscated.load(Ordering::Relaxed),
            peer: self.peer.snapshot(),
            file: self.file.snapshot(),
            distributed: self.distributed.snapshot(),
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
        counters.established(PeerConnectionKind::Peer, Via::Indirect);
        counters.established(PeerConnectionKind::File, Via::Direct);
        counters.established(PeerConnectionKind::File, Via::Direct);
        counters.answered_by_inbound(PeerConnectionKind::Peer);
        assert_eq!(
            counters.snapshot(),
            PeerStats {
                accepted: 1,
                accepted_obfuscated: 2,
                dialled: 0,
                dialled_obfuscated: 1,
                peer: PathCounts {
                    direct: 0,
                    indirect: 1,
                    inbound: 1,
                },
                file: PathCounts {
                    direct: 2,
                    indirect: 0,
                    inbound: 0,
                },
                distributed: PathCounts::default(),
            }
        );
        assert_eq!(counters.snapshot().peer.total(), 2);
    }
}
