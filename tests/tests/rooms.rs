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
        assert_eq!(
            alice.sync_seen().await,
            vec![user_joined("lobby", b.clone())]
        );

        let joined = carol.client.join_room("lobby").await.unwrap();
        assert_eq!(names(&joined.users), ["alice", "bob", "carol"]);
        assert_eq!(joined.users["bob"], b);
        assert_eq!(carol.sync_seen().await, join_sequence(joined, &c, &[]));
        let seen = sync_all(&mut [&mut alice, &mut bob]).await;
        assert_eq!(seen, vec![vec![user_joined("lobby", c.clone())]; 2]);

        // The state readers agree with the events.
        for user in [&alice, &bob, &carol] {
            let state = user.client.room("lobby").expect("in lobby");
            assert_eq!(
                names(&state.users),
                ["alice", "bob", "carol"],
                "{}",
                user.name
            );
            assert_eq!(state.users["bob"], b, "{}", user.name);
            assert_eq!(state.users["carol"], c, "{}", user.name);
            assert!(!state.is_private);
        }

        // Messages arrive in order, to everyone, the sender included.
        alice
            .client
            .send_room_message("lobby", "one")
            .await
            .unwrap();
        alice
            .client
            .send_room_message("lobby", "two")
            .await
            .unwrap();
        let mut alice_seen = alice.sync_seen().await;
        bob.client
            .send_room_message("lobby", "three")
            .await
            .unwrap();
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
        carol
            .client
            .send_room_message("lobby", "bye bob")
            .await
            .unwrap();
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

/// Checks everything `user` was told since its last barrier.
async fn expect(user: &mut User, expected: Vec<Seen>) {
    let seen = user.sync_seen().await;
    assert_eq!(seen, expected, "what {} was told", user.name);
}

fn info(rooms: &[(&str, u32)]) -> Vec<RoomInfo> {
    rooms
        .iter()
        .map(|(name, user_count)| RoomInfo {
            name: name.to_string(),
            user_count: *user_count,
        })
        .collect()
}

/// A RoomList: public rooms, owned private rooms, member rooms (with
/// their joined counts), operated rooms.
fn room_list(
    public: &[(&str, u32)],
    owned: &[(&str, u32)],
    member_of: &[(&str, u32)],
    operated: &[&str],
) -> Seen {
    room(RoomEvent::List(RoomListResponse {
        rooms: info(public),
        rooms_private_owned: info(owned),
        rooms_private: info(member_of),
        rooms_private_operated: operated.iter().map(|s| s.to_string()).collect(),
    }))
}

fn to_strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The member and operator lists that follow a RoomList.
fn private_lists(room_name: &str, members: &[&str], operators: &[&str]) -> Vec<Seen> {
    vec![
        room(RoomEvent::PrivateMembers {
            room: room_name.into(),
            members: to_strings(members),
        }),
        room(RoomEvent::PrivateOperators {
            room: room_name.into(),
            operators: to_strings(operators),
        }),
    ]
}

fn with(mut first: Vec<Seen>, rest: Vec<Seen>) -> Vec<Seen> {
    first.extend(rest);
    first
}

fn member_added(room_name: &str, user: &str) -> Seen {
    room(RoomEvent::MemberAdded {
        room: room_name.into(),
        username: user.into(),
    })
}

fn member_removed(room_name: &str, user: &str) -> Seen {
    room(RoomEvent::MemberRemoved {
        room: room_name.into(),
        username: user.into(),
    })
}

fn operator_added(room_name: &str, user: &str) -> Seen {
    room(RoomEvent::OperatorAdded {
        room: room_name.into(),
        username: user.into(),
    })
}

