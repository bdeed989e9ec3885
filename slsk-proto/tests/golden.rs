//! Byte-exact examples from the protocol documents and ERRATA.

use std::net::Ipv4Addr;

use slsk_proto::distributed::{DistributedMessage, DistributedSearchRequest};
use slsk_proto::peer::{PeerMessage, PeerSearchReply};
use slsk_proto::peer_init::{PeerInit, PeerInitMessage};
use slsk_proto::server::{
    GetPeerAddressResponse, LoginRequest, LoginResponse, ServerRequest, ServerResponse,
};
use slsk_proto::structures::FileData;
use slsk_proto::tables::{ConnectionType, LoginRejectionReason, ObfuscationType};
use slsk_proto::{DecodeErrorKind, FramedMessage, U32OrU64};

/// Little-endian frame builder for the examples.
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn raw(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    fn string(self, s: &str) -> Self {
        self.u32(s.len() as u32).raw(s.as_bytes())
    }
    /// Prefixes the length field.
    fn frame(self) -> Vec<u8> {
        let mut out = (self.0.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&self.0);
        out
    }
}

#[test]
fn login_example_from_seed_004() {
    // "4-byte-integer: 30, 1, 8 JohnGalt, 6 secret, 200"
    let frame = Bytes::default()
        .u32(1)
        .string("JohnGalt")
        .string("secret")
        .u32(200)
        .frame();
    assert_eq!(&frame[..4], &30u32.to_le_bytes());
    let expected = LoginRequest {
        username: "JohnGalt".into(),
        password: "secret".into(),
        version: 200,
        md5_hash: None,
        minor_version: None,
    };
    assert_eq!(
        ServerRequest::decode_frame(&frame).unwrap(),
        ServerRequest::Login(expected.clone())
    );
    assert_eq!(ServerRequest::Login(expected).to_frame().unwrap(), frame);
}

#[test]
fn login_reply_success_and_failure() {
    let frame = Bytes::default()
        .u32(1)
        .u8(1)
        .string("Welcome")
        .raw(&[4, 3, 2, 1])
        .string("5ebe2294ecd0e0f08eab7690d2a6ee69")
        .u8(0)
        .frame();
    let ServerResponse::Login(LoginResponse::Success { ip, greeting, .. }) =
        ServerResponse::decode_frame(&frame).unwrap()
    else {
        panic!("not a successful login");
    };
    assert_eq!(ip, Ipv4Addr::new(1, 2, 3, 4));
    assert_eq!(greeting, "Welcome");

    let frame = Bytes::default()
        .u32(1)
        .u8(0)
        .string("INVALIDUSERNAME")
        .string("Nick too long.")
        .frame();
    assert_eq!(
        ServerResponse::decode_frame(&frame).unwrap(),
        ServerResponse::Login(LoginResponse::Failure {
            reason: LoginRejectionReason::InvalidUsername,
            detail: Some("Nick too long.".into()),
        })
    );
    let frame = Bytes::default().u32(1).u8(0).string("SOMETHINGNEW").frame();
    let decoded = ServerResponse::decode_frame(&frame).unwrap();
    assert_eq!(
        decoded,
        ServerResponse::Login(LoginResponse::Failure {
            reason: LoginRejectionReason::Unknown("SOMETHINGNEW".into()),
            detail: None,
        })
    );
    assert_eq!(decoded.to_frame().unwrap(), frame);
}

#[test]
fn get_peer_address_with_and_without_obfuscation() {
    let plain = Bytes::default()
        .u32(3)
        .string("bob")
        .raw(&[4, 3, 2, 1])
        .u32(2234)
        .frame();
    let decoded = ServerResponse::decode_frame(&plain).unwrap();
    assert_eq!(
        decoded,
        ServerResponse::GetPeerAddress(GetPeerAddressResponse {
            username: "bob".into(),
            ip: Ipv4Addr::new(1, 2, 3, 4),
            port: 2234,
            obfuscation_type: None,
            obfuscated_port: None,
        })
    );
    assert_eq!(decoded.to_frame().unwrap(), plain);

    // u32 obfuscation type, then a u16 port (the asymmetry is real).
    let obfuscated = Bytes::default()
        .u32(3)
        .string("bob")
        .raw(&[4, 3, 2, 1])
        .u32(2234)
        .u32(1)
        .raw(&2235u16.to_le_bytes())
        .frame();
    let ServerResponse::GetPeerAddress(reply) = ServerResponse::decode_frame(&obfuscated).unwrap()
    else {
        panic!("wrong message");
    };
    assert_eq!(reply.obfuscation_type, Some(ObfuscationType::Rotated));
    assert_eq!(reply.obfuscated_port, Some(2235));
    assert_eq!(
        ServerResponse::GetPeerAddress(reply).to_frame().unwrap(),
        obfuscated
    );
}

