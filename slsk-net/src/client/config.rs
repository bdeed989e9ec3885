//! What a client session needs to know: who we are, where the server is,
//! what we advertise, and how patient to be.

use std::time::Duration;

use slsk_proto::Limits;
use slsk_proto::tables::{UploadPermissions, UserStatus};

use crate::PeerConfig;

/// The Login major version this library sends.
///
/// Each Soulseek client claims its own major version so that servers and
/// peers can tell clients apart, and a new client must not impersonate
/// another's (see the Login description in `schema/server.yaml`). Claimed
/// numbers are 156 and below (Soulseek before NS), 157 (Soulseek NS and
/// SoulseekQt), 158-159 (SoulseekQt development), 160 (Nicotine+), 169
/// (seeleseek), 170 (Soulseek.NET), 175 (aioslsk), 176 (soulseek-rs), 177
/// (experimental development and testing), and the obsolete 178, 180-182,
/// 198 and 200. slsk takes the unclaimed 171.
pub const CLIENT_MAJOR_VERSION: u32 = 171;

/// The Login minor version this library sends. Servers reject 0
/// (`INVALIDVERSION`); we count from 1 and raise it when the client gains a
/// network capability other clients could care about.
pub const CLIENT_MINOR_VERSION: u32 = 1;

/// The status we can set for ourselves: the server only accepts these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OwnStatus {
    /// Away (wire value 1).
    Away,
    /// Online and available (wire value 2).
    #[default]
    Online,
}

impl From<OwnStatus> for UserStatus {
    fn from(status: OwnStatus) -> Self {
        match status {
            OwnStatus::Away => UserStatus::Away,
            OwnStatus::Online => UserStatus::Online,
        }
    }
}

/// How to log in to a server and keep the session alive.
///
/// Build it with [`ClientConfig::new`], then adjust the public fields:
///
/// ```
/// use std::time::Duration;
/// use slsk_net::client::ClientConfig;
///
/// let mut config = ClientConfig::new("127.0.0.1:2242", "JohnGalt", "secret");
/// // Listen for peers on port 2234, and obfuscated on 2235 (loopback here;
/// // a client open to the network listens on its LAN address).
/// config.peer.listen_addr = "127.0.0.1:2234".parse().unwrap();
/// config.peer.obfuscated_listen_addr = Some("127.0.0.1:2235".parse().unwrap());
/// // The router forwards its port 50000 to our 2234: advertise that one.
/// config.advertised_port = Some(50000);
/// config.user_info.description = "Hello from JohnGalt".into();
/// config.timing.request_timeout = Duration::from_secs(20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The server, as `host:port`.
    pub server: String,
    /// Our username.
    pub username: String,
    /// Our password. Updated by the session after a confirmed
    /// [`change_password`](crate::client::Client::change_password), so that
    /// reconnects log in with the new one.
    pub password: String,
    /// The peer connection layer the client starts: where it listens
    /// (plain and, optionally, obfuscated), whether it dials obfuscated
    /// ports, its timeouts and limits. By default it listens on a free port
    /// of 127.0.0.1 only: set [`PeerConfig::listen_addr`] to be reachable
    /// from other machines.
    pub peer: PeerConfig,
    /// The plain port advertised to the server (Login's SetListenPort), if
    /// it differs from the port the listener bound: behind NAT or a port
    /// forward, the port peers must dial from outside. `None` (the default)
    /// advertises the bound port.
    pub advertised_port: Option<u16>,
    /// The same for the obfuscated port; only advertised when
    /// [`PeerConfig::obfuscated_listen_addr`] is set. `None` (the default)
    /// advertises the bound port.
    pub advertised_obfuscated_port: Option<u16>,
    /// What we answer to a peer's user info request.
    pub user_info: UserInfoSettings,
    /// Shared folder count reported with SharedFoldersFiles.
    pub shared_folders: u32,
    /// Shared file count reported with SharedFoldersFiles.
    pub shared_files: u32,
    /// What we share (folders, scan cache, scan on connect) and what our
    /// search replies advertise. A scan overrides
    /// [`shared_folders`](Self::shared_folders) and
    /// [`shared_files`](Self::shared_files). Needs the `shares` feature.
    #[cfg(feature = "shares")]
    pub shares: super::shares::SharesConfig,
    /// How long [`Client::browse`](crate::client::Client::browse) and
    /// [`Client::folder_contents`](crate::client::Client::folder_contents)
    /// wait for the reply (after the connection is up). Needs the `shares`
    /// feature.
    #[cfg(feature = "shares")]
    pub browse_timeout: Duration,
    /// Our part in the distributed search network (finding a parent,
    /// taking children, passing searches on).
    pub distributed: super::distributed::DistributedConfig,
    /// The status set after each login.
    pub status: OwnStatus,
    /// Whether others may add us to private rooms: sent with
    /// TogglePrivateRoomInvites after each login (the server forgets it and
    /// defaults to no). Change it later with
    /// [`Client::set_room_invitations`](crate::client::Client::set_room_invitations).
    pub room_invitations: bool,
    /// Timeouts and keepalive intervals.
    pub timing: Timing,
    /// Reconnection after a lost connection.
    pub reconnect: ReconnectPolicy,
    /// Capacity of the event stream. When it is full the session stops
    /// reading from the server until the consumer catches up, so a slow
    /// consumer slows the session instead of growing memory.
    pub event_capacity: usize,
    /// Capacity of the command queue from [`Client`](crate::client::Client)
    /// handles to the session task.
    pub command_capacity: usize,
    /// How many distinct requests (user, kind) may wait for a server reply at
    /// once; more fail with [`RequestError::TooManyPending`](crate::client::RequestError::TooManyPending).
    pub max_pending_requests: usize,
    /// Decoding limits for server messages.
    pub limits: Limits,
    /// Downloads and uploads; `None` (the default) turns them off: `F`
    /// connections are closed and transfer messages arrive as
    /// [`Event::PeerMessage`](super::Event::PeerMessage).
    #[cfg(feature = "transfers")]
    pub transfers: Option<super::transfers::TransferSettings>,
}

