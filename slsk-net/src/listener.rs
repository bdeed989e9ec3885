//! Accepting peer connections: each accepted socket must send its peer-init
//! message within the handshake timeout and the peer-init size limit, or it
//! is dropped. Only then does the core see it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use slsk_proto::Limits;
use slsk_proto::peer_init::PeerInitMessage;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, warn};

use crate::handshake::{InitFramed, read_peer_init};
use crate::stats::Counters;

/// A socket that sent a well-formed peer-init message.
pub(crate) struct Accepted {
    pub init: PeerInitMessage,
    pub framed: InitFramed,
    pub addr: SocketAddr,
}

/// Settings of the accept loops.
#[derive(Clone)]
pub(crate) struct AcceptSettings {
    pub limits: Limits,
    pub handshake_timeout: Duration,
    /// Sockets waiting for their peer-init message, over all listeners.
    pub handshakes: Arc<Semaphore>,
    pub counters: Arc<Counters>,
}

/// Accepts sockets until `shutdown`, reading each one's peer-init message
/// in its own task (obfuscated if this is the obfuscated port).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    obfuscated: bool,
    settings: AcceptSettings,
    out: mpsc::Sender<Accepted>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
        };
        let Ok(permit) = settings.handshakes.clone().try_acquire_owned() else {
            debug!(%addr, "too many handshakes under way, dropping");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let settings = settings.clone();
        let out = out.clone();
        let shutdown = shutdown.clone();
        let span = tracing::debug_span!("handshake", %addr, obfuscated);
        tokio::spawn(
            async move {
                let read = read_peer_init(
                    stream,
                    obfuscated,
                    &settings.limits,
                    settings.handshake_timeout,
                );
                let result = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    result = read => result,
                };
                drop(permit);
                match result {
                    Ok((init, framed)) => {
                        settings.counters.accepted(obfuscated);
                        let _ = out.send(Accepted { init, framed, addr }).await;
                    }
                    Err(e) => debug!(error = %e, "handshake failed, dropping"),
                }
            }
            .instrument(span),
        );
    }
}
