//! The state machine without sockets: inputs in, outputs checked.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use slsk_proto::FramedMessage;
use slsk_proto::server::*;
use slsk_proto::structures::UserStats;
use slsk_proto::tables::{ConnectionType, LoginRejectionReason, ObfuscationType, UserStatus};

use super::*;
use crate::config::{FloodLimits, PasswordCost, Rate, ServerConfig};
use crate::store::Store;

struct Harness {
    state: ServerState,
    now: Now,
    next_conn: ConnId,
}

fn config() -> ServerConfig {
    ServerConfig {
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    }
}

fn login_request(username: &str, password: &str) -> LoginRequest {
    LoginRequest {
        username: username.into(),
        password: password.into(),
        version: 160,
        md5_hash: Some(slsk_proto::login_hash(username, password)),
        minor_version: Some(1),
    }
}

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

impl Harness {
    fn new() -> Self {
        Self::with(config())
    }

    fn with(config: ServerConfig) -> Self {
        Self {
            state: ServerState::with_seed(config, Store::open_in_memory().unwrap(), 7),
            now: Now {
                instant: Instant::now(),
                unix: 1_700_000_000,
            },
            next_conn: 1,
        }
    }

    fn connect(&mut self) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.state.connected(conn, LOCALHOST, self.now);
        conn
    }

    /// Sends a request, runs any password jobs to completion, and returns
    /// every other output in order.
    fn request(&mut self, conn: ConnId, request: impl Into<ServerRequest>) -> Vec<Output> {
        self.state.handle(conn, request.into(), self.now);
        self.settle()
    }

    fn settle(&mut self) -> Vec<Output> {
        let mut outputs = Vec::new();
        while let Some(output) = self.state.poll_output() {
            match output {
                Output::Password(job) => {
                    let outcome = job.run();
                    self.state.password_checked(job, outcome, self.now);
                }
                other => outputs.push(other),
            }
        }
        outputs
    }

    /// A logged-in connection; its post-login messages are discarded.
    fn login(&mut self, username: &str, password: &str) -> ConnId {
        let conn = self.connect();
        let out = self.request(conn, login_request(username, password));
        assert!(
            matches!(
                sent_to(&out, conn).first(),
                Some(ServerResponse::Login(LoginResponse::Success { .. }))
            ),
            "{out:?}"
        );
        conn
    }

    fn rejection(
        &mut self,
        conn: ConnId,
        request: LoginRequest,
    ) -> (LoginRejectionReason, Option<String>) {
        let out = self.request(conn, request);
        match sent_to(&out, conn).as_slice() {
            [ServerResponse::Login(LoginResponse::Failure { reason, detail })] => {
                (reason.clone(), detail.clone())
            }
            other => panic!("expected one rejection, got {other:?}"),
        }
    }
}

