#![allow(dead_code)]

pub mod audio;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use slsk_shares::{AudioAttributes, AudioProbe, FileProbe};

/// The real probe, counting its calls, and failing for chosen paths as an
/// unreadable file would (root can open a chmod-000 file).
#[derive(Default)]
pub struct CountingProbe {
    pub reads: AtomicU64,
    pub unreadable: Mutex<Vec<PathBuf>>,
}

impl CountingProbe {
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

impl FileProbe for CountingProbe {
    fn probe(&self, path: &Path) -> io::Result<AudioAttributes> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.unreadable.lock().unwrap().iter().any(|p| p == path) {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        AudioProbe.probe(path)
    }
}

/// Writes `contents` at `root/rel`, creating directories.
pub fn write(root: &Path, rel: &str, contents: &[u8]) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    path
}
