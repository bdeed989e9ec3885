//! Our server and our clients together on loopback: start a
//! [`slsk_server::Server`] with the cheapest password hashing on
//! 127.0.0.1:0, log [`slsk_net::Client`]s in to it, and wait for what they
//! are told, always with a deadline.
//!
//! The central tool is [`User::sync`]: a barrier. It asks the server for the
//! status of a name nobody has and collects every event up to that reply.
//! The server handles one connection's requests in order and queues its
//! messages to each connection in the order it decides them, so after an
//! actor's own `sync` has returned, everything the actor's earlier requests
//! made the server tell others is already queued for them: their `sync`
//! then returns exactly those events, and nothing that came later. Tests
//! compare whole lists, so a message too many fails as surely as one
//! missing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use slsk_net::client::{ConnectError, OwnStatus, RoomEvent};
use slsk_net::{Client, ClientConfig, Event, Events};
use slsk_server::{Database, Server, ServerConfig};

/// How long any single wait may take before the test fails. Generous: the
/// machine may be busy compiling; the waits end as soon as the event comes.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A server configuration for tests: 127.0.0.1 on a free port, the cheapest
/// argon2 cost, an in-memory database, every public room listed at login.
pub fn server_config() -> ServerConfig {
    ServerConfig {
        login_room_list_min_users: 1,
        ..super::network::server_config(Database::InMemory)
    }
}

/// Starts a server (bounded by [`DEADLINE`]).
pub async fn start_server(config: ServerConfig) -> Server {
    tokio::time::timeout(DEADLINE, Server::start(config))
        .await
        .expect("server start timed out")
        .expect("server start")
}

/// A client configuration for `name` (password `pw-<name>`) that does not
/// reconnect (a test decides when to log in again) and times requests out
/// within [`DEADLINE`].
pub fn client_config(server: SocketAddr, name: &str) -> ClientConfig {
    let mut config = ClientConfig::new(server.to_string(), name, format!("pw-{name}"));
    config.reconnect.enabled = false;
    config.timing.request_timeout = DEADLINE;
    config.timing.login_timeout = DEADLINE;
    config
}

/// A logged-in client, its events, and its name.
pub struct User {
    pub name: String,
    pub client: Client,
    pub events: Events,
}

/// Tells every barrier apart.
static SYNC: AtomicU64 = AtomicU64::new(0);

impl User {
    /// Logs `name` in with [`client_config`] (registering it on first use)
    /// and consumes the login's own messages.
    pub async fn login(server: SocketAddr, name: &str) -> User {
        Self::login_with(client_config(server, name)).await
    }

    /// Logs in with `config` and consumes the login's own messages (room
    /// list, privileged users, ...), so that the next [`User::sync`] holds
    /// only what the test caused.
    pub async fn login_with(config: ClientConfig) -> User {
        let name = config.username.clone();
        let (client, events) = try_login(config)
            .await
            .unwrap_or_else(|e| panic!("login of {name}: {e}"));
        let mut user = User {
            name,
            client,
            events,
        };
        user.sync().await;
        user
    }

    /// Every event up to a barrier (see the module documentation), the
    /// barrier's own event left out.
    pub async fn sync(&mut self) -> Vec<Event> {
        let marker = format!("zz-sync-{}", SYNC.fetch_add(1, Ordering::Relaxed));
        let client = self.client.clone();
        let asked = marker.clone();
        // Asked from another task, so that this one keeps reading events
        // (a full event stream would stall the session).
        let ask = tokio::spawn(async move { client.user_status(&asked).await });
        let mut seen = Vec::new();
        loop {
            let event = self.next_event(&format!("barrier {marker}")).await;
            match event {
                Event::UserStatus { ref username, .. } if *username == marker => break,
                other => seen.push(other),
            }
        }
        tokio::time::timeout(DEADLINE, ask)
            .await
            .expect("barrier reply")
            .expect("barrier task")
            .expect("barrier status request");
        seen
    }

    /// The room events and private messages of [`User::sync`], the two
    /// things tests compare exactly.
    pub async fn sync_seen(&mut self) -> Vec<Seen> {
        seen(self.sync().await)
    }

    /// The next event, failing the test after [`DEADLINE`].
    pub async fn next_event(&mut self, waiting_for: &str) -> Event {
        match tokio::time::timeout(DEADLINE, self.events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => panic!("{}: session ended waiting for {waiting_for}", self.name),
            Err(_) => panic!("{}: no {waiting_for} within {DEADLINE:?}", self.name),
        }
    }

    /// Skips events until `pick` returns something; fails after
    /// [`DEADLINE`].
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(event)) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Ok(None) => panic!("{}: session ended waiting for {what}", self.name),
                Err(_) => panic!("{}: no {what} within {DEADLINE:?}", self.name),
            }
        }
    }

    /// Sends a command to `server` and returns its reply.
    pub async fn command(&mut self, text: &str) -> String {
        self.client
            .send_private_message("server", text)
            .await
            .expect("command sent");
        self.wait_for(&format!("reply to {text:?}"), |event| match event {
            Event::PrivateMessage(pm) if pm.username == "server" => Some(pm.text.clone()),
            _ => None,
        })
        .await
    }

    /// Ends the session.
    pub async fn logout(self) {
        tokio::time::timeout(DEADLINE, self.client.shutdown())
            .await
            .expect("shutdown timed out");
    }
}

/// [`Client::connect`] bounded by [`DEADLINE`] (the config's own login
/// timeout decides first when it is shorter).
pub async fn try_login(config: ClientConfig) -> Result<(Client, Events), ConnectError> {
    tokio::time::timeout(DEADLINE * 2, Client::connect(config))
        .await
        .expect("Client::connect did not return")
}

/// A client configuration for an away user sharing `folders`/`files`.
pub fn away_sharing(server: SocketAddr, name: &str, folders: u32, files: u32) -> ClientConfig {
    let mut config = client_config(server, name);
    config.status = OwnStatus::Away;
    config.shared_folders = folders;
    config.shared_files = files;
    config
}

/// What a test compares: room events and private messages, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Room(RoomEvent),
    /// A private message: who from and what.
    Pm(String, String),
}

/// The room events and private messages among `events`.
pub fn seen(events: Vec<Event>) -> Vec<Seen> {
    events
        .into_iter()
        .filter_map(|event| match event {
            Event::Room(room) => Some(Seen::Room(room)),
            Event::PrivateMessage(pm) => Some(Seen::Pm(pm.username, pm.text)),
            _ => None,
        })
        .collect()
}

/// A private message from `server`.
pub fn from_server(text: &str) -> Seen {
    Seen::Pm("server".into(), text.into())
}
