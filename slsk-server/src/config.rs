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

/// A token bucket: up to `burst` actions at once, refilled at
/// `per_minute` actions a minute. An action with no token left is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// The most actions in a burst (the bucket's size). 0 forbids the action.
    pub burst: u32,
    /// Tokens added per minute, spread evenly.
    pub per_minute: u32,
}

/// Per-user flood limits. The official server's limits are unknown (it is
/// reported to ban flooders); these defaults are generous for a person and
/// stop a script. Excess requests are dropped and counted (see
/// [`ServerState::flood_drops`](crate::state::ServerState::flood_drops)),
/// never queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodLimits {
    /// Room messages (RoomChatMessage 13). Default 10 at once, 60 a minute.
    pub room_messages: Rate,
    /// Private messages (22, and 149 counted once per request), commands to
    /// `server` included. Default 20 at once, 120 a minute.
    pub private_messages: Rate,
    /// Searches (26, 42, 103, 120). Default 10 at once, 30 a minute.
    pub searches: Rate,
}

impl FloodLimits {
    /// No limits: for load tests and benchmarks, never for a server open to
    /// strangers.
    pub const OFF: Self = Self {
        room_messages: Rate::UNLIMITED,
        private_messages: Rate::UNLIMITED,
        searches: Rate::UNLIMITED,
    };
}

impl Rate {
    /// A bucket that never runs dry.
    pub const UNLIMITED: Self = Self {
        burst: u32::MAX,
        per_minute: u32::MAX,
    };
}

impl Default for FloodLimits {
    fn default() -> Self {
        Self {
            room_messages: Rate {
                burst: 10,
                per_minute: 60,
            },
            private_messages: Rate {
                burst: 20,
                per_minute: 120,
            },
            searches: Rate {
                burst: 10,
                per_minute: 30,
            },
        }
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
    /// The longest private or room message, in bytes. Longer ones, and ones
    /// with CR or LF, are dropped. Default 2048 (soulfind's limit for both).
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
    /// Whether global and wishlist searches travel through the distributed
    /// tree. When true (the default, as the official server): branch roots
    /// get them as EmbeddedMessage(93) and pass them down their branch,
    /// users outside the tree get FileSearch(26) directly, and users without
    /// a parent get PossibleParents(102). When false (as soulfind; for
    /// comparison and small networks): every global search goes as
    /// FileSearch(26) to every online user but the searcher, and no
    /// PossibleParents is sent. The distributed reports are still recorded.
    pub distributed_tree: bool,
    /// How often a user without a distributed parent is sent
    /// PossibleParents(102) (the first soon after it says it has none, then
    /// at this interval until it reports one). Default 60 s (aioslsk's
    /// observation of the official server). The timer runs at the driver's
    /// tick, once a second.
    pub possible_parents_interval: Duration,
    /// WishlistInterval(104) for ordinary users, in seconds. Default 720.
    pub wishlist_interval: u32,
    /// WishlistInterval(104) for privileged users, in seconds. Default 120.
    pub wishlist_interval_privileged: u32,
    /// The most users joined to one room; a join past it gets a private
    /// message from `server` instead. Default 1000 (neither the official
    /// server's limit nor whether it has one is known; soulfind has none).
    pub max_room_users: usize,
    /// The most rooms one user may have joined at once; a join past it gets
    /// a private message from `server` instead. It bounds what one
    /// connection can make the server remember. Default 100 (no source has
    /// a limit).
    pub max_joined_rooms: usize,
    /// The fewest joined users a public room needs to be listed in the
    /// RoomList(64) sent at login. An explicit RoomList request lists every
    /// public room with users. Default 5, the official filter (Nicotine+'s
    /// notes, aioslsk's docs); 1 lists every room at login, as soulfind.
    pub login_room_list_min_users: u32,
    /// Users made admins at start (added to the database's admin list, which
    /// may name accounts not registered yet). Admins send commands as private
    /// messages to `server`. Default empty.
    pub admins: Vec<String>,
    /// Default [`FloodLimits::default`].
    pub flood: FloodLimits,
    /// The most connections open at once from one IP address, logged in or
    /// not; a connection past it is closed at once (logged at debug level).
    /// It bounds what one host can pin with sockets that send nothing until
    /// the login timeout. Default 64: enough for a household or a small NAT,
    /// far from the thousands an attacker needs. 0 means no limit.
    pub max_connections_per_ip: usize,
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
            distributed_tree: true,
            possible_parents_interval: Duration::from_secs(60),
            wishlist_interval: 720,
            wishlist_interval_privileged: 120,
            max_room_users: 1000,
            max_joined_rooms: 100,
            login_room_list_min_users: 5,
            admins: Vec::new(),
            flood: FloodLimits::default(),
            max_connections_per_ip: 64,
        }
    }
}
