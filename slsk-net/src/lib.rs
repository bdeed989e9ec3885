//! Tokio networking for the Soulseek protocol.
//!
//! Log in and exchange private messages:
//!
//! ```
//! # // A fake server on loopback stands in for a real one, so this runs.
//! # use futures_util::{SinkExt, StreamExt};
//! # use slsk_proto::server::{LoginResponse, PrivateChatMessageResponse, ServerRequest, ServerResponse};
//! # use tokio_util::codec::Framed;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let server_address = listener.local_addr()?.to_string();
//! # tokio::spawn(async move {
//! #     let (socket, _) = listener.accept().await.unwrap();
//! #     let mut reader = Framed::new(socket, slsk_net::MessageCodec::<ServerRequest>::default());
//! #     let _login = reader.next().await;
//! #     let mut writer = reader.map_codec(|_| slsk_net::MessageCodec::<ServerResponse>::default());
//! #     writer.send(ServerResponse::Login(LoginResponse::Success {
//! #         greeting: "welcome".into(), ip: [127, 0, 0, 1].into(),
//! #         md5_hash: slsk_proto::password_hash("secret"), is_supporter: false,
//! #     })).await.unwrap();
//! #     let mut reader = writer.map_codec(|_| slsk_net::MessageCodec::<ServerRequest>::default());
//! #     while let Some(Ok(Ok(request))) = reader.next().await {
//! #         if let ServerRequest::PrivateChatMessage(pm) = request {
//! #             assert_eq!((pm.username.as_str(), pm.message.as_str()), ("bob", "hello bob"));
//! #             break;
//! #         }
//! #     }
//! #     let mut writer = reader.map_codec(|_| slsk_net::MessageCodec::<ServerResponse>::default());
//! #     writer.send(PrivateChatMessageResponse {
//! #         chat_id: 1, timestamp: 0, username: "bob".into(),
//! #         message: "hello alice".into(), is_direct: Some(true),
//! #     }.into()).await.unwrap();
//! #     while writer.next().await.is_some() {}
//! # });
//! use slsk_net::{Client, ClientConfig, Event};
//!
//! let mut config = ClientConfig::new(server_address, "alice", "secret");
//! // Peers connect to a free port on 127.0.0.1 unless told otherwise.
//! config.user_info.description = "alice, testing slsk".into();
//!
//! let (client, mut events) = Client::connect(config).await?;
//! client.send_private_message("bob", "hello bob").await?;
//!
//! while let Some(event) = events.recv().await {
//!     if let Event::PrivateMessage(message) = event {
//!         // Already acknowledged to the server.
//!         println!("{}: {}", message.username, message.text);
//!         break;
//!     }
//! }
//! client.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Contents
//!
//! - [`client`]: the session with the server and the peers.
//!   [`Client::connect`] starts the peer layer, logs in and keeps the
//!   session alive (keepalive, reconnection); the [`Client`] handle asks the
//!   server things, sends private messages and asks peers for their user
//!   info ([`Client::user_info`]); [`Events`] reports what happens.
//! - [`MessageCodec`]: a tokio-util codec that turns a byte stream of one
//!   connection kind into typed messages of `slsk-proto` and back.
//!   [`ObfuscatedCodec`] does the same for obfuscated peer connections, and
//!   [`PeerCodec`] is either.
//! - [`Peers`]: the peer connection layer, which [`Client`] starts and
//!   drives (it can also run on its own). It listens (on a plain and
//!   optionally an obfuscated port), reads the peer-init message of every
//!   accepted socket, connects to users both ways at once (directly, and
//!   through the server with ConnectToPeer / PierceFirewall), keeps one
//!   queue of outgoing messages per user over its `P` connections, and hands
//!   out `D` and `F` connections ([`DistributedConnection`],
//!   [`FileConnection`]). Bad input from a peer only ever closes that
//!   peer's connection. [`PeerStats`] counts connections per path.
//! - [`Connector`]: the decisions of connection establishment, without I/O,
//!   which [`Peers`] drives.

pub mod client;
mod codec;
mod connection;
mod connector;
mod driver;
mod file;
mod frame;
mod handshake;
mod listener;
mod obfuscated;
mod peers;
mod stats;

pub use client::{Client, ClientConfig, Event, Events};
pub use codec::MessageCodec;
pub use connector::{
    Action, Connector, ConnectorConfig, FailReason, PeerConnectionKind, RequestId, SocketId, Via,
};
pub use file::FileConnection;
pub use frame::PeerFrame;
pub use handshake::DistributedConnection;
pub use obfuscated::{ObfuscatedCodec, PeerCodec};
pub use peers::{PeerConfig, PeerError, PeerEvent, PeerEvents, Peers};
pub use slsk_proto;
pub use stats::{PathCounts, PeerStats};
