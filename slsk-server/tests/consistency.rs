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
