//! The resolved schema: every type name looked up, every condition tied to its
//! flag. The emitters (`rust`, `rst`) read only this.

use std::fmt;

/// The whole protocol.
#[derive(Debug, Clone)]
pub struct Schema {
    pub tables: Vec<Table>,
    pub structures: Vec<Structure>,
    /// One entry per message kind, in `Kind::ALL` order.
    pub kinds: Vec<KindMessages>,
    pub file_values: Vec<FileValue>,
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn structure(&self, name: &str) -> Option<&Structure> {
        self.structures.iter().find(|s| s.name == name)
    }

    /// Whether a message, structure, table or file value is called `name`.
    pub fn has_name(&self, name: &str) -> bool {
        self.table(name).is_some()
            || self.structure(name).is_some()
            || self.file_values.iter().any(|v| v.name == name)
            || self
                .kinds
                .iter()
                .any(|k| k.messages.iter().any(|m| m.name == name))
    }

    pub fn messages(&self, kind: Kind) -> &[Message] {
        self.kinds
            .iter()
            .find(|k| k.kind == kind)
            .map(|k| k.messages.as_slice())
            .unwrap_or(&[])
    }

    pub fn kind_description(&self, kind: Kind) -> &str {
        self.kinds
            .iter()
            .find(|k| k.kind == kind)
            .map(|k| k.description.as_str())
            .unwrap_or("")
    }

    /// The fewest bytes a value of `ty` can take on the wire.
    pub fn min_size(&self, ty: &Type) -> usize {
        match ty {
            Type::U8 | Type::Bool => 1,
            Type::U16 => 2,
            Type::U32 | Type::I32 | Type::Ip | Type::String | Type::Bytes | Type::U32OrU64 => 4,
            Type::U64 | Type::FileSize => 8,
            Type::Raw(n) => *n,
            Type::Rest | Type::ZeroPadding(_) => 0,
            Type::Table(name) => self.table(name).map_or(0, |t| t.repr.size()),
            Type::Struct(name) => self
                .structure(name)
                .map_or(0, |s| s.fields.iter().map(|f| self.min_size(&f.ty)).sum()),
            Type::Array(_) => 4,
            Type::Parallel(name) => self.structure(name).map_or(0, |s| 4 * s.fields.len()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Server,
    PeerInit,
    Peer,
    Distributed,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Server, Kind::PeerInit, Kind::Peer, Kind::Distributed];

    /// The schema file that holds this kind's messages.
    pub fn file(self) -> &'static str {
        match self {
            Kind::Server => "server.yaml",
            Kind::PeerInit => "peer_init.yaml",
            Kind::Peer => "peer.yaml",
            Kind::Distributed => "distributed.yaml",
        }
    }

    /// The `kind:` key of that file, also the Rust module name.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::PeerInit => "peer_init",
            Kind::Peer => "peer",
            Kind::Distributed => "distributed",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Server => "Server Messages",
            Kind::PeerInit => "Peer Initialization Messages",
            Kind::Peer => "Peer Messages",
            Kind::Distributed => "Distributed Messages",
        }
    }

    /// Width of the code in the frame header, in bytes.
    pub fn code_width(self) -> usize {
        match self {
            Kind::Server | Kind::Peer => 4,
            Kind::PeerInit | Kind::Distributed => 1,
        }
    }

    pub fn directions(self) -> &'static [Direction] {
        match self {
            Kind::Server => &[Direction::Request, Direction::Response],
            _ => &[Direction::Both],
        }
    }
}

/// Which way a layout travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
    /// Peer-init, peer and distributed messages: one layout both ways.
    Both,
}

impl Direction {
    pub fn key(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
            Direction::Both => "layout",
        }
    }
}

#[derive(Debug, Clone)]
pub struct KindMessages {
    pub kind: Kind,
    pub description: String,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub name: String,
    pub code: u32,
    pub status: String,
    pub description: String,
    pub errata: Option<String>,
    pub compressed: bool,
    pub kind: Kind,
    pub layouts: Vec<(Direction, Layout)>,
}

