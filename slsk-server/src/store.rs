//! What survives a restart, in SQLite: accounts, the private messages
//! their recipients have not acknowledged yet, private rooms with their
//! members and operators, room tickers, interests, privileges, bans and
//! admins.
//!
//! Every call is a short synchronous statement; the state machine owns the
//! [`Store`] and calls it directly.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

pub use rusqlite::Error as StoreError;

mod social;

pub use social::{StoredRoom, StoredTicker};

/// The schema, one step per version. A database at version `n` has run the
/// first `n` steps; [`Store::open`] runs the rest. Later issues append steps
/// (rooms, tickers, interests...), never edit old ones.
const MIGRATIONS: &[&str] = &[
    // 1: accounts and pending private messages.
    "CREATE TABLE users (
        username TEXT PRIMARY KEY NOT NULL,
        password TEXT NOT NULL,             -- argon2id PHC string
        avg_speed INTEGER NOT NULL DEFAULT 0,
        uploads INTEGER NOT NULL DEFAULT 0,
        files INTEGER NOT NULL DEFAULT 0,
        folders INTEGER NOT NULL DEFAULT 0,
        privileges_until INTEGER,           -- unix seconds; NULL: never granted
        banned_until INTEGER,               -- unix seconds; NULL: not banned
        admin_until INTEGER                 -- unix seconds; NULL: not an admin
    ) WITHOUT ROWID;
    CREATE TABLE pending_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, -- arrival order
        id INTEGER NOT NULL UNIQUE,            -- the chat id clients ack
        timestamp INTEGER NOT NULL,            -- unix seconds
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL REFERENCES users(username)
            ON UPDATE CASCADE ON DELETE CASCADE,
        message TEXT NOT NULL
    );
    CREATE INDEX pending_by_recipient ON pending_messages(recipient, seq);",
    // 2: private rooms, tickers, interests and admins.
    "CREATE TABLE rooms (                   -- private rooms only
        room TEXT PRIMARY KEY NOT NULL,
        owner TEXT NOT NULL REFERENCES users(username)
            ON UPDATE CASCADE ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE TABLE room_members (             -- the owner is not listed
        room TEXT NOT NULL REFERENCES rooms(room)
            ON UPDATE CASCADE ON DELETE CASCADE,
        username TEXT NOT NULL REFERENCES users(username)
            ON UPDATE CASCADE ON DELETE CASCADE,
        operator INTEGER NOT NULL DEFAULT 0, -- 1: also an operator
        PRIMARY KEY (room, username)
    ) WITHOUT ROWID;
    CREATE TABLE tickers (                  -- public and private rooms
        seq INTEGER PRIMARY KEY AUTOINCREMENT, -- age order
        room TEXT NOT NULL,
        username TEXT NOT NULL REFERENCES users(username)
            ON UPDATE CASCADE ON DELETE CASCADE,
        content TEXT NOT NULL,
        UNIQUE (room, username)
    );
    CREATE TABLE interests (
        username TEXT NOT NULL REFERENCES users(username)
            ON UPDATE CASCADE ON DELETE CASCADE,
        hated INTEGER NOT NULL,             -- 0: liked, 1: hated
        item TEXT NOT NULL,
        PRIMARY KEY (username, hated, item)
    ) WITHOUT ROWID;
    CREATE TABLE admins (                   -- may name accounts not registered yet
        username TEXT PRIMARY KEY NOT NULL
    ) WITHOUT ROWID;",
];

/// A registered user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    /// The argon2id hash of the password, as a PHC string.
    pub password_hash: String,
    pub stats: StoredStats,
    /// Unix seconds until which the user is privileged; `Some` once
    /// privileges were ever granted (the "supporter" flag of the Login reply).
    pub privileges_until: Option<i64>,
    /// Unix seconds until which the user may not log in.
    pub banned_until: Option<i64>,
    /// Unused: admins are listed in their own table (see [`Store::is_admin`]),
    /// which can name accounts before they are registered.
    pub admin_until: Option<i64>,
}

impl Account {
    /// Whether the user has privileges at `now` (unix seconds).
    pub fn is_privileged(&self, now: i64) -> bool {
        self.privileges_until.is_some_and(|until| until > now)
    }

