//! The peer-init message that opens every peer connection, both ways, and
//! turning the socket into a `P`, `D` or `F` connection after it without
//! losing bytes that were read along with it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::{DecodeError, Limits};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::MessageCodec;
use crate::file::FileConnection;
use crate::obfuscated::PeerCodec;

/// A socket before or right after its peer-init message.
pub(crate) type InitFramed = Framed<TcpStream, PeerCodec<PeerInitMessage>>;

/// A `P` connection: peer messages, plain or obfuscated.
pub(crate) type PeerFramed = Framed<TcpStream, PeerCodec<PeerMessage>>;

/// A `D` connection: distributed messages (never obfuscated).
pub type DistributedConnection = Framed<TcpStream, MessageCodec<DistributedMessage>>;

/// Why an accepted socket did not give a usable peer-init message.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    TimedOut,
    /// The socket closed before a whole message arrived.
    Closed,
    /// A read error, or a frame over the peer-init size limit.
    Io(io::Error),
    /// A whole frame that is not a valid peer-init message.
    Bad(DecodeError),
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut => f.write_str("no peer-init message in time"),
            Self::Closed => f.write_str("closed before the peer-init message"),
            Self::Io(e) => write!(f, "{e}"),
            Self::Bad(e) => write!(f, "{e}"),
        }
    }
}

/// Reads the first message of an accepted socket (obfuscated if it came to
/// the obfuscated port), under the peer-init size limit and `timeout`.
pub(crate) async fn read_peer_init(
    stream: TcpStream,
    obfuscated: bool,
    limits: &Limits,
    timeout: Duration,
) -> Result<(PeerInitMessage, InitFramed), HandshakeError> {
    let mut framed = Framed::new(stream, PeerCodec::new(obfuscated, limits.clone()));
    match tokio::time::timeout(timeout, framed.next()).await {
        Err(_) => Err(HandshakeError::TimedOut),
        Ok(None) => Err(HandshakeError::Closed),
        Ok(Some(Err(e))) => Err(HandshakeError::Io(e)),
        Ok(Some(Ok(Err(e)))) => Err(HandshakeError::Bad(e)),
        Ok(Some(Ok(Ok(init)))) => Ok((init, framed)),
    }
}

/// Connects to `addr` and sends `init` (a PeerInit or a PierceFirewall),
/// obfuscated if `addr` is the peer's obfuscated port. The caller bounds the
/// time this takes.
pub(crate) async fn dial(
    addr: SocketAddr,
    obfuscated: bool,
    init: PeerInitMessage,
    limits: &Limits,
) -> io::Result<InitFramed> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut framed = Framed::new(stream, PeerCodec::new(obfuscated, limits.clone()));
    framed.send(init).await?;
    Ok(framed)
}

/// After the peer-init message, a `P` connection keeps the framing (plain or
/// obfuscated) and every byte already buffered.
pub(crate) fn into_peer(framed: InitFramed) -> PeerFramed {
    framed.map_codec(PeerCodec::into_kind)
}

/// After the peer-init message, a `D` connection is plain even on the
/// obfuscated port; buffered bytes are kept.
pub(crate) fn into_distributed(framed: InitFramed) -> DistributedConnection {
    framed.map_codec(|codec| MessageCodec::new(codec.limits().clone()))
}

/// After the peer-init message, an `F` connection carries raw values: the
/// socket and the bytes already read past the init message.
pub(crate) fn into_file(framed: InitFramed) -> FileConnection {
    let parts = framed.into_parts();
    FileConnection::new(parts.io, parts.read_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::FramedMessage;
    use slsk_proto::obfuscation::obfuscate;
    use slsk_proto::peer::PeerSharesRequest;
    use slsk_proto::peer_init::{PeerInit, PeerPierceFirewall};
    use slsk_proto::tables::ConnectionType;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    const T: Duration = Duration::from_secs(10);

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.unwrap(), b.unwrap().0)
    }

    fn init(kind: ConnectionType) -> PeerInitMessage {
        PeerInit {
            username: "bob".into(),
            connection_type: kind,
            ticket: 0.into(),
        }
        .into()
    }

    #[tokio::test]
    async fn file_bytes_in_the_init_segment_are_kept() {
        let (mut client, server) = pair().await;
        // One write: PeerInit F, the ticket, the first file bytes.
        let mut bytes = init(ConnectionType::File).to_frame().unwrap();
        bytes.extend_from_slice(&42u32.to_le_bytes());
        bytes.extend_from_slice(b"data");
        client.write_all(&bytes).await.unwrap();
        let (got, framed) = read_peer_init(server, false, &Limits::DEFAULT, T)
            .await
            .unwrap();
        assert_eq!(got, init(ConnectionType::File));
        let mut file = into_file(framed);
        assert_eq!(file.read_ticket().await.unwrap(), 42);
        assert_eq!(file.buffered(), b"data");
    }

    #[tokio::test]
    async fn obfuscated_distributed_connections_turn_plain_after_init() {
        let (mut client, server) = pair().await;
        let mut bytes = obfuscate(
            [5, 6, 7, 8],
            &init(ConnectionType::Distributed).to_frame().unwrap(),
        );
        let ping = DistributedMessage::from(slsk_proto::distributed::DistributedPing {});
        bytes.extend(ping.to_frame().unwrap());
        client.write_all(&bytes).await.unwrap();
        let (_, framed) = read_peer_init(server, true, &Limits::DEFAULT, T)
            .await
            .unwrap();
        let mut d = into_distributed(framed);
        assert_eq!(d.next().await.unwrap().unwrap().unwrap(), ping);
    }

    #[tokio::test]
    async fn obfuscated_peer_connections_stay_obfuscated() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let pierce = PeerInitMessage::from(PeerPierceFirewall { ticket: 3 });
        let (dialled, accepted) = tokio::join!(
            dial(addr, true, pierce.clone(), &Limits::DEFAULT),
            listener.accept()
        );
        let mut p = into_peer(dialled.unwrap());
        let message = PeerMessage::from(PeerSharesRequest { ticket: None });
        p.send(message.clone()).await.unwrap();
        let (got, framed) = read_peer_init(accepted.unwrap().0, true, &Limits::DEFAULT, T)
            .await
            .unwrap();
        assert_eq!(got, pierce);
        let mut accepted = into_peer(framed);
        assert!(accepted.codec().is_obfuscated());
        assert_eq!(accepted.next().await.unwrap().unwrap().unwrap(), message);
    }

    #[tokio::test]
    async fn a_silent_socket_times_out_and_a_huge_length_is_refused() {
        let (_client, server) = pair().await;
        let e = read_peer_init(server, false, &Limits::DEFAULT, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(matches!(e, HandshakeError::TimedOut));

        let (mut client, server) = pair().await;
        client.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
        let e = read_peer_init(server, false, &Limits::DEFAULT, T)
            .await
            .unwrap_err();
        assert!(matches!(e, HandshakeError::Io(_)));
    }
}