#[test]
fn peer_init_accepts_a_u64_ticket() {
    let narrow = Bytes::default()
        .u8(1)
        .string("alice")
        .string("P")
        .u32(7)
        .frame();
    let wide = Bytes::default()
        .u8(1)
        .string("alice")
        .string("P")
        .u64(7)
        .frame();
    for (frame, ticket) in [(narrow, U32OrU64::Narrow(7)), (wide, U32OrU64::Wide(7))] {
        let decoded = PeerInitMessage::decode_frame(&frame).unwrap();
        assert_eq!(
            decoded,
            PeerInitMessage::PeerInit(PeerInit {
                username: "alice".into(),
                connection_type: ConnectionType::Peer,
                ticket,
            })
        );
        assert_eq!(decoded.to_frame().unwrap(), frame);
    }
}

fn search_request_payload() -> Bytes {
    Bytes::default()
        .u32(49)
        .string("carol")
        .u32(1234)
        .string("ambient flac")
}

#[test]
fn server_search_request_embeds_a_distributed_message() {
    let embedded = search_request_payload().0;
    let frame = Bytes::default().u32(93).u8(3).raw(&embedded).frame();
    let ServerResponse::ServerSearchRequest(message) =
        ServerResponse::decode_frame(&frame).unwrap()
    else {
        panic!("wrong message");
    };
    assert_eq!(message.distributed_code, 3);
    assert_eq!(
        message.embedded().unwrap(),
        DistributedMessage::DistributedSearchRequest(DistributedSearchRequest {
            unknown: 49,
            username: "carol".into(),
            ticket: 1234,
            query: "ambient flac".into(),
        })
    );
    assert_eq!(
        ServerResponse::ServerSearchRequest(message)
            .to_frame()
            .unwrap(),
        frame
    );
}

#[test]
fn distributed_93_carries_the_rest_of_the_server_code() {
    let embedded = search_request_payload().0;
    // u8 code 0x5D, then 00 00 00, then the embedded layout.
    let frame = Bytes::default()
        .u8(0x5D)
        .raw(&[0, 0, 0])
        .u8(3)
        .raw(&embedded)
        .frame();
    let DistributedMessage::DistributedServerSearchRequest(message) =
        DistributedMessage::decode_frame(&frame).unwrap()
    else {
        panic!("wrong message");
    };
    assert!(message.padded);
    assert!(matches!(
        message.embedded().unwrap(),
        DistributedMessage::DistributedSearchRequest(DistributedSearchRequest { ticket: 1234, .. })
    ));
    assert_eq!(
        DistributedMessage::DistributedServerSearchRequest(message)
            .to_frame()
            .unwrap(),
        frame
    );
}

#[test]
fn old_clients_large_file_sizes() {
    // A 3 GiB file sent as u32 + FF FF FF FF, inside a compressed search reply.
    let body = Bytes::default()
        .string("dave")
        .u32(5)
        .u32(1)
        .u8(1)
        .string("big.iso")
        .u32(0xC000_0000)
        .u32(0xFFFF_FFFF)
        .string("iso")
        .u32(0)
        .u8(1)
        .u32(100)
        .u32(0)
        .u32(0)
        .0;
    let mut compressed = Vec::new();
    slsk_proto::compress::deflate_into(&body, &mut compressed);
    assert_eq!(compressed[0], 0x78, "zlib, not gzip");
    let frame = Bytes::default().u32(9).raw(&compressed).frame();
    let PeerMessage::PeerSearchReply(PeerSearchReply { results, .. }) =
        PeerMessage::decode_frame(&frame).unwrap()
    else {
        panic!("wrong message");
    };
    assert_eq!(
        results,
        vec![FileData {
            code: 1,
            filename: "big.iso".into(),
            filesize: 0xC000_0000,
            extension: "iso".into(),
            attributes: vec![],
        }]
    );
}

