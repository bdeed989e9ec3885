#![no_main]
//! See `slsk_testkit::fuzz::peer_init`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::peer_init(data));
