//! The session state machine, without sockets: inputs in, actions out.

use std::net::Ipv4Addr;

use rand::SeedableRng;
use slsk_proto::server::{CheckPrivilegesResponse, KickedResponse, PingResponse};
use slsk_proto::structures::UserStats;
use slsk_proto::tables::UserStatus;

use super::*;
use crate::client::config::{ReconnectPolicy, Timing};

const ME: &str = "me";

fn config() -> ClientConfig {
    let mut config = ClientConfig::new("127.0.0.1:1", ME, "secret");
    config.advertised_port = Some(2234);
    config.advertised_obfuscated_port = Some(2235);
    config.shared_folders = 3;
    config.shared_files = 40;
    config
}

fn session(config: ClientConfig) -> Session<u32> {
    Session::new(config, SmallRng::seed_from_u64(42))
}

fn drain(session: &mut Session<u32>) -> Vec<Action<u32>> {
    std::iter::from_fn(|| session.poll_action()).collect()
}

fn sends(actions: &[Action<u32>]) -> Vec<ServerRequest> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(request) => Some(request.clone()),
            _ => None,
        })
        .collect()
}

fn events(actions: &[Action<u32>]) -> Vec<Event> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(event) => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn replies(actions: &[Action<u32>]) -> Vec<(u32, Result<Reply, RequestError>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Reply(token, result) => Some((*token, result.clone())),
            _ => None,
        })
        .collect()
}

fn login_success() -> ServerResponse {
    ServerResponse::Login(LoginResponse::Success {
        greeting: "hello".into(),
        ip: Ipv4Addr::new(127, 0, 0, 1),
        md5_hash: slsk_proto::password_hash("secret"),
        is_supporter: false,
    })
}

fn info() -> LoginInfo {
    LoginInfo {
        greeting: "hello".into(),
        ip: Ipv4Addr::new(127, 0, 0, 1),
        is_supporter: false,
    }
}

/// A session logged in at `now`, its actions drained.
fn logged_in(config: ClientConfig, now: Instant) -> Session<u32> {
    let mut s = session(config);
    s.connected(now);
    s.server_message(login_success(), now);
    drain(&mut s);
    assert!(s.is_logged_in());
    s
}

fn status_reply(username: &str) -> ServerResponse {
    ServerResponse::GetUserStatus(GetUserStatusResponse {
        username: username.into(),
        status: UserStatus::Away,
        privileged: true,
    })
}

fn listen_port() -> ServerRequest {
    SetListenPortRequest {
        port: 2234,
        obfuscation_type: Some(ObfuscationType::Rotated),
        obfuscated_port: Some(2235),
    }
    .into()
}

#[test]
fn connecting_sends_login_and_listen_port_together() {
    let now = Instant::now();
    let mut s = session(config());
    assert_eq!(s.next_deadline(), None);
    s.connected(now);
    let actions = drain(&mut s);
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(
        sends(&actions),
        vec![
            LoginRequest {
                username: ME.into(),
                password: "secret".into(),
                version: CLIENT_MAJOR_VERSION,
                md5_hash: Some(slsk_proto::login_hash(ME, "secret")),
                minor_version: Some(CLIENT_MINOR_VERSION),
            }
            .into(),
            listen_port(),
        ]
    );
    assert_eq!(
        s.next_deadline(),
        Some(now + Timing::default().login_timeout)
    );
}

#[test]
fn major_version_is_unclaimed() {
    let claimed = [
        157, 158, 159, 160, 169, 170, 175, 176, 177, 178, 180, 181, 182, 198, 200,
    ];
    assert!(!claimed.contains(&CLIENT_MAJOR_VERSION));
    const { assert!(CLIENT_MAJOR_VERSION > 156) };
    assert_ne!(CLIENT_MINOR_VERSION, 0, "servers reject minor version 0");
}

#[test]
fn no_obfuscated_port_advertises_none() {
    let mut config = config();
    config.advertised_obfuscated_port = None;
    let mut s = session(config);
    s.connected(Instant::now());
    let sent = sends(&drain(&mut s));
    assert_eq!(
        sent[1],
        SetListenPortRequest {
            port: 2234,
            obfuscation_type: Some(ObfuscationType::None),
            obfuscated_port: Some(0),
        }
        .into()
    );
}

