//! Our own searches: options, result filters, and the [`Search`] stream the
//! results arrive on.
//!
//! [`Client::search`](super::Client::search) sanitises the query
//! (client-behaviour.md 4.1), takes a ticket from our own counter, registers
//! it and sends FileSearch, UserSearch or RoomSearch. Peers answer with
//! PeerSearchReply over their `P` connection; the peer task routes each reply
//! by ticket ([`SearchRegistry::route`]) to the [`Search`], applying the
//! filters as results arrive. A search ends at its timeout or once it has
//! `max_results` results; replies for a ticket that is no longer registered
//! are dropped.

use std::collections::HashMap;
use std::future::Future as _;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use slsk_proto::peer::PeerSearchReply;
use slsk_proto::structures::FileData;
use slsk_proto::tables::FileAttributeKind;
use tokio::sync::mpsc;

/// Searches open at once; [`Client::search`](super::Client::search) fails
/// with [`RequestError::TooManyPending`](super::RequestError) beyond.
pub const MAX_ACTIVE_SEARCHES: usize = 64;
/// Results one search buffers before the reader takes them; more are
/// dropped (the reader is not keeping up).
const RESULT_QUEUE: usize = 1024;

/// Who is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchScope {
    /// Everyone (FileSearch, relayed by the server to all users).
    Global,
    /// One user (UserSearch).
    User(String),
    /// The members of a room we are in (RoomSearch).
    Room(String),
}

/// How to search: scope, how long, how many results, which to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOptions {
    /// Who is asked.
    pub scope: SearchScope,
    /// The stream ends this long after the search was sent.
    pub timeout: Duration,
    /// The stream ends after this many (accepted) results.
    pub max_results: usize,
    /// Which results are kept.
    pub filters: SearchFilters,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            scope: SearchScope::Global,
            timeout: Duration::from_secs(30),
            max_results: 1000,
            filters: SearchFilters::default(),
        }
    }
}

/// Result filters, applied as results arrive. The default keeps everything.
///
/// An audio attribute a result does not carry (a peer that sends no
/// bitrate, a non-audio file) passes its filter when
/// [`missing_passes`](Self::missing_passes) is set, and fails it otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilters {
    /// Lower-case extensions without the dot (`"flac"`); empty keeps any.
    pub extensions: Vec<String>,
    /// Minimum bitrate in kbps.
    pub min_bitrate: Option<u32>,
    /// Minimum sample rate in Hz.
    pub min_sample_rate: Option<u32>,
    /// Minimum bit depth.
    pub min_bit_depth: Option<u32>,
    /// Length in seconds.
    pub length: Option<RangeInclusive<u32>>,
    /// Size in bytes.
    pub size: Option<RangeInclusive<u64>>,
    /// Keep only results from peers with a free upload slot.
    pub free_slot_only: bool,
    /// Keep only results from peers whose queue is at most this long.
    pub max_queue: Option<u32>,
    /// Whether a result lacking a filtered attribute passes.
    pub missing_passes: bool,
}

impl SearchFilters {
    /// Whether `file`, from a peer with the given slot and queue, is kept.
    ///
    /// ```
    /// use slsk_net::client::SearchFilters;
    /// use slsk_proto::structures::FileData;
    ///
    /// let file = FileData { code: 1, filename: "a\\b.FLAC".into(), filesize: 10, extension: String::new(), attributes: vec![] };
    /// let filters = SearchFilters { extensions: vec!["flac".into()], ..Default::default() };
    /// assert!(filters.accepts(&file, true, 0));
    /// let strict = SearchFilters { min_bitrate: Some(320), ..filters };
    /// assert!(!strict.accepts(&file, true, 0));
    /// ```
    pub fn accepts(&self, file: &FileData, slot_free: bool, queue_length: u32) -> bool {
        if self.free_slot_only && !slot_free {
            return false;
        }
        if self.max_queue.is_some_and(|max| queue_length > max) {
            return false;
        }
        if self
            .size
            .as_ref()
            .is_some_and(|r| !r.contains(&file.filesize))
        {
            return false;
        }
        if !self.extensions.is_empty() {
            let ext = extension_of(file);
            if !self.extensions.iter().any(|e| e.eq_ignore_ascii_case(&ext)) {
                return false;
            }
        }
        let attr = |kind: FileAttributeKind| {
            file.attributes
                .iter()
                .find(|a| a.key == kind)
                .map(|a| a.value)
        };
        let at_least = |min: Option<u32>, kind| match (min, attr(kind)) {
            (None, _) => true,
            (Some(min), Some(value)) => value >= min,
            (Some(_), None) => self.missing_passes,
        };
        let length_ok = match (&self.length, attr(FileAttributeKind::Duration)) {
            (None, _) => true,
            (Some(range), Some(value)) => range.contains(&value),
            (Some(_), None) => self.missing_passes,
        };
        length_ok
            && at_least(self.min_bitrate, FileAttributeKind::Bitrate)
            && at_least(self.min_sample_rate, FileAttributeKind::SampleRate)
            && at_least(self.min_bit_depth, FileAttributeKind::BitDepth)
    }
}

