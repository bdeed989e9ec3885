//! How peer connections are established, without I/O: a state machine that
//! takes what happened (a request, a server message, a dial's result, an
//! inbound PierceFirewall, the time) and says what to do next.
//!
//! Outgoing (client-behaviour §2.1): GetPeerAddress and ConnectToPeer are
//! sent together, as aioslsk and SoulseekQt do. The direct path dials the
//! address the server gives and sends PeerInit (ticket 0); the indirect path
//! waits for the peer to dial us and send PierceFirewall with our ticket. The
//! first path to succeed wins and the other is closed; the request fails when
//! both have failed. Address 0.0.0.0 means the user is offline: the request
//! fails at once. Port 0 skips the direct path.
//!
//! Incoming (§2.2): when the server relays a ConnectToPeer to us, we dial the
//! given address and send PierceFirewall(ticket); if that fails or times out
//! we send CannotConnect(ticket, username) to the server.
//!
//! ```
//! use std::time::Instant;
//! use slsk_net::{Action, Connector, ConnectorConfig, PeerConnectionKind};
//!
//! let mut connector = Connector::new(ConnectorConfig::default(), 1);
//! connector.set_username("alice");
//! let now = Instant::now();
//! let request = connector.connect("bob", PeerConnectionKind::Peer, now);
//! // GetPeerAddress and ConnectToPeer go to the server together.
//! assert!(matches!(connector.poll_action(), Some(Action::SendToServer(_))));
//! assert!(matches!(connector.poll_action(), Some(Action::SendToServer(_))));
//! assert!(connector.poll_action().is_none());
//! // Nothing answers: at the indirect timeout the request fails.
//! connector.poll_timeout(connector.next_timeout().unwrap());
//! assert!(matches!(connector.poll_action(), Some(Action::Failed { request: r, .. }) if r == request));
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::{SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use slsk_proto::peer_init::{PeerInit, PeerInitMessage, PeerPierceFirewall};
use slsk_proto::server::{
    CannotConnectRequest, ConnectToPeerRequest, ConnectToPeerResponse, GetPeerAddressRequest,
    GetPeerAddressResponse, ServerRequest,
};
use slsk_proto::tables::{ConnectionType, ObfuscationType};

/// The three kinds of peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerConnectionKind {
    /// `P`: peer messages.
    Peer,
    /// `D`: distributed messages (the search tree).
    Distributed,
    /// `F`: one file transfer.
    File,
}

impl PeerConnectionKind {
    /// The kind a peer-init or ConnectToPeer names; `None` for a type the
    /// protocol does not have.
    pub fn from_type(connection_type: &ConnectionType) -> Option<Self> {
        match connection_type {
            ConnectionType::Peer => Some(Self::Peer),
            ConnectionType::Distributed => Some(Self::Distributed),
            ConnectionType::File => Some(Self::File),
            ConnectionType::Unknown(_) => None,
        }
    }

    pub fn to_type(self) -> ConnectionType {
        match self {
            Self::Peer => ConnectionType::Peer,
            Self::Distributed => ConnectionType::Distributed,
            Self::File => ConnectionType::File,
        }
    }
}

/// One outgoing connection request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

/// A socket the driver holds: one being dialled, or an accepted one waiting
/// for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketId(u64);

/// Which path established an outgoing connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// We dialled the peer and sent PeerInit.
    Direct,
    /// The peer dialled us and sent PierceFirewall with our ticket.
    Indirect,
}

/// Why an outgoing request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    /// The server gave address 0.0.0.0: the user is not online.
    Offline,
    /// Neither path worked: the direct dial failed (refused, or over its
    /// own timeout) and the peer could not dial back (CannotConnect).
    Unreachable,
    /// The request's time ([`ConnectorConfig::indirect_timeout`]) ran out
    /// before both paths had answered.
    TimedOut,
    /// The server connection was lost before the request finished.
    ServerLost,
    /// Our username is not known yet (not logged in).
    NoUsername,
}

