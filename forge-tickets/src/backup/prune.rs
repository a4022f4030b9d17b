//! `prune`: snapshot retention — the newest backup of each of the last N
//! days and of each of the last N weeks is kept, the others removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDateTime};

use super::{io, MANIFEST, PREFIX};
use crate::{Error, Result};

/// What [`prune`] kept and removed.
#[derive(Debug, Clone, Default)]
pub struct Pruned {
    /// Backups kept, newest first.
    pub kept: Vec<PathBuf>,
    /// Backups removed (or, with `dry_run`, that would be), newest first;
    /// then the leftovers of backups killed half-way.
    pub removed: Vec<PathBuf>,
}

/// A finished backup found in the folder, with the time in its name.
struct Snapshot {
    path: PathBuf,
    at: NaiveDateTime,
}

/// Keeps, in the folder `dir`, the newest backup of each of the `daily`
/// most recent days that have one and of each of the `weekly` most recent
/// ISO weeks that have one (a backup kept by either rule stays); removes
/// the other backups, and the partial folders of backups whose process is
/// gone. Asking to keep nothing is refused. Folders that are not forge
/// backups are never touched.
pub fn prune(dir: &Path, daily: usize, weekly: usize, dry_run: bool) -> Result<Pruned> {
    if daily == 0 && weekly == 0 {
        return Err(Error::invalid(
            "retention",
            "--keep-daily and --keep-weekly are both 0: that would remove every backup",
        ));
    }
    let mut snapshots = Vec::new();
    let mut leftovers = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if let Some(pid) = partial_pid(&name) {
            if !process_alive(pid) {
                leftovers.push(path);
            }
        } else if let Some(at) = stamp(&name) {
            if path.join(MANIFEST).is_file() {
                snapshots.push(Snapshot { path, at });
            }
        }
    }
    snapshots.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.path.cmp(&a.path)));
    let mut keep = BTreeSet::new();
    keep_newest_per(&snapshots, daily, |s| s.at.date(), &mut keep);
    keep_newest_per(
        &snapshots,
        weekly,
        |s| {
            let week = s.at.iso_week();
            (week.year(), week.week())
        },
        &mut keep,
    );
    let mut pruned = Pruned::default();
    for (i, snapshot) in snapshots.into_iter().enumerate() {
        if keep.contains(&i) {
            pruned.kept.push(snapshot.path);
        } else {
            pruned.removed.push(snapshot.path);
        }
    }
    pruned.removed.extend(leftovers);
    if !dry_run {
        for path in &pruned.removed {
            std::fs::remove_dir_all(path).map_err(|e| io(path, e))?;
        }
    }
    Ok(pruned)
}

/// Marks (by index in `snapshots`, newest first) the newest snapshot of
/// each of the first `count` distinct periods.
fn keep_newest_per<P: PartialEq>(
    snapshots: &[Snapshot],
    count: usize,
    period: impl Fn(&Snapshot) -> P,
    keep: &mut BTreeSet<usize>,
) {
    let mut last: Option<P> = None;
    let mut periods = 0;
    for (i, snapshot) in snapshots.iter().enumerate() {
        let p = period(snapshot);
        if last.as_ref() == Some(&p) {
            continue;
        }
        if periods == count {
            break;
        }
        periods += 1;
        keep.insert(i);
        last = Some(p);
    }
}

/// The time in a backup's name (`forge-backup-20261205T093000Z`, maybe
/// with `-2`...).
fn stamp(name: &str) -> Option<NaiveDateTime> {
    let rest = name.strip_prefix(PREFIX)?;
    let stamp = rest.get(..16)?;
    let suffix = &rest[16..];
    if !(suffix.is_empty()
        || suffix
            .strip_prefix('-')
            .is_some_and(|n| n.parse::<u32>().is_ok()))
    {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok()
}

/// The process id in the name of a partial backup
/// (`.forge-backup-<stamp>.partial-<pid>`).
fn partial_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_prefix(PREFIX)?;
    rest.rsplit_once(".partial-")?.1.parse().ok()
}

/// Whether a process runs (Linux: `/proc`); elsewhere every process is
/// taken to run, so nothing partial is removed.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make(dir: &Path, name: &str) -> std::io::Result<()> {
        std::fs::create_dir(dir.join(name))?;
        std::fs::write(dir.join(name).join(MANIFEST), "{}")
    }

    #[test]
    fn keeps_the_newest_of_each_day_and_week() -> std::result::Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        // Two a day over 21 days ending Saturday 2026-12-05.
        for day in 15..=30 {
            for hour in ["03", "15"] {
                make(dir.path(), &format!("{PREFIX}202611{day}T{hour}0000Z"))?;
            }
        }
        for day in 1..=5 {
            for hour in ["03", "15"] {
                make(dir.path(), &format!("{PREFIX}2026120{day}T{hour}0000Z"))?;
            }
        }
        std::fs::create_dir(dir.path().join("photos"))?;
        std::fs::create_dir(dir.path().join(format!("{PREFIX}20261205T160000Z")))?; // no manifest
        std::fs::create_dir(
            dir.path()
                .join(format!(".{PREFIX}20261205T170000Z.partial-4000000000")),
        )?;
        let pruned = prune(dir.path(), 3, 2, false)?;
        let kept: Vec<String> = pruned
            .kept
            .iter()
            .map(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            kept,
            [
                format!("{PREFIX}20261205T150000Z"),
                format!("{PREFIX}20261204T150000Z"),
                format!("{PREFIX}20261203T150000Z"),
                // The week before (ISO week 48 ends Sunday 2026-11-29).
                format!("{PREFIX}20261129T150000Z"),
            ]
        );
        assert_eq!(pruned.removed.len(), 42 - 4 + 1);
        assert!(dir.path().join("photos").exists());
        assert!(dir
            .path()
            .join(format!("{PREFIX}20261205T160000Z"))
            .exists());
        assert!(prune(dir.path(), 0, 0, false).is_err());
        Ok(())
    }

    #[test]
    fn names_are_read_strictly() {
        assert!(stamp(&format!("{PREFIX}20261205T093000Z")).is_some());
        assert!(stamp(&format!("{PREFIX}20261205T093000Z-2")).is_some());
        assert!(stamp(&format!("{PREFIX}20261205T093000Zx")).is_none());
        assert!(stamp(&format!("{PREFIX}20261305T093000Z")).is_none());
        assert_eq!(
            partial_pid(&format!(".{PREFIX}20261205T093000Z.partial-77")),
            Some(77)
        );
    }
}
