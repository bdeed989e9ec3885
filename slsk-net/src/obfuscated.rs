//! Framing for `P` connections made to an obfuscated port ("rotated"
//! obfuscation, type 1), and [`PeerCodec`], which is either kind.
//!
//! Each frame travels as a fresh random 4-byte key followed by the frame
//! (length field included) XORed with the key stream of
//! [`slsk_proto::obfuscation`]. There is no handshake.

use std::io;
use std::marker::PhantomData;

use bytes::{Buf, BufMut, BytesMut};
use slsk_proto::obfuscation::apply;
use slsk_proto::{DecodeError, FramedMessage, Limits, split_frame};
use tokio_util::codec::{Decoder, Encoder};

use crate::MessageCodec;

/// The key in front of every obfuscated frame.
const KEY_LEN: usize = 4;

/// Like [`MessageCodec`], for a connection whose every frame is obfuscated.
///
/// Decoding reads the key and the (obfuscated) length field first and checks
/// the length against the limit for `M`'s connection kind before any of the
/// body is buffered. Encoding draws a fresh random key for every frame.
///
/// ```
/// use bytes::BytesMut;
/// use slsk_net::ObfuscatedCodec;
/// use slsk_proto::peer::{PeerMessage, PeerSharesRequest};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let message = PeerMessage::from(PeerSharesRequest { ticket: None });
/// let mut codec = ObfuscatedCodec::<PeerMessage>::default();
/// let mut wire = BytesMut::new();
/// codec.encode(message.clone(), &mut wire).unwrap();
/// assert_eq!(wire.len(), 4 + 8); // key, then length and code
/// assert_eq!(codec.decode(&mut wire).unwrap().unwrap().unwrap(), message);
/// ```
#[derive(Debug, Clone)]
pub struct ObfuscatedCodec<M> {
    limits: Limits,
    message: PhantomData<fn() -> M>,
}

impl<M> ObfuscatedCodec<M> {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            message: PhantomData,
        }
    }

    /// The same obfuscation for another connection kind (a `P` connection
    /// after its peer-init message).
    pub fn into_kind<N>(self) -> ObfuscatedCodec<N> {
        ObfuscatedCodec::new(self.limits)
    }

    /// Writes a whole frame encoded already, obfuscated with a fresh key.
    pub(crate) fn encode_frame_bytes(&self, frame: &[u8], dst: &mut BytesMut) {
        let key: [u8; KEY_LEN] = rand::random();
        let start = dst.len();
        dst.put_slice(&key);
        dst.put_slice(frame);
        apply(key, &mut dst[start + KEY_LEN..]);
    }
}

impl<M> Default for ObfuscatedCodec<M> {
    fn default() -> Self {
        Self::new(Limits::DEFAULT)
    }
}

impl<M: FramedMessage> Decoder for ObfuscatedCodec<M> {
    type Item = Result<M, DecodeError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        let Some(head) = src.first_chunk::<{ KEY_LEN + 4 }>() else {
            return Ok(None);
        };
        let (key, length) = head.split_at(KEY_LEN);
        let key: [u8; KEY_LEN] = key.try_into().expect("split at KEY_LEN");
        let mut length: [u8; 4] = length.try_into().expect("4 bytes remain");
        // The length field is block 0 of the key stream.
        apply(key, &mut length);
        // Refuse an oversized frame from its length field alone, with the
        // same error the plain codec gives.
        let mut header = BytesMut::from(&length[..]);
        split_frame::<M>(&mut header, &self.limits)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let size = u32::from_le_bytes(length) as usize + 4;
        if src.len() < KEY_LEN + size {
            src.reserve(KEY_LEN + size - src.len());
            return Ok(None);
        }
        src.advance(KEY_LEN);
        let mut frame = src.split_to(size);
        apply(key, &mut frame);
        Ok(Some(crate::codec::decode_lenient(&frame, &self.limits)))
    }
}

impl<M: FramedMessage> Encoder<M> for ObfuscatedCodec<M> {
    type Error = io::Error;

    fn encode(&mut self, message: M, dst: &mut BytesMut) -> io::Result<()> {
        self.encode(&message, dst)
    }
}

