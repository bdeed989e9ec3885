//! The client session with the server: log in, stay logged in, ask the
//! server things, exchange private messages.
//!
//! [`Client::connect`] opens the connection, logs in, and returns once the
//! server has accepted the login, with a cloneable [`Client`] handle for
//! requests and the bounded [`Events`] stream. A background task (one per
//! session) owns the socket; the protocol decisions live in a state machine
//! without I/O (`session.rs`), which that task drives.
//!
//! The session keeps itself alive: TCP keepalive on the socket and a Ping
//! every [`Timing::ping_interval`]. When the connection is lost it reconnects
//! with jittered exponential backoff ([`ReconnectPolicy`]), logs in again and
//! re-sends its state, reporting [`Event::Disconnected`],
//! [`Event::Reconnecting`] and [`Event::Reconnected`]. It never reconnects
//! after [`Event::Kicked`] (the same user logged in elsewhere) or a rejected
//! login.
//!
//! # Rooms, privileges, interests
//!
//! Rooms, private rooms, tickers and the public feed ([`RoomEvent`]),
//! privileges and interests have typed calls on [`Client`]. Which wait for
//! the server:
//!
//! | call | waits for |
//! |---|---|
//! | [`Client::join_room`], [`Client::join_private_room`] | the JoinRoom reply, or CannotCreateRoom ([`RequestError::RoomIsPrivate`]) |
//! | [`Client::request_room_list`], [`Client::check_privileges`], [`Client::user_privileged`], [`Client::recommendations`], [`Client::global_recommendations`], [`Client::similar_users`], [`Client::item_recommendations`], [`Client::item_similar_users`], [`Client::user_interests`] | the reply; concurrent identical calls share one request |
//! | everything else (leave, say, tickers, private-room management, invitations, the feed, giving privileges, interest changes) | nothing: resolves once written. The server confirms some with a [`RoomEvent`] and explains refusals in a private message from `server` |
//!
//! Every waiting call fails with [`RequestError::Timeout`] after
//! [`Timing::request_timeout`]. Settings (interests, room invitations, the
//! feed) changed while reconnecting are remembered and sent after the next
//! login, with a JoinRoom for every room we were in.
//!
//! What the application would otherwise rebuild from events is kept by the
//! session and read without a round trip: [`Client::rooms`],
//! [`Client::room_list`], [`Client::private_rooms`], [`Client::watched`],
//! [`Client::privileged_users`], [`Client::privileges_time_left`],
//! [`Client::interests`]. The session task updates that state (a shared
//! snapshot behind a lock no one holds across an `.await`) before it emits
//! the event that reports the change, so a consumer that has seen an event
//! reads state at least that new.
//!
//! A JoinRoom the server sends without our asking is kept (tracked,
//! reported, rejoined), not answered with LeaveRoom as Nicotine+ does: it
//! may be the late reply to a join that timed out, or a join the
//! application sent with [`Client::send`]; [`Client::leave_room`] leaves.
//!
//! The client owns a peer connection layer ([`Peers`], configured by
//! [`ClientConfig::peer`]): [`Client::connect`] starts its listeners and
//! advertises the ports they bound (or [`ClientConfig::advertised_port`])
//! with the login, passes it every server message and forwards its requests
//! to the server. Over it the client answers user info requests from
//! [`ClientConfig::user_info`] and asks peers for theirs with
//! [`Client::user_info`]; other peer messages arrive as
//! [`Event::PeerMessage`]. [`Client::peers`] gives the layer itself, for
//! what the client does not do yet.
//!
//! # Sharing and searching (feature `shares`, on by default)
//!
//! With the `shares` cargo feature (which pulls in `slsk-shares`, SQLite and
//! lofty; build with `default-features = false` to leave them out) the
//! client shares [`SharesConfig::folders`]: it scans them on a blocking
//! thread once logged in (and on [`Client::rescan`]), swaps the new shares
//! in atomically, sends SharedFoldersFiles, and reports
//! [`Event::ScanProgress`] / [`Event::ScanComplete`] / [`Event::ScanFailed`].
//! It answers searches relayed by the server (never our own, never when
//! nothing matches, the server's excluded phrases applied) with a
//! PeerSearchReply over the searcher's `P` connection advertising
//! whether an upload slot is free, the average speed of our finished
//! uploads and the number of uploads waiting, read from the upload queue
//! when transfers run ([`SharesConfig::slot_free`],
//! [`SharesConfig::avg_speed`] and [`SharesConfig::queue_length`] without
//! them); it answers every browse with the PeerSharesReply frame built and
//! compressed once per scan (the same bytes for every request, sent with
//! [`Peers::send_frame`]) and every folder contents request. [`Client::search`] searches, [`Client::browse`] and
//! [`Client::folder_contents`] ask peers for their shares, and
//! [`Client::add_wishlist`] adds a wishlist term: one term is searched per
//! server WishlistInterval, round robin.