    /// Whether the user is banned at `now` (unix seconds).
    pub fn is_banned(&self, now: i64) -> bool {
        self.banned_until.is_some_and(|until| until > now)
    }
}

/// The statistics other users see (GetUserStats, AddUser).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredStats {
    /// Average upload speed, bytes per second.
    pub avg_speed: u32,
    /// Uploads reported with SendUploadSpeed.
    pub uploads: u64,
    pub files: u32,
    pub folders: u32,
}

/// A private message kept until its recipient acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMessage {
    /// Random, non-zero, unique among pending messages.
    pub id: u32,
    /// Unix seconds.
    pub timestamp: u32,
    pub sender: String,
    pub recipient: String,
    pub message: String,
}

/// The server's SQLite database.
pub struct Store {
    db: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.db.path())
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the database file at `path` in WAL mode and brings
    /// its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = Connection::open(path)?;
        // WAL: readers never block the writer, and a crash keeps the log.
        db.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode: a commit is a write() to the log, no fsync. A
        // committed transaction survives the process being killed (the log
        // is in the OS's cache); an OS crash or power loss can lose the
        // commits since the last checkpoint, which fsyncs. FULL would fsync
        // every commit (milliseconds each here), too slow for a state
        // machine that commits every private message. See docs/server.md.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        Self::prepare(db)
    }

    /// Stops this connection from checkpointing the log itself (the commit
    /// that crosses 1000 pages would otherwise copy them into the database
    /// and fsync, milliseconds spent inside the state machine). The caller
    /// must then checkpoint from elsewhere, as the server's driver does
    /// with [`checkpoint_passive`].
    pub fn disable_auto_checkpoint(&self) -> Result<(), StoreError> {
        self.db.pragma_update(None, "wal_autocheckpoint", 0)?;
        // When the log restarts, cut its file back to this size.
        self.db
            .pragma_update(None, "journal_size_limit", LOG_SIZE_LIMIT)
    }

    /// Checkpoints from the writer's own connection, between its
    /// transactions (so nothing is written meanwhile and the whole log is
    /// copied: the next transaction restarts it). Fsyncs: for when the
    /// checkpoint thread reports the log [behind](LogState::behind).
    pub fn checkpoint(&self) -> Result<LogState, StoreError> {
        checkpoint_passive(&self.db)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut db: Connection) -> Result<Self, StoreError> {
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.pragma_update(None, "secure_delete", "ON")?;
        // Room for every statement the hot paths cache (the default is 16).
        db.set_prepared_statement_cache_capacity(64);
        migrate(&mut db)?;
        Ok(Self { db })
    }

    /// Opens a transaction that every following call joins, until
    /// [`commit_batch`](Self::commit_batch): the driver runs a batch of
    /// requests in one transaction (group commit), and sends their replies
    /// only once it is committed. Calls made inside a batch must not open
    /// transactions of their own with `BEGIN` (a `SAVEPOINT` nests).
    pub fn begin_batch(&self) -> Result<(), StoreError> {
        self.db.execute_batch("BEGIN")
    }

    /// Commits the transaction of [`begin_batch`](Self::begin_batch), if
    /// one is open.
    pub fn commit_batch(&self) -> Result<(), StoreError> {
        if self.db.is_autocommit() {
            return Ok(());
        }
        self.db.execute_batch("COMMIT")
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        current_version(&self.db)
    }

    /// The account called `username`, if registered.
    pub fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        self.db
            .prepare_cached(
                "SELECT username, password, avg_speed, uploads, files, folders,
                        privileges_until, banned_until, admin_until
                 FROM users WHERE username = ?1",
            )?
            .query_row([username], |row| {
                Ok(Account {
                    username: row.get(0)?,
                    password_hash: row.get(1)?,
                    stats: StoredStats {
                        avg_speed: row.get(2)?,
                        uploads: row.get::<_, i64>(3)?.max(0) as u64,
                        files: row.get(4)?,
                        folders: row.get(5)?,
                    },
                    privileges_until: row.get(6)?,
                    banned_until: row.get(7)?,
                    admin_until: row.get(8)?,
                })
            })
            .optional()
    }

    /// Registers `username`; false if the name was taken meanwhile.
    pub fn create_account(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let added = self.db.execute(
            "INSERT OR IGNORE INTO users (username, password) VALUES (?1, ?2)",
            params![username, password_hash],
        )?;
        Ok(added == 1)
    }

    pub fn set_password_hash(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE users SET password = ?2 WHERE username = ?1",
            params![username, password_hash],
        )?;
        Ok(())
    }

    pub fn set_shared_counts(
        &self,
        username: &str,
        folders: u32,
        files: u32,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE users SET folders = ?2, files = ?3 WHERE username = ?1",
            params![username, folders, files],
        )?;
        Ok(())
    }

    pub fn set_upload_stats(
        &self,
        username: &str,
        avg_speed: u32,
        uploads: u64,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE users SET avg_speed = ?2, uploads = ?3 WHERE username = ?1",
            params![
                username,
                avg_speed,
                i64::try_from(uploads).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    }

    /// Sets or clears (`None`) a ban.
    pub fn set_banned_until(&self, username: &str, until: Option<i64>) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE users SET banned_until = ?2 WHERE username = ?1",
            params![username, until],
        )?;
        Ok(())
    }

    pub fn set_privileges_until(
        &self,
        username: &str,
        until: Option<i64>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE users SET privileges_until = ?2 WHERE username = ?1",
            params![username, until],
        )?;
        Ok(())
    }

    /// Every user privileged at `now` (unix seconds), by name.
    pub fn privileged_users(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT username FROM users WHERE privileges_until > ?1 ORDER BY username",
        )?;
        let names = statement.query_map([now], |row| row.get(0))?;
        names.collect()
    }

    /// Whether a pending message has this id.
    pub fn pending_id_taken(&self, id: u32) -> Result<bool, StoreError> {
        self.db
            .prepare_cached("SELECT 1 FROM pending_messages WHERE id = ?1")?
            .exists([id])
    }

    pub fn add_pending(&self, message: &PendingMessage) -> Result<(), StoreError> {
        // Cached: on the hot path of every private message.
        self.db
            .prepare_cached(
                "INSERT INTO pending_messages (id, timestamp, sender, recipient, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                message.id,
                message.timestamp,
                message.sender,
                message.recipient,
                message.message
            ])?;
        Ok(())
    }

    /// The messages waiting for `recipient`, oldest first.
    pub fn pending_for(&self, recipient: &str) -> Result<Vec<PendingMessage>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT id, timestamp, sender, recipient, message FROM pending_messages
             WHERE recipient = ?1 ORDER BY seq",
        )?;
        let rows = statement.query_map([recipient], |row| {
            Ok(PendingMessage {
                id: row.get(0)?,
                timestamp: row.get(1)?,
                sender: row.get(2)?,
                recipient: row.get(3)?,
                message: row.get(4)?,
            })
        })?;
        rows.collect()
    }

    /// Deletes message `id` if `recipient` is its recipient; true if it did.
    pub fn ack_pending(&self, recipient: &str, id: u32) -> Result<bool, StoreError> {
        let deleted = self
            .db
            .prepare_cached("DELETE FROM pending_messages WHERE id = ?1 AND recipient = ?2")?
            .execute(params![id, recipient])?;
        Ok(deleted == 1)
    }
}

