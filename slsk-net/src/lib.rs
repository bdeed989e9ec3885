//! Tokio networking for the Soulseek protocol.
//!
//! So far: [`MessageCodec`], a tokio-util codec that turns a byte stream of
//! one connection kind into typed messages of `slsk-proto` and back. Use it
//! with `tokio_util::codec::Framed`:
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use slsk_net::MessageCodec;
//! use slsk_proto::server::ServerResponse;
//! use tokio_util::codec::FramedRead;
//!
//! let stream = tokio::net::TcpStream::connect("127.0.0.1:2242").await?;
//! let frames = FramedRead::new(stream, MessageCodec::<ServerResponse>::default());
//! # Ok(()) }
//! ```
//!
//! Connections (peer-init handshakes, obfuscated peer connections, file
//! transfers), the client and the server are not built yet.

pub mod client;
mod codec;

pub use client::{Client, ClientConfig, Event, Events};
pub use codec::MessageCodec;
pub use slsk_proto;
