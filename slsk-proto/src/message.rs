//! The traits the generated messages implement, and framing.
//!
//! Every connection kind frames messages the same way: a little-endian `u32`
//! length (counting the code and the payload, not itself), the code (`u32` on
//! server and peer connections, `u8` for peer-init and distributed messages),
//! then the payload.

use bytes::{BufMut, BytesMut};

use crate::compress::{deflate_into, inflate};
use crate::encode_error::EncodeError;
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

    /// Writes the payload's fields, uncompressed. Fails only for a string,
    /// byte field or array longer than its `u32` length field can say, and
    /// may have written part of the payload by then.
    fn encode_body<B: BufMut>(&self, w: &mut B) -> Result<(), EncodeError>;

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

    /// Decodes a payload as it travels, accepting bytes after the last field
    /// the schema knows (peers and servers add fields over time). Returns the
    /// message and how many bytes it ignored: bytes of the inflated body for
    /// a compressed message, whose zlib stream must still end exactly at the
    /// end of the payload.
    ///
    /// Optional trailing fields are read while bytes remain, so the ignored
    /// bytes are those after the last optional field too; bytes too few for
    /// the next optional field are an error, as in strict decoding.
    fn decode_payload_lenient(
        payload: &[u8],
        limits: &Limits,
    ) -> Result<(Self, usize), DecodeError> {
        let result = if Self::COMPRESSED {
            inflate(payload, limits).and_then(|body| {
                decode_prefix(&body, limits, Self::decode_body).map_err(DecodeError::inflated)
            })
        } else {
            decode_prefix(payload, limits, Self::decode_body)
        };
        result.map_err(|e| e.in_message(Self::NAME))
    }

    /// Encodes the payload as it travels (compressed or not). Fails as
    /// [`encode_body`](Self::encode_body) does; a compressed payload is
    /// written only once its whole body has encoded.
    fn encode_payload<B: BufMut>(&self, w: &mut B) -> Result<(), EncodeError> {
        if Self::COMPRESSED {
            let mut body = Vec::new();
            self.encode_body(&mut body)?;
            deflate_into(&body, w);
            Ok(())
        } else {
            self.encode_body(w)
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

/// Decodes a value from the start of `bytes`; returns it and how many bytes
/// are left after it.
fn decode_prefix<T>(
    bytes: &[u8],
    limits: &Limits,
    decode: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<(T, usize), DecodeError> {
    let mut r = Reader::new(bytes, limits);
    let value = decode(&mut r)?;
    Ok((value, r.remaining()))
}

/// A growable buffer that frames are appended to: `Vec<u8>` or `BytesMut`.
/// [`FramedMessage::encode_frame`] truncates it back when encoding fails.
pub trait FrameBuffer: BufMut + AsMut<[u8]> {
    /// Shortens the buffer to `len` bytes.
    fn truncate(&mut self, len: usize);
}

impl FrameBuffer for Vec<u8> {
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len);
    }
}

impl FrameBuffer for BytesMut {
    fn truncate(&mut self, len: usize) {
        BytesMut::truncate(self, len);
    }
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

    /// Like [`decode_payload`](Self::decode_payload), but bytes after the
    /// last known field are ignored and counted (see
    /// [`Message::decode_payload_lenient`]); `Unknown` keeps every byte.
    fn decode_payload_lenient(
        code: u32,
        payload: &[u8],
        limits: &Limits,
    ) -> Result<(Self, usize), DecodeError>;

    /// Writes the payload (compressed where the message travels compressed).
    /// Fails as [`Message::encode_payload`] does, possibly after writing part
    /// of it; [`encode_frame`](Self::encode_frame) undoes that.
    fn encode_payload<B: BufMut>(&self, w: &mut B) -> Result<(), EncodeError>;

    /// Appends the whole frame (length, code, payload) to `out`.
    ///
    /// Fails for an `Unknown` code that does not fit the kind's code field
    /// (above 255 on peer-init and distributed connections), a string, byte
    /// field or array longer than its `u32` length field can say, or a frame
    /// over 4 GiB. On failure `out` is left as it was.
    fn encode_frame<B: FrameBuffer>(&self, out: &mut B) -> Result<(), EncodeError> {
        let code = self.code();
        if Self::CODE_WIDTH == CodeWidth::U8 && code > u32::from(u8::MAX) {
            return Err(EncodeError::CodeOutOfRange {
                kind: Self::LABEL,
                code,
                max: u32::from(u8::MAX),
            });
        }
        let start = out.as_mut().len();
        out.put_u32_le(0);
        match Self::CODE_WIDTH {
            CodeWidth::U8 => out.put_u8(code as u8),
            CodeWidth::U32 => out.put_u32_le(code),
        }
        if let Err(e) = self.encode_payload(out) {
            out.truncate(start);
            return Err(e);
        }
        match length_field(out.as_mut().len() - start - 4, Self::LABEL) {
            Ok(len) => {
                out.as_mut()[start..start + 4].copy_from_slice(&len.to_le_bytes());
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// The whole frame as a new vector (see [`encode_frame`](Self::encode_frame)).
    fn to_frame(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_frame(&mut out)?;
        Ok(out)
    }

    /// Decodes exactly one whole frame with the default [`Limits`].
    fn decode_frame(frame: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_frame_with(frame, &Limits::DEFAULT)
    }

    /// Decodes exactly one whole frame; every byte of it must be used.
    fn decode_frame_with(frame: &[u8], limits: &Limits) -> Result<Self, DecodeError> {
        let (code, header) = frame_header::<Self>(frame, limits)?;
        Self::decode_payload(code, &frame[header..], limits).map_err(|e| e.shifted(header))
    }

    /// Decodes exactly one whole frame, accepting bytes after the last field
    /// the schema knows: what a connection to real peers and servers wants,
    /// since they add fields over time. Returns the message and how many
    /// bytes were ignored (counted in the inflated body for compressed
    /// messages; 0 when none). The frame itself must still be whole: its
    /// length field must match.
    ///
    /// ```
    /// use slsk_proto::{FramedMessage, Limits};
    /// use slsk_proto::peer_init::{PeerInitMessage, PeerPierceFirewall};
    ///
    /// // PierceFirewall (code 0) with a ticket and two bytes a newer peer added.
    /// let frame = [7, 0, 0, 0, 0, 9, 0, 0, 0, 0xAA, 0xBB];
    /// assert!(PeerInitMessage::decode_frame(&frame).is_err());
    /// let (message, ignored) = PeerInitMessage::decode_frame_lenient(&frame, &Limits::DEFAULT)?;
    /// assert_eq!(message, PeerPierceFirewall { ticket: 9 }.into());
    /// assert_eq!(ignored, 2);
    /// # Ok::<(), slsk_proto::DecodeError>(())
    /// ```
    fn decode_frame_lenient(frame: &[u8], limits: &Limits) -> Result<(Self, usize), DecodeError> {
        let (code, header) = frame_header::<Self>(frame, limits)?;
        Self::decode_payload_lenient(code, &frame[header..], limits).map_err(|e| e.shifted(header))
    }
}

/// Checks a whole frame's size and length field; returns its code and the
/// header length (where the payload starts).
fn frame_header<M: FramedMessage>(
    frame: &[u8],
    limits: &Limits,
) -> Result<(u32, usize), DecodeError> {
    let header = M::CODE_WIDTH.header_len();
    let bad = |reason: String| {
        DecodeError::new(DecodeErrorKind::BadFrame { reason }, 0).in_message(M::LABEL)
    };
    check_frame_size::<M>(frame.len(), limits)?;
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
    let code = match M::CODE_WIDTH {
        CodeWidth::U8 => u32::from(frame[4]),
        CodeWidth::U32 => u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]),
    };
    Ok((code, header))
}

/// The length field of a frame whose code and payload take `len` bytes.
fn length_field(len: usize, kind: &'static str) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| EncodeError::FrameTooLarge { kind, len })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_field_holds_up_to_4_gib() {
        assert_eq!(length_field(0, "peer message"), Ok(0));
        assert_eq!(
            length_field(u32::MAX as usize, "peer message"),
            Ok(u32::MAX)
        );
        assert_eq!(
            length_field(u32::MAX as usize + 1, "peer message"),
            Err(EncodeError::FrameTooLarge {
                kind: "peer message",
                len: 1 << 32
            })
        );
    }
}
