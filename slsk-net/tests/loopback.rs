//! The codec over a real TCP connection on loopback.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use slsk_net::MessageCodec;
use slsk_proto::server::{GetUserStatusRequest, ServerRequest};
use slsk_proto::{DecodeErrorKind, FrameLimits, FramedMessage, Limits};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), server.unwrap().0)
}

#[tokio::test]
async fn messages_cross_a_socket_in_pieces() {
    let (client, server) = pair().await;
    let messages: Vec<ServerRequest> = (0..50)
        .map(|i| {
            GetUserStatusRequest {
                username: format!("user-{i}-é"),
            }
            .into()
        })
        .collect();
    let mut frames = Vec::new();
    for m in &messages {
        m.encode_frame(&mut frames).unwrap();
    }
    // Write in odd-sized chunks so frames straddle reads.
    let writer = tokio::spawn(async move {
        let mut client = client;
        for chunk in frames.chunks(7) {
            client.write_all(chunk).await.unwrap();
        }
    });
    let mut read = FramedRead::new(server, MessageCodec::<ServerRequest>::default());
    for expected in &messages {
        let got = tokio::time::timeout(TIMEOUT, read.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(&got.unwrap(), expected);
    }
    writer.await.unwrap();
    assert!(
        tokio::time::timeout(TIMEOUT, read.next())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_bad_payload_is_an_item_and_the_stream_goes_on() {
    let (client, server) = pair().await;
    let mut write = FramedWrite::new(client, MessageCodec::<ServerRequest>::default());
    let mut read = FramedRead::new(server, MessageCodec::<ServerRequest>::default());
    // GetUserStatus (7) whose string length runs past the frame.
    write
        .get_mut()
        .write_all(&[8, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0])
        .await
        .unwrap();
    let good: ServerRequest = GetUserStatusRequest {
        username: "ok".into(),
    }
    .into();
    write.send(good.clone()).await.unwrap();
    let first = tokio::time::timeout(TIMEOUT, read.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let e = first.unwrap_err();
    assert_eq!(
        (e.message(), e.field().as_str()),
        (Some("GetUserStatus"), "username")
    );
    assert!(matches!(e.kind(), DecodeErrorKind::UnexpectedEnd { .. }));
    let second = tokio::time::timeout(TIMEOUT, read.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.unwrap(), good);
}

#[tokio::test]
async fn an_oversized_frame_ends_the_stream_before_buffering_it() {
    let (client, server) = pair().await;
    let limits = Limits {
        max_frame_size: FrameLimits {
            server: 1024,
            ..FrameLimits::DEFAULT
        },
        ..Limits::DEFAULT
    };
    let mut read = FramedRead::new(server, MessageCodec::<ServerRequest>::new(limits));
    let mut client = client;
    // Announces 1 GiB; only the header is ever sent.
    client.write_all(&(1u32 << 30).to_le_bytes()).await.unwrap();
    let e = tokio::time::timeout(TIMEOUT, read.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(read.read_buffer().capacity() < 1 << 20);
}
