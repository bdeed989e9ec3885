//! `codegen`: check the schema, or write the generated Rust or reference docs.
//!
//! ```text
//! codegen check [SCHEMA_DIR]          check the schema and list every error
//! codegen rust OUT_DIR [SCHEMA_DIR]   write the Rust modules (as slsk-proto's build does)
//! codegen docs [DOCS_DIR] [SCHEMA_DIR] write the reStructuredText reference (docs/reference/)
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The workspace root, so the commands work from any directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: PathBuf| args.get(i).map(PathBuf::from).unwrap_or(default);
    let result = match args.first().map(String::as_str) {
        Some("check") => codegen::load_dir(&arg(1, workspace().join("schema"))).map(|schema| {
            let messages: usize = schema.kinds.iter().map(|k| k.messages.len()).sum();
            println!(
                "schema ok: {messages} messages, {} structures, {} tables",
                schema.structures.len(),
                schema.tables.len()
            );
        }),
        Some("rust") if args.len() >= 2 => {
            codegen::write_rust(&arg(2, workspace().join("schema")), &arg(1, PathBuf::new()))
        }
        Some("docs") => {
            let docs = arg(1, workspace().join("docs"));
            codegen::write_docs(&arg(2, workspace().join("schema")), &docs).map(|pages| {
                println!(
                    "reference written: {} pages in {}",
                    pages.len(),
                    docs.join(codegen::rst::GENERATED_DIR).display()
                );
            })
        }
        _ => {
            eprintln!(
                "usage: codegen check [SCHEMA_DIR] | rust OUT_DIR [SCHEMA_DIR] | docs [DOCS_DIR] [SCHEMA_DIR]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(errors) => {
            eprint!("{errors}");
            ExitCode::FAILURE
        }
    }
}
