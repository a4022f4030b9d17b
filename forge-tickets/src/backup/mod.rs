//! Backups of a whole forge home, taken while it serves and writes.
//!
//! A backup is a folder `forge-backup-<UTC time>` laid out like a forge
//! home, with `backup.json` (its [`Manifest`]) written last:
//!
//! 1. `forge.db` through SQLite's online backup API, first: the moment the
//!    copy reflects. Every write commits to git before it touches the
//!    index, so the index copied is never ahead of any git copied after it.
//! 2. The repositories of every project and fork the copied database
//!    names, each with [`forge_git::copy::copy_repository`]: refs read
//!    first, then objects, so no ref names a missing object. Git newer
//!    than the database copy is kept; the restore's sync indexes it.
//! 3. The other files of the home (`forge.toml`, the keys).
//!
//! It is written under a temporary name and renamed when whole: a backup
//! killed half-way never looks finished ([`verify`] and [`restore`] refuse
//! a folder without a manifest, and [`prune`] clears the leftovers).

mod create;
mod prune;
mod restore;
mod verify;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use create::{create, Created};
pub use prune::{prune, Pruned};
pub use restore::{restore, Restored};
pub use verify::{verify, Verified};

use crate::{Error, Result};

/// The manifest's file name in a backup folder.
pub const MANIFEST: &str = "backup.json";

/// The format a backup's layout and manifest follow.
pub const FORMAT: u32 = 1;

/// Names of finished backups start so; the rest is the UTC time.
const PREFIX: &str = "forge-backup-";

/// Folders of a forge home that hold repositories.
const REPOSITORY_ROOTS: [&str; 4] = ["repos", "docs", "tickets", "requests"];

/// What a backup holds, written last into it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The forge version that made it.
    pub forge_version: String,
    /// When it started, RFC 3339 UTC: what the database copy reflects.
    pub created_at: String,
    /// The forge home it copies.
    pub source_home: String,
    /// The repositories, relative to the backup folder.
    pub repositories: Vec<RepositoryEntry>,
    /// Repositories the database names that were not on disk (a project
    /// being created or deleted as the backup ran).
    pub absent: Vec<String>,
    /// Files copied, the database included.
    pub files: u64,
    /// Bytes copied, the database included.
    pub bytes: u64,
}

/// One repository of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RepositoryEntry {
    /// Its path relative to the backup folder.
    pub path: String,
    /// Refs it holds.
    pub refs: usize,
    /// Bytes copied.
    pub bytes: u64,
}

pub use crate::Progress;

/// Reads the manifest of the backup at `path`; a folder without one is
/// not a finished backup and is refused, saying so.
pub fn read_manifest(path: &Path) -> Result<Manifest> {
    let file = path.join(MANIFEST);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::invalid(
                format!("backup {}", path.display()),
                format!(
                    "it has no {MANIFEST}: not a finished backup (one being written or \
                     interrupted has none)"
                ),
            ))
        }
        Err(e) => return Err(io(&file, e)),
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(format!("backup manifest {}", file.display()), e.to_string())
    })?;
    if manifest.format != FORMAT {
        return Err(Error::invalid(
            format!("backup {}", path.display()),
            format!(
                "format {} (this forge reads format {FORMAT})",
                manifest.format
            ),
        ));
    }
    Ok(manifest)
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::from(forge_core::Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}

/// The repositories of a home's database: each path relative to the home,
/// and for a fork the path of the repository it borrows objects from.
fn repositories(store: &forge_core::Store) -> Result<Vec<(PathBuf, Option<PathBuf>)>> {
    let layout = forge_core::ForgeHome::new("");
    let mut out = Vec::new();
    for project in store.list_projects()? {
        let source = layout.project_paths(&project.full_name).source;
        let forks = store.forks(&project)?;
        for (path, owner) in layout.repositories(&project.full_name, &forks) {
            out.push((path, owner.map(|_| source.clone())));
        }
    }
    Ok(out)
}

/// A path relative to a backup or home, with `/` between parts (for the
/// manifest).
fn relative_text(path: &Path) -> String {
    forge_core::ForgeHome::new("").relative_name(path)
}
