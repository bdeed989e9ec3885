//! Log in, search, download the first result: `quickstart QUERY [SERVER USERNAME PASSWORD]`.
use slsk_net::client::*;
type Res<T> = Result<T, Box<dyn std::error::Error>>;
/// Settings from `args`, else SLSK_SERVER, SLSK_USERNAME, SLSK_PASSWORD; files go to `dir`.
pub async fn quickstart(mut args: impl Iterator<Item = String>, dir: &str) -> Res<DownloadState> {
    let [query, server, user, pass] = ["QUERY", "SLSK_SERVER", "SLSK_USERNAME", "SLSK_PASSWORD"]
        .map(|var| args.next().or(std::env::var(var).ok()).ok_or(var));
    let mut config = ClientConfig::new(server?, user?, pass?);
    config.transfers = Some(TransferSettings::new(dir, format!("{dir}/incomplete")));
    let (client, mut events) = Client::connect(config).await?;
    let mut search = client.search(&query?, SearchOptions::default()).await?;
    let SearchResult { username, file, .. } = search.next().await.ok_or("nothing found")?;
    client.download(&username, &file.filename, None).await?;
    loop {
        let event = events.recv().await.ok_or("disconnected")?;
        if let Event::Transfer(TransferEvent::DownloadChanged { state, .. }) = event
            && state.is_finished()
        {
            return Ok(state); // Completed { path } or Failed { reason }
        }
    }
}

#[tokio::main]
async fn main() -> Res<()> {
    let state = quickstart(std::env::args().skip(1), "downloads").await?;
    println!("{state:?}");
    Ok(())
}
