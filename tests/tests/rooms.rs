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
        assert_eq!(
            joined,
            room_state("lobby", std::slice::from_ref(&a), None, &[])
        );
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

        // The full room list counts them.
        let list = carol.client.request_room_list().await.unwrap();
        assert_eq!(list.rooms, info(&[("lobby", 3)]));
        assert_eq!(
            carol.sync_seen().await,
            vec![room_list(&[("lobby", 3)], &[], &[], &[])]
        );

        // A status change reaches the room-mates' member lists.
        bob.client
            .set_status(slsk_net::client::OwnStatus::Online)
            .await
            .unwrap();
        bob.sync().await;
        for user in [&mut alice, &mut carol] {
            let told = user.sync().await;
            assert!(
                told.contains(&Event::UserStatus {
                    username: "bob".into(),
                    status: UserStatus::Online,
                    privileged: false
                }),
                "{}: {told:?}",
                user.name
            );
            let state = user.client.room("lobby").unwrap();
            assert_eq!(state.users["bob"].status, UserStatus::Online);
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
        assert_eq!(den, room_state("den", std::slice::from_ref(&o), Some("olga"), &[]));
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

fn ticker_set(room_name: &str, user: &str, text: &str) -> Seen {
    room(RoomEvent::TickerSet {
        room: room_name.into(),
        username: user.into(),
        ticker: text.into(),
    })
}

fn ticker_removed(room_name: &str, user: &str) -> Seen {
    room(RoomEvent::TickerRemoved {
        room: room_name.into(),
        username: user.into(),
    })
}

#[tokio::test]
async fn tickers_are_set_replaced_removed_and_seen_at_join() {
    bounded(async {
        let server = start_server(server_config()).await;
        let addr = server.local_addr();
        let mut alice = User::login(addr, "alice").await;
        let mut bob = User::login(addr, "bob").await;
        let mut carol = User::login(addr, "carol").await;
        alice.client.join_room("stage").await.unwrap();
        alice.sync().await;
        bob.client.join_room("stage").await.unwrap();
        bob.sync().await;
        alice.sync().await;

        alice
            .client
            .set_room_ticker("stage", "first")
            .await
            .unwrap();
        for user in [&mut alice, &mut bob] {
            expect(user, vec![ticker_set("stage", "alice", "first")]).await;
        }
        // Replacing: the old one is removed, then the new one added.
        alice
            .client
            .set_room_ticker("stage", "second")
            .await
            .unwrap();
        // The same text again changes nothing.
        alice
            .client
            .set_room_ticker("stage", "second")
            .await
            .unwrap();
        for user in [&mut alice, &mut bob] {
            expect(
                user,
                vec![
                    ticker_removed("stage", "alice"),
                    ticker_set("stage", "alice", "second"),
                ],
            )
            .await;
        }
        bob.client.set_room_ticker("stage", "bob's").await.unwrap();
        for user in [&mut bob, &mut alice] {
            expect(user, vec![ticker_set("stage", "bob", "bob's")]).await;
        }
        // Someone not in the room cannot set one.
        carol
            .client
            .set_room_ticker("stage", "outsider")
            .await
            .unwrap();
        carol.sync().await;
        expect(&mut alice, vec![]).await;

        // A newcomer gets the wall, oldest first.
        let wall = [("alice", "second"), ("bob", "bob's")];
        let joined = carol.client.join_room("stage").await.unwrap();
        expect(&mut carol, join_sequence(joined, &online("carol"), &wall)).await;
        for user in [&alice, &bob, &carol] {
            assert_eq!(
                user.client.room("stage").unwrap().tickers,
                tickers(&wall),
                "{}",
                user.name
            );
        }

        // An empty text removes it.
        alice.client.set_room_ticker("stage", "").await.unwrap();
        alice.sync().await;
        for user in [&mut bob, &mut carol] {
            let mut seen = user.sync_seen().await;
            seen.retain(|s| !matches!(s, Seen::Room(RoomEvent::UserJoined { .. })));
            assert_eq!(
                seen,
                vec![ticker_removed("stage", "alice")],
                "{}",
                user.name
            );
        }
        assert_eq!(
            carol.client.room("stage").unwrap().tickers,
            tickers(&[("bob", "bob's")])
        );

        // The wall stays while the public room is empty.
        for user in [&alice, &bob, &carol] {
            user.client.leave_room("stage").await.unwrap();
        }
        for user in [&mut alice, &mut bob, &mut carol] {
            user.sync().await;
        }
        let dave = User::login(addr, "dave").await;
        let joined = dave.client.join_room("stage").await.unwrap();
        assert_eq!(names(&joined.users), ["dave"]);
        let mut dave = dave;
        expect(
            &mut dave,
            join_sequence(joined, &online("dave"), &[("bob", "bob's")]),
        )
        .await;

        for user in [alice, bob, carol, dave] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}

/// Privilege time as the client reports it: within a minute of `days`.
fn about_days(left: Duration, days: u64) -> bool {
    let want = Duration::from_secs(days * 86_400);
    left <= want && left + Duration::from_secs(60) >= want
}

async fn privileges_pushed(user: &mut User) -> Duration {
    user.wait_for("privileges", |event| match event {
        Event::Privileges { time_left } => Some(*time_left),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn privileges_given_by_an_admin_or_a_privileged_user() {
    bounded(async {
        let mut config = server_config();
        config.admins = vec!["root".into()];
        let server = start_server(config).await;
        let addr = server.local_addr();
        let mut root = User::login(addr, "root").await;
        let mut alice = User::login(addr, "alice").await;
        let mut bob = User::login(addr, "bob").await;
        let mut carol = User::login(addr, "carol").await;
        assert_eq!(alice.client.check_privileges().await.unwrap(), Duration::ZERO);
        assert!(!carol.client.user_privileged("alice").await.unwrap());
        // carol shares a room with alice: she hears alice's status changes.
        for user in [&mut alice, &mut carol] {
            user.client.join_room("hall").await.unwrap();
            user.sync().await;
        }
        alice.sync().await;

        assert_eq!(
            root.command("giveprivileges 3 alice").await,
            "Gave 3 days of privileges to alice."
        );
        let left = privileges_pushed(&mut alice).await;
        assert!(about_days(left, 3), "{left:?}");
        let left = alice.client.check_privileges().await.unwrap();
        assert!(about_days(left, 3), "{left:?}");
        assert!(about_days(alice.client.privileges_time_left().unwrap(), 3));
        alice.sync().await;
        // Everyone online learns that alice is privileged; her room-mate
        // also gets her status with the flag.
        let heard: Vec<Event> = carol
            .sync()
            .await
            .into_iter()
            .filter(|event| {
                matches!(event, Event::UserStatus { username, .. } | Event::UserPrivileged { username, .. } if username == "alice")
            })
            .collect();
        assert_eq!(
            heard,
            [
                Event::UserStatus {
                    username: "alice".into(),
                    status: UserStatus::Online,
                    privileged: true
                },
                Event::UserPrivileged {
                    username: "alice".into(),
                    privileged: true
                }
            ]
        );
        assert!(carol.client.is_privileged("alice"));
        assert!(carol.client.user_privileged("alice").await.unwrap());
        assert!(!carol.client.user_privileged("bob").await.unwrap());

        // A privileged user gives a day of its own.
        alice.client.give_privileges("bob", 1).await.unwrap();
        let left = privileges_pushed(&mut bob).await;
        assert!(about_days(left, 1), "{left:?}");
        let left = privileges_pushed(&mut alice).await;
        assert!(about_days(left, 2), "the giver has a day less: {left:?}");
        assert!(about_days(bob.client.check_privileges().await.unwrap(), 1));
        assert!(carol.client.user_privileged("bob").await.unwrap());
        assert!(carol.client.is_privileged("bob"));

        // Without privileges there is nothing to give.
        carol.client.give_privileges("bob", 5).await.unwrap();
        carol.sync().await;
        assert!(about_days(bob.client.check_privileges().await.unwrap(), 1));
        assert_eq!(carol.client.check_privileges().await.unwrap(), Duration::ZERO);

        // Who logs in later gets the list.
        let dave = User::login(addr, "dave").await;
        let mut privileged = dave.client.privileged_users();
        privileged.sort();
        assert_eq!(privileged, ["alice", "bob"]);

        for user in [root, alice, bob, carol, dave] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_public_feed_carries_public_rooms_only() {
    bounded(async {
        let server = start_server(server_config()).await;
        let addr = server.local_addr();
        let mut alice = User::login(addr, "alice").await;
        let mut carol = User::login(addr, "carol").await;
        carol.client.set_public_chat(true).await.unwrap();
        assert!(carol.client.public_chat());
        alice.client.join_room("plaza").await.unwrap();
        alice.client.join_private_room("attic").await.unwrap();
        alice.sync().await;

        alice
            .client
            .send_room_message("attic", "in private")
            .await
            .unwrap();
        alice
            .client
            .send_room_message("plaza", "in public")
            .await
            .unwrap();
        alice.sync().await;
        expect(
            &mut carol,
            vec![room(RoomEvent::PublicMessage {
                room: "plaza".into(),
                username: "alice".into(),
                text: "in public".into(),
            })],
        )
        .await;

        carol.client.set_public_chat(false).await.unwrap();
        carol.sync().await;
        alice
            .client
            .send_room_message("plaza", "again")
            .await
            .unwrap();
        alice.sync().await;
        expect(&mut carol, vec![]).await;

        alice.logout().await;
        carol.logout().await;
        server.shutdown().await;
    })
    .await;
}

fn scored(list: &[(&str, i32)]) -> Vec<slsk_proto::structures::Recommendation> {
    list.iter()
        .map(|(item, score)| slsk_proto::structures::Recommendation {
            recommendation: item.to_string(),
            score: *score,
        })
        .collect()
}

#[tokio::test]
async fn interests_and_recommendations_a_worked_example() {
    bounded(async {
        let server = start_server(server_config()).await;
        let addr = server.local_addr();
        let mut alice = User::login(addr, "alice").await;
        let mut bob = User::login(addr, "bob").await;
        let mut carol = User::login(addr, "carol").await;
        // alice: likes jazz and blues, hates noise.
        // bob:   likes jazz and rock, hates pop.
        // carol: likes pop and noise, hates jazz.
        for (user, likes, hates) in [
            (&mut alice, ["jazz", "blues"], ["noise"]),
            (&mut bob, ["Jazz", "rock"], ["pop"]),
            (&mut carol, ["pop", "noise"], ["jazz"]),
        ] {
            for item in likes {
                user.client.add_interest(item).await.unwrap();
            }
            for item in hates {
                user.client.add_hated_interest(item).await.unwrap();
            }
            user.sync().await;
        }
        assert_eq!(alice.client.interests().liked, set(&["blues", "jazz"]));

        // Similarity to alice: bob +1 (jazz), carol -2 (she hates alice's
        // jazz and likes alice's noise). bob's unrated likes gain 1 and his
        // hates lose 1; carol's unrated likes lose 2.
        let mine = alice.client.recommendations().await.unwrap();
        assert_eq!(mine.recommendations, scored(&[("rock", 1), ("pop", -3)]));
        assert_eq!(mine.unrecommendations, scored(&[("pop", -3), ("rock", 1)]));
        let similar = alice.client.similar_users().await.unwrap();
        assert_eq!(similar.len(), 1);
        assert_eq!((similar[0].username.as_str(), similar[0].score), ("bob", 1));
        assert!(carol.client.similar_users().await.unwrap().is_empty());

        // Globally: jazz 2-1, blues 1, rock 1; noise and pop cancel out.
        let global = bob.client.global_recommendations().await.unwrap();
        let all = scored(&[("blues", 1), ("jazz", 1), ("rock", 1)]);
        assert_eq!(global.recommendations, all);
        assert_eq!(global.unrecommendations, all);

        // What jazz lovers (others than the asker) like and hate.
        let jazz = carol.client.item_recommendations("JAZZ").await.unwrap();
        assert_eq!(
            jazz.recommendations,
            scored(&[("blues", 1), ("rock", 1), ("noise", -1), ("pop", -1)])
        );
        let fans = carol.client.item_similar_users("jazz").await.unwrap();
        assert_eq!(fans.usernames, ["alice", "bob"]);
        let theirs = bob.client.user_interests("carol").await.unwrap();
        assert_eq!(theirs.interests, ["noise", "pop"]);
        assert_eq!(theirs.hated_interests, ["jazz"]);
        let theirs = carol.client.user_interests("bob").await.unwrap();
        assert_eq!(theirs.interests, ["jazz", "rock"], "lower-cased");

        // bob drops rock: it is no longer recommended to alice.
        bob.client.remove_interest("rock").await.unwrap();
        bob.sync().await;
        let mine = alice.client.recommendations().await.unwrap();
        assert_eq!(mine.recommendations, scored(&[("pop", -3)]));

        for user in [alice, bob, carol] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}

/// A login that must get no reply (a banned user): it times out.
async fn login_gets_no_reply(addr: SocketAddr, name: &str) {
    let mut config = client_config(addr, name);
    config.timing.login_timeout = Duration::from_millis(1500);
    let outcome = try_login(config).await;
    assert!(
        matches!(outcome, Err(slsk_net::client::ConnectError::Timeout)),
        "{name}: {:?}",
        outcome.map(|_| ())
    );
}

async fn kicked(user: &mut User) {
    user.wait_for("Kicked", |event| {
        matches!(event, Event::Kicked).then_some(())
    })
    .await;
    let end = tokio::time::timeout(DEADLINE, user.events.recv()).await;
    assert!(matches!(end, Ok(None)), "the session ends after Kicked");
}

#[tokio::test]
async fn admin_ban_kick_and_messages_to_all() {
    bounded(async {
        let mut config = server_config();
        config.admins = vec!["root".into()];
        let server = start_server(config).await;
        let addr = server.local_addr();
        let mut root = User::login(addr, "root").await;
        let mut alice = User::login(addr, "alice").await;
        let mut eve = User::login(addr, "eve").await;
        for user in [&mut alice, &mut eve] {
            user.client.join_room("hall").await.unwrap();
            user.sync().await;
        }
        eve.client
            .set_room_ticker("hall", "eve's ticker")
            .await
            .unwrap();
        eve.sync().await;
        alice.sync().await;

        // Not an admin: the command is unknown.
        assert_eq!(
            alice.command("kick eve").await,
            "Unknown command 'kick'. Type 'help' to list available commands."
        );

        // A kick is a short ban: the user is put out and cannot log in.
        assert_eq!(
            root.command("kick 5 eve").await,
            "eve is banned for 5 minutes."
        );
        kicked(&mut eve).await;
        expect(&mut alice, vec![user_left("hall", "eve")]).await;
        login_gets_no_reply(addr, "eve").await;
        // Until it is lifted.
        assert_eq!(root.command("unban eve").await, "eve is no longer banned.");
        let mut eve = User::login(addr, "eve").await;

        // A ban of zero minutes ends at once: a kick without a ban.
        assert_eq!(
            root.command("kick 0 eve").await,
            "eve is banned for 0 minutes."
        );
        kicked(&mut eve).await;
        let mut eve = User::login(addr, "eve").await;
        eve.client.join_room("hall").await.unwrap();
        let joined = eve.sync_seen().await;
        assert!(
            joined.contains(&room(RoomEvent::Tickers {
                room: "hall".into(),
                tickers: tickers(&[("eve", "eve's ticker")])
            })),
            "a kick keeps the tickers: {joined:?}"
        );
        alice.sync().await;

        // A ban (for ever) also removes the user's tickers.
        assert_eq!(root.command("ban eve").await, "eve is banned for ever.");
        kicked(&mut eve).await;
        expect(
            &mut alice,
            vec![user_left("hall", "eve"), ticker_removed("hall", "eve")],
        )
        .await;
        login_gets_no_reply(addr, "eve").await;
        assert_eq!(root.command("unban eve").await, "eve is no longer banned.");
        let mut eve = User::login(addr, "eve").await;

        // A private message to everyone online, the admin included.
        root.client
            .send_private_message("server", "message hello everyone")
            .await
            .unwrap();
        expect(
            &mut root,
            vec![
                from_server("hello everyone"),
                from_server("Message sent to 3 users."),
            ],
        )
        .await;
        for user in [&mut alice, &mut eve] {
            expect(user, vec![from_server("hello everyone")]).await;
        }
        // An announcement (AdminMessage) to everyone online.
        assert_eq!(
            root.command("announcement maintenance soon").await,
            "Announcement sent to 3 users."
        );
        for user in [&mut alice, &mut eve] {
            let text = user
                .wait_for("the announcement", |event| match event {
                    Event::ServerMessage(slsk_proto::server::ServerResponse::AdminMessage(m)) => {
                        Some(m.message.clone())
                    }
                    _ => None,
                })
                .await;
            assert_eq!(text, "maintenance soon");
        }

        for user in [root, alice, eve] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}

fn said_by(event: &Event, user: &str) -> bool {
    matches!(event, Event::Room(RoomEvent::Message { username, .. }) if username == user)
}

/// `speaker` says `text` in `hall`; returns how long until `listener`
/// heard it, counting the lines from `mallory` heard meanwhile.
async fn say_and_hear(
    speaker: &User,
    listener: &mut User,
    text: &str,
    from_mallory: &mut usize,
) -> Duration {
    let sent = tokio::time::Instant::now();
    speaker
        .client
        .send_room_message("hall", text)
        .await
        .unwrap();
    listener
        .wait_for(text, |event| {
            *from_mallory += usize::from(said_by(event, "mallory"));
            matches!(event, Event::Room(RoomEvent::Message { username, text: t, .. })
                if *username == speaker.name && t == text)
            .then_some(())
        })
        .await;
    sent.elapsed()
}

#[tokio::test]
async fn a_flood_from_one_user_does_not_slow_the_others() {
    bounded(async {
        let burst = 10;
        let mut config = server_config();
        // Slow enough that no token comes back during the test.
        config.flood.room_messages = slsk_server::Rate {
            burst,
            per_minute: 1,
        };
        let server = start_server(config).await;
        let addr = server.local_addr();
        let mut alice = User::login(addr, "alice").await;
        let mut bob = User::login(addr, "bob").await;
        let mut mallory = User::login(addr, "mallory").await;
        for user in [&mut alice, &mut bob, &mut mallory] {
            user.client.join_room("hall").await.unwrap();
            user.sync().await;
        }
        alice.sync().await;
        bob.sync().await;

        // mallory floods until alice and bob are done talking (at most
        // MAX_FLOOD lines), so the flood overlaps their whole exchange.
        const MAX_FLOOD: usize = 200_000;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flooder = mallory.client.clone();
        let stop_flood = stop.clone();
        let flood = tokio::spawn(async move {
            let mut sent = 0;
            while sent < MAX_FLOOD && !stop_flood.load(std::sync::atomic::Ordering::Relaxed) {
                flooder
                    .send_room_message("hall", &format!("flood {sent}"))
                    .await
                    .unwrap();
                sent += 1;
            }
            sent
        });
        let mut from_mallory = 0;
        // The flood is under way once its first line arrives.
        alice
            .wait_for("the flood", |event| {
                from_mallory += usize::from(said_by(event, "mallory"));
                (from_mallory > 0).then_some(())
            })
            .await;

        // Meanwhile alice and bob talk; each line arrives promptly.
        let mut slowest = Duration::ZERO;
        for n in 0..4 {
            let took = say_and_hear(&alice, &mut bob, &format!("alice says {n}"), &mut 0).await;
            slowest = slowest.max(took);
            let text = format!("bob says {n}");
            let took = say_and_hear(&bob, &mut alice, &text, &mut from_mallory).await;
            slowest = slowest.max(took);
        }
        assert!(
            slowest < Duration::from_secs(3),
            "a line between alice and bob took {slowest:?}"
        );

        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let flooded = tokio::time::timeout(DEADLINE, flood)
            .await
            .expect("the flood stops")
            .unwrap();
        assert!(flooded < MAX_FLOOD, "the flood lasted the whole exchange");

        // Once the server has read the whole flood, only the burst got through.
        mallory.sync().await;
        for event in alice.sync().await {
            from_mallory += usize::from(said_by(&event, "mallory"));
        }
        assert_eq!(from_mallory, burst as usize, "the flood excess is dropped");
        assert!(flooded > 10 * from_mallory, "a real flood: {flooded} lines");

        for user in [alice, bob, mallory] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_restart_keeps_private_rooms_tickers_privileges_bans_and_interests() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = server_config();
        config.database = slsk_server::Database::File(dir.path().join("slsk.db"));
        config.admins = vec!["root".into()];
        let invitable = |addr: SocketAddr, name: &str| {
            let mut config = client_config(addr, name);
            config.room_invitations = true;
            config
        };

        // Before: a private room with a member made operator and a ticker,
        // a ticker in an emptied public room, privileges, a ban, interests.
        let server = start_server(config.clone()).await;
        let addr = server.local_addr();
        let mut root = User::login(addr, "root").await;
        let mut olga = User::login(addr, "olga").await;
        let mut mia = User::login_with(invitable(addr, "mia")).await;
        let mut alice = User::login(addr, "alice").await;
        let mut bob = User::login(addr, "bob").await;
        let eve = User::login(addr, "eve").await;
        olga.client.join_private_room("vault").await.unwrap();
        olga.client.add_room_member("vault", "mia").await.unwrap();
        olga.client.add_room_operator("vault", "mia").await.unwrap();
        olga.client
            .set_room_ticker("vault", "olga was here")
            .await
            .unwrap();
        olga.sync().await;
        mia.sync().await;
        assert_eq!(
            private_rooms(&mia),
            [("vault".into(), set(&["mia"]), set(&["mia"]))]
        );
        alice.client.join_room("square").await.unwrap();
        alice
            .client
            .set_room_ticker("square", "square ticker")
            .await
            .unwrap();
        alice.client.leave_room("square").await.unwrap();
        alice.sync().await;
        assert_eq!(
            root.command("giveprivileges 2 alice").await,
            "Gave 2 days of privileges to alice."
        );
        assert_eq!(root.command("ban eve").await, "eve is banned for ever.");
        bob.client.add_interest("ambient").await.unwrap();
        bob.client.add_hated_interest("polka").await.unwrap();
        bob.sync().await;
        for user in [root, olga, mia, alice, bob, eve] {
            user.logout().await;
        }
        server.shutdown().await;

        // After, with new sessions that re-send nothing of the above.
        let server = start_server(config).await;
        let addr = server.local_addr();
        let mut olga = User::login(addr, "olga").await;
        assert_eq!(
            private_rooms(&olga),
            [("vault".into(), set(&["mia"]), set(&["mia"]))]
        );
        let vault = olga.client.join_private_room("vault").await.unwrap();
        assert_eq!(
            vault,
            room_state("vault", &[online("olga")], Some("olga"), &["mia"])
        );
        expect(
            &mut olga,
            join_sequence(vault, &online("olga"), &[("olga", "olga was here")]),
        )
        .await;

        let mut mia = User::login(addr, "mia").await;
        assert_eq!(
            private_rooms(&mia),
            [("vault".into(), set(&["mia"]), set(&["mia"]))]
        );
        let list = mia.client.room_list().unwrap();
        assert_eq!(list.rooms_private, info(&[("vault", 1)]));
        assert_eq!(list.rooms_private_operated, ["vault"]);
        let vault = mia.client.join_room("vault").await.unwrap();
        assert_eq!(names(&vault.users), ["mia", "olga"]);
        assert_eq!(vault.operators, set(&["mia"]));
        mia.sync().await;

        let mut alice = User::login(addr, "alice").await;
        let square = alice.client.join_room("square").await.unwrap();
        expect(
            &mut alice,
            join_sequence(square, &online("alice"), &[("alice", "square ticker")]),
        )
        .await;
        assert!(about_days(
            alice.client.check_privileges().await.unwrap(),
            2
        ));

        let carol = User::login(addr, "carol").await;
        assert!(carol.client.user_privileged("alice").await.unwrap());
        assert!(carol.client.is_privileged("alice"), "in the login list");
        login_gets_no_reply(addr, "eve").await;

        // bob's interests: from the store while he is offline, and his
        // again once he is back, without his client sending them.
        let theirs = carol.client.user_interests("bob").await.unwrap();
        assert_eq!(theirs.interests, ["ambient"]);
        assert_eq!(theirs.hated_interests, ["polka"]);
        let bob = User::login(addr, "bob").await;
        carol.client.add_interest("ambient").await.unwrap();
        let similar = carol.client.similar_users().await.unwrap();
        assert_eq!(similar.len(), 1);
        assert_eq!((similar[0].username.as_str(), similar[0].score), ("bob", 1));

        for user in [olga, mia, alice, bob, carol] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}

/// aioslsk's `room_info` entry for `user`.
fn aioslsk_sees(info: &serde_json::Value, user: &str) -> serde_json::Value {
    info["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["name"] == user))
        .cloned()
        .unwrap_or_else(|| panic!("aioslsk does not list {user}: {info}"))
}

#[tokio::test]
async fn aioslsk_chats_in_our_room_sees_tickers_and_status_and_joins_our_private_room() {
    use serde_json::json;
    use support::aioslsk_peer::{AioslskPeer, PeerOptions, StartOptions};

    bounded(async {
        let server = start_server(server_config()).await;
        let addr = server.local_addr();
        let mut rusty = User::login_with({
            let mut config = client_config(addr, "rusty");
            config.shared_folders = 2;
            config.shared_files = 20;
            config
        })
        .await;
        rusty.client.join_room("mixed").await.unwrap();
        rusty
            .client
            .set_room_ticker("mixed", "rusty's ticker")
            .await
            .unwrap();
        rusty.sync().await;

        let downloads = tempfile::tempdir().unwrap();
        let py = AioslskPeer::spawn(PeerOptions::named("pyuser"))
            .await
            .unwrap();
        let mut options = StartOptions::new("pyuser", "secret", addr.port(), downloads.path());
        options.scan_on_start = false;
        py.start(&options).await.unwrap();
        py.login().await.unwrap();
        let is = |name: &'static str| move |e: &serde_json::Value| e["event"] == name;

        // aioslsk joins: it sees our client with its stats and ticker.
        let joined = py.join_room("mixed").await.unwrap();
        let mut users: Vec<&str> = joined["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u.as_str())
            .collect();
        users.sort();
        assert_eq!(users, ["pyuser", "rusty"]);
        let wall = py.next_event(is("room_tickers"), DEADLINE).await.unwrap();
        assert_eq!(wall["room"], "mixed");
        assert_eq!(wall["tickers"], json!([["rusty", "rusty's ticker"]]));
        let info = py.room_info("mixed").await.unwrap();
        let seen = aioslsk_sees(&info, "rusty");
        assert_eq!(
            (
                &seen["status"],
                &seen["shared_folder_count"],
                &seen["shared_file_count"]
            ),
            (&json!("ONLINE"), &json!(2), &json!(20)),
            "{info}"
        );
        let user = rusty
            .wait_for("pyuser joining", |event| match event {
                Event::Room(RoomEvent::UserJoined { room, user }) if room == "mixed" => {
                    Some(user.clone())
                }
                _ => None,
            })
            .await;
        assert_eq!(user.username, "pyuser");
        assert_eq!(user.status, UserStatus::Online);

        // Chat both ways.
        rusty
            .client
            .send_room_message("mixed", "hello from rust")
            .await
            .unwrap();
        let line = py
            .next_event(
                |e| e["event"] == "room_message" && e["user"] == "rusty",
                DEADLINE,
            )
            .await
            .unwrap();
        assert_eq!(
            (&line["room"], &line["text"]),
            (&json!("mixed"), &json!("hello from rust"))
        );
        py.say_room("mixed", "hello from python").await.unwrap();
        let heard = rusty
            .wait_for("pyuser's line", |event| match event {
                Event::Room(RoomEvent::Message {
                    room,
                    username,
                    text,
                }) if username == "pyuser" => Some((room.clone(), text.clone())),
                _ => None,
            })
            .await;
        assert_eq!(heard, ("mixed".into(), "hello from python".into()));

        // Tickers both ways.
        rusty
            .client
            .set_room_ticker("mixed", "updated")
            .await
            .unwrap();
        let added = py
            .next_event(is("room_ticker_added"), DEADLINE)
            .await
            .unwrap();
        assert_eq!(
            (&added["room"], &added["user"], &added["ticker"]),
            (&json!("mixed"), &json!("rusty"), &json!("updated"))
        );
        py.set_room_ticker("mixed", "py ticker").await.unwrap();
        let set = rusty
            .wait_for("pyuser's ticker", |event| match event {
                Event::Room(RoomEvent::TickerSet {
                    username, ticker, ..
                }) if username == "pyuser" => Some(ticker.clone()),
                _ => None,
            })
            .await;
        assert_eq!(set, "py ticker");
        assert_eq!(
            rusty.client.room("mixed").unwrap().tickers,
            tickers(&[("rusty", "updated"), ("pyuser", "py ticker")])
        );
        let info = py.room_info("mixed").await.unwrap();
        let mut wall = info["tickers"].as_array().unwrap().clone();
        wall.sort_by_key(|t| t[0].to_string());
        assert_eq!(
            json!(wall),
            json!([["pyuser", "py ticker"], ["rusty", "updated"]])
        );

        // Status both ways, as room-mates.
        rusty
            .client
            .set_status(slsk_net::client::OwnStatus::Away)
            .await
            .unwrap();
        let status = py
            .next_event(
                |e| e["event"] == "user_status" && e["user"] == "rusty",
                DEADLINE,
            )
            .await
            .unwrap();
        assert_eq!(status["status"], "AWAY");
        let info = py.room_info("mixed").await.unwrap();
        assert_eq!(aioslsk_sees(&info, "rusty")["status"], "AWAY");
        py.set_status("AWAY").await.unwrap();
        rusty
            .wait_for("pyuser away", |event| match event {
                Event::UserStatus {
                    username,
                    status: UserStatus::Away,
                    ..
                } if username == "pyuser" => Some(()),
                _ => None,
            })
            .await;
        assert_eq!(
            rusty.client.room("mixed").unwrap().users["pyuser"].status,
            UserStatus::Away
        );

        // A private room of ours admits aioslsk (it accepts invitations).
        rusty.client.join_private_room("hideout").await.unwrap();
        rusty.sync().await;
        rusty
            .client
            .add_room_member("hideout", "pyuser")
            .await
            .unwrap();
        expect(
            &mut rusty,
            vec![
                member_added("hideout", "pyuser"),
                from_server("User pyuser is now a member of room hideout"),
            ],
        )
        .await;
        let granted = py
            .next_event(
                |e| e["event"] == "room_membership_granted" && e["member"].is_null(),
                DEADLINE,
            )
            .await
            .unwrap();
        assert_eq!(granted["room"], "hideout");
        let joined = py.join_private_room("hideout").await.unwrap();
        assert_eq!(joined["private"], true);
        let info = py.room_info("hideout").await.unwrap();
        assert_eq!(
            (&info["owner"], &info["members"], &info["joined"]),
            (&json!("rusty"), &json!(["pyuser"]), &json!(true))
        );
        py.say_room("hideout", "psst").await.unwrap();
        // Everything our client is told until the line arrives.
        let psst = said("hideout", "pyuser", "psst");
        let mut seen = Vec::new();
        rusty
            .wait_for("psst", |event| {
                seen.extend(support::net::seen(vec![event.clone()]));
                (seen.last() == Some(&psst)).then_some(())
            })
            .await;
        assert_eq!(
            seen,
            [
                user_joined("hideout", member("pyuser", UserStatus::Away, stats(0, 0))),
                said("hideout", "pyuser", "psst")
            ]
        );
        assert_eq!(
            names(&rusty.client.room("hideout").unwrap().users),
            ["pyuser", "rusty"]
        );

        py.stop().await.unwrap();
        rusty.logout().await;
        server.shutdown().await;
    })
    .await;
}

/// A client that reconnects at once (tens of milliseconds) after losing
/// the server.
fn reconnecting(addr: SocketAddr, name: &str) -> slsk_net::ClientConfig {
    let mut config = client_config(addr, name);
    config.reconnect.enabled = true;
    config.reconnect.first_delay_min = Duration::from_millis(10);
    config.reconnect.first_delay_max = Duration::from_millis(50);
    config.reconnect.max_delay = Duration::from_millis(200);
    config
}

/// Waits for the session to be back, then for its rejoin of `room`.
async fn back_in(user: &mut User, room_name: &str) -> RoomState {
    user.wait_for("the reconnection", |event| {
        matches!(event, Event::Reconnected(_)).then_some(())
    })
    .await;
    user.wait_for(&format!("the rejoin of {room_name}"), |event| match event {
        Event::Room(RoomEvent::Joined(state)) if state.name == room_name => Some(state.clone()),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn clients_rejoin_their_rooms_and_settings_after_a_server_restart() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = server_config();
        config.database = slsk_server::Database::File(dir.path().join("slsk.db"));
        let server = start_server(config.clone()).await;
        let addr = server.local_addr();
        let mut olga = User::login_with(reconnecting(addr, "olga")).await;
        let mut mia = User::login_with({
            let mut config = reconnecting(addr, "mia");
            config.room_invitations = true;
            config
        })
        .await;
        let mut alice = User::login_with(reconnecting(addr, "alice")).await;
        olga.client.join_private_room("vault").await.unwrap();
        olga.client.add_room_member("vault", "mia").await.unwrap();
        olga.client.set_room_ticker("vault", "kept").await.unwrap();
        olga.sync().await;
        mia.client.join_room("vault").await.unwrap();
        mia.sync().await;
        alice.client.join_room("square").await.unwrap();
        alice.client.set_public_chat(true).await.unwrap();
        alice.client.add_interest("ambient").await.unwrap();
        alice.sync().await;
        olga.sync().await;

        // The same database, the same address.
        server.shutdown().await;
        config.listen = addr;
        let server = start_server(config).await;

        let vault = back_in(&mut olga, "vault").await;
        assert_eq!(vault.owner.as_deref(), Some("olga"));
        let vault = back_in(&mut mia, "vault").await;
        assert_eq!(vault.owner.as_deref(), Some("olga"));
        back_in(&mut alice, "square").await;
        for user in [&mut olga, &mut mia, &mut alice] {
            user.sync().await;
        }
        for user in [&olga, &mia] {
            let vault = user.client.room("vault").unwrap();
            assert_eq!(names(&vault.users), ["mia", "olga"], "{}", user.name);
            assert_eq!(vault.tickers, tickers(&[("olga", "kept")]), "{}", user.name);
            assert_eq!(
                private_rooms(user),
                [("vault".into(), set(&["mia"]), set(&[]))],
                "{}",
                user.name
            );
        }

        // alice's feed subscription (which the server forgets) was sent
        // again; her interests are there.
        let mut bob = User::login(addr, "bob").await;
        bob.client.join_room("lounge").await.unwrap();
        bob.client
            .send_room_message("lounge", "anyone?")
            .await
            .unwrap();
        bob.client.add_interest("ambient").await.unwrap();
        bob.sync().await;
        let feed = alice
            .wait_for("the feed", |event| match event {
                Event::Room(RoomEvent::PublicMessage { room, text, .. }) => {
                    Some((room.clone(), text.clone()))
                }
                _ => None,
            })
            .await;
        assert_eq!(feed, ("lounge".into(), "anyone?".into()));
        let similar = bob.client.similar_users().await.unwrap();
        assert_eq!(similar.len(), 1);
        assert_eq!(similar[0].username, "alice");

        for user in [olga, mia, alice, bob] {
            user.logout().await;
        }
        server.shutdown().await;
    })
    .await;
}
