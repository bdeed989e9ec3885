//! The documentation in `docs/`: the committed reference is what the schema
//! generates, its worked examples are what `slsk-proto` produces, and the
//! whole site builds with `sphinx-build -W` (every warning, such as a link to
//! a label that does not exist, is an error).
//!
//! The Sphinx test installs the pinned packages of `docs/requirements.txt`
//! into a virtual environment under `target/` (reused while the requirements
//! are unchanged); it needs `python3` and access to PyPI, and fails, rather
//! than skips, without them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use slsk_proto::FramedMessage;
use slsk_proto::obfuscation::obfuscate;
use slsk_proto::peer_init::{PeerInitMessage, PeerPierceFirewall};
use slsk_proto::server::{GetUserStatusRequest, ServerRequest};

const REGENERATE: &str = "cargo run -p codegen -- docs";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace directory exists")
}

fn generated_pages() -> Vec<(String, String)> {
    let schema = codegen::load_dir(&workspace().join("schema")).unwrap_or_else(|e| panic!("{e}"));
    codegen::rst::generate(&schema)
}

fn page(name: &str) -> String {
    generated_pages()
        .into_iter()
        .find(|(page, _)| page == name)
        .unwrap_or_else(|| panic!("no generated page {name}"))
        .1
}

#[test]
fn committed_reference_matches_the_schema() {
    let docs = workspace().join("docs");
    let generated = generated_pages();
    let mut problems = Vec::new();
    for (name, text) in &generated {
        match std::fs::read_to_string(docs.join(name)) {
            Ok(committed) if committed == *text => {}
            Ok(_) => problems.push(format!(
                "docs/{name} differs from what the schema generates"
            )),
            Err(_) => problems.push(format!("docs/{name} is missing")),
        }
    }
    let expected: BTreeSet<&str> = generated.iter().map(|(name, _)| name.as_str()).collect();
    let dir = docs.join(codegen::rst::GENERATED_DIR);
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let file = entry.expect("a directory entry").file_name();
        let name = format!("{}/{}", codegen::rst::GENERATED_DIR, file.to_string_lossy());
        if !expected.contains(name.as_str()) {
            problems.push(format!(
                "docs/{name} is not generated from the schema any more (stale)"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the committed reference is out of date:\n  {}\nRun `{REGENERATE}` and commit docs/.",
        problems.join("\n  ")
    );
}

#[test]
fn obfuscation_example_is_what_slsk_proto_sends() {
    let sent = obfuscate([0x99, 0xab, 0xcd, 0xef], b"hello");
    assert_eq!(
        sent[4..],
        [0x5b, 0x32, 0xf7, 0xb3, 0x08],
        "the check in ERRATA.md"
    );
    let text = page("reference/obfuscation.rst");
    let shown = format!("the sender sends ``{}``", hex(&sent));
    assert!(
        text.replace('\n', " ").contains(&shown),
        "the obfuscation page should say {shown:?}"
    );
}

#[test]
fn framing_examples_are_what_slsk_proto_sends() {
    let text = page("reference/framing.rst");
    let server = ServerRequest::from(GetUserStatusRequest {
        username: "bob".into(),
    })
    .to_frame()
    .unwrap();
    let peer_init = PeerInitMessage::from(PeerPierceFirewall { ticket: 1 })
        .to_frame()
        .unwrap();
    for frame in [server, peer_init] {
        let shown = format!("``{}``", hex(&frame));
        assert!(
            text.contains(&shown),
            "the framing page should show {shown}"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    pairs.join(" ")
}

#[test]
fn sphinx_builds_the_site_without_warnings() {
    let root = workspace();
    let venv = sphinx_venv(&root);
    let out = root.join("target/docs-html");
    let output = Command::new(venv.join("bin/sphinx-build"))
        // -W: warnings are errors; --keep-going: report all of them;
        // -n: warn about every unresolved reference; -E: read every page
        // again, so warnings of unchanged pages are reported too.
        .args(["-W", "--keep-going", "-n", "-E", "-q", "-b", "html"])
        .arg("-d")
        .arg(root.join("target/docs-doctrees"))
        .arg(root.join("docs"))
        .arg(&out)
        .output()
        .expect("run sphinx-build");
    assert!(
        output.status.success(),
        "sphinx-build -W failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.join("reference/server.html").is_file());
}

/// The virtual environment with the pinned Sphinx, created (or recreated)
/// unless the one in `target/` was installed from the same requirements.
fn sphinx_venv(root: &Path) -> PathBuf {
    let venv = root.join("target/docs-venv");
    let requirements_path = root.join("docs/requirements.txt");
    let requirements = std::fs::read_to_string(&requirements_path).expect("docs/requirements.txt");
    let stamp = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == requirements)
        && venv.join("bin/sphinx-build").is_file()
    {
        return venv;
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).expect("remove the outdated docs venv");
    }
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv could not create target/docs-venv (python3 with venv is needed)",
    );
    run(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
            ])
            .args(["--retries", "2", "--timeout", "60", "-r"])
            .arg(&requirements_path),
        "pip could not install the pinned Sphinx of docs/requirements.txt \
         (this test needs access to PyPI)",
    );
    std::fs::write(&stamp, requirements).expect("write the venv stamp");
    venv
}

fn run(command: &mut Command, failure: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{failure}: {e}"));
    assert!(
        output.status.success(),
        "{failure}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
