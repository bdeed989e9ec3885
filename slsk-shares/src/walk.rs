//! Walking a shared folder's directory tree.
//!
//! Symlinks are never followed, whether they point inside the shared folder
//! or out of it: following none needs no loop detection, shares no file
//! twice, and leaves nothing a later change of a link could redirect outside
//! the folder. Hidden (dot-prefixed) entries, names that are not UTF-8 or
//! contain a backslash, and anything but regular files and directories are
//! skipped; a directory that cannot be listed is skipped with its subtree.

use std::path::PathBuf;
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

/// Walks one available root depth-first, calling `found` for each file.
pub(crate) fn walk_root(root: &Root, skips: &mut WalkSkips, found: &mut dyn FnMut(FoundFile)) {
    let mut stack = vec![(root.path.clone(), root.virtual_name.clone())];
    while let Some((dir, virtual_dir)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) => {
                tracing::debug!(dir = %dir.display(), %error, "cannot list directory");
                skips.unreadable_dirs += 1;
                continue;
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
                stack.push((entry.path(), virtual_path));
            } else if file_type.is_file() {
                let Ok(metadata) = entry.metadata() else {
                    skips.other += 1;
                    continue;
                };
                found(FoundFile {
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
