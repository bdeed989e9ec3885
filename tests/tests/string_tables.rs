//! String-valued tables in serde formats: whatever string travels on the wire
//! survives decode -> JSON -> encode unchanged, including a raw value that
//! spells a listed value's *name* (wire "Peer", where Peer travels as "P").

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::Path;

use codegen::model::Repr;
use proptest::prelude::*;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use slsk_proto::FramedMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::tables::{
    ConnectionType, LoginRejectionReason, MessageStatus, TransferRejectionReason,
};

/// What the test needs of a generated string table.
trait StringTable: Serialize + DeserializeOwned + PartialEq + Debug + Clone {
    const NAME: &'static str;
    fn known() -> Vec<Self>;
    fn from_wire(raw: String) -> Self;
    fn to_wire(&self) -> String;
    fn name(&self) -> Option<&'static str>;
}

macro_rules! string_tables {
    ($($table:ident),* $(,)?) => {
        $(impl StringTable for $table {
            const NAME: &'static str = stringify!($table);
            fn known() -> Vec<Self> {
                $table::KNOWN.to_vec()
            }
            fn from_wire(raw: String) -> Self {
                $table::from_wire(raw)
            }
            fn to_wire(&self) -> String {
                $table::to_wire(self).to_string()
            }
            fn name(&self) -> Option<&'static str> {
                $table::name(self)
            }
        })*

        /// Runs `check` on every table above; returns their names.
        fn each_table(check: &mut dyn FnMut(&dyn Fn(String) -> Result<(), String>)) -> BTreeSet<&'static str> {
            $(check(&|raw| survives_json::<$table>(raw));)*
            BTreeSet::from([$(stringify!($table)),*])
        }

        #[test]
        fn listed_values_serialize_by_name() {
            $(listed_by_name::<$table>();)*
        }

        /// Every name and wire value of every table above.
        fn every_name_and_value() -> Vec<String> {
            let mut out = Vec::new();
            $(for v in $table::KNOWN {
                out.push(StringTable::name(&v).unwrap().to_string());
                out.push(StringTable::to_wire(&v));
            })*
            out
        }
    };
}

string_tables!(
    ConnectionType,
    LoginRejectionReason,
    TransferRejectionReason,
    MessageStatus,
);

/// A value read from `raw` keeps its raw value through JSON.
fn survives_json<T: StringTable>(raw: String) -> Result<(), String> {
    let value = T::from_wire(raw.clone());
    let json = serde_json::to_value(&value).map_err(|e| e.to_string())?;
    let back: T = serde_json::from_value(json.clone()).map_err(|e| format!("{json}: {e}"))?;
    if back != value || back.to_wire() != raw {
        return Err(format!(
            "{}: wire {raw:?} -> {json} -> {back:?} (wire {:?})",
            T::NAME,
            back.to_wire()
        ));
    }
    Ok(())
}

/// Listed values are written by name and read back from it.
fn listed_by_name<T: StringTable>() {
    for value in T::known() {
        let name = value.name().unwrap();
        assert_eq!(serde_json::to_value(&value).unwrap(), json!(name));
        assert_eq!(serde_json::from_value::<T>(json!(name)).unwrap(), value);
    }
}

#[test]
fn every_string_table_is_covered() {
    let schema =
        codegen::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema")).unwrap();
    let in_schema: BTreeSet<&str> = schema
        .tables
        .iter()
        .filter(|t| t.repr == Repr::String)
        .map(|t| t.name.as_str())
        .collect();
    let covered = each_table(&mut |_| {});
    assert_eq!(covered, in_schema);
}

#[test]
fn raw_values_equal_to_names_survive_json() {
    let raws = every_name_and_value();
    let mut checked = 0;
    each_table(&mut |check| {
        for raw in &raws {
            // Names in other cases too: "peer", "PEER".
            for raw in [raw.clone(), raw.to_lowercase(), raw.to_uppercase()] {
                check(raw).unwrap();
                checked += 1;
            }
        }
        check(String::new()).unwrap();
        check("Unknown".into()).unwrap();
    });
    assert!(checked > 4 * 3 * 10, "{checked}");
}

proptest! {
    #[test]
    fn any_raw_string_survives_json(raw in ".{0,24}") {
        each_table(&mut |check| check(raw.clone()).unwrap());
    }
}

#[test]
fn listed_values_keep_their_names_and_inputs_stay_accepted() {
    assert_eq!(
        serde_json::to_value(ConnectionType::Peer).unwrap(),
        json!("Peer")
    );
    assert_eq!(
        serde_json::to_value(ConnectionType::from_wire("Peer".into())).unwrap(),
        json!({"Unknown": "Peer"})
    );
    let read = |v: Value| serde_json::from_value::<ConnectionType>(v).unwrap();
    assert_eq!(read(json!("Peer")), ConnectionType::Peer);
    assert_eq!(read(json!("P")), ConnectionType::Peer);
    assert_eq!(read(json!("X")), ConnectionType::Unknown("X".into()));
    assert_eq!(
        read(json!({"Unknown": "Peer"})),
        ConnectionType::Unknown("Peer".into())
    );
    assert_eq!(read(json!({"Unknown": "P"})), ConnectionType::Peer);
    assert!(serde_json::from_value::<ConnectionType>(json!({"Unknown": "P", "x": 1})).is_err());
    assert!(serde_json::from_value::<ConnectionType>(json!(3)).is_err());
}

#[test]
fn a_peer_init_whose_type_spells_a_name_survives_json() {
    // PeerInit (code 1): username "u", connection type "Peer" (not "P"), ticket 5.
    let mut frame = vec![0, 0, 0, 0, 1, 1, 0, 0, 0, b'u', 4, 0, 0, 0];
    frame.extend_from_slice(b"Peer");
    frame.extend_from_slice(&5u32.to_le_bytes());
    let len = (frame.len() - 4) as u32;
    frame[..4].copy_from_slice(&len.to_le_bytes());

    let message = PeerInitMessage::decode_frame(&frame).unwrap();
    let json = serde_json::to_string(&message).unwrap();
    assert!(
        json.contains(r#""connection_type":{"Unknown":"Peer"}"#),
        "{json}"
    );
    let back: PeerInitMessage = serde_json::from_str(&json).unwrap();
    assert_eq!(back.to_frame().unwrap(), frame);
}
