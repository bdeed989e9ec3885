//! Our server started in-process on loopback and our clients logged in to
//! it, with the cheapest password hashing and every wait bounded.

use std::future::Future;
use std::time::Duration;

use slsk_net::client::{Client, ClientConfig, Event, Events};
use slsk_server::{Database, PasswordCost, Server, ServerConfig};

/// Bound on one wait for an event.
pub const EVENT_WAIT: Duration = Duration::from_secs(20);

/// Runs a whole test under `limit`; a hang fails it instead of blocking the
/// suite.
pub async fn bounded<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, test)
        .await
        .unwrap_or_else(|_| panic!("the test took over {limit:?}"))
}

/// The server configuration every test starts from: a free port of
/// 127.0.0.1 and the cheapest argon2 cost.
pub fn server_config(database: Database) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database,
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    }
}

/// Starts our server on a free port of 127.0.0.1.
pub async fn start_server(database: Database) -> Server {
    Server::start(server_config(database))
        .await
        .expect("the server starts")
}

/// A client configuration for `username` on `server`: password "secret",
/// no reconnection (a test sees every disconnect), short timeouts.
pub fn client_config(server: &Server, username: &str) -> ClientConfig {
    let mut config = ClientConfig::new(server.local_addr().to_string(), username, "secret");
    config.reconnect.enabled = false;
    config.timing.login_timeout = Duration::from_secs(10);
    config.timing.request_timeout = Duration::from_secs(10);
    config.user_info.description = format!("{username} here");
    config
}

/// Logs in with `config`.
pub async fn login(config: ClientConfig) -> (Client, Events) {
    let username = config.username.clone();
    tokio::time::timeout(EVENT_WAIT, Client::connect(config))
        .await
        .unwrap_or_else(|_| panic!("{username} logs in in time"))
        .unwrap_or_else(|e| panic!("{username} logs in: {e}"))
}

/// A port on 127.0.0.1 that nothing listens on (it was bound a moment ago
/// and released): a dial to it is refused.
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// The first event that `matches`, skipping the others.
pub async fn wait_for(events: &mut Events, matches: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        while let Some(event) = events.recv().await {
            if matches(&event) {
                return event;
            }
        }
        panic!("the event stream ended first");
    };
    tokio::time::timeout(EVENT_WAIT, wait)
        .await
        .expect("the event comes in time")
}
