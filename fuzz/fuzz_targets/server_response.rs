#![no_main]
//! See `slsk_testkit::fuzz::server_response`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::server_response(data));
