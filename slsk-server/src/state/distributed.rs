//! The distributed search network, server side: what each user reports
//! about its place in the tree, the candidate parents offered to users
//! without one (PossibleParents 102), the delivery of global searches
//! (EmbeddedMessage 93 to branch roots, FileSearch 26 to everyone the tree
//! cannot reach) and ResetDistributed (130) when a branch root is gone.
//!
//! The server never sees the tree itself: users report only whether they
//! have a parent, their level and their branch root. Everything here
//! follows from those reports:
//!
//! - A user is **in a tree** when it said HaveNoParent(false).
//! - A user is a **branch root** when it said HaveNoParent(true) and it
//!   accepts children or some online user names it as its branch root.
//!   The server does not make roots of users that refuse children (the
//!   official server may: Nicotine+ turns root on its first
//!   EmbeddedMessage): a client that cannot pass searches on, or ignores
//!   EmbeddedMessage, would then be unsearchable. Such users get
//!   FileSearch(26), which every client handles. A client that finds no
//!   parent makes itself a root by accepting children (what our client
//!   and aioslsk do).
//! - Candidate parents are only users ranked **above** the asker (faster
//!   upload speed, then the smaller name on a tie). Parents then always
//!   outrank their children when the tree forms, so two roots cannot adopt
//!   each other at the same moment and make a loop the server cannot see.
//!   The top-ranked user gets no candidate (it is sent nothing), as
//!   Nicotine+ describes the fastest users, which are the roots.

use std::cmp::Reverse;
use std::net::Ipv4Addr;
use std::time::Instant;

use slsk_proto::Message;
use slsk_proto::distributed::DistributedSearchRequest;
use slsk_proto::server::{
    FileSearchResponse, PotentialParentsResponse, ResetDistributedResponse,
    ServerSearchRequestResponse,
};
use slsk_proto::structures::PotentialParent;

use super::{ConnId, Now, ServerState, Session};

/// The most candidates in one PossibleParents (the official limit).
pub const MAX_POSSIBLE_PARENTS: usize = 10;

/// The distributed code of DistributedSearchRequest, embedded in 93.
const DISTRIBUTED_SEARCH_CODE: u8 = 3;

/// The first field of every DistributedSearchRequest: always 49 (`'1'`);
/// some clients reject anything else.
const DISTRIBUTED_SEARCH_MARK: u32 = 49;

/// What one online user told the server about its place in the tree. Reset
/// at logout (it lives in the session).
#[derive(Debug, Clone, Default)]
pub(super) struct TreePosition {
    /// The last HaveNoParent(71); `None` until the first one (a client
    /// that never sends it takes no part in the tree).
    pub(super) no_parent: Option<bool>,
    /// AcceptChildren(100); false until told otherwise.
    pub(super) accepts_children: bool,
    /// BranchLevel(126).
    pub(super) branch_level: u32,
    /// BranchRoot(127); `None` until reported (the user itself).
    pub(super) branch_root: Option<String>,
    /// ChildDepth(129), obsolete: kept for inspection only.
    pub(super) child_depth: u32,
    /// When PossibleParents is next due; `None` while it is not looking
    /// for a parent.
    pub(super) parents_due: Option<Instant>,
}

impl TreePosition {
    pub(super) fn has_parent(&self) -> bool {
        self.no_parent == Some(false)
    }

    /// The branch root it reported, if another user.
    fn other_root<'a>(&'a self, me: &str) -> Option<&'a str> {
        self.branch_root.as_deref().filter(|root| *root != me)
    }
}

/// A user that may be offered as a parent, with what the choice needs.
struct Candidate<'a> {
    name: &'a str,
    speed: u32,
    root: Option<&'a str>,
    ip: Ipv4Addr,
    port: u32,
}

