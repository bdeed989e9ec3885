//! Public rooms, the room list and the public chat feed.

use super::*;
use slsk_proto::structures::{RoomInfo, RoomUser};

pub(super) fn join(room: &str) -> JoinRoomRequest {
    JoinRoomRequest {
        room_name: room.into(),
        is_private: None,
    }
}

pub(super) fn join_private(room: &str) -> JoinRoomRequest {
    JoinRoomRequest {
        room_name: room.into(),
        is_private: Some(1),
    }
}

pub(super) fn say(room: &str, text: &str) -> RoomChatMessageRequest {
    RoomChatMessageRequest {
        room_name: room.into(),
        message: text.into(),
    }
}

pub(super) fn leave(room: &str) -> LeaveRoomRequest {
    LeaveRoomRequest {
        room_name: room.into(),
    }
}

pub(super) fn line(room: &str, user: &str, text: &str) -> ServerResponse {
    RoomChatMessageResponse {
        room_name: room.into(),
        username: user.into(),
        message: text.into(),
    }
    .into()
}

pub(super) fn user_left(room: &str, user: &str) -> ServerResponse {
    UserLeftRoomResponse {
        room_name: room.into(),
        username: user.into(),
    }
    .into()
}

pub(super) fn left(room: &str) -> ServerResponse {
    LeaveRoomResponse {
        room_name: room.into(),
    }
    .into()
}

pub(super) fn stats(files: u32, folders: u32) -> UserStats {
    UserStats {
        avg_speed: 0,
        uploads: 0,
        shared_file_count: files,
        shared_folder_count: folders,
    }
}

pub(super) fn user_joined(
    room: &str,
    user: &str,
    status: UserStatus,
    s: UserStats,
) -> ServerResponse {
    UserJoinedRoomResponse {
        room_name: room.into(),
        username: user.into(),
        status,
        stats: s,
        slots_free: 0,
        country_code: String::new(),
    }
    .into()
}

pub(super) fn room_user(user: &str, status: UserStatus, s: UserStats) -> RoomUser {
    RoomUser {
        username: user.into(),
        status,
        stats: s,
        slots_free: 0,
        country_code: String::new(),
    }
}

pub(super) fn no_tickers(room: &str) -> ServerResponse {
    RoomTickersResponse {
        room: room.into(),
        tickers: Vec::new(),
    }
    .into()
}

/// The texts of the private messages from `server` sent to `conn`.
pub(super) fn server_texts(outputs: &[Output], conn: ConnId) -> Vec<String> {
    sent_to(outputs, conn)
        .into_iter()
        .filter_map(|m| match m {
            ServerResponse::PrivateChatMessage(m) if m.username == "server" => Some(m.message),
            _ => None,
        })
        .collect()
}

pub(super) fn room_info(name: &str, count: u32) -> RoomInfo {
    RoomInfo {
        name: name.into(),
        user_count: count,
    }
}

