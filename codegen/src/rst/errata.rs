//! The notes that say where the schema departs from the older documents: the
//! `errata:` texts of a message or structure and of its fields.

use super::text::indent;
use crate::model::{Direction, Field, Message, Schema, Structure, Type};

/// The note of a message: its own erratum, one bullet per field erratum, and
/// one per structure or table it uses that has errata of its own.
pub fn message_errata(schema: &Schema, message: &Message) -> String {
    let mut bullets = Vec::new();
    let mut corrected = Vec::new();
    for (direction, layout) in &message.layouts {
        let side = match direction {
            Direction::Request => " (Send)",
            Direction::Response => " (Receive)",
            Direction::Both => "",
        };
        let cases = layout
            .switch
            .iter()
            .flat_map(|s| [&s.when_true, &s.when_false]);
        let fields = layout
            .fields
            .iter()
            .chain(cases.flat_map(|c| c.fields.iter()));
        for field in fields {
            bullets.extend(field_bullet(field, side));
            corrected_definitions(schema, &field.ty, &mut corrected);
        }
    }
    bullets.extend(corrected.iter().map(|name| {
        format!("* Uses :ref:`{name}`, which departs from the older documents: see its note.")
    }));
    join(message.errata.as_deref(), &bullets)
}

/// The structures and tables that a value of `ty` contains (through arrays
/// and nested structures) and that carry errata, added to `out` once each.
fn corrected_definitions(schema: &Schema, ty: &Type, out: &mut Vec<String>) {
    let mut add = |name: &str| {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    };
    match ty {
        Type::Array(element) => corrected_definitions(schema, element, out),
        Type::Struct(name) | Type::Parallel(name) => {
            let Some(structure) = schema.structure(name) else {
                return;
            };
            if structure.errata.is_some() || structure.fields.iter().any(|f| f.errata.is_some()) {
                add(name);
            }
            for field in &structure.fields {
                corrected_definitions(schema, &field.ty, out);
            }
        }
        Type::Table(name) if schema.table(name).is_some_and(|t| t.errata.is_some()) => {
            add(name);
        }
        _ => {}
    }
}
/// The note of a structure: its own erratum, then one bullet per field erratum.
pub fn structure_errata(structure: &Structure) -> String {
    let bullets: Vec<String> = structure
        .fields
        .iter()
        .filter_map(|f| field_bullet(f, ""))
        .collect();
    join(structure.errata.as_deref(), &bullets)
}

fn field_bullet(field: &Field, side: &str) -> Option<String> {
    let text = field.errata.as_deref()?.trim();
    let bullet = format!("``{}``{side}: {text}", field.name);
    let mut lines = bullet.lines();
    let mut out = format!("* {}", lines.next().unwrap_or_default());
    for line in indent(&lines.collect::<Vec<_>>().join("\n"), "  ") {
        out.push('\n');
        out.push_str(&line);
    }
    Some(out)
}

fn join(own: Option<&str>, bullets: &[String]) -> String {
    let mut parts: Vec<&str> = own.map(str::trim).into_iter().collect();
    parts.extend(bullets.iter().map(String::as_str));
    parts.join("\n\n")
}