/// Timeouts and choices of the [`Connector`].
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// How long one dial (TCP connect and the peer-init message) may take.
    /// Default 10 s (aioslsk and Soulseek.NET; Nicotine+ uses 2 s).
    pub connect_timeout: Duration,
    /// How long an outgoing request waits in all, in particular for the peer
    /// to dial back with PierceFirewall. Default 20 s (Nicotine+; aioslsk
    /// waits 60 s, Soulseek.NET 10 s).
    pub indirect_timeout: Duration,
    /// Dial the peer's obfuscated port when it advertises one. Default false
    /// (aioslsk's default); an obfuscated port that is the only port is used
    /// either way.
    pub dial_obfuscated: bool,
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            indirect_timeout: Duration::from_secs(20),
            dial_obfuscated: false,
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this to the server.
    SendToServer(ServerRequest),
    /// Connect to `addr` (obfuscated or not), send `init`, then report
    /// [`Connector::dial_succeeded`] or [`Connector::dial_failed`].
    Dial {
        socket: SocketId,
        addr: SocketAddr,
        obfuscated: bool,
        init: PeerInitMessage,
    },
    /// Stop dialling `socket`; it is failed already.
    AbortDial(SocketId),
    /// An outgoing request succeeded: `socket` is now its connection.
    Established {
        request: RequestId,
        username: String,
        kind: PeerConnectionKind,
        socket: SocketId,
        via: Via,
    },
    /// The user opened a connection of this kind to us (PeerInit) while we
    /// were trying to connect: the request is answered by that connection.
    AnsweredByInbound {
        request: RequestId,
        username: String,
        kind: PeerConnectionKind,
    },
    /// A connection the server asked us to make is up: `socket` is now a
    /// connection of `kind` with `username`.
    Pierced {
        username: String,
        kind: PeerConnectionKind,
        socket: SocketId,
    },
    /// An outgoing request failed.
    Failed {
        request: RequestId,
        username: String,
        kind: PeerConnectionKind,
        reason: FailReason,
    },
    /// A connection for a request that is over arrived after all: the peer
    /// dialled us back with PierceFirewall after the request had succeeded
    /// another way (or failed), or our direct dial finished after the other
    /// path won. The peer may use it, so a `P` one should be kept.
    Surplus {
        username: String,
        kind: PeerConnectionKind,
        socket: SocketId,
    },
    /// Close `socket`: nobody wants it.
    Close(SocketId),
}

/// Tickets of recently finished requests remembered, for [`Action::Surplus`].
const RECENT_TICKETS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direct {
    AwaitingAddress,
    Dialing(SocketId),
    Failed,
}

#[derive(Debug)]
struct Request {
    username: String,
    kind: PeerConnectionKind,
    ticket: u32,
    direct: Direct,
    indirect_failed: bool,
    offline: bool,
    /// The deadline passed: the failure is a timeout, not a refusal.
    timed_out: bool,
    deadline: Instant,
}

#[derive(Debug)]
enum Purpose {
    /// The direct path of a request.
    Direct(RequestId),
    /// The direct path of a request that succeeded the other way. Left to
    /// finish rather than aborted: the peer may already hold the socket as
    /// its connection, and one closed at once is wasted on both sides.
    Surplus {
        username: String,
        kind: PeerConnectionKind,
    },
    /// An answer to a ConnectToPeer relayed by the server.
    Pierce {
        username: String,
        kind: PeerConnectionKind,
        ticket: u32,
    },
}

#[derive(Debug)]
struct Dial {
    purpose: Purpose,
    deadline: Instant,
}

/// The peer connection state machine. Feed it events, then drain
/// [`poll_action`](Self::poll_action); call [`poll_timeout`](Self::poll_timeout)
/// at [`next_timeout`](Self::next_timeout).
///
/// Every socket it is told about ([`dial_succeeded`](Self::dial_succeeded),
/// [`inbound_pierce`](Self::inbound_pierce)) comes back in exactly one
/// [`Action::Established`], [`Action::Pierced`], [`Action::Surplus`] or
/// [`Action::Close`].
#[derive(Debug)]
pub struct Connector {
    config: ConnectorConfig,
    username: Option<String>,
    next_ticket: u32,
    next_id: u64,
    requests: HashMap<RequestId, Request>,
    by_ticket: HashMap<u32, RequestId>,
    /// The pending P request per user: P connections are shared, so
    /// concurrent requests for one are answered together.
    peer_requests: HashMap<String, RequestId>,
    dials: HashMap<SocketId, Dial>,
    /// Tickets of finished requests, oldest first: the peer's PierceFirewall
    /// may still arrive.
    recent: VecDeque<(u32, String, PeerConnectionKind)>,
    actions: VecDeque<Action>,
}

impl Connector {
    /// A connector whose ConnectToPeer tickets count up from `first_ticket`.
    pub fn new(config: ConnectorConfig, first_ticket: u32) -> Self {
        Self {
            config,
            username: None,
            next_ticket: first_ticket,
            next_id: 0,
            requests: HashMap::new(),
            by_ticket: HashMap::new(),
            peer_requests: HashMap::new(),
            dials: HashMap::new(),
            recent: VecDeque::new(),
            actions: VecDeque::new(),
        }
    }