#[test]
fn post_login_messages_in_documented_order() {
    let now = Instant::now();
    let mut s = session(config());
    s.connected(now);
    drain(&mut s);
    s.server_message(login_success(), now);
    let actions = drain(&mut s);
    let expected: Vec<ServerRequest> = vec![
        listen_port(),
        SharedFoldersFilesRequest {
            shared_folder_count: 3,
            shared_file_count: 40,
        }
        .into(),
        ToggleParentSearchRequest { enable: true }.into(),
        BranchRootRequest {
            username: ME.into(),
        }
        .into(),
        BranchLevelRequest { level: 0 }.into(),
        AcceptChildrenRequest { accept: false }.into(),
        CheckPrivilegesRequest.into(),
        SetStatusRequest {
            status: UserStatus::Online,
        }
        .into(),
        slsk_proto::server::TogglePrivateRoomInvitesRequest { enable: false }.into(),
        AddUserRequest {
            username: ME.into(),
        }
        .into(),
    ];
    assert_eq!(sends(&actions), expected);
    assert!(matches!(actions.last(), Some(Action::LoggedIn(i)) if *i == info()));
    assert_eq!(
        s.next_deadline(),
        Some(now + Timing::default().ping_interval)
    );
}

#[test]
fn login_rejection_ends_with_the_reason_and_never_reconnects() {
    let now = Instant::now();
    let mut s = session(config());
    s.connected(now);
    drain(&mut s);
    s.server_message(
        ServerResponse::Login(LoginResponse::Failure {
            reason: LoginRejectionReason::InvalidUsername,
            detail: Some("Nick too long.".into()),
        }),
        now,
    );
    let actions = drain(&mut s);
    assert!(matches!(
        actions.as_slice(),
        [Action::End(EndReason::Rejected { reason: LoginRejectionReason::InvalidUsername, detail: Some(d) })]
            if d == "Nick too long."
    ));
    assert!(s.is_ended());
    assert_eq!(s.next_deadline(), None);
    s.disconnected(now);
    assert!(drain(&mut s).is_empty());
}

#[test]
fn first_connection_problems_end_the_session() {
    let now = Instant::now();
    let mut s = session(config());
    s.connect_failed(now);
    assert!(matches!(
        drain(&mut s).as_slice(),
        [Action::End(EndReason::ConnectFailed)]
    ));

    let mut s = session(config());
    s.connected(now);
    drain(&mut s);
    s.disconnected(now);
    assert!(matches!(
        drain(&mut s).as_slice(),
        [Action::End(EndReason::ClosedBeforeLogin)]
    ));

    let mut s = session(config());
    s.connected(now);
    drain(&mut s);
    let deadline = s.next_deadline().unwrap();
    s.timer(deadline - Duration::from_millis(1));
    assert!(drain(&mut s).is_empty());
    s.timer(deadline);
    assert!(matches!(
        drain(&mut s).as_slice(),
        [Action::End(EndReason::LoginTimeout)]
    ));
}

#[test]
fn requests_before_login_fail_not_connected() {
    let now = Instant::now();
    let mut s = session(config());
    s.command(1, Command::UserStatus("bob".into()), now);
    s.command(2, Command::Send(PingRequest.into()), now);
    s.command(3, Command::Watch("bob".into()), now);
    let actions = drain(&mut s);
    assert!(sends(&actions).is_empty());
    assert_eq!(
        replies(&actions),
        vec![
            (1, Err(RequestError::NotConnected)),
            (2, Err(RequestError::NotConnected)),
            (3, Err(RequestError::NotConnected)),
        ]
    );
}

