//! The README's `slsk` examples, run as written, so they cannot rot.
//!
//! Every `$ ` line in a `console` block of the README runs in `sh` with the
//! built `slsk` first on the PATH; the lines after it, up to the next `$ ` or
//! the end of the block, are its expected output (stdout; examples that show
//! an error redirect stderr with `2>&1`).

use std::path::Path;
use std::process::Command;

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(path).unwrap()
}

/// (command, expected output) for every example.
fn examples(readme: &str) -> Vec<(String, String)> {
    let mut examples: Vec<(String, String)> = Vec::new();
    let mut in_console = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_console = line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            examples.push((command.to_owned(), String::new()));
        } else if let Some((_, output)) = examples.last_mut() {
            output.push_str(line);
            output.push('\n');
        }
    }
    examples
}

fn shell(command: &str) -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_slsk")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("PATH", path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn readme_console_examples_print_what_they_show() {
    let examples = examples(&readme());
    assert!(
        examples.len() >= 5,
        "found only {} examples",
        examples.len()
    );
    for (command, expected) in examples {
        assert!(command.contains("slsk "), "not an slsk example: {command}");
        assert_eq!(shell(&command), expected, "README example: $ {command}");
    }
}

/// The main job of "Two commands" is the demo: its command runs (here as
/// the built binary, with `--json`) to a summary in which every checksum
/// matched.
#[test]
fn readme_main_job_runs_the_demo_to_verified_files() {
    let readme = readme();
    let line = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cargo run -p slsk-cli -- "))
        .expect("the README's main job runs slsk-cli");
    let args: Vec<&str> = line["cargo run -p slsk-cli -- ".len()..]
        .split_whitespace()
        .collect();
    assert_eq!(args, ["demo"], "the main job is the demo: {line}");
    let out = Command::new(env!("CARGO_BIN_EXE_slsk"))
        .args(&args)
        .arg("--json")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("output")).unwrap();
    assert_eq!(summary["type"], "summary", "{stdout}");
    assert_eq!(summary["all_checksums_match"], true, "{summary}");
    assert!(summary["files"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["checksums_matched"], summary["files"], "{summary}");
}

/// The inspector's first example decodes the seed login.
#[test]
fn readme_inspector_decodes_the_seed_login() {
    let examples = examples(&readme());
    let (command, output) = examples.first().expect("an inspector example");
    assert!(
        command.starts_with("slsk decode server-request 1e00000001000000080000004a6f686e47616c74"),
        "{command}"
    );
    assert!(
        output.starts_with(r#"{"Login":{"username":"JohnGalt","password":"secret""#),
        "{output}"
    );
}
