//! An embedded Soulseek server, for demos, tests and private networks.
//!
//! Start one on a free loopback port and log in with a raw
//! [`slsk_net::MessageCodec`] client:
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use slsk_net::MessageCodec;
//! use slsk_proto::server::{LoginRequest, LoginResponse, ServerRequest, ServerResponse};
//! use slsk_server::{PasswordCost, Server, ServerConfig};
//! use tokio_util::codec::{FramedRead, FramedWrite};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::start(ServerConfig {
//!     listen: "127.0.0.1:0".parse()?,
//!     password_cost: PasswordCost::TEST,
//!     ..ServerConfig::default()
//! })
//! .await?;
//!
//! let stream = tokio::net::TcpStream::connect(server.local_addr()).await?;
//! let (read, write) = stream.into_split();
//! let mut from_server = FramedRead::new(read, MessageCodec::<ServerResponse>::default());
//! let mut to_server = FramedWrite::new(write, MessageCodec::<ServerRequest>::default());
//!
//! // The first login with a new name registers it.
//! to_server
//!     .send(ServerRequest::from(LoginRequest {
//!         username: "alice".into(),
//!         password: "secret".into(),
//!         version: 160,
//!         md5_hash: Some(slsk_proto::login_hash("alice", "secret")),
//!         minor_version: Some(1),
//!     }))
//!     .await?;
//! match from_server.next().await.unwrap()?? {
//!     ServerResponse::Login(LoginResponse::Success { md5_hash, .. }) => {
//!         assert_eq!(md5_hash, slsk_proto::password_hash("secret"));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Design
//!
//! The decisions live in [`state::ServerState`], a state machine without I/O
//! that owns the SQLite [`store::Store`]: inputs go in (a connection opened,
//! a request, a password checked, a connection closed, a timer tick),
//! [`state::Output`]s come out (messages to connections, closes, password
//! jobs). [`Server`] is the thin tokio driver around it: a listener, one task
//! per connection with a frame cap on reading and a bounded outgoing queue
//! (a client that does not read is disconnected), one central task that owns
//! the state, and argon2id hashing on one thread per core.
//!
//! What it does, following the protocol digest (`server-behaviour.md`):
//! login with soulfind's checks and rejection strings, registration, the
//! official post-login sequence, relogging; presence, watching, statistics,
//! addresses and brokering of peer connections; private messages kept until
//! acknowledged, across restarts; searches relayed to users. Rooms, private
//! rooms, tickers, privileges, interests, admin commands and the distributed
//! tree are not handled yet: those requests are ignored (logged at debug).
//!
//! Input from the network never panics the server: a request that does not
//! decode is dropped (logged at debug) and the connection stays; a length
//! field over [`ServerConfig::max_frame_size`] or under 4 closes the
//! connection; anything but Login before login is dropped.

mod checkpoint;
mod codec;
mod config;
mod driver;
mod hashing;
pub mod password;
mod queue;
#[cfg(feature = "arbitrary")]
pub mod sim;
pub mod state;
pub mod store;

pub use codec::RequestCodec;
pub use config::{Database, PasswordCost, ServerConfig};
pub use driver::Server;
pub use state::password_changed_reply;
