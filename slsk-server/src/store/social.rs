//! Private rooms, tickers, interests and admins (schema step 2).

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

/// A private room as stored: public rooms are not stored (only their
/// tickers are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRoom {
    pub name: String,
    pub owner: String,
    /// Members (the owner excluded) and whether each is also an operator.
    pub members: Vec<(String, bool)>,
}

/// One user's ticker in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTicker {
    pub room: String,
    pub username: String,
    pub content: String,
}

impl Store {
    /// Every private room with its members, by name.
    pub fn private_rooms(&self) -> Result<Vec<StoredRoom>, StoreError> {
        let mut rooms: Vec<StoredRoom> = {
            let mut statement = self
                .db
                .prepare_cached("SELECT room, owner FROM rooms ORDER BY room")?;
            let rows = statement.query_map([], |row| {
                Ok(StoredRoom {
                    name: row.get(0)?,
                    owner: row.get(1)?,
                    members: Vec::new(),
                })
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut statement = self.db.prepare_cached(
            "SELECT username, operator FROM room_members WHERE room = ?1 ORDER BY username",
        )?;
        for room in &mut rooms {
            let rows = statement.query_map([&room.name], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?))
            })?;
            room.members = rows.collect::<Result<_, _>>()?;
        }
        Ok(rooms)
    }

    /// Registers a private room; false if the name is taken.
    pub fn create_private_room(&self, room: &str, owner: &str) -> Result<bool, StoreError> {
        let added = self.db.execute(
            "INSERT OR IGNORE INTO rooms (room, owner) VALUES (?1, ?2)",
            params![room, owner],
        )?;
        Ok(added == 1)
    }

    /// Forgets a private room and its members (its tickers stay: see
    /// [`remove_room_tickers`](Self::remove_room_tickers)).
    pub fn delete_private_room(&self, room: &str) -> Result<(), StoreError> {
        self.db
            .execute("DELETE FROM rooms WHERE room = ?1", [room])?;
        Ok(())
    }

    /// Adds a member, or changes whether it is an operator.
    pub fn set_room_member(
        &self,
        room: &str,
        username: &str,
        operator: bool,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO room_members (room, username, operator) VALUES (?1, ?2, ?3)
             ON CONFLICT (room, username) DO UPDATE SET operator = excluded.operator",
            params![room, username, operator],
        )?;
        Ok(())
    }

    pub fn remove_room_member(&self, room: &str, username: &str) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM room_members WHERE room = ?1 AND username = ?2",
            params![room, username],
        )?;
        Ok(())
    }

    /// Every ticker, oldest first.
    pub fn tickers(&self) -> Result<Vec<StoredTicker>, StoreError> {
        let mut statement = self
            .db
            .prepare_cached("SELECT room, username, content FROM tickers ORDER BY seq")?;
        let rows = statement.query_map([], |row| {
            Ok(StoredTicker {
                room: row.get(0)?,
                username: row.get(1)?,
                content: row.get(2)?,
            })
        })?;
        rows.collect()
    }

    /// Sets a user's ticker in a room; it becomes the newest.
    ///
    /// One statement, so it is atomic without a transaction of its own (the
    /// driver runs each batch of requests in one transaction, which a nested
    /// `BEGIN` would break): REPLACE deletes the old row and inserts a new
    /// one, whose new rowid makes it the newest.
    pub fn set_ticker(&self, room: &str, username: &str, content: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR REPLACE INTO tickers (room, username, content) VALUES (?1, ?2, ?3)",
            params![room, username, content],
        )?;
        Ok(())
    }

    pub fn remove_ticker(&self, room: &str, username: &str) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM tickers WHERE room = ?1 AND username = ?2",
            params![room, username],
        )?;
        Ok(())
    }

    pub fn remove_room_tickers(&self, room: &str) -> Result<(), StoreError> {
        self.db
            .execute("DELETE FROM tickers WHERE room = ?1", [room])?;
        Ok(())
    }

    /// A user's liked and hated items, each sorted.
    pub fn interests(&self, username: &str) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT hated, item FROM interests WHERE username = ?1 ORDER BY hated, item",
        )?;
        let rows = statement.query_map([username], |row| {
            Ok((row.get::<_, bool>(0)?, row.get::<_, String>(1)?))
        })?;
        let (mut likes, mut hates) = (Vec::new(), Vec::new());
        for row in rows {
            let (hated, item) = row?;
            if hated { &mut hates } else { &mut likes }.push(item);
        }
        Ok((likes, hates))
    }

    pub fn add_interest(&self, username: &str, hated: bool, item: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR IGNORE INTO interests (username, hated, item) VALUES (?1, ?2, ?3)",
            params![username, hated, item],
        )?;
        Ok(())
    }

    pub fn remove_interest(
        &self,
        username: &str,
        hated: bool,
        item: &str,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "DELETE FROM interests WHERE username = ?1 AND hated = ?2 AND item = ?3",
            params![username, hated, item],
        )?;
        Ok(())
    }

    /// Makes `username` an admin (registered or not yet).
    pub fn add_admin(&self, username: &str) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT OR IGNORE INTO admins (username) VALUES (?1)",
            [username],
        )?;
        Ok(())
    }

    pub fn is_admin(&self, username: &str) -> Result<bool, StoreError> {
        self.db
            .query_row(
                "SELECT 1 FROM admins WHERE username = ?1",
                [username],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
    }

    /// Every admin, by name.
    pub fn admins(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .db
            .prepare_cached("SELECT username FROM admins ORDER BY username")?;
        let names = statement.query_map([], |row| row.get(0))?;
        names.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_tickers_interests_and_admins_round_trip() {
        let store = Store::open_in_memory().unwrap();
        for name in ["alice", "bob"] {
            store.create_account(name, "h").unwrap();
        }
        assert!(store.create_private_room("den", "alice").unwrap());
        assert!(!store.create_private_room("den", "bob").unwrap());
        store.set_room_member("den", "bob", false).unwrap();
        store.set_room_member("den", "bob", true).unwrap();
        let rooms = store.private_rooms().unwrap();
        assert_eq!(
            rooms,
            [StoredRoom {
                name: "den".into(),
                owner: "alice".into(),
                members: vec![("bob".into(), true)],
            }]
        );
        store.set_ticker("den", "alice", "one").unwrap();
        store.set_ticker("hall", "bob", "two").unwrap();
        store.set_ticker("den", "alice", "three").unwrap();
        let tickers: Vec<_> = store
            .tickers()
            .unwrap()
            .into_iter()
            .map(|t| t.content)
            .collect();
        assert_eq!(tickers, ["two", "three"], "a replaced ticker is the newest");
        store.delete_private_room("den").unwrap();
        assert!(store.private_rooms().unwrap().is_empty());
        assert_eq!(store.tickers().unwrap().len(), 2, "tickers stay");
        store.remove_room_tickers("den").unwrap();
        assert_eq!(store.tickers().unwrap().len(), 1);

        store.add_interest("alice", false, "jazz").unwrap();
        store.add_interest("alice", false, "jazz").unwrap();
        store.add_interest("alice", true, "jazz").unwrap();
        store.add_interest("alice", true, "noise").unwrap();
        store.remove_interest("alice", true, "noise").unwrap();
        assert_eq!(
            store.interests("alice").unwrap(),
            (vec!["jazz".into()], vec!["jazz".into()])
        );

        store.add_admin("carol").unwrap();
        assert!(store.is_admin("carol").unwrap());
        assert!(!store.is_admin("alice").unwrap());
        assert_eq!(store.admins().unwrap(), ["carol"]);
    }
}
