//! `slsk server`: the embedded server of `slsk-server`, until Ctrl-C.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use slsk_server::{Database, Server, ServerConfig};
use tracing_subscriber::EnvFilter;

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2242")]
    listen: SocketAddr,
    /// The SQLite database file (created if missing). Without it, accounts
    /// and queued messages live in memory and are lost at exit.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Make NAME an admin (repeatable). Admins are kept in the database, so
    /// this is needed once per name; admins send commands as private
    /// messages to `server` ("help" lists them).
    #[arg(long = "add-admin", value_name = "NAME", value_parser = admin_name)]
    add_admin: Vec<String>,
}

/// An admin name must be a name someone can log in with.
fn admin_name(name: &str) -> Result<String, String> {
    match slsk_server::state::check_username(name) {
        Ok(()) => Ok(name.to_owned()),
        Err(slsk_server::state::UsernameProblem::Reserved) => Err("the name is reserved".into()),
        Err(problem) => Err(problem.detail().to_owned()),
    }
}

pub fn run(args: ServerArgs) -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = ServerConfig {
        listen: args.listen,
        database: args.db.map_or(Database::InMemory, Database::File),
        admins: args.add_admin,
        ..ServerConfig::default()
    };
    if config.database == Database::InMemory {
        tracing::warn!("no --db: accounts and queued messages are lost at exit");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return crate::fail(&format!("starting the runtime: {e}")),
    };
    runtime.block_on(async {
        let server = match Server::start(config).await {
            Ok(server) => server,
            Err(e) => return crate::fail(&format!("starting the server: {e}")),
        };
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(%e, "waiting for Ctrl-C");
        }
        tracing::info!("Ctrl-C: stopping");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}