/// Whether `a` outranks `b`: faster, or as fast with a smaller name.
fn outranks(a: (u32, &str), b: (u32, &str)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl ServerState {
    /// HaveNoParent(71). Saying "no parent" starts the PossibleParents
    /// offers (the first at the next tick); saying "I have one" stops them.
    pub(super) fn have_no_parent(&mut self, me: &str, no_parent: bool, now: Now) {
        let Some(session) = self.sessions.get_mut(me) else {
            return;
        };
        let tree = &mut session.tree;
        tree.no_parent = Some(no_parent);
        if no_parent {
            tree.parents_due.get_or_insert(now.instant);
        } else {
            tree.parents_due = None;
        }
    }

    /// AcceptChildren(100).
    pub(super) fn accept_children(&mut self, me: &str, accept: bool) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.tree.accepts_children = accept;
        }
    }

    /// BranchLevel(126).
    pub(super) fn branch_level(&mut self, me: &str, level: u32) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.tree.branch_level = level;
        }
    }

    /// ChildDepth(129): obsolete, kept only to be inspected.
    pub(super) fn child_depth(&mut self, me: &str, depth: u32) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.tree.child_depth = depth;
        }
    }

    /// BranchRoot(127). The branch index follows; a root that is not
    /// online gets the user ResetDistributed (its branch is gone), as
    /// aioslsk's reconstruction of the official server does.
    pub(super) fn branch_root(&mut self, me: &str, root: String) {
        let Some(session) = self.sessions.get_mut(me) else {
            return;
        };
        let old = session.tree.branch_root.replace(root.clone());
        let conn = session.conn;
        if let Some(old) = old.filter(|old| old != me) {
            self.unindex_branch_member(&old, me);
        }
        if root != me {
            self.branches
                .entry(root.clone())
                .or_default()
                .insert(me.to_owned());
            if self.config.distributed_tree && !self.sessions.contains_key(&root) {
                tracing::debug!(user = %me, %root, "branch root offline: ResetDistributed");
                self.send(conn, ResetDistributedResponse);
            }
        }
    }

    fn unindex_branch_member(&mut self, root: &str, member: &str) {
        if let Some(members) = self.branches.get_mut(root) {
            members.remove(member);
            if members.is_empty() {
                self.branches.remove(root);
            }
        }
    }

    /// The user went offline (its session is already gone): it leaves the
    /// branch index, and every user that names it as branch root gets
    /// ResetDistributed, since their searches no longer arrive.
    pub(super) fn leave_tree(&mut self, me: &str, session: &Session) {
        if let Some(root) = session.tree.other_root(me) {
            self.unindex_branch_member(root, me);
        }
        if !self.config.distributed_tree {
            return;
        }
        let members: Vec<ConnId> = self
            .branches
            .get(me)
            .into_iter()
            .flatten()
            .filter_map(|member| self.conn_of(member))
            .collect();
        if !members.is_empty() {
            tracing::debug!(root = %me, members = members.len(), "branch root left: ResetDistributed");
        }
        for conn in members {
            self.send(conn, ResetDistributedResponse);
        }
    }

    /// Whether `name` is online and a branch root (see the module notes).
    fn is_branch_root(&self, name: &str) -> bool {
        self.sessions
            .get(name)
            .is_some_and(|session| self.is_root_session(name, session))
    }

    pub(super) fn is_root_session(&self, name: &str, session: &Session) -> bool {
        let tree = &session.tree;
        tree.no_parent == Some(true) && (tree.accepts_children || self.branches.contains_key(name))
    }

    /// A global or wishlist search from `me`, already checked. With the tree
    /// off, FileSearch(26) to every online user but the searcher. With it
    /// on: EmbeddedMessage(93) carrying a DistributedSearchRequest to every
    /// branch root, nothing to users whose branch root is a root (their
    /// tree brings it), and FileSearch(26) to everyone else, so that nobody
    /// is unsearchable: users outside the tree, users whose reported root
    /// is not a root (yet, or any more), and the searcher's own branch (its
    /// root, the searcher, gets nothing and so cannot pass it on). The
    /// searcher gets nothing. Every 93 is the same message, then every 26,
    /// so the driver encodes each once.
    pub(super) fn distribute_search(&mut self, me: &str, ticket: u32, query: &str) {
        let mut roots = Vec::new();
        let mut direct = Vec::new();
        for (name, session) in &self.sessions {
            if name == me {
                continue;
            }
            if !self.config.distributed_tree {
                direct.push(session.conn);
            } else if session.tree.has_parent() {
                match session.tree.other_root(name) {
                    Some(root) if root != me && self.is_branch_root(root) => {}
                    _ => direct.push(session.conn),
                }
            } else if self.is_root_session(name, session) {
                roots.push(session.conn);
            } else {
                direct.push(session.conn);
            }
        }
        if !roots.is_empty() {
            let embedded = embedded_search(me, ticket, query);
            for conn in roots {
                self.send(conn, embedded.clone());
            }
        }
        for conn in direct {
            self.send(
                conn,
                FileSearchResponse {
                    username: me.to_owned(),
                    ticket,
                    query: query.to_owned(),
                },
            );
        }
    }

    /// PossibleParents(102) to every user looking for a parent whose turn
    /// has come, then again every
    /// [`possible_parents_interval`](crate::ServerConfig::possible_parents_interval)
    /// until it reports one. Up to [`MAX_POSSIBLE_PARENTS`] candidates, best
    /// first: users that accept children, are in a tree or are branch
    /// roots, have a listening port, outrank the asker and are not in its
    /// branch. A user with no candidate is sent nothing.
    pub(super) fn offer_parents(&mut self, now: Now) {
        if !self.config.distributed_tree {
            return;
        }
        let due: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.tree.parents_due.is_some_and(|due| due <= now.instant))
            .map(|(name, _)| name.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        let mut pool: Vec<Candidate<'_>> = self
            .sessions
            .iter()
            .filter(|(name, s)| {
                s.tree.accepts_children
                    && s.port != 0
                    && (s.tree.has_parent() || self.is_root_session(name, s))
            })
            .map(|(name, s)| Candidate {
                name,
                speed: s.stats.avg_speed,
                root: s.tree.other_root(name),
                ip: s.ip,
                port: s.port,
            })
            .collect();
        pool.sort_unstable_by_key(|c| (Reverse(c.speed), c.name));
        let mut offers = Vec::with_capacity(due.len());
        for asker in &due {
            let Some(session) = self.sessions.get(asker) else {
                continue;
            };
            let rank = (session.stats.avg_speed, asker.as_str());
            let stale_root = session.tree.other_root(asker);
            let parents: Vec<PotentialParent> = pool
                .iter()
                .take_while(|c| outranks((c.speed, c.name), rank))
                .filter(|c| c.root != Some(asker.as_str()))
                .filter(|c| stale_root.is_none() || c.root != stale_root)
                .take(MAX_POSSIBLE_PARENTS)
                .map(|c| PotentialParent {
                    username: c.name.to_owned(),
                    ip: c.ip,
                    port: c.port,
                })
                .collect();
            offers.push((asker.clone(), session.conn, parents));
        }
        let next = now.instant + self.config.possible_parents_interval;
        for (asker, conn, parents) in offers {
            let Some(session) = self.sessions.get_mut(&asker) else {
                continue;
            };
            session.tree.parents_due = Some(next);
            if parents.is_empty() {
                tracing::debug!(user = %asker, "no candidate parent");
            } else {
                self.send(conn, PotentialParentsResponse { parents });
            }
        }
    }
}

/// EmbeddedMessage(93) wrapping a DistributedSearchRequest.
fn embedded_search(searcher: &str, ticket: u32, query: &str) -> ServerSearchRequestResponse {
    let search = DistributedSearchRequest {
        unknown: DISTRIBUTED_SEARCH_MARK,
        username: searcher.to_owned(),
        ticket,
        query: query.to_owned(),
    };
    let mut payload = Vec::with_capacity(16 + searcher.len() + query.len());
    if let Err(error) = search.encode_payload(&mut payload) {
        // Strings here are bounded (name and query limits): cannot happen.
        tracing::error!(%error, "encoding a distributed search");
    }
    ServerSearchRequestResponse {
        distributed_code: DISTRIBUTED_SEARCH_CODE,
        payload,
    }
}
