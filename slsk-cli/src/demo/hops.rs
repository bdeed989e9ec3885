//! Which path each hop of the demo took, read from the peer layers'
//! counters ([`slsk_net::PeerStats`]) before and after each phase: nothing
//! here is assumed about the network, only counted.

use serde::Serialize;
use slsk_net::{PathCounts, PeerStats};

/// New connection requests of one kind that one client made during a
/// phase, by the path that won.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewRequests {
    pub direct: u64,
    pub indirect: u64,
    pub inbound: u64,
}

impl NewRequests {
    /// What changed from `before` to `after`.
    pub fn between(before: PathCounts, after: PathCounts) -> Self {
        Self {
            direct: after.direct.saturating_sub(before.direct),
            indirect: after.indirect.saturating_sub(before.indirect),
            inbound: after.inbound.saturating_sub(before.inbound),
        }
    }

    fn total(&self) -> u64 {
        self.direct + self.indirect + self.inbound
    }
}

/// Both clients' counters at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    pub sharer: PeerStats,
    pub seeker: PeerStats,
}

/// One hop of the demo, as the summary reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// What travelled: `search`, `search reply`, `folder request`,
    /// `download requests`, `files`.
    pub what: &'static str,
    pub from: String,
    pub to: String,
    /// `server` (relayed by the server), `P` (peer messages) or `F` (file).
    pub connection: &'static str,
    /// `relayed`, `existing`, `direct`, `indirect`, `inbound`, or several
    /// of them joined with `+` when connections of one hop went different
    /// ways.
    pub path: String,
    /// Connections opened for this hop (0: an existing one was used).
    pub opened: u64,
    /// The same, in words.
    pub detail: String,
}

/// The names of the two clients.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    /// Shares the library and uploads.
    pub sharer: &'a str,
    /// Searches and downloads.
    pub seeker: &'a str,
}

/// The counters at the phase boundaries: after both clients were ready,
/// after the search, after the folder listing, after the downloads.
#[derive(Debug, Clone, Copy)]
pub struct Phases {
    pub ready: Snapshot,
    pub searched: Snapshot,
    pub listed: Snapshot,
    pub downloaded: Snapshot,
}

/// Every hop of the demo, in order.
pub fn hops(names: Names<'_>, phases: &Phases) -> Vec<Hop> {
    let Names { sharer, seeker } = names;
    // Our server relays a FileSearch to every other user on their server
    // connection; it has no distributed network, and the count of `D`
    // connections says the clients opened none.
    let distributed = |s: &Snapshot| s.sharer.distributed.total() + s.seeker.distributed.total();
    let search_path = if distributed(&phases.searched) == distributed(&phases.ready) {
        "relayed"
    } else {
        "relayed+distributed"
    };
    let search = Hop {
        what: "search",
        from: seeker.to_owned(),
        to: sharer.to_owned(),
        connection: "server",
        path: search_path.to_owned(),
        opened: 0,
        detail: format!(
            "{seeker} sent FileSearch to the server, which relayed it to {sharer} \
             over {sharer}'s server connection"
        ),
    };
    let reply = peer_hop(
        "search reply",
        (sharer, seeker),
        NewRequests::between(phases.ready.sharer.peer, phases.searched.sharer.peer),
        "P",
    );
    let folder = peer_hop(
        "folder request",
        (seeker, sharer),
        NewRequests::between(phases.searched.seeker.peer, phases.listed.seeker.peer),
        "P",
    );
    let requests = peer_hop(
        "download requests",
        (seeker, sharer),
        NewRequests::between(phases.listed.seeker.peer, phases.downloaded.seeker.peer),
        "P",
    );
    // The uploader opens each file connection.
    let files = peer_hop(
        "files",
        (sharer, seeker),
        NewRequests::between(phases.listed.sharer.file, phases.downloaded.sharer.file),
        "F",
    );
    vec![search, reply, folder, requests, files]
}

