//! Sharing: scanning our shared folders, answering searches, browse and
//! folder-contents requests, and asking peers for theirs.
//!
//! One [`Sharing`] per client, shared by the [`Client`](super::Client)
//! handles, the session driver (which hands it FileSearch relays,
//! ExcludedSearchPhrases and WishlistInterval from the server) and the peer
//! task (which hands it the peer messages about searches and shares). The
//! current [`Shares`] sit behind an `Arc` swapped whole after each scan, so
//! a search being answered keeps the shares it started with.
//!
//! What to answer, and to whom, is decided by [`search_answer`] (pure);
//! this module carries it out.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use slsk_proto::peer::{
    PeerDirectoryContentsReply, PeerDirectoryContentsRequest, PeerMessage, PeerSearchReply,
    PeerSharesReply, PeerSharesRequest,
};
use slsk_proto::server::ServerResponse;
use slsk_proto::structures::FileData;
use slsk_shares::{
    ExcludedPhrases, ScanCache, ScanError, ScanOptions, SearchSettings, SharedFolder, Shares,
};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tracing::debug;

use super::driver::Request;
use super::error::PeerRequestError;
use super::events::Event;
use super::search::SearchRegistry;
use super::session::Command;
use crate::{PeerEvent, PeerFrame, Peers};

/// What we share and how we answer ([`ClientConfig::shares`](super::ClientConfig::shares)).
#[derive(Debug, Clone)]
pub struct SharesConfig {
    /// The shared folders, each published under its virtual name.
    pub folders: Vec<SharedFolder>,
    /// Where the scan cache (SQLite) lives; `None` keeps it in memory, so
    /// every scan reads every file again.
    pub cache_path: Option<PathBuf>,
    /// Scan once the session is logged in (then SharedFoldersFiles is sent).
    pub scan_on_connect: bool,
    /// Limits on incoming searches (minimum query length, results per reply).
    pub search: SearchSettings,
    /// Advertised in our search replies when the client runs no transfers
    /// (feature `transfers` off, or [`ClientConfig::transfers`](super::ClientConfig::transfers)
    /// `None`); with transfers, the upload queue's own state is advertised.
    pub slot_free: bool,
    /// Advertised average upload speed, bytes per second, without
    /// transfers (with them: the average of our finished uploads).
    pub avg_speed: u32,
    /// Advertised upload queue length without transfers (with them: the
    /// uploads waiting for a slot).
    pub queue_length: u32,
}

impl Default for SharesConfig {
    fn default() -> Self {
        Self {
            folders: Vec::new(),
            cache_path: None,
            scan_on_connect: true,
            search: SearchSettings::default(),
            slot_free: true,
            avg_speed: 0,
            queue_length: 0,
        }
    }
}

/// What a finished scan reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanSummary {
    /// Folders shared (as sent in SharedFoldersFiles).
    pub folders: u32,
    /// Files shared.
    pub files: u32,
}

/// Replies being sent at once (search, browse, folder contents); requests
/// arriving meanwhile are not answered, so a flood cannot pile up tasks.
const MAX_SERVING: usize = 32;
/// Wishlist tickets whose replies are still passed on.
const WISHLIST_TICKETS: usize = 16;
/// Browse and folder-contents requests of ours waiting for a reply.
const MAX_WAITING: usize = 64;

/// Search replies to send: to whom, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchAnswer {
    pub(crate) to: String,
    pub(crate) reply: PeerSearchReply,
}

/// What a search reply says about our uploads (client-behaviour.md 4.4:
/// free slot, average speed, queue length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Advertised {
    pub(crate) slot_free: bool,
    pub(crate) avg_speed: u32,
    pub(crate) queue_length: u32,
}

impl Advertised {
    /// The fixed values of the configuration.
    fn configured(config: &SharesConfig) -> Self {
        Self {
            slot_free: config.slot_free,
            avg_speed: config.avg_speed,
            queue_length: config.queue_length,
        }
    }
}

