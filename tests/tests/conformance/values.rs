//! The values the suite checks: for each message, seeded `arbitrary` values
//! plus targeted ones (zeros and absent optional fields, maximum integers,
//! non-ASCII text, large arrays). Every value is one our codec round-trips.

use std::collections::HashSet;

use arbitrary::Unstructured;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::{ArbitraryMessage, FramedMessage};

/// One of the five generated message enums.
pub trait KindEnum:
    ArbitraryMessage + Serialize + DeserializeOwned + PartialEq + Clone + std::fmt::Debug
{
    /// The kind's name, as the `slsk` tool spells it.
    const KIND_NAME: &'static str;
}

macro_rules! kind_enum {
    ($ty:ty, $name:literal) => {
        impl KindEnum for $ty {
            const KIND_NAME: &'static str = $name;
        }
    };
}

kind_enum!(slsk_proto::server::ServerRequest, "server-request");
kind_enum!(slsk_proto::server::ServerResponse, "server-response");
kind_enum!(slsk_proto::peer_init::PeerInitMessage, "peer-init");
kind_enum!(slsk_proto::peer::PeerMessage, "peer");
kind_enum!(slsk_proto::distributed::DistributedMessage, "distributed");

/// Random values per message, before the targeted ones.
const RANDOM_VALUES: usize = 64;
/// Random values that also go through each targeted rewrite.
const TRANSFORMED: usize = 6;
/// The length arrays are stretched to.
const LARGE: usize = 1000;
const NON_ASCII: &[&str] = &[
    "Ünïcödé ☃ naïve café",
    "日本語のファイル名.flac",
    "Привет, мир",
    "🎵🎶 emoji \u{1F600}",
    "C1 controls \u{80}\u{9f} and ÿ",
];

/// How a value was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flavor {
    /// From no bytes: zeros, empty strings and arrays, optional fields absent.
    Empty,
    /// From all-ones bytes: flags true, optional fields present.
    AllOnes,
    Random,
    MaxIntegers,
    NonAscii,
    LargeArrays,
}

impl Flavor {
    pub const ALL: [Flavor; 6] = [
        Flavor::Empty,
        Flavor::AllOnes,
        Flavor::Random,
        Flavor::MaxIntegers,
        Flavor::NonAscii,
        Flavor::LargeArrays,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Flavor::Empty => "zero/empty/absent",
            Flavor::AllOnes => "all-ones",
            Flavor::Random => "random",
            Flavor::MaxIntegers => "maximum integers",
            Flavor::NonAscii => "non-ASCII text",
            Flavor::LargeArrays => "1000-element arrays",
        }
    }
}

/// Every distinct value the suite checks for one message code.
pub fn values<K: KindEnum>(code: u32) -> Vec<(Flavor, K)> {
    let kind_seed = K::KIND_NAME
        .bytes()
        .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b));
    let mut rng = SplitMix(kind_seed << 32 | u64::from(code));
    let mut random = Vec::new();
    for i in 0..RANDOM_VALUES {
        let len = 8usize << (i % 8);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Ok(value) = K::arbitrary_with_code(code, &mut Unstructured::new(&data)) {
            random.push(value);
        }
    }
    let mut values = Vec::new();
    let empty = K::arbitrary_with_code(code, &mut Unstructured::new(&[]));
    values.extend(empty.ok().map(|v| (Flavor::Empty, v)));
    let ones = K::arbitrary_with_code(code, &mut Unstructured::new(&[0xff; 512]));
    values.extend(ones.ok().map(|v| (Flavor::AllOnes, v)));
    values.extend(random.iter().map(|v| (Flavor::Random, v.clone())));
    for (i, value) in random.iter().take(TRANSFORMED).enumerate() {
        values.extend(transform(value, max_integers).map(|v| (Flavor::MaxIntegers, v)));
        let non_ascii = transform(value, |v, ok| non_ascii_text(v, ok, i));
        values.extend(non_ascii.map(|v| (Flavor::NonAscii, v)));
        values.extend(transform(value, large_arrays).map(|v| (Flavor::LargeArrays, v)));
    }
    let mut values: Vec<(Flavor, K)> = values
        .into_iter()
        .map(|(flavor, v)| (flavor, embed_search_requests(v)))
        .collect();

    let mut seen = HashSet::new();
    values.retain(|(_, v)| seen.insert(v.to_frame().unwrap()));
    values
}

/// The value decoded from `json`, if it is one our codec round-trips.
fn valid<K: KindEnum>(json: &Value) -> Option<K> {
    let value: K = serde_json::from_value(json.clone()).ok()?;
    let frame = value.to_frame().unwrap();
    (K::decode_frame(&frame).ok()? == value).then_some(value)
}

/// Applies a JSON rewrite that checks each change with the given validity test.
fn transform<K: KindEnum>(
    value: &K,
    rewrite: impl Fn(&mut Value, &dyn Fn(&Value) -> bool),
) -> Option<K> {
    let mut json = serde_json::to_value(value).unwrap();
    rewrite(&mut json, &|j| valid::<K>(j).is_some());
    let changed = valid::<K>(&json)?;
    (changed != *value).then_some(changed)
}

