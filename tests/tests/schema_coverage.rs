//! The schema holds what the protocol needs: the counts the project promises.

use std::path::Path;

use codegen::model::Kind;

#[test]
fn schema_is_complete() {
    let schema =
        codegen::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")).unwrap();
    let count = |kind| schema.messages(kind).len();
    assert!(
        count(Kind::Server) >= 100,
        "server messages: {}",
        count(Kind::Server)
    );
    assert_eq!(count(Kind::PeerInit), 2);
    assert!(
        count(Kind::Peer) >= 16,
        "peer messages: {}",
        count(Kind::Peer)
    );
    assert!(
        count(Kind::Distributed) >= 7,
        "distributed messages: {}",
        count(Kind::Distributed)
    );
    let file_values: Vec<&str> = schema.file_values.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(file_values, ["FileTransferTicket", "FileOffset"]);
}

/// The "Adding a message" example of the README and the guide must stay an
/// example: a message the schema does not hold, with a free code.
#[test]
fn adding_a_message_example_is_not_in_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema = codegen::load_dir(&root.join("schema")).unwrap();
    for doc in ["README.md", "docs/guides/adding_a_message.rst"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        let name = example_value(&text, "- name: ").unwrap_or_else(|| panic!("{doc}: no example"));
        let code: u32 = example_value(&text, "code: ")
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{doc}: no example code"));
        assert!(!schema.has_name(&name), "{doc}: {name} is in the schema");
        assert!(
            schema.messages(Kind::Peer).iter().all(|m| m.code != code),
            "{doc}: peer code {code} is in the schema"
        );
    }
}

/// The first value after `key` in the first YAML block of `text`.
fn example_value(text: &str, key: &str) -> Option<String> {
    let line = text.lines().find(|l| l.trim_start().starts_with(key))?;
    let value = line.trim_start()[key.len()..].split_whitespace().next()?;
    Some(value.to_string())
}

/// Messages recovered from the older documents stay in the schema.
#[test]
fn obsolete_messages_from_the_documents_are_present() {
    let schema =
        codegen::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")).unwrap();
    let find = |kind, code| schema.messages(kind).iter().find(|m| m.code == code);
    assert_eq!(find(Kind::Peer, 42).unwrap().name, "PeerPlaceholdUpload");
    let queued = find(Kind::Server, 40).unwrap();
    assert_eq!(queued.name, "QueuedDownloads");
    assert_eq!(queued.layouts.len(), 2);
}