/// Decides whether and what to answer a search relayed by the server from
/// `searcher`: nothing to our own searches, nothing when no file matches
/// (Soulseek clients stay silent), else a PeerSearchReply advertising
/// `advertised`.
pub(crate) fn search_answer(
    own_username: &str,
    searcher: &str,
    ticket: u32,
    query: &str,
    shares: &Shares,
    (settings, excluded): (&SearchSettings, &ExcludedPhrases),
    advertised: Advertised,
) -> Option<SearchAnswer> {
    if searcher == own_username {
        return None;
    }
    let results: Vec<FileData> = shares.search(query, settings, excluded);
    if results.is_empty() {
        return None;
    }
    Some(SearchAnswer {
        to: searcher.to_owned(),
        reply: PeerSearchReply {
            username: own_username.to_owned(),
            ticket,
            results,
            has_slots_free: advertised.slot_free,
            avg_speed: advertised.avg_speed,
            queue_size: advertised.queue_length,
            unknown: Some(0),
            locked_results: None,
        },
    })
}

type BrowseWaiter = oneshot::Sender<PeerSharesReply>;
type FolderWaiter = oneshot::Sender<PeerDirectoryContentsReply>;

/// The sharing side of one client. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Sharing {
    inner: Arc<Inner>,
}

struct Inner {
    username: String,
    config: SharesConfig,
    shares: RwLock<Arc<Shares>>,
    excluded: RwLock<Arc<ExcludedPhrases>>,
    peers: Peers,
    /// Weak: the event stream ends when the session does, even while
    /// [`Client`](super::Client) handles (which hold this) live on.
    events: mpsc::WeakSender<Event>,
    /// The session's request queue, weak so sharing does not keep the
    /// session alive.
    requests: mpsc::WeakSender<Request>,
    searches: SearchRegistry,
    next_ticket: AtomicU32,
    browsing: Mutex<HashMap<String, Vec<BrowseWaiter>>>,
    folders: Mutex<HashMap<(String, u32), FolderWaiter>>,
    serving: Arc<Semaphore>,
    /// One scan at a time.
    scanning: tokio::sync::Mutex<()>,
    wishlist: Mutex<Wishlist>,
    /// The upload queue's state, once the transfer task runs.
    #[cfg(feature = "transfers")]
    upload_status: std::sync::OnceLock<Arc<super::transfers::UploadStatus>>,
}

/// Wishlist terms, searched one per server interval, round robin.
#[derive(Default)]
struct Wishlist {
    terms: Vec<String>,
    next: usize,
    interval: Option<Duration>,
    /// Tickets of the latest wishlist searches (at most
    /// [`WISHLIST_TICKETS`]): their replies go to the application.
    tickets: std::collections::VecDeque<u32>,
    timer: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Sharing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sharing")
            .field("username", &self.inner.username)
            .finish_non_exhaustive()
    }
}