/// The messages sent to `conn`, in order.
fn sent_to(outputs: &[Output], conn: ConnId) -> Vec<ServerResponse> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn: c, message } if *c == conn => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn status(username: &str, status: UserStatus) -> ServerResponse {
    GetUserStatusResponse {
        username: username.into(),
        status,
        privileged: false,
    }
    .into()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn each_login_rejection_has_its_exact_strings() {
    let mut h = Harness::new();
    let conn = h.connect();
    let cases: Vec<(LoginRequest, &str, Option<&str>)> = vec![
        (
            LoginRequest {
                version: 0,
                ..login_request("alice", "pw")
            },
            "INVALIDVERSION",
            None,
        ),
        (
            LoginRequest {
                minor_version: Some(0),
                ..login_request("alice", "pw")
            },
            "INVALIDVERSION",
            None,
        ),
        (
            login_request("", "pw"),
            "INVALIDUSERNAME",
            Some("Nick empty."),
        ),
        (
            login_request(&"a".repeat(31), "pw"),
            "INVALIDUSERNAME",
            Some("Nick too long."),
        ),
        (
            login_request(" alice", "pw"),
            "INVALIDUSERNAME",
            Some("No leading and trailing spaces allowed in nick."),
        ),
        (
            login_request("alice ", "pw"),
            "INVALIDUSERNAME",
            Some("No leading and trailing spaces allowed in nick."),
        ),
        (
            login_request("al\u{e9}ce", "pw"),
            "INVALIDUSERNAME",
            Some("Invalid characters in nick."),
        ),
        (
            login_request("al\tce", "pw"),
            "INVALIDUSERNAME",
            Some("Invalid characters in nick."),
        ),
        (login_request("server", "pw"), "INVALIDUSERNAME", Some("")),
        (login_request("alice", ""), "EMPTYPASSWORD", None),
    ];
    for (request, reason, detail) in cases {
        let out = h.request(conn, request.clone());
        let sent = sent_to(&out, conn);
        assert_eq!(sent.len(), 1, "{request:?}: {sent:?}");
        let frame = sent[0].to_frame().unwrap();
        assert!(contains(&frame, reason.as_bytes()), "{request:?}");
        match &sent[0] {
            ServerResponse::Login(LoginResponse::Failure { detail: got, .. }) => {
                assert_eq!(got.as_deref(), detail, "{request:?}");
            }
            other => panic!("{other:?}"),
        }
    }
    // A 30-byte name is fine; the connection could retry after rejections.
    let name = "b".repeat(30);
    let out = h.request(conn, login_request(&name, "pw"));
    assert!(matches!(
        sent_to(&out, conn)[0],
        ServerResponse::Login(LoginResponse::Success { .. })
    ));

    // Wrong password for a registered name.
    let other = h.connect();
    assert_eq!(
        h.rejection(other, login_request(&name, "nope")),
        (LoginRejectionReason::InvalidPassword, None)
    );
    let frame = ServerResponse::from(LoginResponse::Failure {
        reason: LoginRejectionReason::InvalidPassword,
        detail: None,
    })
    .to_frame()
    .unwrap();
    assert!(contains(&frame, b"INVALIDPASS"));
}

#[test]
fn registration_can_be_turned_off() {
    let mut h = Harness::new();
    h.login("alice", "pw");
    h.state.config.registration_open = false;
    let conn = h.connect();
    assert_eq!(
        h.rejection(conn, login_request("newcomer", "pw")),
        (LoginRejectionReason::ServerPrivate, None)
    );
    assert!(h.state.store().account("newcomer").unwrap().is_none());
    // Known users still log in.
    h.login("alice", "pw");
}

#[test]
fn a_full_server_refuses_new_users_but_not_a_relogin() {
    let mut h = Harness::with(ServerConfig {
        max_users: 1,
        ..config()
    });
    h.login("alice", "pw");
    let conn = h.connect();
    assert_eq!(
        h.rejection(conn, login_request("bob", "pw")),
        (LoginRejectionReason::ServerFull, None)
    );
    h.login("alice", "pw");
}

#[test]
fn banned_users_get_no_reply_and_time_out() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    h.state.disconnected(alice, h.now);
    let until = i64::try_from(h.now.unix).unwrap() + 60;
    h.state
        .store()
        .set_banned_until("alice", Some(until))
        .unwrap();
    let conn = h.connect();
    assert_eq!(h.request(conn, login_request("alice", "pw")), vec![]);
    h.now.instant += Duration::from_secs(59);
    h.state.tick(h.now);
    assert_eq!(h.settle(), vec![]);
    h.now.instant += Duration::from_secs(1);
    h.state.tick(h.now);
    assert_eq!(h.settle(), vec![Output::Close { conn }]);

    // Once the ban is over, the login works and clears it.
    h.now.unix += 60;
    h.login("alice", "pw");
    assert_eq!(
        h.state
            .store()
            .account("alice")
            .unwrap()
            .unwrap()
            .banned_until,
        None
    );
}

#[test]
fn requests_before_login_are_dropped() {
    let mut h = Harness::new();
    let conn = h.connect();
    let out = h.request(
        conn,
        GetUserStatusRequest {
            username: "x".into(),
        },
    );
    assert_eq!(out, vec![]);
}