#[test]
fn concurrent_requests_for_the_same_user_share_one_server_request() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, Command::UserStatus("bob".into()), now);
    s.command(2, Command::UserStatus("bob".into()), now);
    s.command(3, Command::UserStatus("eve".into()), now);
    s.command(4, Command::UserStats("bob".into()), now);
    let sent = sends(&drain(&mut s));
    assert_eq!(
        sent,
        vec![
            GetUserStatusRequest {
                username: "bob".into()
            }
            .into(),
            GetUserStatusRequest {
                username: "eve".into()
            }
            .into(),
            GetUserStatsRequest {
                username: "bob".into()
            }
            .into(),
        ]
    );
    s.server_message(status_reply("bob"), now);
    let actions = drain(&mut s);
    let expected = Reply::UserStatus(GetUserStatusResponse {
        username: "bob".into(),
        status: UserStatus::Away,
        privileged: true,
    });
    assert_eq!(
        replies(&actions),
        vec![(1, Ok(expected.clone())), (2, Ok(expected))]
    );
    assert_eq!(
        events(&actions),
        vec![Event::UserStatus {
            username: "bob".into(),
            status: UserStatus::Away,
            privileged: true
        }]
    );
    // A new request after the reply goes to the server again.
    s.command(5, Command::UserStatus("bob".into()), now);
    assert_eq!(sends(&drain(&mut s)).len(), 1);
}

#[test]
fn requests_time_out_and_late_replies_become_events() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    let timeout = Timing::default().request_timeout;
    s.command(1, Command::PeerAddress("bob".into()), now);
    drain(&mut s);
    assert_eq!(s.next_deadline(), Some(now + timeout));
    s.timer(now + timeout - Duration::from_millis(1));
    assert!(replies(&drain(&mut s)).is_empty());
    s.command(
        2,
        Command::PeerAddress("bob".into()),
        now + Duration::from_secs(1),
    );
    s.timer(now + timeout);
    assert_eq!(
        replies(&drain(&mut s)),
        vec![
            (1, Err(RequestError::Timeout)),
            (2, Err(RequestError::Timeout))
        ]
    );
    let late = GetPeerAddressResponse {
        username: "bob".into(),
        ip: Ipv4Addr::new(1, 2, 3, 4),
        port: 2234,
        obfuscation_type: None,
        obfuscated_port: None,
    };
    s.server_message(ServerResponse::GetPeerAddress(late.clone()), now + timeout);
    let actions = drain(&mut s);
    assert!(replies(&actions).is_empty());
    assert_eq!(
        events(&actions),
        vec![Event::ServerMessage(ServerResponse::GetPeerAddress(late))]
    );
}

#[test]
fn too_many_pending_requests_are_refused() {
    let now = Instant::now();
    let mut config = config();
    config.max_pending_requests = 1;
    let mut s = logged_in(config, now);
    s.command(1, Command::UserStats("a".into()), now);
    s.command(2, Command::UserStats("a".into()), now);
    s.command(3, Command::UserStats("b".into()), now);
    let actions = drain(&mut s);
    assert_eq!(sends(&actions).len(), 1);
    assert_eq!(
        replies(&actions),
        vec![(3, Err(RequestError::TooManyPending))]
    );
}

#[test]
fn private_messages_are_acknowledged_then_surfaced() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    for (id, is_direct, is_replay) in [
        (7, Some(true), false),
        (8, Some(false), true),
        (9, None, false),
    ] {
        s.server_message(
            ServerResponse::PrivateChatMessage(PrivateChatMessageResponse {
                chat_id: id,
                timestamp: 1_700_000_000,
                username: "bob".into(),
                message: "hi".into(),
                is_direct,
            }),
            now,
        );
        let actions = drain(&mut s);
        assert!(
            matches!(
                actions.as_slice(),
                [Action::Send(ServerRequest::PrivateChatMessageAck(ack)), Action::Emit(Event::PrivateMessage(pm))]
                    if ack.chat_id == id && *pm == PrivateMessage {
                        id,
                        timestamp: 1_700_000_000,
                        username: "bob".into(),
                        text: "hi".into(),
                        is_replay,
                    }
            ),
            "{actions:?}"
        );
    }
}

