//! The `slsk` binary, run as a user would run it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const LOGIN: &str = "1e00000001000000080000004a6f686e47616c7406000000736563726574c8000000";
const LOGIN_JSON: &str = r#"{"Login":{"username":"JohnGalt","password":"secret","version":200,"md5_hash":null,"minor_version":null}}"#;

fn slsk(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_slsk"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = slsk(args, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

/// Fails cleanly: exit code 1, a message on stderr, nothing on stdout, no panic.
fn fails(args: &[&str], stderr_has: &str) {
    fails_with(1, args, stderr_has);
}

/// A usage error: exit code 2 (clap's), otherwise as [`fails`].
fn usage(args: &[&str], stderr_has: &str) {
    fails_with(2, args, stderr_has);
}

fn fails_with(code: i32, args: &[&str], stderr_has: &str) {
    let out = slsk(args, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert!(stderr.starts_with("slsk: "), "{stderr}");
    assert!(
        stderr.contains(stderr_has),
        "{args:?}: {stderr:?} lacks {stderr_has:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn decodes_and_encodes_the_seed_login() {
    assert_eq!(ok(&["decode", "server-request", LOGIN]), LOGIN_JSON);
    assert_eq!(ok(&["encode", "server-request", LOGIN_JSON]), LOGIN);
}

#[test]
fn decode_accepts_spaced_hex() {
    let spaced = "1e000000 01000000 08000000 4a6f686e47616c74 06000000 736563726574 c8000000";
    assert_eq!(ok(&["decode", "server-request", spaced]), LOGIN_JSON);
}

#[test]
fn round_trips_every_kind() {
    let cases = [
        (
            "server-response",
            r#"{"Login":{"Failure":{"reason":"INVALIDVERSION","detail":null}}}"#,
        ),
        (
            "peer-init",
            r#"{"PeerInit":{"username":"ünï","connection_type":"Peer","ticket":{"Wide":7}}}"#,
        ),
        (
            "peer",
            r#"{"PeerTransferRequest":{"direction":"Upload","ticket":9,"filename":"a\\b.mp3","filesize":4294967296}}"#,
        ),
        (
            "distributed",
            r#"{"DistributedSearchRequest":{"unknown":49,"username":"u","ticket":1,"query":"q"}}"#,
        ),
    ];
    for (kind, json) in cases {
        let frame = ok(&["encode", kind, json]);
        let decoded = ok(&["decode", kind, &frame]);
        assert_eq!(ok(&["encode", kind, &decoded]), frame, "{kind} {json}");
    }
}

#[test]
fn compressed_messages_are_inflated_and_deflated() {
    let json = r#"{"PeerSharesReply":{"directories":[{"name":"Music","files":[]}],"unknown":0,"locked_directories":null}}"#;
    let frame = ok(&["encode", "peer", json]);
    // length, code 5, then a zlib stream (78 xx).
    assert_eq!(&frame[8..16], "05000000");
    assert_eq!(&frame[16..18], "78");
    assert_eq!(ok(&["decode", "peer", &frame]), json);
}

#[test]
fn bad_hex_is_an_error() {
    fails(&["decode", "peer", "zz"], "not a hex byte");
    fails(&["decode", "peer", "abc"], "odd number of hex digits");
}

#[test]
fn truncated_frame_is_an_error() {
    fails(
        &["decode", "server-request", &LOGIN[..LOGIN.len() - 2]],
        "length field",
    );
    fails(
        &["decode", "server-request", "0500"],
        "cannot hold a length field",
    );
    // A consistent frame whose payload ends inside a field.
    fails(
        &["decode", "server-request", "0800000001000000ff000000"],
        "username",
    );
}

#[test]
fn unknown_kind_and_command_are_errors() {
    usage(&["decode", "server", LOGIN], "unknown kind \"server\"");
    usage(&["frobnicate", "peer", LOGIN], "unknown command");
    usage(&["decode"], "usage");
    fails(&["encode", "peer", "{\"Nope\":{}}"], "bad JSON");
}

#[test]
fn stdin_batch_reads_one_frame_per_line() {
    let frames = ok(&[
        "encode",
        "distributed",
        r#"{"DistributedBranchLevel":{"level":3}}"#,
    ]);
    let input = format!("{LOGIN}\n\n{LOGIN}\n");
    let out = slsk(&["decode", "server-request", "-"], Some(&input));
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{LOGIN_JSON}\n{LOGIN_JSON}\n")
    );

    // A bad line is reported with its number; the others still go through.
    let input = format!("{frames}\nnot hex\n{frames}\n");
    let out = slsk(&["decode", "distributed"], Some(&input));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("line 2:"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");

    let out = slsk(
        &["encode", "server-request", "-"],
        Some(&format!("{LOGIN_JSON}\n")),
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{LOGIN}\n"));
}
