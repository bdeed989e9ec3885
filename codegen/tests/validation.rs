//! A broken schema fails with every error located: file, then message and
//! field path (or line, for YAML syntax errors).

use codegen::{SchemaErrors, load_sources};

const TABLES: &str = r#"
tables:
  - name: MessageStatus
    repr: string
    values:
      - { value: used, name: Used }
      - { value: defunct, name: Defunct }
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

const PEER_INIT: &str = "kind: peer_init\nmessages: []\n";
const PEER: &str = "kind: peer\nmessages: []\n";
const DISTRIBUTED: &str = "kind: distributed\nmessages: []\n";
const FILE: &str = "kind: file\nvalues: []\n";

const SERVER_OK: &str = r#"
kind: server
messages:
  - name: GetUserStatus
    code: 7
    status: used
    request:
      - { name: username, type: string }
    response:
      - { name: username, type: string }
      - { name: status, type: UserStatus }
      - { name: stats, type: UserStats, optional: true }
"#;

fn load(server: &str, tables: &str) -> Result<codegen::Schema, SchemaErrors> {
    let files = [
        ("tables.yaml", tables),
        ("structures.yaml", STRUCTURES),
        ("server.yaml", server),
        ("peer_init.yaml", PEER_INIT),
        ("peer.yaml", PEER),
        ("distributed.yaml", DISTRIBUTED),
        ("file.yaml", FILE),
    ];
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    load_sources(&sources)
}

fn errors(server: &str) -> Vec<String> {
    errors_with_tables(server, TABLES)
}

fn errors_with_tables(server: &str, tables: &str) -> Vec<String> {
    load(server, tables)
        .expect_err("the schema should be refused")
        .0
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn a_valid_schema_loads() {
    let schema = load(SERVER_OK, TABLES).unwrap();
    assert_eq!(schema.kinds[0].messages[0].name, "GetUserStatus");
}

#[test]
fn unknown_type() {
    let server = SERVER_OK.replace("type: UserStatus", "type: UserMood");
    assert_eq!(
        errors(&server),
        ["schema/server.yaml: GetUserStatus.response.status: unknown type `UserMood`"]
    );
}

#[test]
fn duplicate_name_and_code() {
    let server = format!(
        "{SERVER_OK}{}",
        r#"
  - name: GetUserStatus
    code: 7
    status: used
    request: []
"#
    );
    let errors = errors(&server);
    assert!(
        errors.contains(
            &"schema/server.yaml: GetUserStatus: duplicate name (first defined in server.yaml)"
                .to_string()
        ),
        "{errors:?}"
    );
    assert!(
        errors.contains(
            &"schema/server.yaml: GetUserStatus: code 7 (request) is also used by GetUserStatus"
                .to_string()
        ),
        "{errors:?}"
    );
}

/// Names become labels of the reference, which Sphinx compares ignoring case.
#[test]
fn names_differing_only_in_case() {
    let server = format!(
        "{SERVER_OK}{}",
        r#"
  - name: Userstatus
    code: 8
    status: used
    request: []
"#
    );
    let errors = errors(&server);
    assert!(
        errors.contains(
            &"schema/server.yaml: Userstatus: the name differs from `UserStatus` (in tables.yaml) \
              only in case; the reference's labels ignore case"
                .to_string()
        ),
        "{errors:?}"
    );
}

#[test]
fn condition_on_missing_or_later_field() {
    let server = r#"
kind: server
messages:
  - name: Thing
    code: 1
    status: used
    response:
      - { name: picture, type: bytes, present_if: has_picture }
      - { name: has_picture, type: bool }
      - { name: other, type: string, present_if: nowhere }
"#;
    assert_eq!(
        errors(server),
        [
            "schema/server.yaml: Thing.response.picture: the condition names `has_picture`, which is not an earlier field of this layout",
            "schema/server.yaml: Thing.response.other: the condition names `nowhere`, which is not an earlier field of this layout",
        ]
    );
}

#[test]
fn table_value_used_twice() {
    let tables = TABLES.replace("{ value: 2, name: Online }", "{ value: 0, name: Online }");
    assert_eq!(
        errors_with_tables(SERVER_OK, &tables),
        ["schema/tables.yaml: table UserStatus, value Online: value `0` is used twice"]
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let server = r#"
kind: server
messages:
  - name: Thing
    code: 1
    status: sometimes
    response:
      - { name: count, type: u33 }
      - { name: extra, type: u32, optional: true }
      - { name: after, type: u32 }
      - switch: count
        when_true: { variant: Yes, fields: [] }
"#;
    let expected = [
        "Thing: unknown status `sometimes` (use one of: used, defunct)",
        "Thing.response.count: unknown type `u33`",
        "Thing.response.after: a required field cannot follow an optional one",
        "Thing.response.switch(count): a switch cannot follow optional fields",
        "Thing.response.switch(count): the condition names `count`, which is not an earlier field of this layout",
        "Thing.response.switch(count): the switch needs `when_false`",
        "Thing.response.switch(count): the switch needs a `name`: other fields are stored beside it",
    ]
    .map(|e| format!("schema/server.yaml: {e}"));
    assert_eq!(errors(server), expected);
}

#[test]
fn yaml_syntax_errors_give_a_line() {
    let errors = errors("kind: server\nmessages:\n  - name: [unclosed\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("schema/server.yaml: line "),
        "{errors:?}"
    );
}

#[test]
fn generated_rust_parses_and_is_stable() {
    let schema = load(SERVER_OK, TABLES).unwrap();
    let first = codegen::rust::generate(&schema);
    assert_eq!(first, codegen::rust::generate(&schema));
    let server = &first.iter().find(|(n, _)| n == "server.rs").unwrap().1;
    assert!(server.contains("pub struct GetUserStatusResponse"));
    assert!(server.contains("pub stats: Option<UserStats>"));
}

#[test]
fn zero_padding_must_open_a_message_and_be_followed_by_a_byte() {
    let message = |fields: &str| {
        format!(
            "{SERVER_OK}\n  - name: Padded\n    code: 8\n    status: used\n    request:\n{fields}"
        )
    };
    let ok = message(
        "      - { name: padded, type: zero_padding(3) }\n      - { name: code, type: u8 }\n",
    );
    assert!(load(&ok, TABLES).is_ok());

    let not_first = message(
        "      - { name: code, type: u8 }\n      - { name: padded, type: zero_padding(3) }\n      - { name: more, type: u8 }\n",
    );
    assert_eq!(
        errors(&not_first),
        [
            "schema/server.yaml: Padded.request.padded: `zero_padding(N)` must be the first, always-present field of a message layout"
        ]
    );
    let nothing_after = message(
        "      - { name: padded, type: zero_padding(3) }\n      - { name: tail, type: rest }\n",
    );
    assert_eq!(
        errors(&nothing_after),
        [
            "schema/server.yaml: Padded.request.padded: `zero_padding(N)` must be followed by an always-present field of at least one byte"
        ]
    );
    let zero = message(
        "      - { name: padded, type: zero_padding(0) }\n      - { name: code, type: u8 }\n",
    );
    assert_eq!(
        errors(&zero),
        [
            "schema/server.yaml: Padded.request.padded: `zero_padding(0)`: zero_padding(N) takes a byte count of at least 1"
        ]
    );
}
