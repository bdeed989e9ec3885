//! The notes that say where the schema departs from the older documents: the
//! `errata:` texts of a message or structure and of its fields.

use super::text::indent;
use crate::model::{Direction, Field, Message, Structure};

/// The note of a message: its own erratum, then one bullet per field erratum.
pub fn message_errata(message: &Message) -> String {
    let mut bullets = Vec::new();
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
        bullets.extend(fields.filter_map(|f| field_bullet(f, side)));
    }
    join(message.errata.as_deref(), &bullets)
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