impl Sharing {
    pub(crate) fn new(
        username: &str,
        config: SharesConfig,
        peers: Peers,
        events: mpsc::Sender<Event>,
        requests: mpsc::WeakSender<Request>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                username: username.to_owned(),
                config,
                shares: RwLock::new(Arc::new(Shares::empty())),
                excluded: RwLock::new(Arc::new(ExcludedPhrases::default())),
                peers,
                events: events.downgrade(),
                requests,
                searches: SearchRegistry::default(),
                next_ticket: AtomicU32::new(rand::random::<u32>() >> 1),
                browsing: Mutex::new(HashMap::new()),
                folders: Mutex::new(HashMap::new()),
                serving: Arc::new(Semaphore::new(MAX_SERVING)),
                scanning: tokio::sync::Mutex::new(()),
                wishlist: Mutex::new(Wishlist::default()),
                #[cfg(feature = "transfers")]
                upload_status: std::sync::OnceLock::new(),
            }),
        }
    }

    pub(crate) fn config(&self) -> &SharesConfig {
        &self.inner.config
    }

    /// Search replies advertise the state of this upload queue from now on
    /// (instead of the configured values).
    #[cfg(feature = "transfers")]
    pub(crate) fn advertise_uploads(&self, status: Arc<super::transfers::UploadStatus>) {
        let _ = self.inner.upload_status.set(status);
    }

    /// What search replies say about our uploads now.
    fn advertised(&self) -> Advertised {
        #[cfg(feature = "transfers")]
        if let Some(status) = self.inner.upload_status.get() {
            let figures = status.load();
            return Advertised {
                slot_free: figures.free_slot,
                avg_speed: figures.average_speed,
                queue_length: figures.queue_length,
            };
        }
        Advertised::configured(&self.inner.config)
    }

    pub(crate) fn searches(&self) -> &SearchRegistry {
        &self.inner.searches
    }

    /// A fresh ticket from our own counter.
    pub(crate) fn next_ticket(&self) -> u32 {
        self.inner.next_ticket.fetch_add(1, Ordering::Relaxed)
    }

    /// The shares answered from now.
    pub(crate) fn current(&self) -> Arc<Shares> {
        self.inner
            .shares
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Scans the configured folders on a blocking thread and swaps the
    /// result in, emitting [`Event::ScanProgress`] (lossy: dropped when the
    /// event stream is full) and [`Event::ScanComplete`] or
    /// [`Event::ScanFailed`].
    pub(crate) async fn scan(&self) -> Result<ScanSummary, String> {
        let _one_at_a_time = self.inner.scanning.lock().await;
        let folders = self.inner.config.folders.clone();
        let cache_path = self.inner.config.cache_path.clone();
        let events = self.inner.events.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut cache = match &cache_path {
                Some(path) => ScanCache::open(path),
                None => ScanCache::in_memory(),
            }
            .map_err(ScanError::Cache)?;
            let outcome =
                slsk_shares::scan(&folders, &mut cache, &ScanOptions::default(), &mut |p| {
                    if let Some(events) = events.upgrade() {
                        let _ = events.try_send(Event::ScanProgress(p));
                    }
                })?;
            // The browse reply is built and compressed once per scan, here,
            // not when the first request comes.
            let _ = outcome.shares.browse_frame();
            Ok::<_, ScanError>(outcome)
        })
        .await;
        let result = match outcome {
            Ok(Ok(outcome)) => {
                let shares = outcome.shares;
                let summary = ScanSummary {
                    folders: u32::try_from(shares.folder_count()).unwrap_or(u32::MAX),
                    files: u32::try_from(shares.file_count()).unwrap_or(u32::MAX),
                };
                *self.inner.shares.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(shares);
                Ok(summary)
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(error) => Err(format!("scan task failed: {error}")),
        };
        let event = match &result {
            Ok(summary) => Event::ScanComplete(*summary),
            Err(error) => Event::ScanFailed(error.clone()),
        };
        if let Some(events) = self.inner.events.upgrade() {
            let _ = events.send(event).await;
        }
        result
    }

    /// Scans, then tells the server how much we share (SharedFoldersFiles,
    /// remembered by the session for later logins).
    pub(crate) async fn scan_and_publish(&self) -> Result<ScanSummary, String> {
        let summary = self.scan().await?;
        let command = Command::SetShareCounts {
            folders: summary.folders,
            files: summary.files,
        };
        self.request(command).await;
        Ok(summary)
    }

    /// Hands `command` to the session, if it still runs, and waits until it
    /// is carried out.
    async fn request(&self, command: Command) -> bool {
        let Some(requests) = self.inner.requests.upgrade() else {
            return false;
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        if requests
            .send(Request::Command(command, reply_tx))
            .await
            .is_err()
        {
            return false;
        }
        matches!(reply_rx.await, Ok(Ok(_)))
    }

    /// A server message the session received.
    pub(crate) fn server_message(&self, message: &ServerResponse) {
        match message {
            ServerResponse::ExcludedSearchPhrases(phrases) => {
                *self
                    .inner
                    .excluded
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) =
                    Arc::new(ExcludedPhrases::new(&phrases.phrases));
            }
            ServerResponse::FileSearch(search) => {
                self.answer_search(&search.username, search.ticket, &search.query)
            }
            ServerResponse::WishlistInterval(interval) => {
                self.set_wishlist_interval(Duration::from_secs(
                    u64::from(interval.interval).max(1),
                ));
            }
            _ => {}
        }
    }

    /// Answers a search (relayed by the server or from the distributed
    /// network) in a task of its own, if some shared file matches.
    pub(crate) fn answer_search(&self, searcher: &str, ticket: u32, query: &str) {
        if searcher == self.inner.username || self.current().file_count() == 0 {
            return;
        }
        let Ok(permit) = self.inner.serving.clone().try_acquire_owned() else {
            debug!(%searcher, "too many replies under way, search not answered");
            return;
        };
        let this = self.clone();
        let (searcher, query) = (searcher.to_owned(), query.to_owned());
        // Matching can take a while on a large share: off the async threads.
        tokio::spawn(async move {
            let shares = this.current();
            let excluded = this
                .inner
                .excluded
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let decide = this.clone();
            let advertised = this.advertised();
            let answer = tokio::task::spawn_blocking(move || {
                search_answer(
                    &decide.inner.username,
                    &searcher,
                    ticket,
                    &query,
                    &shares,
                    (&decide.inner.config.search, &excluded),
                    advertised,
                )
            })
            .await
            .ok()
            .flatten();
            if let Some(answer) = answer
                && let Err(error) = this.inner.peers.send(&answer.to, answer.reply.into()).await
            {
                debug!(to = %answer.to, %error, "search reply not sent");
            }
            drop(permit);
        });
    }

    /// Takes the peer events about searches and shares; gives back the
    /// others.
    pub(crate) fn peer_event(&self, event: PeerEvent) -> Option<PeerEvent> {
        let PeerEvent::Message { username, message } = event else {
            return Some(event);
        };
        match message {
            PeerMessage::PeerSearchReply(reply) if self.is_wishlist_ticket(reply.ticket) => {
                return Some(PeerEvent::Message {
                    username,
                    message: reply.into(),
                });
            }
            PeerMessage::PeerSearchReply(reply) => {
                let delivered = self.inner.searches.route(reply);
                debug!(%username, delivered, "search reply");
            }
            PeerMessage::PeerSharesRequest(_) => self.serve_browse(username),
            PeerMessage::PeerDirectoryContentsRequest(request) => {
                self.serve(username, move |shares, _| {
                    shares
                        .folder_contents(request.ticket, &request.directory)
                        .into()
                })
            }
            PeerMessage::PeerSharesReply(reply) => {
                let waiters = self
                    .inner
                    .browsing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&username);
                match waiters {
                    Some(waiters) => {
                        for waiter in waiters {
                            let _ = waiter.send(reply.clone());
                        }
                    }
                    None => {
                        return Some(PeerEvent::Message {
                            username,
                            message: reply.into(),
                        });
                    }
                }
            }
            PeerMessage::PeerDirectoryContentsReply(reply) => {
                let waiter = self
                    .inner
                    .folders
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&(username.clone(), reply.ticket));
                match waiter {
                    Some(waiter) => {
                        let _ = waiter.send(reply);
                    }
                    None => {
                        return Some(PeerEvent::Message {
                            username,
                            message: reply.into(),
                        });
                    }
                }
            }
            message => return Some(PeerEvent::Message { username, message }),
        }
        None
    }

    /// Sends the browse reply of the current shares: the frame built and
    /// compressed once per scan (`Shares::browse_frame`, made right after
    /// the scan), the same bytes for every request.
    fn serve_browse(&self, username: String) {
        let Ok(permit) = self.inner.serving.clone().try_acquire_owned() else {
            debug!(%username, "too many replies under way, browse not answered");
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let shares = this.current();
            // Built already unless the scan has not finished warming it.
            let frame = tokio::task::spawn_blocking(move || browse_frame(&shares)).await;
            match frame {
                Ok(Some(frame)) => {
                    if let Err(error) = this.inner.peers.send_frame(&username, frame).await {
                        debug!(%username, %error, "browse reply not sent");
                    }
                }
                Ok(None) => debug!(%username, "share list too large for one frame: not sent"),
                Err(error) => debug!(%username, %error, "browse reply task failed"),
            }
            drop(permit);
        });
    }

    /// Builds a reply from the current shares on a blocking thread (a
    /// folder of a large share is big) and sends it.
    fn serve<F>(&self, username: String, build: F)
    where
        F: FnOnce(&Shares, &str) -> PeerMessage + Send + 'static,
    {
        let Ok(permit) = self.inner.serving.clone().try_acquire_owned() else {
            debug!(%username, "too many replies under way, request not answered");
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let shares = this.current();
            let own = this.inner.username.clone();
            let Ok(reply) = tokio::task::spawn_blocking(move || build(&shares, &own)).await else {
                return;
            };
            if let Err(error) = this.inner.peers.send(&username, reply).await {
                debug!(%username, %error, "shares reply not sent");
            }
            drop(permit);
        });
    }

    /// Asks `username` for their whole share list and waits for it.
    pub(crate) async fn browse(
        &self,
        username: &str,
        timeout: Duration,
    ) -> Result<PeerSharesReply, PeerRequestError> {
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut browsing = self
                .inner
                .browsing
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            browsing.retain(|_, waiters| {
                waiters.retain(|w| !w.is_closed());
                !waiters.is_empty()
            });
            if browsing.len() >= MAX_WAITING && !browsing.contains_key(username) {
                return Err(PeerRequestError::TooManyPending);
            }
            let waiters = browsing.entry(username.to_owned()).or_default();
            waiters.push(tx);
            waiters.len() == 1
        };
        if first {
            let request = PeerSharesRequest { ticket: None };
            self.inner
                .peers
                .send(username, request.into())
                .await
                .map_err(PeerRequestError::from)?;
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(PeerRequestError::Closed),
            Err(_) => Err(PeerRequestError::Timeout),
        }
    }

    /// Asks `username` for the contents of one folder and waits for it.
    pub(crate) async fn folder_contents(
        &self,
        username: &str,
        directory: &str,
        timeout: Duration,
    ) -> Result<PeerDirectoryContentsReply, PeerRequestError> {
        let ticket = self.next_ticket();
        let key = (username.to_owned(), ticket);
        let (tx, rx) = oneshot::channel();
        {
            let mut folders = self.inner.folders.lock().unwrap_or_else(|e| e.into_inner());
            folders.retain(|_, w| !w.is_closed());
            if folders.len() >= MAX_WAITING {
                return Err(PeerRequestError::TooManyPending);
            }
            folders.insert(key.clone(), tx);
        }
        let request = PeerDirectoryContentsRequest {
            ticket,
            directory: directory.to_owned(),
        };
        let result = match self.inner.peers.send(username, request.into()).await {
            Ok(()) => match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(reply)) => Ok(reply),
                Ok(Err(_)) => Err(PeerRequestError::Closed),
                Err(_) => Err(PeerRequestError::Timeout),
            },
            Err(error) => Err(PeerRequestError::from(error)),
        };
        self.inner
            .folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        result
    }

    /// Adds a wishlist term (searched at the server's WishlistInterval).
    pub(crate) fn add_wishlist(&self, term: &str) {
        let mut wishlist = self
            .inner
            .wishlist
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !wishlist.terms.iter().any(|t| t == term) {
            wishlist.terms.push(term.to_owned());
        }
    }

    /// The next wishlist term, round robin, with a fresh ticket remembered
    /// as a wishlist ticket.
    fn next_wishlist_search(&self) -> Option<(u32, String)> {
        let mut wishlist = self
            .inner
            .wishlist
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut next = wishlist.next;
        let term = next_round_robin(&wishlist.terms, &mut next)?;
        wishlist.next = next;
        let ticket = self.next_ticket();
        if wishlist.tickets.len() >= WISHLIST_TICKETS {
            wishlist.tickets.pop_front();
        }
        wishlist.tickets.push_back(ticket);
        Some((ticket, term))
    }

    fn is_wishlist_ticket(&self, ticket: u32) -> bool {
        let wishlist = self
            .inner
            .wishlist
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        wishlist.tickets.contains(&ticket)
    }

    /// (Re)starts the wishlist timer: one term per interval.
    fn set_wishlist_interval(&self, interval: Duration) {
        let mut wishlist = self
            .inner
            .wishlist
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if wishlist.interval == Some(interval) && wishlist.timer.is_some() {
            return;
        }
        wishlist.interval = Some(interval);
        if let Some(timer) = wishlist.timer.take() {
            timer.abort();
        }
        // The timer holds the sharing state weakly: it ends with the client.
        let this = Arc::downgrade(&self.inner);
        wishlist.timer = Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(inner) = this.upgrade() else {
                    return;
                };
                let sharing = Sharing { inner };
                if let Some((ticket, term)) = sharing.next_wishlist_search() {
                    let query = slsk_shares::sanitize_outgoing_query(&term).wire;
                    let request = slsk_proto::server::WishlistSearchRequest { ticket, query };
                    if !sharing.request(Command::Send(request.into())).await {
                        return;
                    }
                }
            }
        }));
    }
}