#[test]
fn join_say_and_leave_tell_each_member_exactly_this() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    h.request(
        alice,
        SharedFoldersFilesRequest {
            shared_folder_count: 2,
            shared_file_count: 20,
        },
    );

    // The first join creates the room.
    let out = h.request(alice, join("hall"));
    let alice_stats = stats(20, 2);
    assert_eq!(
        sent_to(&out, alice),
        [
            user_joined("hall", "alice", UserStatus::Online, alice_stats),
            JoinRoomResponse {
                room_name: "hall".into(),
                users: vec![room_user("alice", UserStatus::Online, alice_stats)],
                owner: None,
                operators: None,
            }
            .into(),
            no_tickers("hall"),
        ]
    );

    // Bob away, then joining: the whole room (him included) learns it.
    h.request(
        bob,
        SetStatusRequest {
            status: UserStatus::Away,
        },
    );
    let out = h.request(bob, join("hall"));
    let bob_joined = user_joined("hall", "bob", UserStatus::Away, stats(0, 0));
    assert_eq!(sent_to(&out, alice), std::slice::from_ref(&bob_joined));
    assert_eq!(
        sent_to(&out, bob),
        [
            bob_joined,
            JoinRoomResponse {
                room_name: "hall".into(),
                users: vec![
                    room_user("alice", UserStatus::Online, alice_stats),
                    room_user("bob", UserStatus::Away, stats(0, 0)),
                ],
                owner: None,
                operators: None,
            }
            .into(),
            no_tickers("hall"),
        ]
    );
    assert_eq!(sent_to(&out, carol), []);
    // A second join does nothing.
    assert_eq!(h.request(bob, join("hall")), []);

    // Chat goes to every member, the sender included; not to carol.
    let out = h.request(bob, say("hall", "hi all"));
    assert_eq!(sent_to(&out, alice), [line("hall", "bob", "hi all")]);
    assert_eq!(sent_to(&out, bob), [line("hall", "bob", "hi all")]);
    assert_eq!(sent_to(&out, carol), []);
    // Empty lines pass; non-members, long and multi-line lines do not.
    let out = h.request(bob, say("hall", ""));
    assert_eq!(sent_to(&out, alice), [line("hall", "bob", "")]);
    assert_eq!(h.request(carol, say("hall", "let me in")), []);
    assert_eq!(h.request(bob, say("hall", &"x".repeat(2049))), []);
    assert_eq!(h.request(bob, say("hall", "two\nlines")), []);
    assert_eq!(h.request(bob, say("nowhere", "hello?")), []);

    // Status and shared counts go to room-mates (not to carol).
    let out = h.request(
        alice,
        SetStatusRequest {
            status: UserStatus::Away,
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [status("alice", UserStatus::Away)],
        "room-mate"
    );
    assert_eq!(sent_to(&out, alice), [status("alice", UserStatus::Away)]);
    assert_eq!(sent_to(&out, carol), []);
    let out = h.request(
        bob,
        SharedFoldersFilesRequest {
            shared_folder_count: 1,
            shared_file_count: 5,
        },
    );
    let bob_stats = GetUserStatsResponse {
        username: "bob".into(),
        stats: stats(5, 1),
    };
    assert_eq!(sent_to(&out, alice), [bob_stats.into()]);
    assert_eq!(sent_to(&out, bob), []);

    // Leaving: the others get UserLeftRoom, the leaver the echo.
    let out = h.request(bob, leave("hall"));
    assert_eq!(sent_to(&out, alice), [user_left("hall", "bob")]);
    assert_eq!(sent_to(&out, bob), [left("hall")]);
    assert_eq!(h.request(bob, leave("hall")), [], "not joined: ignored");
    assert_eq!(h.request(bob, say("hall", "still here?")), []);
}

#[test]
fn bad_room_names_get_the_exact_texts_from_server() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let cases = [
        ("", "Could not create room. Reason: Room name empty."),
        (
            "abcdefghijklmnopqrstuvwxy",
            "Could not create room. Reason: Room name abcdefghijklmnopqrstuvwxy longer than 24 characters.",
        ),
        (
            " hall",
            "Could not create room. Reason: Room name  hall contains leading or trailing spaces.",
        ),
        (
            "caf\u{e9}",
            "Could not create room. Reason: Room name caf\u{e9} contains invalid characters.",
        ),
        (
            "big  hall",
            "Could not create room. Reason: Room name big  hall contains multiple following spaces.",
        ),
    ];
    for (name, text) in cases {
        let out = h.request(alice, join(name));
        assert_eq!(server_texts(&out, alice), [text], "{name:?}");
        assert_eq!(sent_to(&out, alice).len(), 1, "{name:?}: only the PM");
    }
    // 24 bytes is fine.
    let out = h.request(alice, join("abcdefghijklmnopqrstuvwx"));
    assert!(matches!(
        sent_to(&out, alice)[1],
        ServerResponse::JoinRoom(_)
    ));
}

#[test]
fn a_disconnect_leaves_every_room_and_empty_rooms_go() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    for room in ["one", "two"] {
        h.request(alice, join(room));
        h.request(bob, join(room));
    }
    h.request(alice, join("solo"));
    h.state.disconnected(alice, h.now);
    let out = h.settle();
    assert_eq!(
        sent_to(&out, bob),
        [user_left("one", "alice"), user_left("two", "alice")]
    );
    // "solo" is gone; the others have one user each.
    let out = h.request(bob, RoomListRequest);
    assert_eq!(
        sent_to(&out, bob),
        [RoomListResponse {
            rooms: vec![room_info("one", 1), room_info("two", 1)],
            rooms_private_owned: vec![],
            rooms_private: vec![],
            rooms_private_operated: vec![],
        }
        .into()]
    );
}

