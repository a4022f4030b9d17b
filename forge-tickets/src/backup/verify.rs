//! `verify`: is a backup whole and sound, without changing it.

use std::path::{Path, PathBuf};

use forge_core::{ForgeHome, Store};

use super::{read_manifest, relative_text, repositories, Manifest, Progress};
use crate::engine::IndexPosition;
use crate::{PullRequests, Result, Tracker};

/// What [`verify`] found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The backup.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Repositories checked with `git fsck`.
    pub repositories: usize,
    /// Indexes (issues and pull requests of each project) behind their
    /// git: sound, the restore's sync brings them up.
    pub behind: usize,
    /// Every problem, each naming the file, repository or project.
    pub problems: Vec<String>,
}

impl Verified {
    /// No problem found.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the backup at `path`: its manifest, SQLite's integrity check of
/// the database, `git fsck` of every repository, and every index against
/// the git it reflects (never ahead of it). Reads only.
pub fn verify(path: &Path, progress: Progress<'_>) -> Result<Verified> {
    let manifest = read_manifest(path)?;
    let mut problems = Vec::new();
    let mut behind = 0;
    let db = path.join("forge.db");
    progress(0, 1, "database");
    let store = match Store::open_read_only(&db) {
        Ok(store) => Some(store),
        Err(e) => {
            problems.push(format!("forge.db: {e}"));
            None
        }
    };
    if let Some(store) = &store {
        match store.check_integrity(false) {
            Ok(found) => problems.extend(found.into_iter().map(|p| format!("forge.db: {p}"))),
            Err(e) => problems.push(format!("forge.db: {e}")),
        }
    }
    let total = manifest.repositories.len() as u64;
    for (done, repo) in manifest.repositories.iter().enumerate() {
        progress(done as u64, total, &repo.path);
        let dir = path.join(&repo.path);
        if !dir.join("HEAD").exists() {
            problems.push(format!("{}: missing", repo.path));
            continue;
        }
        match forge_git::copy::fsck(&dir) {
            Ok(found) => problems.extend(found.into_iter().map(|p| format!("{}: {p}", repo.path))),
            Err(e) => problems.push(format!("{}: {e}", repo.path)),
        }
    }
    progress(total, total, "repositories");
    for name in &manifest.absent {
        problems.push(format!(
            "{name}: named by the database but not on disk when the backup ran"
        ));
    }
    if let Some(store) = &store {
        let home = ForgeHome::new(path);
        check_listed(store, &manifest, &mut problems)?;
        for project in store.list_projects()? {
            let positions = [
                ("issues", tickets_position(store, &home, &project)),
                ("pull requests", requests_position(store, &home, &project)),
            ];
            for (what, position) in positions {
                match position {
                    Ok(IndexPosition::Current) => {}
                    Ok(IndexPosition::Behind { .. }) => behind += 1,
                    Ok(IndexPosition::Ahead { indexed, tip }) => problems.push(format!(
                        "{}: the {what} index reflects commit {indexed}, which its branch \
                         (at {tip}) does not hold",
                        project.full_name
                    )),
                    Err(e) => problems.push(format!("{}: {what}: {e}", project.full_name)),
                }
            }
        }
    }
    Ok(Verified {
        path: path.to_path_buf(),
        repositories: manifest.repositories.len(),
        manifest,
        behind,
        problems,
    })
}

fn tickets_position(
    store: &Store,
    home: &ForgeHome,
    project: &forge_core::project::Project,
) -> Result<IndexPosition> {
    Tracker::open_for_project(store, home, project)?.index_position()
}

fn requests_position(
    store: &Store,
    home: &ForgeHome,
    project: &forge_core::project::Project,
) -> Result<IndexPosition> {
    if !home.project_paths(&project.full_name).requests.exists() {
        // Reported missing above; opening would create it.
        return Ok(IndexPosition::Current);
    }
    PullRequests::open(store, home, project)?.index_position()
}

/// Every repository the database names is in the manifest (or listed as
/// absent): a manifest that lost some would hide them from the fsck.
fn check_listed(store: &Store, manifest: &Manifest, problems: &mut Vec<String>) -> Result<()> {
    for (rel, _) in repositories(store)? {
        let name = relative_text(&rel);
        let listed =
            manifest.repositories.iter().any(|r| r.path == name) || manifest.absent.contains(&name);
        if !listed {
            problems.push(format!("{name}: named by the database, not in the backup"));
        }
    }
    Ok(())
}
