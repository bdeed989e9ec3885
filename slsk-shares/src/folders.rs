//! Shared folders: a local directory published under a virtual name.

use std::path::{Path, PathBuf};

/// One local directory shared under a virtual name: the file
/// `<path>/Artist/Album/01.flac` is published as
/// `<virtual_name>\Artist\Album\01.flac`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFolder {
    /// The first component of the published paths.
    pub virtual_name: String,
    /// The local directory.
    pub path: PathBuf,
}

impl SharedFolder {
    /// A shared folder; checked when scanned.
    pub fn new(virtual_name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            virtual_name: virtual_name.into(),
            path: path.into(),
        }
    }
}

/// Why a set of shared folders cannot be scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderError {
    /// Empty, `.`/`..`, dot-prefixed, or containing `\` or `/`.
    InvalidVirtualName(String),
    /// Two folders under the same virtual name.
    DuplicateVirtualName(String),
}

impl std::fmt::Display for FolderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidVirtualName(name) => write!(f, "invalid virtual folder name {name:?}"),
            Self::DuplicateVirtualName(name) => {
                write!(f, "virtual folder name {name:?} is used twice")
            }
        }
    }
}

impl std::error::Error for FolderError {}

/// A shared folder whose local directory has been resolved (symlinks and
/// `..` removed) when it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Root {
    pub(crate) virtual_name: String,
    /// Canonical when `available`, as configured otherwise.
    pub(crate) path: PathBuf,
    pub(crate) available: bool,
}

/// Checks the names and resolves every folder's directory.
pub(crate) fn resolve_roots(folders: &[SharedFolder]) -> Result<Vec<Root>, FolderError> {
    let mut roots: Vec<Root> = Vec::with_capacity(folders.len());
    for folder in folders {
        let name = &folder.virtual_name;
        if !is_valid_component(name) {
            return Err(FolderError::InvalidVirtualName(name.clone()));
        }
        if roots.iter().any(|r| &r.virtual_name == name) {
            return Err(FolderError::DuplicateVirtualName(name.clone()));
        }
        let canonical = std::fs::canonicalize(&folder.path)
            .ok()
            .filter(|p| p.is_dir());
        roots.push(Root {
            virtual_name: name.clone(),
            available: canonical.is_some(),
            path: canonical.unwrap_or_else(|| folder.path.clone()),
        });
    }
    Ok(roots)
}

/// A name that can be one component of a virtual path, and that a local
/// directory entry must have to be shared: not hidden (dot-prefixed, which
/// also rules out `.` and `..`), no backslash (the wire's separator), no
/// slash, not empty.
pub(crate) fn is_valid_component(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['\\', '/'])
}

/// The local path of a virtual path under `roots`, by text alone (no file
/// system access); `None` if its first component names no root or any
/// component is not a valid one.
pub(crate) fn local_path(roots: &[Root], virtual_path: &str) -> Option<PathBuf> {
    let mut components = virtual_path.split('\\');
    let first = components.next()?;
    let root = roots.iter().find(|r| r.virtual_name == first)?;
    let mut path = root.path.clone();
    for component in components {
        if !is_valid_component(component) {
            return None;
        }
        path.push(component);
    }
    Some(path)
}

/// Whether a virtual path can be shared under `roots`: its first component
/// names a root and every component is valid (what [`local_path`] checks,
/// without building the path).
pub(crate) fn is_shareable(roots: &[Root], virtual_path: &str) -> bool {
    let mut components = virtual_path.split('\\');
    let first = components.next().unwrap_or_default();
    roots.iter().any(|r| r.virtual_name == first) && components.all(is_valid_component)
}

/// Whether `path` lies inside the root's directory.
pub(crate) fn is_inside(root: &Root, path: &Path) -> bool {
    path.starts_with(&root.path) && path != root.path
}
