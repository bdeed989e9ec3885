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
