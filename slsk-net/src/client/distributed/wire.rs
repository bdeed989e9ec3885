//! Framing for `D` connections that keeps each frame's bytes as they
//! arrived, so a search is passed on without being re-encoded.

use std::io;

use bytes::{Bytes, BytesMut};
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::{FramedMessage, Limits, frame_len, split_frame};
use tokio_util::codec::Decoder;

/// Free space ensured before each read.
const READ_BUFFER: usize = 64 * 1024;

/// Splits a `D` byte stream into whole frames (length, code, payload),
/// refusing a frame over the distributed size limit from its length field
/// alone, before it is buffered.
#[derive(Debug, Clone)]
pub(crate) struct RawFrames {
    limits: Limits,
}

impl RawFrames {
    pub(crate) fn new(limits: Limits) -> Self {
        Self { limits }
    }
}

impl Decoder for RawFrames {
    type Item = Bytes;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Bytes>> {
        let frame = split_frame::<DistributedMessage>(src, &self.limits)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        match frame {
            Some(frame) => Ok(Some(frame.freeze())),
            None => {
                // Room for the rest of this frame, and for many small
                // frames per read (searches are tens of bytes): the
                // reader otherwise reads 8 KiB at a time.
                let rest = frame_len(src).map_or(0, |len| len.saturating_sub(src.len()));
                src.reserve(rest.max(READ_BUFFER));
                Ok(None)
            }
        }
    }
}

/// The code byte of a whole frame, if it has one.
pub(crate) fn frame_code(frame: &[u8]) -> Option<u8> {
    frame.get(4).copied()
}

/// The whole frame of a distributed message (`None` only for what the wire
/// cannot carry, which our own small messages never are).
pub(crate) fn encode(message: impl Into<DistributedMessage>) -> Option<Bytes> {
    message.into().to_frame().ok().map(Bytes::from)
}

/// A code-3 frame around an embedded search payload (from the server's
/// EmbeddedMessage or a parent's obsolete `D` 93).
pub(crate) fn embedded_frame(code: u8, payload: &[u8]) -> Option<Bytes> {
    let len = u32::try_from(payload.len().checked_add(1)?).ok()?;
    let mut frame = BytesMut::with_capacity(payload.len() + 5);
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&[code]);
    frame.extend_from_slice(payload);
    Some(frame.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::distributed::DistributedSearchRequest;

    #[test]
    fn frames_come_out_whole_and_oversized_ones_are_refused() {
        let search = DistributedSearchRequest {
            unknown: 49,
            username: "bob".into(),
            ticket: 7,
            query: "moon safari".into(),
        };
        let frame = encode(search.clone()).unwrap();
        let mut src = BytesMut::new();
        src.extend_from_slice(&frame);
        src.extend_from_slice(&frame[..3]);
        let mut codec = RawFrames::new(Limits::DEFAULT);
        assert_eq!(codec.decode(&mut src).unwrap(), Some(frame.clone()));
        assert_eq!(codec.decode(&mut src).unwrap(), None, "a partial frame");

        let mut huge = BytesMut::from(&u32::MAX.to_le_bytes()[..]);
        assert!(codec.decode(&mut huge).is_err(), "past the size limit");

        let rebuilt = embedded_frame(3, &frame[5..]).unwrap();
        assert_eq!(rebuilt, frame);
        assert_eq!(frame_code(&frame), Some(3));
        assert_eq!(frame_code(&frame[..4]), None);
    }
}
