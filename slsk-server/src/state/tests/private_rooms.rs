//! Private rooms: who is told what at each operation.

use super::rooms::*;
use super::*;
use slsk_proto::structures::RoomInfo;

fn invitations(enable: bool) -> TogglePrivateRoomInvitesRequest {
    TogglePrivateRoomInvitesRequest { enable }
}

fn grant(room: &str, user: &str) -> PrivateRoomGrantMembershipRequest {
    PrivateRoomGrantMembershipRequest {
        room: room.into(),
        username: user.into(),
    }
}

fn revoke(room: &str, user: &str) -> PrivateRoomRevokeMembershipRequest {
    PrivateRoomRevokeMembershipRequest {
        room: room.into(),
        username: user.into(),
    }
}

fn grant_op(room: &str, user: &str) -> PrivateRoomGrantOperatorRequest {
    PrivateRoomGrantOperatorRequest {
        room: room.into(),
        username: user.into(),
    }
}

/// The room list update of one user: RoomList, then members and operators
/// of its private rooms.
fn list_update(
    owned: Vec<RoomInfo>,
    member: Vec<RoomInfo>,
    operated: Vec<&str>,
    rooms: &[(&str, &[&str], &[&str])],
) -> Vec<ServerResponse> {
    let mut messages = vec![
        RoomListResponse {
            rooms: vec![],
            rooms_private_owned: owned,
            rooms_private: member,
            rooms_private_operated: operated.into_iter().map(String::from).collect(),
        }
        .into(),
    ];
    for (room, members, _) in rooms {
        messages.push(
            PrivateRoomMembersResponse {
                room: (*room).into(),
                members: members.iter().map(|m| m.to_string()).collect(),
            }
            .into(),
        );
    }
    for (room, _, operators) in rooms {
        messages.push(
            PrivateRoomOperatorsResponse {
                room: (*room).into(),
                operators: operators.iter().map(|m| m.to_string()).collect(),
            }
            .into(),
        );
    }
    messages
}

fn strip_pms(messages: Vec<ServerResponse>) -> Vec<ServerResponse> {
    messages
        .into_iter()
        .filter(|m| !matches!(m, ServerResponse::PrivateChatMessage(_)))
        .collect()
}

#[test]
fn creating_a_private_room_and_who_may_enter() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");

    let out = h.request(alice, join_private("den"));
    let mut expected = list_update(
        vec![room_info("den", 0)],
        vec![],
        vec![],
        &[("den", &[], &[])],
    );
    expected.extend([
        user_joined("den", "alice", UserStatus::Online, stats(0, 0)),
        JoinRoomResponse {
            room_name: "den".into(),
            users: vec![RoomUser {
                username: "alice".into(),
                status: UserStatus::Online,
                stats: stats(0, 0),
                slots_free: 0,
                country_code: String::new(),
            }],
            owner: Some("alice".into()),
            operators: Some(vec![]),
        }
        .into(),
        no_tickers("den"),
    ]);
    assert_eq!(sent_to(&out, alice), expected);

    // Not a member: CannotCreateRoom and the PM; nobody else hears.
    let out = h.request(bob, join("den"));
    assert_eq!(
        strip_pms(sent_to(&out, bob)),
        [CannotCreateRoomResponse {
            room_name: "den".into()
        }
        .into()]
    );
    assert_eq!(
        server_texts(&out, bob),
        ["The room you are trying to enter (den) is registered as private."]
    );
    assert_eq!(sent_to(&out, alice), []);

    // A public room asked for as private: a PM, then the join.
    h.request(alice, join("hall"));
    let out = h.request(bob, join_private("hall"));
    assert_eq!(
        server_texts(&out, bob),
        ["Room (hall) is registered as public."]
    );
    assert!(
        sent_to(&out, bob)
            .iter()
            .any(|m| matches!(m, ServerResponse::JoinRoom(j) if j.owner.is_none()))
    );
}

use slsk_proto::structures::RoomUser;

