//! The generated items: one function per kind of schema entry.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::codec::Codec;
use super::names::*;
use crate::model::*;

const SERDE: &str = "serde";

fn serde_derive() -> TokenStream {
    quote!(#[cfg_attr(feature = #SERDE, derive(serde::Serialize, serde::Deserialize))])
}

fn wire_line(ty: &Type, presence: &Presence) -> String {
    let presence = match presence {
        Presence::Always => String::new(),
        Presence::Optional => " (optional: present only if bytes remain)".to_string(),
        Presence::Conditional { flag, when: true } => {
            format!(" (present only when `{flag}` is true)")
        }
        Presence::Conditional { flag, when: false } => {
            format!(" (present only when `{flag}` is false)")
        }
    };
    format!("Wire type: `{ty}`{presence}.")
}

fn field_docs(f: &Field) -> TokenStream {
    let mut paragraphs = vec![f.description.clone()];
    if let Some(errata) = &f.errata {
        paragraphs.push(format!("Departs from the older documents: {errata}"));
    }
    paragraphs.push(wire_line(&f.ty, &f.presence));
    docs(&paragraphs)
}

/// `pub name: Type` declarations for the stored fields.
fn field_decls(fields: &[Field], public: bool) -> Vec<TokenStream> {
    fields
        .iter()
        .filter(|f| !f.is_flag)
        .map(|f| {
            let name = ident(&f.name);
            let ty = rust_type(&f.ty);
            let ty = match f.presence {
                Presence::Always => ty,
                _ => quote!(Option<#ty>),
            };
            let doc = field_docs(f);
            if public {
                quote!(#doc pub #name: #ty)
            } else {
                quote!(#doc #name: #ty)
            }
        })
        .collect()
}

pub struct Items<'a> {
    pub schema: &'a Schema,
    pub codec: Codec<'a>,
}

impl<'a> Items<'a> {
    pub fn new(schema: &'a Schema) -> Self {
        Self {
            schema,
            codec: Codec { schema },
        }
    }

    // ---------------------------------------------------------------- tables

    pub fn table(&self, table: &Table) -> TokenStream {
        let name = format_ident!("{}", table.name);
        let mut paragraphs = vec![table.description.clone()];
        if let Some(errata) = &table.errata {
            paragraphs.push(format!("Departs from the older documents: {errata}"));
        }
        paragraphs.push(format!("Travels as `{}`.", table.repr.name()));
        let doc = docs(&paragraphs);
        let variants: Vec<Ident> = table
            .values
            .iter()
            .map(|v| format_ident!("{}", v.name))
            .collect();
        let variant_docs = table.values.iter().map(|v| {
            docs(&[
                v.description.clone(),
                format!("On the wire: `{}`.", v.value),
            ])
        });

        let (raw_ty, derive, wire_ty, values): (
            TokenStream,
            TokenStream,
            TokenStream,
            Vec<TokenStream>,
        ) = match table.repr {
            Repr::String => (
                quote!(String),
                quote!(#[derive(Debug, Clone, PartialEq, Eq, Hash)]),
                quote!(&str),
                table
                    .values
                    .iter()
                    .map(|v| {
                        let s = v.value.to_string();
                        quote!(#s)
                    })
                    .collect(),
            ),
            repr => {
                let ty = if repr == Repr::U8 {
                    quote!(u8)
                } else {
                    quote!(u32)
                };
                let values = table
                    .values
                    .iter()
                    .map(|v| match &v.value {
                        TableScalar::Number(n) if repr == Repr::U8 => {
                            let n = Literal::u8_unsuffixed(*n as u8);
                            quote!(#n)
                        }
                        TableScalar::Number(n) => {
                            let n = Literal::u32_unsuffixed(*n);
                            quote!(#n)
                        }
                        TableScalar::Text(_) => unreachable!("checked by the loader"),
                    })
                    .collect();
                (
                    ty.clone(),
                    quote!(#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]),
                    ty,
                    values,
                )
            }
        };
        let is_string = table.repr == Repr::String;
        let from_arms = variants
            .iter()
            .zip(&values)
            .map(|(v, raw)| quote!(#raw => Self::#v,));
        let from_body = if is_string {
            quote!(match raw.as_str() { #(#from_arms)* _ => Self::Unknown(raw) })
        } else {
            quote!(match raw { #(#from_arms)* other => Self::Unknown(other) })
        };
        let to_arms = variants
            .iter()
            .zip(&values)
            .map(|(v, raw)| quote!(Self::#v => #raw,));
        let unknown_arm = if is_string {
            quote!(Self::Unknown(raw) => raw)
        } else {
            quote!(Self::Unknown(raw) => *raw)
        };
        let count = Literal::usize_unsuffixed(variants.len());
        let names: Vec<&str> = table.values.iter().map(|v| v.name.as_str()).collect();
        let deserialize_body = if is_string {
            quote! {
                Ok(match <StringTableValue as serde::Deserialize>::deserialize(deserializer)? {
                    StringTableValue::Text(text) => Self::from_name(&text).unwrap_or_else(|| Self::from_wire(text)),
                    StringTableValue::Tagged(tagged) => Self::from_wire(tagged.raw),
                })
            }
        } else {
            quote! {
                match <TableValue as serde::Deserialize>::deserialize(deserializer)? {
                    TableValue::Name(name) => Self::from_name(&name)
                        .ok_or_else(|| serde::de::Error::custom(format_args!("no value named `{name}` in {}", stringify!(#name)))),
                    TableValue::Raw(raw) => #raw_ty::try_from(raw)
                        .map(Self::from_wire)
                        .map_err(|_| serde::de::Error::custom(format_args!("{raw} does not fit {}", stringify!(#name)))),
                }
            }
        };
        // A string table's unknown raw value may spell a listed value's name
        // ("Peer" arriving where the wire value is "P"): tagging it keeps
        // the two apart, so wire -> JSON -> wire is exact.
        let (serialize_unknown, serialize_doc, deserialize_doc) = if is_string {
            let unknown_index = Literal::u32_unsuffixed(variants.len() as u32);
            (
                quote!(serializer.serialize_newtype_variant(stringify!(#name), #unknown_index, "Unknown", self.to_wire())),
                " Listed values by name; others tagged, as `{\"Unknown\": raw}` (a raw value may spell a name).",
                " A schema name, a raw wire value that is not a name, or `{\"Unknown\": raw}`.",
            )
        } else {
            (
                quote!(serde::Serialize::serialize(&self.to_wire(), serializer)),
                " Listed values by name, others by their raw value.",
                " A schema name, or a raw wire value.",
            )
        };
        let arbitrary_pick = if is_string {
            quote!(u.choose(&Self::KNOWN)?.clone())
        } else {
            quote!(*u.choose(&Self::KNOWN)?)
        };
        quote! {
            #doc
            #derive
            pub enum #name {
                #(#variant_docs #variants,)*
                /// A value this table does not list, kept as it travelled.
                Unknown(#raw_ty),
            }

            impl #name {
                /// Every value the table lists.
                pub const KNOWN: [Self; #count] = [#(Self::#variants),*];

                /// The value for a raw wire value; values not listed become `Unknown`.
                pub fn from_wire(raw: #raw_ty) -> Self {
                    #from_body
                }

                /// The raw value that travels on the wire.
                pub fn to_wire(&self) -> #wire_ty {
                    match self {
                        #(#to_arms)*
                        #unknown_arm,
                    }
                }

                /// The schema's name of a listed value (`None` for `Unknown`).
                pub fn name(&self) -> Option<&'static str> {
                    match self {
                        #(Self::#variants => Some(#names),)*
                        Self::Unknown(_) => None,
                    }
                }

                /// The listed value with this schema name.
                pub fn from_name(name: &str) -> Option<Self> {
                    match name {
                        #(#names => Some(Self::#variants),)*
                        _ => None,
                    }
                }
            }

            #[doc = #serialize_doc]
            #[cfg(feature = "serde")]
            impl serde::Serialize for #name {
                fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    match self.name() {
                        Some(name) => serializer.serialize_str(name),
                        None => #serialize_unknown,
                    }
                }
            }

            #[doc = #deserialize_doc]
            #[cfg(feature = "serde")]
            impl<'de> serde::Deserialize<'de> for #name {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    #deserialize_body
                }
            }

            #[cfg(feature = "arbitrary")]
            impl<'a> arbitrary::Arbitrary<'a> for #name {
                fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                    // Mostly listed values; raw ones that happen to be listed
                    // decode to the listed variant, so `from_wire` keeps round trips exact.
                    if u.arbitrary()? {
                        Ok(#arbitrary_pick)
                    } else {
                        Ok(Self::from_wire(u.arbitrary()?))
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ structures

    /// A struct (or, for a pure switch, an enum) with its derives, plus the
    /// enum of a named switch.
    fn data_type(&self, name: &Ident, doc: TokenStream, layout: &Layout) -> TokenStream {
        let serde = serde_derive();
        let copy = if self.codec.all_copy(&layout.fields) && layout.switch.is_none() {
            quote!(Copy,)
        } else {
            quote!()
        };
        let derive = quote!(#[derive(Debug, Clone, #copy PartialEq, Eq)]);
        let Some(switch) = &layout.switch else {
            let decls = field_decls(&layout.fields, true);
            if decls.is_empty() {
                return quote!(#doc #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)] #serde pub struct #name;);
            }
            return quote!(#doc #derive #serde pub struct #name { #(#decls,)* });
        };
        let enum_name = self.codec.switch_enum_name(name, layout).expect("switch");
        let variants = [&switch.when_true, &switch.when_false].map(|case| {
            let variant = format_ident!("{}", case.variant);
            let flag_value = if std::ptr::eq(case, &switch.when_true) {
                "true"
            } else {
                "false"
            };
            let doc = docs(&[
                case.description.clone(),
                format!("Sent with `{}` = {flag_value}.", switch.flag),
            ]);
            let decls = field_decls(&case.fields, false);
            if decls.is_empty() {
                quote!(#doc #variant)
            } else {
                quote!(#doc #variant { #(#decls,)* })
            }
        });
        let enum_derive = quote!(#[derive(Debug, Clone, PartialEq, Eq)]);
        match &switch.name {
            None => quote!(#doc #enum_derive #serde pub enum #name { #(#variants,)* }),
            Some(field) => {
                let enum_doc = docs(&[format!(
                    "The `{field}` of [`{name}`]: which branch follows `{}`.",
                    switch.flag
                )]);
                let mut decls = field_decls(&layout.fields, true);
                let field_ident = ident(field);
                decls.push(quote!(pub #field_ident: #enum_name));
                quote! {
                    #doc #enum_derive #serde pub struct #name { #(#decls,)* }
                    #enum_doc #enum_derive #serde pub enum #enum_name { #(#variants,)* }
                }
            }
        }
    }

    fn arbitrary_impl(&self, name: &Ident, layout: &Layout) -> TokenStream {
        let switch_enum = self.codec.switch_enum_name(name, layout);
        let mut body = self.codec.arbitrary_body(layout, switch_enum.as_ref());
        // Unpadded values whose next bytes happen to read as padding would
        // decode as padded: mark them padded, so arbitrary values round-trip.
        // (The loader allows padding only first in a message layout.)
        if let Some(Field {
            ty: Type::ZeroPadding(n),
            name: padded,
            ..
        }) = layout.fields.first()
        {
            let n = Literal::usize_unsuffixed(*n);
            let padded = ident(padded);
            body = quote! {
                let build = |u: &mut arbitrary::Unstructured<'a>| -> arbitrary::Result<Self> { #body };
                let mut value = build(u)?;
                if !value.#padded {
                    let mut bytes = Vec::new();
                    if value.encode_body(&mut bytes).is_ok()
                        && bytes.len() > #n
                        && bytes[..#n].iter().all(|&b| b == 0)
                    {
                        value.#padded = true;
                    }
                }
                Ok(value)
            };
        }
        let u = if layout.is_empty() {
            quote!(_u)
        } else {
            quote!(u)
        };
        quote! {
            #[cfg(feature = "arbitrary")]
            impl<'a> arbitrary::Arbitrary<'a> for #name {
                fn arbitrary(#u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                    #body
                }
            }
        }
    }

    pub fn structure(&self, s: &Structure) -> TokenStream {
        let name = format_ident!("{}", s.name);
        let mut paragraphs = vec![s.description.clone()];
        if let Some(errata) = &s.errata {
            paragraphs.push(format!("Departs from the older documents: {errata}"));
        }
        let layout = Layout {
            fields: s.fields.clone(),
            switch: None,
        };
        let wire = self.wire_type(&name, docs(&paragraphs), &layout);
        if !self.is_parallel(&s.name) {
            return wire;
        }
        let decode = self.codec.decode_columns_body(&s.name);
        let encode = self.codec.encode_columns_body(&s.name);
        quote! {
            #wire

            impl #name {
                /// Reads a list sent as parallel arrays: one array per field,
                /// each with its own count, which must all agree.
                pub fn decode_columns(r: &mut Reader<'_>) -> Result<Vec<Self>, DecodeError> {
                    #decode
                }

                /// Writes a list as parallel arrays: one array per field.
                pub fn encode_columns<B: BufMut>(items: &[Self], w: &mut B) -> Result<(), EncodeError> {
                    #encode
                }
            }
        }
    }

    /// Whether some field sends this structure as parallel arrays.
    fn is_parallel(&self, structure: &str) -> bool {
        fn in_fields(fields: &[Field], s: &str) -> bool {
            fields
                .iter()
                .any(|f| matches!(&f.ty, Type::Parallel(p) if p == s))
        }
        self.schema
            .kinds
            .iter()
            .flat_map(|k| &k.messages)
            .flat_map(|m| &m.layouts)
            .any(|(_, l)| {
                in_fields(&l.fields, structure)
                    || l.switch.as_ref().is_some_and(|sw| {
                        in_fields(&sw.when_true.fields, structure)
                            || in_fields(&sw.when_false.fields, structure)
                    })
            })
            || self
                .schema
                .structures
                .iter()
                .any(|st| in_fields(&st.fields, structure))
    }

    /// A data type that implements `Wire`: structures and file values.
    fn wire_type(&self, name: &Ident, doc: TokenStream, layout: &Layout) -> TokenStream {
        let ty = self.data_type(name, doc, layout);
        let min = Literal::usize_unsuffixed(
            layout
                .fields
                .iter()
                .map(|f| self.schema.min_size(&f.ty))
                .sum(),
        );
        let decode = self.codec.decode_body(layout, None);
        let encode = self.codec.encode_body(layout, None);
        let arbitrary = self.arbitrary_impl(name, layout);
        quote! {
            #ty

            impl Wire for #name {
                const MIN_SIZE: usize = #min;

                // Inlined into the array loops of the structures that hold it.
                #[inline]
                fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                    #decode
                }

                fn encode<B: BufMut>(&self, w: &mut B) -> Result<(), EncodeError> {
                    #encode
                }
            }

            #arbitrary
        }
    }

    // -------------------------------------------------------------- messages

    pub fn message(&self, m: &Message, direction: Direction, layout: &Layout) -> TokenStream {
        let name = message_type(m, direction);
        let lead = match direction {
            Direction::Request => format!(
                "`{}` from the client to the server (code {}).",
                m.name, m.code
            ),
            Direction::Response => format!(
                "`{}` from the server to the client (code {}).",
                m.name, m.code
            ),
            Direction::Both => format!("`{}` (code {}).", m.name, m.code),
        };
        let mut paragraphs = vec![lead, m.description.clone()];
        if let Some(errata) = &m.errata {
            paragraphs.push(format!("Departs from the older documents: {errata}"));
        }
        if m.compressed {
            paragraphs.push(
                "The payload travels zlib-compressed; encoding and decoding handle that.".into(),
            );
        }
        let ty = self.data_type(&name, docs(&paragraphs), layout);
        let switch_enum = self.codec.switch_enum_name(&name, layout);
        let decode = self.codec.decode_body(layout, switch_enum.as_ref());
        let encode = self.codec.encode_body(layout, switch_enum.as_ref());
        let arbitrary = self.arbitrary_impl(&name, layout);
        let message_name = &m.name;
        let code = Literal::u32_unsuffixed(m.code);
        let status = self.status_variant(&m.status);
        let compressed = m.compressed;
        let unused = if layout.is_empty() {
            quote!(_)
        } else {
            quote!(r)
        };
        let unused_w = if layout.is_empty() {
            quote!(_)
        } else {
            quote!(w)
        };
        quote! {
            #ty

            impl Message for #name {
                const NAME: &'static str = #message_name;
                const CODE: u32 = #code;
                const STATUS: MessageStatus = MessageStatus::#status;
                const COMPRESSED: bool = #compressed;

                fn decode_body(#unused: &mut Reader<'_>) -> Result<Self, DecodeError> {
                    #decode
                }

                fn encode_body<B: BufMut>(&self, #unused_w: &mut B) -> Result<(), EncodeError> {
                    #encode
                }
            }

            #arbitrary
        }
    }

    fn status_variant(&self, status: &str) -> Ident {
        let table = self
            .schema
            .table("MessageStatus")
            .expect("checked by the loader");
        let value = table
            .values
            .iter()
            .find(|v| v.value.to_string() == status)
            .expect("checked by the loader");
        format_ident!("{}", value.name)
    }

    /// The enum of every message of one kind and direction, with its codec.
    pub fn kind_enum(&self, kind: Kind, direction: Direction) -> TokenStream {
        let name = kind_enum(kind, direction);
        let label = kind_enum_label(kind, direction);
        let messages: Vec<&Message> = self
            .schema
            .messages(kind)
            .iter()
            .filter(|m| m.layout(direction).is_some())
            .collect();
        let variants: Vec<Ident> = messages
            .iter()
            .map(|m| format_ident!("{}", m.name))
            .collect();
        let types: Vec<Ident> = messages
            .iter()
            .map(|m| message_type(m, direction))
            .collect();
        let codes: Vec<Literal> = messages
            .iter()
            .map(|m| Literal::u32_unsuffixed(m.code))
            .collect();
        let variant_docs: Vec<String> = types.iter().map(|t| format!(" See [`{t}`].")).collect();
        let code_width = if kind.code_width() == 1 {
            quote!(U8)
        } else {
            quote!(U32)
        };
        let connection_kind = match kind {
            Kind::Server => quote!(Server),
            Kind::PeerInit => quote!(PeerInit),
            Kind::Peer => quote!(Peer),
            Kind::Distributed => quote!(Distributed),
        };
        let doc = format!(
            " Every {label}, by code; codes the schema does not define decode to `Unknown`."
        );
        let serde = serde_derive();
        let unused_code = Literal::u32_unsuffixed(
            (0u32..)
                .find(|c| !messages.iter().any(|m| m.code == *c))
                .expect("a free code"),
        );
        let raw_code = if kind.code_width() == 1 {
            quote!(u32::from(u.arbitrary::<u8>()?))
        } else {
            quote!(u.arbitrary::<u32>()?)
        };
        let info = messages.iter().map(|m| {
            let name = &m.name;
            let ty = message_type(m, direction).to_string();
            let code = Literal::u32_unsuffixed(m.code);
            let status = self.status_variant(&m.status);
            let compressed = m.compressed;
            quote!(MessageInfo { name: #name, type_name: #ty, code: #code, status: MessageStatus::#status, compressed: #compressed })
        });
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq, Eq)]
            #serde
            pub enum #name {
                #(#[doc = #variant_docs] #variants(#types),)*
                /// A message whose code the schema does not define, kept as it travelled.
                Unknown {
                    code: u32,
                    payload: Vec<u8>,
                },
            }

            impl #name {
                /// The message's name in the schema (`"Unknown"` for unknown codes).
                pub fn name(&self) -> &'static str {
                    match self {
                        #(Self::#variants(_) => #types::NAME,)*
                        Self::Unknown { .. } => "Unknown",
                    }
                }
            }

            impl FramedMessage for #name {
                const KIND: ConnectionKind = ConnectionKind::#connection_kind;
                const CODE_WIDTH: CodeWidth = CodeWidth::#code_width;
                const LABEL: &'static str = #label;
                const MESSAGES: &'static [MessageInfo] = &[#(#info),*];

                fn code(&self) -> u32 {
                    match self {
                        #(Self::#variants(_) => #codes,)*
                        Self::Unknown { code, .. } => *code,
                    }
                }

                fn decode_payload(code: u32, payload: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
                    match code {
                        #(#codes => #types::decode_payload(payload, limits).map(Self::#variants),)*
                        code => Ok(Self::Unknown { code, payload: payload.to_vec() }),
                    }
                }

                fn decode_payload_lenient(code: u32, payload: &[u8], limits: &Limits) -> Result<(Self, usize), DecodeError> {
                    match code {
                        #(#codes => #types::decode_payload_lenient(payload, limits).map(|(m, trailing)| (Self::#variants(m), trailing)),)*
                        code => Ok((Self::Unknown { code, payload: payload.to_vec() }, 0)),
                    }
                }

                fn encode_payload<B: BufMut>(&self, w: &mut B) -> Result<(), EncodeError> {
                    match self {
                        #(Self::#variants(m) => m.encode_payload(w),)*
                        Self::Unknown { payload, .. } => {
                            w.put_slice(payload);
                            Ok(())
                        }
                    }
                }
            }

            #(
                impl From<#types> for #name {
                    fn from(message: #types) -> Self {
                        Self::#variants(message)
                    }
                }
            )*

            #[cfg(feature = "arbitrary")]
            impl ArbitraryMessage for #name {
                fn arbitrary_with_code(code: u32, u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Self> {
                    Ok(match code {
                        #(#codes => Self::#variants(u.arbitrary()?),)*
                        code => Self::Unknown { code, payload: u.arbitrary()? },
                    })
                }
            }

            #[cfg(feature = "arbitrary")]
            impl<'a> arbitrary::Arbitrary<'a> for #name {
                fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
                    let pick = u.choose_index(Self::MESSAGES.len() + 1)?;
                    let code = match Self::MESSAGES.get(pick) {
                        Some(info) => info.code,
                        None => {
                            let raw = #raw_code;
                            if Self::MESSAGES.iter().any(|m| m.code == raw) { #unused_code } else { raw }
                        }
                    };
                    Self::arbitrary_with_code(code, u)
                }
            }
        }
    }

    // ----------------------------------------------------------- file values

    pub fn file_value(&self, v: &FileValue) -> TokenStream {
        let name = format_ident!("{}", v.name);
        let doc = docs(&[
            v.description.clone(),
            format!("Sent raw by the {}, with no frame.", v.sender),
        ]);
        let layout = Layout {
            fields: v.fields.clone(),
            switch: None,
        };
        self.wire_type(&name, doc, &layout)
    }
}