/// The browse reply of `shares` as a frame (made on the first call, shared
/// by every later one); `None` if the share list does not fit in a frame.
pub(crate) fn browse_frame(shares: &Shares) -> Option<PeerFrame> {
    shares.browse_frame().ok().and_then(PeerFrame::new)
}

/// The item at `*next` (wrapping), advancing `next`.
fn next_round_robin(items: &[String], next: &mut usize) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let item = items[*next % items.len()].clone();
    *next = (*next + 1) % items.len();
    Some(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::FramedMessage;
    use slsk_shares::SharedFile;

    fn shares() -> Shares {
        let file = |p: &str| SharedFile {
            virtual_path: p.into(),
            size: 1,
            attributes: Default::default(),
        };
        Shares::from_files(
            &[SharedFolder::new("Music", "/nonexistent")],
            vec![
                file("Music\\Air\\Moon Safari\\Sexy Boy.mp3"),
                file("Music\\Secret\\Sexy Remix.mp3"),
            ],
        )
        .unwrap()
    }

    #[test]
    fn answers_matching_searches_from_others_only() {
        let config = SharesConfig {
            slot_free: false,
            avg_speed: 9,
            queue_length: 2,
            ..Default::default()
        };
        let advertised = Advertised::configured(&config);
        let none = &ExcludedPhrases::default();
        let settings = &config.search;
        let shares = shares();
        let answer = search_answer(
            "me",
            "bob",
            7,
            "sexy boy",
            &shares,
            (settings, none),
            advertised,
        )
        .unwrap();
        assert_eq!(answer.to, "bob");
        assert_eq!(answer.reply.username, "me");
        assert_eq!(answer.reply.ticket, 7);
        assert_eq!(answer.reply.results.len(), 1);
        assert_eq!(
            (
                answer.reply.has_slots_free,
                answer.reply.avg_speed,
                answer.reply.queue_size
            ),
            (false, 9, 2)
        );
        assert_eq!(
            search_answer("me", "me", 7, "sexy", &shares, (settings, none), advertised),
            None
        );
        assert_eq!(
            search_answer(
                "me",
                "bob",
                7,
                "nothing here",
                &shares,
                (settings, none),
                advertised
            ),
            None
        );
        let excluded = ExcludedPhrases::new(["secret"]);
        let answer = search_answer(
            "me",
            "bob",
            7,
            "sexy",
            &shares,
            (settings, &excluded),
            advertised,
        )
        .unwrap();
        assert_eq!(answer.reply.results.len(), 1);
        assert_eq!(
            search_answer(
                "me",
                "bob",
                7,
                "secret",
                &shares,
                (settings, &excluded),
                advertised
            ),
            None
        );
    }

    #[test]
    fn the_browse_frame_is_built_once_per_shares() {
        let shares = shares();
        let first = browse_frame(&shares).unwrap();
        let second = browse_frame(&shares).unwrap();
        // The same bytes, not a copy: built once.
        assert_eq!(first.as_bytes().as_ptr(), second.as_bytes().as_ptr());
        let decoded = PeerMessage::decode_frame(first.as_bytes()).unwrap();
        assert_eq!(decoded, PeerMessage::from(shares.browse_reply()));
        // A rescan makes new shares, and with them a new frame.
        let rescanned = self::shares();
        let third = browse_frame(&rescanned).unwrap();
        assert_ne!(first.as_bytes().as_ptr(), third.as_bytes().as_ptr());
    }

    #[test]
    fn wishlist_terms_go_round_robin() {
        let terms = vec!["a".to_owned(), "b".to_owned()];
        let mut next = 0;
        let got: Vec<_> = (0..3)
            .filter_map(|_| next_round_robin(&terms, &mut next))
            .collect();
        assert_eq!(got, ["a", "b", "a"]);
        assert_eq!(next_round_robin(&[], &mut next), None);
    }
}
