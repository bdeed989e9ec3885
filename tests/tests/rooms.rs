//! Rooms end to end: our server (`slsk-server`) and our client
//! (`slsk-net::client`) together on loopback, and aioslsk 1.7.1 as a live
//! peer in a room of our server.
//!
//! Every step is followed by barriers ([`User::sync`]) and the tests compare
//! the whole list of room events and private messages each user received,
//! so a message sent to the wrong user fails as surely as a missing one.
//! Nothing sleeps; every wait has a deadline.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use slsk_net::Event;
use slsk_net::client::{RequestError, RoomEvent, RoomState};
use slsk_proto::server::RoomListResponse;
use slsk_proto::structures::{RoomInfo, RoomTicker, RoomUser, UserStats};
use slsk_proto::tables::UserStatus;
use support::net::{
    DEADLINE, Seen, User, away_sharing, client_config, from_server, server_config, start_server,
    try_login,
};

/// A whole test, bounded.
async fn bounded(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(Duration::from_secs(120), test)
        .await
        .expect("the test took over two minutes");
}

fn stats(folders: u32, files: u32) -> UserStats {
    UserStats {
        avg_speed: 0,
        uploads: 0,
        shared_file_count: files,
        shared_folder_count: folders,
    }
}

/// A room member as our server describes it (no slot or country data).
fn member(name: &str, status: UserStatus, stats: UserStats) -> RoomUser {
    RoomUser {
        username: name.into(),
        status,
        stats,
        slots_free: 0,
        country_code: String::new(),
    }
}

fn online(name: &str) -> RoomUser {
    member(name, UserStatus::Online, stats(0, 0))
}

/// The state of a room right after joining it (tickers come next).
fn room_state(
    name: &str,
    users: &[RoomUser],
    owner: Option<&str>,
    operators: &[&str],
) -> RoomState {
    RoomState {
        name: name.into(),
        is_private: owner.is_some(),
        owner: owner.map(Into::into),
        operators: operators.iter().map(|s| s.to_string()).collect(),
        users: users
            .iter()
            .map(|u| (u.username.clone(), u.clone()))
            .collect::<BTreeMap<_, _>>(),
        tickers: Vec::new(),
    }
}

fn tickers(list: &[(&str, &str)]) -> Vec<RoomTicker> {
    list.iter()
        .map(|(user, text)| RoomTicker {
            username: user.to_string(),
            ticker: text.to_string(),
        })
        .collect()
}

fn room(event: RoomEvent) -> Seen {
    Seen::Room(event)
}

/// What a joiner receives, in order: itself joining, the reply, the tickers.
fn join_sequence(state: RoomState, me: &RoomUser, wall: &[(&str, &str)]) -> Vec<Seen> {
    let name = state.name.clone();
    vec![
        user_joined(&name, me.clone()),
        room(RoomEvent::Joined(state)),
        room(RoomEvent::Tickers {
            room: name,
            tickers: tickers(wall),
        }),
    ]
}

fn user_joined(room_name: &str, user: RoomUser) -> Seen {
    room(RoomEvent::UserJoined {
        room: room_name.into(),
        user,
    })
}

fn user_left(room_name: &str, user: &str) -> Seen {
    room(RoomEvent::UserLeft {
        room: room_name.into(),
        username: user.into(),
    })
}

fn said(room_name: &str, user: &str, text: &str) -> Seen {
    room(RoomEvent::Message {
        room: room_name.into(),
        username: user.into(),
        text: text.into(),
    })
}

fn names(users: &BTreeMap<String, RoomUser>) -> Vec<&str> {
    users.keys().map(String::as_str).collect()
}

async fn sync_all(users: &mut [&mut User]) -> Vec<Vec<Seen>> {
    let mut all = Vec::new();
    for user in users.iter_mut() {
        all.push(user.sync_seen().await);
    }
    all
}

