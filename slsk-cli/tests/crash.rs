//! `slsk server` killed with SIGKILL under load loses nothing it promised:
//! every account whose login succeeded, every private message, private
//! room membership, ticker, privilege and ban the server answered a later
//! request after (a reply is sent only once the writes before it are
//! committed) is there after a restart on the same database.
//!
//! What is checked is a list ([`CHECKS`]): add one entry per kind of
//! durable state.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use slsk_proto::FramedMessage;
use slsk_proto::server::{
    CheckPrivilegesRequest, GetPeerAddressRequest, JoinRoomRequest, LoginRequest, LoginResponse,
    PrivateChatMessageRequest, PrivateRoomGrantMembershipRequest, ServerRequest, ServerResponse,
    SetRoomTickerRequest, TogglePrivateRoomInvitesRequest,
};

const DEADLINE: Duration = Duration::from_secs(30);

/// Accounts registered before the messages start (their owners are
/// offline, so messages to them wait in the database).
const RECIPIENTS: usize = 20;

/// A recipient that stays online and never acknowledges: its messages are
/// delivered live, which the server may do before they are committed. A
/// message confirmed by a later reply to its sender must still be waiting
/// after the kill all the same.
const LISTENER: &str = "listener";

/// Messages per round; each round ends with a request whose reply confirms
/// them.
const ROUND: usize = 25;

/// What the server confirmed before it was killed.
#[derive(Debug, Default)]
struct Promised {
    /// Accounts whose login (registration) succeeded, with the password.
    accounts: BTreeSet<String>,
    /// For each recipient, the texts of confirmed messages.
    messages: BTreeMap<String, BTreeSet<String>>,
    /// Private rooms of [`ADMIN`], with the member added to each.
    private_rooms: BTreeMap<String, String>,
    /// [`ADMIN`]'s ticker in each of those rooms.
    tickers: BTreeMap<String, String>,
    /// Users given privileges by [`ADMIN`].
    privileged: BTreeSet<String>,
    /// Users banned for ever by [`ADMIN`].
    banned: BTreeSet<String>,
}

/// The admin (`--add-admin`) who creates rooms, sets tickers, gives
/// privileges and bans during the load.
const ADMIN: &str = "boss";

/// One kind of durable state: `Err` says what was lost.
type Check = fn(&Promised, &ServerProcess) -> Result<(), String>;

const CHECKS: &[(&str, Check)] = &[
    ("accounts", accounts_survive),
    ("unacknowledged private messages", messages_survive),
    ("private rooms and their members", private_rooms_survive),
    ("tickers", tickers_survive),
    ("privileges", privileges_survive),
    ("bans", bans_survive),
];

struct ServerProcess {
    child: Child,
    addr: String,
    db: PathBuf,
}

