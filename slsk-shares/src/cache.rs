//! The scan cache: what was read from each file, keyed by its local path,
//! with the size and modification time it had, so that a rescan reads only
//! new and changed files; and the last index built, so that a restart with
//! nothing changed loads it instead of building it.

use std::cell::Cell;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::attributes::AudioAttributes;
use crate::cache_map::CachedFiles;
use crate::index::ShareIndex;

/// Bumped when the table changes; an older cache is dropped and rebuilt.
const SCHEMA_VERSION: i64 = 1;

/// The SQLite scan cache. Open it once and pass it to every
/// [`scan`](crate::scan).
#[derive(Debug)]
pub struct ScanCache {
    conn: Connection,
}

/// A cached file: the size and mtime it had when read, and what was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CachedFile {
    pub(crate) size: u64,
    pub(crate) mtime_ns: i64,
    pub(crate) attributes: AudioAttributes,
}

/// A saved index, decoded, with the fingerprint of the files it was built
/// from.
pub(crate) struct IndexSnapshot {
    pub(crate) fingerprint: Vec<u8>,
    pub(crate) walk_fingerprint: Vec<u8>,
    pub(crate) index: ShareIndex,
}

/// An SQLite error from the scan cache.
pub type CacheError = rusqlite::Error;

impl ScanCache {
    /// Opens (creating if needed) the cache file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CacheError> {
        Self::init(Connection::open(path)?)
    }

    /// A cache that lives as long as this value (for tests and one-off
    /// scans).
    pub fn in_memory() -> Result<Self, CacheError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, CacheError> {
        // WAL (ignored in memory) keeps a crash from corrupting the cache;
        // losing the last transaction only costs re-reading its files.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .optional()?;
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS files;
                 CREATE TABLE files (
                     path BLOB PRIMARY KEY,
                     size INTEGER NOT NULL,
                     mtime_ns INTEGER NOT NULL,
                     bitrate INTEGER,
                     duration INTEGER,
                     vbr INTEGER,
                     sample_rate INTEGER,
                     bit_depth INTEGER
                 ) WITHOUT ROWID;
                 PRAGMA user_version = {SCHEMA_VERSION};"
            ))?;
        }
        // The last index built, the fingerprint of the files it was built
        // from, and that of the walk that found them (see `scan`): one row
        // at most.
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS index_snapshot (
                 id INTEGER PRIMARY KEY CHECK (id = 0),
                 fingerprint BLOB NOT NULL,
                 walk_fingerprint BLOB NOT NULL,
                 data BLOB NOT NULL
             );",
        )?;
        Ok(Self { conn })
    }

    /// Number of files in the cache.
    pub fn len(&self) -> Result<u64, CacheError> {
        self.conn
            .query_row("SELECT count(*) FROM files", [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// True when no file is cached.
    pub fn is_empty(&self) -> Result<bool, CacheError> {
        self.len().map(|n| n == 0)
    }

    /// Every cached file by its key. Rows with impossible values (a
    /// damaged file) are left out, so those files are read again.
    pub(crate) fn load(&self) -> Result<CachedFiles, CacheError> {
        // Sized in advance: one allocation each for the keys and the table.
        let (count, key_bytes): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(length(path)), 0) FROM files",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut files = CachedFiles::with_capacity(
            usize::try_from(count).unwrap_or(0),
            usize::try_from(key_bytes).unwrap_or(0),
        );
        let mut stmt = self.conn.prepare(
            "SELECT path, size, mtime_ns, bitrate, duration, vbr, sample_rate, bit_depth FROM files",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let number = |i: usize| -> Result<Option<u32>, CacheError> {
                Ok(row
                    .get::<_, Option<i64>>(i)?
                    .and_then(|v| u32::try_from(v).ok()))
            };
            let Ok(size) = u64::try_from(row.get::<_, i64>(1)?) else {
                continue;
            };
            let attributes = AudioAttributes {
                bitrate: number(3)?,
                duration: number(4)?,
                vbr: number(5)?.map(|v| v != 0),
                sample_rate: number(6)?,
                bit_depth: number(7)?,
            };
            let file = CachedFile {
                size,
                mtime_ns: row.get(2)?,
                attributes,
            };
            // The key is borrowed from SQLite's row, not copied twice.
            let rusqlite::types::ValueRef::Blob(key) = row.get_ref(0)? else {
                continue;
            };
            files.insert(key, file);
        }
        Ok(files)
    }

    /// The saved index, decoded straight from SQLite's buffer (the caller
    /// checks the fingerprint). A row that does not hold two blobs, or a
    /// snapshot that does not decode (damaged, or from another version),
    /// counts as none.
    pub(crate) fn load_index_snapshot(&self) -> Result<Option<IndexSnapshot>, CacheError> {
        use rusqlite::types::ValueRef;
        let snapshot = self
            .conn
            .query_row(
                "SELECT fingerprint, walk_fingerprint, data FROM index_snapshot WHERE id = 0",
                [],
                |r| match (r.get_ref(0)?, r.get_ref(1)?, r.get_ref(2)?) {
                    (ValueRef::Blob(fingerprint), ValueRef::Blob(walk), ValueRef::Blob(data)) => {
                        Ok(ShareIndex::from_snapshot(data).map(|index| IndexSnapshot {
                            fingerprint: fingerprint.to_vec(),
                            walk_fingerprint: walk.to_vec(),
                            index,
                        }))
                    }
                    _ => Ok(None),
                },
            )
            .optional()?;
        Ok(snapshot.flatten())
    }

    /// Replaces the saved index snapshot.
    pub(crate) fn save_index_snapshot(
        &self,
        fingerprint: &[u8],
        walk_fingerprint: &[u8],
        data: &[u8],
    ) -> Result<(), CacheError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO index_snapshot (id, fingerprint, walk_fingerprint, data)
             VALUES (0, ?1, ?2, ?3)",
            params![fingerprint, walk_fingerprint, data],
        )?;
        Ok(())
    }

    /// Replaces the walk fingerprint of the saved snapshot (the index is
    /// the same, the walk found other sizes or times).
    pub(crate) fn save_walk_fingerprint(&self, walk_fingerprint: &[u8]) -> Result<(), CacheError> {
        self.conn.execute(
            "UPDATE index_snapshot SET walk_fingerprint = ?1 WHERE id = 0",
            params![walk_fingerprint],
        )?;
        Ok(())
    }

    /// Starts writing changes. They are committed every
    /// [`COMMIT_EVERY`] changes and by [`CacheWriter::commit`]; what was
    /// not committed is rolled back when the writer is dropped.
    pub(crate) fn writer(&mut self) -> Result<CacheWriter<'_>, CacheError> {
        self.conn.execute_batch("BEGIN")?;
        Ok(CacheWriter {
            conn: &self.conn,
            pending: Cell::new(0),
            open: Cell::new(true),
        })
    }
}

