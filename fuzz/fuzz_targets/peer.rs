#![no_main]
//! See `slsk_testkit::fuzz::peer`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::peer(data));
