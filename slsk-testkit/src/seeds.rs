//! Seed inputs for each fuzz target, made from the same arbitrary messages
//! as the round-trip tests plus the realistic messages of [`crate::data`].

use arbitrary::Unstructured;
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::PeerMessage;
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};
use slsk_proto::{ArbitraryMessage, FramedMessage, compress};

use crate::data::{self, Rng};

/// Arbitrary messages per code (the round-trip tests use 48; seeds need few).
const PER_CODE: usize = 3;

/// Arbitrary messages of every code of `K`.
fn messages<K: ArbitraryMessage>(rng: &mut Rng) -> Vec<K> {
    let mut out = Vec::new();
    for code in K::sample_codes() {
        for n in 0..PER_CODE {
            let bytes = rng.bytes(32 << n);
            if let Ok(m) = K::arbitrary_with_code(code, &mut Unstructured::new(&bytes)) {
                out.push(m);
            }
        }
    }
    out
}

fn frames<K: ArbitraryMessage>(rng: &mut Rng) -> Vec<Vec<u8>> {
    messages::<K>(rng)
        .iter()
        .map(|m| m.to_frame().unwrap())
        .collect()
}

/// The seed inputs of the fuzz target `target`.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(target.len() as u64);
    match target {
        "server_request" => frames::<ServerRequest>(&mut rng),
        "server_response" => frames::<ServerResponse>(&mut rng),
        "peer_init" => frames::<PeerInitMessage>(&mut rng),
        "peer" => {
            let mut out = frames::<PeerMessage>(&mut rng);
            out.push(
                PeerMessage::from(data::share_list(3, 4))
                    .to_frame()
                    .unwrap(),
            );
            out.push(PeerMessage::from(data::search_reply(5)).to_frame().unwrap());
            out
        }
        "distributed" => {
            let mut out = frames::<DistributedMessage>(&mut rng);
            out.extend(data::search_requests(4).map(|m| m.to_frame().unwrap()));
            out
        }
        "file_values" => vec![vec![1, 0, 0, 0], vec![0, 0, 1, 0, 0, 0, 0, 0]],
        "compressed" => compressed(&mut rng),
        "frame_reader" => frame_streams(&mut rng),
        "roundtrip" => (0..64).map(|n| rng.bytes(16 + 8 * n)).collect(),
        other => panic!("no fuzz target named {other}"),
    }
}

/// Compressed payloads (selector byte, payload) and inflated bodies
/// (selector with the high bit, body) of every compressed peer message.
fn compressed(rng: &mut Rng) -> Vec<Vec<u8>> {
    let compressed: Vec<u32> = PeerMessage::MESSAGES
        .iter()
        .filter(|m| m.compressed)
        .map(|m| m.code)
        .collect();
    let mut out = Vec::new();
    let mut push = |message: &PeerMessage| {
        let Some(index) = compressed.iter().position(|&c| c == message.code()) else {
            return;
        };
        let frame = message.to_frame().unwrap();
        let payload = &frame[8..];
        let mut seed = vec![index as u8];
        seed.extend_from_slice(payload);
        let body = compress::inflate(payload, &slsk_proto::Limits::DEFAULT).unwrap();
        let mut inflated = vec![index as u8 | 0x80];
        inflated.extend_from_slice(&body);
        out.push(seed);
        out.push(inflated);
    };
    for message in messages::<PeerMessage>(rng) {
        push(&message);
    }
    push(&data::share_list(4, 3).into());
    push(&data::search_reply(4).into());
    out
}

/// Streams of several frames: kind byte, chunk byte, then the frames.
fn frame_streams(rng: &mut Rng) -> Vec<Vec<u8>> {
    fn stream<K: ArbitraryMessage>(kind: u8, rng: &mut Rng) -> Vec<Vec<u8>> {
        let frames = frames::<K>(rng);
        frames
            .chunks(4)
            .map(|group| {
                let mut seed = vec![kind, rng.next_u64() as u8];
                for frame in group {
                    seed.extend_from_slice(frame);
                }
                seed
            })
            .collect()
    }
    let mut out = stream::<ServerRequest>(0, rng);
    out.extend(stream::<ServerResponse>(1, rng));
    out.extend(stream::<PeerInitMessage>(2, rng));
    out.extend(stream::<PeerMessage>(3, rng));
    out.extend(stream::<DistributedMessage>(4, rng));
    out
}
