//! Every limit of `Limits`, at the level of whole messages: the default
//! accepts ordinary traffic, a lower limit refuses it with the right error,
//! and raising the limit accepts it again.

use slsk_proto::peer::{PeerMessage, PeerSharesReply};
use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
use slsk_proto::server::{RoomChatMessageResponse, ServerResponse};
use slsk_proto::stream::ShareSection;
use slsk_proto::structures::{Attribute, DirectoryData, FileData};
use slsk_proto::tables::{ConnectionType, FileAttributeKind};
use slsk_proto::{DecodeErrorKind, FrameLimits, FrameReader, FramedMessage, Limits, Message};

fn share_list(directories: usize, files: usize) -> PeerSharesReply {
    PeerSharesReply {
        directories: (0..directories)
            .map(|d| DirectoryData {
                name: format!("Music\\Band {d}\\Album"),
                files: (0..files)
                    .map(|f| FileData {
                        code: 1,
                        filename: format!("{f:02} - Song {f}.flac"),
                        filesize: 30_000_000 + f as u64,
                        extension: "flac".into(),
                        attributes: vec![Attribute {
                            key: FileAttributeKind::Duration,
                            value: 240,
                        }],
                    })
                    .collect(),
            })
            .collect(),
        unknown: 0,
        locked_directories: None,
    }
}

fn payload(reply: &PeerSharesReply) -> Vec<u8> {
    let mut out = Vec::new();
    reply.encode_payload(&mut out).unwrap();
    out
}

#[test]
fn frame_size_is_limited_per_connection_kind() {
    // A 70 KiB frame: fine for a peer connection, too big for a peer-init one.
    let init = PeerInitMessage::from(PeerInit {
        username: "u".repeat(70 << 10),
        connection_type: ConnectionType::Peer,
        ticket: 0u32.into(),
    })
    .to_frame()
    .unwrap();
    let chat = PeerMessage::Unknown {
        code: 999,
        payload: vec![0; 70 << 10],
    }
    .to_frame()
    .unwrap();
    assert!(PeerMessage::decode_frame(&chat).is_ok());
    let e = PeerInitMessage::decode_frame(&init).unwrap_err();
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::FrameTooLarge {
            size: init.len(),
            limit: FrameLimits::DEFAULT.peer_init
        }
    );

    let raised = Limits {
        max_frame_size: FrameLimits {
            peer_init: 1 << 20,
            ..FrameLimits::DEFAULT
        },
        ..Limits::DEFAULT
    };
    assert!(PeerInitMessage::decode_frame_with(&init, &raised).is_ok());

    let lowered = Limits {
        max_frame_size: FrameLimits {
            server: 64,
            ..FrameLimits::DEFAULT
        },
        ..Limits::DEFAULT
    };
    let say = ServerResponse::from(RoomChatMessageResponse {
        room_name: "room".into(),
        username: "someone".into(),
        message: "x".repeat(100),
    })
    .to_frame()
    .unwrap();
    assert!(ServerResponse::decode_frame(&say).is_ok());
    assert!(matches!(
        ServerResponse::decode_frame_with(&say, &lowered)
            .unwrap_err()
            .kind(),
        DecodeErrorKind::FrameTooLarge { limit: 64, .. }
    ));
    // The frame reader refuses it from the length field, before the body.
    let mut reader = FrameReader::<ServerResponse>::new(lowered);
    reader.push(&say[..4]);
    assert!(reader.next_message().is_err());
}

#[test]
fn inflated_size_is_limited() {
    let reply = share_list(100, 20);
    let mut body = Vec::new();
    reply.encode_body(&mut body).unwrap();
    let payload = payload(&reply);
    let small = Limits {
        max_inflated_size: body.len() - 1,
        ..Limits::DEFAULT
    };
    let e = PeerSharesReply::decode_payload(&payload, &small).unwrap_err();
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::InflatedTooLarge {
            inflated: body.len(),
            limit: body.len() - 1
        }
    );
    assert_eq!(e.message(), Some("PeerSharesReply"));
    assert!(PeerSharesReply::decode_streaming(&payload, &small, |_, _| {}).is_err());

    let exact = Limits {
        max_inflated_size: body.len(),
        ..Limits::DEFAULT
    };
    assert_eq!(
        PeerSharesReply::decode_payload(&payload, &exact).unwrap(),
        reply
    );
    assert!(PeerSharesReply::decode_streaming(&payload, &exact, |_, _| {}).is_ok());
}

#[test]
fn inflate_ratio_is_limited() {
    // One directory of 200,000 identical files compresses over 100x.
    let mut reply = share_list(1, 1);
    let file = reply.directories[0].files[0].clone();
    reply.directories[0].files = vec![file; 200_000];
    let payload = payload(&reply);
    let mut body = Vec::new();
    reply.encode_body(&mut body).unwrap();
    assert!(
        body.len() / payload.len() > 100,
        "{}",
        body.len() / payload.len()
    );

    let strict = Limits {
        max_inflate_ratio: 100,
        ..Limits::DEFAULT
    };
    let e = PeerSharesReply::decode_payload(&payload, &strict).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            DecodeErrorKind::InflateRatioTooHigh { limit: 100, .. }
        ),
        "{e}"
    );
    assert!(PeerSharesReply::decode_streaming(&payload, &strict, |_, _| {}).is_err());
    let trusting = Limits {
        max_inflate_ratio: usize::MAX,
        ..Limits::DEFAULT
    };
    assert_eq!(
        PeerSharesReply::decode_payload(&payload, &trusting).unwrap(),
        reply
    );
}