impl Store {
    /// Recipients of pending messages that have no account (the foreign key
    /// forbids any): for consistency checks.
    pub fn pending_without_account(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self.db.prepare_cached(
            "SELECT DISTINCT recipient FROM pending_messages
             WHERE recipient NOT IN (SELECT username FROM users)",
        )?;
        let names = statement.query_map([], |row| row.get(0))?;
        names.collect()
    }

    /// Every registered name, sorted: for consistency checks and the crash
    /// test.
    pub fn usernames(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .db
            .prepare_cached("SELECT username FROM users ORDER BY username")?;
        let names = statement.query_map([], |row| row.get(0))?;
        names.collect()
    }
}

/// The size the log's file is cut back to when it restarts, in bytes.
pub const LOG_SIZE_LIMIT: i64 = 64 << 20;

/// Copies the committed part of the log of the database at `path` into the
/// database and fsyncs, without waiting for (or blocking) the writer, over
/// a connection of its own: for a thread beside the one that writes.
pub fn checkpoint_passive(db: &Connection) -> Result<LogState, StoreError> {
    db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(LogState {
            frames: row.get(1)?,
            checkpointed: row.get(2)?,
        })
    })
}

/// The write-ahead log after a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    /// Pages in the log (-1 if not in WAL mode).
    pub frames: i64,
    /// Of which copied into the database.
    pub checkpointed: i64,
}

