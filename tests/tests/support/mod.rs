//! Code shared by the integration tests: `mod support;` in a test file.
//!
//! * [`venv`]: the Python virtual environments (aioslsk) under `target/tmp`.
//! * [`aioslsk_peer`]: aioslsk as a live peer on loopback.
//! * [`network`]: our server in-process and our clients logged in to it.
//! * [`net`]: our server and our clients together on loopback.

// Each test binary uses its own part of the support code.
#![allow(dead_code)]

pub mod aioslsk_peer;
pub mod net;
pub mod network;
pub mod venv;
