//! aioslsk 1.7.1, an independent Python Soulseek client, as a live peer for
//! end-to-end tests, on loopback only.
//!
//! [`AioslskPeer::spawn`] starts `tests/live/aioslsk_peer.py` with the python
//! of a venv it creates under `target/tmp` (see [`super::venv`]), and talks
//! to it in JSON lines: a command goes to its stdin with an `id`, the reply
//! comes back on its stdout with the same `id`, and everything aioslsk
//! reports (a private message, a search result, a finished transfer...)
//! comes as an event on the same stdout. A reader task splits the two:
//! replies go to the waiting [`AioslskPeer::command`], events into a bounded
//! buffer that [`AioslskPeer::next_event`] searches.
//!
//! # Safety net
//!
//! * The driver refuses any address outside 127.0.0.0/8 at every layer
//!   (`tests/live/loopback_guard.py`), listens on 127.0.0.1, has UPnP off and
//!   always uses the server at 127.0.0.1. When the guard refuses something
//!   (say our server hands out a non-loopback peer address), the driver
//!   reports it and every later call on this peer fails with
//!   [`PeerError::LeftLoopback`].
//! * Every wait is bounded: commands by [`PeerOptions::command_timeout`]
//!   (or an explicit timeout), events by the caller's timeout, the driver
//!   itself by [`PeerOptions::deadline`], after which it stops on its own
//!   (exit status 124). Dropping the peer kills the process.
//!
//! # Commands
//!
//! [`AioslskPeer::command`] sends any command by name with its arguments as
//! a JSON object; the typed helpers below wrap the common ones. Replies are
//! `{"type":"reply","id":N,"ok":true,"result":{..}}` or
//! `{"ok":false,"error":{"kind","message","reason"?,"traceback"?}}` (the
//! latter becomes [`PeerError::Command`]).
//!
//! | command | arguments | result |
//! |---|---|---|
//! | `ping` | | `aioslsk` (version) |
//! | `start` | `username`, `password`, `server_port`, `listen_port`, `obfuscated_port` (0: none), `download_dir`, `shared_dirs` [paths], `description`?, `upload_slots`?, `scan_on_start`? (true), `peer_connect_mode`? (`race` or `fallback`; `race`) | `listen_port`, `obfuscated_port` |
//! | `login` | `timeout`? | `username`, `ip`, `greeting` |
//! | `send_private_message` | `user`, `text` | |
//! | `get_user_info` | `user`, `timeout`? | [`UserInfo`] |
//! | `set_user_info` | `description`?, `upload_slots`? | |
//! | `get_user_status` / `get_user_stats` | `user` | `status`, `privileged` / `avg_speed`, `uploads`, `shared_file_count`, `shared_folder_count` |
//! | `global_search` / `user_search` / `room_search` | `query`, `user` / `room` | `ticket` (results come as events) |
//! | `browse` | `user`, `timeout`? | `directories`, `locked_directories` |
//! | `get_directory` | `user`, `directory` | `directories` |
//! | `list_shares` | `as_user`? | this peer's own shares, as `browse` shows them |
//! | `scan` | | `folder_count`, `file_count` (rescans the shares) |
//! | `distributed_state` | | `parent` (name or null), `branch_level`, `branch_root`, `children` [names] (its place in the distributed tree) |
//! | `download` | `user`, `remote_path` | the transfer (progress comes as events) |
//! | `join_room` / `leave_room` | `room`, `private`? | `room`, `users` / `room` |
//! | `say_room` | `room`, `text`, `wait_echo`? (false) | |
//! | `room_info` | `room` | aioslsk's model of the room: `room`, `private`, `joined`, `owner`, `members`, `operators`, `tickers` [[user, ticker]], `users` [{`name`,`status`,`privileged`,`avg_speed`,`uploads`,`shared_file_count`,`shared_folder_count`}] |
//! | `set_room_ticker` | `room`, `ticker`, `wait_echo`? (false) | |
//! | `set_status` | `status` (`ONLINE` or `AWAY`) | |
//! | `check_guard` | (before `start` only) | every guarded way out tried under a tripwire |
//! | `simulate_escape` | (before `start` only) | reports one refusal as if aioslsk had tried to leave loopback (the call then fails with [`PeerError::LeftLoopback`]) |
//! | `stop` | | (the driver then stops aioslsk and exits 0) |
//!
//! A directory is `{"name", "files": [{"filename","filesize","extension","attributes":[[key,value]]}]}`.
//!
//! # Events
//!
//! `{"type":"event","event":NAME, ...fields}`, with NAME one of:
//! `driver_ready` (`aioslsk`, `pid`), `private_message` (`id`, `timestamp`,
//! `user`, `text`, `is_direct`), `room_message` (`room`, `user`, `text`),
//! `public_message`, `room_joined` / `room_left` (`room`, `user`: null for
//! the server's JoinRoom/LeaveRoom reply to this peer, the member's name for
//! UserJoinedRoom/UserLeftRoom), `search_result` (`ticket`, `query`,
//! `username`, `has_free_slots`, `avg_speed`, `queue_size`, `files`,
//! `locked_files`), `search_request_received` (`username`, `query`,
//! `result_count`), `transfer_added`, `transfer_progress`, and on a state
//! change `transfer_complete` / `transfer_failed` / `transfer_aborted` /
//! `transfer_incomplete` (all with `username`, `remote_path`, `direction`
//! (`DOWNLOAD`/`UPLOAD`), `state`, `bytes_transferred`, `filesize`,
//! `local_path`, `fail_reason`, `abort_reason`), `user_status` (`user`,
//! `status`, `privileged`), `room_tickers` (`room`, `tickers` [[user,
//! ticker]]), `room_ticker_added` (`room`, `user`, `ticker`),
//! `room_ticker_removed` (`room`, `user`), `room_membership_granted` /
//! `room_membership_revoked` / `room_operator_granted` /
//! `room_operator_revoked` (`room`, `member`: null when about this peer),
//! `room_members` (`room`, `members`), `room_operators` (`room`,
//! `operators`), `kicked`, `admin_message` (`message`),
//! `server_disconnected` (`reason`), `peer_disconnected` (`user`,
//! `connection_type` (`P`/`F`/`D`), `reason`), `session_destroyed`, `scan_complete`
//! (`folder_count`, `file_count`), `guard_refused` (`layer`, `address`),
//! `deadline` (`seconds`), `driver_stopped` (`exit_code`).
//!
//! # Example
//!
//! ```ignore
//! let alice = AioslskPeer::spawn(PeerOptions::named("alice")).await?;
//! alice.start(&StartOptions::new("alice", "secret", server_port, download_dir)).await?;
//! alice.login().await?;
//! alice.send_private_message("bob", "hello").await?;
//! let message = bob.event("private_message", Duration::from_secs(10)).await?;
//! assert_eq!(message["text"], "hello");
//! let info = alice.get_user_info("bob").await?;
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::venv::Venv;