impl LogState {
    /// Whether the log is past `frames` pages: it restarts only when a
    /// transaction begins with the whole log copied, which a writer that
    /// never pauses for as long as a checkpoint takes may never see, even
    /// when each checkpoint copies everything it found.
    pub fn behind(self, frames: i64) -> bool {
        self.frames > frames
    }
}

fn current_version(db: &Connection) -> Result<usize, StoreError> {
    let version: i64 = db.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |row| row.get(0),
    )?;
    Ok(usize::try_from(version).unwrap_or(0))
}

/// Runs the steps the database has not run yet, each in its own transaction
/// with its version row, so a crash leaves a consistent version.
fn migrate(db: &mut Connection) -> Result<(), StoreError> {
    db.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let done = current_version(db)?;
    for (index, step) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = db.transaction()?;
        tx.execute_batch(step)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [index + 1],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_by_the_writer_restarts_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("log.db")).unwrap();
        store.disable_auto_checkpoint().unwrap();
        for i in 0..200 {
            store.create_account(&format!("user{i}"), "hash").unwrap();
        }
        let log = store.checkpoint().unwrap();
        assert!(log.frames > 100, "{log:?}");
        assert_eq!(log.checkpointed, log.frames, "nothing written meanwhile");
        assert!(log.behind(10) && !log.behind(log.frames));
        // The next transaction starts the log over.
        store.create_account("after", "hash").unwrap();
        let after = store.checkpoint().unwrap();
        assert!(after.frames < 10, "{after:?}");
        assert!(store.account("user199").unwrap().is_some());
    }

    #[test]
    fn accounts_and_pending_messages_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.db");
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
            assert!(store.create_account("alice", "$argon2id$x").unwrap());
            assert!(!store.create_account("alice", "$argon2id$y").unwrap());
            store.set_upload_stats("alice", 100, 3).unwrap();
            store.set_shared_counts("alice", 2, 20).unwrap();
            for (id, text) in [(7, "first"), (3, "second")] {
                store
                    .add_pending(&PendingMessage {
                        id,
                        timestamp: 1000,
                        sender: "bob".into(),
                        recipient: "alice".into(),
                        message: text.into(),
                    })
                    .unwrap();
            }
        }
        let store = Store::open(&path).unwrap();
        let alice = store.account("alice").unwrap().unwrap();
        assert_eq!(alice.password_hash, "$argon2id$x");
        assert_eq!(
            alice.stats,
            StoredStats {
                avg_speed: 100,
                uploads: 3,
                files: 20,
                folders: 2
            }
        );
        let pending = store.pending_for("alice").unwrap();
        let texts: Vec<_> = pending.iter().map(|m| m.message.as_str()).collect();
        assert_eq!(texts, ["first", "second"], "oldest first");
        assert!(store.pending_id_taken(7).unwrap());
        assert!(
            !store.ack_pending("bob", 7).unwrap(),
            "only the recipient acks"
        );
        assert!(store.ack_pending("alice", 7).unwrap());
        assert!(!store.pending_id_taken(7).unwrap());
    }

    #[test]
    fn privileges_and_bans_are_times() {
        let store = Store::open_in_memory().unwrap();
        store.create_account("a", "h").unwrap();
        store.create_account("b", "h").unwrap();
        store.set_privileges_until("a", Some(200)).unwrap();
        store.set_privileges_until("b", Some(50)).unwrap();
        assert_eq!(store.privileged_users(100).unwrap(), ["a"]);
        store.set_banned_until("b", Some(150)).unwrap();
        let b = store.account("b").unwrap().unwrap();
        assert!(b.is_banned(100) && !b.is_banned(150));
        assert!(b.privileges_until.is_some() && !b.is_privileged(100));
    }
}
