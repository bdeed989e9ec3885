//! Random sequences of room, private-room, ticker, privilege and interest
//! requests from several users (and random payloads for those codes): no
//! panic, and the room bookkeeping stays consistent.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const ROOMS: [&str; 3] = ["den", "hall", "x  y"];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

fn random_request(rng: &mut StdRng) -> ServerRequest {
    let room = pick(rng, &ROOMS).to_owned();
    let user = pick(rng, &USERS).to_owned();
    match rng.random_range(0..18) {
        0 => JoinRoomRequest {
            room_name: room,
            is_private: Some(rng.random_range(0..2)),
        }
        .into(),
        1 => LeaveRoomRequest { room_name: room }.into(),
        2 => RoomChatMessageRequest {
            room_name: room,
            message: "hi".into(),
        }
        .into(),
        3 => PrivateRoomGrantMembershipRequest {
            room,
            username: user,
        }
        .into(),
        4 => PrivateRoomRevokeMembershipRequest {
            room,
            username: user,
        }
        .into(),
        5 => PrivateRoomGrantOperatorRequest {
            room,
            username: user,
        }
        .into(),
        6 => PrivateRoomRevokeOperatorRequest {
            room,
            username: user,
        }
        .into(),
        7 => PrivateRoomDropMembershipRequest { room }.into(),
        8 => PrivateRoomDropOwnershipRequest { room }.into(),
        9 => CancelRoomOperatorshipRequest { room }.into(),
        10 => TogglePrivateRoomInvitesRequest {
            enable: rng.random(),
        }
        .into(),
        11 => SetRoomTickerRequest {
            room,
            ticker: pick(rng, &["", "t1", "t2"]).into(),
        }
        .into(),
        12 => GiveUserPrivilegesRequest {
            username: user,
            days: rng.random_range(0..3),
        }
        .into(),
        13 => AddInterestRequest { interest: room }.into(),
        14 => GetRecommendationsRequest.into(),
        15 => RoomListRequest.into(),
        // Random bytes under a room-area code.
        _ => {
            let codes = [
                13u32, 14, 15, 51, 54, 57, 110, 111, 113, 116, 120, 123, 124, 134, 137, 141,
            ];
            let code = codes[rng.random_range(0..codes.len())];
            let payload: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
            let mut frame = (4 + payload.len() as u32).to_le_bytes().to_vec();
            frame.extend_from_slice(&code.to_le_bytes());
            frame.extend_from_slice(&payload);
            ServerRequest::decode_frame(&frame).unwrap_or(PingRequest.into())
        }
    }
}

fn check_consistent(state: &ServerState) {
    for (name, room) in &state.rooms {
        for user in &room.joined {
            let session = state.sessions.get(user).expect("joined users are online");
            assert!(session.rooms.contains(name), "{user} in {name}");
            if room.is_private() {
                assert!(room.may_enter(user), "{user} may not be in {name}");
            }
        }
        assert!(room.operators.is_subset(&room.members), "{name}");
        if let Some(owner) = &room.owner {
            assert!(!room.members.contains(owner), "{name}");
        } else {
            assert!(room.members.is_empty(), "{name}");
            assert!(
                !room.joined.is_empty() || !room.tickers.is_empty(),
                "{name}"
            );
        }
    }
    for (user, session) in &state.sessions {
        for name in &session.rooms {
            assert!(state.rooms[name].has_joined(user));
        }
    }
}

#[test]
fn random_room_traffic_keeps_the_books_straight() {
    let mut h = Harness::new();
    let mut rng = StdRng::seed_from_u64(42);
    let mut conns: Vec<Option<ConnId>> = USERS.iter().map(|u| Some(h.login(u, "pw"))).collect();
    // The traffic must reach the interesting states, not just refusals.
    let (mut saw_member, mut saw_operator, mut saw_public) = (false, false, false);
    for step in 0..4000 {
        let who = rng.random_range(0..USERS.len());
        match conns[who] {
            // Now and then a user drops and comes back.
            Some(conn) if rng.random_range(0..50) == 0 => {
                h.state.disconnected(conn, h.now);
                h.settle();
                conns[who] = None;
            }
            Some(conn) => {
                let request = random_request(&mut rng);
                h.request(conn, request);
            }
            None => conns[who] = Some(h.login(USERS[who], "pw")),
        }
        if step % 100 == 0 {
            h.now.instant += Duration::from_secs(30);
        }
        check_consistent(&h.state);
        for room in h.state.rooms.values() {
            saw_member |= !room.members.is_empty();
            saw_operator |= !room.operators.is_empty();
            saw_public |= !room.is_private() && room.joined.len() > 1;
        }
    }
    assert!(saw_member && saw_operator && saw_public);
}
