//! Tickers, privileges, interests and recommendations.

use super::rooms::*;
use super::*;
use slsk_proto::structures::{Recommendation, RoomTicker, SimilarUser};

fn ticker(room: &str, text: &str) -> SetRoomTickerRequest {
    SetRoomTickerRequest {
        room: room.into(),
        ticker: text.into(),
    }
}

fn added(room: &str, user: &str, text: &str) -> ServerResponse {
    RoomTickerAddedResponse {
        room: room.into(),
        username: user.into(),
        ticker: text.into(),
    }
    .into()
}

fn removed(room: &str, user: &str) -> ServerResponse {
    RoomTickerRemovedResponse {
        room: room.into(),
        username: user.into(),
    }
    .into()
}

#[test]
fn tickers_are_set_replaced_removed_and_shown_at_join() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    h.request(alice, join("hall"));
    h.request(bob, join("hall"));

    let out = h.request(alice, ticker("hall", "hello"));
    for conn in [alice, bob] {
        assert_eq!(sent_to(&out, conn), [added("hall", "alice", "hello")]);
    }
    let out = h.request(alice, ticker("hall", "bye"));
    for conn in [alice, bob] {
        assert_eq!(
            sent_to(&out, conn),
            [removed("hall", "alice"), added("hall", "alice", "bye")]
        );
    }
    assert_eq!(h.request(alice, ticker("hall", "bye")), [], "unchanged");
    assert_eq!(h.request(alice, ticker("hall", &"x".repeat(1025))), []);
    assert_eq!(h.request(carol, ticker("hall", "not joined")), []);
    h.request(bob, ticker("hall", &"b".repeat(1024)));

    // A joiner gets them, oldest first.
    let out = h.request(carol, join("hall"));
    assert_eq!(
        sent_to(&out, carol)[2],
        RoomTickersResponse {
            room: "hall".into(),
            tickers: vec![
                RoomTicker {
                    username: "alice".into(),
                    ticker: "bye".into()
                },
                RoomTicker {
                    username: "bob".into(),
                    ticker: "b".repeat(1024)
                },
            ],
        }
        .into()
    );
    // Empty text removes.
    let out = h.request(alice, ticker("hall", ""));
    assert_eq!(sent_to(&out, carol), [removed("hall", "alice")]);
    assert_eq!(
        h.request(alice, ticker("hall", "")),
        [],
        "nothing to remove"
    );

    // The room is kept while it has tickers, even when empty.
    for conn in [alice, bob, carol] {
        h.request(conn, leave("hall"));
    }
    let out = h.request(alice, join("hall"));
    assert!(matches!(
        &sent_to(&out, alice)[2],
        ServerResponse::RoomTickers(t) if t.tickers.len() == 1
    ));
    assert_eq!(h.state.store().tickers().unwrap().len(), 1);
}

#[test]
fn a_room_keeps_its_200_newest_tickers() {
    let mut h = Harness::new();
    let watcher = h.login("watcher", "pw");
    h.request(watcher, join("wall"));
    for n in 0..=200 {
        let name = format!("u{n}");
        let conn = h.login(&name, "pw");
        h.request(conn, join("wall"));
        let out = h.request(conn, ticker("wall", &format!("t{n}")));
        if n == 200 {
            assert_eq!(
                sent_to(&out, watcher),
                [added("wall", "u200", "t200"), removed("wall", "u0")]
            );
        }
    }
    let stored = h.state.store().tickers().unwrap();
    assert_eq!(stored.len(), 200);
    assert_eq!(stored[0].username, "u1");
}

fn check(conn: ConnId, h: &mut Harness) -> Vec<ServerResponse> {
    sent_to(&h.request(conn, CheckPrivilegesRequest), conn)
}

fn time_left(seconds: u32) -> ServerResponse {
    CheckPrivilegesResponse { time_left: seconds }.into()
}

