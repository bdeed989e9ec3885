//! Private rooms: membership, operators, dropping membership or ownership,
//! and the invitation switch. The rules and texts are soulfind's, checked
//! against aioslsk's reconstruction of the official server; the places
//! where they differ say which one is followed.

use std::collections::BTreeSet;

use slsk_proto::server::{
    PrivateRoomGrantMembershipResponse, PrivateRoomGrantOperatorResponse,
    PrivateRoomMembershipGrantedResponse, PrivateRoomMembershipRevokedResponse,
    PrivateRoomOperatorGrantedResponse, PrivateRoomOperatorRevokedResponse,
    PrivateRoomRevokeMembershipResponse, PrivateRoomRevokeOperatorResponse,
    TogglePrivateRoomInvitesResponse,
};

use super::rooms::Room;
use super::{ConnId, Now, ServerState};

/// Who may act on a private room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    Owner,
    Operator,
    Member,
    Outsider,
}

fn rank(room: &Room, username: &str) -> Rank {
    if room.owner.as_deref() == Some(username) {
        Rank::Owner
    } else if room.operators.contains(username) {
        Rank::Operator
    } else if room.members.contains(username) {
        Rank::Member
    } else {
        Rank::Outsider
    }
}

impl ServerState {
    /// The private room called `name`, if there is one.
    fn private_room(&self, name: &str) -> Option<&Room> {
        self.rooms.get(name).filter(|room| room.is_private())
    }

    /// PrivateRoomGrantMembership(134) from `me`. Checks in soulfind's
    /// order, silent unless a private message from `server` is given:
    /// the target is not `me`; `me` is the owner or an operator; the target
    /// is online ("user X is not logged in."); it accepts invitations
    /// ("user X hasn’t enabled private room add. ...", with soulfind's
    /// U+2019 apostrophe); it is not the owner; it is not a member yet.
    ///
    /// Then: PrivateRoomGrantMembership(134) to the owner and every member,
    /// the new one included; PrivateRoomMembershipGranted(139) and the room
    /// list update to the target; "User X is now a member of room R" to
    /// `me`; and if `me` is an operator, "User [X] was added as a member of
    /// room [R] by operator [A]" to the owner.
    pub(super) fn grant_membership(&mut self, me: &str, name: &str, target: &str, now: Now) {
        let Some(room) = self.private_room(name) else {
            return;
        };
        let actor = rank(room, me);
        if target == me || !matches!(actor, Rank::Owner | Rank::Operator) {
            return tracing::debug!(user = %me, room = name, "membership grant refused");
        }
        let refusal = match self.sessions.get(target) {
            None => Some(format!("user {target} is not logged in.")),
            Some(session) if !session.invitations => Some(format!(
                "user {target} hasn\u{2019}t enabled private room add. please message them and ask them to do so before trying to add them again."
            )),
            Some(_) if room.owner.as_deref() == Some(target) => {
                Some(format!("user {target} is the owner of room {name}"))
            }
            Some(_) if room.members.contains(target) => {
                Some(format!("user {target} is already a member of room {name}"))
            }
            Some(_) => None,
        };
        if let Some(text) = refusal {
            return self.server_message(me, &text, now);
        }
        if let Err(e) = self.store.set_room_member(name, target, false) {
            return self.store_failed("adding a room member", &e);
        }
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        room.members.insert(target.to_owned());
        let owner = room.owner.clone();
        let audience = room.owner_and_members();
        let grant = PrivateRoomGrantMembershipResponse {
            room: name.to_owned(),
            username: target.to_owned(),
        };
        self.send_to_users(&audience, grant);
        if let Some(conn) = self.conn_of(target) {
            let room = name.to_owned();
            self.send(conn, PrivateRoomMembershipGrantedResponse { room });
        }
        self.room_list_update(target);
        self.server_message(
            me,
            &format!("User {target} is now a member of room {name}"),
            now,
        );
        if actor == Rank::Operator
            && let Some(owner) = owner
        {
            let text = format!(
                "User [{target}] was added as a member of room [{name}] by operator [{me}]"
            );
            self.server_message(&owner, &text, now);
        }
    }

