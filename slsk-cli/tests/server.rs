//! `slsk server`: starts, serves a login over loopback, keeps its database
//! file, and stops cleanly on SIGINT (what Ctrl-C sends).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use slsk_proto::FramedMessage;
use slsk_proto::server::{
    LoginRequest, LoginResponse, PrivateChatMessageRequest, ServerRequest, ServerResponse,
};

const DEADLINE: Duration = Duration::from_secs(30);

fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut frame = len.to_vec();
    frame.resize(4 + u32::from_le_bytes(len) as usize, 0);
    stream.read_exact(&mut frame[4..]).unwrap();
    frame
}

#[test]
fn server_serves_a_login_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slsk.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_slsk"))
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--add-admin",
            "alice",
            "--db",
        ])
        .arg(&db)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Every stderr line goes to a channel, so that each wait has a deadline.
    let (lines_tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let addr = loop {
        let line = lines.recv_timeout(DEADLINE).expect("no listening line");
        if let Some(rest) = line.split("local_addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };

    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let login = ServerRequest::from(LoginRequest {
        username: "alice".into(),
        password: "pw".into(),
        version: 160,
        md5_hash: None,
        minor_version: Some(1),
    });
    stream.write_all(&login.to_frame().unwrap()).unwrap();
    let reply = ServerResponse::decode_frame(&read_frame(&mut stream)).unwrap();
    assert!(
        matches!(reply, ServerResponse::Login(LoginResponse::Success { .. })),
        "{reply:?}"
    );
    // --add-admin made alice an admin: `help` lists the admin commands.
    let help = ServerRequest::from(PrivateChatMessageRequest {
        username: "server".into(),
        message: "help".into(),
    });
    stream.write_all(&help.to_frame().unwrap()).unwrap();
    let reply = (0..100)
        .find_map(
            |_| match ServerResponse::decode_frame(&read_frame(&mut stream)).unwrap() {
                ServerResponse::PrivateChatMessage(pm) if pm.username == "server" => {
                    Some(pm.message)
                }
                _ => None,
            },
        )
        .expect("a reply from server");
    assert!(reply.contains("ban [days] <user>"), "{reply}");

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = done
        .recv_timeout(DEADLINE)
        .expect("no exit after SIGINT")
        .unwrap();
    assert!(status.success(), "{status:?}");
    // The reader thread ends at the pipe's end, which ends this loop.
    let mut log = Vec::new();
    while let Ok(line) = lines.recv_timeout(DEADLINE) {
        log.push(line);
    }
    assert!(log.iter().any(|l| l.contains("server stopped")), "{log:?}");
    assert!(db.exists());
}
