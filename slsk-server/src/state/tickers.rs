//! Room tickers: one line per user per room, shown to everyone who joins.

use slsk_proto::server::{RoomTickerAddedResponse, RoomTickerRemovedResponse};

use super::ServerState;

/// The longest ticker, in bytes (soulfind, aioslsk's docs).
pub const MAX_TICKER_BYTES: usize = 1024;

/// The most tickers a room keeps; the oldest go first (soulfind).
pub const MAX_TICKERS_PER_ROOM: usize = 200;

impl ServerState {
    /// SetRoomTicker(116). Dropped unless `me` has joined the room and the
    /// text is at most [`MAX_TICKER_BYTES`]. Then:
    /// - empty text removes `me`'s ticker: RoomTickerRemoved(115) to the
    ///   joined users if there was one;
    /// - the same text as now: nothing;
    /// - otherwise the ticker is stored as the room's newest, and the joined
    ///   users get RoomTickerRemoved(115) if `me` had one (the official flow
    ///   per aioslsk's docs; soulfind sends it even when there was none),
    ///   then RoomTickerAdded(114). Tickers past [`MAX_TICKERS_PER_ROOM`]
    ///   are removed oldest first, each with a RoomTickerRemoved so that
    ///   clients stay in step.
    ///
    /// Tickers are stored and outlive restarts and empty rooms.
    pub(super) fn set_ticker(&mut self, me: &str, name: &str, text: &str) {
        if text.len() > MAX_TICKER_BYTES {
            return tracing::debug!(user = %me, room = name, "ticker too long: dropped");
        }
        let Some(room) = self.rooms.get_mut(name) else {
            return;
        };
        if !room.has_joined(me) {
            return tracing::debug!(user = %me, room = name, "ticker from a non-member: dropped");
        }
        let existing = room.tickers.iter().position(|(user, _)| user == me);
        if existing.is_some_and(|i| room.tickers[i].1 == text) {
            return;
        }
        let had_one = existing.is_some();
        if let Some(index) = existing {
            room.tickers.remove(index);
        }
        let mut evicted = Vec::new();
        if !text.is_empty() {
            room.tickers.push((me.to_owned(), text.to_owned()));
            let excess = room.tickers.len().saturating_sub(MAX_TICKERS_PER_ROOM);
            evicted.extend(room.tickers.drain(..excess).map(|(user, _)| user));
        }
        let joined = room.joined.clone();
        let stored = if text.is_empty() {
            self.store.remove_ticker(name, me)
        } else {
            self.store.set_ticker(name, me, text)
        };
        if let Err(e) = stored {
            self.store_failed("storing a ticker", &e);
        }
        let removed = |username: &str| RoomTickerRemovedResponse {
            room: name.to_owned(),
            username: username.to_owned(),
        };
        if had_one {
            self.send_to_users(&joined, removed(me));
        }
        if !text.is_empty() {
            let added = RoomTickerAddedResponse {
                room: name.to_owned(),
                username: me.to_owned(),
                ticker: text.to_owned(),
            };
            self.send_to_users(&joined, added);
        }
        for user in evicted {
            if let Err(e) = self.store.remove_ticker(name, &user) {
                self.store_failed("removing an old ticker", &e);
            }
            self.send_to_users(&joined, removed(&user));
        }
    }

    /// Removes every ticker of `username` (the `removetickers` and `ban`
    /// commands): RoomTickerRemoved(115) to each room's joined users. The
    /// number removed.
    pub(super) fn remove_user_tickers(&mut self, username: &str) -> usize {
        let mut removed = Vec::new();
        for (name, room) in &mut self.rooms {
            if let Some(index) = room.tickers.iter().position(|(user, _)| user == username) {
                room.tickers.remove(index);
                removed.push((name.clone(), room.joined.clone()));
            }
        }
        for (name, joined) in &removed {
            if let Err(e) = self.store.remove_ticker(name, username) {
                self.store_failed("removing a ticker", &e);
            }
            let message = RoomTickerRemovedResponse {
                room: name.clone(),
                username: username.to_owned(),
            };
            self.send_to_users(joined, message);
            self.forget_if_unused(name);
        }
        removed.len()
    }
}
