//! What the wire cannot carry is an `EncodeError`, and the output is left as
//! it was.

use bytes::BytesMut;
use slsk_proto::distributed::DistributedMessage;
use slsk_proto::peer::{PeerMessage, PeerUserInfoReply};
use slsk_proto::peer_init::PeerInitMessage;
use slsk_proto::server::ServerRequest;
use slsk_proto::tables::UploadPermissions;
use slsk_proto::wire::put_array;
use slsk_proto::{EncodeError, FramedMessage};

#[test]
fn unknown_codes_must_fit_one_byte_on_u8_kinds() {
    let unknown = |code| DistributedMessage::Unknown {
        code,
        payload: vec![9],
    };
    assert_eq!(unknown(255).to_frame().unwrap(), [2, 0, 0, 0, 255, 9]);
    let mut out = vec![7u8; 3];
    assert_eq!(
        unknown(256).encode_frame(&mut out),
        Err(EncodeError::CodeOutOfRange {
            kind: "distributed message",
            code: 256,
            max: 255
        })
    );
    assert_eq!(out, [7, 7, 7]);

    let e = PeerInitMessage::Unknown {
        code: 0x1_0001,
        payload: vec![],
    }
    .to_frame()
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "peer-init message code 65537 does not fit the code field (at most 255)"
    );

    // u32 kinds take any code.
    let frame = ServerRequest::Unknown {
        code: u32::MAX,
        payload: vec![],
    }
    .to_frame()
    .unwrap();
    assert_eq!(frame, [4, 0, 0, 0, 255, 255, 255, 255]);
}

#[test]
fn an_array_longer_than_u32_max_is_refused_before_writing() {
    // Zero-sized elements: a count over u32::MAX without the memory behind it.
    let items = vec![(); u32::MAX as usize + 1];
    let mut out = Vec::new();
    let e = put_array(&mut out, "items", &items, |_, _| Ok(())).unwrap_err();
    assert_eq!(
        e,
        EncodeError::FieldTooLong {
            field: "items",
            len: 1 << 32
        }
    );
    assert!(out.is_empty());
}

#[test]
fn a_field_over_4_gib_is_refused_and_nothing_is_left_behind() {
    // Zeroed allocations are mapped lazily: the 4 GiB are never touched,
    // since the length is refused before any byte is copied.
    let reply = PeerUserInfoReply {
        description: "me".into(),
        picture: Some(vec![0u8; u32::MAX as usize + 1]),
        upload_slots: 1,
        queue_size: 0,
        has_slots_free: true,
        upload_permissions: Some(UploadPermissions::Everyone),
    };
    let mut out = BytesMut::from(&b"earlier frames"[..]);
    let e = PeerMessage::from(reply).encode_frame(&mut out).unwrap_err();
    assert_eq!(
        e,
        EncodeError::FieldTooLong {
            field: "picture",
            len: 1 << 32
        }
    );
    assert_eq!(&out[..], b"earlier frames");
}
