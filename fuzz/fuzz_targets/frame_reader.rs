#![no_main]
//! See `slsk_testkit::fuzz::frame_reader`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| slsk_testkit::fuzz::frame_reader(data));
