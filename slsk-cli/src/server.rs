//! `slsk server`: the embedded server of `slsk-server`, until Ctrl-C
//! (SIGINT) or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use slsk_server::{Database, FloodLimits, PasswordCost, Server, ServerConfig};
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
    /// Hash new passwords with argon2's cheapest cost (8 KiB, 1 pass)
    /// instead of the default (19 MiB, 2 passes). For tests and benchmarks
    /// only: such hashes are cheap to crack.
    #[arg(long)]
    insecure_test_password_cost: bool,
    /// Turn the per-user flood limits off (room messages, private messages,
    /// searches). For tests and benchmarks only.
    #[arg(long)]
    no_flood_limits: bool,
    /// The most connections open at once from one IP address (0: no limit).
    #[arg(long, value_name = "N", default_value_t = ServerConfig::default().max_connections_per_ip)]
    max_connections_per_ip: usize,
    /// Turn the distributed search tree off: every global search goes
    /// straight to every online user (as soulfind does) and no
    /// PossibleParents is sent. For comparison and small networks.
    #[arg(long)]
    no_distributed_tree: bool,
}

/// An admin name must be a name someone can log in with.
fn admin_name(name: &str) -> Result<String, String> {
    match slsk_server::state::check_username(name) {
        Ok(()) => Ok(name.to_owned()),
        Err(slsk_server::state::UsernameProblem::Reserved) => Err("the name is reserved".into()),
        Err(problem) => Err(problem.detail().to_owned()),
    }
}

impl ServerArgs {
    /// The server's settings from the command line.
    fn config(self) -> ServerConfig {
        let config = ServerConfig {
            listen: self.listen,
            database: self.db.map_or(Database::InMemory, Database::File),
            admins: self.add_admin,
            max_connections_per_ip: self.max_connections_per_ip,
            flood: if self.no_flood_limits {
                FloodLimits::OFF
            } else {
                FloodLimits::default()
            },
            distributed_tree: !self.no_distributed_tree,
            ..ServerConfig::default()
        };
        if self.insecure_test_password_cost {
            tracing::warn!("--insecure-test-password-cost: new password hashes are weak");
            ServerConfig {
                password_cost: PasswordCost::TEST,
                ..config
            }
        } else {
            config
        }
    }
}

pub fn run(args: ServerArgs) -> ExitCode {
    return_large_allocations();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = args.config();
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
        match stop_signal().await {
            Ok(name) => tracing::info!("{name}: stopping"),
            Err(e) => tracing::error!(%e, "waiting for a signal: stopping"),
        }
        // Closes every connection and the database (SQLite checkpoints its
        // log into the file when the last connection closes).
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Waits for SIGINT or SIGTERM (Ctrl-C only, elsewhere than Unix) and says
/// which came.
async fn stop_signal() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = terminate.recv() => Ok("SIGTERM"),
            _ = interrupt.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
    }
}

/// Makes glibc's malloc give every allocation over 256 KiB back to the OS
/// when it is freed. By default it raises that threshold to the size of the
/// largest block freed so far, so after the first argon2 job (19 MiB at the
/// default cost) every job's memory stayed in the heap of the thread that
/// ran it: 40 logins took the server from 7 to 387 MiB (docs/server.md).
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a malloc setting; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        server: ServerArgs,
    }

    fn config(args: &[&str]) -> ServerConfig {
        let args = std::iter::once("server").chain(args.iter().copied());
        Command::try_parse_from(args).unwrap().server.config()
    }

    #[test]
    fn the_distributed_tree_is_on_unless_turned_off() {
        assert!(config(&[]).distributed_tree);
        assert!(!config(&["--no-distributed-tree"]).distributed_tree);
    }

    #[test]
    fn test_flags_reach_the_config() {
        let config = config(&[
            "--insecure-test-password-cost",
            "--no-flood-limits",
            "--listen",
            "127.0.0.1:0",
        ]);
        assert_eq!(config.password_cost, PasswordCost::TEST);
        assert_eq!(config.flood, FloodLimits::OFF);
        assert_eq!(config.listen.port(), 0);
    }
}
