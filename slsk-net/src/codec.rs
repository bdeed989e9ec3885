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

    /// The limits the codec decodes with.
    pub fn limits(&self) -> &Limits {
        &self.limits
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

    fn encode(&mut self, message: M, dst: &mut BytesMut) -> io::Result<()> {
        self.encode(&message, dst)
    }
}

/// Encoding by reference keeps the message, e.g. to send it elsewhere if
/// this connection fails.
impl<M: FramedMessage> Encoder<&M> for MessageCodec<M> {
    type Error = io::Error;

    fn encode(&mut self, message: &M, dst: &mut BytesMut) -> io::Result<()> {
        message.encode_frame(dst);
        Ok(())
    }
}