    /// PrivateRoomRevokeMembership(135) from `me`: the owner may remove any
    /// member, an operator only plain members; nobody removes itself this
    /// way (that is [`drop_membership`](Self::drop_membership)). Silent when
    /// refused. See [`remove_member`](Self::remove_member) for what follows.
    pub(super) fn revoke_membership(&mut self, me: &str, name: &str, target: &str, now: Now) {
        let Some(room) = self.private_room(name) else {
            return;
        };
        let allowed = target != me
            && match rank(room, me) {
                Rank::Owner => room.members.contains(target),
                Rank::Operator => rank(room, target) == Rank::Member,
                _ => false,
            };
        if !allowed {
            return tracing::debug!(user = %me, room = name, "membership revocation refused");
        }
        self.remove_member(name, target, now);
    }

    /// PrivateRoomDropMembership(136): `me` leaves a private room it is a
    /// member of, as if the owner had removed it.
    pub(super) fn drop_membership(&mut self, me: &str, name: &str, now: Now) {
        if self
            .private_room(name)
            .is_some_and(|room| room.members.contains(me))
        {
            self.remove_member(name, me, now);
        }
    }

    /// Removes a member: an operator first loses that rank (with its own
    /// messages); then PrivateRoomRevokeMembership(135) goes to the owner
    /// and the remaining members, the owner gets "User X is no longer a
    /// member of room R", the target gets PrivateRoomMembershipRevoked(140),
    /// leaves the room if joined (with the usual leave messages) and gets
    /// the room list update.
    fn remove_member(&mut self, name: &str, target: &str, now: Now) {
        if self
            .rooms
            .get(name)
            .is_some_and(|room| room.operators.contains(target))
        {
            self.remove_operator(name, target, now, false);
        }
        if let Err(e) = self.store.remove_room_member(name, target) {
            return self.store_failed("removing a room member", &e);
        }
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        room.members.remove(target);
        let owner = room.owner.clone();
        let audience = room.owner_and_members();
        let revoke = PrivateRoomRevokeMembershipResponse {
            room: name.to_owned(),
            username: target.to_owned(),
        };
        self.send_to_users(&audience, revoke);
        if let Some(owner) = owner {
            let text = format!("User {target} is no longer a member of room {name}");
            self.server_message(&owner, &text, now);
        }
        self.revoked(name, target);
    }

    /// What a user who lost its membership gets: PrivateRoomMembershipRevoked
    /// (140), removal from the room if joined, the room list update.
    fn revoked(&mut self, name: &str, target: &str) {
        if let Some(conn) = self.conn_of(target) {
            let room = name.to_owned();
            self.send(conn, PrivateRoomMembershipRevokedResponse { room });
        }
        self.leave_room(target, name, true);
        self.room_list_update(target);
    }

    /// PrivateRoomGrantOperator(143): owner only, not on itself. The target
    /// must be online ("user X is not logged in."), a member ("user X must
    /// first be a member of room R") and not an operator yet ("user X is
    /// already an operator of room R").
    ///
    /// Then PrivateRoomGrantOperator(143) to the owner, the members and the
    /// joined users, once each (official: joined non-members too; aioslsk
    /// saw members who are joined get it twice, which we do not copy); the
    /// target gets PrivateRoomOperatorGranted(145) and the room list update;
    /// the owner gets "User X is now an operator of room R".
    pub(super) fn grant_operator(&mut self, me: &str, name: &str, target: &str, now: Now) {
        let Some(room) = self.private_room(name) else {
            return;
        };
        if rank(room, me) != Rank::Owner || target == me {
            return tracing::debug!(user = %me, room = name, "operator grant refused");
        }
        let refusal = if !self.sessions.contains_key(target) {
            Some(format!("user {target} is not logged in."))
        } else if !room.members.contains(target) {
            Some(format!(
                "user {target} must first be a member of room {name}"
            ))
        } else if room.operators.contains(target) {
            Some(format!(
                "user {target} is already an operator of room {name}"
            ))
        } else {
            None
        };
        if let Some(text) = refusal {
            return self.server_message(me, &text, now);
        }
        if let Err(e) = self.store.set_room_member(name, target, true) {
            return self.store_failed("adding a room operator", &e);
        }
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        room.operators.insert(target.to_owned());
        let audience = operator_audience(room);
        let grant = PrivateRoomGrantOperatorResponse {
            room: name.to_owned(),
            username: target.to_owned(),
        };
        self.send_to_users(&audience, grant);
        if let Some(conn) = self.conn_of(target) {
            let room = name.to_owned();
            self.send(conn, PrivateRoomOperatorGrantedResponse { room });
        }
        self.room_list_update(target);
        self.server_message(
            me,
            &format!("User {target} is now an operator of room {name}"),
            now,
        );
    }

