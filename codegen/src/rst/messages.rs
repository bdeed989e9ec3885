//! The message pages (one per kind of connection) and the page of the raw
//! values of file connections.

use super::definitions::status_name;
use super::errata::message_errata;
use super::layout::{field_items, layout_items};
use super::text::{Page, hex_code, indent, list_table, numbered_list};
use crate::model::{Direction, Kind, Layout, Message, Schema, TableScalar};

/// The label of a kind's page.
pub fn kind_label(kind: Kind) -> String {
    format!("{}-messages", kind.key().replace('_', "-"))
}

pub fn kind_page(schema: &Schema, kind: Kind) -> String {
    let mut page = Page::new(&kind_label(kind), kind.title());
    page.text(schema.kind_description(kind));
    page.prose(&framing_summary(kind));
    if kind == Kind::Server {
        page.prose(
            "In each message, **Send** is the request, from the client to the \
             server, and **Receive** is the response, from the server to the \
             client. A message without **Send** is only ever sent by the server; \
             one without **Receive** is never answered with the same code.",
        );
    } else {
        page.prose("Each message has one layout, used in both directions (**Send/Receive**).");
    }
    let messages = schema.messages(kind);
    page.lines(&summary_table(kind, messages));
    for message in messages {
        message_section(&mut page, schema, message);
    }
    page.finish()
}

fn framing_summary(kind: Kind) -> String {
    let code = match kind.code_width() {
        1 => "``u8``",
        _ => "``u32``",
    };
    format!(
        "Each message travels in a frame: a ``u32`` length (counting the code and \
         the payload), a {code} code, then the payload laid out below. See \
         :ref:`connection-framing`."
    )
}

fn summary_table(kind: Kind, messages: &[Message]) -> Vec<String> {
    let rows: Vec<Vec<String>> = messages
        .iter()
        .map(|m| {
            let mut row = vec![
                m.code.to_string(),
                hex_code(m.code),
                format!(":ref:`{}`", m.name),
                status_name(&TableScalar::Text(m.status.clone())),
            ];
            if kind == Kind::Server {
                let sides: Vec<&str> = m.layouts.iter().map(|(d, _)| side_name(*d)).collect();
                row.push(sides.join(", "));
            }
            row
        })
        .collect();
    let mut header = vec!["Code", "Hex", "Message", "Status"];
    if kind == Kind::Server {
        header.push("Directions");
    }
    list_table(&header, &rows)
}

fn side_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Request => "Send",
        Direction::Response => "Receive",
        Direction::Both => "Send/Receive",
    }
}

fn message_section(page: &mut Page, schema: &Schema, message: &Message) {
    page.label(&message.name);
    page.heading(&format!("{} (Code {})", message.name, message.code), '-');
    page.text(&message.description);
    let mut fields = vec![
        format!(":Code: {} ({})", message.code, hex_code(message.code)),
        format!(
            ":Status: {}",
            status_name(&TableScalar::Text(message.status.clone()))
        ),
    ];
    for &direction in message.kind.directions() {
        if let Some(layout) = message.layout(direction) {
            fields.extend(layout_field(schema, message, direction, layout));
        }
    }
    page.lines(&fields);
    page.note(&message_errata(schema, message));
}

/// The `:Send:` (or `:Receive:`, `:Send/Receive:`) entry of a message.
fn layout_field(
    schema: &Schema,
    message: &Message,
    direction: Direction,
    layout: &Layout,
) -> Vec<String> {
    let name = side_name(direction);
    if layout.is_empty() {
        return vec![format!(":{name}: Nothing")];
    }
    let mut body = Vec::new();
    if message.compressed {
        body.push(
            "Compressed with :ref:`zlib <type-compressed>`: the payload after the \
             code is a zlib stream of these fields:"
                .to_string(),
        );
        body.push(String::new());
    }
    body.extend(numbered_list(&layout_items(schema, layout)));
    let mut lines = vec![format!(":{name}:")];
    lines.extend(indent(&body.join("\n"), "   "));
    lines.push(String::new());
    lines
}

pub fn file_page(schema: &Schema) -> String {
    let mut page = Page::new("file-connections", "File Connections");
    page.prose(&super::schema_links(
        schema,
        "A file (``F``) connection carries no frames: no length and no code. \
         After the peer-init message (:ref:`PeerInit` with connection type \
         ``F``, or :ref:`PeerPierceFirewall`), the uploader sends the transfer \
         ticket as a raw ``u32``, the downloader answers with the offset to \
         start from as a raw ``u64``, and then the uploader sends the file's \
         bytes from that offset to the end. File connections are never \
         obfuscated. See :ref:`connection-framing`.",
    ));
    for value in &schema.file_values {
        page.label(&value.name);
        page.heading(&value.name, '-');
        page.text(&value.description);
        let mut lines = vec![
            format!(":Sent by: the {}", value.sender),
            ":Layout:".to_string(),
        ];
        let list = numbered_list(&field_items(schema, &value.fields, &Layout::default()));
        lines.extend(indent(&list.join("\n"), "   "));
        page.lines(&lines);
    }
    page.finish()
}
