#![no_main]
//! Arbitrary request sequences from several users into a `ServerState`
//! (fake clock, in-memory store, logins completed at once); every
//! consistency check of `slsk_server::sim::CHECKS` must hold after every
//! step. See `slsk_server::sim::run`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = slsk_server::sim::run(data) {
        panic!("{broken}");
    }
});
