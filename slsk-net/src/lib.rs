//! Tokio networking for the Soulseek protocol.
//!
//! - [`MessageCodec`]: a tokio-util codec that turns a byte stream of one
//!   connection kind into typed messages of `slsk-proto` and back;
//!   [`ObfuscatedCodec`] does the same for obfuscated peer connections, and
//!   [`PeerCodec`] is either.
//! - [`Peers`]: the peer connection layer. It listens (on a plain and
//!   optionally an obfuscated port), reads the peer-init message of every
//!   accepted socket, connects to users both ways at once (directly, and
//!   through the server with ConnectToPeer / PierceFirewall), keeps one
//!   queue of outgoing messages per user over its `P` connections, and hands
//!   out `D` and `F` connections ([`DistributedConnection`],
//!   [`FileConnection`]). Bad input from a peer only ever closes that
//!   peer's connection.
//! - [`Connector`]: the decisions of connection establishment, without I/O,
//!   which [`Peers`] drives.
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

mod codec;
mod connection;
mod connector;
mod driver;
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
pub use handshake::DistributedConnection;
pub use obfuscated::{ObfuscatedCodec, PeerCodec};
pub use peers::{PeerConfig, PeerError, PeerEvent, PeerEvents, Peers};
pub use slsk_proto;
