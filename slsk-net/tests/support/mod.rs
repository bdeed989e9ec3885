//! A scripted fake Soulseek server on loopback, shared by the client test
//! files. Each test file uses a different part of it.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use slsk_net::MessageCodec;
use slsk_net::client::{Client, ClientConfig, Event, Events};
use slsk_proto::server::{LoginResponse, ServerRequest, ServerResponse};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::codec::{Decoder, FramedRead, FramedWrite};

pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A fake server: accepts connections on loopback.
pub struct FakeServer {
    listener: TcpListener,
}

impl FakeServer {
    pub async fn start() -> Self {
        Self {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    pub fn config(&self, username: &str) -> ClientConfig {
        let mut config = ClientConfig::new(
            self.listener.local_addr().unwrap().to_string(),
            username,
            "secret",
        );
        // Overrides, as behind a port forward; the listeners bind free ports.
        config.advertised_port = Some(2234);
        config.advertised_obfuscated_port = Some(2235);
        config.peer.obfuscated_listen_addr = Some("127.0.0.1:0".parse().unwrap());
        config.timing.request_timeout = Duration::from_secs(10);
        config.timing.login_timeout = Duration::from_secs(10);
        config.reconnect.first_delay_min = Duration::from_millis(5);
        config.reconnect.first_delay_max = Duration::from_millis(20);
        config.reconnect.max_delay = Duration::from_millis(100);
        config
    }

    pub async fn accept(&self) -> ServerSide {
        let (stream, _) = timeout(TIMEOUT, self.listener.accept())
            .await
            .expect("the client connects")
            .unwrap();
        ServerSide::new(stream)
    }
}

/// One accepted client connection, seen from the server.
pub struct ServerSide {
    pub reader: FramedRead<OwnedReadHalf, MessageCodec<ServerRequest>>,
    pub writer: FramedWrite<OwnedWriteHalf, MessageCodec<ServerResponse>>,
}

impl ServerSide {
    pub fn new(stream: TcpStream) -> Self {
        let (read, write) = stream.into_split();
        Self {
            reader: FramedRead::new(read, MessageCodec::default()),
            writer: FramedWrite::new(write, MessageCodec::default()),
        }
    }

    /// The first raw read of the connection, decoded: every request in it.
    pub async fn first_read(&mut self) -> Vec<ServerRequest> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = timeout(TIMEOUT, self.reader.get_mut().read(&mut buf))
            .await
            .expect("the client writes")
            .unwrap();
        let mut bytes = BytesMut::from(&buf[..n]);
        let mut codec = MessageCodec::<ServerRequest>::default();
        let mut requests = Vec::new();
        while let Some(item) = codec.decode(&mut bytes).unwrap() {
            requests.push(item.unwrap());
        }
        assert!(bytes.is_empty(), "a partial frame in the first read");
        requests
    }

    pub async fn recv(&mut self) -> ServerRequest {
        timeout(TIMEOUT, self.reader.next())
            .await
            .expect("the client sends")
            .expect("connection open")
            .unwrap()
            .unwrap()
    }

    /// The next request, or `None` at end of stream.
    pub async fn recv_or_eof(&mut self) -> Option<ServerRequest> {
        timeout(TIMEOUT, self.reader.next())
            .await
            .expect("the client sends or closes")
            .map(|r| r.unwrap().unwrap())
    }

    pub async fn send(&mut self, message: impl Into<ServerResponse>) {
        self.writer.send(message.into()).await.unwrap();
    }

    /// Answer the login (read with `recv`) with success, then read the
    /// post-login messages.
    pub async fn accept_login(&mut self) -> Vec<ServerRequest> {
        let login = self.recv().await;
        assert!(matches!(login, ServerRequest::Login(_)), "{login:?}");
        let port = self.recv().await;
        assert!(matches!(port, ServerRequest::SetListenPort(_)), "{port:?}");
        self.send_login_success().await;
        self.post_login().await
    }

    pub async fn send_login_success(&mut self) {
        self.send(ServerResponse::Login(LoginResponse::Success {
            greeting: "welcome".into(),
            ip: Ipv4Addr::new(127, 0, 0, 1),
            md5_hash: slsk_proto::password_hash("secret"),
            is_supporter: false,
        }))
        .await;
    }

    /// The post-login messages: everything up to and including the AddUser
    /// of the user itself, plus `extra` more.
    pub async fn post_login(&mut self) -> Vec<ServerRequest> {
        let mut messages = Vec::new();
        loop {
            let message = self.recv().await;
            let last = matches!(message, ServerRequest::AddUser(_));
            messages.push(message);
            if last {
                return messages;
            }
        }
    }
}

/// Connect a client to `server`, accepting its login.
pub async fn logged_in(server: &FakeServer, config: ClientConfig) -> (Client, Events, ServerSide) {
    let (client, side) = tokio::join!(Client::connect(config), async {
        let mut side = server.accept().await;
        side.accept_login().await;
        side
    });
    let (client, events) = client.unwrap();
    (client, events, side)
}

pub async fn next_event(events: &mut Events) -> Event {
    timeout(TIMEOUT, events.recv())
        .await
        .expect("an event comes")
        .expect("the session goes on")
}

/// Skip events until one matches.
pub async fn wait_for(events: &mut Events, wanted: impl Fn(&Event) -> bool) -> Event {
    for _ in 0..1000 {
        let event = next_event(events).await;
        if wanted(&event) {
            return event;
        }
    }
    panic!("no matching event among 1000");
}

/// The stream ends after the remaining events.
pub async fn assert_events_end(events: &mut Events) -> Vec<Event> {
    let mut rest = Vec::new();
    for _ in 0..1000 {
        match timeout(TIMEOUT, events.recv())
            .await
            .expect("the stream ends")
        {
            Some(event) => rest.push(event),
            None => return rest,
        }
    }
    panic!("the event stream does not end");
}
