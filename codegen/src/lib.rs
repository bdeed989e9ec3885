//! The slsk code generator.
//!
//! It reads the protocol schema (the YAML files in `schema/`), checks it, and
//! writes the Rust types and codecs of `slsk-proto` and the reStructuredText
//! protocol reference in `docs/` (see [`rst`]).
//!
//! ```no_run
//! let schema = codegen::load_dir(std::path::Path::new("schema")).unwrap();
//! for (file, source) in codegen::rust::generate(&schema) {
//!     println!("{file}: {} bytes", source.len());
//! }
//! ```

pub mod load;
pub mod model;
mod raw;
pub mod rst;
pub mod rust;

use std::path::Path;

pub use load::{SchemaError, SchemaErrors, load_dir, load_sources};
pub use model::Schema;

/// Writes the generated Rust modules into `out_dir` (used by `slsk-proto`'s
/// build script). Files whose content did not change are left untouched.
pub fn write_rust(schema_dir: &Path, out_dir: &Path) -> Result<(), SchemaErrors> {
    let schema = load_dir(schema_dir)?;
    for (name, source) in rust::generate(&schema) {
        write_if_changed(&out_dir.join(name), &source);
    }
    Ok(())
}

/// Writes the reStructuredText reference into `docs_dir` and removes the
/// generated pages the schema no longer produces. Returns the files written.
pub fn write_docs(schema_dir: &Path, docs_dir: &Path) -> Result<Vec<String>, SchemaErrors> {
    let schema = load_dir(schema_dir)?;
    let pages = rst::generate(&schema);
    for (name, text) in &pages {
        write_if_changed(&docs_dir.join(name), text);
    }
    let generated_dir = docs_dir.join(rst::GENERATED_DIR);
    for entry in std::fs::read_dir(&generated_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", generated_dir.display()))
    {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", generated_dir.display()))
            .path();
        let name = format!(
            "{}/{}",
            rst::GENERATED_DIR,
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        if !pages.iter().any(|(page, _)| *page == name) {
            std::fs::remove_file(&path)
                .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
        }
    }
    Ok(pages.into_iter().map(|(name, _)| name).collect())
}

/// Writes `contents` to `path` unless it already holds exactly that.
pub fn write_if_changed(path: &Path, contents: &str) {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    std::fs::write(path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
