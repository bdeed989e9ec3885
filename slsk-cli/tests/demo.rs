//! `slsk demo` run as a user runs it: with `--json`, every stdout line is a
//! JSON object and the summary says every file arrived intact; without,
//! with stdout and stderr piped (not a terminal), the output stays plain
//! lines, with no bar redrawn in place.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Far more than the demo needs (well under 10 s in a debug build).
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `slsk demo ARGS` with piped output, killed past [`LIMIT`].
fn demo(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slsk"))
        .arg("demo")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let (done_tx, done) = mpsc::channel();
    let id = child.id();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let out = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        stdout.read_to_end(&mut buffer).map(|_| buffer)
    });
    let err = std::thread::spawn(move || {
        let mut buffer = Vec::new();
        stderr.read_to_end(&mut buffer).map(|_| buffer)
    });
    let status = match done.recv_timeout(LIMIT) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
            panic!("slsk demo {args:?} ran over {LIMIT:?}");
        }
    };
    let output = Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    };
    (output, started.elapsed())
}

#[test]
fn json_lines_end_with_a_summary_of_intact_files() {
    let (out, took) = demo(&["--json"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let of_type = |t: &str| -> Vec<&Value> { lines.iter().filter(|l| l["type"] == t).collect() };

    // The album: four files, each found, queued, downloaded and checked.
    let results = of_type("result");
    assert_eq!(results.len(), 4, "{stdout}");
    assert!(
        results
            .iter()
            .all(|r| r["username"] == "alice" && r["sample_rate"] == 8000)
    );
    assert_eq!(of_type("queued").len(), 4);
    let downloaded = of_type("downloaded");
    assert_eq!(downloaded.len(), 4);
    assert!(downloaded.iter().all(|d| d["matched"] == true));
    assert!(!of_type("scan").is_empty(), "the scan's progress is shown");
    assert!(of_type("error").is_empty());

    // The summary is the last line.
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary", "{stdout}");
    assert_eq!(summary["album"], "Music\\Lumen Drift\\Harbour Lights");
    assert_eq!(
        (summary["from"].as_str(), summary["to"].as_str()),
        (Some("alice"), Some("bob"))
    );
    assert_eq!(summary["files"], 4);
    assert_eq!(summary["checksums_matched"], 4);
    assert_eq!(summary["all_checksums_match"], true);
    let bytes: u64 = downloaded
        .iter()
        .map(|d| d["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(summary["bytes"].as_u64(), Some(bytes));
    assert!(bytes > 4 * 8_000, "real audio: {bytes} bytes");

    // Every hop says how it travelled: a path the counters saw.
    let hops = summary["hops"].as_array().unwrap();
    let what: Vec<&str> = hops.iter().map(|h| h["what"].as_str().unwrap()).collect();
    assert_eq!(
        what,
        [
            "search",
            "search reply",
            "folder request",
            "download requests",
            "files"
        ]
    );
    assert_eq!(hops[0]["path"], "relayed");
    for hop in &hops[1..] {
        let path = hop["path"].as_str().unwrap();
        assert!(
            path.split('+')
                .all(|p| ["existing", "direct", "indirect", "inbound"].contains(&p)),
            "{hop}"
        );
    }
    // Each file came over a file connection of its own.
    assert_eq!(hops[4]["connection"], "F");
    assert_eq!(hops[4]["opened"], 4);
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn piped_output_stays_line_oriented() {
    let (out, _) = demo(&[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        // No carriage return or escape sequence: a bar redrawn in place
        // would leave them.
        assert!(!text.contains('\r'), "{name}: {text:?}");
        assert!(!text.contains('\x1b'), "{name}: {text:?}");
        assert!(text.is_empty() || text.ends_with('\n'), "{name}: {text:?}");
    }
    // The story in order, one line per thing, ending with the summary.
    let firsts: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let position = |word: &str| {
        firsts
            .iter()
            .position(|w| *w == word)
            .unwrap_or_else(|| panic!("no {word} line: {stdout}"))
    };
    assert!(position("server") < position("library"));
    assert!(position("library") < position("result"));
    assert!(position("result") < position("queued"));
    assert!(position("queued") < position("done"));
    assert!(position("done") < position("summary"));
    assert_eq!(firsts.iter().filter(|w| **w == "done").count(), 4);
    assert!(
        stdout.contains("every SHA-256 matches the source"),
        "{stdout}"
    );
    assert_eq!(firsts.iter().filter(|w| **w == "hop").count(), 5);
    // Nothing was worth a warning.
    assert!(stderr.is_empty(), "{stderr}");
}