#[test]
fn membership_and_operators_tell_each_party_exactly_this() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    h.request(alice, join_private("den"));

    // Refusals, each with its PM to the actor.
    let out = h.request(alice, grant("den", "bob"));
    assert_eq!(
        server_texts(&out, alice),
        [
            "user bob hasn\u{2019}t enabled private room add. please message them and ask them to do so before trying to add them again."
        ]
    );
    let out = h.request(alice, grant("den", "zed"));
    assert_eq!(server_texts(&out, alice), ["user zed is not logged in."]);
    assert_eq!(h.request(bob, grant("den", "carol")), [], "not the owner");
    assert_eq!(h.request(alice, grant("den", "alice")), [], "oneself");

    // The invitation switch is echoed.
    let out = h.request(bob, invitations(true));
    assert_eq!(
        sent_to(&out, bob),
        [TogglePrivateRoomInvitesResponse { enabled: true }.into()]
    );
    h.request(carol, invitations(true));

    // Granted.
    let out = h.request(alice, grant("den", "bob"));
    let granted: ServerResponse = PrivateRoomGrantMembershipResponse {
        room: "den".into(),
        username: "bob".into(),
    }
    .into();
    let mut bob_expects = vec![
        granted.clone(),
        PrivateRoomMembershipGrantedResponse { room: "den".into() }.into(),
    ];
    bob_expects.extend(list_update(
        vec![],
        vec![room_info("den", 1)],
        vec![],
        &[("den", &["bob"], &[])],
    ));
    assert_eq!(sent_to(&out, bob), bob_expects);
    assert_eq!(strip_pms(sent_to(&out, alice)), [granted]);
    assert_eq!(
        server_texts(&out, alice),
        ["User bob is now a member of room den"]
    );
    assert_eq!(sent_to(&out, carol), []);
    let out = h.request(alice, grant("den", "bob"));
    assert_eq!(
        server_texts(&out, alice),
        ["user bob is already a member of room den"]
    );

    // Bob may now join.
    let out = h.request(bob, join("den"));
    assert!(
        sent_to(&out, bob)
            .iter()
            .any(|m| matches!(m, ServerResponse::JoinRoom(_)))
    );

    // Operator: only for members, told to owner, members and joined users.
    let out = h.request(alice, grant_op("den", "carol"));
    assert_eq!(
        server_texts(&out, alice),
        ["user carol must first be a member of room den"]
    );
    let out = h.request(alice, grant_op("den", "bob"));
    let op_granted: ServerResponse = PrivateRoomGrantOperatorResponse {
        room: "den".into(),
        username: "bob".into(),
    }
    .into();
    assert_eq!(
        strip_pms(sent_to(&out, alice)),
        std::slice::from_ref(&op_granted)
    );
    assert_eq!(
        server_texts(&out, alice),
        ["User bob is now an operator of room den"]
    );
    let mut bob_expects = vec![
        op_granted,
        PrivateRoomOperatorGrantedResponse { room: "den".into() }.into(),
    ];
    bob_expects.extend(list_update(
        vec![],
        vec![room_info("den", 2)],
        vec!["den"],
        &[("den", &["bob"], &["bob"])],
    ));
    assert_eq!(sent_to(&out, bob), bob_expects);
    let out = h.request(alice, grant_op("den", "bob"));
    assert_eq!(
        server_texts(&out, alice),
        ["user bob is already an operator of room den"]
    );

    // The operator adds carol: the owner is told by whom.
    let out = h.request(bob, grant("den", "carol"));
    assert_eq!(
        server_texts(&out, bob),
        ["User carol is now a member of room den"]
    );
    assert_eq!(
        server_texts(&out, alice),
        ["User [carol] was added as a member of room [den] by operator [bob]"]
    );
    let carol_granted: ServerResponse = PrivateRoomGrantMembershipResponse {
        room: "den".into(),
        username: "carol".into(),
    }
    .into();
    assert_eq!(
        strip_pms(sent_to(&out, alice)),
        std::slice::from_ref(&carol_granted)
    );
    assert_eq!(
        strip_pms(sent_to(&out, bob)),
        std::slice::from_ref(&carol_granted)
    );
    assert_eq!(sent_to(&out, carol)[0], carol_granted);
    h.request(carol, join("den"));

    // An operator may not remove another operator, nor the owner.
    assert_eq!(h.request(carol, revoke("den", "bob")), []);
    assert_eq!(h.request(bob, revoke("den", "alice")), []);

    // The operator removes carol, who is joined.
    let out = h.request(bob, revoke("den", "carol"));
    let revoked: ServerResponse = PrivateRoomRevokeMembershipResponse {
        room: "den".into(),
        username: "carol".into(),
    }
    .into();
    assert_eq!(
        strip_pms(sent_to(&out, alice)),
        [revoked.clone(), user_left("den", "carol")]
    );
    assert_eq!(
        server_texts(&out, alice),
        ["User carol is no longer a member of room den"]
    );
    assert_eq!(sent_to(&out, bob), [revoked, user_left("den", "carol")]);
    let mut carol_expects = vec![
        PrivateRoomMembershipRevokedResponse { room: "den".into() }.into(),
        left("den"),
    ];
    carol_expects.extend(list_update(vec![], vec![], vec![], &[]));
    assert_eq!(sent_to(&out, carol), carol_expects);

    // Bob gives up being an operator (CancelRoomOperatorship).
    let out = h.request(bob, CancelRoomOperatorshipRequest { room: "den".into() });
    let op_revoked: ServerResponse = PrivateRoomRevokeOperatorResponse {
        room: "den".into(),
        username: "bob".into(),
    }
    .into();
    assert_eq!(
        strip_pms(sent_to(&out, alice)),
        std::slice::from_ref(&op_revoked)
    );
    assert_eq!(
        server_texts(&out, alice),
        ["User bob is no longer an operator of room den"]
    );
    let mut bob_expects = vec![
        op_revoked,
        PrivateRoomOperatorRevokedResponse { room: "den".into() }.into(),
    ];
    bob_expects.extend(list_update(
        vec![],
        vec![room_info("den", 2)],
        vec![],
        &[("den", &["bob"], &[])],
    ));
    assert_eq!(sent_to(&out, bob), bob_expects);
    // A plain member cannot revoke anyone's rank.
    assert_eq!(
        h.request(
            bob,
            PrivateRoomRevokeOperatorRequest {
                room: "den".into(),
                username: "bob".into()
            }
        ),
        []
    );

    // Bob drops his membership himself.
    let out = h.request(bob, PrivateRoomDropMembershipRequest { room: "den".into() });
    let revoked: ServerResponse = PrivateRoomRevokeMembershipResponse {
        room: "den".into(),
        username: "bob".into(),
    }
    .into();
    assert_eq!(
        strip_pms(sent_to(&out, alice)),
        [revoked, user_left("den", "bob")]
    );
    assert_eq!(
        server_texts(&out, alice),
        ["User bob is no longer a member of room den"]
    );
    let mut bob_expects = vec![
        PrivateRoomMembershipRevokedResponse { room: "den".into() }.into(),
        left("den"),
    ];
    bob_expects.extend(list_update(vec![], vec![], vec![], &[]));
    assert_eq!(sent_to(&out, bob), bob_expects);
}

