//! The Python virtual environment with the pinned aioslsk, created under
//! `target/` on first use and reused while the requirements are unchanged.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Returns the venv's python, creating the venv if needed. Panics with the
/// reason when python3 or pip fails: CI has PyPI access, so a failure here
/// is a real failure, never a skip.
pub fn python(requirements: &Path) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("aioslsk-venv");
    let python = dir.join("bin").join("python");
    let wanted = fs::read_to_string(requirements)
        .unwrap_or_else(|e| panic!("reading {}: {e}", requirements.display()));
    let marker = dir.join("slsk-requirements.txt");
    if python.exists() && fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }

    let _ = fs::remove_dir_all(&dir);
    let system_python = std::env::var("SLSK_PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&system_python).args(["-m", "venv"]).arg(&dir),
        &format!(
            "creating a virtual environment with {system_python} (set SLSK_PYTHON to use another python 3.11+)"
        ),
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--no-deps", "--require-hashes", "-r"])
            .arg(requirements),
        "installing the pinned aioslsk from PyPI (the conformance suite needs network access to PyPI once)",
    );
    fs::write(&marker, wanted).unwrap();
    python
}

fn run(command: &mut Command, what: &str) {
    match command.output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("{what} failed: {e}"),
    }
}
