//! Limits the driver enforces: connections per address, and a large frame
//! that is read whole and then forgotten.

mod common;

use common::{Client, start, test_config};
use slsk_proto::server::PrivateChatMessageRequest;
use slsk_server::ServerConfig;

#[tokio::test]
async fn connections_past_the_per_address_cap_are_closed() {
    let server = start(ServerConfig {
        max_connections_per_ip: 2,
        ..test_config()
    })
    .await;
    let addr = server.local_addr();
    let mut alice = Client::login(addr, "alice", "pw").await;
    let _second = Client::connect(addr).await;
    let mut third = Client::connect(addr).await;
    assert!(third.until_closed().await.is_empty(), "refused at once");
    alice.sync("alice").await;

    // A slot frees when a connection ends.
    drop(alice);
    let mut attempts = 0;
    let mut bob = loop {
        attempts += 1;
        assert!(attempts < 1000, "the slot never freed");
        let mut client = Client::connect(addr).await;
        client.send(common::login_request("bob", "pw")).await;
        // Refused while the server has not yet seen alice's socket close.
        if let Some(first) = client.next().await {
            assert!(matches!(
                first,
                slsk_proto::server::ServerResponse::Login(_)
            ));
            break client;
        }
    };
    bob.sync("bob").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_frame_near_the_cap_is_served_and_the_connection_goes_on() {
    let server = start(test_config()).await;
    let addr = server.local_addr();
    let mut alice = Client::login(addr, "alice", "pw").await;
    let mut bob = Client::login(addr, "bob", "pw").await;
    let long = "x".repeat(2048);
    alice
        .send(PrivateChatMessageRequest {
            username: "bob".into(),
            message: long.clone(),
        })
        .await;
    let pm = bob
        .recv_until(|m| matches!(m, slsk_proto::server::ServerResponse::PrivateChatMessage(_)))
        .await;
    assert!(
        matches!(pm, slsk_proto::server::ServerResponse::PrivateChatMessage(m) if m.message == long)
    );
    alice.sync("alice").await;
    server.shutdown().await;
}
