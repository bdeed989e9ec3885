//! Commands sent as private messages to `server`. Admins (named in the
//! database, see [`ServerConfig::admins`](crate::ServerConfig::admins)) have
//! the whole set; everyone has `help`. Replies are private messages from
//! `server`, queued like any other.

use slsk_proto::server::{AdminMessageResponse, KickedResponse};

use super::login::SERVER_NAME;
use super::privileges::DAY;
use super::{Now, ServerState};

/// The longest ban or kick, in days or minutes (soulfind's cap).
const MAX_DURATION: u32 = 65_535;

/// How long `kick` bans when no duration is given (soulfind).
const DEFAULT_KICK_MINUTES: u32 = 2;

/// The most names a listing reply shows.
const MAX_LISTED: usize = 200;

const USER_HELP: &str = "Available commands: help";

const ADMIN_HELP: &str = "Available commands: \
help | \
ban [days] <user> (forever without days; removes their tickers) | \
unban <user> | \
kick [minutes] <user> (2 minutes without minutes) | \
giveprivileges <days> <user> | \
announcement <text> (an admin message to every online user) | \
message <text> (a private message to every online user) | \
users (who is online) | \
rooms (rooms in use) | \
removeroom <room> | \
removetickers <user> | \
admins";

/// Splits "`[number] rest`": an optional leading number, then the rest (a
/// name, which may contain spaces).
fn number_then_name(args: &str) -> (Option<u32>, &str) {
    if let Some((first, rest)) = args.split_once(' ')
        && let Ok(n) = first.parse::<u32>()
        && !rest.is_empty()
    {
        return (Some(n), rest);
    }
    (None, args)
}

/// A list of names for a reply, cut at [`MAX_LISTED`].
fn listing(mut names: Vec<String>) -> String {
    let total = names.len();
    names.truncate(MAX_LISTED);
    let mut text = names.join(", ");
    if total > MAX_LISTED {
        text.push_str(&format!(", and {} more", total - MAX_LISTED));
    }
    text
}

impl ServerState {
    /// A private message to `server` from `me`: a command word, then its
    /// arguments. An unknown command (or an admin command from a non-admin)
    /// gets soulfind's reply "Unknown command 'X'. Type 'help' to list
    /// available commands."
    pub(super) fn command(&mut self, me: &str, text: &str, now: Now) {
        let text = text.trim();
        let (word, args) = text.split_once(' ').unwrap_or((text, ""));
        let args = args.trim();
        let admin = match self.store.is_admin(me) {
            Ok(admin) => admin,
            Err(e) => return self.store_failed("checking an admin", &e),
        };
        let reply = match (word, admin) {
            ("help", false) => USER_HELP.to_owned(),
            ("help", true) => ADMIN_HELP.to_owned(),
            ("ban", true) => {
                let (days, user) = number_then_name(args);
                let until = days.map_or(i64::MAX, |d| {
                    now.unix_i64() + i64::from(d.min(MAX_DURATION)) * DAY
                });
                match self.ban(me, user, until, now) {
                    Ok(reply) => {
                        self.remove_user_tickers(user);
                        reply
                    }
                    Err(reply) => reply,
                }
            }
            ("kick", true) => {
                let (minutes, user) = number_then_name(args);
                let minutes = minutes.unwrap_or(DEFAULT_KICK_MINUTES).min(MAX_DURATION);
                let until = now.unix_i64() + i64::from(minutes) * 60;
                self.ban(me, user, until, now)
                    .unwrap_or_else(|refusal| refusal)
            }
            ("unban", true) => self.unban(args),
            ("giveprivileges", true) => match number_then_name(args) {
                (Some(days), user) if self.is_registered(user) && user != SERVER_NAME => {
                    let days = days.min(MAX_DURATION);
                    if self.add_privileges(user, i64::from(days) * DAY, now) {
                        format!("Gave {days} days of privileges to {user}.")
                    } else {
                        "Could not store the privileges.".to_owned()
                    }
                }
                (Some(_), user) => format!("No such user: {user}"),
                (None, _) => "Usage: giveprivileges <days> <user>".to_owned(),
            },
            ("announcement", true) if !args.is_empty() => {
                let conns: Vec<_> = self.sessions.values().map(|s| s.conn).collect();
                let count = conns.len();
                for conn in conns {
                    let message = args.to_owned();
                    self.send(conn, AdminMessageResponse { message });
                }
                format!("Announcement sent to {count} users.")
            }
            ("message", true) if !args.is_empty() => {
                let users: Vec<String> = self.sessions.keys().cloned().collect();
                let count = users.len();
                for user in users {
                    self.server_message(&user, args, now);
                }
                format!("Message sent to {count} users.")
            }
            ("users", true) => {
                let mut names: Vec<String> = self.sessions.keys().cloned().collect();
                names.sort();
                format!("{} users online: {}", names.len(), listing(names))
            }
            ("rooms", true) => {
                let names: Vec<String> = self
                    .rooms
                    .iter()
                    .map(|(name, room)| {
                        let kind = if room.is_private() { ", private" } else { "" };
                        format!("{name} ({}{kind})", room.joined.len())
                    })
                    .collect();
                format!("{} rooms: {}", names.len(), listing(names))
            }
            ("removeroom", true) => {
                if self.remove_room(args) {
                    format!("Room {args} removed.")
                } else {
                    format!("No such room: {args}")
                }
            }
            ("removetickers", true) => {
                let count = self.remove_user_tickers(args);
                format!("Removed {count} tickers of {args}.")
            }
            ("admins", true) => match self.store.admins() {
                Ok(names) => format!("Admins: {}", listing(names)),
                Err(e) => return self.store_failed("listing admins", &e),
            },
            _ => format!("Unknown command '{word}'. Type 'help' to list available commands."),
        };
        tracing::info!(user = %me, command = word, admin, "server command");
        self.server_message(me, &reply, now);
    }