#[test]
fn post_login_sequence_is_in_the_official_order() {
    let mut h = Harness::with(ServerConfig {
        excluded_phrases: vec!["bad phrase".into()],
        motd: "Hi %username%, %users% online".into(),
        ..config()
    });
    let bob = h.login("bob", "pw");
    h.state.disconnected(bob, h.now);
    let alice = h.login("alice", "pw");
    h.request(
        alice,
        PrivateChatMessageRequest {
            username: "bob".into(),
            message: "hello".into(),
        },
    );
    let bob = h.connect();
    let out = h.request(bob, login_request("bob", "pw"));
    let sent = sent_to(&out, bob);
    let names: Vec<&str> = sent.iter().map(ServerResponse::name).collect();
    assert_eq!(
        names,
        [
            "Login",
            "PrivateChatMessage",
            "RoomList",
            "ParentMinSpeed",
            "ParentSpeedRatio",
            "WishlistInterval",
            "PrivilegedUsers",
            "ExcludedSearchPhrases"
        ]
    );
    assert_eq!(
        sent[0],
        ServerResponse::Login(LoginResponse::Success {
            greeting: "Hi bob, 2 online".into(),
            ip: Ipv4Addr::LOCALHOST,
            md5_hash: slsk_proto::password_hash("pw"),
            is_supporter: false,
        })
    );
    assert_eq!(
        sent[3],
        ParentMinSpeedResponse {
            parent_min_speed: 1
        }
        .into()
    );
    assert_eq!(
        sent[4],
        ParentSpeedRatioResponse {
            parent_speed_ratio: 50
        }
        .into()
    );
    assert_eq!(sent[5], WishlistIntervalResponse { interval: 720 }.into());
    assert_eq!(
        sent[7],
        ExcludedSearchPhrasesResponse {
            phrases: vec!["bad phrase".into()]
        }
        .into()
    );
}

#[test]
fn privileged_users_are_listed_and_get_the_short_wishlist_interval() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    h.state.disconnected(alice, h.now);
    let until = i64::try_from(h.now.unix).unwrap() + 3600;
    h.state
        .store()
        .set_privileges_until("alice", Some(until))
        .unwrap();
    let conn = h.connect();
    let sent = sent_to(&h.request(conn, login_request("alice", "pw")), conn);
    assert!(matches!(
        sent[0],
        ServerResponse::Login(LoginResponse::Success {
            is_supporter: true,
            ..
        })
    ));
    assert!(sent.contains(&WishlistIntervalResponse { interval: 120 }.into()));
    assert!(
        sent.contains(
            &PrivilegedUsersResponse {
                users: vec!["alice".into()]
            }
            .into()
        )
    );
}

#[test]
fn a_second_login_kicks_the_first_after_its_clean_up() {
    let mut h = Harness::new();
    let first = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    h.request(
        bob,
        AddUserRequest {
            username: "alice".into(),
        },
    );
    let second = h.connect();
    let out = h.request(second, login_request("alice", "pw"));
    let kicked = Output::Send {
        conn: first,
        message: KickedResponse.into(),
    };
    let offline = Output::Send {
        conn: bob,
        message: status("alice", UserStatus::Offline),
    };
    let close = Output::Close { conn: first };
    let online = Output::Send {
        conn: bob,
        message: status("alice", UserStatus::Online),
    };
    let position = |o: &Output| {
        out.iter()
            .position(|x| x == o)
            .unwrap_or_else(|| panic!("{o:?} missing: {out:?}"))
    };
    assert!(position(&kicked) < position(&offline));
    assert!(position(&offline) < position(&close));
    assert!(position(&close) < position(&online));
    assert!(matches!(
        sent_to(&out, second)[0],
        ServerResponse::Login(LoginResponse::Success { .. })
    ));
    // The old connection is forgotten: its requests and its end do nothing.
    assert_eq!(
        h.request(
            first,
            GetUserStatsRequest {
                username: "bob".into()
            }
        ),
        vec![]
    );
    h.state.disconnected(first, h.now);
    assert_eq!(h.settle(), vec![]);
    assert_eq!(h.state.online_users(), 2);
}

