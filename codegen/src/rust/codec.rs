//! The bodies of the generated codecs: decoding, encoding and (for tests and
//! fuzzing) arbitrary values of a layout.
//!
//! The generated code talks to the hand-written runtime in `slsk_proto::wire`:
//! a `Reader` whose methods take the field name (for errors) and a few
//! `put_*` helpers for the writer.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::names::{ident, is_copy, pascal};
use crate::model::{Case, Field, Layout, Presence, Repr, Schema, Switch, Type};

/// Where the value being encoded lives.
#[derive(Clone)]
pub enum Val {
    /// A place such as `self.ticket` or `x.name`.
    Place(TokenStream),
    /// A binding that holds a reference, such as a match binding.
    Ref(Ident),
}

impl Val {
    fn copied(&self) -> TokenStream {
        match self {
            Val::Place(p) => quote!(#p),
            Val::Ref(i) => quote!(*#i),
        }
    }

    fn borrowed(&self) -> TokenStream {
        match self {
            Val::Place(p) => quote!(&#p),
            Val::Ref(i) => quote!(#i),
        }
    }

    /// For method calls, where auto-ref does the rest.
    fn receiver(&self) -> TokenStream {
        match self {
            Val::Place(p) => quote!(#p),
            Val::Ref(i) => quote!(#i),
        }
    }
}

/// How the generated code accesses stored fields when encoding.
#[derive(Clone, Copy)]
enum Access {
    /// `self.name`.
    SelfField,
    /// A binding named after the field (inside a `match` arm).
    Binding,
}

fn access(access: Access, name: &Ident) -> Val {
    match access {
        Access::SelfField => Val::Place(quote!(self.#name)),
        Access::Binding => Val::Ref(name.clone()),
    }
}

pub struct Codec<'a> {
    pub schema: &'a Schema,
}

impl Codec<'_> {
    // ---------------------------------------------------------------- decode

    /// An expression of type `Result<T, DecodeError>` reading one `ty`.
    pub fn decode_expr(&self, ty: &Type, name: &str) -> TokenStream {
        match ty {
            Type::U8 => quote!(r.u8(#name)),
            Type::U16 => quote!(r.u16(#name)),
            Type::U32 => quote!(r.u32(#name)),
            Type::U64 => quote!(r.u64(#name)),
            Type::I32 => quote!(r.i32(#name)),
            Type::Bool => quote!(r.bool(#name)),
            Type::String => quote!(r.string(#name)),
            Type::Bytes => quote!(r.bytes(#name)),
            Type::Ip => quote!(r.ip(#name)),
            Type::FileSize => quote!(r.file_size(#name)),
            Type::U32OrU64 => quote!(r.u32_or_u64(#name)),
            Type::Raw(n) => {
                let n = Literal::usize_unsuffixed(*n);
                quote!(r.raw::<#n>(#name))
            }
            Type::Rest => quote!(r.rest(#name)),
            Type::ZeroPadding(n) => {
                let n = Literal::usize_unsuffixed(*n);
                quote!(r.zero_padding::<#n>(#name))
            }
            Type::Struct(s) => {
                let s = format_ident!("{s}");
                quote!(r.nested(#name, #s::decode))
            }
            Type::Table(t) => {
                let table = self.schema.table(t).expect("resolved table");
                let t = format_ident!("{t}");
                match table.repr {
                    Repr::U8 => quote!(r.u8(#name).map(#t::from_wire)),
                    Repr::U32 => quote!(r.u32(#name).map(#t::from_wire)),
                    Repr::String => quote!(r.string(#name).map(#t::from_wire)),
                }
            }
            Type::Array(inner) => {
                let min = Literal::usize_unsuffixed(self.schema.min_size(inner));
                let element = match &**inner {
                    Type::Struct(s) => {
                        let s = format_ident!("{s}");
                        quote!(#s::decode)
                    }
                    other => {
                        let e = self.decode_expr(other, "");
                        quote!(|r| #e)
                    }
                };
                quote!(r.array(#name, #min, #element))
            }
            Type::Parallel(s) => self.decode_parallel(s, name),
        }
    }

    /// One array per structure field, zipped back into structures by the
    /// structure's generated `decode_columns`.
    fn decode_parallel(&self, structure: &str, name: &str) -> TokenStream {
        let s = format_ident!("{structure}");
        quote!(r.nested(#name, #s::decode_columns))
    }

    /// The body of a structure's `decode_columns`: one array per field, then
    /// zipped back into structures.
    pub fn decode_columns_body(&self, structure: &str) -> TokenStream {
        let s = self
            .schema
            .structure(structure)
            .expect("resolved structure");
        let s_ident = format_ident!("{structure}");
        let columns: Vec<Ident> = s.fields.iter().map(|f| ident(&f.name)).collect();
        let reads = s.fields.iter().map(|f| {
            let column = ident(&f.name);
            let array = self.decode_expr(&Type::Array(Box::new(f.ty.clone())), &f.name);
            quote!(let #column = #array?;)
        });
        let lengths = columns.iter().map(|c| quote!(#c.len()));
        let mut zipped = {
            let first = &columns[0];
            quote!(#first.into_iter())
        };
        let mut pattern = {
            let first = &columns[0];
            quote!(#first)
        };
        for c in &columns[1..] {
            zipped = quote!(#zipped.zip(#c));
            pattern = quote!((#pattern, #c));
        }
        quote! {
            #(#reads)*
            r.check_parallel(&[#(#lengths),*])?;
            Ok(#zipped.map(|#pattern| #s_ident { #(#columns),* }).collect())
        }
    }

    /// The body of a structure's `encode_columns`: one array per field.
    pub fn encode_columns_body(&self, structure: &str) -> TokenStream {
        let s = self
            .schema
            .structure(structure)
            .expect("resolved structure");
        let columns = s.fields.iter().map(|f| {
            let column = ident(&f.name);
            let name = &f.name;
            let element = self.encode_stmt(&f.ty, "", &Val::Place(quote!(x.#column)));
            quote!(put_array(w, #name, items, |w, x| { #element Ok(()) })?;)
        });
        quote!(#(#columns)* Ok(()))
    }

    /// `let` statements reading `fields` in order; returns them and the names
    /// of the fields stored in the Rust type.
    fn decode_fields(&self, fields: &[Field]) -> (Vec<TokenStream>, Vec<Ident>) {
        let mut stmts = Vec::new();
        let mut stored = Vec::new();
        for f in fields {
            let name = ident(&f.name);
            let read = self.decode_expr(&f.ty, &f.name);
            stmts.push(match &f.presence {
                Presence::Always => quote!(let #name = #read?;),
                Presence::Optional => quote! {
                    let #name = if r.has_remaining() { Some(#read?) } else { None };
                },
                Presence::Conditional { flag, when } => {
                    let flag = ident(flag);
                    let test = if *when { quote!(#flag) } else { quote!(!#flag) };
                    quote!(let #name = if #test { Some(#read?) } else { None };)
                }
            });
            if !f.is_flag {
                stored.push(name);
            }
        }
        (stmts, stored)
    }

    fn decode_case(&self, enum_name: &Ident, case: &Case) -> TokenStream {
        let (stmts, stored) = self.decode_fields(&case.fields);
        variant_block(enum_name, case, stmts, stored)
    }

    /// The body of `decode`/`decode_body` for a layout.
    ///
    /// `switch_enum` names the enum of the layout's switch, if it has one.
    pub fn decode_body(&self, layout: &Layout, switch_enum: Option<&Ident>) -> TokenStream {
        let (stmts, stored) = self.decode_fields(&layout.fields);
        let branch = layout.switch.as_ref().map(|switch| {
            let enum_name = switch_enum.expect("switch enum name");
            let flag = ident(&switch.flag);
            let when_true = self.decode_case(enum_name, &switch.when_true);
            let when_false = self.decode_case(enum_name, &switch.when_false);
            (switch, quote!(if #flag #when_true else #when_false))
        });
        finish_layout(stmts, stored, branch)
    }

    // ---------------------------------------------------------------- encode

    /// A statement writing `val` of type `ty` to `w`, inside a function that
    /// returns `Result<(), EncodeError>`; `name` is the field, for errors.
    pub fn encode_stmt(&self, ty: &Type, name: &str, val: &Val) -> TokenStream {
        let copied = val.copied();
        let borrowed = val.borrowed();
        let recv = val.receiver();
        match ty {
            Type::U8 => quote!(w.put_u8(#copied);),
            Type::U16 => quote!(w.put_u16_le(#copied);),
            Type::U32 => quote!(w.put_u32_le(#copied);),
            Type::U64 | Type::FileSize => quote!(w.put_u64_le(#copied);),
            Type::I32 => quote!(w.put_i32_le(#copied);),
            Type::Bool => quote!(put_bool(w, #copied);),
            Type::String => quote!(put_string(w, #name, #borrowed)?;),
            Type::Bytes => quote!(put_bytes(w, #name, #borrowed)?;),
            Type::Ip => quote!(put_ip(w, #copied);),
            Type::U32OrU64 => quote!(#recv.encode(w);),
            Type::Raw(_) | Type::Rest => quote!(w.put_slice(#borrowed);),
            Type::ZeroPadding(n) => {
                let n = Literal::usize_unsuffixed(*n);
                quote!(if #copied { w.put_bytes(0, #n); })
            }
            Type::Struct(_) => quote!(#recv.encode(w)?;),
            Type::Table(t) => match self.schema.table(t).expect("resolved table").repr {
                Repr::U8 => quote!(w.put_u8(#recv.to_wire());),
                Repr::U32 => quote!(w.put_u32_le(#recv.to_wire());),
                Repr::String => quote!(put_string(w, #name, #recv.to_wire())?;),
            },
            Type::Array(inner) => {
                let x = format_ident!("x");
                let element = self.encode_stmt(inner, "", &Val::Ref(x));
                quote!(put_array(w, #name, #borrowed, |w, x| { #element Ok(()) })?;)
            }
            Type::Parallel(s) => {
                let s = format_ident!("{s}");
                quote!(#s::encode_columns(#borrowed, w)?;)
            }
        }
    }

    /// Statements writing `fields`; `flag_values` gives the expression for each
    /// derived flag.
    fn encode_fields(
        &self,
        fields: &[Field],
        how: Access,
        switch_flag: Option<(&str, TokenStream)>,
    ) -> Vec<TokenStream> {
        let mut stmts = Vec::new();
        for f in fields {
            let name = ident(&f.name);
            if f.is_flag {
                let value = match &switch_flag {
                    Some((flag, value)) if *flag == f.name => value.clone(),
                    _ => {
                        let controlled = fields
                            .iter()
                            .find(|g| matches!(&g.presence, Presence::Conditional { flag, .. } if *flag == f.name))
                            .expect("a flag controls a field or a switch");
                        let Presence::Conditional { when, .. } = controlled.presence else {
                            unreachable!()
                        };
                        let recv = access(how, &ident(&controlled.name)).receiver();
                        if when {
                            quote!(#recv.is_some())
                        } else {
                            quote!(#recv.is_none())
                        }
                    }
                };
                stmts.push(quote!(put_bool(w, #value);));
                continue;
            }
            let val = access(how, &name);
            match &f.presence {
                Presence::Always => stmts.push(self.encode_stmt(&f.ty, &f.name, &val)),
                Presence::Optional => {
                    let write = self.encode_stmt(&f.ty, &f.name, &Val::Ref(name.clone()));
                    let borrowed = val.borrowed();
                    stmts.push(quote! {
                        let Some(#name) = #borrowed else { return Ok(()); };
                        #write
                    });
                }
                Presence::Conditional { .. } => {
                    let write = self.encode_stmt(&f.ty, &f.name, &Val::Ref(name.clone()));
                    let borrowed = val.borrowed();
                    stmts.push(quote!(if let Some(#name) = #borrowed { #write }));
                }
            }
        }
        stmts
    }

    /// The body of `encode`/`encode_body` for a layout.
    pub fn encode_body(&self, layout: &Layout, switch_enum: Option<&Ident>) -> TokenStream {
        let Some(switch) = &layout.switch else {
            let stmts = self.encode_fields(&layout.fields, Access::SelfField, None);
            return quote!(#(#stmts)* Ok(()));
        };
        let enum_name = switch_enum.expect("switch enum name");
        let (scrutinee, place) = match &switch.name {
            None => (quote!(self), quote!(self)),
            Some(name) => {
                let name = ident(name);
                (quote!(&self.#name), quote!(self.#name))
            }
        };
        let true_variant = format_ident!("{}", switch.when_true.variant);
        let flag_value = quote!(matches!(#place, #enum_name::#true_variant { .. }));
        let mut stmts = self.encode_fields(
            &layout.fields,
            Access::SelfField,
            Some((&switch.flag, flag_value)),
        );
        let arms = [&switch.when_true, &switch.when_false].map(|case| {
            let variant = format_ident!("{}", case.variant);
            let stored: Vec<Ident> = case
                .fields
                .iter()
                .filter(|f| !f.is_flag)
                .map(|f| ident(&f.name))
                .collect();
            let body = self.encode_fields(&case.fields, Access::Binding, None);
            if stored.is_empty() {
                quote!(#enum_name::#variant => {})
            } else {
                quote!(#enum_name::#variant { #(#stored),* } => { #(#body)* })
            }
        });
        stmts.push(quote!(match #scrutinee { #(#arms)* }));
        quote!(#(#stmts)* Ok(()))
    }

    // ------------------------------------------------------------- arbitrary

    /// An expression of type `arbitrary::Result<T>` for one `ty`, producing
    /// only values that survive an encode/decode round trip.
    fn arbitrary_expr(&self, ty: &Type) -> TokenStream {
        match ty {
            Type::FileSize => quote!(arbitrary_file_size(u)),
            Type::Array(inner) => {
                let element = self.arbitrary_expr(inner);
                quote!(arbitrary_vec(u, |u| #element))
            }
            _ => quote!(u.arbitrary()),
        }
    }

    fn arbitrary_fields(&self, fields: &[Field]) -> (Vec<TokenStream>, Vec<Ident>) {
        let optional = fields
            .iter()
            .filter(|f| f.presence == Presence::Optional)
            .count();
        let mut stmts = Vec::new();
        if optional > 0 {
            let optional = Literal::usize_unsuffixed(optional);
            stmts.push(quote!(let present: usize = u.int_in_range(0..=#optional)?;));
        }
        let mut stored = Vec::new();
        let mut nth_optional = 0usize;
        for f in fields.iter().filter(|f| !f.is_flag) {
            let name = ident(&f.name);
            let value = self.arbitrary_expr(&f.ty);
            stmts.push(match &f.presence {
                Presence::Always => quote!(let #name = #value?;),
                Presence::Optional => {
                    nth_optional += 1;
                    let needed = Literal::usize_unsuffixed(nth_optional);
                    quote!(let #name = if present >= #needed { Some(#value?) } else { None };)
                }
                Presence::Conditional { .. } => {
                    quote!(let #name = if u.arbitrary()? { Some(#value?) } else { None };)
                }
            });
            stored.push(name);
        }
        (stmts, stored)
    }

    fn arbitrary_case(&self, enum_name: &Ident, case: &Case) -> TokenStream {
        let (stmts, stored) = self.arbitrary_fields(&case.fields);
        variant_block(enum_name, case, stmts, stored)
    }

    /// The body of `Arbitrary::arbitrary` for a layout.
    pub fn arbitrary_body(&self, layout: &Layout, switch_enum: Option<&Ident>) -> TokenStream {
        let (stmts, stored) = self.arbitrary_fields(&layout.fields);
        let branch = layout.switch.as_ref().map(|switch| {
            let enum_name = switch_enum.expect("switch enum name");
            let when_true = self.arbitrary_case(enum_name, &switch.when_true);
            let when_false = self.arbitrary_case(enum_name, &switch.when_false);
            (
                switch,
                quote!(if u.arbitrary()? #when_true else #when_false),
            )
        });
        finish_layout(stmts, stored, branch)
    }

    /// The enum name for a layout's switch.
    pub fn switch_enum_name(&self, owner: &Ident, layout: &Layout) -> Option<Ident> {
        let switch = layout.switch.as_ref()?;
        Some(match &switch.name {
            None => owner.clone(),
            Some(name) => format_ident!("{}{}", owner, pascal(name)),
        })
    }

    /// Whether every stored field of the layout is `Copy` (for derives).
    pub fn all_copy(&self, fields: &[Field]) -> bool {
        fields
            .iter()
            .filter(|f| !f.is_flag)
            .all(|f| f.presence == Presence::Always && is_copy(self.schema, &f.ty))
    }
}

/// A block that runs `stmts` and builds one variant of a switch's enum.
fn variant_block(
    enum_name: &Ident,
    case: &Case,
    stmts: Vec<TokenStream>,
    stored: Vec<Ident>,
) -> TokenStream {
    let variant = format_ident!("{}", case.variant);
    if stored.is_empty() {
        quote!({ #(#stmts)* #enum_name::#variant })
    } else {
        quote!({ #(#stmts)* #enum_name::#variant { #(#stored),* } })
    }
}

/// Ends a decode-like body: the statements, then `Ok` of the value built from
/// the stored fields and, if there is one, the switch's branch expression
/// (the whole value for a pure switch, else one more stored field).
fn finish_layout(
    mut stmts: Vec<TokenStream>,
    mut stored: Vec<Ident>,
    branch: Option<(&Switch, TokenStream)>,
) -> TokenStream {
    match branch {
        Some((Switch { name: None, .. }, branch)) => return quote!(#(#stmts)* Ok(#branch)),
        Some((
            Switch {
                name: Some(name), ..
            },
            branch,
        )) => {
            let name = ident(name);
            stmts.push(quote!(let #name = #branch;));
            stored.push(name);
        }
        None => {}
    }
    if stored.is_empty() {
        quote!(#(#stmts)* Ok(Self))
    } else {
        quote!(#(#stmts)* Ok(Self { #(#stored),* }))
    }
}