impl Message {
    pub fn layout(&self, direction: Direction) -> Option<&Layout> {
        self.layouts
            .iter()
            .find(|(d, _)| *d == direction)
            .map(|(_, l)| l)
    }
}

/// The fields of one direction of a message (or of a structure), in wire order.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub fields: Vec<Field>,
    /// A branch on an earlier flag that holds the rest of the layout.
    pub switch: Option<Switch>,
}

impl Layout {
    /// True when nothing but the switch (and its flag) is stored: the Rust
    /// type of the layout is then the switch's enum itself.
    pub fn is_pure_switch(&self) -> bool {
        self.switch.as_ref().is_some_and(|s| s.name.is_none())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.switch.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub errata: Option<String>,
    pub presence: Presence,
    /// A `bool` that only says whether a later field or branch is there; it is
    /// derived when encoding and not stored in the Rust type.
    pub is_flag: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Always,
    /// Trailing: read only if bytes remain.
    Optional,
    /// Read only when the flag field `flag` equals `when`.
    Conditional {
        flag: String,
        when: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Switch {
    pub flag: String,
    /// The Rust field that stores the enum; `None` when the layout is a pure switch.
    pub name: Option<String>,
    pub when_true: Case,
    pub when_false: Case,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub variant: String,
    pub description: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    U8,
    U16,
    U32,
    U64,
    I32,
    Bool,
    String,
    Bytes,
    Ip,
    FileSize,
    U32OrU64,
    Raw(usize),
    /// N zero bytes that some senders leave out: present when more than N
    /// bytes remain and the next N are all zero. Stored as a `bool`.
    ZeroPadding(usize),
    Rest,
    Struct(String),
    Table(String),
    Array(Box<Type>),
    /// An array of a structure sent as one array per structure field.
    Parallel(String),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::U8 => f.write_str("u8"),
            Type::U16 => f.write_str("u16"),
            Type::U32 => f.write_str("u32"),
            Type::U64 => f.write_str("u64"),
            Type::I32 => f.write_str("i32"),
            Type::Bool => f.write_str("bool"),
            Type::String => f.write_str("string"),
            Type::Bytes => f.write_str("bytes"),
            Type::Ip => f.write_str("ip"),
            Type::FileSize => f.write_str("file_size"),
            Type::U32OrU64 => f.write_str("u32_or_u64"),
            Type::Raw(n) => write!(f, "raw({n})"),
            Type::ZeroPadding(n) => write!(f, "zero_padding({n})"),
            Type::Rest => f.write_str("rest"),
            Type::Struct(n) | Type::Table(n) => f.write_str(n),
            Type::Array(t) => write!(f, "{t}[]"),
            Type::Parallel(n) => write!(f, "{n}[] (parallel)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Structure {
    pub name: String,
    pub description: String,
    pub errata: Option<String>,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    U8,
    U32,
    String,
}

impl Repr {
    pub fn size(self) -> usize {
        match self {
            Repr::U8 => 1,
            Repr::U32 | Repr::String => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Repr::U8 => "u8",
            Repr::U32 => "u32",
            Repr::String => "string",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub repr: Repr,
    pub description: String,
    pub errata: Option<String>,
    pub values: Vec<TableValue>,
}

#[derive(Debug, Clone)]
pub struct TableValue {
    pub name: String,
    pub value: TableScalar,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TableScalar {
    Number(u32),
    Text(String),
}

impl fmt::Display for TableScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableScalar::Number(n) => write!(f, "{n}"),
            TableScalar::Text(s) => f.write_str(s),
        }
    }
}

/// A raw value at the start of a file connection.
#[derive(Debug, Clone)]
pub struct FileValue {
    pub name: String,
    pub sender: String,
    pub description: String,
    pub fields: Vec<Field>,
}
