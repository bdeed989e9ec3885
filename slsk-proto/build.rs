//! Generates the message types and codecs from `../schema` into `OUT_DIR`.

use std::path::PathBuf;

fn main() {
    let schema_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../schema");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", schema_dir.display());
    for file in codegen::load::schema_files() {
        println!("cargo:rerun-if-changed={}", schema_dir.join(file).display());
    }
    if let Err(errors) = codegen::write_rust(&schema_dir, &out_dir) {
        eprintln!("{errors}");
        for e in &errors.0 {
            println!("cargo::error={e}");
        }
        std::process::exit(1);
    }
}
