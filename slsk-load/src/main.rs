//! `slsk-load`: puts a `slsk server` process under load on loopback and
//! reports what it measured.
//!
//! ```text
//! cargo build --release -p slsk-cli -p slsk-load
//! target/release/slsk-load --clients 10000
//! ```
//!
//! It starts the server (the `slsk` binary next to its own, or
//! `--server-bin`) on 127.0.0.1 with a fresh database, the test password
//! cost and a per-address connection cap, connects `--clients` clients from
//! addresses spread over 127.1.0.0/16, and runs the scenarios in order:
//!
//! - `login`: every client logs in (registering), `--login-window` at a
//!   time: logins per second.
//! - `idle`: the server's resident memory with every client logged in.
//! - `pm`: private messages at `--pm-rate` for `--seconds`, random sender
//!   and recipient: delivered count and latency p50/p99/max.
//! - `search`: `--searches` global searches one after the other, each to
//!   every client: the time until the last recipient has it, p50/p99.
//! - `hostile`: private messages at `--hostile-rate`, first alone, then with
//!   a client that stops reading, a client that sends a frame every
//!   millisecond and `--idle-sockets` sockets that send nothing.
//! - `pm-max`: private messages at rising rates until p99 passes 50 ms or
//!   a message is lost: the highest rate that kept p99 under 50 ms.
//! - `tree`: `--tree-clients` more clients arranged in a distributed search
//!   tree (`--tree-roots` branches of fan-out `--tree-fanout`, real D
//!   connections on loopback) on a server of their own; `--searches` global
//!   searches from a client outside the tree, each timed to its last
//!   delivery, p50/p99; then the same with `--no-distributed-tree` (see
//!   `tree.rs`).
//! - `default-cost`: a second server with the default argon2 cost; logins
//!   per second of `--default-cost-logins` clients.
//!
//! Every phase prints the server's and the generator's CPU use, so a reader
//! can tell when the generator is the bottleneck. Every wait is bounded and
//! the server process is killed at the end.

mod client;
mod process;
mod report;
mod tree;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use rand::Rng;
use slsk_proto::FramedMessage;
use slsk_proto::server::{FileSearchRequest, PrivateChatMessageRequest, ServerRequest};
use tokio::task::JoinSet;

use client::{Behaviour, Client, Shared};
use process::{CpuMeter, ServerProcess};
use report::Percentiles;

/// Clients per source address (under the server's per-address cap).
const PER_IP: usize = 50;