/// The aioslsk version `tests/live/requirements.txt` pins.
pub const AIOSLSK_VERSION: &str = "1.7.1";

/// The driver's exit status when its deadline ends it.
pub const DEADLINE_EXIT_CODE: i32 = 124;

/// Longest line accepted from the driver (a browse reply of a large share
/// is one line).
pub const MAX_LINE: usize = 16 << 20;

/// How to run one driver process.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    /// Label on the driver's log lines (its stderr, forwarded to the test's).
    pub name: String,
    /// The driver stops by itself this long after it starts.
    pub deadline: Duration,
    /// Default bound on a command's reply.
    pub command_timeout: Duration,
    /// Python logging level of the driver and aioslsk (`DEBUG`, `INFO`...).
    pub log_level: String,
    /// Events kept while nobody asks for them; beyond, the oldest are dropped
    /// and the next [`AioslskPeer::next_event`] fails.
    pub max_buffered_events: usize,
}

impl PeerOptions {
    /// Defaults: 120 s deadline, 30 s per command, INFO logs, 10 000 events.
    pub fn named(name: &str) -> PeerOptions {
        PeerOptions {
            name: name.into(),
            deadline: Duration::from_secs(120),
            command_timeout: Duration::from_secs(30),
            log_level: "INFO".into(),
            max_buffered_events: 10_000,
        }
    }
}

