//! Logging in for a command: the client configuration from the resolved
//! [`Settings`], the login with a deadline, and the events a command cares
//! about, passed on through a bounded channel so the session never stalls
//! on events nobody reads.

use std::time::Duration;

use slsk_net::client::{Event, SharesConfig, TransferSettings};
use slsk_net::{Client, ClientConfig};
use tokio::sync::mpsc;

use crate::exit::Failure;
use crate::options::Settings;
use crate::progress::Progress;
use crate::ratelimit;

/// How long the login may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Events waiting for the command.
const EVENT_QUEUE: usize = 256;

/// What a command adds to the client configuration.
#[derive(Debug, Default)]
pub struct Needs {
    /// Downloads and uploads.
    pub transfers: Option<TransferSettings>,
    /// Shared folders.
    pub shares: Option<SharesConfig>,
    /// Reconnect after a lost connection (long-running `share`).
    pub reconnect: bool,
}

/// A logged-in client and the events its command reads.
pub struct Session {
    pub client: Client,
    /// Transfer and scan events, and the end of the session.
    pub events: mpsc::Receiver<Event>,
    settings: Settings,
}

impl Session {
    /// Logs in as `settings` says, with what `needs` adds.
    pub async fn connect(settings: &Settings, needs: Needs) -> Result<Session, Failure> {
        let mut config = ClientConfig::new(
            settings.server.clone(),
            settings.user.clone(),
            settings.password.clone(),
        );
        config.peer.listen_addr = settings.listen;
        config.peer.obfuscated_listen_addr = settings.obfuscated_listen;
        config.reconnect.enabled = needs.reconnect;
        config.timing.login_timeout = LOGIN_TIMEOUT;
        config.transfers = needs.transfers;
        config.shares = needs.shares.unwrap_or_else(|| SharesConfig {
            // Nothing shared: say so in search replies too.
            slot_free: false,
            ..SharesConfig::default()
        });
        let (client, mut events) =
            match tokio::time::timeout(LOGIN_TIMEOUT * 2, Client::connect(config)).await {
                Ok(Ok(connected)) => connected,
                Ok(Err(e)) => {
                    return Err(Failure::Error(format!(
                        "logging in to {} as {}: {e}",
                        settings.server, settings.user
                    )));
                }
                Err(_) => {
                    return Err(Failure::Error(format!(
                        "logging in to {}: no answer in time",
                        settings.server
                    )));
                }
            };
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let wanted = matches!(
                    event,
                    Event::Transfer(_)
                        | Event::ScanProgress(_)
                        | Event::ScanComplete(_)
                        | Event::ScanFailed(_)
                        | Event::Kicked
                        | Event::LoginRejected { .. }
                        | Event::Disconnected
                        | Event::Reconnected(_)
                );
                if wanted && tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        Ok(Session {
            client,
            events: rx,
            settings: settings.clone(),
        })
    }

    /// Waits for the search rate limit (see [`crate::ratelimit`]), telling
    /// the user when it makes them wait.
    pub async fn rate_limit(&self, progress: &Progress) -> Result<(), Failure> {
        let Some(rate) = self.settings.search_rate else {
            return Ok(());
        };
        loop {
            let dir = self.settings.state_dir.clone();
            let taken = tokio::task::spawn_blocking(move || ratelimit::try_take(&dir, rate))
                .await
                .map_err(|e| Failure::Error(format!("search rate limit: {e}")))??;
            match taken {
                Ok(()) => return Ok(()),
                Err(wait) => {
                    progress.note(&format!(
                        "search rate limit ({} per {} s, --search-rate): waiting {:.0} s",
                        rate.count,
                        rate.per.as_secs(),
                        wait.as_secs_f64().ceil()
                    ));
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Logs out.
    pub async fn close(self) {
        self.client.shutdown().await;
    }
}
