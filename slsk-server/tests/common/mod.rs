//! A raw protocol client for loopback tests: `MessageCodec` over TCP, every
//! wait bounded.

#![allow(dead_code)] // each test binary uses part of it

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use slsk_net::MessageCodec;
use slsk_proto::server::{
    GetUserStatusRequest, LoginRequest, LoginResponse, ServerRequest, ServerResponse,
};
use slsk_server::{PasswordCost, Server, ServerConfig};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;
use tokio_util::codec::{FramedRead, FramedWrite};

/// How long any single wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub fn test_config() -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    }
}

pub async fn start(config: ServerConfig) -> Server {
    timeout(DEADLINE, Server::start(config))
        .await
        .expect("server start timed out")
        .expect("server start")
}

pub fn login_request(username: &str, password: &str) -> LoginRequest {
    LoginRequest {
        username: username.into(),
        password: password.into(),
        version: 160,
        md5_hash: Some(slsk_proto::login_hash(username, password)),
        minor_version: Some(1),
    }
}

pub struct Client {
    pub read: FramedRead<OwnedReadHalf, MessageCodec<ServerResponse>>,
    pub write: FramedWrite<OwnedWriteHalf, MessageCodec<ServerRequest>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = timeout(DEADLINE, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        Self::over(stream)
    }

    pub fn over(stream: TcpStream) -> Client {
        let (read, write) = stream.into_split();
        Client {
            read: FramedRead::new(read, MessageCodec::default()),
            write: FramedWrite::new(write, MessageCodec::default()),
        }
    }

    pub async fn send(&mut self, request: impl Into<ServerRequest>) {
        timeout(DEADLINE, self.write.send(request.into()))
            .await
            .expect("send timed out")
            .expect("send");
    }

    /// The next message, or `None` once the server closed the connection.
    pub async fn next(&mut self) -> Option<ServerResponse> {
        match timeout(DEADLINE, self.read.next())
            .await
            .expect("receive timed out")
        {
            None => None,
            Some(Ok(Ok(message))) => Some(message),
            Some(Ok(Err(e))) => panic!("undecodable message from the server: {e}"),
            // A reset after the server closed counts as closed.
            Some(Err(_)) => None,
        }
    }

    pub async fn recv(&mut self) -> ServerResponse {
        self.next().await.expect("the server closed the connection")
    }

    /// Skips messages until one matches.
    pub async fn recv_until(
        &mut self,
        mut wanted: impl FnMut(&ServerResponse) -> bool,
    ) -> ServerResponse {
        loop {
            let message = self.recv().await;
            if wanted(&message) {
                return message;
            }
        }
    }

    /// Logs in and reads the whole post-login sequence (it ends with
    /// ExcludedSearchPhrases). Panics on a rejection.
    pub async fn login(addr: SocketAddr, username: &str, password: &str) -> Client {
        let mut client = Client::connect(addr).await;
        client.send(login_request(username, password)).await;
        match client.recv().await {
            ServerResponse::Login(LoginResponse::Success { .. }) => {}
            other => panic!("login of {username} failed: {other:?}"),
        }
        client
            .recv_until(|m| matches!(m, ServerResponse::ExcludedSearchPhrases(_)))
            .await;
        client
    }

    /// A round trip: when it returns, the server has handled every request
    /// sent before it.
    pub async fn sync(&mut self, my_name: &str) {
        self.send(GetUserStatusRequest {
            username: my_name.into(),
        })
        .await;
        self.recv_until(|m| matches!(m, ServerResponse::GetUserStatus(s) if s.username == my_name))
            .await;
    }

    /// Reads until the server closes the connection; returns what came.
    pub async fn until_closed(&mut self) -> Vec<ServerResponse> {
        let mut received = Vec::new();
        while let Some(message) = self.next().await {
            received.push(message);
            assert!(received.len() < 10_000, "the server never closed");
        }
        received
    }
}