/// The `start` command: who the peer is and where it connects and listens.
#[derive(Clone, Debug)]
pub struct StartOptions {
    /// The account to log in as.
    pub username: String,
    pub password: String,
    /// Our server's port on 127.0.0.1.
    pub server_port: u16,
    /// aioslsk's listening port on 127.0.0.1 (aioslsk cannot pick one
    /// itself: 0 disables listening and then it refuses to start).
    pub listen_port: u16,
    /// Its obfuscated listening port; 0 for none.
    pub obfuscated_port: u16,
    /// Where downloads land (`local_path` in the transfer events).
    pub download_dir: PathBuf,
    /// Shared folders; each gets a random alias, so remote paths look like
    /// `@@abcde\file.ext`.
    pub shared_dirs: Vec<PathBuf>,
    /// Returned in user info replies (aioslsk sends "" when unset).
    pub description: Option<String>,
    /// Upload slots (aioslsk's default: 2).
    pub upload_slots: Option<u32>,
    /// Scan the shares at start (then wait for the `scan_complete` event
    /// before searching or browsing).
    pub scan_on_start: bool,
    /// How aioslsk connects to peers: `race` (its default: directly and
    /// through the server at once) or `fallback` (directly first, through
    /// the server only if that fails). `None` leaves aioslsk's default.
    pub peer_connect_mode: Option<String>,
}

impl StartOptions {
    /// Nothing shared, a free listening port, no obfuscated port.
    pub fn new(username: &str, password: &str, server_port: u16, download_dir: &Path) -> Self {
        StartOptions {
            username: username.into(),
            password: password.into(),
            server_port,
            listen_port: free_loopback_port(),
            obfuscated_port: 0,
            download_dir: download_dir.into(),
            shared_dirs: Vec::new(),
            description: None,
            upload_slots: None,
            scan_on_start: true,
            peer_connect_mode: None,
        }
    }

    fn to_json(&self) -> Value {
        let mut args = json!({
            "username": self.username,
            "password": self.password,
            "server_port": self.server_port,
            "listen_port": self.listen_port,
            "obfuscated_port": self.obfuscated_port,
            "download_dir": self.download_dir,
            "shared_dirs": self.shared_dirs,
            "scan_on_start": self.scan_on_start,
        });
        if let Some(description) = &self.description {
            args["description"] = json!(description);
        }
        if let Some(slots) = self.upload_slots {
            args["upload_slots"] = json!(slots);
        }
        if let Some(mode) = &self.peer_connect_mode {
            args["peer_connect_mode"] = json!(mode);
        }
        args
    }
}

/// A user info reply (PeerUserInfoReply) as aioslsk read it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct UserInfo {
    /// "" when the peer has none.
    pub description: String,
    /// The picture in hex, when the peer sent one.
    pub picture: Option<String>,
    pub has_slots_free: bool,
    pub upload_slots: u32,
    pub queue_length: u32,
    /// `UNKNOWN` when the reply has no upload permissions field.
    pub upload_permissions: String,
}

/// Why a call on an [`AioslskPeer`] failed.
#[derive(Debug)]
pub enum PeerError {
    /// The driver answered the command with an error.
    Command {
        cmd: String,
        /// The Python exception's class (`Timeout` for aioslsk's own wait,
        /// `AuthenticationError` for a refused login, `CommandError` for a
        /// bad argument or a command at the wrong moment).
        kind: String,
        message: String,
        /// The server's reason of a refused login (`INVALIDPASS`...).
        reason: Option<String>,
        /// Python traceback of an unexpected exception.
        traceback: Option<String>,
    },
    /// No reply or no matching event in time.
    Timeout {
        what: String,
        after: Duration,
    },
    /// The driver process ended.
    Exited {
        what: String,
    },
    /// The loopback guard refused something: aioslsk tried to leave loopback.
    LeftLoopback {
        refusals: Vec<Value>,
    },
    /// Events were dropped because nobody consumed them.
    EventsOverflowed {
        dropped: u64,
    },
    /// The driver wrote something that is not a reply or an event.
    Protocol(String),
    Io(std::io::Error),
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Command {
                cmd,
                kind,
                message,
                reason,
                traceback,
            } => {
                write!(f, "aioslsk `{cmd}` failed: {kind}: {message}")?;
                if let Some(reason) = reason {
                    write!(f, " (reason {reason})")?;
                }
                if let Some(traceback) = traceback {
                    write!(f, "\n{traceback}")?;
                }
                Ok(())
            }
            PeerError::Timeout { what, after } => write!(f, "no {what} within {after:?}"),
            PeerError::Exited { what } => write!(f, "the aioslsk driver exited ({what})"),
            PeerError::LeftLoopback { refusals } => {
                write!(f, "aioslsk tried to leave loopback: {refusals:?}")
            }
            PeerError::EventsOverflowed { dropped } => {
                write!(f, "{dropped} aioslsk event(s) dropped: buffer full")
            }
            PeerError::Protocol(what) => write!(f, "bad output from the aioslsk driver: {what}"),
            PeerError::Io(e) => write!(f, "talking to the aioslsk driver: {e}"),
        }
    }
}

