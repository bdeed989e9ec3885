//! The five message kinds the tool reads and writes, each one of the
//! generated enums of `slsk-proto`.

use serde::{Serialize, de::DeserializeOwned};
use slsk_proto::FramedMessage;
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ServerRequest,
    ServerResponse,
    PeerInit,
    Peer,
    Distributed,
}

impl Kind {
    pub const ALL: [(&'static str, Kind); 5] = [
        ("server-request", Kind::ServerRequest),
        ("server-response", Kind::ServerResponse),
        ("peer-init", Kind::PeerInit),
        ("peer", Kind::Peer),
        ("distributed", Kind::Distributed),
    ];

    pub fn parse(name: &str) -> Result<Kind, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, kind)| kind)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown kind {name:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }

    /// Decodes one whole frame into the kind's JSON form.
    pub fn decode(self, frame: &[u8]) -> Result<String, String> {
        match self {
            Kind::ServerRequest => decode::<ServerRequest>(frame),
            Kind::ServerResponse => decode::<ServerResponse>(frame),
            Kind::PeerInit => decode::<PeerInitMessage>(frame),
            Kind::Peer => decode::<PeerMessage>(frame),
            Kind::Distributed => decode::<DistributedMessage>(frame),
        }
    }

    /// Encodes the kind's JSON form into a whole frame.
    pub fn encode(self, json: &str) -> Result<Vec<u8>, String> {
        match self {
            Kind::ServerRequest => encode::<ServerRequest>(json),
            Kind::ServerResponse => encode::<ServerResponse>(json),
            Kind::PeerInit => encode::<PeerInitMessage>(json),
            Kind::Peer => encode::<PeerMessage>(json),
            Kind::Distributed => encode::<DistributedMessage>(json),
        }
    }
}

fn decode<M: FramedMessage + Serialize>(frame: &[u8]) -> Result<String, String> {
    let message = M::decode_frame(frame).map_err(|e| e.to_string())?;
    serde_json::to_string(&message).map_err(|e| e.to_string())
}

fn encode<M: FramedMessage + DeserializeOwned>(json: &str) -> Result<Vec<u8>, String> {
    let message: M = serde_json::from_str(json).map_err(|e| format!("bad JSON: {e}"))?;
    message.to_frame().map_err(|e| e.to_string())
}