#[test]
fn watching_and_status_broadcasts() {
    let mut h = Harness::new();
    let carol = h.login("carol", "pw");
    h.request(
        carol,
        SharedFoldersFilesRequest {
            shared_folder_count: 3,
            shared_file_count: 30,
        },
    );
    h.state.disconnected(carol, h.now);
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");

    let out = h.request(
        bob,
        AddUserRequest {
            username: "alice".into(),
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [AddUserResponse {
            username: "alice".into(),
            user: AddUserResponseUser::Exists {
                status: UserStatus::Online,
                stats: UserStats {
                    avg_speed: 0,
                    uploads: 0,
                    shared_file_count: 0,
                    shared_folder_count: 0
                },
                country_code: Some(String::new()),
            },
        }
        .into()]
    );
    let out = h.request(
        bob,
        AddUserRequest {
            username: "carol".into(),
        },
    );
    assert!(matches!(
        &sent_to(&out, bob)[0],
        ServerResponse::AddUser(AddUserResponse {
            user: AddUserResponseUser::Exists {
                status: UserStatus::Offline,
                stats: UserStats {
                    shared_file_count: 30,
                    shared_folder_count: 3,
                    ..
                },
                ..
            },
            ..
        })
    ));
    let out = h.request(
        bob,
        AddUserRequest {
            username: "nobody".into(),
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [AddUserResponse {
            username: "nobody".into(),
            user: AddUserResponseUser::Missing
        }
        .into()]
    );

    // Away: watchers and the user itself; again: nothing.
    let out = h.request(
        alice,
        SetStatusRequest {
            status: UserStatus::Away,
        },
    );
    assert_eq!(sent_to(&out, bob), [status("alice", UserStatus::Away)]);
    assert_eq!(sent_to(&out, alice), [status("alice", UserStatus::Away)]);
    assert_eq!(
        h.request(
            alice,
            SetStatusRequest {
                status: UserStatus::Away
            }
        ),
        vec![]
    );
    // Back online: watchers only.
    let out = h.request(
        alice,
        SetStatusRequest {
            status: UserStatus::Online,
        },
    );
    assert_eq!(sent_to(&out, bob), [status("alice", UserStatus::Online)]);
    assert_eq!(sent_to(&out, alice), []);
    // Offline and unknown values are refused.
    assert_eq!(
        h.request(
            alice,
            SetStatusRequest {
                status: UserStatus::Offline
            }
        ),
        vec![]
    );
    assert_eq!(
        h.request(
            alice,
            SetStatusRequest {
                status: UserStatus::Unknown(3)
            }
        ),
        vec![]
    );

    let out = h.request(
        bob,
        GetUserStatusRequest {
            username: "alice".into(),
        },
    );
    assert_eq!(sent_to(&out, bob), [status("alice", UserStatus::Online)]);

    // Carol logs in: bob is told; alice logs out: bob is told.
    let carol = h.login("carol", "pw");
    h.state.disconnected(alice, h.now);
    let out = h.settle();
    assert_eq!(sent_to(&out, bob), [status("alice", UserStatus::Offline)]);
    // Unwatched: no more news about carol.
    h.request(
        bob,
        RemoveUserRequest {
            username: "carol".into(),
        },
    );
    h.state.disconnected(carol, h.now);
    assert_eq!(h.settle(), vec![]);
}

#[test]
fn stats_follow_upload_speed_and_shares() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    h.request(alice, SendUploadSpeedRequest { speed: 100 });
    h.request(alice, SendUploadSpeedRequest { speed: 201 });
    h.request(
        alice,
        SharedFoldersFilesRequest {
            shared_folder_count: 2,
            shared_file_count: 9,
        },
    );
    let expected: ServerResponse = GetUserStatsResponse {
        username: "alice".into(),
        stats: UserStats {
            avg_speed: 150,
            uploads: 2,
            shared_file_count: 9,
            shared_folder_count: 2,
        },
    }
    .into();
    let bob = h.login("bob", "pw");
    let out = h.request(
        bob,
        GetUserStatsRequest {
            username: "alice".into(),
        },
    );
    assert_eq!(sent_to(&out, bob), std::slice::from_ref(&expected));
    // Stored: the same once alice is offline.
    h.state.disconnected(alice, h.now);
    let out = h.request(
        bob,
        GetUserStatsRequest {
            username: "alice".into(),
        },
    );
    assert_eq!(sent_to(&out, bob), [expected]);
}

#[test]
fn connect_to_peer_and_cannot_connect() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    h.request(
        alice,
        SetListenPortRequest {
            port: 2234,
            obfuscation_type: Some(ObfuscationType::Rotated),
            obfuscated_port: Some(2235),
        },
    );
    let out = h.request(
        alice,
        ConnectToPeerRequest {
            ticket: 7,
            username: "bob".into(),
            connection_type: ConnectionType::Peer,
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [ConnectToPeerResponse {
            username: "alice".into(),
            connection_type: ConnectionType::Peer,
            ip: Ipv4Addr::LOCALHOST,
            port: 2234,
            ticket: 7,
            privileged: false,
            obfuscation_type: Some(ObfuscationType::Rotated),
            obfuscated_port: Some(2235),
        }
        .into()]
    );
    assert_eq!(sent_to(&out, alice), []);

    // Bob could not connect: alice hears of it, by ticket.
    let out = h.request(
        bob,
        CannotConnectRequest {
            ticket: 7,
            username: "alice".into(),
        },
    );
    assert_eq!(
        sent_to(&out, alice),
        [CannotConnectResponse {
            ticket: 7,
            username: None
        }
        .into()]
    );

    // An offline target: the requester is told at once.
    let out = h.request(
        alice,
        ConnectToPeerRequest {
            ticket: 8,
            username: "carol".into(),
            connection_type: ConnectionType::File,
        },
    );
    assert_eq!(
        sent_to(&out, alice),
        [CannotConnectResponse {
            ticket: 8,
            username: None
        }
        .into()]
    );

    // Addresses: live with the obfuscation fields, offline all zeros.
    let out = h.request(
        bob,
        GetPeerAddressRequest {
            username: "alice".into(),
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [GetPeerAddressResponse {
            username: "alice".into(),
            ip: Ipv4Addr::LOCALHOST,
            port: 2234,
            obfuscation_type: Some(ObfuscationType::Rotated),
            obfuscated_port: Some(2235),
        }
        .into()]
    );
    let out = h.request(
        bob,
        GetPeerAddressRequest {
            username: "carol".into(),
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [GetPeerAddressResponse {
            username: "carol".into(),
            ip: Ipv4Addr::UNSPECIFIED,
            port: 0,
            obfuscation_type: Some(ObfuscationType::None),
            obfuscated_port: Some(0),
        }
        .into()]
    );
}

fn pm(to: &str, text: &str) -> PrivateChatMessageRequest {
    PrivateChatMessageRequest {
        username: to.into(),
        message: text.into(),
    }
}

fn delivered(message: &ServerResponse) -> (&str, &str, Option<bool>) {
    match message {
        ServerResponse::PrivateChatMessage(m) => {
            (m.username.as_str(), m.message.as_str(), m.is_direct)
        }
        other => panic!("not a private message: {other:?}"),
    }
}

#[test]
fn private_messages_live_and_replayed_until_acked() {
    let mut h = Harness::new();
    let bob = h.login("bob", "pw");
    let alice = h.login("alice", "pw");

    // Live: is_direct true, nothing back to the sender.
    let out = h.request(alice, pm("bob", "hi"));
    assert_eq!(sent_to(&out, alice), []);
    let live = sent_to(&out, bob);
    assert_eq!(delivered(&live[0]), ("alice", "hi", Some(true)));
    let ServerResponse::PrivateChatMessage(first) = &live[0] else {
        unreachable!()
    };
    assert_ne!(first.chat_id, 0);
    assert_eq!(first.timestamp, 1_700_000_000);

    // Offline: kept.
    h.state.disconnected(bob, h.now);
    h.now.unix += 5;
    h.request(alice, pm("bob", "are you there?"));
    // Unknown users, long and multi-line texts: dropped.
    h.request(alice, pm("nobody", "x"));
    h.request(alice, pm("bob", &"x".repeat(2049)));
    h.request(alice, pm("bob", "two\nlines"));
    h.request(alice, pm("bob", "cr\r"));
    assert!(h.state.store().account("nobody").unwrap().is_none());

    // Replayed at login, oldest first, is_direct false (the live one too).
    let bob = h.connect();
    let sent = sent_to(&h.request(bob, login_request("bob", "pw")), bob);
    let replayed: Vec<_> = sent
        .iter()
        .filter(|m| matches!(m, ServerResponse::PrivateChatMessage(_)))
        .collect();
    assert_eq!(replayed.len(), 2, "{replayed:?}");
    assert_eq!(delivered(replayed[0]), ("alice", "hi", Some(false)));
    assert_eq!(
        delivered(replayed[1]),
        ("alice", "are you there?", Some(false))
    );
    let ids: Vec<u32> = replayed
        .iter()
        .map(|m| match m {
            ServerResponse::PrivateChatMessage(m) => m.chat_id,
            _ => unreachable!(),
        })
        .collect();
    assert_ne!(ids[0], ids[1]);

    // Only the recipient can ack; then the message is gone.
    h.request(alice, PrivateChatMessageAckRequest { chat_id: ids[0] });
    h.request(bob, PrivateChatMessageAckRequest { chat_id: ids[0] });
    h.state.disconnected(bob, h.now);
    let bob = h.connect();
    let sent = sent_to(&h.request(bob, login_request("bob", "pw")), bob);
    let replayed: Vec<_> = sent
        .iter()
        .filter(|m| matches!(m, ServerResponse::PrivateChatMessage(_)))
        .collect();
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        delivered(replayed[0]),
        ("alice", "are you there?", Some(false))
    );
}

#[test]
fn message_users_reaches_only_online_watchers_of_the_sender() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    let dave = h.login("dave", "pw");
    h.request(
        bob,
        AddUserRequest {
            username: "alice".into(),
        },
    );
    h.request(
        dave,
        AddUserRequest {
            username: "alice".into(),
        },
    );
    h.state.disconnected(dave, h.now);
    h.settle();
    let out = h.request(
        alice,
        PrivateChatMessageUsersRequest {
            usernames: vec!["bob".into(), "carol".into(), "dave".into(), "bob".into()],
            message: "news".into(),
        },
    );
    let to_bob = sent_to(&out, bob);
    assert_eq!(to_bob.len(), 1, "{out:?}");
    assert_eq!(delivered(&to_bob[0]), ("alice", "news", Some(true)));
    assert_eq!(sent_to(&out, carol), []);
    assert_eq!(out.len(), 1, "nothing for offline dave either: {out:?}");
    assert!(h.state.store().pending_for("dave").unwrap().is_empty());
}

#[test]
fn searches_are_relayed_unless_too_long_or_excluded() {
    let mut h = Harness::with(ServerConfig {
        excluded_phrases: vec!["Forbidden Fruit".into()],
        ..config()
    });
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let carol = h.login("carol", "pw");
    let relayed = |ticket, query: &str| -> ServerResponse {
        FileSearchResponse {
            username: "alice".into(),
            ticket,
            query: query.into(),
        }
        .into()
    };

    let out = h.request(
        alice,
        FileSearchRequest {
            ticket: 1,
            query: "jazz".into(),
        },
    );
    assert_eq!(sent_to(&out, bob), [relayed(1, "jazz")]);
    assert_eq!(sent_to(&out, carol), [relayed(1, "jazz")]);
    assert_eq!(sent_to(&out, alice), [], "the searcher is left out");

    let out = h.request(
        alice,
        WishlistSearchRequest {
            ticket: 2,
            query: "blues".into(),
        },
    );
    assert_eq!(out.len(), 2);
    assert_eq!(sent_to(&out, bob), [relayed(2, "blues")]);

    let out = h.request(
        alice,
        UserSearchRequest {
            username: "carol".into(),
            ticket: 3,
            query: "rock".into(),
        },
    );
    assert_eq!(
        out,
        vec![Output::Send {
            conn: carol,
            message: relayed(3, "rock")
        }]
    );
    let out = h.request(
        alice,
        UserSearchRequest {
            username: "nobody".into(),
            ticket: 3,
            query: "rock".into(),
        },
    );
    assert_eq!(out, vec![]);

    // The size limit: 256 bytes pass, 257 do not.
    let out = h.request(
        alice,
        FileSearchRequest {
            ticket: 4,
            query: "q".repeat(256),
        },
    );
    assert_eq!(out.len(), 2);
    let out = h.request(
        alice,
        FileSearchRequest {
            ticket: 5,
            query: "q".repeat(257),
        },
    );
    assert_eq!(out, vec![]);

    // Excluded phrase: every word, any order, any case.
    let out = h.request(
        alice,
        FileSearchRequest {
            ticket: 6,
            query: "fruit of the FORBIDDEN".into(),
        },
    );
    assert_eq!(out, vec![]);
    let out = h.request(
        alice,
        UserSearchRequest {
            username: "bob".into(),
            ticket: 6,
            query: "forbidden fruit".into(),
        },
    );
    assert_eq!(out, vec![]);
    let out = h.request(
        alice,
        FileSearchRequest {
            ticket: 7,
            query: "forbidden".into(),
        },
    );
    assert_eq!(out.len(), 2);
}

#[test]
fn password_change_is_hashed_stored_and_echoed() {
    let mut h = Harness::new();
    let alice = h.login("alice", "old");
    let out = h.request(
        alice,
        NewPasswordRequest {
            password: "new".into(),
        },
    );
    assert_eq!(
        sent_to(&out, alice),
        [ServerResponse::from(
            slsk_proto::server::NewPasswordResponse {
                password: "new".into()
            }
        )]
    );
    assert_eq!(
        h.request(
            alice,
            NewPasswordRequest {
                password: String::new()
            }
        ),
        vec![]
    );
    h.state.disconnected(alice, h.now);
    let conn = h.connect();
    assert_eq!(
        h.rejection(conn, login_request("alice", "old")),
        (LoginRejectionReason::InvalidPassword, None)
    );
    h.login("alice", "new");
}

#[test]
fn concurrent_registrations_of_one_name_check_the_winners_password() {
    let mut h = Harness::new();
    let first = h.connect();
    let second = h.connect();
    h.state
        .handle(first, login_request("alice", "one").into(), h.now);
    h.state
        .handle(second, login_request("alice", "two").into(), h.now);
    let jobs: Vec<_> = std::iter::from_fn(|| h.state.poll_output()).collect();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        let Output::Password(job) = job else {
            panic!("{job:?}")
        };
        let outcome = job.run();
        h.state.password_checked(job, outcome, h.now);
    }
    let out = h.settle();
    assert!(matches!(
        sent_to(&out, first)[0],
        ServerResponse::Login(LoginResponse::Success { .. })
    ));
    assert_eq!(
        sent_to(&out, second),
        [LoginResponse::Failure {
            reason: LoginRejectionReason::InvalidPassword,
            detail: None
        }
        .into()]
    );
}