impl ClientConfig {
    /// A configuration with the defaults: the default [`PeerConfig`] (a
    /// free port on 127.0.0.1, no obfuscated port), its bound port
    /// advertised, nothing shared, an empty user info, status online, no
    /// private room invitations, the
    /// default [`Timing`] and [`ReconnectPolicy`].
    pub fn new(
        server: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            server: server.into(),
            username: username.into(),
            password: password.into(),
            peer: PeerConfig::default(),
            advertised_port: None,
            advertised_obfuscated_port: None,
            user_info: UserInfoSettings::default(),
            shared_folders: 0,
            shared_files: 0,
            #[cfg(feature = "shares")]
            shares: super::shares::SharesConfig::default(),
            #[cfg(feature = "shares")]
            browse_timeout: Duration::from_secs(60),
            distributed: super::distributed::DistributedConfig::default(),
            status: OwnStatus::Online,
            room_invitations: false,
            timing: Timing::default(),
            reconnect: ReconnectPolicy::default(),
            event_capacity: 256,
            command_capacity: 64,
            max_pending_requests: 1024,
            limits: Limits::DEFAULT,
            #[cfg(feature = "transfers")]
            transfers: None,
        }
    }
}

/// Timeouts and keepalive settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timing {
    /// Limit on opening the TCP connection (name lookup included).
    pub connect_timeout: Duration,
    /// Limit on waiting for the Login reply.
    pub login_timeout: Duration,
    /// Limit on waiting for the reply to a request (peer address, status,
    /// stats, watch, password change).
    pub request_timeout: Duration,
    /// Limit on a request to a peer
    /// ([`Client::user_info`](crate::client::Client::user_info)), from the
    /// call to the peer's reply, connecting included (which
    /// [`PeerConfig::indirect_timeout`] bounds on its own, with a more
    /// telling error).
    pub peer_request_timeout: Duration,
    /// Limit on writing to the server: a server that takes longer to accept
    /// our bytes is treated as gone (the connection is dropped and the
    /// session reconnects), so a stuck socket cannot stall the session.
    pub write_timeout: Duration,
    /// Interval between application-level Pings. Current servers do not
    /// answer them; they keep middleboxes from dropping an idle connection.
    pub ping_interval: Duration,
    /// Idle time before TCP keepalive probes start; `None` leaves the
    /// operating system's setting alone.
    pub tcp_keepalive: Option<Duration>,
}

impl Default for Timing {
    /// 10 s to connect, 30 s for the Login reply, 30 s per request, 60 s
    /// per peer request, 30 s per write, a Ping
    /// every 5 minutes (aioslsk's interval; Nicotine+ documents "at most once
    /// per minute"), TCP keepalive after 60 s idle.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            login_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            peer_request_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(5 * 60),
            tcp_keepalive: Some(Duration::from_secs(60)),
        }
    }
}

/// When to reconnect after the server connection is lost.
///
/// The first wait is drawn uniformly from `first_delay_min..=first_delay_max`
/// (so a server restart is not met by every client at once); each later wait
/// doubles the previous one up to `max_delay`. Waits that hit the cap are
/// drawn uniformly from `max_delay / 2..=max_delay`. The schedule starts over
/// after a successful login. There is never a reconnect after the server
/// rejected the login or sent Kicked (we logged in elsewhere).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// Whether to reconnect at all.
    pub enabled: bool,
    /// Lower bound of the first wait.
    pub first_delay_min: Duration,
    /// Upper bound of the first wait.
    pub first_delay_max: Duration,
    /// Cap on any wait.
    pub max_delay: Duration,
}

impl Default for ReconnectPolicy {
    /// Enabled; first wait 5-15 s, doubling, capped at 5 minutes (the
    /// Nicotine+ schedule).
    fn default() -> Self {
        Self {
            enabled: true,
            first_delay_min: Duration::from_secs(5),
            first_delay_max: Duration::from_secs(15),
            max_delay: Duration::from_secs(5 * 60),
        }
    }
}

/// What we answer when a peer asks for our user info (PeerUserInfoReply).
///
/// When the client runs transfers ([`ClientConfig::transfers`]), the
/// upload slots, queue size and free slot come from the upload queue; the
/// three fields here are reported only without transfers. Their defaults
/// say so honestly: no slots, nothing queued, no free slot; by default no
/// one may queue uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserInfoSettings {
    /// Free-form text about ourselves. Default empty.
    pub description: String,
    /// The content of a picture file (any format peers can show, usually
    /// JPEG or PNG). Default none.
    pub picture: Option<Vec<u8>>,
    /// Upload slots reported when the client runs no transfers. Default 0.
    /// With transfers, the upload queue's slots, waiting uploads and free
    /// slot are reported instead of these three.
    pub upload_slots: u32,
    /// Queued uploads reported without transfers. Default 0.
    pub queue_size: u32,
    /// Whether we report a free upload slot without transfers. Default
    /// false.
    pub slots_free: bool,
    /// Who we say may queue uploads. Default [`UploadPermissions::NoOne`].
    pub upload_permissions: UploadPermissions,
}

impl Default for UserInfoSettings {
    fn default() -> Self {
        Self {
            description: String::new(),
            picture: None,
            upload_slots: 0,
            queue_size: 0,
            slots_free: false,
            upload_permissions: UploadPermissions::NoOne,
        }
    }
}
