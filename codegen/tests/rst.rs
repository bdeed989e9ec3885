//! The generated reference: a message added to the schema gets a section with
//! a label equal to its name, every `:ref:` in the pages names a label that
//! exists, and no two labels collide (Sphinx compares them ignoring case).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use codegen::{Schema, load_sources};

const TABLES: &str = r#"
tables:
  - name: MessageStatus
    repr: string
    values:
      - { value: used, name: Used, description: In use. }
  - name: UserStatus
    repr: u32
    values:
      - { value: 0, name: Offline }
      - { value: 2, name: Online }
"#;

const STRUCTURES: &str = r#"
structures:
  - name: UserStats
    fields:
      - { name: avg_speed, type: u32 }
      - { name: uploads, type: u64 }
"#;

const SERVER: &str = r#"
kind: server
messages:
  - name: GetUserStatus
    code: 7
    status: used
    description: Ask for a user's status. See also :ref:`WatchUser`.
    request:
      - { name: username, type: string }
    response:
      - { name: username, type: string }
      - { name: status, type: UserStatus }
"#;

/// The message the tests add, as a schema author would.
const NEW_MESSAGE: &str = r#"
  - name: WatchUser
    code: 300
    status: used
    description: Start watching a user; the server answers with :ref:`GetUserStatus`.
    errata: No older document lists this message.
    request:
      - { name: username, type: string }
      - { name: stats, type: "UserStats[]", optional: true }
"#;

fn schema(server: &str) -> Schema {
    let files = [
        ("tables.yaml", TABLES),
        ("structures.yaml", STRUCTURES),
        ("server.yaml", server),
        ("peer_init.yaml", "kind: peer_init\nmessages: []\n"),
        ("peer.yaml", "kind: peer\nmessages: []\n"),
        ("distributed.yaml", "kind: distributed\nmessages: []\n"),
        ("file.yaml", "kind: file\nvalues: []\n"),
    ];
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    load_sources(&sources).unwrap_or_else(|e| panic!("{e}"))
}

fn pages(schema: &Schema) -> HashMap<String, String> {
    codegen::rst::generate(schema).into_iter().collect()
}

/// Every `.. _label:` in `text`.
fn labels(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix(".. _")?.strip_suffix(':'))
        .map(str::to_string)
        .collect()
}

/// The target of every `:ref:` in `text`, whether written `:ref:`Name`` or
/// `:ref:`text <target>``, even when wrapped over two lines.
fn refs(text: &str) -> Vec<String> {
    text.split(":ref:`")
        .skip(1)
        .filter_map(|rest| rest.split_once('`').map(|(inside, _)| inside))
        .map(|inside| match inside.rsplit_once('<') {
            Some((_, target)) => target.trim_end_matches('>').to_string(),
            None => inside.split_whitespace().collect::<Vec<_>>().join(" "),
        })
        .collect()
}

/// Labels that differ only in case, and refs that name no label, over all pages.
fn broken_links(pages: &HashMap<String, String>) -> (Vec<String>, Vec<String>) {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut collisions = Vec::new();
    for (page, text) in pages {
        for label in labels(text) {
            if let Some(first) = seen.insert(label.to_lowercase(), format!("{page}: {label}")) {
                collisions.push(format!("{first} and {page}: {label}"));
            }
        }
    }
    let missing: BTreeSet<String> = pages
        .values()
        .flat_map(|text| refs(text))
        .filter(|target| !seen.contains_key(&target.to_lowercase()))
        .collect();
    (collisions, missing.into_iter().collect())
}

#[test]
fn an_added_message_gets_a_section_a_label_and_working_links() {
    let before = pages(&schema(SERVER));
    let server_page = &before["reference/server.rst"];
    assert!(!server_page.contains(".. _WatchUser:"));
    // Before the message exists, the link to it is broken.
    let (_, missing) = broken_links(&before);
    assert_eq!(missing, ["WatchUser"]);

    let after = pages(&schema(&format!("{SERVER}{NEW_MESSAGE}")));
    let server_page = &after["reference/server.rst"];
    let section = server_page
        .split(".. _WatchUser:\n\nWatchUser (Code 300)\n--------------------\n")
        .nth(1)
        .expect("the new message has a labelled section");
    assert!(section.contains(":Code: 300 (0x012C)"), "{section}");
    assert!(section.contains("1. **string**: ``username``"), "{section}");
    assert!(
        section.contains("Optional (read only if bytes remain):\n\n      1. Array of ``stats``:"),
        "{section}"
    );
    assert!(section.contains(":ref:`UserStats`: ``stats``"), "{section}");
    assert!(
        section.contains(".. note::\n\n   No older document lists this message."),
        "{section}"
    );
    // The link from GetUserStatus's description, the summary table and the
    // structure's "Used by" all resolve now.
    assert!(server_page.contains("See also :ref:`WatchUser`."));
    assert!(server_page.contains("     - :ref:`WatchUser`\n"));
    assert!(after["reference/structures.rst"].contains(":Used by: :ref:`WatchUser`"));
    assert_eq!(broken_links(&after), (vec![], vec![]));
}

#[test]
fn generated_pages_are_deterministic_and_marked() {
    let schema = schema(&format!("{SERVER}{NEW_MESSAGE}"));
    let first = codegen::rst::generate(&schema);
    assert_eq!(first, codegen::rst::generate(&schema));
    for (name, text) in &first {
        assert!(
            name.starts_with("reference/") && name.ends_with(".rst"),
            "{name}"
        );
        assert!(
            text.starts_with(".. This page is generated from the schema")
                && text.contains("`cargo run -p codegen -- docs`"),
            "{name} does not say how it is generated"
        );
    }
}

#[test]
fn the_real_schema_has_no_broken_links_or_label_collisions() {
    let schema = codegen::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema"))
        .unwrap_or_else(|e| panic!("{e}"));
    let pages = pages(&schema);
    let (collisions, missing) = broken_links(&pages);
    assert!(
        collisions.is_empty(),
        "labels differing only in case: {collisions:?}"
    );
    assert!(
        missing.is_empty(),
        "refs to labels that do not exist: {missing:?}"
    );
    let all_labels: Vec<String> = pages.values().flat_map(|t| labels(t)).collect();
    for message in schema.kinds.iter().flat_map(|k| &k.messages) {
        assert!(
            all_labels.contains(&message.name),
            "{} has no label",
            message.name
        );
    }
    for name in schema
        .structures
        .iter()
        .map(|s| &s.name)
        .chain(schema.tables.iter().map(|t| &t.name))
        .chain(schema.file_values.iter().map(|v| &v.name))
    {
        assert!(all_labels.contains(name), "{name} has no label");
    }
}
