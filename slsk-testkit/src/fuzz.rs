//! The checks behind the fuzz targets in `fuzz/`. They live here, in the
//! workspace, so that `cargo test` replays the seed corpus and every input
//! that once crashed them (`fuzz/regressions/`) without libFuzzer.
//!
//! Each check takes raw bytes, never panics on bad input, and panics (a
//! crash for the fuzzer) only when the codec breaks a promise: a decoded
//! message that does not re-encode to itself, a frame reader that disagrees
//! with whole-frame decoding, a streaming decoder that disagrees with the
//! whole decoder.

use arbitrary::{Arbitrary, Unstructured};
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::file::{FileOffset, FileTransferTicket};
use slsk_proto::peer::{PeerMessage, PeerSharesReply};
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::{ServerRequest, ServerResponse};
use slsk_proto::stream::ShareSection;
use slsk_proto::{
    DecodeError, DecodeErrorKind, FrameLimits, FrameReader, FramedMessage, Limits, Message, Wire,
    compress, frame_len,
};

/// A fuzz check: raw bytes in, a panic only for a broken promise.
pub type Check = fn(&[u8]);

/// Every fuzz target, by the name of its file in `fuzz/fuzz_targets/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("server_request", server_request),
    ("server_response", server_response),
    ("peer_init", peer_init),
    ("peer", peer),
    ("distributed", distributed),
    ("file_values", file_values),
    ("compressed", compressed),
    ("frame_reader", frame_reader),
    ("roundtrip", roundtrip),
];

/// Limits for re-decoding what we encoded ourselves: nothing refused.
const TRUSTED: Limits = Limits {
    max_frame_size: FrameLimits {
        server: usize::MAX,
        peer_init: usize::MAX,
        peer: usize::MAX,
        distributed: usize::MAX,
    },
    max_inflated_size: usize::MAX,
    max_inflate_ratio: usize::MAX,
    max_array_len: usize::MAX,
    max_array_depth: usize::MAX,
};

/// Decoding a message, encoding it and decoding again gives the same
/// message and the same bytes: nothing is lost or invented.
fn assert_reencodes<K: FramedMessage + PartialEq + std::fmt::Debug>(message: &K) {
    let frame = message
        .to_frame()
        .unwrap_or_else(|e| panic!("decoded {message:?} does not encode: {e}"));
    let again = K::decode_frame_with(&frame, &TRUSTED)
        .unwrap_or_else(|e| panic!("{message:?} re-encodes to a frame that fails: {e}"));
    assert_eq!(&again, message);
    assert_eq!(again.to_frame().unwrap(), frame);
}

fn framed<K: FramedMessage + PartialEq + std::fmt::Debug>(data: &[u8]) -> Option<K> {
    let message = K::decode_frame(data).ok()?;
    assert_reencodes(&message);
    Some(message)
}

pub fn server_request(data: &[u8]) {
    framed::<ServerRequest>(data);
}

pub fn server_response(data: &[u8]) {
    if let Some(ServerResponse::ServerSearchRequest(search)) = framed::<ServerResponse>(data)
        && let Ok(inner) = search.embedded()
    {
        assert_reencodes(&inner);
    }
}

pub fn peer_init(data: &[u8]) {
    framed::<PeerInitMessage>(data);
}

pub fn peer(data: &[u8]) {
    if let Some(PeerMessage::PeerSharesReply(reply)) = framed::<PeerMessage>(data) {
        let mut payload = Vec::new();
        reply.encode_payload(&mut payload).unwrap();
        assert_eq!(shares_streamed(&payload, &TRUSTED).unwrap(), reply);
    }
}

pub fn distributed(data: &[u8]) {
    if let Some(DistributedMessage::DistributedServerSearchRequest(search)) =
        framed::<DistributedMessage>(data)
        && let Ok(inner) = search.embedded()
    {
        assert_reencodes(&inner);
    }
}

/// The raw values of a file connection.
pub fn file_values(data: &[u8]) {
    if let Ok(ticket) = FileTransferTicket::decode_exact(data) {
        assert_eq!(ticket.to_bytes().unwrap(), data);
    }
    if let Ok(offset) = FileOffset::decode_exact(data) {
        assert_eq!(offset.to_bytes().unwrap(), data);
    }
}

/// The compressed peer messages, by their payload. The first byte picks the
/// message; with its high bit set the rest is an inflated body that is
/// deflated first, so the parsers behind zlib get arbitrary bodies too.
pub fn compressed(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let messages: Vec<u32> = PeerMessage::MESSAGES
        .iter()
        .filter(|m| m.compressed)
        .map(|m| m.code)
        .collect();
    let code = messages[usize::from(selector & 0x7F) % messages.len()];
    let deflated;
    let payload = if selector & 0x80 != 0 {
        let mut out = Vec::new();
        compress::deflate_into(rest, &mut out);
        deflated = out;
        &deflated[..]
    } else {
        rest
    };
    let limits = small_limits();
    let whole = PeerMessage::decode_payload(code, payload, &limits);
    if let Ok(message) = &whole {
        assert_reencodes(message);
    }
    if code == PeerSharesReply::CODE {
        let streamed = shares_streamed(payload, &limits);
        match (&whole, &streamed) {
            (Ok(PeerMessage::PeerSharesReply(w)), Ok(s)) => assert_eq!(w, s),
            // Size checks fall at different points of the two inflates.
            (Err(e), _) | (_, Err(e)) if is_size_error(e) => {}
            (Err(_), Err(_)) => {}
            (w, s) => panic!("whole decode {w:?}, streaming decode {s:?}"),
        }
    }
}

