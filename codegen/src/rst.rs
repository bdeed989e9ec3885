//! The reStructuredText protocol reference.

use crate::model::Schema;

/// The generated reference pages as `(file name, text)`.
pub fn generate(_schema: &Schema) -> Vec<(String, String)> {
    Vec::new()
}
