//! Byte-for-byte conformance with aioslsk 1.7.1, an independent implementation.
//!
//! For every message direction aioslsk defines, many generated values are
//! checked both ways: our frame must read in aioslsk as the same values, and
//! aioslsk's frame for those values must read in ours as the same value and
//! re-encode to the same bytes (compressed payloads compared inflated). The
//! correspondence of fields and the known divergences live in
//! `tests/conformance/mapping.py`; aioslsk runs in a virtual environment the
//! suite creates under `target/` (see `support/venv.rs`).
//!
//! The suite also writes the table of `docs/conformance.rst`, and fails when
//! the committed page differs. Regenerate it with
//! `SLSK_BLESS=1 cargo test -p slsk-tests --test conformance`.

mod helper;
mod report;
mod values;
// Shared with the live-peer tests; this binary uses only the conformance venv.
#[path = "../support/venv.rs"]
#[allow(dead_code)]
mod venv;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use slsk_proto::compress::inflate;
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};
use slsk_proto::{FramedMessage, Limits};

use helper::Helper;
use report::{Declared, Report, Tally};
use values::{KindEnum, inner_json};

const PINNED_VERSION: &str = "v1.7.1";

#[test]
fn aioslsk_conformance() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = venv::Venv::conformance(&root.join("conformance/requirements.txt")).python();
    let mut helper = Helper::start(&python, &root.join("conformance/helper.py"));

    let hello = helper.ask(&json!({ "op": "hello", "tables": tables(root) }));
    assert_eq!(
        hello["aioslsk"], PINNED_VERSION,
        "the venv holds another aioslsk"
    );
    let declared = Declared::from_hello(&hello);
    let mut report = Report::new(&hello);
    let mut failures = Vec::new();

    check_probes(&hello, &mut report, &mut failures);
    check_kind::<ServerRequest>(&mut helper, &declared, &mut report, &mut failures);
    check_kind::<ServerResponse>(&mut helper, &declared, &mut report, &mut failures);
    check_kind::<PeerInitMessage>(&mut helper, &declared, &mut report, &mut failures);
    check_kind::<PeerMessage>(&mut helper, &declared, &mut report, &mut failures);
    check_kind::<DistributedMessage>(&mut helper, &declared, &mut report, &mut failures);
    failures.extend(report.uncovered());
    failures.extend(declared.unobserved(&report));

    // Straight to the process's stderr, past the test harness's capture, so
    // every run (CI included) shows the counts.
    let _ = writeln!(std::io::stderr(), "{}", report.summary());
    if !failures.is_empty() {
        let shown: Vec<&String> = failures.iter().take(30).collect();
        panic!(
            "{} conformance failure(s) with aioslsk {PINNED_VERSION}:\n  {}",
            failures.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }
    report::check_docs(&root.join("../docs/conformance.rst"), &report.rst());
}

/// The schema's tables as {table: {variant: wire value}}, for the mapping.
fn tables(root: &Path) -> Value {
    let schema = codegen::load_dir(&root.join("../schema")).unwrap();
    let mut out = serde_json::Map::new();
    for table in &schema.tables {
        let values: serde_json::Map<String, Value> = table
            .values
            .iter()
            .map(|v| {
                let wire = match &v.value {
                    codegen::model::TableScalar::Number(n) => Value::from(*n),
                    codegen::model::TableScalar::Text(s) => Value::from(s.as_str()),
                };
                (v.name.clone(), wire)
            })
            .collect();
        out.insert(table.name.clone(), Value::Object(values));
    }
    Value::Object(out)
}

/// Hand-made frames for divergences generated values cannot reach.
fn check_probes(hello: &Value, report: &mut Report, failures: &mut Vec<String>) {
    for probe in hello["probes"].as_array().unwrap() {
        let frame = unhex(probe["frame"].as_str().unwrap());
        let ours = ServerResponse::decode_frame(&frame)
            .map(|m| serde_json::to_value(m).unwrap())
            .map_err(|e| e.to_string());
        if ours.as_ref() != Ok(&probe["ours"]) {
            failures.push(format!(
                "probe {}: we read {ours:?}, declared {}",
                probe["frame"], probe["ours"]
            ));
        }
        if probe["aioslsk_as_declared"] != true {
            failures.push(format!(
                "probe {}: aioslsk read {} ({}), not as declared",
                probe["frame"], probe["aioslsk_read"], probe["aioslsk_error"]
            ));
        }
        report.probes.push(probe.clone());
    }
}