/// Limits small enough that fuzz inputs reach them.
fn small_limits() -> Limits {
    Limits {
        max_frame_size: FrameLimits {
            server: 4096,
            peer_init: 512,
            peer: 16 << 10,
            distributed: 2048,
        },
        max_inflated_size: 2 << 20,
        max_array_len: 10_000,
        ..Limits::DEFAULT
    }
}

fn is_size_error(e: &DecodeError) -> bool {
    matches!(
        e.kind(),
        DecodeErrorKind::InflatedTooLarge { .. } | DecodeErrorKind::InflateRatioTooHigh { .. }
    )
}

/// A share list decoded with `PeerSharesReply::decode_streaming`.
pub fn shares_streamed(payload: &[u8], limits: &Limits) -> Result<PeerSharesReply, DecodeError> {
    let mut public = Vec::new();
    let mut locked = Vec::new();
    let rest = PeerSharesReply::decode_streaming(payload, limits, |section, d| match section {
        ShareSection::Public => public.push(d),
        ShareSection::Locked => locked.push(d),
    })?;
    Ok(PeerSharesReply {
        directories: public,
        unknown: rest.unknown,
        locked_directories: rest.has_locked_directories.then_some(locked),
    })
}

/// A byte stream fed to a `FrameReader` in chunks. The first byte picks the
/// connection kind, the second the chunk size. The messages read must be
/// those of decoding each frame whole, and the reader must never hold more
/// than one frame's limit (plus the last chunk) of bytes.
pub fn frame_reader(data: &[u8]) {
    let [kind, chunk, stream @ ..] = data else {
        return;
    };
    let chunk = usize::from(*chunk % 64) + 1;
    match kind % 5 {
        0 => read_frames::<ServerRequest>(stream, chunk),
        1 => read_frames::<ServerResponse>(stream, chunk),
        2 => read_frames::<PeerInitMessage>(stream, chunk),
        3 => read_frames::<PeerMessage>(stream, chunk),
        _ => read_frames::<DistributedMessage>(stream, chunk),
    }
}

fn read_frames<K: FramedMessage + PartialEq + std::fmt::Debug>(stream: &[u8], chunk: usize) {
    let limits = small_limits();
    let max_frame = limits.max_frame_size.get(K::KIND);
    let mut reader = FrameReader::<K>::new(limits.clone());
    // Bytes pushed into the reader, and how many of them it has framed.
    let mut pushed = 0;
    let mut framed = 0;
    'chunks: for piece in stream.chunks(chunk) {
        reader.push(piece);
        pushed += piece.len();
        assert!(reader.buffered() <= max_frame + chunk);
        loop {
            let expected = whole_frame::<K>(&stream[framed..pushed], &limits);
            let got = reader.next_message();
            match (&expected, got) {
                (None, Ok(None)) => break,
                (Some((len, Ok(want))), Ok(Some(message))) => {
                    assert_eq!(&message, want);
                    framed += len;
                }
                (Some((len, Err(_))), Err(e)) => {
                    if matches!(e.kind(), DecodeErrorKind::FrameTooLarge { .. }) {
                        break 'chunks;
                    }
                    framed += len;
                }
                (_, got) => panic!("reader gave {got:?}, whole frames {expected:?}"),
            }
            assert_eq!(reader.buffered(), pushed - framed);
        }
        assert!(reader.wanted() >= 1);
    }
}

/// The first frame of `stream` decoded whole, with its length; `None` if
/// it has not all arrived (and its length field does not refuse it).
fn whole_frame<K: FramedMessage>(
    stream: &[u8],
    limits: &Limits,
) -> Option<(usize, Result<K, DecodeError>)> {
    let len = frame_len(stream)?;
    let limit = limits.max_frame_size.get(K::KIND);
    if len > limit {
        let kind = DecodeErrorKind::FrameTooLarge { size: len, limit };
        return Some((0, Err(DecodeError::new(kind, 0))));
    }
    let frame = stream.get(..len)?;
    Some((len, K::decode_frame_with(frame, limits)))
}

/// Structure-aware: an arbitrary message of any kind survives encoding and
/// decoding.
pub fn roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(kind) = u.int_in_range(0..=4u8) else {
        return;
    };
    match kind {
        0 => arbitrary_round_trip::<ServerRequest>(&mut u),
        1 => arbitrary_round_trip::<ServerResponse>(&mut u),
        2 => arbitrary_round_trip::<PeerInitMessage>(&mut u),
        3 => {
            if let Ok(PeerMessage::PeerSharesReply(reply)) = PeerMessage::arbitrary(&mut u) {
                let mut payload = Vec::new();
                reply.encode_payload(&mut payload).unwrap();
                assert_eq!(shares_streamed(&payload, &TRUSTED).unwrap(), reply);
                assert_reencodes(&PeerMessage::from(reply));
            } else {
                arbitrary_round_trip::<PeerMessage>(&mut u);
            }
        }
        _ => arbitrary_round_trip::<DistributedMessage>(&mut u),
    }
}

fn arbitrary_round_trip<'a, K>(u: &mut Unstructured<'a>)
where
    K: FramedMessage + PartialEq + std::fmt::Debug + Arbitrary<'a>,
{
    if let Ok(message) = K::arbitrary(u) {
        assert_reencodes(&message);
    }
}
