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
///
/// Use it with `tokio_util::codec::Framed`, `FramedRead` or `FramedWrite`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use futures_util::{SinkExt, StreamExt};
/// use slsk_net::MessageCodec;
/// use slsk_proto::server::{PingRequest, ServerRequest};
/// use tokio_util::codec::{FramedRead, FramedWrite};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
/// let (accepted, _) = listener.accept().await?;
///
/// let mut to_server = FramedWrite::new(stream, MessageCodec::<ServerRequest>::default());
/// let mut from_client = FramedRead::new(accepted, MessageCodec::<ServerRequest>::default());
/// to_server.send(PingRequest.into()).await?;
/// let message = from_client.next().await.unwrap()?; // an io error ends the stream
/// assert_eq!(message, Ok(PingRequest.into())); // a payload error does not
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MessageCodec<M> {
    limits: Limits,
    message: PhantomData<fn() -> M>,
}

impl<M> MessageCodec<M> {
    /// A codec that enforces `limits` on every frame it decodes.
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
        message.encode_frame(dst);
        Ok(())
    }
}