mod backoff;
mod config;
pub mod distributed;
mod driver;
mod error;
mod events;
mod peer;
mod rooms;
#[cfg(feature = "shares")]
mod search;
mod session;
#[cfg(feature = "shares")]
mod shares;
mod social;
mod state;
#[cfg(feature = "transfers")]
mod transfers;
mod user_info;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use slsk_proto::peer::PeerUserInfoReply;
use slsk_proto::server::{
    AddUserResponse, GetPeerAddressResponse, GetUserStatsResponse, GetUserStatusResponse,
    ServerRequest,
};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

pub use config::{
    CLIENT_MAJOR_VERSION, CLIENT_MINOR_VERSION, ClientConfig, OwnStatus, ReconnectPolicy, Timing,
    UserInfoSettings,
};
pub use distributed::{DistributedConfig, DistributedEvent, DistributedState};
pub use error::{ConnectError, PeerRequestError, RequestError};
pub use events::{Event, Events, LoginInfo, PrivateMessage};
pub use rooms::RoomEvent;
#[cfg(feature = "shares")]
pub use search::{
    MAX_ACTIVE_SEARCHES, Search, SearchFilters, SearchOptions, SearchResult, SearchScope,
};
#[cfg(feature = "shares")]
pub use shares::{ScanSummary, SharesConfig};
pub use state::{
    Interests, MAX_JOINED_ROOMS, MAX_PRIVATE_ROOMS, MAX_PRIVILEGED_USERS, MAX_ROOM_TICKERS,
    MAX_ROOM_USERS, PrivateRoom, RoomState, WatchedUser,
};

#[cfg(feature = "transfers")]
pub use transfers::{
    Download, DownloadId, DownloadState, FailReason, QueueStorage, ShareResolverFn, SharedFile,
    TransferError, TransferEvent, TransferSettings,
};

use crate::Peers;
use driver::{Driver, Request};
use peer::{PeerCommand, PeerTask};
use session::{Command, Reply, Session};
use state::SharedState;

/// Room for the peer layer's requests to the server (GetPeerAddress,
/// ConnectToPeer, CannotConnect); the session task drains it as they come.
const PEER_TO_SERVER_QUEUE: usize = 256;

/// A handle to a logged-in session. Cheap to clone; every clone talks to
/// the same session. The session shuts down when [`Client::shutdown`] is
/// called or every handle is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    requests: mpsc::Sender<Request>,
    /// What the session keeps (rooms, watched users, privileges,
    /// interests), read without a round trip.
    state: SharedState,
    peer_commands: mpsc::Sender<PeerCommand>,
    peers: Peers,
    #[cfg(feature = "shares")]
    sharing: shares::Sharing,
    #[cfg(feature = "shares")]
    browse_timeout: std::time::Duration,
    #[cfg(feature = "transfers")]
    transfers: Option<transfers::TransferHandle>,
    /// The distributed network's task, when it is on.
    distributed: Option<distributed::DistributedHandle>,
}

