//! Searches: the checks, and the one place that decides who receives a
//! search (global ones through the distributed tree: `distributed.rs`).

use std::collections::BTreeSet;

use slsk_proto::server::{FileSearchResponse, GetRelatedSearchesResponse};

use super::flood::FloodKind;
use super::{ConnId, Now, ServerState};

/// Who a search goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience<'a> {
    /// FileSearch(26) and WishlistSearch(103): every online user but the
    /// searcher, through the distributed tree when it is on.
    Everyone,
    /// UserSearch(42): that user alone, if online.
    User(&'a str),
    /// RoomSearch(120): the users joined to the room but the searcher. A
    /// public room is open to any searcher (soulfind: no join needed); a
    /// private one needs the searcher to be joined, its owner or a member.
    Room(&'a str),
}

/// The server-side excluded phrases. A query matches a phrase when every word
/// of the phrase is a word of the query, ignoring case (soulfind's FTS5 rule).
/// Words are runs of letters and digits.
///
/// ```
/// use slsk_server::state::PhraseFilter;
///
/// let filter = PhraseFilter::new(&["bad band".to_owned()]);
/// assert!(filter.matches("Band of the BAD"));
/// assert!(!filter.matches("bad bandana"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PhraseFilter {
    /// Each phrase as its set of lowercase words; phrases without words are
    /// left out (they would match everything).
    phrases: Vec<BTreeSet<String>>,
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

impl PhraseFilter {
    pub fn new(phrases: &[String]) -> Self {
        Self {
            phrases: phrases
                .iter()
                .map(|p| words(p).collect::<BTreeSet<_>>())
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }

    /// Whether `query` contains every word of some phrase.
    pub fn matches(&self, query: &str) -> bool {
        if self.phrases.is_empty() {
            return false;
        }
        let query: BTreeSet<String> = words(query).collect();
        self.phrases.iter().any(|phrase| phrase.is_subset(&query))
    }
}

impl ServerState {
    /// Relays a search as FileSearch(26) (searcher, ticket, query), unless
    /// the query is over the size limit or matches an excluded phrase, in
    /// which case it is dropped silently.
    ///
    /// Global and wishlist searches reach every online user except the
    /// searcher (soulfind includes the searcher, but a client has no use for
    /// its own query): through the distributed tree when
    /// [`distributed_tree`](crate::ServerConfig::distributed_tree) is on
    /// (see `distribute_search`), otherwise as FileSearch(26) to each.
    /// Soulfind batches searches every 650 ms;
    /// this sends at once, relying on the per-connection queue limits and
    /// the per-user search rate ([`FloodLimits::searches`](crate::FloodLimits)).
    pub(super) fn search(
        &mut self,
        me: &str,
        ticket: u32,
        query: &str,
        audience: Audience<'_>,
        now: Now,
    ) {
        if query.len() > self.config.max_query_bytes {
            return tracing::debug!(user = %me, "search dropped: query too long");
        }
        if self.filter.matches(query) {
            return tracing::debug!(user = %me, "search dropped: excluded phrase");
        }
        if !self.allow(me, FloodKind::Search, now) {
            return;
        }
        let targets: Vec<ConnId> = match audience {
            Audience::Everyone => return self.distribute_search(me, ticket, query),
            Audience::User(name) => self.conn_of(name).into_iter().collect(),
            Audience::Room(name) => match self.rooms.get(name) {
                Some(room) if !room.is_private() || room.has_joined(me) || room.may_enter(me) => {
                    room.joined
                        .iter()
                        .filter(|user| user.as_str() != me)
                        .filter_map(|user| self.conn_of(user))
                        .collect()
                }
                _ => return tracing::debug!(user = %me, room = name, "room search refused"),
            },
        };
        for conn in targets {
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

    /// GetRelatedSearches(153): always an empty list, as the official server
    /// has sent since 2018 (Nicotine+'s notes).
    pub(super) fn related_searches(&mut self, conn: ConnId, query: String) {
        self.send(
            conn,
            GetRelatedSearchesResponse {
                query,
                related_searches: Vec::new(),
            },
        );
    }
}
