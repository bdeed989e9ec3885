//! Search the network and print the results as they arrive:
//!
//! ```text
//! cargo run -p slsk-net --example search -- [--server HOST:PORT --user NAME --password PW] QUERY...
//! ```
//!
//! (or SLSK_SERVER, SLSK_USERNAME, SLSK_PASSWORD in the environment). The
//! search lasts 10 seconds.

mod support;

use std::time::Duration;

use slsk_net::Client;
use slsk_net::client::{SearchOptions, SearchResult};
use slsk_proto::tables::FileAttributeKind;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, words) = support::login_config(std::env::args().skip(1))?;
    if words.is_empty() {
        return Err("usage: search [--server HOST:PORT --user NAME --password PW] QUERY...".into());
    }
    let (client, _events) = Client::connect(config).await?;
    let options = SearchOptions {
        timeout: Duration::from_secs(10),
        ..SearchOptions::default()
    };
    let mut search = client.search(&words.join(" "), options).await?;
    let mut count = 0;
    while let Some(result) = search.next().await {
        count += 1;
        println!("{}", describe(&result));
    }
    println!("{count} result(s)");
    client.shutdown().await;
    Ok(())
}

/// `user  path  size [kbps] [s]  slot/queue`.
fn describe(result: &SearchResult) -> String {
    let attribute = |kind| {
        result
            .file
            .attributes
            .iter()
            .find(|a| a.key == kind)
            .map(|a| a.value)
    };
    let mut line = format!(
        "{}  {}  {} bytes",
        result.username, result.file.filename, result.file.filesize
    );
    if let Some(kbps) = attribute(FileAttributeKind::Bitrate) {
        line.push_str(&format!("  {kbps} kbps"));
    }
    if let Some(seconds) = attribute(FileAttributeKind::Duration) {
        line.push_str(&format!("  {seconds} s"));
    }
    let slot = if result.slot_free {
        "free slot"
    } else {
        "no free slot"
    };
    line.push_str(&format!("  {slot}, queue {}", result.queue_length));
    line
}
