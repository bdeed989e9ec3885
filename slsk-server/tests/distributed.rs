//! The distributed tree over real sockets, with raw protocol clients on
//! loopback: a root offered as a parent, a global search reaching the root
//! as EmbeddedMessage(93) and a parentless user as FileSearch(26), and the
//! branch reset when the root leaves.

mod common;

use common::{Client, start, test_config};
use slsk_proto::distributed::{DistributedMessage, DistributedSearchRequest};
use slsk_proto::server::{
    AcceptChildrenRequest, BranchLevelRequest, BranchRootRequest, FileSearchRequest,
    FileSearchResponse, GetUserStatusRequest, SendUploadSpeedRequest, ServerRequest,
    ServerResponse, SetListenPortRequest, ToggleParentSearchRequest,
};
use slsk_proto::structures::PotentialParent;

/// Tells the server where we listen, how fast we are and our tree position.
async fn report(client: &mut Client, port: u32, speed: u32, position: (bool, bool, u32, &str)) {
    let (no_parent, accept, level, root) = position;
    let requests: [ServerRequest; 6] = [
        SetListenPortRequest {
            port,
            obfuscation_type: None,
            obfuscated_port: None,
        }
        .into(),
        SendUploadSpeedRequest { speed }.into(),
        BranchLevelRequest { level }.into(),
        BranchRootRequest {
            username: root.into(),
        }
        .into(),
        ToggleParentSearchRequest { enable: no_parent }.into(),
        AcceptChildrenRequest { accept }.into(),
    ];
    for request in requests {
        client.send(request).await;
    }
}

/// Everything the server sends up to the answer of a round trip.
async fn drain(client: &mut Client, my_name: &str) -> Vec<ServerResponse> {
    client
        .send(GetUserStatusRequest {
            username: my_name.into(),
        })
        .await;
    let mut received = Vec::new();
    loop {
        match client.recv().await {
            ServerResponse::GetUserStatus(s) if s.username == my_name => return received,
            other => received.push(other),
        }
    }
}

fn is_search(message: &ServerResponse) -> bool {
    matches!(
        message,
        ServerResponse::FileSearch(_) | ServerResponse::ServerSearchRequest(_)
    )
}

#[tokio::test]
async fn searches_reach_roots_embedded_and_parentless_users_directly() {
    let server = start(test_config()).await;
    let addr = server.local_addr();

    let mut root = Client::login(addr, "root", "pw").await;
    report(&mut root, 5001, 1000, (true, true, 0, "root")).await;
    root.sync("root").await;

    // Looking for a parent: the root is offered at the next tick (1 s).
    let mut child = Client::login(addr, "child", "pw").await;
    report(&mut child, 5002, 10, (true, false, 0, "child")).await;
    let offer = child
        .recv_until(|m| matches!(m, ServerResponse::PotentialParents(_)))
        .await;
    let ServerResponse::PotentialParents(offer) = offer else {
        unreachable!()
    };
    assert_eq!(
        offer.parents,
        [PotentialParent {
            username: "root".into(),
            ip: std::net::Ipv4Addr::LOCALHOST,
            port: 5001,
        }]
    );
    // It adopts the root.
    report(&mut child, 5002, 10, (false, true, 1, "root")).await;
    child.sync("child").await;

    // Never takes part in the tree.
    let mut loner = Client::login(addr, "loner", "pw").await;
    let mut searcher = Client::login(addr, "searcher", "pw").await;
    searcher
        .send(FileSearchRequest {
            ticket: 77,
            query: "night train".into(),
        })
        .await;
    searcher.sync("searcher").await;

    let embedded = root
        .recv_until(|m| matches!(m, ServerResponse::ServerSearchRequest(_)))
        .await;
    let ServerResponse::ServerSearchRequest(embedded) = embedded else {
        unreachable!()
    };
    assert_eq!(embedded.distributed_code, 3);
    assert_eq!(
        embedded.embedded().unwrap(),
        DistributedMessage::DistributedSearchRequest(DistributedSearchRequest {
            unknown: 49,
            username: "searcher".into(),
            ticket: 77,
            query: "night train".into(),
        })
    );
    let direct = loner
        .recv_until(|m| matches!(m, ServerResponse::FileSearch(_)))
        .await;
    assert_eq!(
        direct,
        FileSearchResponse {
            username: "searcher".into(),
            ticket: 77,
            query: "night train".into(),
        }
        .into()
    );
    // The tree member gets it from its parent, not from the server.
    let to_child = drain(&mut child, "child").await;
    assert!(!to_child.iter().any(is_search), "{to_child:?}");

    // The root leaves: its branch is reset.
    drop(root);
    child
        .recv_until(|m| matches!(m, ServerResponse::ResetDistributed(_)))
        .await;
    server.shutdown().await;
}