/// A hop over connections `from` asked for.
fn peer_hop(
    what: &'static str,
    (from, to): (&str, &str),
    new: NewRequests,
    connection: &'static str,
) -> Hop {
    let mut paths = Vec::new();
    let mut details = Vec::new();
    if new.direct > 0 {
        paths.push("direct");
        details.push(format!("{} direct ({from} dialled {to})", new.direct));
    }
    if new.indirect > 0 {
        paths.push("indirect");
        details.push(format!(
            "{} indirect ({from} sent ConnectToPeer through the server and {to} dialled \
             back with PierceFirewall)",
            new.indirect
        ));
    }
    if new.inbound > 0 {
        paths.push("inbound");
        details.push(format!(
            "{} answered by {to}'s own connection to {from}",
            new.inbound
        ));
    }
    let detail = if details.is_empty() {
        format!("on the {connection} connection already open between {from} and {to}")
    } else {
        format!(
            "{} new {connection} connection(s): {}",
            new.total(),
            details.join(", ")
        )
    };
    Hop {
        what,
        from: from.to_owned(),
        to: to.to_owned(),
        connection,
        path: if paths.is_empty() {
            "existing".to_owned()
        } else {
            paths.join("+")
        },
        opened: new.total(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters with the given `P` and `F` outcomes (direct, indirect).
    fn stats(peer: (u64, u64), file: (u64, u64)) -> PeerStats {
        let mut stats = PeerStats::default();
        stats.peer.direct = peer.0;
        stats.peer.indirect = peer.1;
        stats.file.direct = file.0;
        stats.file.indirect = file.1;
        stats
    }

    fn snapshot(sharer: PeerStats, seeker: PeerStats) -> Snapshot {
        Snapshot { sharer, seeker }
    }

    const NAMES: Names<'static> = Names {
        sharer: "alice",
        seeker: "bob",
    };

    #[test]
    fn each_hop_reports_the_path_counted_in_its_phase() {
        let zero = PeerStats::default();
        let phases = Phases {
            ready: snapshot(zero, zero),
            // Alice dialled bob for the reply.
            searched: snapshot(stats((1, 0), (0, 0)), zero),
            // Bob asked on that connection: nothing new.
            listed: snapshot(stats((1, 0), (0, 0)), zero),
            // Three files direct, one through the server.
            downloaded: snapshot(stats((1, 0), (3, 1)), zero),
        };
        let hops = hops(NAMES, &phases);
        let paths: Vec<(&str, &str, &str)> = hops
            .iter()
            .map(|h| (h.what, h.connection, h.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("search", "server", "relayed"),
                ("search reply", "P", "direct"),
                ("folder request", "P", "existing"),
                ("download requests", "P", "existing"),
                ("files", "F", "direct+indirect"),
            ]
        );
        assert_eq!(
            (hops[1].from.as_str(), hops[1].to.as_str()),
            ("alice", "bob")
        );
        assert_eq!(hops[4].opened, 4);
        assert!(hops[4].detail.contains("3 direct (alice dialled bob)"));
        assert!(hops[4].detail.contains("1 indirect"));
        assert!(hops[2].detail.contains("already open"));
    }

    #[test]
    fn an_indirect_reply_and_a_new_connection_are_told_apart() {
        let zero = PeerStats::default();
        let phases = Phases {
            ready: snapshot(zero, zero),
            searched: snapshot(stats((0, 1), (0, 0)), zero),
            listed: snapshot(stats((0, 1), (0, 0)), stats((1, 0), (0, 0))),
            downloaded: snapshot(stats((0, 1), (0, 2)), stats((1, 0), (0, 0))),
        };
        let hops = hops(NAMES, &phases);
        assert_eq!(hops[1].path, "indirect");
        assert!(hops[1].detail.contains("PierceFirewall"));
        assert_eq!((hops[2].path.as_str(), hops[2].opened), ("direct", 1));
        assert_eq!(hops[3].path, "existing");
        assert_eq!((hops[4].path.as_str(), hops[4].opened), ("indirect", 2));
    }
}