#[test]
fn dropping_ownership_revokes_members_and_the_room_turns_public() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let dave = h.login("dave", "pw");
    h.request(bob, invitations(true));
    h.request(alice, join_private("den"));
    h.request(alice, grant("den", "bob"));
    h.request(alice, grant_op("den", "bob"));
    h.request(bob, join("den"));
    h.request(
        alice,
        SetRoomTickerRequest {
            room: "den".into(),
            ticker: "kept".into(),
        },
    );
    assert_eq!(
        h.request(bob, PrivateRoomDropOwnershipRequest { room: "den".into() }),
        []
    );

    let out = h.request(
        alice,
        PrivateRoomDropOwnershipRequest { room: "den".into() },
    );
    // Already public when the members hear of it: alice is still in it.
    let public_list: ServerResponse = RoomListResponse {
        rooms: vec![room_info("den", 1)],
        rooms_private_owned: vec![],
        rooms_private: vec![],
        rooms_private_operated: vec![],
    }
    .into();
    assert_eq!(
        sent_to(&out, bob),
        [
            PrivateRoomMembershipRevokedResponse { room: "den".into() }.into(),
            left("den"),
            public_list.clone(),
        ]
    );
    assert_eq!(
        sent_to(&out, alice),
        [user_left("den", "bob"), public_list],
        "the owner stays joined"
    );
    assert_eq!(h.state.store().private_rooms().unwrap(), []);

    // Public now: anyone joins, and the ticker is still there.
    let out = h.request(dave, join("den"));
    let sent = sent_to(&out, dave);
    assert!(
        matches!(&sent[1], ServerResponse::JoinRoom(j) if j.owner.is_none() && j.users.len() == 2)
    );
    assert_eq!(
        sent[2],
        RoomTickersResponse {
            room: "den".into(),
            tickers: vec![slsk_proto::structures::RoomTicker {
                username: "alice".into(),
                ticker: "kept".into()
            }],
        }
        .into()
    );
}
