//! The reStructuredText protocol reference, generated from the schema.
//!
//! Every page goes into one directory of `docs/` ([`GENERATED_DIR`]), which
//! holds nothing else: `cargo run -p codegen -- docs` rewrites it, and a test
//! compares it with what the schema generates. Every message, structure,
//! table and file value gets a label equal to its name, so descriptions can
//! link to it with ``:ref:`Name` ``; the other labels contain a hyphen and
//! cannot collide with those PascalCase names.

mod definitions;
mod errata;
mod layout;
mod messages;
mod text;
mod types;
mod users;
mod wire;

use crate::model::{Kind, Schema};
use text::Page;

/// The directory of `docs/` that holds the generated pages and nothing else.
pub const GENERATED_DIR: &str = "reference";

/// The generated reference pages as `(path relative to docs/, text)`.
pub fn generate(schema: &Schema) -> Vec<(String, String)> {
    let users = users::Users::of(schema);
    let mut pages = vec![
        ("data_types", schema_links(schema, &types::page(schema))),
        ("structures", definitions::structures_page(schema, &users)),
        ("tables", definitions::tables_page(schema, &users)),
        ("statuses", definitions::statuses_page(schema)),
        ("framing", schema_links(schema, &wire::framing_page())),
        (
            "obfuscation",
            schema_links(schema, &wire::obfuscation_page()),
        ),
    ];
    for kind in Kind::ALL {
        pages.push((kind.key(), messages::kind_page(schema, kind)));
    }
    pages.push(("file", messages::file_page(schema)));

    let stems: Vec<&str> = pages.iter().map(|(stem, _)| *stem).collect();
    let mut files = vec![(format!("{GENERATED_DIR}/index.rst"), index_page(&stems))];
    files.extend(
        pages
            .into_iter()
            .map(|(stem, text)| (format!("{GENERATED_DIR}/{stem}.rst"), text)),
    );
    files
}

/// The generator's own prose with its links to schema names kept only for
/// the names the schema has: a link to anything else becomes literal text, so
/// a schema without, say, `PeerInit` still builds without a broken link.
pub(super) fn schema_links(schema: &Schema, prose: &str) -> String {
    let mut out = String::new();
    let mut rest = prose;
    while let Some(start) = rest.find(":ref:`") {
        out.push_str(&rest[..start]);
        let after = &rest[start + ":ref:`".len()..];
        let Some(end) = after.find('`') else {
            rest = &rest[start..];
            break;
        };
        let target = &after[..end];
        // Explicit targets and hyphenated labels are the generator's own.
        if target.contains(['<', '-']) || schema.has_name(target) {
            out.push_str(&rest[start..start + ":ref:`".len() + end + 1]);
        } else {
            out.push_str(&format!("``{target}``"));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The reference's own table of contents, in reading order.
fn index_page(stems: &[&str]) -> String {
    let mut page = Page::new("protocol-reference", "Protocol Reference");
    page.prose(
        "The complete Soulseek protocol as this project implements it, generated \
         from the same schema as the code. Where the schema departs from older \
         protocol documents, a note says so.",
    );
    let mut lines = vec![
        ".. toctree::".to_string(),
        "   :maxdepth: 1".to_string(),
        String::new(),
    ];
    lines.extend(stems.iter().map(|stem| format!("   {stem}")));
    page.lines(&lines);
    page.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KindMessages, Structure};

    #[test]
    fn prose_links_to_missing_schema_names_become_literals() {
        let schema = Schema {
            tables: Vec::new(),
            structures: vec![Structure {
                name: "UserStats".to_string(),
                description: String::new(),
                errata: None,
                fields: Vec::new(),
            }],
            kinds: Vec::<KindMessages>::new(),
            file_values: Vec::new(),
        };
        assert_eq!(
            schema_links(
                &schema,
                "See :ref:`UserStats`, :ref:`PeerInit`, :ref:`connection-framing` \
                 and :ref:`the types <data-types>`."
            ),
            "See :ref:`UserStats`, ``PeerInit``, :ref:`connection-framing` \
             and :ref:`the types <data-types>`."
        );
    }
}
