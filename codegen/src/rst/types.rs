//! The data types page: the schema's types, their sizes and encodings, and
//! how the layouts of the reference show optional fields, branches, parallel
//! arrays and compression.

use super::layout::type_label;
use super::text::{Page, list_table};
use crate::model::{Kind, Schema, Type};

pub fn page(schema: &Schema) -> String {
    let mut page = Page::new("data-types", "Data Types");
    page.prose(
        "A message payload is its fields one after the other, with no padding and \
         no alignment. Integers are little-endian. The layouts of this reference \
         name each field's type as below.",
    );
    page.lines(&list_table(
        &["Type", "Bytes", "Encoding"],
        &type_rows(schema),
    ));
    explanations(&mut page, schema);
    page.finish()
}

fn type_rows(schema: &Schema) -> Vec<Vec<String>> {
    let fixed = |ty: Type, encoding: &str| {
        vec![
            typed(&ty),
            schema.min_size(&ty).to_string(),
            encoding.to_string(),
        ]
    };
    let variable = |ty: Type, size: &str, encoding: &str| {
        vec![typed(&ty), size.to_string(), encoding.to_string()]
    };
    vec![
        fixed(Type::U8, "Unsigned integer."),
        fixed(Type::U16, "Unsigned integer, little-endian."),
        fixed(Type::U32, "Unsigned integer, little-endian."),
        fixed(Type::U64, "Unsigned integer, little-endian."),
        fixed(
            Type::I32,
            "Signed integer (two's complement), little-endian.",
        ),
        fixed(
            Type::Bool,
            "``0`` is false, ``1`` is true; any other byte reads as true.",
        ),
        variable(
            Type::String,
            "4 + length",
            "``u32`` byte length, then the text (UTF-8, read as latin-1 if it is not UTF-8).",
        ),
        variable(
            Type::Bytes,
            "4 + length",
            "``u32`` byte length, then the bytes.",
        ),
        fixed(
            Type::Ip,
            "IPv4 address as a little-endian ``u32``: 1.2.3.4 travels as ``04 03 02 01``.",
        ),
        fixed(
            Type::FileSize,
            "``u64`` size; if the high half is ``FF FF FF FF``, the size is the low half.",
        ),
        variable(
            Type::U32OrU64,
            "4 or 8",
            "A ``u32``, or a ``u64`` when exactly 8 bytes remain.",
        ),
        variable(Type::Raw(0), "N", "Exactly N bytes, as they are."),
        variable(
            Type::ZeroPadding(0),
            "0 or N",
            "N zero bytes that some senders leave out.",
        ),
        variable(Type::Rest, "the rest", "Every byte left in the payload."),
        vec![
            ":ref:`array <type-array>`".to_string(),
            "4 + elements".to_string(),
            "``u32`` element count, then the elements.".to_string(),
        ],
        vec![
            ":ref:`structure <type-named>`".to_string(),
            "its fields".to_string(),
            "Its fields, in order, with nothing in front.".to_string(),
        ],
        vec![
            ":ref:`table <type-named>`".to_string(),
            "1, 4, or 4 + length".to_string(),
            "One of the table's values, as a ``u8``, ``u32`` or ``string``.".to_string(),
        ],
    ]
}

/// A type's name in the table, linked to its explanation when it has one.
fn typed(ty: &Type) -> String {
    let name = match ty {
        Type::Raw(_) => "raw(N)".to_string(),
        Type::ZeroPadding(_) => "zero_padding(N)".to_string(),
        other => other.to_string(),
    };
    match ty {
        Type::String
        | Type::Bytes
        | Type::Ip
        | Type::FileSize
        | Type::U32OrU64
        | Type::Raw(_)
        | Type::ZeroPadding(_)
        | Type::Rest
        | Type::Bool => format!(":ref:`{name} <{}>`", type_label(ty)),
        _ => format!("``{name}``"),
    }
}