impl std::error::Error for PeerError {}

/// One line from the driver, classified.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    /// A reply to the command with this id (the whole reply object).
    Reply(u64, Value),
    /// An event (the whole event object, `event` holds its name).
    Event(Value),
}

/// Classifies one line of the driver's stdout. Anything but a reply with a
/// numeric id or an event with a string name is an error.
pub fn parse_line(line: &[u8]) -> Result<Inbound, String> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        format!(
            "not JSON ({e}): {:?}",
            String::from_utf8_lossy(&line[..line.len().min(200)])
        )
    })?;
    match value.get("type").and_then(Value::as_str) {
        Some("reply") => match value.get("id").and_then(Value::as_u64) {
            Some(id) if value.get("ok").is_some_and(Value::is_boolean) => {
                Ok(Inbound::Reply(id, value))
            }
            _ => Err(format!("reply without a command id or ok: {value}")),
        },
        Some("event") if value.get("event").is_some_and(Value::is_string) => {
            Ok(Inbound::Event(value))
        }
        _ => Err(format!("neither a reply nor an event: {value}")),
    }
}

/// A port that was free on 127.0.0.1 a moment ago (for aioslsk's listening
/// ports, which it must be given). Another process could take it in between;
/// on loopback in a test run that is rare enough.
pub fn free_loopback_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("binding 127.0.0.1:0")
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, oneshot::Sender<Value>>,
    events: VecDeque<Value>,
    dropped: u64,
    refusals: Vec<Value>,
    protocol_errors: Vec<String>,
    stdout_closed: bool,
}

impl State {
    /// The failure every call reports once something went wrong for good.
    fn failure(&self) -> Option<PeerError> {
        if !self.refusals.is_empty() {
            return Some(PeerError::LeftLoopback {
                refusals: self.refusals.clone(),
            });
        }
        if let Some(error) = self.protocol_errors.first() {
            return Some(PeerError::Protocol(error.clone()));
        }
        if self.dropped > 0 {
            return Some(PeerError::EventsOverflowed {
                dropped: self.dropped,
            });
        }
        None
    }
}

struct Shared {
    state: Mutex<State>,
    /// Woken on every event and when stdout closes.
    changed: Notify,
    max_events: usize,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test thread must not hide the peer's state from Drop.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn receive(&self, line: &[u8]) {
        let mut state = self.state();
        match parse_line(line) {
            Ok(Inbound::Reply(id, reply)) => match state.pending.remove(&id) {
                // The caller may have timed out and gone: nothing to do.
                Some(waiter) => drop(waiter.send(reply)),
                None => state
                    .protocol_errors
                    .push(format!("reply to no command: {reply}")),
            },
            Ok(Inbound::Event(event)) => {
                if event["event"] == "guard_refused" {
                    state.refusals.push(event.clone());
                }
                if state.events.len() >= self.max_events {
                    state.events.pop_front();
                    state.dropped += 1;
                }
                state.events.push_back(event);
            }
            Err(error) => state.protocol_errors.push(error),
        }
        drop(state);
        self.changed.notify_waiters();
    }

    fn close(&self, error: Option<String>) {
        let mut state = self.state();
        state.stdout_closed = true;
        state.protocol_errors.extend(error);
        // Dropping the senders wakes every waiting command with "exited".
        state.pending.clear();
        drop(state);
        self.changed.notify_waiters();
    }
}

/// One running aioslsk driver. See the [module documentation](self).
pub struct AioslskPeer {
    name: String,
    child: tokio::sync::Mutex<Child>,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    command_timeout: Duration,
    tasks: [JoinHandle<()>; 2],
}

