//! The download queue in SQLite, so it survives a restart.
//!
//! The driver saves [`DownloadManager::record`](crate::DownloadManager::record)
//! on every [`DownloadOutput::Changed`](crate::DownloadOutput::Changed) and
//! deletes on [`DownloadOutput::Removed`](crate::DownloadOutput::Removed);
//! after a restart [`DownloadStore::load`] feeds
//! [`DownloadManager::restore`](crate::DownloadManager::restore). Partial
//! file paths are not stored: they derive from the user and the remote path
//! ([`incomplete_path`](crate::incomplete_path)), so a restored download
//! finds its partial file and resumes from its length.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

/// How a download is stored: the states that matter across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredStatus {
    /// Queued, locally or remotely.
    Queued,
    /// Allowed or streaming when stored (queued again on restore).
    Active,
    Completed,
    Failed,
    Cancelled,
}

impl StoredStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Unknown text reads as queued: a download is never lost.
    fn parse(text: &str) -> Self {
        match text {
            "active" => Self::Active,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => Self::Queued,
        }
    }
}

/// One stored download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadRecord {
    pub id: u64,
    pub user: String,
    pub remote_path: String,
    pub expected_size: Option<u64>,
    /// The size the partial file belongs to.
    pub size: Option<u64>,
    pub status: StoredStatus,
    /// For a failed download, [`FailReason::to_stored`](crate::FailReason::to_stored).
    pub reason: Option<String>,
    /// For a completed download, where the file went.
    pub final_path: Option<PathBuf>,
}

/// The downloads table of an SQLite database.
#[derive(Debug)]
pub struct DownloadStore {
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS downloads (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    remote_path TEXT NOT NULL,
    expected_size INTEGER,
    size INTEGER,
    status TEXT NOT NULL,
    reason TEXT,
    final_path TEXT
);
";

impl DownloadStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Self> {
        Self::with_connection(Connection::open(path)?)
    }

    /// A database in memory (tests, or no persistence).
    pub fn open_in_memory() -> rusqlite::Result<Self> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> rusqlite::Result<Self> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Inserts or replaces a download.
    pub fn save(&self, record: &DownloadRecord) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO downloads
             (id, user, remote_path, expected_size, size, status, reason, final_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                to_sql(record.id),
                record.user,
                record.remote_path,
                record.expected_size.map(to_sql),
                record.size.map(to_sql),
                record.status.as_str(),
                record.reason,
                record
                    .final_path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            ],
        )?;
        Ok(())
    }

    /// Deletes a download.
    pub fn remove(&self, id: u64) -> rusqlite::Result<()> {
        self.conn
            .execute("DELETE FROM downloads WHERE id = ?1", params![to_sql(id)])?;
        Ok(())
    }

    /// One download by id.
    pub fn get(&self, id: u64) -> rusqlite::Result<Option<DownloadRecord>> {
        self.conn
            .query_row(
                "SELECT id, user, remote_path, expected_size, size, status, reason, final_path
                 FROM downloads WHERE id = ?1",
                params![to_sql(id)],
                row_to_record,
            )
            .optional()
    }

    /// Every download, by id.
    pub fn load(&self) -> rusqlite::Result<Vec<DownloadRecord>> {
        let mut statement = self.conn.prepare(
            "SELECT id, user, remote_path, expected_size, size, status, reason, final_path
             FROM downloads ORDER BY id",
        )?;
        statement.query_map([], row_to_record)?.collect()
    }
}

/// SQLite integers are `i64`; sizes and ids are stored bit for bit.
fn to_sql(value: u64) -> i64 {
    value as i64
}

fn from_sql(value: i64) -> u64 {
    value as u64
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<DownloadRecord> {
    let status: String = row.get(5)?;
    Ok(DownloadRecord {
        id: from_sql(row.get(0)?),
        user: row.get(1)?,
        remote_path: row.get(2)?,
        expected_size: row.get::<_, Option<i64>>(3)?.map(from_sql),
        size: row.get::<_, Option<i64>>(4)?.map(from_sql),
        status: StoredStatus::parse(&status),
        reason: row.get(6)?,
        final_path: row.get::<_, Option<String>>(7)?.map(PathBuf::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, status: StoredStatus) -> DownloadRecord {
        DownloadRecord {
            id,
            user: "alice".into(),
            remote_path: format!("Music\\{id}.flac"),
            expected_size: Some(u64::MAX),
            size: Some(123),
            status,
            reason: None,
            final_path: None,
        }
    }

    #[test]
    fn save_replace_load_remove() {
        let store = DownloadStore::open_in_memory().unwrap();
        store.save(&record(2, StoredStatus::Queued)).unwrap();
        store.save(&record(1, StoredStatus::Active)).unwrap();
        let mut done = record(2, StoredStatus::Completed);
        done.final_path = Some("/dl/Music/2.flac".into());
        store.save(&done).unwrap();
        let all = store.load().unwrap();
        assert_eq!(all, vec![record(1, StoredStatus::Active), done.clone()]);
        assert_eq!(store.get(2).unwrap(), Some(done));
        store.remove(1).unwrap();
        assert_eq!(store.load().unwrap().len(), 1);
        assert_eq!(store.get(1).unwrap(), None);
    }

    #[test]
    fn survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("downloads.db");
        DownloadStore::open(&path)
            .unwrap()
            .save(&record(5, StoredStatus::Queued))
            .unwrap();
        let reopened = DownloadStore::open(&path).unwrap();
        assert_eq!(
            reopened.load().unwrap(),
            vec![record(5, StoredStatus::Queued)]
        );
    }
}
