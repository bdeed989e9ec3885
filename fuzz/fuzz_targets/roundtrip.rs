#![no_main]
//! See `slsk_testkit::fuzz::roundtrip`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::roundtrip(data));