#[test]
fn errors_name_message_field_and_offset() {
    // GetPeerAddress reply cut inside the port.
    let frame = Bytes::default()
        .u32(3)
        .string("bob")
        .raw(&[4, 3, 2, 1])
        .raw(&[1, 2])
        .frame();
    let e = ServerResponse::decode_frame(&frame).unwrap_err();
    assert_eq!(e.message(), Some("GetPeerAddress"));
    assert_eq!(e.field(), "port");
    assert_eq!(e.offset(), 8 + 7 + 4);
    assert!(matches!(
        e.kind(),
        DecodeErrorKind::UnexpectedEnd {
            needed: 4,
            remaining: 2
        }
    ));

    // A room list whose count claims more rooms than bytes remain.
    let frame = Bytes::default().u32(64).u32(1_000_000).frame();
    let e = ServerResponse::decode_frame(&frame).unwrap_err();
    assert_eq!(e.message(), Some("RoomList"));
    assert_eq!(e.field(), "rooms.name");
    assert!(matches!(
        e.kind(),
        DecodeErrorKind::ArrayTooLong {
            count: 1_000_000,
            ..
        }
    ));

    // Trailing garbage is reported, not dropped.
    let frame = Bytes::default().u32(32).u8(0).frame();
    let e = ServerResponse::decode_frame(&frame).unwrap_err();
    assert!(matches!(
        e.kind(),
        DecodeErrorKind::TrailingBytes { count: 1 }
    ));
    assert_eq!(e.offset(), 8);
}

#[test]
fn unknown_codes_are_kept() {
    let frame = Bytes::default().u32(9999).raw(b"whatever").frame();
    let decoded = ServerResponse::decode_frame(&frame).unwrap();
    assert_eq!(
        decoded,
        ServerResponse::Unknown {
            code: 9999,
            payload: b"whatever".to_vec()
        }
    );
    assert_eq!(decoded.to_frame().unwrap(), frame);
}

#[test]
fn bad_frames_are_refused() {
    assert!(ServerResponse::decode_frame(&[]).is_err());
    assert!(ServerResponse::decode_frame(&[1, 0, 0, 0, 1]).is_err());
    assert!(ServerResponse::decode_frame(&[9, 0, 0, 0, 1, 0, 0, 0]).is_err());
}

#[test]
fn table_values_in_json_by_name_or_wire_value() {
    use slsk_proto::tables::{TransferRejectionReason, UserStatus};
    let json = |v: &str| serde_json::from_str::<ConnectionType>(v).unwrap();
    assert_eq!(json("\"Peer\""), ConnectionType::Peer);
    assert_eq!(json("\"P\""), ConnectionType::Peer);
    assert_eq!(json("\"X\""), ConnectionType::Unknown("X".into()));
    assert_eq!(
        serde_json::from_str::<TransferRejectionReason>("\"File not shared.\"").unwrap(),
        TransferRejectionReason::FileNotShared
    );
    assert_eq!(
        serde_json::from_str::<UserStatus>("2").unwrap(),
        UserStatus::Online
    );
    assert_eq!(
        serde_json::from_str::<UserStatus>("\"Away\"").unwrap(),
        UserStatus::Away
    );
    assert_eq!(
        serde_json::from_str::<UserStatus>("7").unwrap(),
        UserStatus::Unknown(7)
    );
    assert!(serde_json::from_str::<UserStatus>("\"Busy\"").is_err());
    assert!(serde_json::from_str::<UserStatus>("4294967296").is_err());
    assert_eq!(serde_json::to_string(&UserStatus::Unknown(7)).unwrap(), "7");
    assert_eq!(
        serde_json::to_string(&ConnectionType::File).unwrap(),
        "\"File\""
    );
}

#[test]
fn queued_downloads_both_directions() {
    use slsk_proto::server::{QueuedDownloadsRequest, QueuedDownloadsResponse};
    // Seed 004: "integer 40, string username, integer slotsfull".
    let frame = Bytes::default().u32(40).string("bob").u32(1).frame();
    let expected = QueuedDownloadsResponse {
        username: "bob".into(),
        slots_full: 1,
    };
    assert_eq!(
        ServerResponse::decode_frame(&frame).unwrap(),
        ServerResponse::QueuedDownloads(expected.clone())
    );
    assert_eq!(
        ServerResponse::QueuedDownloads(expected)
            .to_frame()
            .unwrap(),
        frame
    );
    let frame = Bytes::default().u32(40).u32(0).frame();
    assert_eq!(
        ServerRequest::decode_frame(&frame).unwrap(),
        ServerRequest::QueuedDownloads(QueuedDownloadsRequest { slots_full: 0 })
    );
}