    /// Our username (sent in PeerInit), known after login.
    pub fn set_username(&mut self, username: &str) {
        self.username = Some(username.to_owned());
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// A fresh id for a socket the driver accepted.
    pub fn new_socket_id(&mut self) -> SocketId {
        self.next_id += 1;
        SocketId(self.next_id)
    }

    fn new_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn new_ticket(&mut self) -> u32 {
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        ticket
    }

    /// Asks for a connection of `kind` to `username`. A pending `P` request
    /// for the same user is shared; `D` and `F` requests are always new.
    pub fn connect(&mut self, username: &str, kind: PeerConnectionKind, now: Instant) -> RequestId {
        let shared = self
            .peer_requests
            .get(username)
            .filter(|_| kind == PeerConnectionKind::Peer);
        if let Some(&id) = shared {
            return id;
        }
        let id = self.new_request_id();
        if self.username.is_none() {
            self.actions.push_back(Action::Failed {
                request: id,
                username: username.to_owned(),
                kind,
                reason: FailReason::NoUsername,
            });
            return id;
        }
        let ticket = self.new_ticket();
        self.actions.push_back(Action::SendToServer(
            GetPeerAddressRequest {
                username: username.to_owned(),
            }
            .into(),
        ));
        self.actions.push_back(Action::SendToServer(
            ConnectToPeerRequest {
                ticket,
                username: username.to_owned(),
                connection_type: kind.to_type(),
            }
            .into(),
        ));
        self.requests.insert(
            id,
            Request {
                username: username.to_owned(),
                kind,
                ticket,
                direct: Direct::AwaitingAddress,
                indirect_failed: false,
                offline: false,
                timed_out: false,
                deadline: now + self.config.indirect_timeout,
            },
        );
        self.by_ticket.insert(ticket, id);
        if kind == PeerConnectionKind::Peer {
            self.peer_requests.insert(username.to_owned(), id);
        }
        id
    }

    /// The server's answer to GetPeerAddress.
    pub fn peer_address(&mut self, reply: &GetPeerAddressResponse, now: Instant) {
        let waiting: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.username == reply.username && r.direct == Direct::AwaitingAddress)
            .map(|(&id, _)| id)
            .collect();
        let target = if reply.ip.is_unspecified() {
            None
        } else {
            self.choose_port(
                reply.port,
                reply.obfuscation_type,
                reply.obfuscated_port.map(u32::from),
            )
            .map(|(port, obfuscated)| (SocketAddrV4::new(reply.ip, port), obfuscated))
        };
        for id in waiting {
            let Some(request) = self.requests.get_mut(&id) else {
                continue;
            };
            if reply.ip.is_unspecified() {
                // Offline: the indirect path cannot work either.
                request.offline = true;
                request.direct = Direct::Failed;
                request.indirect_failed = true;
            } else if let Some((addr, obfuscated)) = target {
                let username = self.username.clone().unwrap_or_default();
                let init = PeerInit {
                    username,
                    connection_type: request.kind.to_type(),
                    ticket: 0.into(),
                }
                .into();
                let socket = self.new_socket_id();
                self.requests.get_mut(&id).expect("present").direct = Direct::Dialing(socket);
                self.start_dial(socket, addr, obfuscated, init, Purpose::Direct(id), now);
            } else {
                request.direct = Direct::Failed;
            }
            self.settle(id);
        }
    }

    /// The server relayed a ConnectToPeer to us: dial the user back.
    pub fn connect_to_peer(&mut self, relayed: &ConnectToPeerResponse, now: Instant) {
        let Some(kind) = PeerConnectionKind::from_type(&relayed.connection_type) else {
            return;
        };
        let target = if relayed.ip.is_unspecified() {
            None
        } else {
            self.choose_port(
                relayed.port,
                relayed.obfuscation_type,
                relayed.obfuscated_port,
            )
        };
        let Some((port, obfuscated)) = target else {
            self.send_cannot_connect(relayed.ticket, &relayed.username);
            return;
        };
        let socket = self.new_socket_id();
        let init = PeerPierceFirewall {
            ticket: relayed.ticket,
        }
        .into();
        let purpose = Purpose::Pierce {
            username: relayed.username.clone(),
            kind,
            ticket: relayed.ticket,
        };
        let addr = SocketAddrV4::new(relayed.ip, port);
        self.start_dial(socket, addr, obfuscated, init, purpose, now);
    }