impl AioslskPeer {
    /// Creates the venv if needed (the first time: ~10-60 s, needs PyPI),
    /// starts the driver and waits for it to be ready (aioslsk imported,
    /// loopback guard installed). aioslsk itself starts with [`Self::start`].
    pub async fn spawn(options: PeerOptions) -> Result<AioslskPeer, PeerError> {
        // From the workspace root, so that other crates' tests can include
        // this file (`slsk-cli/tests/share_aioslsk.rs` does).
        let live = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/live");
        let requirements = live.join("requirements.txt");
        let python = tokio::task::spawn_blocking(move || Venv::live(&requirements).python())
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

        let mut child = Command::new(python)
            .arg(live.join("aioslsk_peer.py"))
            .arg("--deadline")
            .arg(options.deadline.as_secs_f64().to_string())
            .arg("--log-level")
            .arg(&options.log_level)
            // No __pycache__ in the source tree.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(PeerError::Io)?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");

        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            max_events: options.max_buffered_events.max(1),
        });
        let reader = tokio::spawn(read_stdout(stdout, shared.clone()));
        let logger = tokio::spawn(forward_stderr(stderr, options.name.clone()));
        let peer = AioslskPeer {
            name: options.name,
            child: tokio::sync::Mutex::new(child),
            stdin: tokio::sync::Mutex::new(Some(stdin)),
            shared,
            next_id: AtomicU64::new(1),
            command_timeout: options.command_timeout,
            tasks: [reader, logger],
        };
        let ready = peer.event("driver_ready", Duration::from_secs(60)).await?;
        if ready["aioslsk"] != AIOSLSK_VERSION {
            return Err(PeerError::Protocol(format!(
                "the venv holds aioslsk {}, not {AIOSLSK_VERSION}",
                ready["aioslsk"]
            )));
        }
        Ok(peer)
    }

    /// The name given in [`PeerOptions::name`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends a command and waits for its reply, at most
    /// [`PeerOptions::command_timeout`]. `args` is a JSON object (or null).
    pub async fn command(&self, cmd: &str, args: Value) -> Result<Value, PeerError> {
        self.command_with_timeout(cmd, args, self.command_timeout)
            .await
    }

    /// [`Self::command`] with its own bound. Commands may overlap: each
    /// waits for the reply with its own id.
    pub async fn command_with_timeout(
        &self,
        cmd: &str,
        args: Value,
        timeout: Duration,
    ) -> Result<Value, PeerError> {
        let mut message = match args {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                return Err(PeerError::Protocol(format!(
                    "arguments of `{cmd}` must be an object, not {other}"
                )));
            }
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        message.insert("id".into(), json!(id));
        message.insert("cmd".into(), json!(cmd));
        let (sender, receiver) = oneshot::channel();
        {
            let mut state = self.shared.state();
            if let Some(failure) = state.failure() {
                return Err(failure);
            }
            if state.stdout_closed {
                return Err(PeerError::Exited {
                    what: format!("before `{cmd}`"),
                });
            }
            state.pending.insert(id, sender);
        }

        let mut line = Value::Object(message).to_string();
        line.push('\n');
        let written = tokio::time::timeout(timeout, async {
            match self.stdin.lock().await.as_mut() {
                Some(stdin) => {
                    stdin.write_all(line.as_bytes()).await?;
                    stdin.flush().await
                }
                None => Err(std::io::ErrorKind::BrokenPipe.into()),
            }
        })
        .await;
        let outcome = match written {
            Ok(Ok(())) => tokio::time::timeout(timeout, receiver).await,
            Ok(Err(e)) => {
                self.shared.state().pending.remove(&id);
                return Err(PeerError::Exited {
                    what: format!("writing `{cmd}`: {e}"),
                });
            }
            Err(elapsed) => Err(elapsed),
        };
        let reply = match outcome {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => {
                return Err(PeerError::Exited {
                    what: format!("waiting for the reply to `{cmd}`"),
                });
            }
            // The entry stays: a late reply finds it and is dropped quietly.
            Err(_) => {
                return Err(PeerError::Timeout {
                    what: format!("reply to `{cmd}`"),
                    after: timeout,
                });
            }
        };
        if let Some(failure) = self.shared.state().failure() {
            return Err(failure);
        }
        if reply["ok"] == true {
            return Ok(reply.get("result").cloned().unwrap_or(Value::Null));
        }
        let error = &reply["error"];
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(String::from);
        Err(PeerError::Command {
            cmd: cmd.into(),
            kind: text("kind").unwrap_or_default(),
            message: text("message").unwrap_or_default(),
            reason: text("reason"),
            traceback: text("traceback"),
        })
    }

    /// Waits for the first event (buffered or to come) that `matches`, and
    /// takes it out of the buffer; other events stay buffered for later
    /// calls.
    pub async fn next_event(
        &self,
        mut matches: impl FnMut(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value, PeerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            // Registered before looking, so no event slips in between.
            notified.as_mut().enable();
            {
                let mut state = self.shared.state();
                if let Some(failure) = state.failure() {
                    return Err(failure);
                }
                if let Some(position) = state.events.iter().position(&mut matches) {
                    return Ok(state.events.remove(position).expect("position is in range"));
                }
                if state.stdout_closed {
                    return Err(PeerError::Exited {
                        what: format!(
                            "waiting for an event; buffered: {}",
                            event_names(&state.events)
                        ),
                    });
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(PeerError::Timeout {
                    what: format!(
                        "matching event (buffered: {})",
                        event_names(&self.shared.state().events)
                    ),
                    after: timeout,
                });
            }
        }
    }

    /// The next event named `name`.
    pub async fn event(&self, name: &str, timeout: Duration) -> Result<Value, PeerError> {
        self.next_event(|event| event["event"] == name, timeout)
            .await
    }

    /// Takes every buffered event, oldest first.
    pub fn drain_events(&self) -> Vec<Value> {
        self.shared.state().events.drain(..).collect()
    }

    // ----- typed helpers -----

    /// Configures aioslsk and starts it: opens its listening port(s) and
    /// connects to the server (no login yet). Returns the listening ports.
    pub async fn start(&self, options: &StartOptions) -> Result<Value, PeerError> {
        self.command("start", options.to_json()).await
    }

    /// Logs in with the credentials given to [`Self::start`]. A refused login
    /// is a [`PeerError::Command`] with kind `AuthenticationError` and the
    /// server's reason. Logging in twice is refused by the driver: aioslsk's
    /// login would break its own connection.
    pub async fn login(&self) -> Result<Value, PeerError> {
        self.command("login", Value::Null).await
    }

    /// Sends a private message through the server (received as a
    /// `private_message` event by the other peer).
    pub async fn send_private_message(&self, user: &str, text: &str) -> Result<(), PeerError> {
        self.command("send_private_message", json!({"user": user, "text": text}))
            .await
            .map(drop)
    }

    /// Asks `user` for its user info over a peer connection.
    pub async fn get_user_info(&self, user: &str) -> Result<UserInfo, PeerError> {
        let info = self.command("get_user_info", json!({"user": user})).await?;
        serde_json::from_value(info).map_err(|e| PeerError::Protocol(e.to_string()))
    }

    /// Sets the description this peer sends in user info replies.
    pub async fn set_description(&self, description: &str) -> Result<(), PeerError> {
        self.command("set_user_info", json!({"description": description}))
            .await
            .map(drop)
    }

    /// Starts a global search; results come as `search_result` events with
    /// the returned ticket.
    pub async fn global_search(&self, query: &str) -> Result<u64, PeerError> {
        ticket(
            self.command("global_search", json!({"query": query}))
                .await?,
        )
    }

    /// Starts a search in one user's shares; results as for
    /// [`Self::global_search`].
    pub async fn user_search(&self, user: &str, query: &str) -> Result<u64, PeerError> {
        ticket(
            self.command("user_search", json!({"user": user, "query": query}))
                .await?,
        )
    }

    /// Browses `user`'s shares: `directories` and `locked_directories`.
    pub async fn browse(&self, user: &str) -> Result<Value, PeerError> {
        self.command("browse", json!({"user": user})).await
    }

    /// This peer's place in the distributed tree: `parent`, `branch_level`,
    /// `branch_root`, `children`.
    pub async fn distributed_state(&self) -> Result<Value, PeerError> {
        self.command("distributed_state", Value::Null).await
    }

    /// This peer's own shares as another user would browse them; a file's
    /// remote path is `<directory name>\<filename>`.
    pub async fn list_shares(&self) -> Result<Value, PeerError> {
        self.command("list_shares", Value::Null).await
    }

    /// Queues a download; follow it with `transfer_*` events.
    pub async fn download(&self, user: &str, remote_path: &str) -> Result<Value, PeerError> {
        self.command(
            "download",
            json!({"user": user, "remote_path": remote_path}),
        )
        .await
    }

    /// Joins a room; returns `room` and its `users`.
    pub async fn join_room(&self, room: &str) -> Result<Value, PeerError> {
        self.command("join_room", json!({"room": room})).await
    }

    /// Says something in a room (without waiting for the server's echo).
    pub async fn say_room(&self, room: &str, text: &str) -> Result<(), PeerError> {
        self.command("say_room", json!({"room": room, "text": text}))
            .await
            .map(drop)
    }

    /// Joins a private room (creating it with this peer as owner if it does
    /// not exist); returns `room`, `private` and its `users`.
    pub async fn join_private_room(&self, room: &str) -> Result<Value, PeerError> {
        self.command("join_room", json!({"room": room, "private": true}))
            .await
    }

    /// What aioslsk knows of a room: see `room_info` in the module
    /// documentation.
    pub async fn room_info(&self, room: &str) -> Result<Value, PeerError> {
        self.command("room_info", json!({"room": room})).await
    }

    /// Sets this peer's ticker in a room and waits for the server's
    /// RoomTickerAdded.
    pub async fn set_room_ticker(&self, room: &str, ticker: &str) -> Result<(), PeerError> {
        self.command(
            "set_room_ticker",
            json!({"room": room, "ticker": ticker, "wait_echo": true}),
        )
        .await
        .map(drop)
    }

    /// Sets this peer's status: `ONLINE` or `AWAY`.
    pub async fn set_status(&self, status: &str) -> Result<(), PeerError> {
        self.command("set_status", json!({"status": status}))
            .await
            .map(drop)
    }

    /// Leaves a room and waits for the server's confirmation.
    pub async fn leave_room(&self, room: &str) -> Result<(), PeerError> {
        self.command("leave_room", json!({"room": room}))
            .await
            .map(drop)
    }

    /// Asks the driver to stop aioslsk and exit, and waits for the exit.
    pub async fn stop(&self) -> Result<ExitStatus, PeerError> {
        self.command("stop", Value::Null).await?;
        self.wait_exit(Duration::from_secs(20)).await
    }

    /// Closes the driver's stdin, which also stops it.
    pub async fn close_stdin(&self) {
        self.stdin.lock().await.take();
    }

    /// Waits for the driver process to end.
    pub async fn wait_exit(&self, timeout: Duration) -> Result<ExitStatus, PeerError> {
        let mut child = self.child.lock().await;
        match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => status.map_err(PeerError::Io),
            Err(_) => Err(PeerError::Timeout {
                what: "driver exit".into(),
                after: timeout,
            }),
        }
    }
}

