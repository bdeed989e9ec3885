//! Random payloads behind every known code: decoding returns a value or an
//! error, never panics, and whatever decodes re-encodes to a frame that
//! decodes to the same value.

use proptest::prelude::*;

use slsk_proto::FramedMessage;
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};

fn frame(code: u32, width: usize, payload: &[u8]) -> Vec<u8> {
    let mut out = ((width + payload.len()) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&code.to_le_bytes()[..width]);
    out.extend_from_slice(payload);
    out
}

fn check<K: FramedMessage + PartialEq + std::fmt::Debug>(
    codes: &[u32],
    pick: usize,
    payload: &[u8],
) {
    let code = codes[pick % codes.len()];
    let bytes = frame(code, K::CODE_WIDTH.bytes(), payload);
    if let Ok(message) = K::decode_frame(&bytes) {
        let again =
            K::decode_frame(&message.to_frame().unwrap()).expect("re-encoded frame decodes");
        assert_eq!(again, message);
    }
}

fn codes(messages: &[slsk_proto::MessageInfo]) -> Vec<u32> {
    messages.iter().map(|m| m.code).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn server_requests(pick in any::<usize>(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        check::<ServerRequest>(&codes(ServerRequest::MESSAGES), pick, &payload);
    }

    #[test]
    fn server_responses(pick in any::<usize>(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        check::<ServerResponse>(&codes(ServerResponse::MESSAGES), pick, &payload);
    }

    #[test]
    fn peer_init(pick in any::<usize>(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        check::<PeerInitMessage>(&codes(PeerInitMessage::MESSAGES), pick, &payload);
    }

    #[test]
    fn peer(pick in any::<usize>(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        check::<PeerMessage>(&codes(PeerMessage::MESSAGES), pick, &payload);
    }

    #[test]
    fn distributed(pick in any::<usize>(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        check::<DistributedMessage>(&codes(DistributedMessage::MESSAGES), pick, &payload);
    }
}