/// One subsection per type or notation that needs more than a table cell.
fn explanations(page: &mut Page, schema: &Schema) {
    fn section(page: &mut Page, label: &str, title: &str, text: &str) {
        page.label(label);
        page.heading(title, '-');
        page.prose(text);
    }
    section(
        page,
        &type_label(&Type::Bool),
        "bool",
        "One byte: ``0`` is false, ``1`` is true. Senders write ``0`` or ``1``; \
         receivers read any byte other than ``0`` as true.",
    );
    section(
        page,
        &type_label(&Type::String),
        "string",
        "A ``u32`` holding the number of bytes, then the bytes, with no \
         terminator. Text is encoded as UTF-8. When the bytes are not valid UTF-8 \
         (old clients send latin-1 or cp1252), decode them as latin-1, where \
         every byte is one character, so that decoding never fails. The empty \
         string is ``00 00 00 00``; ``bob`` is ``03 00 00 00 62 6f 62``.",
    );
    section(
        page,
        &type_label(&Type::Bytes),
        "bytes",
        "A ``u32`` holding the number of bytes, then the bytes, uninterpreted \
         (for example the picture in :ref:`PeerUserInfoReply`).",
    );
    section(
        page,
        &type_label(&Type::Array(Box::new(Type::U8))),
        "Arrays",
        "A ``u32`` holding the number of elements, then the elements one after \
         the other. A layout shows an array as \"Array of ``name``\" with the \
         element type as a nested item. A receiver should check each count \
         against the bytes that remain before it allocates anything.",
    );
    section(
        page,
        &type_label(&Type::Ip),
        "ip",
        "An IPv4 address, as a little-endian ``u32`` of its numeric value: \
         1.2.3.4 (``0x01020304``) travels as ``04 03 02 01``. ``0.0.0.0`` means \
         that the address is not known.",
    );
    section(
        page,
        &type_label(&Type::FileSize),
        "file_size",
        "A file size in bytes, as a ``u64``. Old clients send sizes of 2 GiB and \
         more as a ``u32`` followed by ``FF FF FF FF``: when the high half of the \
         ``u64`` is ``FF FF FF FF``, the size is its low half.",
    );
    section(
        page,
        &type_label(&Type::U32OrU64),
        "u32_or_u64",
        "A ``u32``, or a ``u64`` when exactly 8 bytes remain in the payload. It \
         is always the last field: some clients widen the last integer of a \
         message (the ticket of :ref:`PeerInit`).",
    );
    section(
        page,
        &type_label(&Type::Raw(0)),
        "raw(N)",
        "Exactly N bytes, with no length in front, taken as they are.",
    );
    section(
        page,
        &type_label(&Type::ZeroPadding(0)),
        "zero_padding(N)",
        "N zero bytes that some senders write and others leave out. A receiver \
         reads them as padding when more than N bytes remain and the next N are \
         all zero; otherwise the padding is absent and the next field starts \
         right there. It is always the first field of its layout and is \
         followed by a field of at least one byte. The generated Rust type \
         stores whether the padding was there, as a ``bool``, and writes N zero \
         bytes when it is true (for example the three high bytes of the server \
         code that open :ref:`DistributedServerSearchRequest`).",
    );
    section(
        page,
        &type_label(&Type::Rest),
        "rest",
        "Every byte left in the payload, with no length in front. It is always \
         the last field (for example the embedded message of \
         :ref:`ServerSearchRequest`).",
    );
    section(
        page,
        &type_label(&Type::Struct(String::new())),
        "Structures and tables",
        "A layout links a field typed by a :ref:`data structure \
         <data-structures>` to the structure, whose fields travel in order with \
         nothing in front. A field typed by a :ref:`value table <value-tables>` \
         links to the table and gives its representation, for example \
         \":ref:`UserStatus` (**u32**)\".",
    );
    section(
        page,
        "type-optional",
        "Optional and conditional fields",
        "\"Optional (read only if bytes remain)\" groups the fields at the end of \
         a layout that a sender may leave out: a receiver reads each one only if \
         bytes remain, and a sender writes them in order, stopping at any point.\n\n\
         \"If ``flag`` is true\" (or false) holds a field that is present only \
         when the earlier ``bool`` field ``flag`` has that value.",
    );
    section(
        page,
        "type-switch",
        "Branches",
        "\"If ``flag`` is true (*Variant*)\" and \"If ``flag`` is false \
         (*Variant*)\" hold the rest of a layout that depends on the earlier \
         ``bool`` field ``flag``: the fields of one side follow, never both. The \
         variant names are those of the generated Rust enum.",
    );
    section(
        page,
        &type_label(&Type::Parallel(String::new())),
        "Parallel arrays",
        "A list of structures sent as one array per field of the structure, in \
         the structure's field order, each with its own ``u32`` count. All the \
         counts are equal, and element *i* of the list is made of element *i* of \
         every array. :ref:`JoinRoom` sends its users this way: every username, \
         then every status, then every statistics record, and so on.",
    );
    let compressed: Vec<String> = schema
        .messages(Kind::Peer)
        .iter()
        .filter(|m| m.compressed)
        .map(|m| format!(":ref:`{}` ({})", m.name, m.code))
        .collect();
    section(
        page,
        "type-compressed",
        "Compression",
        &format!(
            "The payload of some peer messages is compressed with zlib (RFC 1950: \
             the stream starts ``78 xx``), not gzip: {}. The frame's length and \
             code are not compressed, and the length counts the compressed bytes. \
             Different deflaters produce different bytes for the same payload, \
             so compare compressed messages after inflating them.",
            compressed.join(", ")
        ),
    );
}
