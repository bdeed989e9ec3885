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
    return_large_allocations();
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
        max_connections_per_ip: args.max_connections_per_ip,
        flood: if args.no_flood_limits {
            FloodLimits::OFF
        } else {
            FloodLimits::default()
        },
        ..ServerConfig::default()
    };
    let config = if args.insecure_test_password_cost {
        tracing::warn!("--insecure-test-password-cost: new password hashes are weak");
        ServerConfig {
            password_cost: PasswordCost::TEST,
            ..config
        }
    } else {
        config
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
