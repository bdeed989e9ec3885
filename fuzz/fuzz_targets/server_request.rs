#![no_main]
//! See `slsk_testkit::fuzz::server_request`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::server_request(data));