#[test]
fn peer_placehold_upload() {
    use slsk_proto::peer::PeerPlaceholdUpload;
    let frame = Bytes::default().u32(42).string("a\\b.mp3").frame();
    let expected = PeerMessage::PeerPlaceholdUpload(PeerPlaceholdUpload {
        filename: "a\\b.mp3".into(),
    });
    assert_eq!(PeerMessage::decode_frame(&frame).unwrap(), expected);
    assert_eq!(expected.to_frame().unwrap(), frame);
}

#[test]
fn server_confirms_new_password_and_privileges_notification() {
    use slsk_proto::server::{NewPasswordResponse, PrivilegesNotificationAckResponse};
    // Server-behaviour 3.12: the server echoes the new password.
    let frame = Bytes::default().u32(142).string("hunter2").frame();
    let expected = ServerResponse::NewPassword(NewPasswordResponse {
        password: "hunter2".into(),
    });
    assert_eq!(ServerResponse::decode_frame(&frame).unwrap(), expected);
    assert_eq!(expected.to_frame().unwrap(), frame);
    // Server-behaviour 3.10: PrivilegesNotification is acknowledged with its id.
    let frame = Bytes::default().u32(125).u32(77).frame();
    let expected = ServerResponse::PrivilegesNotificationAck(PrivilegesNotificationAckResponse {
        notification_id: 77,
    });
    assert_eq!(ServerResponse::decode_frame(&frame).unwrap(), expected);
    assert_eq!(expected.to_frame().unwrap(), frame);
}

#[test]
fn distributed_93_without_the_padding() {
    use slsk_proto::distributed::DistributedServerSearchRequest;
    let embedded = search_request_payload().0;
    // u8 code 0x5D, then directly the embedded code and layout.
    let frame = Bytes::default().u8(0x5D).u8(3).raw(&embedded).frame();
    let expected = DistributedServerSearchRequest {
        padded: false,
        distributed_code: 3,
        payload: embedded.clone(),
    };
    assert_eq!(
        DistributedMessage::decode_frame(&frame).unwrap(),
        DistributedMessage::DistributedServerSearchRequest(expected.clone())
    );
    assert!(matches!(
        expected.embedded().unwrap(),
        DistributedMessage::DistributedSearchRequest(DistributedSearchRequest { ticket: 1234, .. })
    ));
    assert_eq!(
        DistributedMessage::DistributedServerSearchRequest(expected.clone())
            .to_frame()
            .unwrap(),
        frame
    );

    // The same message padded: three more bytes, the same embedded message.
    let padded = DistributedServerSearchRequest {
        padded: true,
        ..expected
    };
    let padded_frame = DistributedMessage::DistributedServerSearchRequest(padded.clone())
        .to_frame()
        .unwrap();
    assert_eq!(&padded_frame[5..9], &[0, 0, 0, 3]);
    assert_eq!(padded_frame.len(), frame.len() + 3);
    assert_eq!(padded.embedded(), expected_embedded());
}

fn expected_embedded() -> Result<DistributedMessage, slsk_proto::DecodeError> {
    Ok(DistributedMessage::DistributedSearchRequest(
        DistributedSearchRequest {
            unknown: 49,
            username: "carol".into(),
            ticket: 1234,
            query: "ambient flac".into(),
        },
    ))
}

#[test]
fn distributed_93_padding_needs_four_bytes_and_three_zeros() {
    use slsk_proto::distributed::DistributedServerSearchRequest;
    let decode = |payload: &[u8]| {
        let frame = Bytes::default().u8(0x5D).raw(payload).frame();
        match DistributedMessage::decode_frame(&frame).unwrap() {
            DistributedMessage::DistributedServerSearchRequest(m) => m,
            other => panic!("{other:?}"),
        }
    };
    let message = |padded, distributed_code, payload: &[u8]| DistributedServerSearchRequest {
        padded,
        distributed_code,
        payload: payload.to_vec(),
    };
    // Three zeros and a code: padded, an empty embedded payload.
    assert_eq!(decode(&[0, 0, 0, 4]), message(true, 4, &[]));
    // Only three bytes: no room for padding and a code, so bare.
    assert_eq!(decode(&[0, 0, 0]), message(false, 0, &[0, 0]));
    // A non-zero byte among the first three: bare.
    assert_eq!(decode(&[0, 0, 1, 4]), message(false, 0, &[0, 1, 4]));
    assert_eq!(decode(&[3, 0, 0, 0]), message(false, 3, &[0, 0, 0]));
    // An empty payload cannot hold the embedded code.
    let frame = Bytes::default().u8(0x5D).frame();
    assert!(DistributedMessage::decode_frame(&frame).is_err());
}
