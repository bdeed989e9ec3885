//! Every message of every kind and direction, with arbitrary values: encoding
//! then decoding gives the value back, and re-encoding gives the same bytes.
//!
//! The list of messages comes from the generated `MESSAGES` tables, so a new
//! schema entry is covered without touching this file.

use arbitrary::Unstructured;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use slsk_proto::FramedMessage;
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};

const CASES_PER_MESSAGE: u32 = 48;

trait Arbitrarily: FramedMessage + PartialEq + std::fmt::Debug {
    fn codes() -> Vec<u32>;
    fn with_code(code: u32, u: &mut Unstructured<'_>) -> arbitrary::Result<Self>;
}

macro_rules! arbitrarily {
    ($($kind:ty),*) => {$(
        impl Arbitrarily for $kind {
            fn codes() -> Vec<u32> {
                let mut codes: Vec<u32> = <$kind>::MESSAGES.iter().map(|m| m.code).collect();
                // And one code the schema does not define.
                let unknown = (0..).find(|c| !codes.contains(c)).unwrap();
                codes.push(unknown);
                codes
            }

            fn with_code(code: u32, u: &mut Unstructured<'_>) -> arbitrary::Result<Self> {
                <$kind>::arbitrary_with_code(code, u)
            }
        }
    )*};
}

arbitrarily!(
    ServerRequest,
    ServerResponse,
    PeerInitMessage,
    PeerMessage,
    DistributedMessage
);

fn round_trip_all<K: Arbitrarily>() -> usize {
    let codes = K::codes();
    for &code in &codes {
        let mut runner = TestRunner::new(Config {
            cases: CASES_PER_MESSAGE,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&proptest::collection::vec(any::<u8>(), 0..512), |bytes| {
                let mut u = Unstructured::new(&bytes);
                let Ok(message) = K::with_code(code, &mut u) else {
                    return Ok(());
                };
                let frame = message.to_frame();
                let decoded = K::decode_frame(&frame).map_err(|e| {
                    TestCaseError::fail(format!("{message:?} does not decode: {e}"))
                })?;
                prop_assert_eq!(&decoded, &message);
                prop_assert_eq!(decoded.to_frame(), frame);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{} code {code}: {e}", K::LABEL));
    }
    codes.len()
}

#[test]
fn server_requests_round_trip() {
    assert!(round_trip_all::<ServerRequest>() > 60);
}

#[test]
fn server_responses_round_trip() {
    assert!(round_trip_all::<ServerResponse>() > 60);
}

#[test]
fn peer_init_messages_round_trip() {
    assert_eq!(round_trip_all::<PeerInitMessage>(), 3);
}

#[test]
fn peer_messages_round_trip() {
    assert!(round_trip_all::<PeerMessage>() > 16);
}

#[test]
fn distributed_messages_round_trip() {
    assert!(round_trip_all::<DistributedMessage>() > 7);
}

/// Truncating any valid frame gives an error, never a panic or a wrong value.
#[test]
fn truncated_frames_fail_cleanly() {
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(
                proptest::collection::vec(any::<u8>(), 0..512),
                any::<prop::sample::Index>(),
            ),
            |(bytes, cut)| {
                let mut u = Unstructured::new(&bytes);
                let Ok(message) = arbitrary::Arbitrary::arbitrary(&mut u) else {
                    return Ok(());
                };
                let message: PeerMessage = message;
                let frame = message.to_frame();
                let cut = cut.index(frame.len());
                // A shorter frame with a corrected length field.
                let mut short = frame[..cut.max(8)].to_vec();
                if short.len() < frame.len() {
                    let len = (short.len() - 4) as u32;
                    short[..4].copy_from_slice(&len.to_le_bytes());
                    if let Ok(decoded) = PeerMessage::decode_frame(&short) {
                        // Only optional trailing fields may be cut off.
                        prop_assert_eq!(decoded.code(), message.code());
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}
