//! Layouts as nested numbered lists, in wire order: one item per field, with
//! optional fields, conditional fields and the two sides of a switch nested
//! under the condition that governs them.

use super::text::{Item, first_paragraph, wrap};
use crate::model::{Field, Layout, Presence, Schema, Type};

/// The items of a message layout: its fields, then its switch, if any.
pub fn layout_items(schema: &Schema, layout: &Layout) -> Vec<Item> {
    let mut items = field_items(schema, &layout.fields, layout);
    if let Some(switch) = &layout.switch {
        for (when, case) in [(true, &switch.when_true), (false, &switch.when_false)] {
            let condition = format!("If ``{}`` is {when} ({})", switch.flag, case.variant);
            let mut item = if case.fields.is_empty() {
                Item::new(format!("{condition}: nothing follows."))
            } else {
                Item::with_children(
                    format!("{condition}:"),
                    field_items(schema, &case.fields, &Layout::default()),
                )
            };
            item.more = case.description.trim().to_string();
            items.push(item);
        }
    }
    items
}

/// The items of a list of fields (a structure, a file value, one side of a
/// switch). `layout` is the layout they belong to, to explain its flags.
pub fn field_items(schema: &Schema, fields: &[Field], layout: &Layout) -> Vec<Item> {
    let mut items = Vec::new();
    let mut optional = Vec::new();
    for field in fields {
        let item = field_item(schema, field, flag_purpose(field, fields, layout));
        match &field.presence {
            Presence::Always => items.push(item),
            Presence::Optional => optional.push(item),
            Presence::Conditional { flag, when } => items.push(Item::with_children(
                format!("If ``{flag}`` is {when}:"),
                vec![item],
            )),
        }
    }
    if !optional.is_empty() {
        items.push(Item::with_children(
            "Optional (read only if bytes remain):",
            optional,
        ));
    }
    items
}

/// For a flag without a description of its own, what it controls.
fn flag_purpose(field: &Field, fields: &[Field], layout: &Layout) -> Option<String> {
    if !field.is_flag || !field.description.trim().is_empty() {
        return None;
    }
    if layout.switch.as_ref().is_some_and(|s| s.flag == field.name) {
        return Some("Selects which fields follow (see below).".to_string());
    }
    fields.iter().find_map(|f| match &f.presence {
        Presence::Conditional { flag, when } if *flag == field.name => {
            Some(format!("When {when}, ``{}`` follows.", f.name))
        }
        _ => None,
    })
}

/// One field, whatever its presence: its type, its name, its description.
fn field_item(schema: &Schema, field: &Field, purpose: Option<String>) -> Item {
    let description = purpose.unwrap_or_else(|| field.description.trim().to_string());
    let (first, more) = first_paragraph(&description);
    let mut item = value_item(schema, &field.ty, &field.name);
    if !first.is_empty() {
        item.text = format!("{} — {first}", item.text.trim_end_matches(':'));
    }
    if !more.is_empty() {
        item.more = more.to_string();
    }
    item
}

/// A value of `ty` named `name`: a single line for a scalar, a nested list
/// for an array.
fn value_item(schema: &Schema, ty: &Type, name: &str) -> Item {
    match ty {
        Type::Array(element) => Item::with_children(
            format!("Array of ``{name}``:"),
            vec![value_item(schema, element, name)],
        ),
        Type::Parallel(structure) => {
            let fields = schema
                .structure(structure)
                .map(|s| s.fields.as_slice())
                .unwrap_or_default();
            let arrays = fields
                .iter()
                .map(|f| {
                    Item::with_children(
                        format!("Array of ``{}``:", f.name),
                        vec![value_item(schema, &f.ty, &f.name)],
                    )
                })
                .collect();
            let mut item = Item::with_children(
                format!("Parallel arrays of :ref:`{structure}`: ``{name}``:"),
                arrays,
            );
            item.more = wrap(&format!(
                "Sent as one array per field of :ref:`{structure}`, in this order, \
                 each with its own ``u32`` count; the counts are equal, and element \
                 *i* of ``{name}`` is made of element *i* of every array."
            ));
            item
        }
        _ => Item::new(format!("{}: ``{name}``", type_name(schema, ty))),
    }
}

/// How a non-array type appears in a layout: bold for plain integers and
/// strings, a link for the types that need explaining, structures and tables.
pub fn type_name(schema: &Schema, ty: &Type) -> String {
    match ty {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I32 | Type::Bool | Type::String => {
            format!("**{ty}**")
        }
        Type::Bytes | Type::Ip | Type::FileSize | Type::U32OrU64 | Type::Rest => {
            format!(":ref:`{ty} <{}>`", type_label(ty))
        }
        Type::Raw(_) | Type::ZeroPadding(_) => format!(":ref:`{ty} <{}>`", type_label(ty)),
        Type::Struct(name) => format!(":ref:`{name}`"),
        Type::Table(name) => match schema.table(name) {
            Some(table) => format!(":ref:`{name}` (**{}**)", table.repr.name()),
            None => format!(":ref:`{name}`"),
        },
        Type::Array(element) => format!("array of {}", type_name(schema, element)),
        Type::Parallel(name) => format!("parallel arrays of :ref:`{name}`"),
    }
}

/// The label of the data type section that explains `ty`.
pub fn type_label(ty: &Type) -> String {
    match ty {
        Type::Raw(_) => "type-raw".to_string(),
        Type::ZeroPadding(_) => "type-zero-padding".to_string(),
        Type::Array(_) => "type-array".to_string(),
        Type::Struct(_) | Type::Table(_) => "type-named".to_string(),
        Type::Parallel(_) => "type-parallel".to_string(),
        other => format!("type-{other}").replace('_', "-"),
    }
}
