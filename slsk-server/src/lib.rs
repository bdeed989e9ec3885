//! An embedded Soulseek server, for demos, tests and private networks.
//!
//! Start one on a free loopback port, as a test would, and log two
//! [`slsk_net::Client`]s in to it:
//!
//! ```
//! use slsk_net::{Client, ClientConfig, Event};
//! use slsk_server::{PasswordCost, Server, ServerConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::start(ServerConfig {
//!     listen: "127.0.0.1:0".parse()?,
//!     // Cheap password hashing: tests log in often.
//!     password_cost: PasswordCost::TEST,
//!     ..ServerConfig::default()
//! })
//! .await?;
//! let address = server.local_addr().to_string();
//!
//! // The first login with a new name registers it.
//! let (alice, _) = Client::connect(ClientConfig::new(&address, "alice", "secret")).await?;
//! let (bob, mut bob_events) = Client::connect(ClientConfig::new(&address, "bob", "secret")).await?;
//! alice.send_private_message("bob", "hello bob").await?;
//! let message = loop {
//!     match bob_events.recv().await {
//!         Some(Event::PrivateMessage(message)) => break message,
//!         Some(_) => continue,
//!         None => panic!("bob's session ended"),
//!     }
//! };
//! assert_eq!((message.username.as_str(), message.text.as_str()), ("alice", "hello bob"));
//!
//! alice.shutdown().await;
//! bob.shutdown().await;
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
//! acknowledged, across restarts; searches relayed to users (global, user
//! and room searches).
//!
//! Rooms: public rooms created on first join, the room list (the official
//! five-user filter at login, everything on request), the join, leave and
//! chat sequences, status and shared-count updates to room-mates, the public
//! chat feed (public rooms only). Private rooms: creation, membership and
//! operators granted and revoked with soulfind's exact notices, dropping
//! membership, dropping ownership (the official way: the room turns public),
//! the invitation switch. Tickers, 1024 bytes and 200 per room. Privileges:
//! checking, giving one's own, announcing them when they begin or end.
//! Interests and recommendations (stored, unlike soulfind). Admin commands
//! by private message to `server` (admins are named in
//! [`ServerConfig::admins`] and kept in the database): bans, kicks,
//! privileges, announcements, listings, room removal. Per-user flood limits
//! on room messages, private messages and searches ([`FloodLimits`]).
//! Private rooms, tickers, privileges, bans, admins and interests survive a
//! restart. The distributed tree is not handled yet: its requests are
//! ignored (logged at debug).
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
pub use config::{Database, FloodLimits, PasswordCost, Rate, ServerConfig};
pub use driver::Server;
