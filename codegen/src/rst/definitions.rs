//! The pages of named definitions: data structures, value tables and message
//! statuses.

use super::errata::structure_errata;
use super::layout::field_items;
use super::text::{Page, list_table, numbered_list};
use super::users::Users;
use crate::model::{Layout, Schema, Table, TableScalar, Type};

/// The table whose values are the statuses of messages; it gets a page of its own.
pub const MESSAGE_STATUS_TABLE: &str = "MessageStatus";

pub fn structures_page(schema: &Schema, users: &Users) -> String {
    let mut page = Page::new("data-structures", "Data Structures");
    page.prose(
        "A structure travels as its fields, one after the other, with nothing in \
         front of it (no length, no count). Messages embed structures by name, \
         alone or in arrays.",
    );
    for structure in &schema.structures {
        page.label(&structure.name);
        page.heading(&structure.name, '-');
        page.text(&structure.description);
        let mut fields = Vec::new();
        if let Some(size) = fixed_size(schema, &Type::Struct(structure.name.clone())) {
            fields.push(format!(":Size: {size} bytes"));
        }
        fields.extend(users.field_line(&structure.name));
        page.lines(&fields);
        page.lines(&numbered_list(&field_items(
            schema,
            &structure.fields,
            &Layout::default(),
        )));
        page.note(&structure_errata(structure));
    }
    page.finish()
}

pub fn tables_page(schema: &Schema, users: &Users) -> String {
    let mut page = Page::new("value-tables", "Value Tables");
    page.prose(
        "A field typed by a table carries one of the table's values, encoded as \
         the table's representation (``u8``, ``u32`` or ``string``). Values that a \
         table does not list can still arrive: receivers keep them rather than \
         reject the message.",
    );
    for table in schema
        .tables
        .iter()
        .filter(|t| t.name != MESSAGE_STATUS_TABLE)
    {
        page.label(&table.name);
        page.heading(&table.name, '-');
        page.text(&table.description);
        let mut fields = vec![format!(":Encoded as: **{}**", table.repr.name())];
        fields.extend(users.field_line(&table.name));
        page.lines(&fields);
        page.lines(&values_table(table));
        page.note(table.errata.as_deref().unwrap_or_default());
    }
    page.finish()
}

pub fn statuses_page(schema: &Schema) -> String {
    let mut page = Page::new("message-statuses", "Message Statuses");
    page.prose(
        "Every message in this reference has a status: whether it still works on \
         today's network. The status is documentation, not a value on the wire.",
    );
    if let Some(table) = schema.table(MESSAGE_STATUS_TABLE) {
        page.label(&table.name);
        page.heading("Statuses", '-');
        page.text(&table.description);
        let items: Vec<String> = table
            .values
            .iter()
            .map(|v| format!("* **{}**: {}", status_name(&v.value), v.description.trim()))
            .collect();
        page.lines(&items);
    }
    page.finish()
}

/// How a status appears in the reference: `USED`, `DEFUNCT`, ...
pub fn status_name(value: &TableScalar) -> String {
    value.to_string().to_uppercase()
}

fn values_table(table: &Table) -> Vec<String> {
    let rows: Vec<Vec<String>> = table
        .values
        .iter()
        .map(|v| {
            let value = match &v.value {
                TableScalar::Number(n) => n.to_string(),
                TableScalar::Text(text) => format!("``{text}``"),
            };
            vec![value, v.name.clone(), v.description.trim().to_string()]
        })
        .collect();
    list_table(&["Value", "Name", "Meaning"], &rows)
}

/// The size in bytes of every value of `ty`, when it does not vary.
pub fn fixed_size(schema: &Schema, ty: &Type) -> Option<usize> {
    match ty {
        Type::String | Type::Bytes | Type::Rest | Type::U32OrU64 | Type::ZeroPadding(_) => None,
        Type::Array(_) | Type::Parallel(_) => None,
        Type::Table(name) => schema
            .table(name)
            .filter(|t| t.repr != crate::model::Repr::String)
            .map(|t| t.repr.size()),
        Type::Struct(name) => schema
            .structure(name)?
            .fields
            .iter()
            .map(|f| fixed_size(schema, &f.ty))
            .sum(),
        _ => Some(schema.min_size(ty)),
    }
}