#[test]
fn a_login_outcome_for_a_closed_connection_is_dropped() {
    let mut h = Harness::new();
    let conn = h.connect();
    h.state
        .handle(conn, login_request("alice", "pw").into(), h.now);
    let Some(Output::Password(job)) = h.state.poll_output() else {
        panic!()
    };
    h.state.disconnected(conn, h.now);
    let outcome = job.run();
    h.state.password_checked(job, outcome, h.now);
    assert_eq!(h.settle(), vec![]);
    assert_eq!(h.state.online_users(), 0);
    assert!(h.state.store().account("alice").unwrap().is_none());
}

#[test]
fn a_login_while_one_is_being_checked_is_ignored() {
    let mut h = Harness::new();
    let conn = h.connect();
    h.state
        .handle(conn, login_request("alice", "pw").into(), h.now);
    h.state
        .handle(conn, login_request("alice", "other").into(), h.now);
    h.state
        .handle(conn, login_request("bob", "pw").into(), h.now);
    let jobs: Vec<_> = std::iter::from_fn(|| h.state.poll_output()).collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let Output::Password(job) = jobs.into_iter().next().unwrap() else {
        panic!()
    };
    assert_eq!(job.password, "pw");
    let outcome = job.run();
    h.state.password_checked(job, outcome, h.now);
    let out = h.settle();
    assert!(matches!(
        sent_to(&out, conn)[0],
        ServerResponse::Login(LoginResponse::Success { .. })
    ));
    assert!(h.state.store().account("bob").unwrap().is_none());
}

