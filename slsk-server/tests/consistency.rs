//! The state stays consistent under random request sequences from several
//! users: every check of `slsk_server::sim::CHECKS` holds after every step.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_state_stays_consistent(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Err(broken) = slsk_server::sim::run(&data) {
            prop_assert!(false, "{}", broken);
        }
    }
}

/// A sequence that exercises the watched-user checks for sure: two users
/// log in, one watches the other, the other leaves.
#[test]
fn a_watcher_sees_the_watched_user_leave() {
    use slsk_proto::server::{AddUserRequest, LoginRequest};
    use slsk_server::sim::{Operation, Sim};
    use slsk_server::{PasswordCost, ServerConfig};

    let mut sim = Sim::new(ServerConfig {
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    });
    for (conn, name) in [(1, "alice"), (2, "bob")] {
        sim.apply(Operation::Connect);
        let login = LoginRequest {
            username: name.into(),
            password: "pw".into(),
            version: 160,
            md5_hash: None,
            minor_version: Some(1),
        };
        sim.apply(Operation::Request(conn, login.into()));
    }
    let watch = AddUserRequest {
        username: "bob".into(),
    };
    sim.apply(Operation::Request(1, watch.into()));
    sim.check().unwrap();
    assert_eq!(sim.state.session("alice").unwrap().watching.len(), 1);
    sim.apply(Operation::Disconnect(2));
    sim.check().unwrap();
    assert_eq!(
        sim.observed.status_seen.get(&(1, "bob".to_owned())),
        Some(&slsk_proto::tables::UserStatus::Offline)
    );
}

/// Every input that once broke the `server_state` fuzz target
/// (`fuzz/regressions/server_state/`) stays fixed.
#[test]
fn past_fuzz_failures_stay_fixed() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/server_state");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if let Err(broken) = slsk_server::sim::run(&std::fs::read(&path).unwrap()) {
            panic!("{}: {broken}", path.display());
        }
    }
}

/// A sequence that exercises the distributed checks for sure: bob offers
/// to be a parent, alice looks for one and is offered bob.
#[test]
fn a_user_looking_for_a_parent_is_offered_one() {
    use slsk_proto::server::{
        AcceptChildrenRequest, LoginRequest, SendUploadSpeedRequest, SetListenPortRequest,
        ToggleParentSearchRequest,
    };
    use slsk_server::sim::{Operation, Sim};
    use slsk_server::{PasswordCost, ServerConfig};

    let mut sim = Sim::new(ServerConfig {
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    });
    for (conn, name) in [(1, "alice"), (2, "bob")] {
        sim.apply(Operation::Connect);
        let login = LoginRequest {
            username: name.into(),
            password: "pw".into(),
            version: 160,
            md5_hash: None,
            minor_version: Some(1),
        };
        sim.apply(Operation::Request(conn, login.into()));
        sim.apply(Operation::Request(
            conn,
            ToggleParentSearchRequest { enable: true }.into(),
        ));
    }
    let port = SetListenPortRequest {
        port: 2234,
        obfuscation_type: None,
        obfuscated_port: None,
    };
    sim.apply(Operation::Request(2, port.into()));
    sim.apply(Operation::Request(
        2,
        SendUploadSpeedRequest { speed: 100 }.into(),
    ));
    sim.apply(Operation::Request(
        2,
        AcceptChildrenRequest { accept: true }.into(),
    ));
    sim.apply(Operation::Wait(1));
    sim.check().unwrap();
    assert_eq!(sim.observed.parents_offered, [(1, vec!["bob".to_owned()])]);
    assert!(sim.state.distributed("bob").unwrap().is_branch_root);
}

/// A sequence that exercises the room check for sure: two users join a
/// private room (the second as a granted member), one leaves the network,
/// the owner gives the room up (staying in it, now public), then leaves it.
#[test]
fn room_members_stay_known_through_joins_grants_and_departures() {
    use slsk_proto::server::{
        JoinRoomRequest, LeaveRoomRequest, LoginRequest, PrivateRoomDropOwnershipRequest,
        PrivateRoomGrantMembershipRequest, TogglePrivateRoomInvitesRequest,
    };
    use slsk_server::sim::{Operation, Sim};
    use slsk_server::{PasswordCost, ServerConfig};

    let mut sim = Sim::new(ServerConfig {
        password_cost: PasswordCost::TEST,
        ..ServerConfig::default()
    });
    let step = |sim: &mut Sim, operation| {
        sim.apply(operation);
        sim.check().unwrap();
    };
    for (conn, name) in [(1, "alice"), (2, "bob")] {
        step(&mut sim, Operation::Connect);
        let login = LoginRequest {
            username: name.into(),
            password: "pw".into(),
            version: 160,
            md5_hash: None,
            minor_version: Some(1),
        };
        step(&mut sim, Operation::Request(conn, login.into()));
    }
    let join = |private| JoinRoomRequest {
        room_name: "club".into(),
        is_private: Some(private),
    };
    step(&mut sim, Operation::Request(1, join(1).into()));
    let invites = TogglePrivateRoomInvitesRequest { enable: true };
    step(&mut sim, Operation::Request(2, invites.into()));
    let grant = PrivateRoomGrantMembershipRequest {
        room: "club".into(),
        username: "bob".into(),
    };
    step(&mut sim, Operation::Request(1, grant.into()));
    step(&mut sim, Operation::Request(2, join(0).into()));
    let joined: Vec<_> = sim
        .state
        .rooms()
        .map(|(r, j)| (r.to_owned(), j.to_vec()))
        .collect();
    assert_eq!(
        joined,
        [(
            "club".to_owned(),
            vec!["alice".to_owned(), "bob".to_owned()]
        )]
    );
    assert!(sim.observed.in_room.contains(&(2, "club".to_owned())));

    step(&mut sim, Operation::Disconnect(2));
    let drop = PrivateRoomDropOwnershipRequest {
        room: "club".into(),
    };
    step(&mut sim, Operation::Request(1, drop.into()));
    assert!(sim.observed.in_room.contains(&(1, "club".to_owned())));
    let leave = LeaveRoomRequest {
        room_name: "club".into(),
    };
    step(&mut sim, Operation::Request(1, leave.into()));
    assert!(sim.state.session("alice").unwrap().rooms.is_empty());
    assert!(sim.observed.in_room.is_empty());
}