#[test]
fn the_login_room_list_has_only_rooms_with_five_users() {
    let mut h = Harness::new();
    let mut conns = Vec::new();
    for n in 0..5 {
        let conn = h.login(&format!("user{n}"), "pw");
        h.request(conn, join("busy"));
        if n < 2 {
            h.request(conn, join("quiet"));
        }
        conns.push(conn);
    }
    let late = h.connect();
    let out = h.request(late, login_request("late", "pw"));
    let list = sent_to(&out, late)
        .into_iter()
        .find(|m| matches!(m, ServerResponse::RoomList(_)));
    let expected = RoomListResponse {
        rooms: vec![room_info("busy", 5)],
        rooms_private_owned: vec![],
        rooms_private: vec![],
        rooms_private_operated: vec![],
    };
    assert_eq!(list, Some(expected.clone().into()));
    // Asked for, every room with users.
    let out = h.request(late, RoomListRequest);
    let full = RoomListResponse {
        rooms: vec![room_info("busy", 5), room_info("quiet", 2)],
        ..expected
    };
    assert_eq!(sent_to(&out, late), [full.into()]);
}

#[test]
fn the_public_feed_carries_public_rooms_only() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let reader = h.login("reader", "pw");
    h.request(alice, join("hall"));
    h.request(alice, join_private("den"));
    h.request(reader, EnablePublicChatRequest);

    let out = h.request(alice, say("hall", "public words"));
    assert_eq!(
        sent_to(&out, reader),
        [PublicChatMessageResponse {
            room: "hall".into(),
            username: "alice".into(),
            message: "public words".into(),
        }
        .into()]
    );
    let out = h.request(alice, say("den", "secret words"));
    assert_eq!(sent_to(&out, reader), [], "private rooms stay private");
    assert_eq!(sent_to(&out, alice), [line("den", "alice", "secret words")]);

    h.request(reader, DisablePublicChatRequest);
    let out = h.request(alice, say("hall", "more"));
    assert_eq!(sent_to(&out, reader), []);
}

#[test]
fn a_full_room_refuses_with_a_message() {
    let mut h = Harness::with(ServerConfig {
        max_room_users: 1,
        ..config()
    });
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    h.request(alice, join("hall"));
    let out = h.request(bob, join("hall"));
    assert_eq!(
        server_texts(&out, bob),
        ["The room you are trying to enter (hall) is full."]
    );
    assert_eq!(sent_to(&out, alice), []);
}

#[test]
fn one_user_joins_a_bounded_number_of_rooms() {
    let mut h = Harness::with(ServerConfig {
        max_joined_rooms: 2,
        ..config()
    });
    let alice = h.login("alice", "pw");
    h.request(alice, join("one"));
    h.request(alice, join("two"));
    let out = h.request(alice, join("three"));
    assert_eq!(
        server_texts(&out, alice),
        ["Could not join room three: you are in too many rooms already."]
    );
    assert_eq!(h.request(alice, join("two")), [], "already in: nothing");
    assert!(!h.state.rooms.contains_key("three"));
}

#[test]
fn room_search_goes_to_the_members_but_the_searcher() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    h.request(alice, join("hall"));
    h.request(bob, join("hall"));
    let search = RoomSearchRequest {
        room: "hall".into(),
        ticket: 9,
        query: "song".into(),
    };
    // A public room is open to any searcher.
    let out = h.request(carol, search.clone());
    let relayed: ServerResponse = FileSearchResponse {
        username: "carol".into(),
        ticket: 9,
        query: "song".into(),
    }
    .into();
    assert_eq!(sent_to(&out, alice), std::slice::from_ref(&relayed));
    assert_eq!(sent_to(&out, bob), [relayed]);
    assert_eq!(sent_to(&out, carol), []);
    // A private room is not.
    h.request(alice, join_private("den"));
    let out = h.request(
        carol,
        RoomSearchRequest {
            room: "den".into(),
            ..search
        },
    );
    assert_eq!(out, []);
}
