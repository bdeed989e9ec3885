//! Why connecting or a request failed.

use std::fmt;
use std::io;

use slsk_proto::tables::LoginRejectionReason;

use crate::PeerError;

/// Why [`Client::connect`](crate::client::Client::connect) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server address could not be resolved or the TCP connection
    /// failed.
    Io(io::Error),
    /// A peer listener could not bind its address
    /// ([`PeerConfig::listen_addr`](crate::PeerConfig::listen_addr) or
    /// [`obfuscated_listen_addr`](crate::PeerConfig::obfuscated_listen_addr)).
    Listen(io::Error),
    /// The TCP connection or the Login reply took longer than the
    /// configured timeout.
    Timeout,
    /// The server rejected the login.
    Rejected {
        /// The server's reason, e.g. `INVALIDPASS`.
        reason: LoginRejectionReason,
        /// The detail the server may add, e.g. `Nick too long.` after
        /// `INVALIDUSERNAME`.
        detail: Option<String>,
    },
    /// The server closed the connection (or sent something we cannot frame)
    /// before answering the login.
    Closed,
    /// The download queue ([`TransferSettings::queue`](crate::client::TransferSettings::queue))
    /// could not be opened or read.
    TransferQueue(io::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot connect to the server: {e}"),
            Self::Listen(e) => write!(f, "cannot listen for peers: {e}"),
            Self::Timeout => f.write_str("timed out connecting or logging in to the server"),
            Self::Rejected {
                reason,
                detail: Some(detail),
            } => write!(f, "login rejected: {} ({detail})", reason.to_wire()),
            Self::Rejected { reason, .. } => write!(f, "login rejected: {}", reason.to_wire()),
            Self::Closed => f.write_str("the server closed the connection before the login reply"),
            Self::TransferQueue(e) => write!(f, "cannot open the download queue: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) | Self::Listen(e) | Self::TransferQueue(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a [`Client`](crate::client::Client) request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// No reply within the configured request timeout.
    Timeout,
    /// The session is not logged in right now (it is reconnecting); try again
    /// after [`Event::Reconnected`](crate::client::Event::Reconnected).
    NotConnected,
    /// The connection was lost while the request waited for its reply.
    Disconnected,
    /// The session has ended: shut down, kicked, or its login was rejected.
    Closed,
    /// Too many different requests are waiting for replies already
    /// ([`ClientConfig::max_pending_requests`](crate::client::ClientConfig::max_pending_requests)).
    TooManyPending,
    /// The room name breaks the rules every server applies (checked before
    /// anything is sent; the reason says which).
    InvalidRoomName(&'static str),
    /// The room is private and we are not a member (CannotCreateRoom).
    RoomIsPrivate,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "the server did not reply in time",
            Self::NotConnected => "not connected to the server",
            Self::Disconnected => "the server connection was lost before the reply",
            Self::Closed => "the client session has ended",
            Self::TooManyPending => "too many requests are waiting for replies",
            Self::InvalidRoomName(reason) => reason,
            Self::RoomIsPrivate => "the room is private and we are not a member",
        })
    }
}

impl std::error::Error for RequestError {}

/// Why a request to a peer
/// ([`Client::user_info`](crate::client::Client::user_info)) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerRequestError {
    /// The server says the user is not online.
    Offline,
    /// The peer cannot be reached: our direct dial failed and the peer
    /// could not dial us back (the server relayed its CannotConnect).
    Unreachable,
    /// No connection within
    /// [`PeerConfig::indirect_timeout`](crate::PeerConfig::indirect_timeout),
    /// or no reply within [`Timing::peer_request_timeout`](crate::client::Timing::peer_request_timeout).
    Timeout,
    /// The server connection was lost while connecting to the peer, or we
    /// are not logged in.
    NotConnected,
    /// The peer's connection closed before the request could be queued.
    ConnectionClosed,
    /// Too many users are being asked at once
    /// ([`ClientConfig::max_pending_requests`](crate::client::ClientConfig::max_pending_requests)).
    TooManyPending,
    /// The client session has ended.
    Closed,
}

impl fmt::Display for PeerRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Offline => "the user is offline",
            Self::Unreachable => "the peer cannot be reached either way",
            Self::Timeout => "the peer did not connect or reply in time",
            Self::NotConnected => "not connected to the server",
            Self::ConnectionClosed => "the peer connection closed",
            Self::TooManyPending => "too many peer requests are waiting for replies",
            Self::Closed => "the client session has ended",
        })
    }
}

impl std::error::Error for PeerRequestError {}

impl From<PeerError> for PeerRequestError {
    fn from(error: PeerError) -> Self {
        match error {
            PeerError::Offline => Self::Offline,
            PeerError::Unreachable => Self::Unreachable,
            PeerError::TimedOut => Self::Timeout,
            PeerError::ServerLost | PeerError::NoUsername => Self::NotConnected,
            PeerError::Closed | PeerError::Io(_) => Self::ConnectionClosed,
            PeerError::Shutdown => Self::Closed,
        }
    }
}
