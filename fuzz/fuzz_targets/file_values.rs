#![no_main]
//! See `slsk_testkit::fuzz::file_values`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::file_values(data));