impl Client {
    /// Start the peer layer, connect to `config.server`, log in, and return
    /// once the server has accepted the login.
    ///
    /// The peer listeners bind first ([`ClientConfig::peer`]); the login
    /// carries [`CLIENT_MAJOR_VERSION`], and SetListenPort goes out in the
    /// same write with the ports they bound, or the
    /// [`advertised_port`](ClientConfig::advertised_port) overrides. After
    /// the login the session sends its state (see [`ClientConfig`] for what
    /// it advertises).
    pub async fn connect(mut config: ClientConfig) -> Result<(Client, Events), ConnectError> {
        let (to_server_tx, to_server_rx) = mpsc::channel(PEER_TO_SERVER_QUEUE);
        #[cfg(feature = "transfers")]
        let transfers_to_server = to_server_tx.clone();
        let distributed_to_server = to_server_tx.clone();
        let (peers, peer_events) = Peers::start(config.peer.clone(), to_server_tx)
            .await
            .map_err(ConnectError::Listen)?;
        config.advertised_port = Some(config.advertised_port.unwrap_or(peers.listen_port()));
        config.advertised_obfuscated_port = peers
            .obfuscated_port()
            .map(|bound| config.advertised_obfuscated_port.unwrap_or(bound));

        let (request_tx, request_rx) = mpsc::channel(config.command_capacity.max(1));
        let (peer_command_tx, peer_command_rx) = mpsc::channel(peer::COMMAND_QUEUE);
        let (event_tx, event_rx) = mpsc::channel(config.event_capacity.max(1));
        let (login_tx, login_rx) = oneshot::channel();
        let span = tracing::info_span!("slsk_client", user = %config.username);
        let peer_task = PeerTask::new(
            &config,
            peers.clone(),
            peer_events,
            peer_command_rx,
            event_tx.clone(),
        );
        #[cfg(feature = "shares")]
        let sharing = shares::Sharing::new(
            &config.username,
            config.shares.clone(),
            peers.clone(),
            event_tx.clone(),
            request_tx.downgrade(),
        );
        #[cfg(feature = "shares")]
        let peer_task = peer_task.with_sharing(sharing.clone());
        #[cfg(feature = "shares")]
        let browse_timeout = config.browse_timeout;
        #[cfg(feature = "transfers")]
        let (peer_task, transfers) = match &config.transfers {
            Some(settings) => {
                #[cfg(feature = "shares")]
                let settings = &settings.serving_shares(sharing.clone());
                let handle = transfers::start(
                    settings,
                    peers.clone(),
                    transfers_to_server,
                    request_tx.downgrade(),
                    event_tx.clone(),
                    span.clone(),
                )
                .map_err(ConnectError::TransferQueue)?;
                #[cfg(feature = "shares")]
                sharing.advertise_uploads(handle.upload_status.clone());
                (
                    peer_task.with_transfers(handle.inputs.clone(), handle.upload_status.clone()),
                    Some(handle),
                )
            }
            None => (peer_task, None),
        };
        let distributed = config.distributed.enabled.then(|| {
            #[cfg(feature = "shares")]
            let answer: Option<distributed::driver::AnswerFn> = {
                let sharing = sharing.clone();
                Some(std::sync::Arc::new(
                    move |searcher: &str, ticket, query: &str| {
                        sharing.answer_search(searcher, ticket, query)
                    },
                ))
            };
            #[cfg(not(feature = "shares"))]
            let answer = None;
            distributed::start(
                &config.username,
                config.distributed.clone(),
                config.peer.limits.clone(),
                peers.clone(),
                distributed_to_server,
                event_tx.clone(),
                answer,
                span.clone(),
            )
        });
        let (distributed_feed, distributed) = match distributed {
            Some((feed, handle)) => (Some(feed), Some(handle)),
            None => (None, None),
        };
        let peer_task = match &distributed {
            Some(handle) => peer_task.with_distributed(handle.clone()),
            None => peer_task,
        };
        tokio::spawn(peer_task.run().instrument(span.clone()));
        let session = Session::new(config.clone(), SmallRng::from_rng(&mut rand::rng()));
        let state = session.shared();
        let driver = Driver::new(
            config,
            session,
            request_rx,
            peers.clone(),
            to_server_rx,
            event_tx,
            login_tx,
        );
        #[cfg(feature = "shares")]
        let driver = driver.with_sharing(sharing.clone());
        let driver = match distributed_feed {
            Some(feed) => driver.with_distributed(feed),
            None => driver,
        };
        #[cfg(feature = "transfers")]
        let driver = match &transfers {
            Some(handle) => driver.with_transfers(handle.inputs.clone()),
            None => driver,
        };
        tokio::spawn(driver.run().instrument(span));
        match login_rx.await {
            Ok(Ok(_info)) => {
                #[cfg(feature = "shares")]
                if sharing.config().scan_on_connect && !sharing.config().folders.is_empty() {
                    let sharing = sharing.clone();
                    tokio::spawn(async move {
                        let _ = sharing.scan_and_publish().await;
                    });
                }
                Ok((
                    Client {
                        requests: request_tx,
                        state,
                        peer_commands: peer_command_tx,
                        peers,
                        #[cfg(feature = "shares")]
                        sharing,
                        #[cfg(feature = "shares")]
                        browse_timeout,
                        #[cfg(feature = "transfers")]
                        transfers,
                        distributed,
                    },
                    Events::new(event_rx),
                ))
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ConnectError::Closed),
        }
    }

