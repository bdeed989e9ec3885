//! Download files given their remote paths, with a line of progress now
//! and then:
//!
//! ```text
//! cargo run -p slsk-net --example download -- [--server HOST:PORT --user NAME --password PW] \
//!     [--to DIR] USER 'Music\Artist\Album\01 Song.flac'...
//! ```
//!
//! (or SLSK_SERVER, SLSK_USERNAME, SLSK_PASSWORD in the environment). Files
//! land in DIR (default `downloads`); partial ones wait in DIR/incomplete and
//! resume from their length if the download is run again.

mod support;

use std::collections::HashSet;

use slsk_net::client::{DownloadState, TransferEvent, TransferSettings};
use slsk_net::{Client, Event};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut config, args) = support::login_config(std::env::args().skip(1))?;
    let (dir, args) = match args.iter().position(|a| a == "--to") {
        Some(i) if i + 1 < args.len() => {
            let mut args = args.clone();
            let dir = args.remove(i + 1);
            args.remove(i);
            (dir, args)
        }
        Some(_) => return Err("--to needs a directory".into()),
        None => ("downloads".to_owned(), args),
    };
    let [user, paths @ ..] = args.as_slice() else {
        return Err("usage: download [--to DIR] USER PATH...".into());
    };
    if paths.is_empty() {
        return Err("give at least one remote path".into());
    }
    config.transfers = Some(TransferSettings::new(&dir, format!("{dir}/incomplete")));
    let (client, mut events) = Client::connect(config).await?;
    let mut pending = HashSet::new();
    for path in paths {
        pending.insert(client.download(user, path, None).await?);
    }
    let mut failed = 0;
    while !pending.is_empty() {
        let Some(event) = events.recv().await else {
            return Err("the session ended".into());
        };
        match event {
            Event::Transfer(TransferEvent::DownloadProgress {
                id, bytes, size, ..
            }) if pending.contains(&id) => println!("{id:?}: {bytes}/{size} bytes"),
            Event::Transfer(TransferEvent::DownloadChanged {
                id,
                remote_path,
                state,
                ..
            }) if pending.contains(&id) => match state {
                DownloadState::Completed { path } => {
                    println!("{remote_path}: saved as {}", path.display());
                    pending.remove(&id);
                }
                DownloadState::Failed { reason } => {
                    println!("{remote_path}: failed ({reason:?})");
                    pending.remove(&id);
                    failed += 1;
                }
                DownloadState::QueuedRemotely { place: Some(place) } => {
                    println!("{remote_path}: number {place} in {user}'s queue");
                }
                _ => {}
            },
            _ => {}
        }
    }
    client.shutdown().await;
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} download(s) failed").into()),
    }
}
