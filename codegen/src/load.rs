//! Reading and checking the schema.
//!
//! Every problem is collected before anything fails, so one run of the build
//! lists all of them, each with its file and where in it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use crate::model::*;
use crate::raw::*;

/// One problem in the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The schema file, e.g. `server.yaml`.
    pub file: String,
    /// Where in the file: a line, or the message and field path.
    pub location: String,
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location.is_empty() {
            write!(f, "schema/{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "schema/{}: {}: {}",
                self.file, self.location, self.message
            )
        }
    }
}

/// Every problem found in one load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaErrors(pub Vec<SchemaError>);

impl fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the schema has {} error(s):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SchemaErrors {}

pub const TABLES_FILE: &str = "tables.yaml";
pub const STRUCTURES_FILE: &str = "structures.yaml";
pub const FILE_VALUES_FILE: &str = "file.yaml";

/// The files a schema directory must hold.
pub fn schema_files() -> Vec<&'static str> {
    let mut files = vec![TABLES_FILE, STRUCTURES_FILE];
    files.extend(Kind::ALL.iter().map(|k| k.file()));
    files.push(FILE_VALUES_FILE);
    files
}

/// Loads and checks the schema in `dir`.
pub fn load_dir(dir: &Path) -> Result<Schema, SchemaErrors> {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for file in schema_files() {
        match std::fs::read_to_string(dir.join(file)) {
            Ok(text) => sources.push((file.to_string(), text)),
            Err(e) => errors.push(SchemaError {
                file: file.to_string(),
                location: String::new(),
                message: format!("cannot read {}: {e}", dir.join(file).display()),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(SchemaErrors(errors));
    }
    load_sources(&sources)
}

/// Loads and checks a schema given as `(file name, text)` pairs.
pub fn load_sources(sources: &[(String, String)]) -> Result<Schema, SchemaErrors> {
    let mut loader = Loader::default();
    let text_of = |file: &str| {
        sources
            .iter()
            .find(|(name, _)| name == file)
            .map(|(_, text)| text.as_str())
    };

    let tables: Option<TablesFile> = loader.parse(TABLES_FILE, text_of(TABLES_FILE));
    let structures: Option<StructuresFile> =
        loader.parse(STRUCTURES_FILE, text_of(STRUCTURES_FILE));
    let kinds: Vec<(Kind, Option<MessagesFile>)> = Kind::ALL
        .iter()
        .map(|&k| (k, loader.parse(k.file(), text_of(k.file()))))
        .collect();
    let file_values: Option<MessagesFile> =
        loader.parse(FILE_VALUES_FILE, text_of(FILE_VALUES_FILE));

    let raw_tables = tables.map(|t| t.tables).unwrap_or_default();
    let raw_structures = structures.map(|s| s.structures).unwrap_or_default();
    loader.index_names(&raw_tables, &raw_structures, &kinds, file_values.as_ref());

    let tables: Vec<Table> = raw_tables.iter().map(|t| loader.table(t)).collect();
    loader.statuses = tables
        .iter()
        .find(|t| t.name == "MessageStatus")
        .map(|t| t.values.iter().map(|v| v.value.to_string()).collect());
    if loader.statuses.is_none() {
        loader.error(
            TABLES_FILE,
            "",
            "the table `MessageStatus` (the statuses a message can have) is missing",
        );
    }

    let structures: Vec<Structure> = raw_structures.iter().map(|s| loader.structure(s)).collect();
    loader.check_recursion(&structures);

    let kinds: Vec<KindMessages> = kinds
        .iter()
        .map(|(kind, file)| loader.kind(*kind, file.as_ref()))
        .collect();
    let file_values = loader.file_values(file_values.as_ref());

    if loader.errors.is_empty() {
        Ok(Schema {
            tables,
            structures,
            kinds,
            file_values,
        })
    } else {
        Err(SchemaErrors(loader.errors))
    }
}

#[derive(Default)]
struct Loader {
    errors: Vec<SchemaError>,
    table_names: HashSet<String>,
    structure_names: HashSet<String>,
    statuses: Option<Vec<String>>,
}

/// The fields already read in one layout, for checking names and conditions.
#[derive(Default)]
struct Scope {
    /// Field name to (type, presence).
    fields: HashMap<String, (Type, Presence)>,
    /// Flags already used by a condition or switch.
    used_flags: HashSet<String>,
}

impl Loader {
    fn error(&mut self, file: &str, location: &str, message: impl Into<String>) {
        self.errors.push(SchemaError {
            file: file.to_string(),
            location: location.to_string(),
            message: message.into(),
        });
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &mut self,
        file: &str,
        text: Option<&str>,
    ) -> Option<T> {
        let Some(text) = text else {
            self.error(file, "", "the file is missing");
            return None;
        };
        match serde_yaml::from_str(text) {
            Ok(value) => Some(value),
            Err(e) => {
                let location = e
                    .location()
                    .map(|l| format!("line {}, column {}", l.line(), l.column()))
                    .unwrap_or_default();
                self.error(file, &location, e.to_string());
                None
            }
        }
    }

    /// Records every top-level name and reports the ones used twice.
    fn index_names(
        &mut self,
        tables: &[RawTable],
        structures: &[RawStructure],
        kinds: &[(Kind, Option<MessagesFile>)],
        file_values: Option<&MessagesFile>,
    ) {
        // Keyed by the lowercase name: each name is also a label of the
        // reference, and Sphinx labels ignore case.
        let mut seen: HashMap<String, (String, String)> = HashMap::new();
        let mut names: Vec<(&str, String)> = Vec::new();
        names.extend(tables.iter().map(|t| (TABLES_FILE, t.name.clone())));
        names.extend(structures.iter().map(|s| (STRUCTURES_FILE, s.name.clone())));
        for (kind, file) in kinds {
            for m in file.iter().flat_map(|f| &f.messages) {
                names.push((kind.file(), m.name.clone()));
            }
        }
        for v in file_values.iter().flat_map(|f| &f.values) {
            names.push((FILE_VALUES_FILE, v.name.clone()));
        }
        for (file, name) in names {
            if !is_pascal_case(&name) {
                self.error(
                    file,
                    &name,
                    "names of messages, structures and tables are PascalCase",
                );
            }
            match seen.get(&name.to_lowercase()) {
                Some((first, first_file)) if *first == name => self.error(
                    file,
                    &name,
                    format!("duplicate name (first defined in {first_file})"),
                ),
                Some((first, first_file)) => self.error(
                    file,
                    &name,
                    format!(
                        "the name differs from `{first}` (in {first_file}) only in case; \
                         the reference's labels ignore case"
                    ),
                ),
                None => {
                    seen.insert(name.to_lowercase(), (name, file.to_string()));
                }
            }
        }
        self.table_names = tables.iter().map(|t| t.name.clone()).collect();
        self.structure_names = structures.iter().map(|s| s.name.clone()).collect();
    }

    fn table(&mut self, raw: &RawTable) -> Table {
        let at = format!("table {}", raw.name);
        let repr = match raw.repr.as_str() {
            "u8" => Repr::U8,
            "u32" => Repr::U32,
            "string" => Repr::String,
            other => {
                self.error(
                    TABLES_FILE,
                    &at,
                    format!("unknown repr `{other}` (use u8, u32 or string)"),
                );
                Repr::U32
            }
        };
        let mut values = Vec::new();
        let mut seen_values = HashSet::new();
        let mut seen_names = HashSet::new();
        for v in &raw.values {
            let where_ = format!("{at}, value {}", v.name);
            let value = match (&v.value, repr) {
                (RawScalar::Number(n), Repr::U8) if *n <= u64::from(u8::MAX) => {
                    TableScalar::Number(*n as u32)
                }
                (RawScalar::Number(n), Repr::U32) if *n <= u64::from(u32::MAX) => {
                    TableScalar::Number(*n as u32)
                }
                (RawScalar::Text(s), Repr::String) => TableScalar::Text(s.clone()),
                (RawScalar::Number(n), Repr::String) => TableScalar::Text(n.to_string()),
                _ => {
                    self.error(
                        TABLES_FILE,
                        &where_,
                        format!("value does not fit the table's repr `{}`", repr.name()),
                    );
                    continue;
                }
            };
            if !seen_values.insert(value.clone()) {
                self.error(
                    TABLES_FILE,
                    &where_,
                    format!("value `{value}` is used twice"),
                );
            }
            if !seen_names.insert(v.name.clone()) {
                self.error(TABLES_FILE, &where_, "duplicate value name");
            }
            if !is_pascal_case(&v.name) {
                self.error(TABLES_FILE, &where_, "value names are PascalCase");
            }
            if v.name == "Unknown" {
                self.error(
                    TABLES_FILE,
                    &where_,
                    "`Unknown` is reserved for values the table does not list",
                );
            }
            values.push(TableValue {
                name: v.name.clone(),
                value,
                description: v.description.clone(),
            });
        }
        Table {
            name: raw.name.clone(),
            repr,
            description: raw.description.clone(),
            errata: raw.errata.clone(),
            values,
        }
    }

    fn structure(&mut self, raw: &RawStructure) -> Structure {
        let at = format!("structure {}", raw.name);
        let layout = self.layout(STRUCTURES_FILE, &at, &raw.fields, false);
        Structure {
            name: raw.name.clone(),
            description: raw.description.clone(),
            errata: raw.errata.clone(),
            fields: layout.fields,
        }
    }

    /// A structure may not contain itself, directly or through others.
    fn check_recursion(&mut self, structures: &[Structure]) {
        fn refs(ty: &Type, out: &mut Vec<String>) {
            match ty {
                Type::Struct(n) | Type::Parallel(n) => out.push(n.clone()),
                Type::Array(t) => refs(t, out),
                _ => {}
            }
        }
        let edges: HashMap<&str, Vec<String>> = structures
            .iter()
            .map(|s| {
                let mut out = Vec::new();
                s.fields.iter().for_each(|f| refs(&f.ty, &mut out));
                (s.name.as_str(), out)
            })
            .collect();
        for s in structures {
            let mut stack = edges.get(s.name.as_str()).cloned().unwrap_or_default();
            let mut seen = HashSet::new();
            while let Some(next) = stack.pop() {
                if next == s.name {
                    self.error(
                        STRUCTURES_FILE,
                        &format!("structure {}", s.name),
                        "the structure contains itself",
                    );
                    break;
                }
                if seen.insert(next.clone()) {
                    stack.extend(edges.get(next.as_str()).cloned().unwrap_or_default());
                }
            }
        }
    }

    fn kind(&mut self, kind: Kind, file: Option<&MessagesFile>) -> KindMessages {
        let Some(file) = file else {
            return KindMessages {
                kind,
                description: String::new(),
                messages: Vec::new(),
            };
        };
        let f = kind.file();
        if file.kind != kind.key() {
            self.error(
                f,
                "kind",
                format!("expected `kind: {}`, found `{}`", kind.key(), file.kind),
            );
        }
        if !file.values.is_empty() {
            self.error(f, "values", "only file.yaml has `values`");
        }
        let mut codes: HashMap<(u32, Direction), String> = HashMap::new();
        let mut messages = Vec::new();
        for raw in &file.messages {
            let message = self.message(kind, raw);
            if kind.code_width() == 1 && message.code > u32::from(u8::MAX) {
                self.error(
                    f,
                    &raw.name,
                    format!("code {} does not fit the kind's u8 code", message.code),
                );
            }
            for (direction, _) in &message.layouts {
                if let Some(first) = codes.insert((message.code, *direction), message.name.clone())
                {
                    self.error(
                        f,
                        &raw.name,
                        format!(
                            "code {} ({}) is also used by {first}",
                            message.code,
                            direction.key()
                        ),
                    );
                }
            }
            messages.push(message);
        }
        messages.sort_by_key(|m| m.code);
        KindMessages {
            kind,
            description: file.description.clone(),
            messages,
        }
    }

    fn message(&mut self, kind: Kind, raw: &RawMessage) -> Message {
        let f = kind.file();
        let statuses = self.statuses.clone().unwrap_or_default();
        if !statuses.is_empty() && !statuses.contains(&raw.status) {
            self.error(
                f,
                &raw.name,
                format!(
                    "unknown status `{}` (use one of: {})",
                    raw.status,
                    statuses.join(", ")
                ),
            );
        }
        let given = [
            (Direction::Request, &raw.request),
            (Direction::Response, &raw.response),
            (Direction::Both, &raw.layout),
        ];
        let mut layouts = Vec::new();
        for (direction, elements) in given {
            let Some(elements) = elements else { continue };
            if !kind.directions().contains(&direction) {
                let expected: Vec<_> = kind.directions().iter().map(|d| d.key()).collect();
                self.error(
                    f,
                    &raw.name,
                    format!(
                        "`{}` is not used by {} messages (use {})",
                        direction.key(),
                        kind.key(),
                        expected.join(" / ")
                    ),
                );
                continue;
            }
            let at = format!("{}.{}", raw.name, direction.key());
            layouts.push((direction, self.layout(f, &at, elements, true)));
        }
        if layouts.is_empty() && kind.directions().len() == 1 {
            self.error(
                f,
                &raw.name,
                "the message has no `layout` (write `layout: []` for an empty one)",
            );
        } else if layouts.is_empty() {
            self.error(
                f,
                &raw.name,
                "the message has neither `request` nor `response`",
            );
        }
        Message {
            name: raw.name.clone(),
            code: raw.code,
            status: raw.status.clone(),
            description: raw.description.clone(),
            errata: raw.errata.clone(),
            compressed: raw.compressed,
            kind,
            layouts,
        }
    }

    fn file_values(&mut self, file: Option<&MessagesFile>) -> Vec<FileValue> {
        let Some(file) = file else { return Vec::new() };
        let f = FILE_VALUES_FILE;
        if file.kind != "file" {
            self.error(
                f,
                "kind",
                format!("expected `kind: file`, found `{}`", file.kind),
            );
        }
        if !file.messages.is_empty() {
            self.error(
                f,
                "messages",
                "file connections have no messages: list `values`",
            );
        }
        file.values
            .iter()
            .map(|v| {
                if !["uploader", "downloader"].contains(&v.sender.as_str()) {
                    self.error(f, &v.name, "`sender` is `uploader` or `downloader`");
                }
                let layout = self.layout(f, &v.name, &v.fields, false);
                FileValue {
                    name: v.name.clone(),
                    sender: v.sender.clone(),
                    description: v.description.clone(),
                    fields: layout.fields,
                }
            })
            .collect()
    }

    /// Builds one layout; `in_message` allows optional fields and switches.
    fn layout(
        &mut self,
        file: &str,
        at: &str,
        elements: &[RawElement],
        in_message: bool,
    ) -> Layout {
        let mut scope = Scope::default();
        let mut layout = Layout::default();
        let mut seen_optional = false;
        for (i, element) in elements.iter().enumerate() {
            let is_last = i + 1 == elements.len();
            if let Some(flag) = &element.switch {
                let where_ = format!("{at}.switch({flag})");
                if !in_message {
                    self.error(
                        file,
                        &where_,
                        "a switch can only be used in a message layout",
                    );
                    continue;
                }
                if !is_last {
                    self.error(
                        file,
                        &where_,
                        "a switch must be the last element of its layout",
                    );
                }
                if seen_optional {
                    self.error(file, &where_, "a switch cannot follow optional fields");
                }
                if element.ty.is_some() || element.optional || element.present_if.is_some() {
                    self.error(file, &where_, "a switch has `switch`, `when_true`, `when_false` and an optional `name`, nothing else");
                }
                self.check_flag(file, &where_, flag, &mut scope);
                let case = |this: &mut Self, case: &Option<RawCase>, key: &str| match case {
                    Some(c) => {
                        if !is_pascal_case(&c.variant) {
                            this.error(file, &where_, format!("`{key}.variant` is PascalCase"));
                        }
                        let fields =
                            this.case_fields(file, &format!("{where_}.{}", c.variant), &c.fields);
                        Case {
                            variant: c.variant.clone(),
                            description: c.description.clone(),
                            fields,
                        }
                    }
                    None => {
                        this.error(file, &where_, format!("the switch needs `{key}`"));
                        Case {
                            variant: String::new(),
                            description: String::new(),
                            fields: Vec::new(),
                        }
                    }
                };
                let when_true = case(self, &element.when_true, "when_true");
                let when_false = case(self, &element.when_false, "when_false");
                if when_true.variant == when_false.variant && !when_true.variant.is_empty() {
                    self.error(file, &where_, "the two variants need different names");
                }
                if let Some(name) = &element.name {
                    self.check_field_name(
                        file,
                        &where_,
                        name,
                        &mut scope,
                        Type::Bool,
                        Presence::Always,
                    );
                } else if layout.fields.iter().any(|f| !f.is_flag && f.name != *flag) {
                    self.error(
                        file,
                        &where_,
                        "the switch needs a `name`: other fields are stored beside it",
                    );
                }
                layout.switch = Some(Switch {
                    flag: flag.clone(),
                    name: element.name.clone(),
                    when_true,
                    when_false,
                });
                mark_flag(&mut layout.fields, flag);
                continue;
            }
            let Some(field) = self.field(file, at, element, &mut scope, in_message) else {
                continue;
            };
            if let Type::ZeroPadding(_) = field.ty {
                self.check_zero_padding(file, at, &field, i, &elements[i + 1..], in_message);
            }
            self.place_field(
                file,
                at,
                &mut layout.fields,
                field,
                &mut seen_optional,
                is_last,
            );
        }
        layout
    }

    /// Appends a checked field to its layout: optional fields must trail, the
    /// last-only types must be last, and a flag that a field depends on is
    /// marked as derived.
    fn place_field(
        &mut self,
        file: &str,
        at: &str,
        fields: &mut Vec<Field>,
        field: Field,
        seen_optional: &mut bool,
        is_last: bool,
    ) {
        let where_ = format!("{at}.{}", field.name);
        match field.presence {
            Presence::Optional => *seen_optional = true,
            _ if *seen_optional => self.error(
                file,
                &where_,
                "a required field cannot follow an optional one",
            ),
            _ => {}
        }
        if matches!(field.ty, Type::Rest | Type::U32OrU64) && !is_last {
            self.error(
                file,
                &where_,
                format!("`{}` must be the last field", field.ty),
            );
        }
        if let Presence::Conditional { flag, .. } = &field.presence {
            mark_flag(fields, flag);
        }
        fields.push(field);
    }

    /// The fields of one side of a switch: the same rules as a layout, no nested switch.
    fn case_fields(&mut self, file: &str, at: &str, elements: &[RawElement]) -> Vec<Field> {
        let mut scope = Scope::default();
        let mut fields: Vec<Field> = Vec::new();
        let mut seen_optional = false;
        for (i, element) in elements.iter().enumerate() {
            if element.switch.is_some() {
                self.error(file, at, "a switch cannot contain another switch");
                continue;
            }
            let Some(field) = self.field(file, at, element, &mut scope, true) else {
                continue;
            };
            let is_last = i + 1 == elements.len();
            self.place_field(file, at, &mut fields, field, &mut seen_optional, is_last);
        }
        fields
    }

    fn field(
        &mut self,
        file: &str,
        at: &str,
        e: &RawElement,
        scope: &mut Scope,
        in_message: bool,
    ) -> Option<Field> {
        let Some(name) = &e.name else {
            self.error(file, at, "a field needs a `name`");
            return None;
        };
        let where_ = format!("{at}.{name}");
        if e.when_true.is_some() || e.when_false.is_some() {
            self.error(
                file,
                &where_,
                "`when_true` / `when_false` belong to a `switch`",
            );
        }
        let Some(ty_text) = &e.ty else {
            self.error(file, &where_, "the field needs a `type`");
            return None;
        };
        let ty = match self.parse_type(ty_text) {
            Ok(ty) => ty,
            Err(message) => {
                self.error(file, &where_, message);
                return None;
            }
        };
        let ty = if e.parallel {
            match ty {
                Type::Array(inner) => match *inner {
                    Type::Struct(s) => Type::Parallel(s),
                    other => {
                        self.error(
                            file,
                            &where_,
                            format!("`parallel` needs an array of a structure, not `{other}[]`"),
                        );
                        return None;
                    }
                },
                other => {
                    self.error(
                        file,
                        &where_,
                        format!("`parallel` needs an array of a structure, not `{other}`"),
                    );
                    return None;
                }
            }
        } else {
            ty
        };
        self.check_array_elements(file, &where_, &ty);
        let presence = match (e.optional, &e.present_if, &e.present_unless) {
            (false, None, None) => Presence::Always,
            (true, None, None) if in_message => Presence::Optional,
            (true, None, None) => {
                self.error(
                    file,
                    &where_,
                    "optional fields are only allowed in message layouts",
                );
                Presence::Always
            }
            (false, Some(flag), None) | (false, None, Some(flag)) => {
                self.check_flag(file, &where_, flag, scope);
                Presence::Conditional {
                    flag: flag.clone(),
                    when: e.present_if.is_some(),
                }
            }
            _ => {
                self.error(
                    file,
                    &where_,
                    "use one of `optional`, `present_if`, `present_unless`",
                );
                Presence::Always
            }
        };
        self.check_field_name(file, &where_, name, scope, ty.clone(), presence.clone());
        Some(Field {
            name: name.clone(),
            ty,
            description: e.description.clone(),
            errata: e.errata.clone(),
            presence,
            is_flag: false,
        })
    }

    fn check_field_name(
        &mut self,
        file: &str,
        where_: &str,
        name: &str,
        scope: &mut Scope,
        ty: Type,
        presence: Presence,
    ) {
        if !is_snake_case(name) {
            self.error(file, where_, "field names are snake_case");
        }
        // The generated codecs name their reader, writer and input `r`, `w`, `u`.
        if ["r", "w", "u"].contains(&name) {
            self.error(
                file,
                where_,
                format!("`{name}` is reserved; choose a longer name"),
            );
        }
        if scope
            .fields
            .insert(name.to_string(), (ty, presence))
            .is_some()
        {
            self.error(file, where_, "duplicate field name");
        }
    }

    /// A condition or switch must name an earlier, always-present `bool` that
    /// no other condition uses.
    fn check_flag(&mut self, file: &str, where_: &str, flag: &str, scope: &mut Scope) {
        match scope.fields.get(flag) {
            None => self.error(
                file,
                where_,
                format!(
                    "the condition names `{flag}`, which is not an earlier field of this layout"
                ),
            ),
            Some((ty, _)) if *ty != Type::Bool => self.error(
                file,
                where_,
                format!("the condition names `{flag}`, which is `{ty}`, not `bool`"),
            ),
            Some((_, presence)) if *presence != Presence::Always => self.error(
                file,
                where_,
                format!("the condition names `{flag}`, which is not always present"),
            ),
            Some(_) => {
                if !scope.used_flags.insert(flag.to_string()) {
                    self.error(
                        file,
                        where_,
                        format!("`{flag}` already controls another field"),
                    );
                }
            }
        }
    }

    /// Padding is recognised by what follows it, so it must come first in a
    /// message layout, always present, with at least one byte after it:
    /// then "more than N bytes remain and the next N are zero" decides.
    fn check_zero_padding(
        &mut self,
        file: &str,
        at: &str,
        field: &Field,
        index: usize,
        rest: &[RawElement],
        in_message: bool,
    ) {
        let where_ = format!("{at}.{}", field.name);
        if !in_message || index != 0 || field.presence != Presence::Always {
            self.error(
                file,
                &where_,
                "`zero_padding(N)` must be the first, always-present field of a message layout",
            );
        }
        let next_takes_a_byte = rest.first().is_some_and(|e| {
            e.switch.is_none()
                && !e.optional
                && e.present_if.is_none()
                && e.present_unless.is_none()
                && e.ty.as_deref().is_some_and(|t| {
                    !matches!(
                        self.parse_type(t),
                        Ok(Type::Rest | Type::Raw(0) | Type::ZeroPadding(_)) | Err(_)
                    )
                })
        });
        if !next_takes_a_byte {
            self.error(
                file,
                &where_,
                "`zero_padding(N)` must be followed by an always-present field of at least one byte",
            );
        }
    }

    /// Arrays of zero-sized elements would let a 4-byte count spin for ever.
    fn check_array_elements(&mut self, file: &str, where_: &str, ty: &Type) {
        if let Type::Array(inner) = ty {
            if matches!(
                **inner,
                Type::Rest | Type::U32OrU64 | Type::Raw(0) | Type::ZeroPadding(_)
            ) {
                self.error(
                    file,
                    where_,
                    format!("`{inner}` cannot be an array element"),
                );
            }
            self.check_array_elements(file, where_, inner);
        }
    }

    fn parse_type(&self, text: &str) -> Result<Type, String> {
        let text = text.trim();
        if let Some(inner) = text.strip_suffix("[]") {
            return Ok(Type::Array(Box::new(self.parse_type(inner)?)));
        }
        if let Some(n) = text
            .strip_prefix("zero_padding(")
            .and_then(|t| t.strip_suffix(')'))
        {
            return match n.trim().parse() {
                Ok(0) | Err(_) => Err(format!(
                    "`{text}`: zero_padding(N) takes a byte count of at least 1"
                )),
                Ok(n) => Ok(Type::ZeroPadding(n)),
            };
        }
        if let Some(n) = text.strip_prefix("raw(").and_then(|t| t.strip_suffix(')')) {
            return n
                .trim()
                .parse()
                .map(Type::Raw)
                .map_err(|_| format!("`{text}`: raw(N) takes a byte count"));
        }
        Ok(match text {
            "u8" => Type::U8,
            "u16" => Type::U16,
            "u32" => Type::U32,
            "u64" => Type::U64,
            "i32" => Type::I32,
            "bool" => Type::Bool,
            "string" => Type::String,
            "bytes" => Type::Bytes,
            "ip" => Type::Ip,
            "file_size" => Type::FileSize,
            "u32_or_u64" => Type::U32OrU64,
            "rest" => Type::Rest,
            name if self.structure_names.contains(name) => Type::Struct(name.to_string()),
            name if self.table_names.contains(name) => Type::Table(name.to_string()),
            name => return Err(format!("unknown type `{name}`")),
        })
    }
}

fn mark_flag(fields: &mut [Field], flag: &str) {
    if let Some(f) = fields.iter_mut().find(|f| f.name == flag) {
        f.is_flag = true;
    }
}

fn is_pascal_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_snake_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