    /// A user's info (description, picture, upload slots and queue), asked
    /// over the user's `P` connection, opened first if there is none.
    ///
    /// Concurrent calls for the same user share one request. Fails with
    /// [`PeerRequestError::Offline`] if the server says the user is offline,
    /// [`PeerRequestError::Unreachable`] if neither connection path works,
    /// [`PeerRequestError::Timeout`] without a connection or a reply in
    /// time ([`Timing::peer_request_timeout`]).
    pub async fn user_info(&self, username: &str) -> Result<PeerUserInfoReply, PeerRequestError> {
        let (reply, answer) = oneshot::channel();
        self.peer_commands
            .send(PeerCommand::UserInfo {
                username: username.into(),
                reply,
            })
            .await
            .map_err(|_| PeerRequestError::Closed)?;
        answer.await.map_err(|_| PeerRequestError::Closed)?
    }

    /// Scans the shared folders again, swaps the new shares in and sends
    /// SharedFoldersFiles. Returns what is shared now; on failure the
    /// previous shares stay. Scans run one at a time.
    #[cfg(feature = "shares")]
    pub async fn rescan(&self) -> Result<ScanSummary, String> {
        self.sharing.scan_and_publish().await
    }

    /// Searches for `query` (sanitised per client-behaviour.md 4.1) among
    /// [`SearchOptions::scope`]; results arrive on the returned [`Search`]
    /// as peers reply, filtered by [`SearchOptions::filters`], until the
    /// timeout or the result limit.
    ///
    /// ```no_run
    /// # async fn demo(client: slsk_net::client::Client) -> Result<(), slsk_net::client::RequestError> {
    /// use slsk_net::client::{SearchFilters, SearchOptions};
    /// let options = SearchOptions {
    ///     filters: SearchFilters { extensions: vec!["flac".into()], ..Default::default() },
    ///     ..Default::default()
    /// };
    /// let mut search = client.search("moon safari", options).await?;
    /// while let Some(result) = search.next().await {
    ///     println!("{} has {}", result.username, result.file.filename);
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "shares")]
    pub async fn search(
        &self,
        query: &str,
        options: SearchOptions,
    ) -> Result<Search, RequestError> {
        use slsk_proto::server::{FileSearchRequest, RoomSearchRequest, UserSearchRequest};
        let query = slsk_shares::sanitize_outgoing_query(query).wire;
        let ticket = self.sharing.next_ticket();
        let registry = self.sharing.searches().clone();
        let results = registry
            .open(ticket, &options)
            .ok_or(RequestError::TooManyPending)?;
        // Registered before it is sent: no reply can come before.
        let search = Search::new(ticket, results, options.timeout, registry);
        let request: ServerRequest = match options.scope {
            SearchScope::Global => FileSearchRequest { ticket, query }.into(),
            SearchScope::User(username) => UserSearchRequest {
                username,
                ticket,
                query,
            }
            .into(),
            SearchScope::Room(room) => RoomSearchRequest {
                room,
                ticket,
                query,
            }
            .into(),
        };
        self.send(request).await?;
        Ok(search)
    }

    /// Adds a wishlist term. The session searches one term each time the
    /// server's WishlistInterval elapses, taking the terms in turn; results
    /// arrive as [`Event::PeerMessage`] (no [`Search`] waits for them; the
    /// replies to the latest 16 wishlist searches are passed on).
    #[cfg(feature = "shares")]
    pub fn add_wishlist(&self, term: &str) {
        self.sharing.add_wishlist(term);
    }

    /// A user's whole share list (PeerSharesRequest), waiting at most
    /// [`ClientConfig::browse_timeout`] for the reply. Concurrent calls for
    /// the same user share one request.
    #[cfg(feature = "shares")]
    pub async fn browse(
        &self,
        username: &str,
    ) -> Result<slsk_proto::peer::PeerSharesReply, PeerRequestError> {
        self.sharing.browse(username, self.browse_timeout).await
    }

    /// The contents of one of a user's folders
    /// (PeerDirectoryContentsRequest), waiting at most
    /// [`ClientConfig::browse_timeout`] for the reply.
    #[cfg(feature = "shares")]
    pub async fn folder_contents(
        &self,
        username: &str,
        folder: &str,
    ) -> Result<slsk_proto::peer::PeerDirectoryContentsReply, PeerRequestError> {
        self.sharing
            .folder_contents(username, folder, self.browse_timeout)
            .await
    }

    /// Our place in the distributed search network: parent, branch level
    /// and root, children, whether we take more. Read without a round trip;
    /// changes are reported as [`Event::Distributed`]. All empty when
    /// [`DistributedConfig::enabled`] is false.
    ///
    /// ```no_run
    /// # fn demo(client: slsk_net::client::Client) {
    /// let tree = client.distributed();
    /// match &tree.parent {
    ///     Some(parent) => println!("level {} under {parent}, root {}", tree.branch_level, tree.branch_root),
    ///     None if !tree.branch_root.is_empty() => println!("branch root, {} children", tree.children.len()),
    ///     None => println!("looking for a parent (searches come from the server directly)"),
    /// }
    /// # }
    /// ```
    pub fn distributed(&self) -> DistributedState {
        self.distributed
            .as_ref()
            .map(|handle| handle.state())
            .unwrap_or_default()
    }

    /// The peer connection layer this client owns: its bound ports,
    /// [`Peers::stats`], and raw peer messages ([`Peers::send`]) for what
    /// the client does not do itself yet. It shuts down with the session.
    pub fn peers(&self) -> &Peers {
        &self.peers
    }

    /// A user's address and listening ports (GetPeerAddress). An offline or
    /// unknown user comes back as `0.0.0.0` port 0. Concurrent requests for
    /// the same user share one server request.
    pub async fn peer_address(
        &self,
        username: &str,
    ) -> Result<GetPeerAddressResponse, RequestError> {
        match self.call(Command::PeerAddress(username.into())).await? {
            Reply::PeerAddress(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// A user's status and privileged flag (GetUserStatus). Concurrent
    /// requests for the same user share one server request.
    pub async fn user_status(&self, username: &str) -> Result<GetUserStatusResponse, RequestError> {
        match self.call(Command::UserStatus(username.into())).await? {
            Reply::UserStatus(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// A user's statistics (GetUserStats). Concurrent requests for the same
    /// user share one server request.
    pub async fn user_stats(&self, username: &str) -> Result<GetUserStatsResponse, RequestError> {
        match self.call(Command::UserStats(username.into())).await? {
            Reply::UserStats(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// Watch a user (AddUser): the reply says whether the user exists, with
    /// status and stats; afterwards the server pushes status changes as
    /// [`Event::UserStatus`]. The session watches the user again after each
    /// reconnect, until [`Client::unwatch`].
    pub async fn watch(&self, username: &str) -> Result<AddUserResponse, RequestError> {
        match self.call(Command::Watch(username.into())).await? {
            Reply::Watch(reply) => Ok(reply),
            other => Err(unexpected(other)),
        }
    }

    /// Stop watching a user (RemoveUser). The server does not reply.
    pub async fn unwatch(&self, username: &str) -> Result<(), RequestError> {
        self.done(Command::Unwatch(username.into())).await
    }

    /// Set our status (SetStatus). Remembered and sent again after each
    /// login, also when set while reconnecting.
    pub async fn set_status(&self, status: OwnStatus) -> Result<(), RequestError> {
        self.done(Command::SetStatus(status)).await
    }

    /// Send a private message. Resolves once it is written; the server does
    /// not confirm delivery.
    pub async fn send_private_message(
        &self,
        username: &str,
        text: &str,
    ) -> Result<(), RequestError> {
        self.done(Command::SendPrivateMessage {
            username: username.into(),
            text: text.into(),
        })
        .await
    }

    /// Change our password and wait for the server's confirmation. Later
    /// reconnects log in with the new password.
    pub async fn change_password(&self, new_password: &str) -> Result<(), RequestError> {
        self.done(Command::ChangePassword(new_password.into()))
            .await
    }

    /// Write any request to the server (the escape hatch). Replies the
    /// session does not handle itself arrive as [`Event::ServerMessage`].
    pub async fn send(&self, request: ServerRequest) -> Result<(), RequestError> {
        self.done(Command::Send(request)).await
    }

    /// End the session: close the server connection, shut the peer layer
    /// down (listeners and connections) and end the event stream (after the
    /// events already queued). Returns once both are closed; calling it
    /// again, or on an ended session, returns at once.
    pub async fn shutdown(&self) {
        #[cfg(feature = "transfers")]
        if let Some(transfers) = &self.transfers {
            transfers.shutdown().await;
        }
        let (done_tx, done_rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(done_tx)).await.is_ok() {
            let _ = done_rx.await;
        }
    }

    /// Whether the session has ended (shut down, kicked, login rejected).
    pub fn is_closed(&self) -> bool {
        self.requests.is_closed()
    }

    /// Queues a download of `remote_path` from `user` (feature
    /// `transfers`); queueing a file already queued returns its id. Its
    /// progress arrives as [`Event::Transfer`]; the file lands in
    /// [`TransferSettings::download_dir`].
    ///
    /// ```no_run
    /// # async fn example(client: slsk_net::client::Client) {
    /// let id = client.download("bob", "@@music\\song.mp3", None).await.unwrap();
    /// client.cancel_download(id).await.unwrap();
    /// # }
    /// ```
    #[cfg(feature = "transfers")]
    pub async fn download(
        &self,
        user: &str,
        remote_path: &str,
        expected_size: Option<u64>,
    ) -> Result<DownloadId, TransferError> {
        self.transfer_handle()?
            .download(user, remote_path, expected_size)
            .await
    }

    /// Cancels a download (the partial file is kept).
    #[cfg(feature = "transfers")]
    pub async fn cancel_download(&self, id: DownloadId) -> Result<(), TransferError> {
        self.transfer_handle()?.cancel_download(id).await
    }

    /// Every download the client knows, by id (empty without transfers).
    #[cfg(feature = "transfers")]
    pub fn downloads(&self) -> Vec<Download> {
        self.transfers
            .as_ref()
            .map(|handle| handle.downloads())
            .unwrap_or_default()
    }

    #[cfg(feature = "transfers")]
    fn transfer_handle(&self) -> Result<&transfers::TransferHandle, TransferError> {
        self.transfers.as_ref().ok_or(TransferError::Disabled)
    }

    async fn call(&self, command: Command) -> Result<Reply, RequestError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.requests
            .send(Request::Command(command, reply_tx))
            .await
            .map_err(|_| RequestError::Closed)?;
        reply_rx.await.map_err(|_| RequestError::Closed)?
    }

    async fn done(&self, command: Command) -> Result<(), RequestError> {
        match self.call(command).await? {
            Reply::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

/// The session answers each command with its own kind of reply; anything
/// else is a bug in this module, reported (in release builds) as if the
/// session had ended.
fn unexpected(reply: Reply) -> RequestError {
    debug_assert!(false, "reply of the wrong kind: {reply:?}");
    RequestError::Closed
}
