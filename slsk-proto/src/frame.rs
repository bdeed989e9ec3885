//! Splitting a connection's byte stream into frames, with no I/O.

use std::marker::PhantomData;

use bytes::BytesMut;

use crate::error::DecodeError;
use crate::limits::Limits;
use crate::message::{FramedMessage, check_frame_size};

/// Splits the first complete frame (length field included) off the front of
/// `buf`, or returns `None` while it has not all arrived.
///
/// The declared length is checked against the limit for `M`'s connection
/// kind as soon as the length field is there, so a peer cannot make the
/// caller buffer a frame that will be refused.
pub fn split_frame<M: FramedMessage>(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<BytesMut>, DecodeError> {
    let Some(len) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let size = u32::from_le_bytes(*len) as usize + 4;
    check_frame_size::<M>(size, limits)?;
    if buf.len() < size {
        return Ok(None);
    }
    Ok(Some(buf.split_to(size)))
}

/// Reads the messages of one connection kind out of the bytes received.
///
/// Feed it what the socket gives ([`push`](Self::push), or read straight into
/// [`buffer_mut`](Self::buffer_mut)) and take messages with
/// [`next_message`](Self::next_message). A frame over the size limit is an
/// error that repeats on every call (the stream cannot be followed any more:
/// close the connection); a frame whose payload does not decode is consumed,
/// so the next call goes on with the next frame.
///
/// ```
/// use slsk_proto::{FrameReader, FramedMessage, Limits};
/// use slsk_proto::peer_init::{PeerInitMessage, PeerPierceFirewall};
/// use slsk_proto::peer::PeerMessage;
///
/// let mut bytes = PeerInitMessage::from(PeerPierceFirewall { ticket: 7 }).to_frame().unwrap();
/// bytes.extend_from_slice(&[4, 0, 0, 0, 4, 0]); // half of a PeerSharesRequest
///
/// let mut reader = FrameReader::<PeerInitMessage>::new(Limits::DEFAULT);
/// reader.push(&bytes);
/// assert!(matches!(reader.next_message(), Ok(Some(PeerInitMessage::PeerPierceFirewall(_)))));
///
/// // After the peer-init message the connection carries peer messages.
/// let mut reader = reader.into_kind::<PeerMessage>();
/// assert!(matches!(reader.next_message(), Ok(None)));
/// reader.push(&[0, 0]);
/// assert!(matches!(reader.next_message(), Ok(Some(PeerMessage::PeerSharesRequest(_)))));
/// ```
pub struct FrameReader<M> {
    buf: BytesMut,
    limits: Limits,
    kind: PhantomData<fn() -> M>,
}

impl<M: FramedMessage> FrameReader<M> {
    pub fn new(limits: Limits) -> Self {
        Self {
            buf: BytesMut::new(),
            limits,
            kind: PhantomData,
        }
    }

    /// Appends bytes received from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer of bytes received but not yet framed, to read into directly.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// How many bytes are buffered.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes the next frame needs (its length field first).
    pub fn wanted(&self) -> usize {
        match self.buf.first_chunk::<4>() {
            None => 4 - self.buf.len(),
            Some(len) => (u32::from_le_bytes(*len) as usize + 4).saturating_sub(self.buf.len()),
        }
    }

    /// The next whole frame (length field included), undecoded.
    pub fn next_frame(&mut self) -> Result<Option<BytesMut>, DecodeError> {
        split_frame::<M>(&mut self.buf, &self.limits)
    }

    /// The next message, or `None` until its frame has all arrived.
    pub fn next_message(&mut self) -> Result<Option<M>, DecodeError> {
        match self.next_frame()? {
            None => Ok(None),
            Some(frame) => M::decode_frame_with(&frame, &self.limits).map(Some),
        }
    }

    /// The same stream read as another connection kind, keeping the bytes
    /// already buffered (a peer connection after its peer-init message).
    pub fn into_kind<N: FramedMessage>(self) -> FrameReader<N> {
        FrameReader {
            buf: self.buf,
            limits: self.limits,
            kind: PhantomData,
        }
    }

    /// The bytes buffered but not framed (a file connection after its
    /// peer-init message carries raw values).
    pub fn into_buffered(self) -> BytesMut {
        self.buf
    }
}

impl<M> std::fmt::Debug for FrameReader<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameReader")
            .field("buffered", &self.buf.len())
            .field("limits", &self.limits)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DecodeErrorKind;
    use crate::FrameLimits;
    use crate::peer::{PeerMessage, PeerSharesRequest};
    use crate::peer_init::PeerInitMessage;

    #[test]
    fn frames_arrive_byte_by_byte() {
        let one = PeerMessage::from(PeerSharesRequest { ticket: Some(9) })
            .to_frame()
            .unwrap();
        let stream: Vec<u8> = one.iter().chain(&one).copied().collect();
        let mut reader = FrameReader::<PeerMessage>::new(Limits::DEFAULT);
        let mut got = Vec::new();
        for &b in &stream {
            assert!(reader.wanted() >= 1);
            reader.push(&[b]);
            while let Some(m) = reader.next_message().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(reader.buffered(), 0);
        assert_eq!(reader.wanted(), 4);
    }

    #[test]
    fn oversized_frame_is_refused_from_its_length_field() {
        let limits = Limits {
            max_frame_size: FrameLimits {
                peer_init: 100,
                ..FrameLimits::DEFAULT
            },
            ..Limits::DEFAULT
        };
        let mut reader = FrameReader::<PeerInitMessage>::new(limits);
        // 97 + 4 = 101 bytes declared; only the length field has arrived.
        reader.push(&97u32.to_le_bytes());
        let e = reader.next_message().unwrap_err();
        assert_eq!(
            e.kind(),
            &DecodeErrorKind::FrameTooLarge {
                size: 101,
                limit: 100
            }
        );
        // The error repeats: the stream cannot be followed past it.
        assert!(reader.next_message().is_err());

        let mut reader = FrameReader::<PeerInitMessage>::new(Limits::DEFAULT);
        reader.push(&(u32::MAX).to_le_bytes());
        assert!(matches!(
            reader.next_message().unwrap_err().kind(),
            DecodeErrorKind::FrameTooLarge { .. }
        ));
    }

    #[test]
    fn a_bad_payload_skips_to_the_next_frame() {
        let good = PeerMessage::from(PeerSharesRequest { ticket: None })
            .to_frame()
            .unwrap();
        let mut reader = FrameReader::<PeerMessage>::new(Limits::DEFAULT);
        // Code 5 (PeerSharesReply) with a body that is not zlib.
        reader.push(&[6, 0, 0, 0, 5, 0, 0, 0, 1, 2]);
        reader.push(&good);
        assert!(reader.next_message().is_err());
        assert!(matches!(
            reader.next_message(),
            Ok(Some(PeerMessage::PeerSharesRequest(_)))
        ));
    }
}