#[test]
fn connect_tickets_are_forwarded_to_online_users() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let bob = h.login("bob", "pw");
    let out = h.request(
        alice,
        SendConnectTicketRequest {
            username: "bob".into(),
            ticket: 9,
        },
    );
    assert_eq!(
        out,
        vec![Output::Send {
            conn: bob,
            message: SendConnectTicketResponse {
                username: "alice".into(),
                ticket: 9
            }
            .into()
        }]
    );
    let out = h.request(
        alice,
        PlaceInLineRequestRequest {
            username: "bob".into(),
            ticket: 4,
        },
    );
    assert_eq!(
        sent_to(&out, bob),
        [PlaceInLineRequestResponse {
            username: "alice".into(),
            ticket: 4
        }
        .into()]
    );
    let out = h.request(
        bob,
        SendConnectTicketRequest {
            username: "nobody".into(),
            ticket: 1,
        },
    );
    assert_eq!(out, vec![]);
}

#[test]
fn related_searches_are_always_empty() {
    let mut h = Harness::new();
    let alice = h.login("alice", "pw");
    let out = h.request(
        alice,
        GetRelatedSearchesRequest {
            query: "jazz".into(),
        },
    );
    let expected = GetRelatedSearchesResponse {
        query: "jazz".into(),
        related_searches: vec![],
    };
    assert_eq!(
        out,
        vec![Output::Send {
            conn: alice,
            message: expected.into()
        }]
    );
}

mod admin;
mod churn;
mod distributed;
mod private_rooms;
mod rooms;
mod social;
