//! Walking a shared folder's directory tree.
//!
//! Symlinks are never followed, whether they point inside the shared folder
//! or out of it: following none needs no loop detection, shares no file
//! twice, and leaves nothing a later change of a link could redirect outside
//! the folder. Hidden (dot-prefixed) entries, names that are not UTF-8 or
//! contain a backslash, and anything but regular files and directories are
//! skipped; a directory that cannot be listed is skipped with its subtree.
//! Several threads list directories at once (a shared queue of directories).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::UNIX_EPOCH;

use crate::folders::{Root, is_valid_component};

/// A regular file found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FoundFile {
    pub(crate) local_path: PathBuf,
    pub(crate) virtual_path: String,
    pub(crate) size: u64,
    pub(crate) mtime_ns: i64,
}

/// Counts of what the walk left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WalkSkips {
    pub(crate) hidden: u64,
    pub(crate) symlinks: u64,
    pub(crate) bad_names: u64,
    pub(crate) unreadable_dirs: u64,
    pub(crate) other: u64,
}

/// Directories waiting to be listed, shared by the walking threads.
struct Queue {
    dirs: Vec<(PathBuf, String)>,
    /// Threads listing a directory (which may add more).
    busy: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
    seen: AtomicU64,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next directory to list; `None` once every directory is done.
    fn next(&self) -> Option<(PathBuf, String)> {
        let mut queue = self.lock();
        loop {
            if let Some(dir) = queue.dirs.pop() {
                queue.busy += 1;
                return Some(dir);
            }
            if queue.busy == 0 {
                return None;
            }
            queue = self
                .changed
                .wait(queue)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn finished(&self, subdirs: &mut Vec<(PathBuf, String)>) {
        let mut queue = self.lock();
        queue.dirs.append(subdirs);
        queue.busy -= 1;
        drop(queue);
        self.changed.notify_all();
    }
}

/// Walks the available `roots` with `threads` threads (the caller's
/// included), returning the files found. `seen` is called on the caller's
/// thread, about every `report_every` files, with the count so far.
pub(crate) fn walk(
    roots: &[Root],
    threads: usize,
    report_every: u64,
    seen: &mut dyn FnMut(u64),
) -> (Vec<FoundFile>, WalkSkips) {
    let shared = Shared {
        queue: Mutex::new(Queue {
            dirs: roots
                .iter()
                .filter(|r| r.available)
                .map(|r| (r.path.clone(), r.virtual_name.clone()))
                .collect(),
            busy: 0,
        }),
        changed: Condvar::new(),
        seen: AtomicU64::new(0),
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads.max(1))
            .map(|_| s.spawn(|| walk_worker(&shared, &mut |_| {})))
            .collect();
        let mut next_report = report_every;
        let (mut found, mut skips) = walk_worker(&shared, &mut |count| {
            if count >= next_report {
                next_report = count + report_every;
                seen(count);
            }
        });
        for helper in helpers {
            // A walking thread does not panic; if one did, its files are lost.
            if let Ok((more, their_skips)) = helper.join() {
                found.extend(more);
                skips.add(&their_skips);
            }
        }
        (found, skips)
    })
}

impl WalkSkips {
    fn add(&mut self, other: &WalkSkips) {
        self.hidden += other.hidden;
        self.symlinks += other.symlinks;
        self.bad_names += other.bad_names;
        self.unreadable_dirs += other.unreadable_dirs;
        self.other += other.other;
    }
}

fn walk_worker(shared: &Shared, seen: &mut dyn FnMut(u64)) -> (Vec<FoundFile>, WalkSkips) {
    let mut found = Vec::new();
    let mut skips = WalkSkips::default();
    let mut subdirs = Vec::new();
    while let Some((dir, virtual_dir)) = shared.next() {
        let before = found.len();
        list_dir(&dir, &virtual_dir, &mut skips, &mut found, &mut subdirs);
        let added = (found.len() - before) as u64;
        let total = shared.seen.fetch_add(added, Ordering::Relaxed) + added;
        seen(total);
        shared.finished(&mut subdirs);
    }
    (found, skips)
}

/// Lists one directory: its files go to `found`, its subdirectories to
/// `subdirs`.
fn list_dir(
    dir: &Path,
    virtual_dir: &str,
    skips: &mut WalkSkips,
    found: &mut Vec<FoundFile>,
    subdirs: &mut Vec<(PathBuf, String)>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::debug!(dir = %dir.display(), %error, "cannot list directory");
            skips.unreadable_dirs += 1;
            return;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else {
            skips.unreadable_dirs += 1;
            continue;
        };
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            skips.bad_names += 1;
            continue;
        };
        if name.starts_with('.') {
            skips.hidden += 1;
            continue;
        }
        if !is_valid_component(name) {
            skips.bad_names += 1;
            continue;
        }
        // `file_type` and `metadata` of a directory entry do not follow
        // symlinks.
        let Ok(file_type) = entry.file_type() else {
            skips.other += 1;
            continue;
        };
        let virtual_path = format!("{virtual_dir}\\{name}");
        if file_type.is_symlink() {
            skips.symlinks += 1;
        } else if file_type.is_dir() {
            subdirs.push((entry.path(), virtual_path));
        } else if file_type.is_file() {
            let Ok(metadata) = entry.metadata() else {
                skips.other += 1;
                continue;
            };
            found.push(FoundFile {
                local_path: entry.path(),
                virtual_path,
                size: metadata.len(),
                mtime_ns: mtime_ns(&metadata),
            });
        } else {
            skips.other += 1;
        }
    }
}

/// Modification time in nanoseconds since the epoch (negative before it);
/// 0 where the platform has none.
pub(crate) fn mtime_ns(metadata: &std::fs::Metadata) -> i64 {
    let Ok(modified) = metadata.modified() else {
        return 0;
    };
    match modified.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}