    fn is_registered(&self, username: &str) -> bool {
        self.sessions.contains_key(username)
            || self.store.account(username).ok().flatten().is_some()
    }

    /// Bans `user` until `until` (unix seconds) and disconnects it now.
    /// Its queued private messages stay (soulfind deletes those it sent);
    /// the `ban` command also removes its tickers (soulfind), `kick` does
    /// not. The reply, `Err` if nobody was banned.
    fn ban(&mut self, me: &str, user: &str, until: i64, now: Now) -> Result<String, String> {
        if user == me || user == SERVER_NAME {
            return Err("You cannot ban yourself or the server.".to_owned());
        }
        if !self.is_registered(user) {
            return Err(format!("No such user: {user}"));
        }
        if let Err(e) = self.store.set_banned_until(user, Some(until)) {
            self.store_failed("storing a ban", &e);
            return Err("Could not store the ban.".to_owned());
        }
        tracing::info!(admin = %me, user, until, "banned");
        self.disconnect_user(user, now);
        Ok(if until == i64::MAX {
            format!("{user} is banned for ever.")
        } else {
            let minutes = (until - now.unix_i64()) / 60;
            format!("{user} is banned for {minutes} minutes.")
        })
    }

    fn unban(&mut self, user: &str) -> String {
        if !self.is_registered(user) {
            return format!("No such user: {user}");
        }
        match self.store.set_banned_until(user, None) {
            Ok(()) => format!("{user} is no longer banned."),
            Err(e) => {
                self.store_failed("clearing a ban", &e);
                "Could not clear the ban.".to_owned()
            }
        }
    }

    /// Kicked(41) to an online user, then its session ends and the
    /// connection closes once flushed (like a relogin).
    fn disconnect_user(&mut self, user: &str, now: Now) {
        let Some(conn) = self.conn_of(user) else {
            return;
        };
        self.send(conn, KickedResponse);
        self.connections.remove(&conn);
        self.end_session(user, now);
        self.close(conn);
    }

    /// Removes a room for good: everyone joined leaves it (with the usual
    /// messages), the members of a private room lose their membership
    /// (PrivateRoomMembershipRevoked(140) and the room list update, the
    /// owner the update), and the store forgets it and its tickers. False
    /// if there is no such room.
    pub(super) fn remove_room(&mut self, name: &str) -> bool {
        let Some(room) = self.rooms.get(name) else {
            return false;
        };
        let joined = room.joined.clone();
        let members = room.members.clone();
        let owner = room.owner.clone();
        let private = room.is_private();
        for user in &joined {
            self.leave_room(user, name, true);
        }
        self.rooms.remove(name);
        if private && let Err(e) = self.store.delete_private_room(name) {
            self.store_failed("deleting a room", &e);
        }
        if let Err(e) = self.store.remove_room_tickers(name) {
            self.store_failed("deleting a room's tickers", &e);
        }
        for member in &members {
            if let Some(conn) = self.conn_of(member) {
                let room = name.to_owned();
                self.send(
                    conn,
                    slsk_proto::server::PrivateRoomMembershipRevokedResponse { room },
                );
            }
            self.room_list_update(member);
        }
        if let Some(owner) = owner {
            self.room_list_update(&owner);
        }
        tracing::info!(room = name, "room removed");
        true
    }
}