    /// The server says the peer could not dial us back for `ticket`.
    pub fn cannot_connect(&mut self, ticket: u32) {
        if let Some(&id) = self.by_ticket.get(&ticket) {
            if let Some(request) = self.requests.get_mut(&id) {
                request.indirect_failed = true;
            }
            self.settle(id);
        }
    }

    /// A dial connected and sent its peer-init message.
    pub fn dial_succeeded(&mut self, socket: SocketId) {
        let Some(dial) = self.dials.remove(&socket) else {
            // Aborted or timed out meanwhile.
            self.actions.push_back(Action::Close(socket));
            return;
        };
        match dial.purpose {
            Purpose::Direct(id) => self.succeed(id, socket, Via::Direct),
            Purpose::Surplus { username, kind } => self.actions.push_back(Action::Surplus {
                username,
                kind,
                socket,
            }),
            Purpose::Pierce { username, kind, .. } => self.actions.push_back(Action::Pierced {
                username,
                kind,
                socket,
            }),
        }
    }

    /// A dial failed (refused, reset, or the peer-init could not be sent).
    pub fn dial_failed(&mut self, socket: SocketId) {
        if let Some(dial) = self.dials.remove(&socket) {
            self.fail_dial(dial);
        }
    }

    /// An accepted socket's first message was PierceFirewall(`ticket`).
    pub fn inbound_pierce(&mut self, ticket: u32, socket: SocketId) {
        if let Some(&id) = self.by_ticket.get(&ticket) {
            return self.succeed(id, socket, Via::Indirect);
        }
        match self.recent.iter().position(|(t, ..)| *t == ticket) {
            Some(i) => {
                let (_, username, kind) = self.recent.remove(i).expect("found");
                self.actions.push_back(Action::Surplus {
                    username,
                    kind,
                    socket,
                });
            }
            None => self.actions.push_back(Action::Close(socket)),
        }
    }

    /// An accepted socket's first message was PeerInit from `username`. A
    /// pending `P` request for that user is answered by it.
    pub fn inbound_init(&mut self, username: &str, kind: PeerConnectionKind) {
        if kind != PeerConnectionKind::Peer {
            return;
        }
        if let Some(&id) = self.peer_requests.get(username) {
            let request = self.finish(id, true);
            self.actions.push_back(Action::AnsweredByInbound {
                request: id,
                username: request.username,
                kind: request.kind,
            });
        }
    }

    /// Fails every pending request (the server is gone: no address and no
    /// relay will come). Dials answering relayed ConnectToPeers go on.
    pub fn server_lost(&mut self) {
        let ids: Vec<RequestId> = self.requests.keys().copied().collect();
        for id in ids {
            let request = self.finish(id, false);
            self.actions.push_back(Action::Failed {
                request: id,
                username: request.username,
                kind: request.kind,
                reason: FailReason::ServerLost,
            });
        }
    }

    /// When [`poll_timeout`](Self::poll_timeout) should next be called.
    pub fn next_timeout(&self) -> Option<Instant> {
        let requests = self.requests.values().map(|r| r.deadline);
        let dials = self.dials.values().map(|d| d.deadline);
        requests.chain(dials).min()
    }

