//! A bot that answers private messages until Ctrl-C:
//!
//! ```text
//! cargo run -p slsk-net --example pm_bot -- [--server HOST:PORT --user NAME --password PW]
//! ```
//!
//! (or SLSK_SERVER, SLSK_USERNAME, SLSK_PASSWORD in the environment). It
//! answers `ping`, `echo TEXT`, `time` and anything else with a hint;
//! messages from `server` (the server's notices) are printed, not answered.
//! The client reconnects by itself if the connection drops.

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use slsk_net::{Client, Event, Events};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, _) = support::login_config(std::env::args().skip(1))?;
    let (client, events) = Client::connect(config).await?;
    println!("logged in; waiting for private messages (Ctrl-C to stop)");
    tokio::select! {
        result = answer_messages(&client, events) => result?,
        _ = tokio::signal::ctrl_c() => {}
    }
    client.shutdown().await;
    Ok(())
}

/// Answers every private message until the session ends.
pub async fn answer_messages(
    client: &Client,
    mut events: Events,
) -> Result<(), Box<dyn std::error::Error>> {
    while let Some(event) = events.recv().await {
        match event {
            // Already acknowledged to the server by the client.
            Event::PrivateMessage(message) => {
                println!("{}: {}", message.username, message.text);
                if message.username != "server" {
                    let reply = answer(&message.text);
                    client
                        .send_private_message(&message.username, &reply)
                        .await?;
                }
            }
            Event::Kicked => return Err("logged in elsewhere".into()),
            _ => {}
        }
    }
    Ok(())
}

/// The bot's answer to `text`.
pub fn answer(text: &str) -> String {
    let text = text.trim();
    match text.split_once(' ').unwrap_or((text, "")) {
        ("ping", _) => "pong".to_owned(),
        ("echo", rest) => rest.to_owned(),
        ("time", _) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            format!("{} seconds since 1970", now.as_secs())
        }
        _ => "I am a bot: try ping, echo TEXT, time".to_owned(),
    }
}