/// Changes are committed in batches of this many, so that a first scan of a
/// large library that is interrupted keeps most of what it read.
pub(crate) const COMMIT_EVERY: usize = 5_000;

/// Changes to the cache, committed in batches.
pub(crate) struct CacheWriter<'a> {
    conn: &'a Connection,
    pending: Cell<usize>,
    /// Whether a transaction is open.
    open: Cell<bool>,
}

impl CacheWriter<'_> {
    pub(crate) fn upsert(&self, key: &[u8], file: &CachedFile) -> Result<(), CacheError> {
        let a = &file.attributes;
        let mut stmt = self.conn.prepare_cached(
            "INSERT OR REPLACE INTO files
             (path, size, mtime_ns, bitrate, duration, vbr, sample_rate, bit_depth)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        stmt.execute(params![
            key,
            i64::try_from(file.size).unwrap_or(i64::MAX),
            file.mtime_ns,
            a.bitrate,
            a.duration,
            a.vbr,
            a.sample_rate,
            a.bit_depth
        ])?;
        self.changed()
    }

    pub(crate) fn delete(&self, key: &[u8]) -> Result<(), CacheError> {
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM files WHERE path = ?1")?;
        stmt.execute(params![key])?;
        self.changed()
    }

    fn changed(&self) -> Result<(), CacheError> {
        self.pending.set(self.pending.get() + 1);
        if self.pending.get() >= COMMIT_EVERY {
            // A failed COMMIT leaves the transaction open: Drop rolls it back.
            self.conn.execute_batch("COMMIT")?;
            self.open.set(false);
            self.pending.set(0);
            self.conn.execute_batch("BEGIN")?;
            self.open.set(true);
        }
        Ok(())
    }

    pub(crate) fn commit(self) -> Result<(), CacheError> {
        self.conn.execute_batch("COMMIT")?;
        self.open.set(false);
        Ok(())
    }
}

impl Drop for CacheWriter<'_> {
    fn drop(&mut self) {
        if self.open.get() {
            // Nothing to do about a failure here: the next scan sees the
            // cache as it was at the last commit.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The cache key of a local path: its platform bytes.
pub(crate) fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> CachedFile {
        CachedFile {
            size: 1,
            mtime_ns: 2,
            attributes: AudioAttributes::default(),
        }
    }

    #[test]
    fn an_interrupted_writer_keeps_the_committed_batches() {
        let mut cache = ScanCache::in_memory().unwrap();
        {
            let writer = cache.writer().unwrap();
            for i in 0..COMMIT_EVERY * 2 + 10 {
                writer
                    .upsert(format!("/f{i}").as_bytes(), &entry())
                    .unwrap();
            }
            // Dropped without commit: the last 10 are rolled back.
        }
        assert_eq!(cache.len().unwrap(), (COMMIT_EVERY * 2) as u64);
        let writer = cache.writer().unwrap();
        writer.delete(b"/f0").unwrap();
        writer.upsert(b"/new", &entry()).unwrap();
        writer.commit().unwrap();
        assert_eq!(cache.len().unwrap(), (COMMIT_EVERY * 2) as u64);
        assert!(cache.load().unwrap().get(b"/new").is_some());
    }
}