#[test]
fn kicked_ends_the_session_without_reconnecting() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, Command::UserStatus("bob".into()), now);
    drain(&mut s);
    s.server_message(ServerResponse::Kicked(KickedResponse), now);
    let actions = drain(&mut s);
    assert_eq!(events(&actions), vec![Event::Kicked]);
    assert_eq!(replies(&actions), vec![(1, Err(RequestError::Closed))]);
    assert!(matches!(
        actions.last(),
        Some(Action::End(EndReason::Kicked))
    ));
    assert_eq!(s.next_deadline(), None);
    // The server closes the socket next: no reconnect follows.
    s.disconnected(now);
    s.timer(now + Duration::from_secs(3600));
    assert!(drain(&mut s).is_empty());
    s.command(2, Command::UserStatus("bob".into()), now);
    assert_eq!(
        replies(&drain(&mut s)),
        vec![(2, Err(RequestError::Closed))]
    );
}

#[test]
fn lost_connection_reconnects_with_backoff_and_restores_state() {
    let t0 = Instant::now();
    let mut s = logged_in(config(), t0);
    s.command(1, Command::Watch("bob".into()), t0);
    s.command(2, Command::SetStatus(OwnStatus::Away), t0);
    s.command(3, Command::UserStatus("eve".into()), t0);
    drain(&mut s);

    s.disconnected(t0);
    let actions = drain(&mut s);
    let mut failed = replies(&actions);
    failed.sort_by_key(|(token, _)| *token);
    assert_eq!(
        failed,
        vec![
            (1, Err(RequestError::Disconnected)),
            (3, Err(RequestError::Disconnected))
        ]
    );
    let first = match events(&actions).as_slice() {
        [
            Event::Disconnected,
            Event::Reconnecting { attempt: 1, delay },
        ] => *delay,
        other => panic!("{other:?}"),
    };
    assert!((Duration::from_secs(5)..=Duration::from_secs(15)).contains(&first));
    assert_eq!(s.next_deadline(), Some(t0 + first));

    // Not yet; then the attempt fails and the wait doubles.
    s.timer(t0 + first - Duration::from_millis(1));
    assert!(drain(&mut s).is_empty());
    let t1 = t0 + first;
    s.timer(t1);
    assert!(matches!(drain(&mut s).as_slice(), [Action::Connect]));
    s.connect_failed(t1);
    assert_eq!(
        events(&drain(&mut s)),
        vec![Event::Reconnecting {
            attempt: 2,
            delay: first * 2
        }]
    );
    let t2 = t1 + first * 2;
    s.timer(t2);
    assert!(matches!(drain(&mut s).as_slice(), [Action::Connect]));

    // This one works: log in again and restore status and watches.
    s.connected(t2);
    assert!(matches!(sends(&drain(&mut s))[0], ServerRequest::Login(_)));
    s.server_message(login_success(), t2);
    let actions = drain(&mut s);
    let sent = sends(&actions);
    assert!(
        sent.contains(
            &SetStatusRequest {
                status: UserStatus::Away
            }
            .into()
        )
    );
    let watched: Vec<_> = sent
        .iter()
        .filter_map(|r| match r {
            ServerRequest::AddUser(a) => Some(a.username.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(watched, vec![ME, "bob"]);
    assert_eq!(events(&actions), vec![Event::Reconnected(info())]);
    assert!(!actions.iter().any(|a| matches!(a, Action::LoggedIn(_))));

    // The backoff starts over after a successful login.
    s.disconnected(t2);
    assert!(matches!(
        events(&drain(&mut s)).as_slice(),
        [Event::Disconnected, Event::Reconnecting { attempt: 1, .. }]
    ));
}

#[test]
fn reconnect_login_timeout_and_rejection() {
    let t0 = Instant::now();
    let mut s = logged_in(config(), t0);
    s.disconnected(t0);
    drain(&mut s);
    let t1 = s.next_deadline().unwrap();
    s.timer(t1);
    s.connected(t1);
    drain(&mut s);
    // No Login reply: drop that connection and wait again.
    let t2 = t1 + Timing::default().login_timeout;
    s.timer(t2);
    let actions = drain(&mut s);
    assert!(matches!(actions[0], Action::CloseConnection));
    assert!(matches!(
        events(&actions).as_slice(),
        [Event::Reconnecting { attempt: 2, .. }]
    ));
    // Closed during the login of a reconnect: just wait again.
    let t3 = s.next_deadline().unwrap();
    s.timer(t3);
    s.connected(t3);
    drain(&mut s);
    s.disconnected(t3);
    assert!(matches!(
        events(&drain(&mut s)).as_slice(),
        [Event::Reconnecting { attempt: 3, .. }]
    ));
    // Rejected on a reconnect: reported, and the session ends.
    let t4 = s.next_deadline().unwrap();
    s.timer(t4);
    s.connected(t4);
    drain(&mut s);
    s.server_message(
        ServerResponse::Login(LoginResponse::Failure {
            reason: LoginRejectionReason::InvalidPassword,
            detail: None,
        }),
        t4,
    );
    let actions = drain(&mut s);
    assert_eq!(
        events(&actions),
        vec![Event::LoginRejected {
            reason: LoginRejectionReason::InvalidPassword,
            detail: None
        }]
    );
    assert!(matches!(
        actions.last(),
        Some(Action::End(EndReason::Rejected { .. }))
    ));
}

#[test]
fn reconnect_disabled_ends_on_a_lost_connection() {
    let now = Instant::now();
    let mut config = config();
    config.reconnect = ReconnectPolicy {
        enabled: false,
        ..ReconnectPolicy::default()
    };
    let mut s = logged_in(config, now);
    s.disconnected(now);
    let actions = drain(&mut s);
    assert_eq!(events(&actions), vec![Event::Disconnected]);
    assert!(matches!(
        actions.last(),
        Some(Action::End(EndReason::ConnectionLost))
    ));
}

#[test]
fn pings_at_the_interval() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    let interval = Timing::default().ping_interval;
    s.timer(now + interval);
    assert_eq!(sends(&drain(&mut s)), vec![PingRequest.into()]);
    assert_eq!(s.next_deadline(), Some(now + interval * 2));
    // Ping replies from old servers are just passed on.
    s.server_message(ServerResponse::Ping(PingResponse), now);
    assert_eq!(
        events(&drain(&mut s)),
        vec![Event::ServerMessage(ServerResponse::Ping(PingResponse))]
    );
}

fn password_confirmation(password: &str) -> ServerResponse {
    slsk_proto::server::NewPasswordResponse {
        password: password.into(),
    }
    .into()
}

#[test]
fn password_change_waits_for_confirmation_and_is_used_for_the_next_login() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, Command::ChangePassword("n3w".into()), now);
    assert_eq!(
        sends(&drain(&mut s)),
        vec![
            NewPasswordRequest {
                password: "n3w".into()
            }
            .into()
        ]
    );
    s.server_message(password_confirmation("n3w"), now);
    let actions = drain(&mut s);
    assert_eq!(replies(&actions), vec![(1, Ok(Reply::Done))]);
    assert_eq!(events(&actions), vec![Event::PasswordChanged]);
    assert_eq!(s.password(), "n3w");

    s.disconnected(now);
    drain(&mut s);
    let t = s.next_deadline().unwrap();
    s.timer(t);
    s.connected(t);
    match &sends(&drain(&mut s))[0] {
        ServerRequest::Login(login) => {
            assert_eq!(login.password, "n3w");
            assert_eq!(login.md5_hash, Some(slsk_proto::login_hash(ME, "n3w")));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn watch_unwatch_and_missing_users() {
    let now = Instant::now();
    let mut s = logged_in(config(), now);
    s.command(1, Command::Watch("bob".into()), now);
    s.command(2, Command::Watch("bob".into()), now);
    s.command(3, Command::Watch("ghost".into()), now);
    s.command(4, Command::Watch("carol".into()), now);
    assert_eq!(sends(&drain(&mut s)).len(), 3);
    let bob = AddUserResponse {
        username: "bob".into(),
        user: AddUserResponseUser::Exists {
            status: UserStatus::Online,
            stats: UserStats {
                avg_speed: 1,
                uploads: 2,
                shared_file_count: 3,
                shared_folder_count: 4,
            },
            country_code: None,
        },
    };
    s.server_message(ServerResponse::AddUser(bob.clone()), now);
    let actions = drain(&mut s);
    assert_eq!(
        replies(&actions),
        vec![
            (1, Ok(Reply::Watch(bob.clone()))),
            (2, Ok(Reply::Watch(bob.clone())))
        ]
    );
    assert_eq!(events(&actions), vec![Event::UserWatched(bob)]);
    let ghost = AddUserResponse {
        username: "ghost".into(),
        user: AddUserResponseUser::Missing,
    };
    s.server_message(ServerResponse::AddUser(ghost.clone()), now);
    assert_eq!(replies(&drain(&mut s)), vec![(3, Ok(Reply::Watch(ghost)))]);
    s.command(5, Command::Unwatch("carol".into()), now);
    let actions = drain(&mut s);
    assert_eq!(
        sends(&actions),
        vec![
            RemoveUserRequest {
                username: "carol".into()
            }
            .into()
        ]
    );
    assert_eq!(replies(&actions), vec![(5, Ok(Reply::Done))]);
    assert_eq!(replies(&actions).len(), 1);

    // After a reconnect only bob is watched again (besides ourselves).
    s.disconnected(now);
    drain(&mut s);
    let t = s.next_deadline().unwrap();
    s.timer(t);
    s.connected(t);
    s.server_message(login_success(), t);
    let rewatched: Vec<String> = sends(&drain(&mut s))
        .into_iter()
        .filter_map(|r| match r {
            ServerRequest::AddUser(a) => Some(a.username),
            _ => None,
        })
        .collect();
    assert_eq!(rewatched, vec![ME.to_string(), "bob".to_string()]);
}

#[test]
fn privileges_stats_forwarding_and_other_messages() {
    let now = Instant::now();
    let mut s = session(config());
    assert!(!s.forward(PingRequest.into()), "dropped before login");
    s.connected(now);
    s.server_message(login_success(), now);
    drain(&mut s);
    assert!(s.forward(PingRequest.into()));
    assert_eq!(sends(&drain(&mut s)), vec![PingRequest.into()]);
    s.server_message(
        ServerResponse::CheckPrivileges(CheckPrivilegesResponse { time_left: 90 }),
        now,
    );
    assert_eq!(
        events(&drain(&mut s)),
        vec![Event::Privileges {
            time_left: Duration::from_secs(90)
        }]
    );
    let other = ServerResponse::Unknown {
        code: 9999,
        payload: vec![1, 2, 3],
    };
    s.server_message(other.clone(), now);
    assert_eq!(events(&drain(&mut s)), vec![Event::ServerMessage(other)]);
    // Status set while logged in goes out at once; shutdown fails waiters.
    s.command(1, Command::SetStatus(OwnStatus::Away), now);
    let actions = drain(&mut s);
    assert_eq!(
        sends(&actions),
        vec![
            SetStatusRequest {
                status: UserStatus::Away
            }
            .into()
        ]
    );
    s.command(2, Command::UserStats("bob".into()), now);
    drain(&mut s);
    s.shutdown();
    let actions = drain(&mut s);
    assert_eq!(replies(&actions), vec![(2, Err(RequestError::Closed))]);
    assert!(matches!(
        actions.last(),
        Some(Action::End(EndReason::Shutdown))
    ));
    assert!(s.is_ended());
}

#[test]
fn huge_intervals_do_not_overflow() {
    let now = Instant::now();
    let mut config = config();
    config.timing.ping_interval = Duration::MAX;
    config.timing.request_timeout = Duration::MAX;
    config.timing.login_timeout = Duration::MAX;
    let mut s = logged_in(config, now);
    s.command(1, Command::UserStats("bob".into()), now);
    assert!(s.next_deadline().unwrap() > now + Duration::from_secs(365 * 24 * 3600));
    s.timer(now + Duration::from_secs(3600));
    assert!(replies(&drain(&mut s)).is_empty());
}

mod social;
