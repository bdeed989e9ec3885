//! The traits the generated messages implement, and framing.
//!
//! Every connection kind frames messages the same way: a little-endian `u32`
//! length (counting the code and the payload, not itself), the code (`u32` on
//! server and peer connections, `u8` for peer-init and distributed messages),
//! then the payload.

use bytes::BufMut;

use crate::compress::{deflate_into, inflate};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::limits::{ConnectionKind, Limits};
use crate::tables::MessageStatus;
use crate::wire::Reader;

/// One direction of one message in the schema.
pub trait Message: Sized {
    /// The message's name in the schema.
    const NAME: &'static str;
    const CODE: u32;
    const STATUS: MessageStatus;
    /// Whether the payload travels zlib-compressed.
    const COMPRESSED: bool;

    /// Reads the (inflated) payload's fields.
    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Writes the payload's fields, uncompressed.
    fn encode_body<B: BufMut>(&self, w: &mut B);

    /// Decodes a payload as it travels (compressed or not); every byte must
    /// be used.
    fn decode_payload(payload: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        let result = if Self::COMPRESSED {
            inflate(payload, limits).and_then(|body| {
                decode_whole(&body, limits, Self::decode_body).map_err(DecodeError::inflated)
            })
        } else {
            decode_whole(payload, limits, Self::decode_body)
        };
        result.map_err(|e| e.in_message(Self::NAME))
    }

    /// Encodes the payload as it travels (compressed or not).
    fn encode_payload<B: BufMut>(&self, w: &mut B) {
        if Self::COMPRESSED {
            let mut body = Vec::new();
            self.encode_body(&mut body);
            deflate_into(&body, w);
        } else {
            self.encode_body(w);
        }
    }
}

fn decode_whole<T>(
    bytes: &[u8],
    limits: &Limits,
    decode: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes, limits);
    let value = decode(&mut r)?;
    r.finish()?;
    Ok(value)
}

/// The width of the code in a frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeWidth {
    U8,
    U32,
}

impl CodeWidth {
    pub fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U32 => 4,
        }
    }

    /// Length field plus code.
    pub fn header_len(self) -> usize {
        4 + self.bytes()
    }
}

/// What the schema says about one message (see [`FramedMessage::MESSAGES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub name: &'static str,
    /// The generated Rust type.
    pub type_name: &'static str,
    pub code: u32,
    pub status: MessageStatus,
    pub compressed: bool,
}

/// All messages of one connection kind and direction: the generated enums
/// `ServerRequest`, `ServerResponse`, `PeerInitMessage`, `PeerMessage` and
/// `DistributedMessage`.
pub trait FramedMessage: Sized {
    /// The connection kind these messages travel on (for its frame limit).
    const KIND: ConnectionKind;
    const CODE_WIDTH: CodeWidth;
    /// What the enum carries, e.g. "server request".
    const LABEL: &'static str;
    /// Every message the enum can hold, by code.
    const MESSAGES: &'static [MessageInfo];

    fn code(&self) -> u32;

    /// Decodes the payload of a message with this code; unknown codes give
    /// the enum's `Unknown` variant.
    fn decode_payload(code: u32, payload: &[u8], limits: &Limits) -> Result<Self, DecodeError>;

    fn encode_payload<B: BufMut>(&self, w: &mut B);

    /// Appends the whole frame (length, code, payload) to `out`.
    ///
    /// On `u8`-coded kinds an `Unknown` code above 255 is truncated to its low byte.
    fn encode_frame<B: BufMut + AsMut<[u8]>>(&self, out: &mut B) {
        let start = out.as_mut().len();
        out.put_u32_le(0);
        match Self::CODE_WIDTH {
            CodeWidth::U8 => out.put_u8(self.code() as u8),
            CodeWidth::U32 => out.put_u32_le(self.code()),
        }
        self.encode_payload(out);
        let len = out.as_mut().len() - start - 4;
        let len = u32::try_from(len).expect("a frame longer than 4 GiB cannot be sent");
        out.as_mut()[start..start + 4].copy_from_slice(&len.to_le_bytes());
    }

    /// The whole frame as a new vector.
    fn to_frame(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_frame(&mut out);
        out
    }

    /// Decodes exactly one whole frame with the default [`Limits`].
    fn decode_frame(frame: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_frame_with(frame, &Limits::DEFAULT)
    }

    /// Decodes exactly one whole frame.
    fn decode_frame_with(frame: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        let header = Self::CODE_WIDTH.header_len();
        let bad = |reason: String| {
            DecodeError::new(DecodeErrorKind::BadFrame { reason }, 0).in_message(Self::LABEL)
        };
        check_frame_size::<Self>(frame.len(), limits)?;
        let Some(&[a, b, c, d]) = frame.first_chunk::<4>() else {
            return Err(bad(format!(
                "{} byte(s) cannot hold a length field",
                frame.len()
            )));
        };
        let declared = u32::from_le_bytes([a, b, c, d]) as usize;
        if declared != frame.len() - 4 {
            return Err(bad(format!(
                "the length field says {declared} byte(s) follow, the frame has {}",
                frame.len() - 4
            )));
        }
        if frame.len() < header {
            return Err(bad(format!(
                "{} byte(s) cannot hold a {header}-byte header",
                frame.len()
            )));
        }
        let code = match Self::CODE_WIDTH {
            CodeWidth::U8 => u32::from(frame[4]),
            CodeWidth::U32 => u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]),
        };
        Self::decode_payload(code, &frame[header..], limits).map_err(|e| e.shifted(header))
    }
}

/// Fails if a frame of `size` bytes (length field included) is over the
/// limit for `M`'s connection kind.
pub(crate) fn check_frame_size<M: FramedMessage>(
    size: usize,
    limits: &Limits,
) -> Result<(), DecodeError> {
    let limit = limits.max_frame_size.get(M::KIND);
    if size > limit {
        return Err(
            DecodeError::new(DecodeErrorKind::FrameTooLarge { size, limit }, 0)
                .in_message(M::LABEL),
        );
    }
    Ok(())
}

/// The size of the complete frame that starts `buf` (length field included),
/// once its length field has arrived.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    buf.first_chunk::<4>()
        .map(|len| u32::from_le_bytes(*len) as usize + 4)
}

/// Arbitrary messages of a kind, code by code: what round-trip tests, fuzz
/// seeds and the conformance suite iterate over.
#[cfg(feature = "arbitrary")]
pub trait ArbitraryMessage: FramedMessage + for<'a> arbitrary::Arbitrary<'a> {
    /// An arbitrary message with the given code (`Unknown` if the schema does
    /// not define it).
    fn arbitrary_with_code(
        code: u32,
        u: &mut arbitrary::Unstructured<'_>,
    ) -> arbitrary::Result<Self>;

    /// Every code the schema defines, then the lowest one it does not (for
    /// the `Unknown` variant).
    fn sample_codes() -> Vec<u32> {
        let mut codes: Vec<u32> = Self::MESSAGES.iter().map(|m| m.code).collect();
        let unknown = (0..).find(|c| !codes.contains(c)).unwrap_or(u32::MAX);
        codes.push(unknown);
        codes
    }
}
