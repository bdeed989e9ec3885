//! The distributed search network, client side: our place in a tree of `D`
//! connections through which global searches flow from the server's branch
//! roots down to every client.
//!
//! The decisions live in a state machine without I/O (`state.rs`: server
//! messages, connections coming and going, frames and time in; actions
//! out); a tokio task (`driver.rs`) owns the `D` connections and carries
//! the actions out.
//!
//! # What the client does
//!
//! - **Finding a parent.** Without a parent the server sends PossibleParents
//!   (102); we open a `D` connection to each candidate (at most
//!   [`MAX_CANDIDATES`] at once) and adopt the *first one that has told us
//!   its branch level and root* (aioslsk's rule; client-behaviour.md 7.2).
//!   Nicotine+ waits for a first search as well, which on a quiet or small
//!   network (a private server, a test) may never come, so the tree would
//!   not form; Soulseek.NET waits for every candidate and takes the lowest
//!   level, which costs seconds on each attach for a gain the server's own
//!   choice of candidates already gives. A level-0 candidate need not send
//!   its root (it is its own root). The other candidates are closed, and
//!   the server is told HaveNoParent(false), BranchLevel (parent's + 1),
//!   BranchRoot (the parent's root), AcceptChildren.
//! - **Becoming a branch root.** A client that has looked for a parent for
//!   [`DistributedConfig::become_root_after`] without finding one, or that
//!   receives a search from the server as EmbeddedMessage (93) while it has
//!   no parent, becomes the root of its own branch (level 0, root itself)
//!   and accepts children (client-behaviour.md 7.1: "if there is no
//!   candidate, we become a branch root"). A root without children still
//!   takes a parent from the next PossibleParents; a root with children
//!   keeps its branch and ignores them, so two branches never try to hang
//!   under each other at once.
//! - **Children.** Accepted while we have a parent or are a branch root,
//!   below the limit ([`DistributedConfig::max_children`], else Nicotine+'s
//!   rule: `min(speed / ParentSpeedRatio / 100, 10)` when our speed reaches
//!   ParentMinSpeed, 0 below; 10 while our speed is unknown or 0, i.e. never
//!   measured). A peer that dials us as a child while it is our own
//!   candidate (two roots named in each other's PossibleParents) is taken
//!   as a child, and dropped as a candidate, only if our name sorts first;
//!   the other side applies the same rule, so exactly one becomes the
//!   other's parent. Each new child is sent our BranchLevel then
//!   BranchRoot (also at level 0), and every child again when they
//!   change. A second
//!   connection from the same child replaces the first. AcceptChildren is
//!   re-sent to the server whenever the answer changes.
//! - **Forwarding.** A DistributedSearchRequest from the parent goes to every
//!   child as the very bytes that arrived (it is decoded once, only to
//!   answer it); a search embedded in the server's EmbeddedMessage, or in a
//!   parent's obsolete `D` 93, is unwrapped into a code-3 frame once and
//!   passed down. Every search is also answered through the shares (not
//!   our own). A search seen recently (same user and ticket, among the last
//!   [`RECENT_SEARCHES`]) is dropped, and so is a search whose identifier
//!   is not 49 (as Nicotine+ does). An EmbeddedMessage that arrives while
//!   we have a parent (the server's view is a moment behind) is handled the
//!   same way rather than ignored as Nicotine+ does: the duplicate window
//!   keeps children from getting it twice.
//! - **Candidates are dialled by name** (GetPeerAddress and ConnectToPeer,
//!   as for any peer); the address PossibleParents carries is not used.
//! - **Slow children.** Each child has its own writer and a queue bounded
//!   by [`DistributedConfig::child_queue_bytes`]; a child whose queue would
//!   pass it is dropped (it can find a faster parent), so it never holds
//!   back the others. The task yields after each turn of input (a few
//!   hundred KB of searches at most), so a burst from the parent does not
//!   outrun a healthy child's writer.
//! - **Losing the parent.** Without children we announce no parent again
//!   (HaveNoParent(true), level 0, root ourselves, no children) and wait for
//!   PossibleParents. With children we keep them and become the root of our
//!   own branch at once, telling them level 0 and root us (aioslsk's
//!   behaviour): the server then sends the branch its searches, so the
//!   subtree stays searchable; dropping them (Nicotine+ keeps them but takes
//!   no new ones) would leave a whole subtree unsearchable until each
//!   re-attaches.
//! - **Bad parents.** A frame from the parent or a candidate that does not
//!   decode, a level past [`MAX_BRANCH_LEVEL`], an empty root, a root
//!   longer than [`MAX_NAME_BYTES`], or a root that is ourselves (a loop)
//!   closes that connection; a frame over the distributed size limit
//!   ends the connection in the codec.
//! - **ResetDistributed** closes the parent, the candidates and every
//!   child, and announces no parent.
//!
//! The state is readable with [`Client::distributed`](super::Client::distributed)
//! and reported as [`Event::Distributed`](super::Event::Distributed).