fn check_kind<K: KindEnum>(
    helper: &mut Helper,
    declared: &Declared,
    report: &mut Report,
    failures: &mut Vec<String>,
) {
    for info in K::MESSAGES {
        if !report.aioslsk_defines(K::KIND_NAME, info.code) {
            continue;
        }
        let mut tally = Tally::default();
        for (flavor, value) in values::values::<K>(info.code) {
            tally.flavor(flavor);
            check_value(
                helper,
                declared,
                &value,
                info.compressed,
                &mut tally,
                failures,
            );
        }
        report.record(K::KIND_NAME, info.code, tally);
    }
}

/// Both directions for one value.
fn check_value<K: KindEnum>(
    helper: &mut Helper,
    declared: &Declared,
    value: &K,
    compressed: bool,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let frame = value.to_frame().unwrap();
    let reply = helper.ask(&json!({
        "op": "check",
        "kind": K::KIND_NAME,
        "code": value.code(),
        "ours": inner_json(value),
        "frame": hex(&frame),
    }));
    let ours_to_aioslsk = reply["ours_to_aioslsk"].as_str().map(str::to_owned);
    let aioslsk_to_ours = match reply["aioslsk_frame"].as_str() {
        None => Some(format!(
            "aioslsk cannot write it: {}",
            reply["aioslsk_encode_error"]
        )),
        Some(theirs) => read_theirs(value, &unhex(theirs), compressed),
    };
    let divergences: Vec<String> = reply["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();

    tally.values += 1;
    let label = || shorten(format!("{} {}: {value:?}", K::KIND_NAME, value.code()));
    for (direction, problem) in [
        (report::OURS_TO_AIOSLSK, &ours_to_aioslsk),
        (report::AIOSLSK_TO_OURS, &aioslsk_to_ours),
    ] {
        let excused: Vec<&String> = divergences
            .iter()
            .filter(|d| declared.breaks(d, direction))
            .collect();
        match (problem, excused.is_empty()) {
            (None, true) => tally.agreed(direction),
            (Some(problem), true) => failures.push(format!(
                "{direction}: {} -- {}",
                shorten(problem.clone()),
                label()
            )),
            (Some(_), false) => excused.iter().for_each(|d| tally.diverged(d, direction)),
            (None, false) => failures.push(format!(
                "{direction}: declared divergence {excused:?} did not happen -- {}",
                label()
            )),
        }
    }
}

/// aioslsk's frame, read by us: the same value, and the same bytes when we
/// write it again (compressed payloads compared inflated).
fn read_theirs<K: KindEnum>(value: &K, theirs: &[u8], compressed: bool) -> Option<String> {
    let decoded = match K::decode_frame(theirs) {
        Ok(decoded) => decoded,
        Err(e) => {
            return Some(format!(
                "we cannot read aioslsk's frame {}: {e}",
                hex(theirs)
            ));
        }
    };
    if decoded != *value {
        return Some(format!("aioslsk's frame reads as {decoded:?}"));
    }
    let ours = decoded.to_frame().unwrap();
    let same = if compressed {
        let header = K::CODE_WIDTH.header_len();
        let body = |frame: &[u8]| inflate(&frame[header..], &Limits::DEFAULT).ok();
        ours[4..header] == theirs[4..header] && body(&ours).is_some() && body(&ours) == body(theirs)
    } else {
        ours == theirs
    };
    (!same).then(|| format!("aioslsk wrote {}, we write {}", hex(theirs), hex(&ours)))
}

/// Keeps failure messages readable when a value holds 1000-element arrays.
fn shorten(mut text: String) -> String {
    const MAX: usize = 400;
    if text.len() > MAX {
        let cut = (0..=MAX).rev().find(|&i| text.is_char_boundary(i)).unwrap();
        text.truncate(cut);
        text.push_str(" ...");
    }
    text
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Message codes of every kind and direction, ours and aioslsk's, by kind.
pub fn our_messages() -> BTreeMap<&'static str, Vec<(u32, &'static str)>> {
    fn of<K: KindEnum>() -> (&'static str, Vec<(u32, &'static str)>) {
        (
            K::KIND_NAME,
            K::MESSAGES.iter().map(|m| (m.code, m.name)).collect(),
        )
    }
    BTreeMap::from([
        of::<ServerRequest>(),
        of::<ServerResponse>(),
        of::<PeerInitMessage>(),
        of::<PeerMessage>(),
        of::<DistributedMessage>(),
    ])
}
