//! `restore`: a backup made a working forge home again.

use std::path::{Path, PathBuf};

use forge_core::{ForgeHome, Store};
use forge_git::copy::{copy_tree, Copied, Pace};

use super::{io, read_manifest, Progress, MANIFEST};
use crate::{provision, Error, PullRequests, Result, SyncReport, Tracker};

/// What [`restore`] did.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    /// The forge home made.
    pub home: PathBuf,
    /// Where the home that was there before went (with `force`): moved
    /// aside, not deleted.
    pub replaced: Option<PathBuf>,
    /// Projects restored.
    pub projects: usize,
    /// Issues and pull requests the sync brought into the index: what git
    /// held beyond the moment the database was copied.
    pub synced: usize,
    /// Events those syncs appended.
    pub events: usize,
    /// Documents the sync could not read, naming each.
    pub problems: Vec<String>,
}

/// Makes `target` a forge home from the backup at `backup`. A `target`
/// that exists and holds anything is refused unless `force`, and then
/// moved aside to `<target>.replaced-<pid>` (never deleted). The copy is
/// made beside `target` and renamed into place when whole. Then: forks
/// borrow objects from their restored parents, forge's hooks call
/// `hooks_exe` for the new home, and every project's index is synced with
/// its git (what was pushed after the database copy is indexed, events
/// included).
pub fn restore(
    backup: &Path,
    target: &Path,
    force: bool,
    hooks_exe: Option<&Path>,
    progress: Progress<'_>,
) -> Result<Restored> {
    read_manifest(backup)?;
    let found = Store::open_read_only(&backup.join("forge.db"))?.check_integrity(true)?;
    if let Some(first) = found.first() {
        return Err(Error::invalid(
            format!("backup {}", backup.display()),
            format!("its database fails SQLite's check: {first} (run `forge backup verify`)"),
        ));
    }
    let occupied = std::fs::read_dir(target).is_ok_and(|mut d| d.next().is_some());
    if occupied && !force {
        return Err(Error::invalid(
            format!("home {}", target.display()),
            "it is not empty; pass --force to put the backup in its place (what is there \
             is moved aside, not deleted)",
        ));
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::invalid(format!("home {}", target.display()), "no folder name"))?;
    let beside =
        |suffix: &str| target.with_file_name(format!(".{name}.{suffix}-{}", std::process::id()));
    let staging = beside("restoring");
    let _ = std::fs::remove_dir_all(&staging);
    progress(0, 1, "copying");
    let copied = copy_tree(
        backup,
        &staging,
        &mut Copied::default(),
        &mut Pace::new(None),
    )
    .map_err(Error::from)
    .and_then(|()| {
        let manifest = staging.join(MANIFEST);
        std::fs::remove_file(&manifest).map_err(|e| io(&manifest, e))
    });
    if let Err(e) = copied {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let replaced = if target.exists() {
        let aside = target.with_file_name(format!("{name}.replaced-{}", std::process::id()));
        std::fs::rename(target, &aside).map_err(|e| io(target, e))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&staging, target).map_err(|e| io(target, e))?;
    let mut restored = settle(&ForgeHome::new(target), hooks_exe, progress)?;
    restored.home = target.to_path_buf();
    restored.replaced = replaced;
    Ok(restored)
}

/// Makes a copied home work where it now is: alternates, hooks, index.
fn settle(home: &ForgeHome, hooks_exe: Option<&Path>, progress: Progress<'_>) -> Result<Restored> {
    let store = Store::open(&home.db_path())?;
    let projects = store.list_projects()?;
    let total = projects.len() as u64;
    let mut restored = Restored {
        projects: projects.len(),
        ..Restored::default()
    };
    for (done, project) in projects.iter().enumerate() {
        progress(done as u64, total, &project.full_name);
        let source = home.project_paths(&project.full_name).source;
        for user in store.forks(project)? {
            let fork = home.fork_path(&user, &project.full_name);
            if fork.exists() {
                forge_git::Repo::borrow_objects(&fork, &source)?;
            }
        }
        if let Some(exe) = hooks_exe {
            provision::install_project_hooks(exe, &store, home, project)?;
        }
        let reports: [SyncReport; 2] = [
            Tracker::open_for_project(&store, home, project)?.sync()?,
            PullRequests::open(&store, home, project)?.sync()?,
        ];
        for report in reports {
            restored.synced += report.issues;
            restored.events += report.events;
            restored.problems.extend(report.problems);
        }
    }
    progress(total, total, "projects");
    Ok(restored)
}
