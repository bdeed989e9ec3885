//! Integration and conformance tests live in `tests/tests/`; this crate has no code.
