//! Test data and checks shared by the fuzz targets (`fuzz/`), the
//! benchmarks (`benches/`) and the regression tests (`tests/`).

pub mod data;
pub mod fuzz;
pub mod seeds;
