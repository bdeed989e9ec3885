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

mod codec;
mod connection;
mod connector;
mod file;
mod handshake;
mod listener;
mod obfuscated;
mod peers;

pub use codec::MessageCodec;
pub use connector::{
    Action, Connector, ConnectorConfig, FailReason, PeerConnectionKind, RequestId, SocketId, Via,
};
pub use file::FileConnection;
pub use handshake::{DistributedConnection, PeerFramed};
pub use obfuscated::{ObfuscatedCodec, PeerCodec};
pub use peers::{PeerConfig, PeerError, PeerEvent, PeerEvents, Peers};
pub use slsk_proto;
