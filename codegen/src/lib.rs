//! The slsk code generator.
//!
//! It reads the protocol schema (the YAML files in `schema/`), checks it, and
//! writes the Rust types and codecs of `slsk-proto` and the reStructuredText
//! protocol reference in `docs/`.
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
