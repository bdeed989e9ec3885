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
//! the state, and argon2id hashing on blocking threads.
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

mod codec;
mod config;
mod driver;
pub mod password;
mod queue;
pub mod state;
pub mod store;

pub use codec::RequestCodec;
pub use config::{Database, PasswordCost, ServerConfig};
pub use driver::Server;
pub use state::password_changed_reply;
