//! What the suite counted, the checks on coverage, and the generated
//! `docs/conformance.rst`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::values::Flavor;

pub const OURS_TO_AIOSLSK: &str = "ours-to-aioslsk";
pub const AIOSLSK_TO_OURS: &str = "aioslsk-to-ours";
const DIRECTIONS: [&str; 2] = [OURS_TO_AIOSLSK, AIOSLSK_TO_OURS];

/// The divergences `mapping.py` declares: id -> which check they break.
pub struct Declared {
    breaks: BTreeMap<String, String>,
    messages: BTreeMap<String, Vec<(String, u32)>>,
    reasons: BTreeMap<String, String>,
}

impl Declared {
    pub fn from_hello(hello: &Value) -> Declared {
        let mut declared = Declared {
            breaks: BTreeMap::new(),
            messages: BTreeMap::new(),
            reasons: BTreeMap::new(),
        };
        for d in hello["divergences"].as_array().unwrap() {
            let id = d["id"].as_str().unwrap().to_owned();
            let messages = d["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m[0].as_str().unwrap().to_owned(),
                        m[1].as_u64().unwrap() as u32,
                    )
                })
                .collect();
            declared
                .breaks
                .insert(id.clone(), d["breaks"].as_str().unwrap().to_owned());
            declared.messages.insert(id.clone(), messages);
            declared
                .reasons
                .insert(id, d["reason"].as_str().unwrap().to_owned());
        }
        declared
    }

    /// Whether the divergence is declared to break this direction's check.
    pub fn breaks(&self, id: &str, direction: &str) -> bool {
        self.breaks
            .get(id)
            .is_some_and(|b| b == direction || b == "both")
    }

    /// A declared divergence that no value or probe showed is stale.
    pub fn unobserved(&self, report: &Report) -> Vec<String> {
        self.breaks
            .keys()
            .filter(|id| {
                let by_values = report
                    .tallies
                    .values()
                    .any(|t| t.diverged.contains_key(*id));
                let by_probes = report.probes.iter().any(|p| p["divergence"] == id.as_str());
                !by_values && !by_probes
            })
            .map(|id| format!("declared divergence {id:?} was never observed"))
            .collect()
    }
}

/// Counts for one message direction.
#[derive(Default)]
pub struct Tally {
    pub values: usize,
    /// Values per way of making them.
    flavors: BTreeMap<Flavor, usize>,
    /// Values on which the check agreed, per direction.
    agreed: [usize; 2],
    /// Values excused by a divergence: id -> per direction.
    diverged: BTreeMap<String, [usize; 2]>,
}

impl Tally {
    pub fn flavor(&mut self, flavor: Flavor) {
        *self.flavors.entry(flavor).or_default() += 1;
    }

    pub fn agreed(&mut self, direction: &str) {
        self.agreed[index(direction)] += 1;
    }

    pub fn diverged(&mut self, id: &str, direction: &str) {
        self.diverged.entry(id.to_owned()).or_default()[index(direction)] += 1;
    }
}

fn index(direction: &str) -> usize {
    DIRECTIONS.iter().position(|d| *d == direction).unwrap()
}

/// aioslsk's messages, with what the suite found for each.
pub struct Report {
    version: String,
    /// (kind, code) -> (aioslsk class, our message name per the mapping).
    aioslsk: BTreeMap<(String, u32), (String, Option<String>)>,
    tallies: BTreeMap<(String, u32), Tally>,
    divergences: Vec<Value>,
    pub probes: Vec<Value>,
}