#[tokio::test]
async fn join_say_and_leave_tell_each_member_exactly_what_happened() {
    bounded(async {
        let server = start_server(server_config()).await;
        let addr = server.local_addr();
        let mut alice = User::login(addr, "alice").await;
        let mut bob = User::login_with(away_sharing(addr, "bob", 3, 30)).await;
        let mut carol = User::login(addr, "carol").await;
        let (a, b, c) = (
            online("alice"),
            member("bob", UserStatus::Away, stats(3, 30)),
            online("carol"),
        );

        // alice creates the room by joining it.
        let joined = alice.client.join_room("lobby").await.unwrap();
        assert_eq!(joined, room_state("lobby", &[a.clone()], None, &[]));
        assert_eq!(
            alice.sync_seen().await,
            join_sequence(joined.clone(), &a, &[])
        );

        // bob joins: he sees both members with status and stats; alice sees him.
        let joined = bob.client.join_room("lobby").await.unwrap();
        assert_eq!(
            joined,
            room_state("lobby", &[a.clone(), b.clone()], None, &[])
        );
        assert_eq!(bob.sync_seen().await, join_sequence(joined, &b, &[]));
        assert_eq!(alice.sync_seen().await, vec![user_joined("lobby", b.clone())]);

        let joined = carol.client.join_room("lobby").await.unwrap();
        assert_eq!(names(&joined.users), ["alice", "bob", "carol"]);
        assert_eq!(joined.users["bob"], b);
        assert_eq!(carol.sync_seen().await, join_sequence(joined, &c, &[]));
        let seen = sync_all(&mut [&mut alice, &mut bob]).await;
        assert_eq!(seen, vec![vec![user_joined("lobby", c.clone())]; 2]);

        // The state readers agree with the events.
        for user in [&alice, &bob, &carol] {
            let state = user.client.room("lobby").expect("in lobby");
            assert_eq!(names(&state.users), ["alice", "bob", "carol"], "{}", user.name);
            assert_eq!(state.users["bob"], b, "{}", user.name);
            assert_eq!(state.users["carol"], c, "{}", user.name);
            assert!(!state.is_private);
        }

        // Messages arrive in order, to everyone, the sender included.
        alice.client.send_room_message("lobby", "one").await.unwrap();
        alice.client.send_room_message("lobby", "two").await.unwrap();
        let mut alice_seen = alice.sync_seen().await;
        bob.client.send_room_message("lobby", "three").await.unwrap();
        let mut bob_seen = bob.sync_seen().await;
        carol.client.send_room_message("lobby", "").await.unwrap();
        let carol_seen = carol.sync_seen().await;
        alice_seen.extend(alice.sync_seen().await);
        bob_seen.extend(bob.sync_seen().await);
        let expected = vec![
            said("lobby", "alice", "one"),
            said("lobby", "alice", "two"),
            said("lobby", "bob", "three"),
            said("lobby", "carol", ""),
        ];
        assert_eq!(alice_seen, expected);
        assert_eq!(bob_seen, expected);
        assert_eq!(carol_seen, expected);

        // bob leaves: the others are told, he gets the confirmation, and he
        // no longer hears the room.
        bob.client.leave_room("lobby").await.unwrap();
        assert!(bob.client.room("lobby").is_none(), "forgotten at once");
        assert_eq!(
            bob.sync_seen().await,
            vec![room(RoomEvent::Left {
                room: "lobby".into()
            })]
        );
        let seen = sync_all(&mut [&mut alice, &mut carol]).await;
        assert_eq!(seen, vec![vec![user_left("lobby", "bob")]; 2]);
        assert_eq!(
            names(&alice.client.room("lobby").unwrap().users),
            ["alice", "carol"]
        );
        carol.client.send_room_message("lobby", "bye bob").await.unwrap();
        carol.sync().await;
        assert_eq!(bob.sync_seen().await, vec![]);
        assert_eq!(
            alice.sync_seen().await,
            vec![said("lobby", "carol", "bye bob")]
        );

        // A member who disconnects leaves too.
        carol.logout().await;
        let left = alice
            .wait_for("carol leaving", |event| match event {
                Event::Room(RoomEvent::UserLeft { username, .. }) => Some(username.clone()),
                _ => None,
            })
            .await;
        assert_eq!(left, "carol");
        assert_eq!(names(&alice.client.room("lobby").unwrap().users), ["alice"]);

        alice.logout().await;
        bob.logout().await;
        server.shutdown().await;
    })
    .await;
}