impl ServerProcess {
    fn start(db: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slsk"))
            .args([
                "server",
                "--listen",
                "127.0.0.1:0",
                "--insecure-test-password-cost",
                // The sender below sends faster than a person may.
                "--no-flood-limits",
                "--add-admin",
                ADMIN,
            ])
            .arg("--db")
            .arg(db)
            .env("RUST_LOG", "warn,slsk_server::driver=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let addr = loop {
            let line = lines.recv_timeout(DEADLINE).expect("no listening line");
            if let Some(rest) = line.split("local_addr=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        Self {
            child,
            addr,
            db: db.to_owned(),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_message(stream: &mut TcpStream) -> std::io::Result<ServerResponse> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let mut frame = len.to_vec();
    frame.resize(4 + u32::from_le_bytes(len) as usize, 0);
    stream.read_exact(&mut frame[4..])?;
    ServerResponse::decode_frame(&frame).map_err(std::io::Error::other)
}

fn send(stream: &mut TcpStream, request: impl Into<ServerRequest>) -> std::io::Result<()> {
    stream.write_all(&request.into().to_frame().unwrap())
}

/// Connects and logs in; `Ok` once the server said the login succeeded.
fn login(addr: &str, name: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    let request = LoginRequest {
        username: name.into(),
        password: format!("pw-{name}"),
        version: 160,
        md5_hash: None,
        minor_version: Some(1),
    };
    send(&mut stream, request)?;
    loop {
        match read_message(&mut stream)? {
            ServerResponse::Login(LoginResponse::Success { .. }) => return Ok(stream),
            ServerResponse::Login(failure) => {
                return Err(std::io::Error::other(format!("{name}: {failure:?}")));
            }
            _ => {}
        }
    }
}

/// Sends GetPeerAddress about `me` and collects every private message text
/// until its reply: the server handles a connection's requests in order.
fn sync(stream: &mut TcpStream, me: &str) -> std::io::Result<Vec<String>> {
    send(
        stream,
        GetPeerAddressRequest {
            username: me.into(),
        },
    )?;
    let mut texts = Vec::new();
    loop {
        match read_message(stream)? {
            ServerResponse::GetPeerAddress(reply) if reply.username == me => return Ok(texts),
            ServerResponse::PrivateChatMessage(pm) => texts.push(pm.message),
            _ => {}
        }
    }
}

#[test]
fn sigkill_under_load_loses_nothing_promised() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slsk.db");
    let server = ServerProcess::start(&db);
    let promised = Arc::new(Mutex::new(Promised::default()));
    let recipients: Vec<String> = (0..RECIPIENTS).map(|i| format!("rcpt{i}")).collect();
    for name in &recipients {
        drop(login(&server.addr, name).unwrap());
        promised.lock().unwrap().accounts.insert(name.clone());
    }

    let mut listener = login(&server.addr, LISTENER).unwrap();
    promised.lock().unwrap().accounts.insert(LISTENER.into());
    // Reads (and drops) what it is sent until the kill closes the connection.
    let listening = std::thread::spawn(move || while read_message(&mut listener).is_ok() {});

    let stop = Arc::new(AtomicBool::new(false));
    let (progress_tx, progress) = mpsc::channel::<()>();
    // Registrations, one after the other, until the kill.
    let registering = std::thread::spawn({
        let (addr, promised, stop) = (server.addr.clone(), promised.clone(), stop.clone());
        let progress = progress_tx.clone();
        move || {
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("late{i}");
                match login(&addr, &name) {
                    Ok(_) => {
                        promised.lock().unwrap().accounts.insert(name);
                        let _ = progress.send(());
                    }
                    Err(_) => break, // killed
                }
            }
        }
    });
    // Messages to the offline recipients and the listener, confirmed round
    // by round.
    let messaging = std::thread::spawn({
        let (addr, promised, stop) = (server.addr.clone(), promised.clone(), stop.clone());
        let recipients = recipients.clone();
        let progress = progress_tx.clone();
        move || {
            let Ok(mut stream) = login(&addr, "sender") else {
                return;
            };
            promised.lock().unwrap().accounts.insert("sender".into());
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut round = Vec::new();
                for _ in 0..ROUND {
                    let to = if seq % 2 == 0 {
                        LISTENER.to_owned()
                    } else {
                        recipients[seq / 2 % recipients.len()].clone()
                    };
                    let text = format!("message {seq}");
                    seq += 1;
                    let request = PrivateChatMessageRequest {
                        username: to.clone(),
                        message: text.clone(),
                    };
                    if send(&mut stream, request).is_err() {
                        return;
                    }
                    round.push((to, text));
                }
                if sync(&mut stream, "sender").is_err() {
                    return; // killed: this round is not promised
                }
                let mut promised = promised.lock().unwrap();
                for (to, text) in round {
                    promised.messages.entry(to).or_default().insert(text);
                }
                drop(promised);
                let _ = progress.send(());
            }
        }
    });
    // Rooms, tickers, privileges and bans, confirmed round by round.
    let administering = std::thread::spawn({
        let (addr, promised, stop) = (server.addr.clone(), promised.clone(), stop.clone());
        let progress = progress_tx.clone();
        move || {
            let Ok(mut admin) = login(&addr, ADMIN) else {
                return;
            };
            promised.lock().unwrap().accounts.insert(ADMIN.into());
            for round in 0.. {
                if stop.load(Ordering::Relaxed)
                    || administer(&addr, &mut admin, round, &promised).is_err()
                {
                    return; // killed: this round is not promised
                }
                let _ = progress.send(());
            }
        }
    });
    drop(progress_tx);

    // Kill in the middle of the load, once enough has been promised.
    let started = Instant::now();
    for _ in 0..60 {
        progress.recv_timeout(DEADLINE).expect("no progress");
    }
    assert!(started.elapsed() < DEADLINE);
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    registering.join().unwrap();
    messaging.join().unwrap();
    administering.join().unwrap();
    listening.join().unwrap();

