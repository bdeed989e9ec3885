//! Which messages and structures use each structure and table, for the
//! "Used by" line of its section.

use std::collections::HashMap;

use crate::model::{Field, Schema, Type};

pub struct Users {
    by_name: HashMap<String, Vec<String>>,
}

impl Users {
    pub fn of(schema: &Schema) -> Users {
        let mut users = Users {
            by_name: HashMap::new(),
        };
        for structure in &schema.structures {
            users.add(&structure.name, &structure.fields);
        }
        for kind in &schema.kinds {
            for message in &kind.messages {
                for (_, layout) in &message.layouts {
                    users.add(&message.name, &layout.fields);
                    for case in layout
                        .switch
                        .iter()
                        .flat_map(|s| [&s.when_true, &s.when_false])
                    {
                        users.add(&message.name, &case.fields);
                    }
                }
            }
        }
        for value in &schema.file_values {
            users.add(&value.name, &value.fields);
        }
        users
    }

    fn add(&mut self, user: &str, fields: &[Field]) {
        for field in fields {
            let mut ty = &field.ty;
            while let Type::Array(element) = ty {
                ty = element;
            }
            if let Type::Struct(name) | Type::Table(name) | Type::Parallel(name) = ty {
                let list = self.by_name.entry(name.clone()).or_default();
                if !list.iter().any(|u| u == user) {
                    list.push(user.to_string());
                }
            }
        }
    }

    /// `:Used by: :ref:`A`, :ref:`B``, or nothing when no one uses `name`.
    pub fn field_line(&self, name: &str) -> Option<String> {
        let users = self.by_name.get(name)?;
        let refs: Vec<String> = users.iter().map(|u| format!(":ref:`{u}`")).collect();
        Some(format!(":Used by: {}", refs.join(", ")))
    }
}