    /// Expires dials and requests whose time is up.
    pub fn poll_timeout(&mut self, now: Instant) {
        let late_dials: Vec<SocketId> = self
            .dials
            .iter()
            .filter(|(_, d)| d.deadline <= now)
            .map(|(&s, _)| s)
            .collect();
        for socket in late_dials {
            let dial = self.dials.remove(&socket).expect("present");
            self.actions.push_back(Action::AbortDial(socket));
            self.fail_dial(dial);
        }
        let late: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            let request = self.requests.get_mut(&id).expect("present");
            request.indirect_failed = true;
            request.timed_out = true;
            if request.direct == Direct::AwaitingAddress {
                request.direct = Direct::Failed;
            }
            // A direct dial under way keeps its own deadline.
            self.settle(id);
        }
    }

    /// The port to dial and whether it is the obfuscated one (§3 "select_port").
    fn choose_port(
        &self,
        port: u32,
        obfuscation: Option<ObfuscationType>,
        obfuscated_port: Option<u32>,
    ) -> Option<(u16, bool)> {
        let usable = |p: u32| u16::try_from(p).ok().filter(|&p| p != 0);
        let plain = usable(port);
        let obfuscated = match obfuscation {
            Some(ObfuscationType::Rotated) => obfuscated_port.and_then(usable),
            _ => None,
        };
        match (plain, obfuscated) {
            (_, Some(o)) if self.config.dial_obfuscated => Some((o, true)),
            (Some(p), _) => Some((p, false)),
            (None, Some(o)) => Some((o, true)),
            (None, None) => None,
        }
    }

    fn start_dial(
        &mut self,
        socket: SocketId,
        addr: SocketAddrV4,
        obfuscated: bool,
        init: PeerInitMessage,
        purpose: Purpose,
        now: Instant,
    ) {
        self.dials.insert(
            socket,
            Dial {
                purpose,
                deadline: now + self.config.connect_timeout,
            },
        );
        self.actions.push_back(Action::Dial {
            socket,
            addr: addr.into(),
            obfuscated,
            init,
        });
    }

    fn fail_dial(&mut self, dial: Dial) {
        match dial.purpose {
            Purpose::Direct(id) => {
                if let Some(request) = self.requests.get_mut(&id) {
                    request.direct = Direct::Failed;
                }
                self.settle(id);
            }
            Purpose::Surplus { .. } => {}
            Purpose::Pierce {
                username, ticket, ..
            } => self.send_cannot_connect(ticket, &username),
        }
    }

    fn send_cannot_connect(&mut self, ticket: u32, username: &str) {
        self.actions.push_back(Action::SendToServer(
            CannotConnectRequest {
                ticket,
                username: username.to_owned(),
            }
            .into(),
        ));
    }

    /// Removes a request and everything that points at it. A direct dial
    /// still under way is left to finish as a surplus connection if the
    /// request `succeeded`, and aborted if not.
    fn finish(&mut self, id: RequestId, succeeded: bool) -> Request {
        let request = self.requests.remove(&id).expect("finishing a live request");
        self.by_ticket.remove(&request.ticket);
        // The peer may still dial back with this ticket, and write on that
        // connection at once: it is kept, not closed unread.
        if self.recent.len() == RECENT_TICKETS {
            self.recent.pop_front();
        }
        self.recent
            .push_back((request.ticket, request.username.clone(), request.kind));
        if self.peer_requests.get(&request.username) == Some(&id) {
            self.peer_requests.remove(&request.username);
        }
        if let Direct::Dialing(socket) = request.direct {
            if succeeded {
                if let Some(dial) = self.dials.get_mut(&socket) {
                    dial.purpose = Purpose::Surplus {
                        username: request.username.clone(),
                        kind: request.kind,
                    };
                }
            } else if self.dials.remove(&socket).is_some() {
                self.actions.push_back(Action::AbortDial(socket));
            }
        }
        request
    }

    fn succeed(&mut self, id: RequestId, socket: SocketId, via: Via) {
        if via == Via::Direct {
            // The winning dial is not a loser to abort.
            if let Some(request) = self.requests.get_mut(&id) {
                request.direct = Direct::Failed;
            }
        }
        let Some(_) = self.requests.get(&id) else {
            self.actions.push_back(Action::Close(socket));
            return;
        };
        let request = self.finish(id, true);
        self.actions.push_back(Action::Established {
            request: id,
            username: request.username,
            kind: request.kind,
            socket,
            via,
        });
    }

    /// Fails the request if both paths have failed.
    fn settle(&mut self, id: RequestId) {
        let Some(request) = self.requests.get(&id) else {
            return;
        };
        if request.direct != Direct::Failed || !request.indirect_failed {
            return;
        }
        let request = self.finish(id, false);
        let reason = if request.offline {
            FailReason::Offline
        } else if request.timed_out {
            FailReason::TimedOut
        } else {
            FailReason::Unreachable
        };
        self.actions.push_back(Action::Failed {
            request: id,
            username: request.username,
            kind: request.kind,
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::server::CannotConnectRequest;
    use std::net::Ipv4Addr;

    const LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

    fn connector() -> (Connector, Instant) {
        let mut c = Connector::new(ConnectorConfig::default(), 100);
        c.set_username("alice");
        (c, Instant::now())
    }

    fn drain(c: &mut Connector) -> Vec<Action> {
        std::iter::from_fn(|| c.poll_action()).collect()
    }

    fn address(ip: Ipv4Addr, port: u32) -> GetPeerAddressResponse {
        GetPeerAddressResponse {
            username: "bob".into(),
            ip,
            port,
            obfuscation_type: None,
            obfuscated_port: None,
        }
    }

    /// Starts a P request to bob and checks the two server messages.
    fn start(c: &mut Connector, now: Instant) -> RequestId {
        let id = c.connect("bob", PeerConnectionKind::Peer, now);
        assert_eq!(
            drain(c),
            [
                Action::SendToServer(
                    GetPeerAddressRequest {
                        username: "bob".into()
                    }
                    .into()
                ),
                Action::SendToServer(
                    ConnectToPeerRequest {
                        ticket: 100,
                        username: "bob".into(),
                        connection_type: ConnectionType::Peer,
                    }
                    .into()
                ),
            ]
        );
        id
    }

    /// Gives bob's address and returns the dial it starts.
    fn dial(c: &mut Connector, now: Instant) -> SocketId {
        c.peer_address(&address(LOCAL, 2234), now);
        match drain(c).as_slice() {
            [
                Action::Dial {
                    socket,
                    addr,
                    obfuscated: false,
                    init: PeerInitMessage::PeerInit(init),
                },
            ] => {
                assert_eq!(*addr, SocketAddr::from((LOCAL, 2234)));
                assert_eq!(init.username, "alice");
                assert_eq!(init.connection_type, ConnectionType::Peer);
                assert_eq!(init.ticket.value(), 0);
                *socket
            }
            other => panic!("expected one dial, got {other:?}"),
        }
    }

    #[test]
    fn direct_path_wins_and_a_late_pierce_is_surplus() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        let socket = dial(&mut c, now);
        c.dial_succeeded(socket);
        assert_eq!(
            drain(&mut c),
            [Action::Established {
                request: id,
                username: "bob".into(),
                kind: PeerConnectionKind::Peer,
                socket,
                via: Via::Direct
            }]
        );
        // The indirect path lost, but the peer may use it.
        let late = c.new_socket_id();
        c.inbound_pierce(100, late);
        assert_eq!(
            drain(&mut c),
            [Action::Surplus {
                username: "bob".into(),
                kind: PeerConnectionKind::Peer,
                socket: late
            }]
        );
        // Only once; an unknown ticket is closed.
        let again = c.new_socket_id();
        c.inbound_pierce(100, again);
        let unknown = c.new_socket_id();
        c.inbound_pierce(5, unknown);
        assert_eq!(
            drain(&mut c),
            [Action::Close(again), Action::Close(unknown)]
        );
        assert_eq!(c.next_timeout(), None);
    }

    #[test]
    fn indirect_path_wins_and_the_direct_dial_is_aborted() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        let dialing = dial(&mut c, now);
        let inbound = c.new_socket_id();
        c.inbound_pierce(100, inbound);
        assert_eq!(
            drain(&mut c),
            [Action::Established {
                request: id,
                username: "bob".into(),
                kind: PeerConnectionKind::Peer,
                socket: inbound,
                via: Via::Indirect
            }]
        );
        // The direct dial is left to finish, as a surplus connection.
        c.dial_succeeded(dialing);
        assert_eq!(
            drain(&mut c),
            [Action::Surplus {
                username: "bob".into(),
                kind: PeerConnectionKind::Peer,
                socket: dialing
            }]
        );
        // A socket the connector does not know is closed.
        let stray = c.new_socket_id();
        c.dial_succeeded(stray);
        assert_eq!(drain(&mut c), [Action::Close(stray)]);
    }

    #[test]
    fn both_paths_failing_fails_the_request() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        let socket = dial(&mut c, now);
        c.dial_failed(socket);
        assert_eq!(drain(&mut c), []);
        c.cannot_connect(100);
        assert_eq!(
            drain(&mut c),
            [Action::Failed {
                request: id,
                username: "bob".into(),
                kind: PeerConnectionKind::Peer,
                reason: FailReason::Unreachable
            }]
        );
    }

    #[test]
    fn cannot_connect_first_leaves_the_direct_path_running() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        c.cannot_connect(100);
        assert_eq!(drain(&mut c), []);
        let socket = dial(&mut c, now);
        c.dial_succeeded(socket);
        assert!(matches!(
            drain(&mut c).as_slice(),
            [Action::Established { request, via: Via::Direct, .. }] if *request == id
        ));
    }

    #[test]
    fn address_zero_means_offline_at_once() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        c.peer_address(&address(Ipv4Addr::UNSPECIFIED, 2234), now);
        assert_eq!(
            drain(&mut c),
            [Action::Failed {
                request: id,
                username: "bob".into(),
                kind: PeerConnectionKind::Peer,
                reason: FailReason::Offline
            }]
        );
        // A later CannotConnect for the ticket is ignored.
        c.cannot_connect(100);
        assert_eq!(drain(&mut c), []);
        // A PierceFirewall for it after all is a connection to keep.
        let late = c.new_socket_id();
        c.inbound_pierce(100, late);
        assert!(matches!(drain(&mut c).as_slice(), [Action::Surplus { .. }]));
    }

    #[test]
    fn port_zero_skips_the_direct_path() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        c.peer_address(&address(LOCAL, 0), now);
        assert_eq!(drain(&mut c), []);
        let inbound = c.new_socket_id();
        c.inbound_pierce(100, inbound);
        assert!(matches!(
            drain(&mut c).as_slice(),
            [Action::Established { request, via: Via::Indirect, .. }] if *request == id
        ));
    }

    #[test]
    fn the_indirect_timeout_fails_a_request_with_no_answers() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        let deadline = c.next_timeout().unwrap();
        assert_eq!(deadline, now + ConnectorConfig::default().indirect_timeout);
        c.poll_timeout(deadline - Duration::from_millis(1));
        assert_eq!(drain(&mut c), []);
        c.poll_timeout(deadline);
        assert!(matches!(
            drain(&mut c).as_slice(),
            [Action::Failed { request, reason: FailReason::TimedOut, .. }] if *request == id
        ));
    }

    #[test]
    fn a_direct_dial_outliving_the_request_deadline_fails_it_as_timed_out() {
        let config = ConnectorConfig {
            connect_timeout: Duration::from_secs(30),
            ..ConnectorConfig::default()
        };
        let mut c = Connector::new(config, 100);
        c.set_username("alice");
        let now = Instant::now();
        let id = start(&mut c, now);
        let socket = dial(&mut c, now);
        // The request's deadline passes while the dial goes on: no verdict.
        c.poll_timeout(now + ConnectorConfig::default().indirect_timeout);
        assert_eq!(drain(&mut c), []);
        c.dial_failed(socket);
        assert!(matches!(
            drain(&mut c).as_slice(),
            [Action::Failed { request, reason: FailReason::TimedOut, .. }] if *request == id
        ));
    }

    #[test]
    fn a_dial_that_takes_too_long_is_aborted() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        let socket = dial(&mut c, now);
        c.cannot_connect(100);
        let connect_deadline = now + ConnectorConfig::default().connect_timeout;
        assert_eq!(c.next_timeout(), Some(connect_deadline));
        c.poll_timeout(connect_deadline);
        assert_eq!(
            drain(&mut c),
            [
                Action::AbortDial(socket),
                Action::Failed {
                    request: id,
                    username: "bob".into(),
                    kind: PeerConnectionKind::Peer,
                    reason: FailReason::Unreachable
                }
            ]
        );
    }

    #[test]
    fn requests_for_one_peer_connection_are_shared() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        assert_eq!(c.connect("bob", PeerConnectionKind::Peer, now), id);
        assert_eq!(drain(&mut c), []);
        // File connections are never shared.
        let file = c.connect("bob", PeerConnectionKind::File, now);
        assert_ne!(file, id);
        assert_eq!(drain(&mut c).len(), 2);
        // One address answers both.
        c.peer_address(&address(LOCAL, 2234), now);
        assert_eq!(drain(&mut c).len(), 2);
    }

    #[test]
    fn an_inbound_peer_init_answers_a_pending_request() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        let socket = dial(&mut c, now);
        c.inbound_init("bob", PeerConnectionKind::Peer);
        assert_eq!(
            drain(&mut c),
            [Action::AnsweredByInbound {
                request: id,
                username: "bob".into(),
                kind: PeerConnectionKind::Peer
            }]
        );
        // The dial under way fails quietly: the request is answered.
        c.dial_failed(socket);
        assert_eq!(drain(&mut c), []);
    }

    #[test]
    fn obfuscated_port_chosen_by_setting_or_when_it_is_the_only_one() {
        let obfuscated = |port| GetPeerAddressResponse {
            obfuscation_type: Some(ObfuscationType::Rotated),
            obfuscated_port: Some(2235),
            ..address(LOCAL, port)
        };
        let dialled = |dial_obfuscated: bool, port: u32| {
            let config = ConnectorConfig {
                dial_obfuscated,
                ..ConnectorConfig::default()
            };
            let mut c = Connector::new(config, 1);
            c.set_username("alice");
            let now = Instant::now();
            c.connect("bob", PeerConnectionKind::Peer, now);
            drain(&mut c);
            c.peer_address(&obfuscated(port), now);
            match drain(&mut c).as_slice() {
                [
                    Action::Dial {
                        addr, obfuscated, ..
                    },
                ] => (addr.port(), *obfuscated),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(dialled(false, 2234), (2234, false));
        assert_eq!(dialled(true, 2234), (2235, true));
        assert_eq!(dialled(false, 0), (2235, true));
    }

    #[test]
    fn a_relayed_connect_to_peer_is_pierced() {
        let (mut c, now) = connector();
        let relayed = ConnectToPeerResponse {
            username: "carol".into(),
            connection_type: ConnectionType::File,
            ip: LOCAL,
            port: 5000,
            ticket: 77,
            privileged: false,
            obfuscation_type: None,
            obfuscated_port: None,
        };
        c.connect_to_peer(&relayed, now);
        let socket = match drain(&mut c).as_slice() {
            [
                Action::Dial {
                    socket,
                    init: PeerInitMessage::PeerPierceFirewall(PeerPierceFirewall { ticket: 77 }),
                    obfuscated: false,
                    ..
                },
            ] => *socket,
            other => panic!("{other:?}"),
        };
        c.dial_succeeded(socket);
        assert_eq!(
            drain(&mut c),
            [Action::Pierced {
                username: "carol".into(),
                kind: PeerConnectionKind::File,
                socket
            }]
        );
    }

    #[test]
    fn a_relayed_connect_to_peer_that_cannot_be_dialled_is_reported() {
        let (mut c, now) = connector();
        let relayed = ConnectToPeerResponse {
            username: "carol".into(),
            connection_type: ConnectionType::Peer,
            ip: LOCAL,
            port: 5000,
            ticket: 77,
            privileged: false,
            obfuscation_type: None,
            obfuscated_port: None,
        };
        let cannot = Action::SendToServer(
            CannotConnectRequest {
                ticket: 77,
                username: "carol".into(),
            }
            .into(),
        );
        // Refused.
        c.connect_to_peer(&relayed, now);
        let Some(Action::Dial { socket, .. }) = c.poll_action() else {
            panic!()
        };
        c.dial_failed(socket);
        assert_eq!(drain(&mut c), std::slice::from_ref(&cannot));
        // Timed out.
        c.connect_to_peer(&relayed, now);
        let Some(Action::Dial { socket, .. }) = c.poll_action() else {
            panic!()
        };
        c.poll_timeout(c.next_timeout().unwrap());
        assert_eq!(drain(&mut c), [Action::AbortDial(socket), cannot.clone()]);
        // No usable address.
        c.connect_to_peer(
            &ConnectToPeerResponse {
                port: 0,
                ..relayed.clone()
            },
            now,
        );
        assert_eq!(drain(&mut c), [cannot]);
        // Unknown connection types are ignored.
        c.connect_to_peer(
            &ConnectToPeerResponse {
                connection_type: ConnectionType::Unknown("X".into()),
                ..relayed
            },
            now,
        );
        assert_eq!(drain(&mut c), []);
    }

    #[test]
    fn losing_the_server_fails_pending_requests() {
        let (mut c, now) = connector();
        let id = start(&mut c, now);
        let socket = dial(&mut c, now);
        c.server_lost();
        assert_eq!(
            drain(&mut c),
            [
                Action::AbortDial(socket),
                Action::Failed {
                    request: id,
                    username: "bob".into(),
                    kind: PeerConnectionKind::Peer,
                    reason: FailReason::ServerLost
                }
            ]
        );
    }

    #[test]
    fn no_username_fails_at_once_and_tickets_count_up() {
        let mut c = Connector::new(ConnectorConfig::default(), u32::MAX);
        let id = c.connect("bob", PeerConnectionKind::Peer, Instant::now());
        assert!(matches!(
            drain(&mut c).as_slice(),
            [Action::Failed { request, reason: FailReason::NoUsername, .. }] if *request == id
        ));
        c.set_username("alice");
        let tickets: Vec<u32> = (0..2)
            .flat_map(|_| {
                c.connect("bob", PeerConnectionKind::File, Instant::now());
                drain(&mut c)
            })
            .filter_map(|a| match a {
                Action::SendToServer(ServerRequest::ConnectToPeer(r)) => Some(r.ticket),
                _ => None,
            })
            .collect();
        assert_eq!(tickets, [u32::MAX, 0]);
    }
}
