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
/// Bytes after the last field the schema knows are accepted and reported
/// through `tracing` (debug level): peers and servers add fields over time,
/// and a message that carries one more must not be lost. The strict decoder,
/// which refuses them, stays available as
/// [`FramedMessage::decode_frame_with`] (the conformance suite uses it).
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
            Some(frame) => Ok(Some(decode_lenient(&frame, &self.limits))),
            None => {
                if let Some(len) = frame_len(src) {
                    src.reserve(len.saturating_sub(src.len()));
                }
                Ok(None)
            }
        }
    }
}

/// Decodes one whole frame, accepting (and logging) bytes after the last
/// known field. Shared by every codec of the crate.
pub(crate) fn decode_lenient<M: FramedMessage>(
    frame: &[u8],
    limits: &Limits,
) -> Result<M, DecodeError> {
    let (message, trailing) = M::decode_frame_lenient(frame, limits)?;
    if trailing > 0 {
        tracing::debug!(
            kind = M::LABEL,
            code = message.code(),
            trailing,
            "ignored bytes after the last known field"
        );
    }
    Ok(message)
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

    #[test]
    fn bytes_after_the_last_known_field_are_accepted() {
        use slsk_proto::server::{GetUserStatusResponse, ServerResponse};
        use slsk_proto::tables::UserStatus;
        let status = ServerResponse::from(GetUserStatusResponse {
            username: "bob".into(),
            status: UserStatus::Online,
            privileged: false,
        });
        let mut frame = status.to_frame().unwrap();
        // A newer server appends a field: the length grows by four bytes.
        frame.extend_from_slice(&[7, 0, 0, 0]);
        let len = u32::try_from(frame.len() - 4).unwrap();
        frame[..4].copy_from_slice(&len.to_le_bytes());
        assert!(
            ServerResponse::decode_frame(&frame).is_err(),
            "strict refuses"
        );

        let mut src = BytesMut::from(&frame[..]);
        let mut codec = MessageCodec::<ServerResponse>::default();
        let decoded = codec.decode(&mut src).unwrap().unwrap();
        assert_eq!(decoded, Ok(status));
        assert!(src.is_empty());
    }
}
