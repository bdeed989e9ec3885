//! The fuzz targets' checks, run without libFuzzer: over every seed, and over
//! every input that once made a target crash (`fuzz/regressions/<target>/`).

use std::path::Path;

use slsk_testkit::fuzz::TARGETS;
use slsk_testkit::seeds::seeds;

#[test]
fn seeds_pass_every_check() {
    for (target, check) in TARGETS {
        let seeds = seeds(target);
        assert!(seeds.len() >= 2, "{target}");
        for seed in &seeds {
            check(seed);
        }
    }
}

#[test]
fn past_crashes_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            check(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    println!("replayed {replayed} past crash input(s)");
}

/// Mangled seeds: every check survives bytes it was not made for.
#[test]
fn checks_survive_mangled_seeds() {
    for (target, check) in TARGETS {
        for (n, seed) in seeds(target).iter().enumerate() {
            let mut bytes = seed.clone();
            if bytes.is_empty() {
                continue;
            }
            let at = (n * 7919) % bytes.len();
            bytes[at] ^= 0xA5;
            check(&bytes);
            check(&bytes[..bytes.len() / 2]);
        }
    }
}
