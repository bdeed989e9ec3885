//! Private messages: kept in the store until the recipient acknowledges them.

use std::collections::BTreeSet;

use rand::Rng;
use slsk_proto::server::PrivateChatMessageResponse;

use super::flood::FloodKind;
use super::login::SERVER_NAME;
use super::{ConnId, Now, ServerState};
use crate::store::PendingMessage;

/// How many random ids to try before giving up on a message (only reachable
/// with billions of pending messages).
const ID_ATTEMPTS: usize = 64;

impl ServerState {
    /// Whether a message text is acceptable: at most the configured bytes,
    /// no CR or LF (both soulfind's rules, for private and room messages).
    pub(super) fn message_text_ok(&self, text: &str) -> bool {
        text.len() <= self.config.max_pm_bytes && !text.contains(['\r', '\n'])
    }

    /// PrivateChatMessage(22). Dropped silently if the text is too long or
    /// has a line break, or if the recipient is not registered. Otherwise it
    /// is stored and, if the recipient is online, delivered now with
    /// `is_direct` true. Messages to `server` are commands (see `admin`).
    /// The sender gets nothing back. Past the sender's private message
    /// rate, dropped and counted.
    pub(super) fn private_message(&mut self, me: &str, to: &str, text: &str, now: Now) {
        if !self.message_text_ok(text) {
            return tracing::debug!(user = %me, "private message dropped: too long or multi-line");
        }
        if !self.allow(me, FloodKind::PrivateMessage, now) {
            return;
        }
        if to == SERVER_NAME {
            return self.command(me, text, now);
        }
        if !self.sessions.contains_key(to) {
            match self.store.account(to) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return tracing::debug!(user = %me, to, "private message to an unknown user");
                }
                Err(e) => return self.store_failed("reading an account", &e),
            }
        }
        self.queue_message(me, to, text, now);
    }

    /// PrivateChatMessageUsers(149): one private message per named user who
    /// is online and watches the sender (the official rule; soulfind sends
    /// to every online name). Each needs its own acknowledgement.
    pub(super) fn message_users(&mut self, me: &str, names: &[String], text: &str, now: Now) {
        if !self.message_text_ok(text) {
            return tracing::debug!(user = %me, "message to users dropped: too long or multi-line");
        }
        if !self.allow(me, FloodKind::PrivateMessage, now) {
            return;
        }
        let names: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        for name in names {
            let watches_me = self
                .watchers
                .get(me)
                .is_some_and(|watchers| watchers.contains(name));
            if watches_me && self.sessions.contains_key(name) {
                self.queue_message(me, name, text, now);
            }
        }
    }

    /// A notice from `server` to a registered user: queued like any private
    /// message (it needs an acknowledgement), delivered now if online.
    pub(super) fn server_message(&mut self, to: &str, text: &str, now: Now) {
        self.queue_message(SERVER_NAME, to, text, now);
    }

    /// Stores a message and delivers it if the recipient is online.
    fn queue_message(&mut self, sender: &str, recipient: &str, text: &str, now: Now) {
        let Some(id) = self.new_message_id() else {
            return tracing::error!("no free private message id");
        };
        let message = PendingMessage {
            id,
            timestamp: now.unix_u32(),
            sender: sender.to_owned(),
            recipient: recipient.to_owned(),
            message: text.to_owned(),
        };
        if let Err(e) = self.store.add_pending(&message) {
            return self.store_failed("storing a private message", &e);
        }
        if let Some(conn) = self.conn_of(recipient) {
            self.deliver(conn, message, true);
        }
    }

    /// A random non-zero id no pending message has.
    fn new_message_id(&mut self) -> Option<u32> {
        for _ in 0..ID_ATTEMPTS {
            let id: u32 = self.rng.random();
            if id == 0 {
                continue;
            }
            match self.store.pending_id_taken(id) {
                Ok(false) => return Some(id),
                Ok(true) => {}
                Err(e) => {
                    self.store_failed("checking a message id", &e);
                    return None;
                }
            }
        }
        None
    }

    /// `is_direct` is true for a live delivery, false for a replay at login.
    fn deliver(&mut self, conn: ConnId, message: PendingMessage, is_direct: bool) {
        self.send(
            conn,
            PrivateChatMessageResponse {
                chat_id: message.id,
                timestamp: message.timestamp,
                username: message.sender,
                message: message.message,
                is_direct: Some(is_direct),
            },
        );
    }

    /// At login: every message not yet acknowledged, oldest first, with
    /// `is_direct` false (including those already delivered live).
    pub(super) fn replay_pending_messages(&mut self, conn: ConnId, username: &str) {
        match self.store.pending_for(username) {
            Ok(messages) => {
                for message in messages {
                    self.deliver(conn, message, false);
                }
            }
            Err(e) => self.store_failed("reading pending messages", &e),
        }
    }

    /// PrivateChatMessageAck(23): forgets the message, if this user is its
    /// recipient.
    pub(super) fn ack_message(&mut self, me: &str, id: u32) {
        match self.store.ack_pending(me, id) {
            Ok(true) => {}
            Ok(false) => tracing::debug!(user = %me, id, "ack for no pending message of this user"),
            Err(e) => self.store_failed("deleting an acknowledged message", &e),
        }
    }
}