    let promised = Arc::try_unwrap(promised).unwrap().into_inner().unwrap();
    let confirmed: usize = promised.messages.values().map(BTreeSet::len).sum();
    assert!(
        promised.accounts.len() > RECIPIENTS
            && confirmed >= ROUND
            && !promised.private_rooms.is_empty()
            && !promised.privileged.is_empty()
            && !promised.banned.is_empty(),
        "too little load: {} accounts, {confirmed} messages, {} rooms, {} privileged, {} bans",
        promised.accounts.len(),
        promised.private_rooms.len(),
        promised.privileged.len(),
        promised.banned.len()
    );
    eprintln!(
        "promised before the kill: {} accounts, {confirmed} messages, {} rooms, {} privileged, {} bans",
        promised.accounts.len(),
        promised.private_rooms.len(),
        promised.privileged.len(),
        promised.banned.len()
    );
    let restarted = ServerProcess::start(&db);
    for (name, check) in CHECKS {
        if let Err(lost) = check(&promised, &restarted) {
            panic!("{name} lost after SIGKILL: {lost}");
        }
    }
}

/// Every promised account is still there: a login with a wrong password
/// fails (a lost account would be registered anew and succeed), and one with
/// the right password succeeds.
fn accounts_survive(promised: &Promised, server: &ServerProcess) -> Result<(), String> {
    let addr = server.addr.as_str();
    // A banned login gets no reply: bans are checked on their own.
    for name in promised.accounts.difference(&promised.banned) {
        let wrong = LoginRequest {
            username: name.clone(),
            password: "wrong".into(),
            version: 160,
            md5_hash: None,
            minor_version: Some(1),
        };
        let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        send(&mut stream, wrong).map_err(|e| e.to_string())?;
        match read_message(&mut stream).map_err(|e| e.to_string())? {
            ServerResponse::Login(LoginResponse::Failure { .. }) => {}
            reply => return Err(format!("{name} was registered anew: {reply:?}")),
        }
        login(addr, name).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// Every recipient gets every promised message again at login (they were
/// never acknowledged).
fn messages_survive(promised: &Promised, server: &ServerProcess) -> Result<(), String> {
    let addr = server.addr.as_str();
    for (name, texts) in &promised.messages {
        // Replayed right after the Login reply, before the sync's reply.
        let mut stream = login(addr, name).map_err(|e| format!("{name}: {e}"))?;
        let replayed: BTreeSet<String> = sync(&mut stream, name)
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        let lost: Vec<_> = texts.difference(&replayed).collect();
        if !lost.is_empty() {
            return Err(format!(
                "{name}: {} of {} lost: {lost:?}",
                lost.len(),
                texts.len()
            ));
        }
    }
    Ok(())
}

/// One round of the admin's work: registers a member, a privileged user
/// and a victim, then creates a private room with the member in it, sets a
/// ticker there, gives privileges and bans. Everything is promised once a
/// later request is answered and the server's replies say it was done.
fn administer(
    addr: &str,
    admin: &mut TcpStream,
    round: usize,
    promised: &Mutex<Promised>,
) -> std::io::Result<()> {
    let (room, member) = (format!("club{round}"), format!("member{round}"));
    let (vip, victim) = (format!("vip{round}"), format!("victim{round}"));
    drop(login(addr, &vip)?);
    drop(login(addr, &victim)?);
    // Membership needs the member online with invitations on.
    let mut member_stream = login(addr, &member)?;
    send(
        &mut member_stream,
        TogglePrivateRoomInvitesRequest { enable: true },
    )?;
    sync(&mut member_stream, &member)?;
    promised
        .lock()
        .unwrap()
        .accounts
        .extend([vip.clone(), victim.clone(), member.clone()]);

    let ticker = format!("ticker of round {round}");
    send(
        admin,
        JoinRoomRequest {
            room_name: room.clone(),
            is_private: Some(1),
        },
    )?;
    send(
        admin,
        PrivateRoomGrantMembershipRequest {
            room: room.clone(),
            username: member.clone(),
        },
    )?;
    send(
        admin,
        SetRoomTickerRequest {
            room: room.clone(),
            ticker: ticker.clone(),
        },
    )?;
    let command = |text: String| PrivateChatMessageRequest {
        username: "server".into(),
        message: text,
    };
    send(admin, command(format!("giveprivileges 1 {vip}")))?;
    send(admin, command(format!("ban {victim}")))?;
    let replies = sync(admin, ADMIN)?;
    drop(member_stream);

    let said = |text: &str| replies.iter().any(|reply| reply == text);
    let mut promised = promised.lock().unwrap();
    if said(&format!("User {member} is now a member of room {room}")) {
        promised.private_rooms.insert(room.clone(), member);
        promised.tickers.insert(room, ticker);
    }
    if said(&format!("Gave 1 days of privileges to {vip}.")) {
        promised.privileged.insert(vip);
    }
    if said(&format!("{victim} is banned for ever.")) {
        promised.banned.insert(victim);
    }
    Ok(())
}

/// Reads messages until one that `pick` accepts, returning what it made.
fn read_until<T>(
    stream: &mut TcpStream,
    mut pick: impl FnMut(ServerResponse) -> Option<T>,
) -> Result<T, String> {
    loop {
        let message = read_message(stream).map_err(|e| e.to_string())?;
        if let Some(found) = pick(message) {
            return Ok(found);
        }
    }
}

/// Each member sees its room among its private rooms at login, and the
/// owner sees every room it owns.
fn private_rooms_survive(promised: &Promised, server: &ServerProcess) -> Result<(), String> {
    let addr = server.addr.as_str();
    for (room, member) in &promised.private_rooms {
        let mut stream = login(addr, member).map_err(|e| format!("{member}: {e}"))?;
        let rooms = read_until(&mut stream, |message| match message {
            ServerResponse::RoomList(list) => Some(list.rooms_private),
            _ => None,
        })?;
        if !rooms.iter().any(|info| &info.name == room) {
            return Err(format!("{member} is no longer a member of {room}"));
        }
    }
    let mut stream = login(addr, ADMIN).map_err(|e| e.to_string())?;
    let owned = read_until(&mut stream, |message| match message {
        ServerResponse::RoomList(list) => Some(list.rooms_private_owned),
        _ => None,
    })?;
    let owned: BTreeSet<&String> = owned.iter().map(|info| &info.name).collect();
    let lost: Vec<_> = promised
        .private_rooms
        .keys()
        .filter(|room| !owned.contains(room))
        .collect();
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!("{ADMIN} no longer owns {lost:?}"))
    }
}

