//! Every message of every kind and direction, with arbitrary values: encoding
//! then decoding gives the value back, and re-encoding gives the same bytes.
//!
//! The list of messages comes from the generated `FramedMessage::MESSAGES` tables, so a new
//! schema entry is covered without touching this file.

use arbitrary::Unstructured;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};
use slsk_proto::{ArbitraryMessage, FramedMessage, Limits};

const CASES_PER_MESSAGE: u32 = 48;

fn round_trip_all<K: ArbitraryMessage + PartialEq + std::fmt::Debug>() -> usize {
    let codes = K::sample_codes();
    for &code in &codes {
        let mut runner = TestRunner::new(Config {
            cases: CASES_PER_MESSAGE,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&proptest::collection::vec(any::<u8>(), 0..512), |bytes| {
                let mut u = Unstructured::new(&bytes);
                let Ok(message) = K::arbitrary_with_code(code, &mut u) else {
                    return Ok(());
                };
                let frame = message.to_frame().unwrap();
                let decoded = K::decode_frame(&frame).map_err(|e| {
                    TestCaseError::fail(format!("{message:?} does not decode: {e}"))
                })?;
                prop_assert_eq!(&decoded, &message);
                prop_assert_eq!(&decoded.to_frame().unwrap(), &frame);
                // Lenient decoding of an exact frame agrees and ignores nothing.
                let lenient = K::decode_frame_lenient(&frame, &Limits::DEFAULT).map_err(|e| {
                    TestCaseError::fail(format!("{message:?} does not decode leniently: {e}"))
                })?;
                prop_assert_eq!(lenient, (message, 0));
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
                let frame = message.to_frame().unwrap();
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