impl<M: FramedMessage> Encoder<&M> for ObfuscatedCodec<M> {
    type Error = io::Error;

    fn encode(&mut self, message: &M, dst: &mut BytesMut) -> io::Result<()> {
        let key: [u8; KEY_LEN] = rand::random();
        let start = dst.len();
        dst.put_slice(&key);
        if let Err(error) = message.encode_frame(dst) {
            dst.truncate(start);
            return Err(io::Error::new(io::ErrorKind::InvalidInput, error));
        }
        apply(key, &mut dst[start + KEY_LEN..]);
        Ok(())
    }
}

/// The codec of a peer connection: plain, or obfuscated when it was made to
/// (or accepted on) an obfuscated port. One type either way, so a connection
/// value does not depend on how it was reached.
#[derive(Debug, Clone)]
pub enum PeerCodec<M> {
    Plain(MessageCodec<M>),
    Obfuscated(ObfuscatedCodec<M>),
}

impl<M> PeerCodec<M> {
    /// A plain or obfuscated codec with these limits.
    pub fn new(obfuscated: bool, limits: Limits) -> Self {
        if obfuscated {
            Self::Obfuscated(ObfuscatedCodec::new(limits))
        } else {
            Self::Plain(MessageCodec::new(limits))
        }
    }

    pub fn is_obfuscated(&self) -> bool {
        matches!(self, Self::Obfuscated(_))
    }

    /// The limits the codec decodes with.
    pub fn limits(&self) -> &Limits {
        match self {
            Self::Plain(c) => c.limits(),
            Self::Obfuscated(c) => &c.limits,
        }
    }

    /// The same framing (plain or obfuscated) for another connection kind.
    pub fn into_kind<N>(self) -> PeerCodec<N> {
        match self {
            Self::Plain(c) => PeerCodec::Plain(MessageCodec::new(c.limits().clone())),
            Self::Obfuscated(c) => PeerCodec::Obfuscated(c.into_kind()),
        }
    }
}

impl<M: FramedMessage> Decoder for PeerCodec<M> {
    type Item = Result<M, DecodeError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        match self {
            Self::Plain(c) => c.decode(src),
            Self::Obfuscated(c) => c.decode(src),
        }
    }
}

impl<M: FramedMessage> Encoder<M> for PeerCodec<M> {
    type Error = io::Error;

    fn encode(&mut self, message: M, dst: &mut BytesMut) -> io::Result<()> {
        self.encode(&message, dst)
    }
}

impl<M: FramedMessage> Encoder<&M> for PeerCodec<M> {
    type Error = io::Error;