#[test]
fn privileges_are_given_from_ones_own_time_and_seen_by_others() {
    let mut h = Harness::new();
    let day = 86_400u32;
    let now = i64::try_from(h.now.unix).unwrap();
    // Alice has 10 days (set in the store while she is offline).
    let first = h.login("alice", "pw");
    h.state.disconnected(first, h.now);
    h.settle();
    h.state
        .store()
        .set_privileges_until("alice", Some(now + 10 * i64::from(day)))
        .unwrap();
    let alice = h.connect();
    let out = h.request(alice, login_request("alice", "pw"));
    let sent = sent_to(&out, alice);
    assert!(sent.contains(&WishlistIntervalResponse { interval: 120 }.into()));
    assert!(
        sent.contains(
            &PrivilegedUsersResponse {
                users: vec!["alice".into()]
            }
            .into()
        )
    );
    assert_eq!(check(alice, &mut h), [time_left(10 * day)]);

    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    h.request(
        carol,
        AddUserRequest {
            username: "bob".into(),
        },
    );
    assert_eq!(check(bob, &mut h), [time_left(0)]);

    // Alice gives bob 3 days.
    let out = h.request(
        alice,
        GiveUserPrivilegesRequest {
            username: "bob".into(),
            days: 3,
        },
    );
    let bob_privileged: ServerResponse = AddPrivilegedUserResponse {
        username: "bob".into(),
    }
    .into();
    assert_eq!(
        sent_to(&out, bob),
        [
            WishlistIntervalResponse { interval: 120 }.into(),
            bob_privileged.clone(),
            time_left(3 * day),
        ]
    );
    assert_eq!(
        sent_to(&out, carol),
        [
            GetUserStatusResponse {
                username: "bob".into(),
                status: UserStatus::Online,
                privileged: true,
            }
            .into(),
            bob_privileged.clone(),
        ]
    );
    assert_eq!(sent_to(&out, alice), [bob_privileged, time_left(7 * day)]);
    let out = h.request(
        carol,
        GetUserPrivilegesRequest {
            username: "bob".into(),
        },
    );
    assert_eq!(
        sent_to(&out, carol),
        [GetUserPrivilegesResponse {
            username: "bob".into(),
            privileged: true
        }
        .into()]
    );

    // Capped at what the giver has; nothing from someone with nothing.
    h.request(
        alice,
        GiveUserPrivilegesRequest {
            username: "carol".into(),
            days: 100,
        },
    );
    assert_eq!(check(alice, &mut h), [time_left(0)]);
    assert_eq!(check(carol, &mut h), [time_left(7 * day)]);
    assert_eq!(
        h.request(
            alice,
            GiveUserPrivilegesRequest {
                username: "bob".into(),
                days: 1,
            }
        ),
        [],
    );

    // Bob's 3 days end: the sweep tells him and his watcher.
    h.now.unix += 3 * u64::from(day) + 1;
    h.now.instant += Duration::from_secs(20);
    h.state.tick(h.now);
    let out = h.settle();
    assert_eq!(
        sent_to(&out, bob),
        [
            WishlistIntervalResponse { interval: 720 }.into(),
            time_left(0)
        ]
    );
    assert_eq!(
        sent_to(&out, carol),
        [GetUserStatusResponse {
            username: "bob".into(),
            status: UserStatus::Online,
            privileged: false,
        }
        .into()]
    );

    // The notification is acknowledged with its id.
    let out = h.request(
        bob,
        PrivilegesNotificationRequest {
            notification_id: 0x0102_0304,
            username: "bob".into(),
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [ServerResponse::from(
            slsk_proto::server::PrivilegesNotificationAckResponse {
                notification_id: 0x0102_0304
            }
        )]
    );
}

fn like(item: &str) -> AddInterestRequest {
    AddInterestRequest {
        interest: item.into(),
    }
}

fn hate(item: &str) -> AddHatedInterestRequest {
    AddHatedInterestRequest {
        hated_interest: item.into(),
    }
}

fn rec(item: &str, score: i32) -> Recommendation {
    Recommendation {
        recommendation: item.into(),
        score,
    }
}

/// The worked example of `interests.rs`, over the wire: me likes jazz and
/// blues and hates noise; ann likes jazz and soul and hates noise and polka
/// (weight +2); bob likes noise and metal and hates blues (weight −2); cid
/// likes opera (weight 0).
#[test]
fn interests_and_recommendations_worked_example() {
    let mut h = Harness::new();
    let me = h.login("me", "pw");
    let ann = h.login("ann", "pw");
    let bob = h.login("bob", "pw");
    let cid = h.login("cid", "pw");
    for (conn, likes, hates) in [
        (me, &["Jazz", "blues", "JAZZ"][..], &["noise"][..]),
        (ann, &["jazz", "soul"], &["noise", "polka"]),
        (bob, &["noise", "metal"], &["blues"]),
        (cid, &["opera"], &[]),
    ] {
        for item in likes {
            assert_eq!(h.request(conn, like(item)), [], "no reply");
        }
        for item in hates {
            h.request(conn, hate(item));
        }
    }
    h.request(
        bob,
        RemoveInterestRequest {
            interest: "OPERA".into(),
        },
    );

    let out = h.request(
        ann,
        GetUserInterestsRequest {
            username: "me".into(),
        },
    );
    let me_interests: ServerResponse = GetUserInterestsResponse {
        username: "me".into(),
        interests: vec!["blues".into(), "jazz".into()],
        hated_interests: vec!["noise".into()],
    }
    .into();
    assert_eq!(sent_to(&out, ann), std::slice::from_ref(&me_interests));

    let out = h.request(me, GetRecommendationsRequest);
    assert_eq!(
        sent_to(&out, me),
        [GetRecommendationsResponse {
            recommendations: vec![rec("soul", 2), rec("metal", -2), rec("polka", -2)],
            unrecommendations: vec![rec("metal", -2), rec("polka", -2), rec("soul", 2)],
        }
        .into()]
    );

    let out = h.request(me, GetSimilarUsersRequest);
    assert_eq!(
        sent_to(&out, me),
        [GetSimilarUsersResponse {
            users: vec![SimilarUser {
                username: "ann".into(),
                score: 2
            }],
        }
        .into()]
    );

    // Global: jazz +2, soul +1, blues +1 −1, noise +1 −2, polka −1,
    // metal +1, opera +1.
    let out = h.request(me, GetGlobalRecommendationsRequest);
    assert_eq!(
        sent_to(&out, me),
        [GetGlobalRecommendationsResponse {
            recommendations: vec![
                rec("jazz", 2),
                rec("metal", 1),
                rec("opera", 1),
                rec("soul", 1),
                rec("noise", -1),
                rec("polka", -1),
            ],
            unrecommendations: vec![
                rec("noise", -1),
                rec("polka", -1),
                rec("metal", 1),
                rec("opera", 1),
                rec("soul", 1),
                rec("jazz", 2),
            ],
        }
        .into()]
    );

    // Item "Jazz" for me: ann likes it (+1): soul +1, noise −1, polka −1.
    let out = h.request(
        me,
        GetItemRecommendationsRequest {
            item: "Jazz".into(),
        },
    );
    assert_eq!(
        sent_to(&out, me),
        [GetItemRecommendationsResponse {
            item: "Jazz".into(),
            recommendations: vec![rec("soul", 1), rec("noise", -1), rec("polka", -1)],
        }
        .into()]
    );
    let out = h.request(
        me,
        GetItemSimilarUsersRequest {
            item: "jazz".into(),
        },
    );
    assert_eq!(
        sent_to(&out, me),
        [GetItemSimilarUsersResponse {
            item: "jazz".into(),
            usernames: vec!["ann".into(), "me".into()],
        }
        .into()]
    );

    // Stored: still there after logging out, and after logging in again.
    h.state.disconnected(me, h.now);
    h.settle();
    let out = h.request(
        ann,
        GetUserInterestsRequest {
            username: "me".into(),
        },
    );
    assert_eq!(sent_to(&out, ann), std::slice::from_ref(&me_interests));
    let me = h.login("me", "pw");
    let out = h.request(
        me,
        GetUserInterestsRequest {
            username: "me".into(),
        },
    );
    assert_eq!(sent_to(&out, me), [me_interests]);
    // Unknown users: empty lists.
    let out = h.request(
        me,
        GetUserInterestsRequest {
            username: "nobody".into(),
        },
    );
    assert_eq!(
        sent_to(&out, me),
        [GetUserInterestsResponse {
            username: "nobody".into(),
            interests: vec![],
            hated_interests: vec![],
        }
        .into()]
    );
}
