//! Why connecting or a request failed.

use std::fmt;
use std::io;

use slsk_proto::tables::LoginRejectionReason;

/// Why [`Client::connect`](crate::client::Client::connect) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server address could not be resolved or the TCP connection
    /// failed.
    Io(io::Error),
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
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot connect to the server: {e}"),
            Self::Timeout => f.write_str("timed out connecting or logging in to the server"),
            Self::Rejected {
                reason,
                detail: Some(detail),
            } => write!(f, "login rejected: {} ({detail})", reason.to_wire()),
            Self::Rejected { reason, .. } => write!(f, "login rejected: {}", reason.to_wire()),
            Self::Closed => f.write_str("the server closed the connection before the login reply"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
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