    fn encode(&mut self, message: &M, dst: &mut BytesMut) -> io::Result<()> {
        match self {
            Self::Plain(_) => message
                .encode_frame(dst)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error)),
            Self::Obfuscated(c) => c.encode(message, dst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::obfuscation::{deobfuscate, obfuscate};
    use slsk_proto::peer::{PeerMessage, PeerSharesRequest, PeerUserInfoRequest};
    use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
    use slsk_proto::tables::ConnectionType;
    use slsk_proto::{DecodeErrorKind, FrameLimits};

    fn messages() -> Vec<PeerMessage> {
        vec![
            PeerSharesRequest { ticket: Some(7) }.into(),
            PeerUserInfoRequest.into(),
            PeerSharesRequest { ticket: None }.into(),
        ]
    }

    #[test]
    fn encoding_matches_the_reference_obfuscation() {
        let mut codec = ObfuscatedCodec::<PeerMessage>::default();
        for message in messages() {
            let mut wire = BytesMut::new();
            codec.encode(message.clone(), &mut wire).unwrap();
            // The bytes after the key are the plain frame under the key stream.
            assert_eq!(deobfuscate(&wire).unwrap(), message.to_frame().unwrap());
            let key: [u8; 4] = wire[..4].try_into().unwrap();
            assert_eq!(obfuscate(key, &message.to_frame().unwrap()), wire[..]);
        }
    }

    #[test]
    fn decoding_reads_the_errata_vector() {
        // ERRATA: key 99 ab cd ef over "hello" gives 5b 32 f7 b3 08. A frame
        // starting with those five bytes deobfuscates to a length field of
        // "hell" = 0x6c6c6568, far over the limit: the codec must refuse it
        // from these bytes alone.
        let key = [0x99, 0xab, 0xcd, 0xef];
        let mut wire = BytesMut::from(&key[..]);
        wire.extend_from_slice(&[0x5b, 0x32, 0xf7, 0xb3, 0x08]);
        let e = ObfuscatedCodec::<PeerMessage>::default()
            .decode(&mut wire)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let inner = e.get_ref().unwrap().downcast_ref::<DecodeError>().unwrap();
        assert_eq!(
            inner.kind(),
            &DecodeErrorKind::FrameTooLarge {
                size: 0x6c6c_6568 + 4,
                limit: FrameLimits::DEFAULT.peer
            }
        );
    }

    #[test]
    fn frames_arrive_byte_by_byte() {
        let key = [0x99, 0xab, 0xcd, 0xef];
        let mut stream = Vec::new();
        for (i, m) in messages().iter().enumerate() {
            stream.extend(obfuscate(
                [key[0], key[1], i as u8, key[3]],
                &m.to_frame().unwrap(),
            ));
        }
        let mut codec = ObfuscatedCodec::<PeerMessage>::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in stream {
            buf.put_u8(b);
            while let Some(m) = codec.decode(&mut buf).unwrap() {
                got.push(m.unwrap());
            }
        }
        assert_eq!(got, messages());
        assert!(buf.is_empty());
    }

    #[test]
    fn an_oversized_length_is_refused_before_buffering() {
        let limits = Limits {
            max_frame_size: FrameLimits {
                peer: 1000,
                ..FrameLimits::DEFAULT
            },
            ..Limits::DEFAULT
        };
        let key = [1, 2, 3, 4];
        // 997 + 4 = 1001 bytes declared; only key and length are present.
        let mut wire = BytesMut::from(&obfuscate(key, &997u32.to_le_bytes())[..]);
        let mut codec = ObfuscatedCodec::<PeerMessage>::new(limits.clone());
        assert!(codec.decode(&mut wire).is_err());
        assert!(wire.capacity() < 1000);
        // 996 is accepted and waited for, with room reserved for it.
        let mut wire = BytesMut::from(&obfuscate(key, &996u32.to_le_bytes())[..]);
        assert!(codec.decode(&mut wire).unwrap().is_none());
        assert!(wire.capacity() >= 1004);
    }

    #[test]
    fn a_bad_payload_is_an_item_and_the_next_frame_follows() {
        let mut wire = BytesMut::new();
        // PeerSharesReply (5) whose body is not zlib.
        wire.extend(obfuscate([9, 9, 9, 9], &[6, 0, 0, 0, 5, 0, 0, 0, 1, 2]));
        let good = messages().remove(0);
        let mut codec = PeerCodec::<PeerMessage>::new(true, Limits::DEFAULT);
        codec.encode(good.clone(), &mut wire).unwrap();
        assert!(codec.decode(&mut wire).unwrap().unwrap().is_err());
        assert_eq!(codec.decode(&mut wire).unwrap().unwrap().unwrap(), good);
    }

    #[test]
    fn switching_kind_keeps_the_framing_and_the_rest_of_the_buffer() {
        let init = PeerInitMessage::from(PeerInit {
            username: "alice".into(),
            connection_type: ConnectionType::Peer,
            ticket: 0.into(),
        });
        for obfuscated in [false, true] {
            let mut codec = PeerCodec::<PeerInitMessage>::new(obfuscated, Limits::DEFAULT);
            let mut wire = BytesMut::new();
            codec.encode(init.clone(), &mut wire).unwrap();
            let mut peer = codec.clone().into_kind::<PeerMessage>();
            for m in messages() {
                peer.encode(m, &mut wire).unwrap();
            }
            assert_eq!(codec.decode(&mut wire).unwrap().unwrap().unwrap(), init);
            assert_eq!(peer.is_obfuscated(), obfuscated);
            for m in messages() {
                assert_eq!(peer.decode(&mut wire).unwrap().unwrap().unwrap(), m);
            }
        }
    }
}