/// Joining each room shows the admin's ticker in it.
fn tickers_survive(promised: &Promised, server: &ServerProcess) -> Result<(), String> {
    let addr = server.addr.as_str();
    let mut stream = login(addr, ADMIN).map_err(|e| e.to_string())?;
    for (room, ticker) in &promised.tickers {
        let request = JoinRoomRequest {
            room_name: room.clone(),
            is_private: Some(1),
        };
        send(&mut stream, request).map_err(|e| e.to_string())?;
        let tickers = read_until(&mut stream, |message| match message {
            ServerResponse::RoomTickers(reply) if &reply.room == room => Some(reply.tickers),
            _ => None,
        })?;
        if !tickers
            .iter()
            .any(|t| t.username == ADMIN && &t.ticker == ticker)
        {
            return Err(format!("{room}: {tickers:?}"));
        }
    }
    Ok(())
}

/// Each privileged user still has time left.
fn privileges_survive(promised: &Promised, server: &ServerProcess) -> Result<(), String> {
    let addr = server.addr.as_str();
    for name in &promised.privileged {
        let mut stream = login(addr, name).map_err(|e| format!("{name}: {e}"))?;
        send(&mut stream, CheckPrivilegesRequest).map_err(|e| e.to_string())?;
        let left = read_until(&mut stream, |message| match message {
            ServerResponse::CheckPrivileges(reply) => Some(reply.time_left),
            _ => None,
        })?;
        if left == 0 {
            return Err(format!("{name} has no privileges left"));
        }
    }
    Ok(())
}

/// Each banned account is still banned. A banned login gets no reply at
/// all, so this reads the database the restarted server recovered.
fn bans_survive(promised: &Promised, server: &ServerProcess) -> Result<(), String> {
    let store = slsk_server::store::Store::open(&server.db).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for name in &promised.banned {
        match store.account(name).map_err(|e| e.to_string())? {
            Some(account) if account.is_banned(now) => {}
            account => return Err(format!("{name}: {account:?}")),
        }
    }
    Ok(())
}