#[test]
fn array_length_is_limited() {
    let reply = share_list(10, 2);
    let payload = payload(&reply);
    let nine = Limits {
        max_array_len: 9,
        ..Limits::DEFAULT
    };
    let e = PeerSharesReply::decode_payload(&payload, &nine).unwrap_err();
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::ArrayOverLimit {
            count: 10,
            limit: 9
        }
    );
    assert_eq!(e.field(), "directories");
    let e = PeerSharesReply::decode_streaming(&payload, &nine, |_, _| {}).unwrap_err();
    assert!(
        matches!(e.kind(), DecodeErrorKind::ArrayOverLimit { .. }),
        "{e}"
    );

    let ten = Limits {
        max_array_len: 10,
        ..Limits::DEFAULT
    };
    assert_eq!(
        PeerSharesReply::decode_payload(&payload, &ten).unwrap(),
        reply
    );
}

#[test]
fn array_depth_is_limited() {
    // directories[i].files[j].attributes[k]: attributes are three arrays deep.
    let reply = share_list(2, 2);
    let payload = payload(&reply);
    let two = Limits {
        max_array_depth: 2,
        ..Limits::DEFAULT
    };
    let e = PeerSharesReply::decode_payload(&payload, &two).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::ArrayTooDeep { limit: 2 });
    assert_eq!(e.field(), "directories[0].files[0].attributes");
    let e = PeerSharesReply::decode_streaming(&payload, &two, |_, _| {}).unwrap_err();
    assert_eq!(e.field(), "directories[0].files[0].attributes");

    let three = Limits {
        max_array_depth: 3,
        ..Limits::DEFAULT
    };
    assert_eq!(
        PeerSharesReply::decode_payload(&payload, &three).unwrap(),
        reply
    );
    let mut visited = 0;
    PeerSharesReply::decode_streaming(&payload, &three, |section, _| {
        assert_eq!(section, ShareSection::Public);
        visited += 1;
    })
    .unwrap();
    assert_eq!(visited, 2);
}

/// Deflated as a thorough zlib does (level 9): the best ratio real peers
/// send, higher than `deflate_into`'s level 6.
fn deflate_best(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).unwrap();
    encoder.finish().unwrap()
}

/// One directory of `count` copies of one file: the most repetitive share
/// list real data makes.
fn identical_files(count: usize) -> PeerSharesReply {
    let mut reply = share_list(1, 1);
    let file = reply.directories[0].files[0].clone();
    reply.directories[0].files = vec![file; count];
    reply
}

#[test]
fn a_repetitive_share_list_passes_the_default_ratio() {
    // 30,000 identical files; 1,000,000 reach 412:1 (docs/performance.md).
    let reply = identical_files(30_000);
    let mut body = Vec::new();
    reply.encode_body(&mut body).unwrap();
    let payload = deflate_best(&body);
    let ratio = body.len() / payload.len();
    // Far over the old default of 200, under the default of 800.
    assert!((300..800).contains(&ratio), "{ratio}:1");
    assert_eq!(
        PeerSharesReply::decode_payload(&payload, &Limits::DEFAULT).unwrap(),
        reply
    );
    let mut files = 0;
    PeerSharesReply::decode_streaming(&payload, &Limits::DEFAULT, |section, dir| {
        assert_eq!(section, ShareSection::Public);
        files += dir.files.len();
    })
    .unwrap();
    assert_eq!(files, 30_000);
}

#[test]
fn a_bomb_in_a_share_list_is_refused_early_by_ratio() {
    // 16 MiB of zeros after a valid start: 1028:1, far over the default.
    let mut body = vec![0u8; 16 << 20];
    body[..4].copy_from_slice(&1u32.to_le_bytes());
    let payload = deflate_best(&body);
    let e = PeerSharesReply::decode_payload(&payload, &Limits::DEFAULT).unwrap_err();
    let DecodeErrorKind::InflateRatioTooHigh {
        inflated,
        compressed,
        limit,
    } = *e.kind()
    else {
        panic!("{e}");
    };
    assert_eq!(limit, 800);
    // Stopped at the first check past the 1 MiB floor, having read under a
    // tenth of the input.
    assert!(inflated <= Limits::RATIO_FLOOR + (64 << 10), "{inflated}");
    assert!(compressed * 10 < payload.len(), "{compressed}");
    let text = e.to_string();
    assert!(
        text.contains("max_inflate_ratio") && text.contains("over the limit of 800x"),
        "{text}"
    );
    assert!(PeerSharesReply::decode_streaming(&payload, &Limits::DEFAULT, |_, _| {}).is_err());
}
