//! The schema files exactly as written: serde structures that mirror the YAML.
//!
//! Nothing here is checked beyond what serde checks (unknown keys, wrong value
//! kinds). `model` turns these into the resolved, validated schema.

use serde::Deserialize;

/// `tables.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablesFile {
    pub tables: Vec<RawTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    pub name: String,
    pub repr: String,
    #[serde(default)]
    pub description: String,
    pub errata: Option<String>,
    pub values: Vec<RawTableValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTableValue {
    pub value: RawScalar,
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// A table value: a number for integer tables, text for string tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawScalar {
    Number(u64),
    Text(String),
}

/// `structures.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructuresFile {
    pub structures: Vec<RawStructure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStructure {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub errata: Option<String>,
    pub fields: Vec<RawElement>,
}

/// `server.yaml`, `peer.yaml`, ...: one kind of connection.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesFile {
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub messages: Vec<RawMessage>,
    /// Only in `file.yaml`: the raw values of a file connection.
    #[serde(default)]
    pub values: Vec<RawFileValue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMessage {
    pub name: String,
    pub code: u32,
    pub status: String,
    #[serde(default)]
    pub description: String,
    pub errata: Option<String>,
    #[serde(default)]
    pub compressed: bool,
    pub request: Option<Vec<RawElement>>,
    pub response: Option<Vec<RawElement>>,
    pub layout: Option<Vec<RawElement>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileValue {
    pub name: String,
    pub sender: String,
    #[serde(default)]
    pub description: String,
    pub fields: Vec<RawElement>,
}

/// One element of a layout: a field, or (with `switch`) a branch on a flag.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawElement {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub ty: Option<String>,
    #[serde(default)]
    pub description: String,
    pub errata: Option<String>,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub parallel: bool,
    pub present_if: Option<String>,
    pub present_unless: Option<String>,
    pub switch: Option<String>,
    pub when_true: Option<RawCase>,
    pub when_false: Option<RawCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub variant: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fields: Vec<RawElement>,
}