/// How long a phase waits for the last messages after it stopped sending.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Parser)]
#[command(about = "Load generator for slsk-server (loopback only)")]
struct Args {
    /// The `slsk` binary (default: next to this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Start the server without `--insecure-test-password-cost` and
    /// `--max-connections-per-ip`, to compare with a build that predates
    /// them (its password cost must then be patched to the test cost).
    #[arg(long)]
    plain_server_args: bool,
    /// Clients to log in.
    #[arg(long, default_value_t = 10_000)]
    clients: usize,
    /// Logins in flight at once.
    #[arg(long, default_value_t = 200)]
    login_window: usize,
    /// Private messages per second in the `pm` phase.
    #[arg(long, default_value_t = 5000)]
    pm_rate: u32,
    /// Length of each messaging phase, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Global searches in the `search` phase.
    #[arg(long, default_value_t = 20)]
    searches: u32,
    /// Private messages per second in the `hostile` phase.
    #[arg(long, default_value_t = 1000)]
    hostile_rate: u32,
    /// Sockets that connect and send nothing, in the `hostile` phase.
    #[arg(long, default_value_t = 1000)]
    idle_sockets: usize,
    /// Clients of the `tree` phase.
    #[arg(long, default_value_t = 1000)]
    tree_clients: usize,
    /// Branch roots of the `tree` phase.
    #[arg(long, default_value_t = 10)]
    tree_roots: usize,
    /// Children per parent in the `tree` phase.
    #[arg(long, default_value_t = 10)]
    tree_fanout: usize,
    /// Clients of the `default-cost` phase.
    #[arg(long, default_value_t = 100)]
    default_cost_logins: usize,
    /// Phases to run, in this order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "login,idle,pm,search,hostile,pm-max,tree,default-cost"
    )]
    phases: Vec<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let fds = process::raise_fd_limit();
    println!("open-file limit: {fds}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("slsk-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn run(args: Args) -> Result<()> {
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(process::default_server_bin);
    let wants = |phase: &str| args.phases.iter().any(|p| p == phase);
    let shared = Arc::new(Shared::new());
    let mut clients = Vec::new();
    let mut server = None;
    let needs_clients = ["login", "idle", "pm", "search", "hostile", "pm-max"];
    if needs_clients.iter().any(|p| wants(p)) {
        let started = ServerProcess::start(&bin, !args.plain_server_args, PER_IP, &[])?;
        println!(
            "server pid {} on {}; rss before any client: {} KiB",
            started.pid(),
            started.addr,
            process::rss_kib(started.pid()).unwrap_or(0)
        );
        let names: Arc<Vec<String>> =
            Arc::new((0..args.clients).map(|i| format!("load{i}")).collect());
        let meter = CpuMeter::start(started.pid());
        let began = Instant::now();
        clients = log_in_all(
            started.addr,
            &names,
            0,
            args.login_window,
            Behaviour::Normal,
            &shared,
        )
        .await?;
        let took = began.elapsed().as_secs_f64();
        println!(
            "login: {} clients in {:.2} s = {:.0} logins/s (test argon2 cost); {}",
            clients.len(),
            took,
            clients.len() as f64 / took,
            meter.report()
        );
        server = Some(started);
    }
    if let Some(server) = &server {
        if wants("idle") {
            idle(server, clients.len()).await;
        }
        if wants("pm") {
            let result = pm_phase(server, &clients, &shared, args.pm_rate, args.seconds).await;
            println!("pm: {result}");
        }
        if wants("search") {
            search_phase(server, &clients, &shared, args.searches).await;
        }
        if wants("hostile") {
            hostile_phase(server, &clients, &shared, &args).await?;
        }
        if wants("pm-max") {
            pm_max(server, &clients, &shared, args.seconds.min(5)).await;
        }
    }
    shared.stop.cancel();
    drop(clients);
    drop(server);
    if wants("tree") {
        let layout = tree::Layout {
            clients: args.tree_clients,
            roots: args.tree_roots.max(1),
            fanout: args.tree_fanout.max(1),
        };
        tree::tree_phase(&bin, layout, args.searches).await?;
    }
    if wants("default-cost") {
        default_cost(&bin, args.default_cost_logins).await?;
    }
    Ok(())
}

/// Logs in every name, `window` at a time, from addresses after `ip_base`.
async fn log_in_all(
    server: SocketAddr,
    names: &Arc<Vec<String>>,
    ip_base: u32,
    window: usize,
    behaviour: Behaviour,
    shared: &Arc<Shared>,
) -> Result<Vec<Client>> {
    let mut pending = JoinSet::new();
    let mut clients = Vec::with_capacity(names.len());
    let mut next = 0;
    while clients.len() < names.len() {
        while next < names.len() && pending.len() < window {
            let source = client::source_ip(ip_base, next, PER_IP);
            let login = client::login(
                names[next].clone(),
                source,
                server,
                behaviour,
                names.clone(),
                shared.clone(),
            );
            pending.spawn(login);
            next += 1;
        }
        match pending.join_next().await {
            Some(joined) => clients.push(joined??),
            None => break,
        }
    }
    Ok(clients)
}

async fn idle(server: &ServerProcess, clients: usize) {
    let meter = CpuMeter::start(server.pid());
    // Let the last logins' work finish and the allocator settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss = process::rss_kib(server.pid()).unwrap_or(0);
    println!(
        "idle: {clients} clients logged in, server rss {:.1} MiB ({:.2} KiB per client); {}",
        rss as f64 / 1024.0,
        rss as f64 / clients.max(1) as f64,
        meter.report()
    );
    if let Some(breakdown) = process::rss_breakdown(server.pid()) {
        println!("idle: server rss by mapping: {breakdown}");
    }
}

/// What one messaging phase measured.
struct PmResult {
    rate: u32,
    sent: u64,
    refused: u64,
    delivered: u64,
    latency: Percentiles,
    cpu: String,
    /// Server CPU time per message sent (storing, delivering, the ack).
    cpu_per_message: Duration,
}

impl std::fmt::Display for PmResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/s: sent {}, delivered {}{}, latency {}; {}; server cpu {:.1} us per message",
            self.rate,
            self.sent,
            self.delivered,
            if self.refused > 0 {
                format!(" (generator could not queue {})", self.refused)
            } else {
                String::new()
            },
            self.latency,
            self.cpu,
            self.cpu_per_message.as_secs_f64() * 1e6
        )
    }
}

