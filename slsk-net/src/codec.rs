//! A tokio-util codec for one connection kind: frames in, typed messages out.

use std::io;
use std::marker::PhantomData;

use bytes::BytesMut;
use slsk_proto::{DecodeError, FramedMessage, Limits, frame_len, split_frame};
use tokio_util::codec::{Decoder, Encoder};

/// Frames and parses the messages of one connection kind and direction, e.g.
/// `MessageCodec<ServerResponse>` for what a client reads from the server.
///
/// A frame whose payload does not decode yields `Err(DecodeError)` as an
/// *item*: the frame has been consumed, the stream stays usable, and the
/// connection decides what to do. Only a frame over the size limit is a stream
/// error, since nothing after it can be trusted.
#[derive(Debug, Clone)]
pub struct MessageCodec<M> {
    limits: Limits,
    message: PhantomData<fn() -> M>,
}

impl<M> MessageCodec<M> {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            message: PhantomData,
        }
    }
}

impl<M> Default for MessageCodec<M> {
    fn default() -> Self {
        Self::new(Limits::DEFAULT)
    }
}

impl<M: FramedMessage> Decoder for MessageCodec<M> {
    type Item = Result<M, DecodeError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        // The size limit is checked from the length field alone, before the
        // frame is buffered.
        let frame = split_frame::<M>(src, &self.limits)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        match frame {
            Some(frame) => Ok(Some(M::decode_frame_with(&frame, &self.limits))),
            None => {
                if let Some(len) = frame_len(src) {
                    src.reserve(len.saturating_sub(src.len()));
                }
                Ok(None)
            }
        }
    }
}

impl<M: FramedMessage> Encoder<M> for MessageCodec<M> {
    type Error = io::Error;

    /// A message the wire cannot carry (see [`slsk_proto::EncodeError`]) is an
    /// [`io::ErrorKind::InvalidInput`] error wrapping the `EncodeError`;
    /// nothing of it is left in `dst`.
    fn encode(&mut self, message: M, dst: &mut BytesMut) -> io::Result<()> {
        message
            .encode_frame(dst)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::EncodeError;
    use slsk_proto::distributed::DistributedMessage;
    use slsk_proto::peer_init::{PeerInitMessage, PeerPierceFirewall};

    #[test]
    fn a_message_the_wire_cannot_carry_is_invalid_input() {
        let mut dst = BytesMut::new();
        let mut codec = MessageCodec::<PeerInitMessage>::default();
        codec
            .encode(PeerPierceFirewall { ticket: 3 }.into(), &mut dst)
            .unwrap();
        let before = dst.clone();

        let mut codec = MessageCodec::<DistributedMessage>::default();
        let unknown = DistributedMessage::Unknown {
            code: 256,
            payload: vec![1, 2],
        };
        let e = codec.encode(unknown, &mut dst).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let inner = e.get_ref().unwrap().downcast_ref::<EncodeError>().unwrap();
        assert!(matches!(
            inner,
            EncodeError::CodeOutOfRange { code: 256, .. }
        ));
        assert_eq!(dst, before, "nothing of the refused message is left");
    }
}
