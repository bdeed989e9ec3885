//! Lenient decoding: bytes after the last known field are counted and
//! ignored; strict decoding still refuses them.

use slsk_proto::compress::deflate_into;
use slsk_proto::peer::{PeerMessage, PeerSharesReply, PeerTransferQueue};
use slsk_proto::server::{GetUserStatusResponse, ServerResponse};
use slsk_proto::tables::UserStatus;
use slsk_proto::{DecodeErrorKind, FramedMessage, Limits, Message};

/// A frame of `code` (u32 kinds) around `payload`.
fn frame(code: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 4) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn extra_fields_are_counted_not_refused() {
    let status = ServerResponse::from(GetUserStatusResponse {
        username: "alice".into(),
        status: UserStatus::Online,
        privileged: true,
    });
    let exact = status.to_frame().unwrap();
    assert_eq!(
        ServerResponse::decode_frame_lenient(&exact, &Limits::DEFAULT).unwrap(),
        (status.clone(), 0)
    );

    let mut payload = exact[8..].to_vec();
    payload.extend_from_slice(&[1, 2, 3, 4, 5]);
    let longer = frame(7, &payload);
    let e = ServerResponse::decode_frame(&longer).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::TrailingBytes { count: 5 });
    assert_eq!(
        ServerResponse::decode_frame_lenient(&longer, &Limits::DEFAULT).unwrap(),
        (status, 5)
    );
}

#[test]
fn compressed_bodies_count_inside_the_inflated_body() {
    let reply = PeerSharesReply {
        directories: vec![],
        unknown: 0,
        locked_directories: Some(vec![]),
    };
    let mut body = Vec::new();
    reply.encode_body(&mut body).unwrap();
    body.extend_from_slice(b"newer field");
    let mut payload = Vec::new();
    deflate_into(&body, &mut payload);
    let longer = frame(5, &payload);

    let e = PeerMessage::decode_frame(&longer).unwrap_err();
    assert!(e.in_inflated());
    assert_eq!(e.kind(), &DecodeErrorKind::TrailingBytes { count: 11 });
    assert_eq!(
        PeerMessage::decode_frame_lenient(&longer, &Limits::DEFAULT).unwrap(),
        (PeerMessage::PeerSharesReply(reply), 11)
    );

    // Bytes after the zlib stream are not an extra field: still refused.
    payload.push(0);
    let e = PeerMessage::decode_frame_lenient(&frame(5, &payload), &Limits::DEFAULT).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::TrailingBytes { count: 1 });
}

#[test]
fn lenient_decoding_still_refuses_what_is_broken() {
    // A string that runs past the end.
    let payload = [9, 0, 0, 0, b'a'];
    let e = PeerMessage::decode_frame_lenient(&frame(43, &payload), &Limits::DEFAULT).unwrap_err();
    assert!(
        matches!(e.kind(), DecodeErrorKind::UnexpectedEnd { .. }),
        "{e}"
    );
    assert_eq!(e.offset(), 12);
    // A length field that disagrees with the frame.
    let mut bad = frame(43, &[1, 0, 0, 0, b'a']);
    bad.push(0);
    assert!(matches!(
        PeerMessage::decode_frame_lenient(&bad, &Limits::DEFAULT)
            .unwrap_err()
            .kind(),
        DecodeErrorKind::BadFrame { .. }
    ));
    // Unknown codes keep every byte.
    let unknown = frame(9999, &[1, 2, 3]);
    assert_eq!(
        PeerMessage::decode_frame_lenient(&unknown, &Limits::DEFAULT).unwrap(),
        (
            PeerMessage::Unknown {
                code: 9999,
                payload: vec![1, 2, 3]
            },
            0
        )
    );
    let queue = PeerMessage::from(PeerTransferQueue {
        filename: "a".into(),
    });
    let mut payload = queue.to_frame().unwrap()[8..].to_vec();
    payload.push(7);
    assert_eq!(
        PeerMessage::decode_frame_lenient(&frame(43, &payload), &Limits::DEFAULT).unwrap(),
        (queue, 1)
    );
}