/// Every leaf of one JSON type, as JSON pointers.
fn leaves(json: &Value, pick: &dyn Fn(&Value) -> bool, at: String, out: &mut Vec<String>) {
    match json {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| leaves(v, pick, format!("{at}/{k}"), out)),
        Value::Array(items) => {
            if pick(json) {
                out.push(at.clone());
            }
            items
                .iter()
                .enumerate()
                .for_each(|(i, v)| leaves(v, pick, format!("{at}/{i}"), out))
        }
        leaf if pick(leaf) => out.push(at),
        _ => {}
    }
}

/// Sets the leaf at `pointer` to the first candidate that keeps the value valid.
fn try_each(json: &mut Value, pointer: &str, candidates: &[Value], ok: &dyn Fn(&Value) -> bool) {
    for candidate in candidates {
        let old = std::mem::replace(json.pointer_mut(pointer).unwrap(), candidate.clone());
        if ok(json) {
            return;
        }
        *json.pointer_mut(pointer).unwrap() = old;
    }
}

/// Every integer as large as its type allows.
fn max_integers(json: &mut Value, ok: &dyn Fn(&Value) -> bool) {
    let mut numbers = Vec::new();
    leaves(json, &Value::is_number, String::new(), &mut numbers);
    let candidates: Vec<Value> = [u64::MAX, u64::from(u32::MAX), 65535, 255, i32::MAX as u64]
        .into_iter()
        .map(Value::from)
        .collect();
    for pointer in numbers {
        try_each(json, &pointer, &candidates, ok);
    }
}

/// Every string (that may hold any text) replaced by non-ASCII text.
fn non_ascii_text(json: &mut Value, ok: &dyn Fn(&Value) -> bool, seed: usize) {
    let mut strings = Vec::new();
    leaves(json, &Value::is_string, String::new(), &mut strings);
    for (i, pointer) in strings.into_iter().enumerate() {
        let text = NON_ASCII[(seed + i) % NON_ASCII.len()];
        try_each(json, &pointer, &[Value::from(text)], ok);
    }
}

/// Every outermost non-empty array stretched to `LARGE` elements.
fn large_arrays(json: &mut Value, ok: &dyn Fn(&Value) -> bool) {
    let mut arrays = Vec::new();
    let non_empty = |v: &Value| v.as_array().is_some_and(|a| !a.is_empty());
    leaves(json, &non_empty, String::new(), &mut arrays);
    let mut done: Vec<String> = Vec::new();
    for pointer in arrays {
        if done
            .iter()
            .any(|outer| pointer.starts_with(&format!("{outer}/")))
        {
            continue;
        }
        let items = json.pointer(&pointer).unwrap().as_array().unwrap().clone();
        let stretched = Value::Array(items.iter().cycle().take(LARGE).cloned().collect());
        try_each(json, &pointer, &[stretched], ok);
        done.push(pointer);
    }
}

/// Half of the server search requests (server and distributed code 93) get
/// a real embedded DistributedSearchRequest: random payloads cannot carry one,
/// and that is the only shape aioslsk reads.
fn embed_search_requests<K: KindEnum>(value: K) -> K {
    let mut json = serde_json::to_value(&value).unwrap();
    let Some(inner) = json.as_object_mut().and_then(|o| o.values_mut().next()) else {
        return value;
    };
    let Some(fields) = inner.as_object_mut() else {
        return value;
    };
    let Some(payload) = fields.get("payload").and_then(Value::as_array) else {
        return value;
    };
    if payload.len() & 1 == 1 {
        return value;
    }
    let seed: Vec<u8> = payload
        .iter()
        .filter_map(Value::as_u64)
        .map(|b| b as u8)
        .collect();
    let Ok(search) = DistributedMessage::arbitrary_with_code(3, &mut Unstructured::new(&seed))
    else {
        return value;
    };
    let frame = search.to_frame().unwrap();
    fields.insert("distributed_code".into(), Value::from(3));
    fields.insert("payload".into(), Value::from(frame[5..].to_vec()));
    if fields.contains_key("padded") {
        fields.insert("padded".into(), Value::from(true));
    }
    valid(&json).unwrap_or(value)
}

/// Our JSON for a message, without the variant wrapper, plus (for server
/// search requests) the embedded distributed message as `embedded`.
pub fn inner_json<K: KindEnum>(value: &K) -> Value {
    let json = serde_json::to_value(value).unwrap();
    let mut inner = match json {
        Value::Object(map) => map
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    if let Some(fields) = inner.as_object_mut() {
        let code = fields.get("distributed_code").and_then(Value::as_u64);
        let payload = fields
            .get("payload")
            .and_then(Value::as_array)
            .map(|bytes| {
                bytes
                    .iter()
                    .filter_map(Value::as_u64)
                    .map(|b| b as u8)
                    .collect::<Vec<u8>>()
            });
        if let (Some(code), Some(payload)) = (code, payload) {
            let embedded = DistributedMessage::decode_payload(
                code as u32,
                &payload,
                &slsk_proto::Limits::DEFAULT,
            )
            .ok()
            .and_then(|m| serde_json::to_value(m).ok())
            .unwrap_or(Value::Null);
            fields.insert("embedded".into(), embedded);
        }
    }
    inner
}

/// A small seeded generator (SplitMix64): the suite must be reproducible.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