/// The extension a result carries, or else the one its name ends with.
fn extension_of(file: &FileData) -> String {
    if !file.extension.is_empty() {
        return file.extension.to_lowercase();
    }
    let name = file.filename.rsplit(['\\', '/']).next().unwrap_or("");
    match name.rsplit_once('.') {
        Some((_, ext)) => ext.to_lowercase(),
        None => String::new(),
    }
}

/// One file found by a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// Who shares it (the PeerSearchReply's username).
    pub username: String,
    /// The search's ticket.
    pub ticket: u32,
    /// The file. Locked results (shared only with some users) are not
    /// reported.
    pub file: FileData,
    /// Whether the peer has a free upload slot.
    pub slot_free: bool,
    /// The peer's average upload speed, bytes per second.
    pub avg_speed: u32,
    /// The peer's upload queue length.
    pub queue_length: u32,
}

/// One registered search: where its results go, and what is kept.
struct Open {
    results: mpsc::Sender<SearchResult>,
    filters: SearchFilters,
    remaining: usize,
}

/// The searches open now, by ticket. Cheap to clone (shared).
#[derive(Clone, Default)]
pub(crate) struct SearchRegistry {
    open: Arc<Mutex<HashMap<u32, Open>>>,
}

impl SearchRegistry {
    /// Registers `ticket`; `None` when [`MAX_ACTIVE_SEARCHES`] are open or
    /// the ticket is in use.
    pub(crate) fn open(
        &self,
        ticket: u32,
        options: &SearchOptions,
    ) -> Option<mpsc::Receiver<SearchResult>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= MAX_ACTIVE_SEARCHES || open.contains_key(&ticket) {
            return None;
        }
        let (tx, rx) = mpsc::channel(RESULT_QUEUE);
        open.insert(
            ticket,
            Open {
                results: tx,
                filters: options.filters.clone(),
                remaining: options.max_results,
            },
        );
        Some(rx)
    }

    /// Forgets `ticket`: later replies for it are dropped.
    pub(crate) fn close(&self, ticket: u32) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&ticket);
    }

    /// Hands the accepted results of `reply` to its search; returns how
    /// many were delivered (0 for an unknown ticket).
    pub(crate) fn route(&self, reply: PeerSearchReply) -> usize {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let Some(search) = open.get_mut(&reply.ticket) else {
            return 0;
        };
        let mut delivered = 0;
        for file in reply.results {
            if search.remaining == 0 {
                break;
            }
            if !search
                .filters
                .accepts(&file, reply.has_slots_free, reply.queue_size)
            {
                continue;
            }
            let result = SearchResult {
                username: reply.username.clone(),
                ticket: reply.ticket,
                file,
                slot_free: reply.has_slots_free,
                avg_speed: reply.avg_speed,
                queue_length: reply.queue_size,
            };
            if search.results.try_send(result).is_ok() {
                search.remaining -= 1;
                delivered += 1;
            }
        }
        if search.remaining == 0 || search.results.is_closed() {
            // Dropping the sender ends the stream once it is drained.
            open.remove(&reply.ticket);
        }
        delivered
    }
}

/// The results of one search, a [`Stream`] of [`SearchResult`]s that ends
/// at the timeout or after `max_results` results. Dropping it closes the
/// search.
pub struct Search {
    ticket: u32,
    results: mpsc::Receiver<SearchResult>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    registry: SearchRegistry,
    ended: bool,
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search")
            .field("ticket", &self.ticket)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Search {
    pub(crate) fn new(
        ticket: u32,
        results: mpsc::Receiver<SearchResult>,
        timeout: Duration,
        registry: SearchRegistry,
    ) -> Self {
        Self {
            ticket,
            results,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            registry,
            ended: false,
        }
    }

    /// The ticket the search was sent with.
    pub fn ticket(&self) -> u32 {
        self.ticket
    }

    /// The next result, or `None` once the search has ended.
    pub async fn next(&mut self) -> Option<SearchResult> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.registry.close(self.ticket);
            self.results.close();
        }
    }
}

