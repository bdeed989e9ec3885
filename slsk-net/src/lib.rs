//! Tokio networking for the Soulseek protocol (framing and connections).
//!
//! Not built yet: this crate will hold `Framed` codecs over the message enums
//! of `slsk-proto`, connections and a client and server.

pub use slsk_proto;