impl Report {
    pub fn new(hello: &Value) -> Report {
        let aioslsk = hello["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let key = (
                    m["kind"].as_str().unwrap().to_owned(),
                    m["code"].as_u64().unwrap() as u32,
                );
                let ours = m["ours"].as_str().map(str::to_owned);
                (key, (m["class"].as_str().unwrap().to_owned(), ours))
            })
            .collect();
        Report {
            version: hello["aioslsk"].as_str().unwrap().to_owned(),
            aioslsk,
            tallies: BTreeMap::new(),
            divergences: hello["divergences"].as_array().unwrap().clone(),
            probes: Vec::new(),
        }
    }

    pub fn aioslsk_defines(&self, kind: &str, code: u32) -> bool {
        self.aioslsk.contains_key(&(kind.to_owned(), code))
    }

    pub fn record(&mut self, kind: &str, code: u32, tally: Tally) {
        self.tallies.insert((kind.to_owned(), code), tally);
    }

    /// Every direction aioslsk defines must be ours too, mapped, and agree
    /// on at least one value each way.
    pub fn uncovered(&self) -> Vec<String> {
        let ours = crate::our_messages();
        let mut problems = Vec::new();
        for ((kind, code), (class, mapped)) in &self.aioslsk {
            let our_name = ours[kind.as_str()]
                .iter()
                .find(|(c, _)| c == code)
                .map(|(_, n)| *n);
            let Some(our_name) = our_name else {
                problems.push(format!(
                    "aioslsk defines {kind} {code} ({class}); the schema does not"
                ));
                continue;
            };
            if mapped.as_deref() != Some(our_name) {
                problems.push(format!(
                    "{kind} {code}: mapping.py maps {class} to {mapped:?}, the schema calls it {our_name}"
                ));
                continue;
            }
            let tally = &self.tallies[&(kind.clone(), *code)];
            for (i, direction) in DIRECTIONS.iter().enumerate() {
                if tally.agreed[i] == 0 {
                    problems.push(format!(
                        "{kind} {code} ({our_name}): no value agreed {direction}"
                    ));
                }
            }
        }
        problems
    }

    fn totals(&self) -> (usize, usize, usize) {
        let values = self.tallies.values().map(|t| t.values).sum();
        let agreed = self
            .tallies
            .values()
            .map(|t| t.agreed[0] + t.agreed[1])
            .sum();
        let diverged = self
            .tallies
            .values()
            .map(|t| t.values * 2 - t.agreed[0] - t.agreed[1])
            .sum();
        (values, agreed, diverged)
    }

    /// "N random, N maximum integers, ..." over all messages.
    fn flavor_counts(&self) -> String {
        Flavor::ALL
            .iter()
            .map(|f| {
                let n: usize = self.tallies.values().filter_map(|t| t.flavors.get(f)).sum();
                format!("{n} {}", f.describe())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn summary(&self) -> String {
        let mut out = String::new();
        writeln!(out, "aioslsk {} conformance:", self.version).unwrap();
        writeln!(
            out,
            "  {:<16} {:>5}  {:<42} {:>6} {:>8} {:>8}",
            "kind", "code", "aioslsk", "values", "->aio ok", "->ours ok"
        )
        .unwrap();
        for ((kind, code), tally) in &self.tallies {
            let class = &self.aioslsk[&(kind.clone(), *code)].0;
            writeln!(
                out,
                "  {kind:<16} {code:>5}  {class:<42} {:>6} {:>8} {:>8}{}",
                tally.values,
                tally.agreed[0],
                tally.agreed[1],
                divergence_note(tally)
            )
            .unwrap();
        }
        let (values, agreed, diverged) = self.totals();
        writeln!(
            out,
            "{} of {} message directions aioslsk defines checked; {values} values, {agreed} checks agreed, \
             {diverged} excused by declared divergences, {} probes",
            self.tallies.len(),
            self.aioslsk.len(),
            self.probes.len()
        )
        .unwrap();
        writeln!(
            out,
            "values by how they were made: {}",
            self.flavor_counts()
        )
        .unwrap();
        out
    }

    /// The page `docs/conformance.rst`.
    pub fn rst(&self) -> String {
        let mut out = String::new();
        let (values, agreed, diverged) = self.totals();
        let w = &mut out;
        line(w, ".. _conformance:");
        line(w, "");
        line(w, "Conformance with aioslsk");
        line(w, "========================");
        line(w, "");
        line(
            w,
            ".. This page is generated by the conformance suite (tests/tests/conformance);",
        );
        line(
            w,
            "   do not edit it. Regenerate: SLSK_BLESS=1 cargo test -p slsk-tests --test conformance",
        );
        line(w, "");
        let _ = writeln!(
            w,
            "Every CI run checks slsk-proto against `aioslsk <https://pypi.org/project/aioslsk/>`_ \
             {}, an independent Python implementation, on every message direction aioslsk \
             defines ({} of them): our frame must read in aioslsk as the same values, and \
             aioslsk's frame for those values must read in ours as the same value and re-encode \
             to the same bytes. Compressed payloads are compared after inflating. The values are \
             generated from the schema: random ones, and targeted ones with zero and maximum \
             integers, empty and large (1000-element) arrays, non-ASCII text, and optional fields \
             present and absent.",
            self.version.trim_start_matches('v'),
            self.aioslsk.len()
        );
        line(w, "");
        let _ = writeln!(
            w,
            "This run checked {values} distinct values ({}): {agreed} checks agreed, and \
             {diverged} met a known divergence below. The field correspondence and the divergences are kept \
             in ``tests/conformance/mapping.py``; a declared divergence that stops happening fails \
             the suite.",
            self.flavor_counts()
        );
        line(w, "");
        self.rst_divergences(w);
        self.rst_messages(w);
        out
    }

    fn rst_divergences(&self, w: &mut String) {
        line(w, ".. _conformance-divergences:");
        line(w, "");
        line(w, "Known divergences");
        line(w, "-----------------");
        line(w, "");
        for d in &self.divergences {
            let id = d["id"].as_str().unwrap();
            let _ = writeln!(w, "``{id}``");
            let _ = writeln!(w, "   {}", d["reason"].as_str().unwrap().replace('\n', " "));
            line(w, "");
            let breaks = match d["breaks"].as_str().unwrap() {
                OURS_TO_AIOSLSK => "aioslsk reading our frames",
                AIOSLSK_TO_OURS => "us reading aioslsk's frames",
                _ => "both directions",
            };
            let counted: usize = self
                .tallies
                .values()
                .filter_map(|t| t.diverged.get(id))
                .map(|n| n[0].max(n[1]))
                .sum();
            let probes = self.probes.iter().filter(|p| p["divergence"] == id).count();
            let mut seen = format!("Affects {breaks}; met by {counted} generated value(s)");
            if probes > 0 {
                seen += &format!(" and {probes} probe(s)");
            }
            let _ = writeln!(w, "   {seen}.");
            line(w, "");
        }
        if !self.probes.is_empty() {
            line(
                w,
                "Probes: server ``AdminMessage`` frames whose text is not UTF-8.",
            );
            line(w, "");
            line(w, ".. list-table::");
            line(w, "   :header-rows: 1");
            line(w, "");
            line(w, "   * - String bytes");
            line(w, "     - slsk-proto reads");
            line(w, "     - aioslsk reads");
            line(w, "     - Note");
            for p in &self.probes {
                let frame = p["frame"].as_str().unwrap();
                let ours = p["ours"]["AdminMessage"]["message"].as_str().unwrap();
                let theirs = match p["aioslsk_read"].as_str() {
                    Some(s) => codepoints(s),
                    None => format!("fails ({})", p["aioslsk_error"].as_str().unwrap_or("?")),
                };
                let _ = writeln!(w, "   * - ``{}``", &frame[24..]);
                let _ = writeln!(w, "     - {}", codepoints(ours));
                let _ = writeln!(w, "     - {theirs}");
                let _ = writeln!(w, "     - {}", p["note"].as_str().unwrap());
            }
            line(w, "");
        }
    }

    fn rst_messages(&self, w: &mut String) {
        line(w, ".. _conformance-messages:");
        line(w, "");
        line(w, "Every message code");
        line(w, "------------------");
        line(w, "");
        line(
            w,
            "Values: distinct values checked. Agreed: checks that agreed, aioslsk reading our",
        );
        line(
            w,
            "frame / us reading aioslsk's frame. A dash: the side does not define the message.",
        );
        line(w, "");
        let ours = crate::our_messages();
        for (kind, title) in [
            ("server-request", "Server, client to server"),
            ("server-response", "Server, server to client"),
            ("peer-init", "Peer init"),
            ("peer", "Peer"),
            ("distributed", "Distributed"),
        ] {
            let mut codes: BTreeMap<u32, (Option<&str>, Option<&str>)> = BTreeMap::new();
            for (code, name) in &ours[kind] {
                codes.entry(*code).or_default().0 = Some(name);
            }
            for ((k, code), (class, _)) in &self.aioslsk {
                if k == kind {
                    codes.entry(*code).or_default().1 = Some(class);
                }
            }
            let _ = writeln!(w, ".. _conformance-{kind}:");
            line(w, "");
            line(w, title);
            line(w, &"~".repeat(title.len()));
            line(w, "");
            line(w, ".. list-table::");
            line(w, "   :header-rows: 1");
            line(w, "   :widths: 8 30 30 8 12 20");
            line(w, "");
            line(w, "   * - Code");
            line(w, "     - slsk-proto");
            line(w, "     - aioslsk");
            line(w, "     - Values");
            line(w, "     - Agreed");
            line(w, "     - Divergences");
            for (code, (ours, theirs)) in codes {
                let tally = self.tallies.get(&(kind.to_owned(), code));
                let _ = writeln!(w, "   * - {code}");
                let _ = writeln!(
                    w,
                    "     - {}",
                    ours.map_or("—".into(), |n| format!("``{n}``"))
                );
                let _ = writeln!(
                    w,
                    "     - {}",
                    theirs.map_or("—".into(), |c| format!("``{c}``"))
                );
                match tally {
                    Some(t) => {
                        let _ = writeln!(w, "     - {}", t.values);
                        let _ = writeln!(w, "     - {} / {}", t.agreed[0], t.agreed[1]);
                        let ids: Vec<String> =
                            t.diverged.keys().map(|id| format!("``{id}``")).collect();
                        let _ = writeln!(
                            w,
                            "     - {}",
                            if ids.is_empty() {
                                "—".into()
                            } else {
                                ids.join(", ")
                            }
                        );
                    }
                    None => {
                        for _ in 0..3 {
                            let _ = writeln!(w, "     - —");
                        }
                    }
                }
            }
            line(w, "");
        }
    }
}

fn divergence_note(tally: &Tally) -> String {
    tally
        .diverged
        .iter()
        .map(|(id, n)| format!("  [{id}: {} / {}]", n[0], n[1]))
        .collect()
}

fn codepoints(s: &str) -> String {
    s.chars()
        .map(|c| format!("U+{:04X}", c as u32))
        .collect::<Vec<_>>()
        .join(" ")
}

fn line(w: &mut String, text: &str) {
    w.push_str(text);
    w.push('\n');
}

/// Compares the committed page with the generated one; `SLSK_BLESS=1`
/// writes it instead.
pub fn check_docs(path: &Path, generated: &str) {
    if std::env::var_os("SLSK_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with the conformance suite; regenerate it with\n  \
         SLSK_BLESS=1 cargo test -p slsk-tests --test conformance",
        path.display()
    );
}
