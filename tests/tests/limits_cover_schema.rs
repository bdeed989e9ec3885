//! The default limits accept everything the schema can describe.

use std::path::Path;

use codegen::model::{Field, Kind, Schema, Type};
use slsk_proto::Limits;

/// How many arrays a value of `ty` can nest, counting its own.
fn array_depth(schema: &Schema, ty: &Type) -> usize {
    match ty {
        Type::Array(inner) => 1 + array_depth(schema, inner),
        // One array per field, each holding a plain field of the structure.
        Type::Parallel(name) => 1 + fields_depth(schema, &schema.structure(name).unwrap().fields),
        Type::Struct(name) => fields_depth(schema, &schema.structure(name).unwrap().fields),
        _ => 0,
    }
}

fn fields_depth(schema: &Schema, fields: &[Field]) -> usize {
    fields
        .iter()
        .map(|f| array_depth(schema, &f.ty))
        .max()
        .unwrap_or(0)
}

#[test]
fn default_array_depth_covers_the_schema() {
    let schema =
        codegen::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")).unwrap();
    let mut deepest = (0, String::new());
    for kind in Kind::ALL {
        for message in schema.messages(kind) {
            for (_, layout) in &message.layouts {
                let mut fields: Vec<&Field> = layout.fields.iter().collect();
                if let Some(switch) = &layout.switch {
                    fields.extend(&switch.when_true.fields);
                    fields.extend(&switch.when_false.fields);
                }
                for f in fields {
                    let depth = array_depth(&schema, &f.ty);
                    if depth > deepest.0 {
                        deepest = (depth, format!("{}.{}", message.name, f.name));
                    }
                }
            }
        }
    }
    // PeerSharesReply.directories: DirectoryData[] -> FileData[] -> Attribute[].
    assert_eq!(deepest.0, 3, "{}", deepest.1);
    assert!(deepest.0 <= Limits::DEFAULT.max_array_depth);
}