impl Stream for Search {
    type Item = SearchResult;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SearchResult>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.end();
            return Poll::Ready(None);
        }
        match this.results.poll_recv(cx) {
            Poll::Ready(Some(result)) => Poll::Ready(Some(result)),
            Poll::Ready(None) => {
                this.end();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Search {
    fn drop(&mut self) {
        self.registry.close(self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::structures::Attribute;

    fn file(name: &str, size: u64, attrs: &[(FileAttributeKind, u32)]) -> FileData {
        FileData {
            code: 1,
            filename: name.into(),
            filesize: size,
            extension: String::new(),
            attributes: attrs
                .iter()
                .map(|&(key, value)| Attribute { key, value })
                .collect(),
        }
    }

    #[test]
    fn filters_check_each_attribute_and_missing_ones() {
        let mp3 = file(
            "x\\song.mp3",
            5_000,
            &[
                (FileAttributeKind::Bitrate, 192),
                (FileAttributeKind::Duration, 200),
            ],
        );
        let any = SearchFilters::default();
        assert!(any.accepts(&mp3, false, 99));
        let f = SearchFilters {
            min_bitrate: Some(256),
            ..Default::default()
        };
        assert!(!f.accepts(&mp3, true, 0));
        let f = SearchFilters {
            min_bitrate: Some(128),
            length: Some(100..=300),
            size: Some(1000..=10_000),
            extensions: vec!["mp3".into()],
            ..Default::default()
        };
        assert!(f.accepts(&mp3, true, 0));
        let f = SearchFilters {
            min_sample_rate: Some(44_100),
            ..Default::default()
        };
        assert!(!f.accepts(&mp3, true, 0), "missing attribute fails");
        let f = SearchFilters {
            missing_passes: true,
            ..f
        };
        assert!(f.accepts(&mp3, true, 0), "missing attribute passes");
        let f = SearchFilters {
            free_slot_only: true,
            max_queue: Some(3),
            ..Default::default()
        };
        assert!(!f.accepts(&mp3, false, 0));
        assert!(!f.accepts(&mp3, true, 4));
        assert!(f.accepts(&mp3, true, 3));
        let f = SearchFilters {
            extensions: vec!["flac".into()],
            ..Default::default()
        };
        assert!(!f.accepts(&mp3, true, 0));
    }

    fn reply(ticket: u32, names: &[&str]) -> PeerSearchReply {
        PeerSearchReply {
            username: "bob".into(),
            ticket,
            results: names.iter().map(|n| file(n, 1, &[])).collect(),
            has_slots_free: true,
            avg_speed: 7,
            queue_size: 0,
            unknown: None,
            locked_results: None,
        }
    }

    #[tokio::test]
    async fn replies_are_routed_by_ticket_up_to_the_limit() {
        let registry = SearchRegistry::default();
        let options = SearchOptions {
            max_results: 2,
            filters: SearchFilters {
                extensions: vec!["mp3".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let rx = registry.open(5, &options).unwrap();
        assert!(registry.open(5, &options).is_none(), "ticket in use");
        let mut search = Search::new(5, rx, Duration::from_secs(10), registry.clone());
        assert_eq!(registry.route(reply(6, &["a.mp3"])), 0, "unknown ticket");
        assert_eq!(
            registry.route(reply(5, &["a.mp3", "b.txt", "c.mp3", "d.mp3"])),
            2
        );
        assert_eq!(
            registry.route(reply(5, &["e.mp3"])),
            0,
            "closed at the limit"
        );
        let first = search.next().await.unwrap();
        assert_eq!((first.username.as_str(), first.avg_speed), ("bob", 7));
        assert_eq!(search.next().await.unwrap().file.filename, "c.mp3");
        assert_eq!(search.next().await, None);
    }

    #[test]
    fn a_flood_of_results_is_cut_at_the_queue_size() {
        let registry = SearchRegistry::default();
        let options = SearchOptions {
            max_results: 10 * RESULT_QUEUE,
            ..Default::default()
        };
        let _rx = registry.open(9, &options).unwrap();
        let names: Vec<String> = (0..2 * RESULT_QUEUE).map(|i| format!("{i}.mp3")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(registry.route(reply(9, &names)), RESULT_QUEUE);
        assert_eq!(
            registry.route(reply(9, &names)),
            0,
            "unread results are dropped"
        );
    }

    #[tokio::test]
    async fn a_search_ends_at_its_timeout_and_late_replies_are_dropped() {
        let registry = SearchRegistry::default();
        let rx = registry.open(1, &SearchOptions::default()).unwrap();
        let mut search = Search::new(1, rx, Duration::from_millis(20), registry.clone());
        assert_eq!(search.next().await, None);
        assert_eq!(registry.route(reply(1, &["a.mp3"])), 0);
        drop(search);
        assert!(registry.open(1, &SearchOptions::default()).is_some());
    }
}
