//! Admin commands and flood protection.

use super::rooms::*;
use super::*;

fn admin_config() -> ServerConfig {
    ServerConfig {
        admins: vec!["root".into()],
        ..config()
    }
}

fn command(text: &str) -> PrivateChatMessageRequest {
    PrivateChatMessageRequest {
        username: "server".into(),
        message: text.into(),
    }
}

#[test]
fn non_admins_have_help_only() {
    let mut h = Harness::with(admin_config());
    let bob = h.login("bob", "pw");
    let out = h.request(bob, command("help"));
    assert_eq!(server_texts(&out, bob), ["Available commands: help"]);
    let out = h.request(bob, command("ban root"));
    assert_eq!(
        server_texts(&out, bob),
        ["Unknown command 'ban'. Type 'help' to list available commands."]
    );
    let root = h.login("root", "pw");
    let out = h.request(root, command("frobnicate now"));
    assert_eq!(
        server_texts(&out, root),
        ["Unknown command 'frobnicate'. Type 'help' to list available commands."]
    );
    let out = h.request(root, command("help"));
    assert!(server_texts(&out, root)[0].contains("ban [days] <user>"));
}

#[test]
fn a_ban_kicks_now_and_holds_until_it_ends() {
    let mut h = Harness::with(admin_config());
    let root = h.login("root", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    h.request(bob, join("hall"));
    h.request(carol, join("hall"));

    let out = h.request(root, command("ban 1 bob"));
    assert_eq!(
        server_texts(&out, root),
        ["bob is banned for 1440 minutes."]
    );
    assert_eq!(
        out.iter()
            .filter(|o| matches!(o, Output::Send { conn, .. } if *conn == bob)
                || **o == Output::Close { conn: bob })
            .cloned()
            .collect::<Vec<_>>(),
        [
            Output::Send {
                conn: bob,
                message: KickedResponse.into()
            },
            Output::Close { conn: bob }
        ]
    );
    assert_eq!(sent_to(&out, carol), [user_left("hall", "bob")]);
    assert_eq!(h.state.online_users(), 2);

    // No reply to the banned login, until the day is over.
    let again = h.connect();
    assert_eq!(h.request(again, login_request("bob", "pw")), []);
    h.now.unix += 86_400;
    let out = h.request(again, login_request("bob", "pw"));
    assert!(matches!(
        sent_to(&out, again)[0],
        ServerResponse::Login(LoginResponse::Success { .. })
    ));

    // Kick: two minutes by default; unban lifts it at once.
    let out = h.request(root, command("kick bob"));
    assert_eq!(server_texts(&out, root), ["bob is banned for 2 minutes."]);
    let third = h.connect();
    assert_eq!(h.request(third, login_request("bob", "pw")), []);
    let out = h.request(root, command("unban bob"));
    assert_eq!(server_texts(&out, root), ["bob is no longer banned."]);
    let out = h.request(third, login_request("bob", "pw"));
    assert!(matches!(
        sent_to(&out, third)[0],
        ServerResponse::Login(LoginResponse::Success { .. })
    ));

    // Forever, and not oneself. A ban removes the user's tickers.
    h.request(
        carol,
        SetRoomTickerRequest {
            room: "hall".into(),
            ticker: "carol was here".into(),
        },
    );
    let dave = h.login("dave", "pw");
    h.request(dave, join("hall"));
    let out = h.request(root, command("ban carol"));
    assert_eq!(server_texts(&out, root), ["carol is banned for ever."]);
    assert_eq!(
        sent_to(&out, dave),
        [
            user_left("hall", "carol"),
            RoomTickerRemovedResponse {
                room: "hall".into(),
                username: "carol".into()
            }
            .into()
        ]
    );
    assert!(h.state.store().tickers().unwrap().is_empty());
    let out = h.request(root, command("ban root"));
    assert_eq!(
        server_texts(&out, root),
        ["You cannot ban yourself or the server."]
    );
    let out = h.request(root, command("ban nobody"));
    assert_eq!(server_texts(&out, root), ["No such user: nobody"]);
}

#[test]
fn announcements_messages_listings_privileges_and_room_removal() {
    let mut h = Harness::with(admin_config());
    let root = h.login("root", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");

    let out = h.request(root, command("announcement Maintenance at noon"));
    for conn in [root, bob, carol] {
        assert!(
            sent_to(&out, conn).contains(
                &AdminMessageResponse {
                    message: "Maintenance at noon".into()
                }
                .into()
            )
        );
    }
    let out = h.request(root, command("message hello everyone"));
    assert_eq!(server_texts(&out, bob), ["hello everyone"]);
    assert_eq!(server_texts(&out, carol), ["hello everyone"]);
    assert_eq!(
        server_texts(&out, root),
        ["hello everyone", "Message sent to 3 users."]
    );

    let out = h.request(root, command("users"));
    assert_eq!(
        server_texts(&out, root),
        ["3 users online: bob, carol, root"]
    );

    let out = h.request(root, command("giveprivileges 2 bob"));
    assert_eq!(
        server_texts(&out, root),
        ["Gave 2 days of privileges to bob."]
    );
    assert!(
        sent_to(&out, bob).contains(
            &CheckPrivilegesResponse {
                time_left: 2 * 86_400
            }
            .into()
        )
    );

    h.request(bob, join("hall"));
    h.request(carol, join("hall"));
    let out = h.request(root, command("rooms"));
    assert_eq!(server_texts(&out, root), ["1 rooms: hall (2)"]);
    let out = h.request(root, command("removeroom hall"));
    assert_eq!(server_texts(&out, root), ["Room hall removed."]);
    assert_eq!(sent_to(&out, bob), [left("hall")]);
    assert_eq!(
        sent_to(&out, carol),
        [user_left("hall", "bob"), left("hall")]
    );
    let out = h.request(root, command("removeroom hall"));
    assert_eq!(server_texts(&out, root), ["No such room: hall"]);
    let out = h.request(root, command("admins"));
    assert_eq!(server_texts(&out, root), ["Admins: root"]);

    // removetickers: everywhere, with the removal told to each room.
    h.request(bob, join("lobby"));
    h.request(
        bob,
        SetRoomTickerRequest {
            room: "lobby".into(),
            ticker: "spam".into(),
        },
    );
    let out = h.request(root, command("removetickers bob"));
    assert_eq!(server_texts(&out, root), ["Removed 1 tickers of bob."]);
    assert_eq!(
        sent_to(&out, bob),
        [RoomTickerRemovedResponse {
            room: "lobby".into(),
            username: "bob".into()
        }
        .into()]
    );
}

#[test]
fn a_flooder_is_dropped_while_others_pass() {
    let mut h = Harness::with(ServerConfig {
        flood: FloodLimits {
            room_messages: Rate {
                burst: 2,
                per_minute: 60,
            },
            private_messages: Rate {
                burst: 1,
                per_minute: 60,
            },
            searches: Rate {
                burst: 1,
                per_minute: 60,
            },
        },
        ..config()
    });
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    h.request(alice, join("hall"));
    h.request(bob, join("hall"));

    let mut lines = 0;
    for n in 0..5 {
        let out = h.request(alice, say("hall", &format!("spam {n}")));
        lines += sent_to(&out, bob).len();
    }
    assert_eq!(lines, 2, "the burst, then nothing");
    let out = h.request(bob, say("hall", "a calm line"));
    assert_eq!(sent_to(&out, alice), [line("hall", "bob", "a calm line")]);
    assert_eq!(h.state.flood_drops().room_messages, 3);
    // A second later, one more token.
    h.now.instant += Duration::from_secs(1);
    let out = h.request(alice, say("hall", "later"));
    assert_eq!(sent_to(&out, bob), [line("hall", "alice", "later")]);

    // Private messages and searches have their own buckets.
    let pm = |text: &str| PrivateChatMessageRequest {
        username: "bob".into(),
        message: text.into(),
    };
    assert_eq!(sent_to(&h.request(alice, pm("one")), bob).len(), 1);
    assert_eq!(sent_to(&h.request(alice, pm("two")), bob).len(), 0);
    let search = FileSearchRequest {
        ticket: 1,
        query: "song".into(),
    };
    assert_eq!(sent_to(&h.request(alice, search.clone()), bob).len(), 1);
    assert_eq!(sent_to(&h.request(alice, search), bob).len(), 0);
    assert_eq!(
        h.state.flood_drops(),
        FloodDrops {
            room_messages: 3,
            private_messages: 1,
            searches: 1
        }
    );
}

#[test]
fn a_ban_during_the_password_check_still_holds() {
    let mut h = Harness::with(admin_config());
    let first = h.login("bob", "pw");
    h.state.disconnected(first, h.now);
    h.settle();
    let conn = h.connect();
    h.state
        .handle(conn, login_request("bob", "pw").into(), h.now);
    // The password job is queued, not run yet: the ban lands meanwhile.
    let until = i64::try_from(h.now.unix).unwrap() + 60;
    h.state
        .store()
        .set_banned_until("bob", Some(until))
        .unwrap();
    assert_eq!(h.settle(), []);
    assert_eq!(h.state.online_users(), 0);
}
