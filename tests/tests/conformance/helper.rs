//! The long-running Python process that speaks for aioslsk
//! (`tests/conformance/helper.py`), one JSON line each way per request.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

pub struct Helper {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Helper {
    pub fn start(python: &Path, script: &Path) -> Helper {
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", script.display()));
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Helper {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one request and waits for its answer. A helper that crashes or
    /// reports an internal error fails the test with its traceback.
    pub fn ask(&mut self, request: &Value) -> Value {
        writeln!(self.stdin, "{request}").expect("the aioslsk helper stopped reading");
        self.stdin.flush().unwrap();
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).unwrap();
        assert!(read > 0, "the aioslsk helper exited (request: {request})");
        let reply: Value = serde_json::from_str(&line).unwrap();
        if let Some(error) = reply.get("helper_error") {
            panic!(
                "the aioslsk helper failed on {request}:\n{}",
                error.as_str().unwrap_or_default()
            );
        }
        reply
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