impl Drop for AioslskPeer {
    fn drop(&mut self) {
        // The child is killed by kill_on_drop; the tasks end with its pipes,
        // but need not outlive the peer.
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn ticket(result: Value) -> Result<u64, PeerError> {
    result["ticket"]
        .as_u64()
        .ok_or_else(|| PeerError::Protocol(format!("no ticket in {result}")))
}

fn event_names(events: &VecDeque<Value>) -> String {
    let names: Vec<&str> = events
        .iter()
        .map(|event| event["event"].as_str().unwrap_or("?"))
        .collect();
    format!("[{}]", names.join(", "))
}

/// Reads one line of at most [`MAX_LINE`] bytes (without its newline);
/// `None` at the end of the stream.
async fn read_bounded_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<()>> {
    line.clear();
    let read = reader
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() > MAX_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a line longer than {MAX_LINE} bytes"),
        ));
    }
    Ok(Some(()))
}

async fn read_stdout(stdout: tokio::process::ChildStdout, shared: Arc<Shared>) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        match read_bounded_line(&mut reader, &mut line).await {
            Ok(Some(())) => shared.receive(&line),
            Ok(None) => return shared.close(None),
            Err(e) => return shared.close(Some(format!("reading stdout: {e}"))),
        }
    }
}

async fn forward_stderr(stderr: tokio::process::ChildStderr, name: String) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    while let Ok(Some(())) = read_bounded_line(&mut reader, &mut line).await {
        // Through the test harness's capture: shown when a test fails.
        eprintln!("[aioslsk {name}] {}", String::from_utf8_lossy(&line));
    }
}
