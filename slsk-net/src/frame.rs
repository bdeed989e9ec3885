//! [`PeerFrame`]: a peer message already encoded, sent as it is (a reply
//! built once and sent to many peers, such as the browse reply), and what a
//! user's outgoing queue holds: messages and such frames, in one order.

use std::io;

use bytes::{BufMut, Bytes, BytesMut};
use slsk_proto::peer::PeerMessage;
use slsk_proto::{EncodeError, FramedMessage};
use tokio_util::codec::Encoder;

use crate::obfuscated::PeerCodec;

/// One whole peer (`P`) message frame: the u32 length, the u32 code and the
/// payload (compressed where the message travels compressed), ready to be
/// written. Cloning it copies no bytes.
///
/// Made once, sent many times with [`Peers::send_frame`](crate::Peers::send_frame);
/// on an obfuscated connection it is obfuscated on the way out like any
/// message.
///
/// ```
/// use slsk_net::PeerFrame;
/// use slsk_proto::peer::{PeerMessage, PeerSharesRequest};
///
/// let frame = PeerFrame::encode(&PeerSharesRequest { ticket: None }.into()).unwrap();
/// assert_eq!(frame.as_bytes(), &[4, 0, 0, 0, 4, 0, 0, 0][..]);
/// // Bytes from elsewhere (e.g. `Shares::browse_frame`) are checked.
/// assert!(PeerFrame::new(frame.clone().into_bytes()).is_some());
/// assert!(PeerFrame::new(bytes::Bytes::from_static(&[9, 0, 0, 0, 4, 0, 0, 0])).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerFrame(Bytes);

impl PeerFrame {
    /// `bytes` as a frame if they are exactly one: a length field that
    /// counts the rest, and at least a code after it. The payload is not
    /// decoded (it is ours, built by an encoder).
    pub fn new(bytes: Bytes) -> Option<Self> {
        let length = slsk_proto::frame_len(&bytes)?;
        (length == bytes.len() && length >= 8).then_some(Self(bytes))
    }

    /// Encodes `message` into a frame.
    pub fn encode(message: &PeerMessage) -> Result<Self, EncodeError> {
        message.to_frame().map(|frame| Self(Bytes::from(frame)))
    }

    /// The frame's bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The frame's bytes, owned.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

/// What a user's outgoing queue holds.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Encoded by the connection's writer.
    Message(PeerMessage),
    /// Encoded already; written as it is (obfuscated if the connection is).
    Frame(PeerFrame),
}

impl Encoder<&Outbound> for PeerCodec<PeerMessage> {
    type Error = io::Error;

    fn encode(&mut self, item: &Outbound, dst: &mut BytesMut) -> io::Result<()> {
        match item {
            Outbound::Message(message) => self.encode(message, dst),
            Outbound::Frame(frame) => match self {
                Self::Plain(_) => {
                    dst.put_slice(frame.as_bytes());
                    Ok(())
                }
                Self::Obfuscated(codec) => {
                    codec.encode_frame_bytes(frame.as_bytes(), dst);
                    Ok(())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::Limits;
    use slsk_proto::peer::{PeerSharesReply, PeerUserInfoRequest};
    use tokio_util::codec::Decoder;

    fn reply() -> PeerMessage {
        PeerSharesReply {
            directories: Vec::new(),
            unknown: 0,
            locked_directories: Some(Vec::new()),
        }
        .into()
    }

    #[test]
    fn a_frame_is_written_as_it_is_and_decodes_like_the_message() {
        for obfuscated in [false, true] {
            let mut codec = PeerCodec::<PeerMessage>::new(obfuscated, Limits::DEFAULT);
            let frame = PeerFrame::encode(&reply()).unwrap();
            let mut wire = BytesMut::new();
            codec
                .encode(&Outbound::Frame(frame.clone()), &mut wire)
                .unwrap();
            let message = Outbound::Message(PeerUserInfoRequest.into());
            codec.encode(&message, &mut wire).unwrap();
            if !obfuscated {
                assert_eq!(&wire[..frame.as_bytes().len()], &frame.as_bytes()[..]);
            }
            assert_eq!(codec.decode(&mut wire).unwrap().unwrap().unwrap(), reply());
            assert_eq!(
                codec.decode(&mut wire).unwrap().unwrap().unwrap(),
                PeerUserInfoRequest.into()
            );
            assert!(wire.is_empty());
        }
    }

    #[test]
    fn bytes_that_are_not_one_whole_frame_are_refused() {
        let whole = PeerFrame::encode(&reply()).unwrap().into_bytes();
        assert!(PeerFrame::new(whole.clone()).is_some());
        assert!(PeerFrame::new(whole.slice(..whole.len() - 1)).is_none());
        let mut longer = BytesMut::from(&whole[..]);
        longer.put_u8(0);
        assert!(PeerFrame::new(longer.freeze()).is_none());
        assert!(PeerFrame::new(Bytes::new()).is_none());
        assert!(PeerFrame::new(Bytes::from_static(&[0, 0, 0, 0])).is_none());
        assert!(PeerFrame::new(Bytes::from_static(&[u8::MAX; 4])).is_none());
    }
}
