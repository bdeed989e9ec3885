#![no_main]
//! See `slsk_testkit::fuzz::compressed`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::compressed(data));