pub(crate) mod driver;
mod recent;
pub(crate) mod state;
mod wire;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use driver::{DistributedHandle, ServerFeed, start};

/// Candidate parents connected to at once.
pub const MAX_CANDIDATES: usize = 10;
/// The longest branch root name accepted (official usernames have at most
/// 30 bytes; this leaves room for other servers): a longer one is a lie,
/// and would be passed to the server and every child.
pub const MAX_NAME_BYTES: usize = 256;
/// How many recent searches (user, ticket) are remembered to drop
/// duplicates.
pub const RECENT_SEARCHES: usize = 4096;
/// The deepest branch level accepted from a parent: deeper is a loop or a
/// lie (a real tree with ten children per node reaches every user of the
/// network in a handful of levels).
pub const MAX_BRANCH_LEVEL: u32 = 1000;

/// How the client takes part in the distributed network
/// ([`ClientConfig::distributed`](super::ClientConfig::distributed)).
///
/// ```
/// use std::time::Duration;
/// use slsk_net::client::{ClientConfig, DistributedConfig};
///
/// let mut config = ClientConfig::new("127.0.0.1:2242", "alice", "secret");
/// config.distributed.max_children = Some(5);
/// config.distributed.become_root_after = Duration::from_secs(5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DistributedConfig {
    /// Take part at all. With `false` the client tells the server it has no
    /// parent and accepts no children, never connects to candidates and
    /// closes `D` connections opened to it. Default true.
    pub enabled: bool,
    /// Most children at once; `None` (the default) derives it from the
    /// server's ParentMinSpeed and ParentSpeedRatio and our speed (see the
    /// module documentation), 10 while our speed is unknown.
    pub max_children: Option<u32>,
    /// How long to look for a parent before becoming a branch root.
    /// Default 15 s.
    pub become_root_after: Duration,
    /// How long a connected candidate has to send its branch level (and
    /// root) before it is closed. Default 10 s.
    pub candidate_timeout: Duration,
    /// Bytes queued for one child before it counts as too slow and is
    /// dropped. Default 1 MiB (some ten thousand searches).
    pub child_queue_bytes: usize,
}

impl Default for DistributedConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_children: None,
            become_root_after: Duration::from_secs(15),
            candidate_timeout: Duration::from_secs(10),
            child_queue_bytes: 1024 * 1024,
        }
    }
}

/// Our place in the distributed network, as
/// [`Client::distributed`](super::Client::distributed) reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributedState {
    /// The parent we take searches from, if any.
    pub parent: Option<String>,
    /// Our branch level: the parent's + 1, or 0 (a branch root, or nobody).
    pub branch_level: u32,
    /// The root of our branch: the parent's root, ourselves as a branch
    /// root, empty with neither.
    pub branch_root: String,
    /// Our children, in the order they came.
    pub children: Vec<String>,
    /// Whether we take new children now (what the server was last told).
    pub accepting_children: bool,
}

/// A change in our place in the distributed network.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DistributedEvent {
    /// We took `username` as our parent; `branch_level` and `branch_root`
    /// are ours now (the parent's level + 1, the parent's root).
    ParentAdopted {
        /// The parent.
        username: String,
        /// Our branch level.
        branch_level: u32,
        /// Our branch root.
        branch_root: String,
    },
    /// The parent told a new level or root; `branch_level` and
    /// `branch_root` are ours now (already told to the server and the
    /// children).
    BranchChanged {
        /// Our branch level.
        branch_level: u32,
        /// Our branch root.
        branch_root: String,
    },
    /// The parent's connection closed or the parent misbehaved.
    ParentLost {
        /// The former parent.
        username: String,
    },
    /// We became the root of a branch (no parent found in time, the server
    /// sent us a search, or the parent was lost while we had children).
    BecameRoot,
    /// A child connected and was accepted.
    ChildAdded {
        /// The child.
        username: String,
    },
    /// A child's connection closed, or it was dropped as too slow.
    ChildRemoved {
        /// The former child.
        username: String,
    },
    /// The server sent ResetDistributed: parent, candidates and children
    /// are all closed (no separate [`ParentLost`](Self::ParentLost) or
    /// [`ChildRemoved`](Self::ChildRemoved) events).
    Reset,
}

/// The state snapshot shared with the [`Client`](super::Client) handles;
/// written by the distributed task before it emits the matching event.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedDistributed(Arc<Mutex<DistributedState>>);

impl SharedDistributed {
    pub(crate) fn get(&self) -> DistributedState {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set(&self, state: DistributedState) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }
}
