//! Rust names for schema items, and schema text turned into rustdoc.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::model::{Direction, Kind, Message, Schema, Type};

/// An identifier, raw (`r#type`) when the name is a Rust keyword.
pub fn ident(name: &str) -> Ident {
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
        "return", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
        "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
        "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
    ];
    if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The Rust type of one direction of a message: `LoginRequest`,
/// `LoginResponse`, or the message name for one-layout kinds.
pub fn message_type(message: &Message, direction: Direction) -> Ident {
    match direction {
        Direction::Request => format_ident!("{}Request", message.name),
        Direction::Response => format_ident!("{}Response", message.name),
        Direction::Both => format_ident!("{}", message.name),
    }
}

/// The enum of every message of one kind and direction.
pub fn kind_enum(kind: Kind, direction: Direction) -> Ident {
    match (kind, direction) {
        (Kind::Server, Direction::Request) => format_ident!("ServerRequest"),
        (Kind::Server, _) => format_ident!("ServerResponse"),
        (Kind::PeerInit, _) => format_ident!("PeerInitMessage"),
        (Kind::Peer, _) => format_ident!("PeerMessage"),
        (Kind::Distributed, _) => format_ident!("DistributedMessage"),
    }
}

/// What the kind enum carries, for its documentation and error messages.
pub fn kind_enum_label(kind: Kind, direction: Direction) -> &'static str {
    match (kind, direction) {
        (Kind::Server, Direction::Request) => "server request",
        (Kind::Server, _) => "server response",
        (Kind::PeerInit, _) => "peer-init message",
        (Kind::Peer, _) => "peer message",
        (Kind::Distributed, _) => "distributed message",
    }
}

/// The Rust type a field of this wire type is stored as.
pub fn rust_type(ty: &Type) -> TokenStream {
    match ty {
        Type::U8 => quote!(u8),
        Type::U16 => quote!(u16),
        Type::U32 => quote!(u32),
        Type::U64 | Type::FileSize => quote!(u64),
        Type::I32 => quote!(i32),
        Type::Bool | Type::ZeroPadding(_) => quote!(bool),
        Type::String => quote!(String),
        Type::Bytes | Type::Rest => quote!(Vec<u8>),
        Type::Ip => quote!(Ipv4Addr),
        Type::U32OrU64 => quote!(U32OrU64),
        Type::Raw(n) => {
            let n = proc_macro2::Literal::usize_unsuffixed(*n);
            quote!([u8; #n])
        }
        Type::Struct(name) | Type::Table(name) => {
            let name = format_ident!("{name}");
            quote!(#name)
        }
        Type::Array(inner) => {
            let inner = rust_type(inner);
            quote!(Vec<#inner>)
        }
        Type::Parallel(name) => {
            let name = format_ident!("{name}");
            quote!(Vec<#name>)
        }
    }
}

/// True when values of the type are `Copy` in Rust.
pub fn is_copy(schema: &Schema, ty: &Type) -> bool {
    match ty {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I32 | Type::Bool | Type::Ip => true,
        Type::FileSize | Type::U32OrU64 | Type::Raw(_) | Type::ZeroPadding(_) => true,
        Type::Table(name) => schema
            .table(name)
            .is_some_and(|t| t.repr != crate::model::Repr::String),
        _ => false,
    }
}

/// Schema text (reStructuredText) as rustdoc (Markdown) lines.
pub fn doc_lines(text: &str) -> Vec<String> {
    let text = rst_to_markdown(text.trim());
    text.lines()
        .map(|l| format!(" {l}").trim_end().to_string())
        .collect()
}

/// `#[doc]` attributes for a block of paragraphs; empty paragraphs are skipped.
pub fn docs(paragraphs: &[String]) -> TokenStream {
    let mut lines: Vec<String> = Vec::new();
    for p in paragraphs.iter().filter(|p| !p.trim().is_empty()) {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(doc_lines(p));
    }
    quote!(#(#[doc = #lines])*)
}

/// The few reStructuredText constructs the schema uses, in Markdown.
pub fn rst_to_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(":ref:`") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 6..];
        let Some(end) = after.find('`') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let target = &after[..end];
        // `text <label>` shows `text`.
        let shown = target.split('<').next().unwrap_or(target).trim();
        out.push('`');
        out.push_str(shown);
        out.push('`');
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out.replace("``", "`")
}
