//! Running `slsk` as a user would, against our server on loopback.
//!
//! [`Net`] starts an in-process [`slsk_server::Server`] on 127.0.0.1:0 and
//! builds `slsk` commands pointed at it, each with its own state folder, an
//! empty configuration (`--config ''`) and no `SLSK_*` variable inherited
//! from the developer's environment. Children are killed when dropped
//! ([`tokio::process::Command::kill_on_drop`]) and every wait has a
//! deadline. [`Sharer`] is an in-process client sharing a folder, for the
//! peers a test needs to control.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use slsk_net::client::{Event, SharesConfig, TransferSettings};
use slsk_net::{Client, ClientConfig, Events};
use slsk_server::{PasswordCost, Server, ServerConfig};
use slsk_shares::SharedFolder;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// The bound on any single wait: generous, the machine may be busy.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The password of every test account.
pub const PASSWORD: &str = "secret";

/// Our server on loopback and a scratch folder.
pub struct Net {
    pub server: Server,
    pub dir: tempfile::TempDir,
}

impl Net {
    /// Starts the server on a free port of 127.0.0.1.
    pub async fn start() -> Net {
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            password_cost: PasswordCost::TEST,
            ..ServerConfig::default()
        };
        let server = tokio::time::timeout(DEADLINE, Server::start(config))
            .await
            .expect("the server starts in time")
            .expect("the server starts");
        Net {
            server,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// A scratch path inside the test's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `slsk COMMAND ARGS... --server ADDR --user USER --password secret`
    /// with an empty config and a state folder of its own.
    pub fn slsk(&self, user: &str, args: &[&str]) -> Command {
        let mut command = bare_slsk();
        command
            .args(args)
            .args(["--server", &self.addr().to_string(), "--user", user])
            .args(["--password", PASSWORD, "--config", ""])
            .arg("--state-dir")
            .arg(self.path(&format!("state-{user}")));
        command
    }
}

/// `slsk` with no inherited `SLSK_*` variable, no stdin, output piped, and
/// killed when dropped.
pub fn bare_slsk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slsk"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SLSK_") {
            command.env_remove(key);
        }
    }
    command
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// What a finished `slsk` run left.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Every stdout line as JSON (fails the test on a line that is not).
    pub fn records(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{}", self.stderr))
            })
            .collect()
    }

    /// The records of one type.
    pub fn of_type(&self, kind: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["type"] == kind)
            .collect()
    }

    /// Fails the test unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

/// Runs a command to its end, within [`DEADLINE`].
pub async fn run(mut command: Command) -> Run {
    let output: Output = tokio::time::timeout(DEADLINE, command.output())
        .await
        .expect("slsk ends in time")
        .expect("slsk starts");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A long-running `slsk` (share) whose stdout lines are read as they come.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// Starts `command`; its stderr goes to the test's stderr.
    pub fn spawn(mut command: Command) -> Running {
        command.stderr(Stdio::inherit());
        let mut child = command.spawn().expect("slsk starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).await.is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The next JSON record whose type is `kind`, skipping the others.
    pub async fn record(&mut self, kind: &str) -> Value {
        let wait = async {
            while let Some(line) = self.lines.recv().await {
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
                if value["type"] == kind {
                    return value;
                }
            }
            panic!("slsk ended before a {kind} record");
        };
        tokio::time::timeout(DEADLINE, wait)
            .await
            .unwrap_or_else(|_| panic!("no {kind} record in time"))
    }

    /// Waits for the exit, within [`DEADLINE`].
    pub async fn wait(&mut self) -> Option<i32> {
        tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("slsk exits in time")
            .expect("waiting for slsk")
            .code()
    }
}

/// Writes `bytes` of deterministic content (different per `seed`).
pub fn write_file(path: &Path, bytes: usize, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let content: Vec<u8> = (0..bytes)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    std::fs::write(path, content).unwrap();
}

/// An in-process client sharing one folder, with what its search replies
/// advertise; its events are drained in the background after the scan.
pub struct Sharer {
    pub client: Client,
}

/// How a [`Sharer`] behaves.
pub struct SharerOptions {
    pub avg_speed: u32,
    pub slot_free: bool,
    /// Serve uploads (else QueueUpload goes unanswered).
    pub uploads: bool,
}

impl Sharer {
    /// Logs `name` in sharing `folder` and waits for the scan.
    pub async fn start(net: &Net, name: &str, folder: &Path, options: SharerOptions) -> Sharer {
        let mut config = ClientConfig::new(net.addr().to_string(), name, PASSWORD);
        config.reconnect.enabled = false;
        config.shares = SharesConfig {
            folders: vec![SharedFolder::new("music", folder)],
            avg_speed: options.avg_speed,
            slot_free: options.slot_free,
            ..SharesConfig::default()
        };
        if options.uploads {
            config.transfers = Some(TransferSettings::new(
                net.path(&format!("{name}-downloads")),
                net.path(&format!("{name}-incomplete")),
            ));
        }
        let (client, mut events) = tokio::time::timeout(DEADLINE, Client::connect(config))
            .await
            .expect("login in time")
            .expect("login");
        wait_scan(&mut events).await;
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        Sharer { client }
    }
}

async fn wait_scan(events: &mut Events) {
    let wait = async {
        while let Some(event) = events.recv().await {
            match event {
                Event::ScanComplete(_) => return,
                Event::ScanFailed(e) => panic!("scan failed: {e}"),
                _ => {}
            }
        }
        panic!("the session ended before the scan");
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .expect("the scan ends in time");
}
