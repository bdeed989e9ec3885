//! Writes the seed corpus of every fuzz target:
//! `cargo run -p slsk-testkit --bin fuzz-seeds -- fuzz/corpus`
//! makes `fuzz/corpus/<target>/seed-<n>` (existing files are kept).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    for (target, _) in slsk_testkit::fuzz::TARGETS {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        let seeds = slsk_testkit::seeds::seeds(target);
        for (n, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{n}")), seed)?;
        }
        println!("{target}: {} seeds", seeds.len());
    }
    Ok(())
}
