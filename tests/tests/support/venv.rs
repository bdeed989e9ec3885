//! Python virtual environments for the tests, created under cargo's
//! `target/tmp` on first use and reused while their requirements are
//! unchanged.
//!
//! Two are in use: the conformance suite's (aioslsk alone, `--no-deps`, for
//! its message classes) and the live-peer harness's (aioslsk with its whole
//! dependency set, to run the client). Both are pinned by version and hash in
//! a requirements file and installed with `--require-hashes`.
//!
//! Several test binaries may ask for the same venv at once (cargo runs them
//! one after another, but `cargo test` in two shells, or nextest, does not):
//! an exclusive lock on `<name>.lock` next to the venv serializes creation,
//! and a marker file written last records a complete install.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use fs4::FileExt;

/// One virtual environment: where it lives and what goes in it.
pub struct Venv<'a> {
    /// Directory name under `target/tmp`.
    pub name: &'a str,
    /// The pinned requirements file (version and `--hash` on every line).
    pub requirements: &'a Path,
    /// Install with `--no-deps`: the file pins only some packages.
    pub no_deps: bool,
}

impl Venv<'_> {
    /// The conformance suite's venv: aioslsk's protocol modules only.
    pub fn conformance(requirements: &Path) -> Venv<'_> {
        Venv {
            name: "aioslsk-venv",
            requirements,
            no_deps: true,
        }
    }

    /// The live-peer harness's venv: the whole aioslsk client.
    pub fn live(requirements: &Path) -> Venv<'_> {
        Venv {
            name: "aioslsk-live-venv",
            requirements,
            no_deps: false,
        }
    }

    /// Returns the venv's python, creating the venv if needed. Panics with
    /// the reason when python3 or pip fails: CI has PyPI access, so a failure
    /// here is a real failure, never a skip.
    pub fn python(&self) -> PathBuf {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = root.join(self.name);
        let python = dir.join("bin").join("python");
        let wanted = format!(
            "no_deps={}\n{}",
            self.no_deps,
            fs::read_to_string(self.requirements)
                .unwrap_or_else(|e| panic!("reading {}: {e}", self.requirements.display()))
        );
        let marker = dir.join("slsk-requirements.txt");
        let is_current =
            || python.exists() && fs::read_to_string(&marker).ok().as_deref() == Some(&*wanted);

        let lock_path = root.join(format!("{}.lock", self.name));
        let lock = File::create(&lock_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", lock_path.display()));
        // Fully qualified: std's File has an inherent `lock` in newer Rust.
        // Released when `lock` is dropped at the end of this function.
        FileExt::lock(&lock).unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
        if is_current() {
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
        let mut install = Command::new(&python);
        install.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--require-hashes",
        ]);
        if self.no_deps {
            install.arg("--no-deps");
        }
        run(
            install.arg("-r").arg(self.requirements),
            &format!(
                "installing {} from PyPI (needs network access to PyPI once)",
                self.requirements.display()
            ),
        );
        fs::write(&marker, &wanted).unwrap();
        python
    }
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