fn operator_removed(room_name: &str, user: &str) -> Seen {
    room(RoomEvent::OperatorRemoved {
        room: room_name.into(),
        username: user.into(),
    })
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The private rooms a client knows, as (room, members, operators).
fn private_rooms(user: &User) -> Vec<(String, BTreeSet<String>, BTreeSet<String>)> {
    let mut rooms: Vec<_> = user
        .client
        .private_rooms()
        .into_iter()
        .map(|r| (r.name, r.members, r.operators))
        .collect();
    rooms.sort();
    rooms
}

#[tokio::test]
async fn private_rooms_tell_owner_operators_members_and_outsiders_the_right_things() {
    bounded(async {
        let server = start_server(server_config()).await;
        let addr = server.local_addr();
        let invitable = |name: &str| {
            let mut config = client_config(addr, name);
            config.room_invitations = true;
            config
        };
        let mut olga = User::login(addr, "olga").await;
        let mut mia = User::login(addr, "mia").await;
        let mut opal = User::login_with(invitable("opal")).await;
        let mut nick = User::login_with(invitable("nick")).await;
        let mut nina = User::login_with(invitable("nina")).await;
        let (o, m, p) = (online("olga"), online("mia"), online("opal"));

        // Creating by joining as private: the owner gets the room list
        // naming the room, its (empty) lists, then the join sequence.
        let den = olga.client.join_private_room("den").await.unwrap();
        assert_eq!(den, room_state("den", &[o.clone()], Some("olga"), &[]));
        let mut expected = vec![room_list(&[], &[("den", 0)], &[], &[])];
        expected.extend(private_lists("den", &[], &[]));
        expected.extend(join_sequence(den, &o, &[]));
        expect(&mut olga, expected).await;
        assert_eq!(private_rooms(&olga), [("den".into(), set(&[]), set(&[]))]);

        // An outsider is refused, with the server's explanation.
        let refused = nina.client.join_room("den").await;
        assert!(matches!(refused, Err(RequestError::RoomIsPrivate)), "{refused:?}");
        expect(
            &mut nina,
            vec![
                room(RoomEvent::JoinRefused { room: "den".into() }),
                from_server("The room you are trying to enter (den) is registered as private."),
            ],
        )
        .await;
        expect(&mut olga, vec![]).await;

        // Invitations off: the owner is told, the user hears nothing.
        olga.client.add_room_member("den", "mia").await.unwrap();
        expect(
            &mut olga,
            vec![from_server(
                "user mia hasn\u{2019}t enabled private room add. please message them and ask them to do so before trying to add them again.",
            )],
        )
        .await;
        expect(&mut mia, vec![]).await;

        // Invitations on: the member is added.
        mia.client.set_room_invitations(true).await.unwrap();
        assert!(mia.client.room_invitations());
        expect(&mut mia, vec![room(RoomEvent::InvitationsEnabled(true))]).await;
        olga.client.add_room_member("den", "mia").await.unwrap();
        expect(
            &mut olga,
            vec![
                member_added("den", "mia"),
                from_server("User mia is now a member of room den"),
            ],
        )
        .await;
        let mut expected = vec![
            member_added("den", "mia"),
            room(RoomEvent::MembershipGranted { room: "den".into() }),
            room_list(&[], &[], &[("den", 1)], &[]),
        ];
        expected.extend(private_lists("den", &["mia"], &[]));
        expect(&mut mia, expected).await;
        for user in [&olga, &mia] {
            assert_eq!(
                private_rooms(user),
                [("den".into(), set(&["mia"]), set(&[]))],
                "{}",
                user.name
            );
        }
        expect(&mut nina, vec![]).await;

        // The member joins.
        let den = mia.client.join_room("den").await.unwrap();
        assert_eq!(
            den,
            room_state("den", &[o.clone(), m.clone()], Some("olga"), &[])
        );
        expect(&mut mia, join_sequence(den, &m, &[])).await;
        expect(&mut olga, vec![user_joined("den", m.clone())]).await;

        // A second member, made an operator.
        olga.client.add_room_member("den", "opal").await.unwrap();
        expect(
            &mut olga,
            vec![
                member_added("den", "opal"),
                from_server("User opal is now a member of room den"),
            ],
        )
        .await;
        expect(&mut mia, vec![member_added("den", "opal")]).await;
        let mut expected = vec![
            member_added("den", "opal"),
            room(RoomEvent::MembershipGranted { room: "den".into() }),
            room_list(&[], &[], &[("den", 2)], &[]),
        ];
        expected.extend(private_lists("den", &["mia", "opal"], &[]));
        expect(&mut opal, expected).await;

        olga.client.add_room_operator("den", "opal").await.unwrap();
        expect(
            &mut olga,
            vec![
                operator_added("den", "opal"),
                from_server("User opal is now an operator of room den"),
            ],
        )
        .await;
        expect(&mut mia, vec![operator_added("den", "opal")]).await;
        let mut expected = vec![
            operator_added("den", "opal"),
            room(RoomEvent::OperatorshipGranted { room: "den".into() }),
            room_list(&[], &[], &[("den", 2)], &["den"]),
        ];
        expected.extend(private_lists("den", &["mia", "opal"], &["opal"]));
        expect(&mut opal, expected).await;
        for user in [&olga, &mia] {
            assert_eq!(
                user.client.room("den").unwrap().operators,
                set(&["opal"]),
                "{}",
                user.name
            );
        }
        assert_eq!(
            private_rooms(&opal),
            [("den".into(), set(&["mia", "opal"]), set(&["opal"]))]
        );

        // The operator adds a member: the owner is told who did it.
        opal.client.add_room_member("den", "nick").await.unwrap();
        expect(
            &mut opal,
            vec![
                member_added("den", "nick"),
                from_server("User nick is now a member of room den"),
            ],
        )
        .await;
        expect(
            &mut olga,
            vec![
                member_added("den", "nick"),
                from_server("User [nick] was added as a member of room [den] by operator [opal]"),
            ],
        )
        .await;
        expect(&mut mia, vec![member_added("den", "nick")]).await;
        let mut expected = vec![
            member_added("den", "nick"),
            room(RoomEvent::MembershipGranted { room: "den".into() }),
            room_list(&[], &[], &[("den", 2)], &[]),
        ];
        expected.extend(private_lists("den", &["mia", "nick", "opal"], &["opal"]));
        expect(&mut nick, expected).await;

        // The operator joins; then the owner takes the rank away.
        let den = opal.client.join_room("den").await.unwrap();
        assert_eq!(
            den,
            room_state(
                "den",
                &[o.clone(), m.clone(), p.clone()],
                Some("olga"),
                &["opal"]
            )
        );
        expect(&mut opal, join_sequence(den, &p, &[])).await;
        expect(&mut olga, vec![user_joined("den", p.clone())]).await;
        expect(&mut mia, vec![user_joined("den", p.clone())]).await;

        olga.client.remove_room_operator("den", "opal").await.unwrap();
        expect(
            &mut olga,
            vec![
                operator_removed("den", "opal"),
                from_server("User opal is no longer an operator of room den"),
            ],
        )
        .await;
        expect(&mut mia, vec![operator_removed("den", "opal")]).await;
        expect(&mut nick, vec![operator_removed("den", "opal")]).await;
        let mut expected = vec![
            operator_removed("den", "opal"),
            room(RoomEvent::OperatorshipRevoked { room: "den".into() }),
            room_list(&[], &[], &[("den", 3)], &[]),
        ];
        expected.extend(private_lists("den", &["mia", "nick", "opal"], &[]));
        expect(&mut opal, expected).await;
        for user in [&olga, &mia, &opal] {
            assert!(user.client.room("den").unwrap().operators.is_empty());
        }

        // An operator may give up the rank itself.
        olga.client.add_room_operator("den", "nick").await.unwrap();
        olga.sync().await;
        for user in [&mut mia, &mut opal, &mut nick] {
            user.sync().await;
        }
        nick.client.drop_room_operatorship("den").await.unwrap();
        let mut expected = vec![
            operator_removed("den", "nick"),
            room(RoomEvent::OperatorshipRevoked { room: "den".into() }),
            room_list(&[], &[], &[("den", 3)], &[]),
        ];
        expected.extend(private_lists("den", &["mia", "nick", "opal"], &[]));
        expect(&mut nick, expected).await;
        expect(
            &mut olga,
            vec![
                operator_removed("den", "nick"),
                from_server("User nick is no longer an operator of room den"),
            ],
        )
        .await;
        expect(&mut mia, vec![operator_removed("den", "nick")]).await;
        expect(&mut opal, vec![operator_removed("den", "nick")]).await;

        // The owner removes a joined member: it is put out of the room.
        olga.client.remove_room_member("den", "mia").await.unwrap();
        expect(
            &mut olga,
            vec![
                member_removed("den", "mia"),
                from_server("User mia is no longer a member of room den"),
                user_left("den", "mia"),
            ],
        )
        .await;
        expect(
            &mut opal,
            vec![member_removed("den", "mia"), user_left("den", "mia")],
        )
        .await;
        expect(&mut nick, vec![member_removed("den", "mia")]).await;
        expect(
            &mut mia,
            vec![
                room(RoomEvent::MembershipRevoked { room: "den".into() }),
                room(RoomEvent::Left { room: "den".into() }),
                room_list(&[], &[], &[], &[]),
            ],
        )
        .await;
        assert!(mia.client.room("den").is_none());
        assert_eq!(private_rooms(&mia), []);
        let refused = mia.client.join_room("den").await;
        assert!(matches!(refused, Err(RequestError::RoomIsPrivate)), "{refused:?}");
        mia.sync().await;

        // A member gives up its membership.
        nick.client.drop_room_membership("den").await.unwrap();
        expect(
            &mut nick,
            vec![
                room(RoomEvent::MembershipRevoked { room: "den".into() }),
                room_list(&[], &[], &[], &[]),
            ],
        )
        .await;
        expect(
            &mut olga,
            vec![
                member_removed("den", "nick"),
                from_server("User nick is no longer a member of room den"),
            ],
        )
        .await;
        expect(&mut opal, vec![member_removed("den", "nick")]).await;
        expect(&mut mia, vec![]).await;
        assert_eq!(
            private_rooms(&olga),
            [("den".into(), set(&["opal"]), set(&[]))]
        );

        // The owner gives the room up (the official way): the members are
        // put out, the owner stays in a room that is now public.
        olga.client.drop_room_ownership("den").await.unwrap();
        expect(
            &mut olga,
            vec![
                user_left("den", "opal"),
                room_list(&[("den", 1)], &[], &[], &[]),
            ],
        )
        .await;
        expect(
            &mut opal,
            vec![
                room(RoomEvent::MembershipRevoked { room: "den".into() }),
                room(RoomEvent::Left { room: "den".into() }),
                room_list(&[("den", 1)], &[], &[], &[]),
            ],
        )
        .await;
        for user in [&mut nick, &mut mia, &mut nina] {
            expect(user, vec![]).await;
        }
        assert_eq!(private_rooms(&olga), []);
        let den = olga.client.room("den").unwrap();
        assert_eq!(names(&den.users), ["olga"]);
        assert!(!den.is_private, "the room is public now: {den:?}");
        assert_eq!(den.owner, None);

        // Anyone may join it now.
        let n = online("nina");
        let den = nina.client.join_room("den").await.unwrap();
        assert_eq!(den, room_state("den", &[o.clone(), n.clone()], None, &[]));
        expect(&mut nina, join_sequence(den, &n, &[])).await;
        expect(&mut olga, vec![user_joined("den", n)]).await;

        for user in [olga, mia, opal, nick, nina] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}
