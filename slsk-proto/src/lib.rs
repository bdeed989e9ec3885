//! Soulseek protocol messages and codecs, generated from the schema in
//! `schema/` at build time. No I/O: bytes in, typed messages out, and back.
//!
//! ```
//! use slsk_proto::{FramedMessage, server::{LoginRequest, ServerRequest}};
//!
//! let login = LoginRequest {
//!     username: "JohnGalt".into(),
//!     password: "secret".into(),
//!     version: 160,
//!     md5_hash: Some(slsk_proto::login_hash("JohnGalt", "secret")),
//!     minor_version: Some(1),
//! };
//! let frame = ServerRequest::from(login.clone()).to_frame()?;
//! assert_eq!(ServerRequest::decode_frame(&frame)?, ServerRequest::Login(login));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each connection kind has an enum of its messages ([`server::ServerRequest`],
//! [`server::ServerResponse`], [`peer_init::PeerInitMessage`],
//! [`peer::PeerMessage`], [`distributed::DistributedMessage`]) implementing
//! [`FramedMessage`]; codes the schema does not define decode to `Unknown`.
//! Decoding never panics and never trusts a count or a length before the bytes
//! behind it are there; failures are [`DecodeError`]s that name the message,
//! the field and the byte offset. Encoding fails only for what the wire
//! cannot carry (an [`EncodeError`]), leaving the output as it was.

pub mod compress;
mod embedded;
mod encode_error;
mod error;
mod frame;
mod limits;
mod login;
mod message;
pub mod obfuscation;
pub mod stream;
pub mod wire;

pub use encode_error::EncodeError;
pub use error::{DecodeError, DecodeErrorKind};
pub use frame::{FrameReader, split_frame};
pub use limits::{ConnectionKind, FrameLimits, Limits};
pub use login::{login_hash, password_hash};
#[cfg(feature = "arbitrary")]
pub use message::ArbitraryMessage;
pub use message::{CodeWidth, FrameBuffer, FramedMessage, Message, MessageInfo, frame_len};
pub use wire::{U32OrU64, Wire};

/// Value tables: enums that keep values they do not list.
pub mod tables {
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}

/// Data structures embedded in messages.
pub mod structures {
    include!(concat!(env!("OUT_DIR"), "/structures.rs"));
}

/// Server messages: `...Request` from client to server, `...Response` back.
pub mod server {
    include!(concat!(env!("OUT_DIR"), "/server.rs"));
}

/// Peer-init messages: the first message on a new peer connection.
pub mod peer_init {
    include!(concat!(env!("OUT_DIR"), "/peer_init.rs"));
}

/// Peer messages, on `P` connections.
pub mod peer {
    include!(concat!(env!("OUT_DIR"), "/peer.rs"));
}

/// Distributed messages, on `D` connections.
pub mod distributed {
    include!(concat!(env!("OUT_DIR"), "/distributed.rs"));
}

/// The raw values at the start of a file (`F`) connection.
pub mod file {
    include!(concat!(env!("OUT_DIR"), "/file.rs"));
}
