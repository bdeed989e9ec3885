//! Every setting of the server, with its default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the server keeps what must survive a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, created if missing (WAL mode).
    File(PathBuf),
    /// A private in-memory database, lost when the server stops (tests, demos).
    InMemory,
}

/// The argon2id cost of a new password hash. Verification reads the cost
/// stored in each hash, so changing this only affects new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl PasswordCost {
    /// OWASP's first argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    pub const DEFAULT: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest cost argon2 accepts (8 KiB, 1 pass): for tests only.
    pub const TEST: Self = Self {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Everything a server can be told. [`Default`] gives the values documented
/// on each field; override what you need with struct update syntax.
///
/// ```
/// use slsk_server::{Database, ServerConfig};
///
/// let config = ServerConfig {
///     listen: "127.0.0.1:0".parse().unwrap(),
///     database: Database::InMemory,
///     registration_open: false,
///     ..ServerConfig::default()
/// };
/// assert_eq!(config.max_frame_size, 8192);
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to listen on. Default `127.0.0.1:2242`, the usual port,
    /// on loopback so that nothing is exposed unless asked for.
    pub listen: SocketAddr,
    /// Default [`Database::InMemory`].
    pub database: Database,
    /// The largest frame a client may send, length field included. A longer
    /// length field closes the connection. Default 8192 bytes, as soulfind:
    /// no client request needs more (the largest are a login with a long
    /// password and a PM of at most [`max_pm_bytes`](Self::max_pm_bytes)).
    pub max_frame_size: usize,
    /// How long a connection may stay without a successful login before it is
    /// closed. Default 60 s (the official server and soulfind both use about
    /// a minute).
    pub login_timeout: Duration,
    /// Default [`PasswordCost::DEFAULT`].
    pub password_cost: PasswordCost,
    /// The most bytes queued for one client that it has not read yet. A client
    /// over the limit is disconnected, so a client that never reads cannot
    /// grow the server's memory. It must also absorb bursts to clients that
    /// do read (a burst of searches fans out to everyone before their writers
    /// run). Default 4 MiB.
    pub max_queued_bytes: usize,
    /// The longest private message, in bytes. Longer ones, and ones with CR
    /// or LF, are dropped. Default 2048.
    pub max_pm_bytes: usize,
    /// The longest search query, in bytes. Longer ones are dropped.
    /// Default 256.
    pub max_query_bytes: usize,
    /// Phrases no search may contain. A query is dropped when every word of a
    /// phrase appears in it (case-insensitive). The same list is sent to
    /// clients as ExcludedSearchPhrases(160), so that they leave matching
    /// files out of their results. Default empty.
    pub excluded_phrases: Vec<String>,
    /// The greeting in the Login reply. `%username%` and `%users%` (the
    /// number of users online) are replaced. Default
    /// `"Welcome to slsk-server."`.
    pub motd: String,
    /// The most users online at once; a login past it gets `SVRFULL`.
    /// Default 100000 (soulfind's default).
    pub max_users: usize,
    /// Whether the first login with a new name creates the account. When
    /// false, such a login gets `SVRPRIVATE`. Default true.
    pub registration_open: bool,
    /// ParentMinSpeed(83) sent at login. Default 1 (the official value).
    pub parent_min_speed: u32,
    /// ParentSpeedRatio(84) sent at login. Default 50 (the official value).
    pub parent_speed_ratio: u32,
    /// WishlistInterval(104) for ordinary users, in seconds. Default 720.
    pub wishlist_interval: u32,
    /// WishlistInterval(104) for privileged users, in seconds. Default 120.
    pub wishlist_interval_privileged: u32,
    /// The most connections open at once from one IP address, logged in or
    /// not; a connection past it is closed at once (logged at debug level).
    /// It bounds what one host can pin with sockets that send nothing until
    /// the login timeout. Default 64: enough for a household or a small NAT,
    /// far from the thousands an attacker needs. 0 means no limit.
    pub max_connections_per_ip: usize,
    /// The most users in one room at once. Default 1000. (A setting for the
    /// rooms engine; the driver does not enforce it.)
    pub max_users_per_room: usize,
    /// The most rooms one user may be in at once. Default 100. (A setting
    /// for the rooms engine; the driver does not enforce it.)
    pub max_rooms_per_user: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 2242)),
            database: Database::InMemory,
            max_frame_size: 8192,
            login_timeout: Duration::from_secs(60),
            password_cost: PasswordCost::DEFAULT,
            max_queued_bytes: 4 << 20,
            max_pm_bytes: 2048,
            max_query_bytes: 256,
            excluded_phrases: Vec::new(),
            motd: "Welcome to slsk-server.".to_owned(),
            max_users: 100_000,
            registration_open: true,
            parent_min_speed: 1,
            parent_speed_ratio: 50,
            wishlist_interval: 720,
            wishlist_interval_privileged: 120,
            max_connections_per_ip: 64,
            max_users_per_room: 1000,
            max_rooms_per_user: 100,
        }
    }
}