impl PmResult {
    fn all_delivered(&self) -> bool {
        self.refused == 0 && self.delivered == self.sent
    }
}

/// Private messages at `rate` per second for `seconds`, from random clients
/// of the first `senders` to random others.
async fn pm_phase(
    server: &ServerProcess,
    clients: &[Client],
    shared: &Shared,
    rate: u32,
    seconds: u64,
) -> PmResult {
    let phase = shared.phase.fetch_add(1, Ordering::Relaxed) + 1;
    shared.pm_received.store(0, Ordering::Relaxed);
    client::take_pm_latencies(shared);
    let meter = CpuMeter::start(server.pid());
    let total = u64::from(rate) * seconds;
    let mut rng = rand::rng();
    let (mut sent, mut refused) = (0u64, 0u64);
    let began = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    while sent + refused < total {
        tick.tick().await;
        let due = (began.elapsed().as_secs_f64() * f64::from(rate)) as u64;
        while sent + refused < due.min(total) {
            let from = rng.random_range(0..clients.len());
            let mut to = rng.random_range(0..clients.len() - 1);
            if to >= from {
                to += 1;
            }
            let request = ServerRequest::from(PrivateChatMessageRequest {
                username: clients[to].name.clone(),
                message: client::pm_text(phase, shared.micros()),
            });
            if clients[from].try_send(Bytes::from(
                request
                    .to_frame()
                    .expect("a request the load generator builds always encodes"),
            )) {
                sent += 1;
            } else {
                refused += 1;
            }
        }
    }
    let deadline = Instant::now() + DRAIN;
    while shared.pm_received.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    PmResult {
        rate,
        sent,
        refused,
        delivered: shared.pm_received.load(Ordering::Relaxed),
        latency: Percentiles::of(client::take_pm_latencies(shared)),
        cpu: meter.report(),
        cpu_per_message: meter.server_cpu() / u32::try_from(sent.max(1)).unwrap_or(u32::MAX),
    }
}

