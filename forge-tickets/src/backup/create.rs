//! `create`: a consistent copy of a forge home that goes on serving.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use forge_core::{ForgeHome, Store};
use forge_git::copy::{copy_repository, copy_tree, Copied, Pace};

use super::{io, relative_text, repositories, Manifest, Progress, RepositoryEntry};
use super::{FORMAT, MANIFEST, PREFIX, REPOSITORY_ROOTS};
use crate::Result;

/// A backup made.
#[derive(Debug, Clone)]
pub struct Created {
    /// Its folder.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Seconds it took.
    pub seconds: f64,
}

/// Backs up the forge home `home` into a new folder under `to` (created if
/// needed), named by the time it starts, copying at most `rate` bytes a
/// second on average (`None`: as fast as it goes). Nothing under its final
/// name exists until it is whole; on an error (a full disk...) the partial
/// copy is removed and the error names what failed.
pub fn create(
    home: &ForgeHome,
    to: &Path,
    rate: Option<u64>,
    progress: Progress<'_>,
) -> Result<Created> {
    let started = Instant::now();
    let now = Utc::now();
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let partial = to.join(format!(".{PREFIX}{stamp}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let mut pace = Pace::new(rate);
    let made = fill(home, to, &partial, now, &mut pace, progress).and_then(|manifest| {
        let path = free_name(to, &stamp);
        std::fs::rename(&partial, &path).map_err(|e| io(&path, e))?;
        Ok((path, manifest))
    });
    match made {
        Ok((path, manifest)) => Ok(Created {
            path,
            manifest,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

/// `forge-backup-<stamp>`, or `-2`, `-3`... when a backup of the same
/// second exists.
fn free_name(to: &Path, stamp: &str) -> PathBuf {
    let first = to.join(format!("{PREFIX}{stamp}"));
    (2..)
        .map(|n| to.join(format!("{PREFIX}{stamp}-{n}")))
        .find(|p| !p.exists())
        .filter(|_| first.exists())
        .unwrap_or(first)
}

fn fill(
    home: &ForgeHome,
    to: &Path,
    partial: &Path,
    now: DateTime<Utc>,
    pace: &mut Pace,
    progress: Progress<'_>,
) -> Result<Manifest> {
    let root = home.root();
    std::fs::create_dir_all(partial).map_err(|e| io(partial, e))?;
    // 1. The database: the moment the backup reflects.
    progress(0, 1, "database");
    let db = partial.join("forge.db");
    Store::open(&home.db_path())?
        .backup_to(&db, &mut |bytes| pace.account(bytes))
        .map_err(|e| io(&db, std::io::Error::other(e.to_string())))?;
    let mut totals = Copied::default();
    totals.files += 1;
    totals.bytes += std::fs::metadata(&db).map_err(|e| io(&db, e))?.len();
    // 2. The repositories that database names.
    let copy = Store::open_read_only(&db)?;
    let repos = repositories(&copy)?;
    drop(copy);
    let total = repos.len() as u64;
    let mut entries = Vec::new();
    let mut absent = Vec::new();
    for (done, (rel, parent)) in repos.iter().enumerate() {
        let name = relative_text(rel);
        progress(done as u64, total, &name);
        let src = root.join(rel);
        if !src.join("HEAD").exists() {
            absent.push(name);
            continue;
        }
        let dst = partial.join(rel);
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let borrow = parent.as_ref().map(|p| partial.join(p));
        let copied = copy_repository(&src, &dst, borrow.as_deref(), pace)?;
        totals.files += copied.files;
        totals.bytes += copied.bytes;
        entries.push(RepositoryEntry {
            path: name,
            refs: copied.refs,
            bytes: copied.bytes,
        });
    }
    progress(total, total, "repositories");
    // 3. The rest of the home: configuration and keys.
    copy_other_files(root, to, partial, &mut totals, pace)?;
    let manifest = Manifest {
        format: FORMAT,
        forge_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        source_home: root
            .canonicalize()
            .unwrap_or_else(|_| root.to_path_buf())
            .display()
            .to_string(),
        repositories: entries,
        absent,
        files: totals.files as u64,
        bytes: totals.bytes,
    };
    // Everything on the disk before the manifest says the backup is whole
    // (syncfs through coreutils' `sync -f`; best effort where it is absent).
    let _ = std::process::Command::new("sync")
        .arg("-f")
        .arg(partial)
        .status();
    write_durably(
        &partial.join(MANIFEST),
        &serde_json::to_vec_pretty(&manifest)?,
    )?;
    Ok(manifest)
}

/// The files of the home beside the database and the repositories (the
/// configuration, the keys). Left out: the database's own files, the
/// repository folders (copied one by one above), the trash of deleted
/// projects, and the backup folder itself when it is inside the home.
fn copy_other_files(
    root: &Path,
    to: &Path,
    partial: &Path,
    totals: &mut Copied,
    pace: &mut Pace,
) -> Result<()> {
    let to = to.canonicalize().unwrap_or_else(|_| to.to_path_buf());
    for entry in std::fs::read_dir(root).map_err(|e| io(root, e))? {
        let entry = entry.map_err(|e| io(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let skipped = name.starts_with("forge.db")
            || REPOSITORY_ROOTS.contains(&name.as_str())
            || name == "trash"
            || entry.path().canonicalize().is_ok_and(|p| p == to);
        if !skipped {
            copy_tree(&entry.path(), &partial.join(&name), totals, pace)?;
        }
    }
    Ok(())
}

/// Writes a file and flushes it to the disk (the manifest: once it is
/// there, the backup claims to be whole).
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).map_err(|e| io(path, e))?;
    file.write_all(bytes).map_err(|e| io(path, e))?;
    file.sync_all().map_err(|e| io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_one_second_do_not_clash() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let first = free_name(dir.path(), "20261205T093000Z");
        assert!(first.ends_with("forge-backup-20261205T093000Z"));
        std::fs::create_dir(&first)?;
        let second = free_name(dir.path(), "20261205T093000Z");
        assert!(second.ends_with("forge-backup-20261205T093000Z-2"));
        Ok(())
    }
}
