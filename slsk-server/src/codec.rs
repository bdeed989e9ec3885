//! The framing of client requests: [`slsk_net::MessageCodec`] with the
//! server's frame cap, and a length field under 4 refused.

use std::io;

use bytes::BytesMut;
use slsk_net::MessageCodec;
use slsk_proto::server::ServerRequest;
use slsk_proto::{DecodeError, FrameLimits, Limits};
use tokio_util::codec::Decoder;

/// Decodes client requests. A request whose payload does not decode is an
/// item `Err(DecodeError)` (the frame is consumed, the connection goes on);
/// a length field over the cap, or under 4 (a frame too short for its code),
/// is a stream error that closes the connection.
#[derive(Debug, Clone)]
pub struct RequestCodec {
    inner: MessageCodec<ServerRequest>,
}

impl RequestCodec {
    /// `max_frame_size` counts the length field too.
    pub fn new(max_frame_size: usize) -> Self {
        let limits = Limits {
            max_frame_size: FrameLimits {
                server: max_frame_size,
                ..FrameLimits::DEFAULT
            },
            ..Limits::DEFAULT
        };
        Self {
            inner: MessageCodec::new(limits),
        }
    }
}

impl Decoder for RequestCodec {
    type Item = Result<ServerRequest, DecodeError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Self::Item>> {
        if let Some(len) = src.first_chunk::<4>() {
            let len = u32::from_le_bytes(*len);
            if len < 4 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("frame length {len} cannot hold a message code"),
                ));
            }
        }
        self.inner.decode(src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slsk_proto::FramedMessage;
    use slsk_proto::server::PingRequest;

    #[test]
    fn short_and_long_length_fields_are_stream_errors() {
        let mut codec = RequestCodec::new(64);
        let mut buf = BytesMut::from(&[3u8, 0, 0, 0, 1, 2, 3][..]);
        assert!(codec.decode(&mut buf).is_err());
        let mut buf = BytesMut::from(&61u32.to_le_bytes()[..]);
        assert!(codec.decode(&mut buf).is_err());
        let mut buf = BytesMut::from(&60u32.to_le_bytes()[..]);
        assert!(
            matches!(codec.decode(&mut buf), Ok(None)),
            "64 bytes is allowed"
        );
    }

    #[test]
    fn a_bad_payload_is_an_item_and_the_stream_goes_on() {
        let mut codec = RequestCodec::new(8192);
        // Login (code 1) with a username length running past the frame.
        let mut buf = BytesMut::from(&[8u8, 0, 0, 0, 1, 0, 0, 0, 0xff, 0, 0, 0][..]);
        buf.extend_from_slice(&ServerRequest::from(PingRequest).to_frame().unwrap());
        assert!(matches!(codec.decode(&mut buf), Ok(Some(Err(_)))));
        assert!(matches!(
            codec.decode(&mut buf),
            Ok(Some(Ok(ServerRequest::Ping(_))))
        ));
    }
}
