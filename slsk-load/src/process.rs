//! The server under test as a separate process, and CPU and memory figures
//! for it and for this generator (Linux `/proc` and `getrusage`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the server may take to print its listening line.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A `slsk server` child process on 127.0.0.1, killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Warnings "client is not reading: disconnected" seen in its log.
    pub not_reading_kills: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `bin server` on a free loopback port with a fresh database in
    /// a temporary directory; `new_options` adds the test password cost and
    /// the per-address cap (off for builds that lack those options), and
    /// `extra` any further options.
    pub fn start(
        bin: &Path,
        new_options: bool,
        per_ip: usize,
        extra: &[&str],
    ) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut command = Command::new(bin);
        command
            .args(["server", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("load.db"))
            // The listening line and the warnings; not one line per login.
            .env("RUST_LOG", "warn,slsk_server::driver=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if new_options {
            command
                .arg("--insecure-test-password-cost")
                .args(["--max-connections-per-ip", &per_ip.to_string()]);
        }
        command.args(extra);
        let mut child = command.spawn()?;
        let stderr = child.stderr.take().expect("piped");
        let kills = Arc::new(AtomicU64::new(0));
        let (addr_tx, addr_rx) = mpsc::channel();
        let counter = kills.clone();
        // Drains the log for the whole run, so the server never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("local_addr=").nth(1) {
                    let _ = addr_tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                } else if line.contains("not reading") {
                    counter.fetch_add(1, Ordering::Relaxed);
                } else if line.contains("ERROR") || line.contains("WARN") {
                    eprintln!("server: {line}");
                }
            }
        });
        let addr = addr_rx
            .recv_timeout(START_DEADLINE)
            .map_err(|_| std::io::Error::other("the server printed no listening address"))?
            .parse()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            child,
            addr,
            not_reading_kills: kills,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `slsk` next to this executable (both are built into the same target
/// directory), unless given.
pub fn default_server_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("slsk")))
        .unwrap_or_else(|| PathBuf::from("slsk"))
}

/// Resident memory of a process, in KiB (`VmRSS` in `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) of a process so far.
pub fn cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: utime and stime are fields 14 and 15 of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / per_second))
}

/// CPU time of this process (all threads) so far.
pub fn own_cpu() -> Duration {
    cpu_of(std::process::id()).unwrap_or_default()
}

/// Raises this process's open-file limit to its hard limit (children, such
/// as the server, inherit it). Returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

/// CPU use of the server and of the generator over one phase, in percent
/// of one core.
pub struct CpuMeter {
    server: u32,
    wall: Instant,
    server_cpu: Duration,
    own_cpu: Duration,
}

impl CpuMeter {
    pub fn start(server: u32) -> Self {
        Self {
            server,
            wall: Instant::now(),
            server_cpu: cpu_of(server).unwrap_or_default(),
            own_cpu: own_cpu(),
        }
    }

    /// CPU time the server used since the start.
    pub fn server_cpu(&self) -> Duration {
        cpu_of(self.server).unwrap_or_default() - self.server_cpu
    }

    /// "server N% cpu, generator M% cpu" (100% is one core).
    pub fn report(&self) -> String {
        let wall = self.wall.elapsed().as_secs_f64().max(1e-9);
        let server = cpu_of(self.server).unwrap_or_default() - self.server_cpu;
        let own = own_cpu() - self.own_cpu;
        format!(
            "server {:.0}% cpu, generator {:.0}% cpu (of one core; 2 cores = 200%)",
            server.as_secs_f64() / wall * 100.0,
            own.as_secs_f64() / wall * 100.0
        )
    }
}

/// Resident memory of a process by kind of mapping, in KiB: the heap
/// (`[heap]` and anonymous mappings, where malloc's arenas live), thread
/// stacks, and file-backed pages (code).
pub fn rss_breakdown(pid: u32) -> Option<String> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let (mut anon, mut stack, mut file) = (0u64, 0u64, 0u64);
    let mut kind = 0;
    for line in smaps.lines() {
        if let Some(rss) = line.strip_prefix("Rss:") {
            let kib: u64 = rss
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            match kind {
                1 => stack += kib,
                2 => file += kib,
                _ => anon += kib,
            }
        } else if line
            .split_whitespace()
            .next()
            .is_some_and(|f| f.contains('-'))
        {
            let name = line.split_whitespace().nth(5).unwrap_or("");
            kind = if name.starts_with("[stack") {
                1
            } else if name.starts_with('/') {
                2
            } else {
                0
            };
        }
    }
    Some(format!(
        "heap+anon {anon} KiB, stacks {stack} KiB, files {file} KiB"
    ))
}