async fn search_phase(server: &ServerProcess, clients: &[Client], shared: &Shared, searches: u32) {
    let meter = CpuMeter::start(server.pid());
    let mut last = Vec::new();
    let mut median = Vec::new();
    let mut incomplete = 0;
    let recipients = clients.len() - 1;
    for ticket in 0..searches {
        let searcher = &clients[ticket as usize % clients.len()];
        let request = ServerRequest::from(FileSearchRequest {
            ticket,
            query: client::search_query(shared.micros()),
        });
        let _ = searcher.try_send(Bytes::from(
            request
                .to_frame()
                .expect("a request the load generator builds always encodes"),
        ));
        let deadline = Instant::now() + DRAIN;
        let latencies = loop {
            let latencies = client::search_latencies(shared, ticket);
            if latencies.len() >= recipients || Instant::now() >= deadline {
                break latencies;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        if latencies.len() < recipients {
            incomplete += 1;
        }
        let p = Percentiles::of(latencies);
        last.push(p.max);
        median.push(p.p50);
    }
    println!(
        "search: {searches} global searches to {recipients} clients each ({incomplete} incomplete): \
         last recipient {}; median recipient {}; {}; server cpu {:.2} us per delivery",
        Percentiles::of(last),
        Percentiles::of(median),
        meter.report(),
        meter.server_cpu().as_secs_f64() * 1e6 / (f64::from(searches) * recipients as f64).max(1.0)
    );
}

async fn hostile_phase(
    server: &ServerProcess,
    clients: &[Client],
    shared: &Arc<Shared>,
    args: &Args,
) -> Result<()> {
    let seconds = args.seconds;
    let baseline = pm_phase(server, clients, shared, args.hostile_rate, seconds).await;
    println!("hostile, baseline: {baseline}");

    // Addresses after the well-behaved clients' ones.
    let base = (clients.len() / PER_IP + 10) as u32;
    let names = Arc::new(vec![
        "hostile-noread".to_owned(),
        "hostile-flood".to_owned(),
    ]);
    let everyone: Arc<Vec<String>> = Arc::new(clients.iter().map(|c| c.name.clone()).collect());
    let no_read = client::login(
        names[0].clone(),
        client::source_ip(base, 0, 1),
        server.addr,
        Behaviour::NoRead,
        everyone.clone(),
        shared.clone(),
    )
    .await?;
    let flood = client::login(
        names[1].clone(),
        client::source_ip(base + 1, 0, 1),
        server.addr,
        Behaviour::Flood,
        everyone,
        shared.clone(),
    )
    .await?;
    let mut idle = Vec::with_capacity(args.idle_sockets);
    for i in 0..args.idle_sockets {
        idle.push(client::connect_from(client::source_ip(base + 2, i, PER_IP), server.addr).await?);
    }
    // The client that does not read gets a stream of large messages (2 KB,
    // 1000/s, from one of the others) until the server disconnects it.
    let big = "x".repeat(2000);
    let stuffer = tokio::spawn({
        let frame = Bytes::from(
            ServerRequest::from(PrivateChatMessageRequest {
                username: no_read.name.clone(),
                message: big,
            })
            .to_frame()
            .expect("a request the load generator builds always encodes"),
        );
        let sender = clients[0].name.clone();
        let stop = shared.stop.clone();
        let outbox = clients[0].outbox_clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            for _ in 0..(seconds * 1000) {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => { let _ = outbox.try_send(frame.clone()); }
                }
            }
            sender
        }
    });
    let attacked = pm_phase(server, clients, shared, args.hostile_rate, seconds).await;
    let _ = stuffer.await;
    println!(
        "hostile, with a client not reading, a client sending every 1 ms and {} silent sockets: {attacked}",
        idle.len()
    );
    println!(
        "hostile: p99 ratio {:.2} (target at most 2); server disconnected {} client(s) for not reading",
        f64::from(attacked.latency.p99) / f64::from(baseline.latency.p99.max(1)),
        server.not_reading_kills.load(Ordering::Relaxed)
    );
    drop((no_read, flood, idle));
    Ok(())
}

/// Rising rates until p99 passes 50 ms or a message is lost.
async fn pm_max(server: &ServerProcess, clients: &[Client], shared: &Shared, seconds: u64) {
    let mut best = None;
    for rate in [5_000, 10_000, 15_000, 20_000, 30_000, 40_000, 60_000] {
        let result = pm_phase(server, clients, shared, rate, seconds).await;
        println!("pm-max: {result}");
        if !result.all_delivered() || result.latency.p99 > 50_000 {
            break;
        }
        best = Some(rate);
    }
    match best {
        Some(rate) => println!("pm-max: highest rate with p99 under 50 ms: {rate}/s"),
        None => println!("pm-max: p99 was over 50 ms at the lowest rate tried"),
    }
}

async fn default_cost(bin: &std::path::Path, logins: usize) -> Result<()> {
    let server = ServerProcess::start(bin, false, PER_IP, &[])?;
    let names: Arc<Vec<String>> = Arc::new((0..logins).map(|i| format!("cost{i}")).collect());
    let meter = CpuMeter::start(server.pid());
    let began = Instant::now();
    // The first server's clients are stopped already: fresh records.
    let shared = Arc::new(Shared::new());
    let clients = log_in_all(server.addr, &names, 0, 32, Behaviour::Normal, &shared).await?;
    let took = began.elapsed().as_secs_f64();
    println!(
        "default-cost: {} logins (registrations, argon2id 19 MiB, 2 passes) in {:.2} s = {:.1} logins/s; rss {:.1} MiB; {}",
        clients.len(),
        took,
        clients.len() as f64 / took,
        process::rss_kib(server.pid()).unwrap_or(0) as f64 / 1024.0,
        meter.report()
    );
    Ok(())
}