    /// PrivateRoomRevokeOperator(144), and CancelRoomOperatorship(147) (an
    /// operator giving up the rank: `target` is `me`). Allowed for the
    /// owner, or for an operator on itself; the target must be an operator.
    pub(super) fn revoke_operator(&mut self, me: &str, name: &str, target: &str, now: Now) {
        let Some(room) = self.private_room(name) else {
            return;
        };
        let allowed = room.operators.contains(target)
            && (rank(room, me) == Rank::Owner
                || (me == target && rank(room, me) == Rank::Operator));
        if !allowed {
            return tracing::debug!(user = %me, room = name, "operator revocation refused");
        }
        self.remove_operator(name, target, now, true);
    }

    /// PrivateRoomRevokeOperator(144) to the owner, the members and the
    /// joined users, once each; PrivateRoomOperatorRevoked(146) to the
    /// target, and the room list update when `update_list` (skipped when the
    /// membership goes too, which sends its own); "User X is no longer an
    /// operator of room R" to the owner.
    fn remove_operator(&mut self, name: &str, target: &str, now: Now, update_list: bool) {
        if let Err(e) = self.store.set_room_member(name, target, false) {
            return self.store_failed("removing a room operator", &e);
        }
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        room.operators.remove(target);
        let audience = operator_audience(room);
        let owner = room.owner.clone();
        let revoke = PrivateRoomRevokeOperatorResponse {
            room: name.to_owned(),
            username: target.to_owned(),
        };
        self.send_to_users(&audience, revoke);
        if let Some(conn) = self.conn_of(target) {
            let room = name.to_owned();
            self.send(conn, PrivateRoomOperatorRevokedResponse { room });
        }
        if update_list {
            self.room_list_update(target);
        }
        if let Some(owner) = owner {
            let text = format!("User {target} is no longer an operator of room {name}");
            self.server_message(&owner, &text, now);
        }
    }

    /// PrivateRoomDropOwnership(137), owner only, the **official** behaviour
    /// (aioslsk's docs, "Dropping Ownership"): the room stops being private
    /// and is forgotten by the store; each member gets
    /// PrivateRoomMembershipRevoked(140), is removed from the room if joined
    /// and gets the room list update; the owner stays joined (the room acts
    /// as a public room until it empties) and gets the room list update;
    /// the tickers stay. Soulfind instead deletes the room with its tickers
    /// and removes everyone, owner included; the official way loses nothing
    /// a user did not ask to lose.
    pub(super) fn drop_ownership(&mut self, me: &str, name: &str) {
        let Some(room) = self.private_room(name) else {
            return;
        };
        if rank(room, me) != Rank::Owner {
            return tracing::debug!(user = %me, room = name, "ownership drop refused");
        }
        if let Err(e) = self.store.delete_private_room(name) {
            return self.store_failed("deleting a private room", &e);
        }
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        tracing::info!(user = %me, room = name, "private room given up");
        room.owner = None;
        room.operators.clear();
        let members = std::mem::take(&mut room.members);
        for member in &members {
            self.revoked(name, member);
        }
        self.room_list_update(me);
        self.forget_if_unused(name);
    }

    /// TogglePrivateRoomInvites(141): whether `me` may be added to private
    /// rooms, for this session (off at login, as soulfind; clients send it
    /// after logging in). Echoed back, as soulfind does.
    pub(super) fn toggle_invitations(&mut self, conn: ConnId, me: &str, enabled: bool) {
        if let Some(session) = self.sessions.get_mut(me) {
            session.invitations = enabled;
        }
        self.send(conn, TogglePrivateRoomInvitesResponse { enabled });
    }
}

/// Who hears about operator changes: the owner, the members and the joined
/// users.
fn operator_audience(room: &Room) -> BTreeSet<String> {
    let mut audience = room.owner_and_members();
    audience.extend(room.joined.iter().cloned());
    audience
}
