//! `forge backup create|verify|restore|prune`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use forge_tickets::backup;
use serde_json::json;

use crate::cli::BackupCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: BackupCommand, ctx: &Ctx) -> Result<()> {
    match cmd {
        BackupCommand::Create { to, max_rate } => create(to, max_rate, ctx),
        BackupCommand::Verify { path } => verify(&path, ctx),
        BackupCommand::Restore { path, force } => restore(&path, force, ctx),
        BackupCommand::Prune {
            to,
            keep_daily,
            keep_weekly,
            dry_run,
        } => prune(to, keep_daily, keep_weekly, dry_run, ctx),
    }
}

/// Where backups go: `--to`, else `<home>/backups`.
fn backups_dir(to: Option<PathBuf>, ctx: &Ctx) -> Result<PathBuf> {
    Ok(match to {
        Some(to) => to,
        None => ctx.home()?.root().join("backups"),
    })
}

fn create(to: Option<PathBuf>, max_rate: u64, ctx: &Ctx) -> Result<()> {
    ctx.home_store()?; // a home that exists and opens
    let home = ctx.home()?;
    let to = backups_dir(to, ctx)?;
    // A backup takes the CPU the server leaves (SCHED_IDLE), as the
    // delivery worker does: requests are not slowed by it.
    forge_notify::background_priority();
    let rate = (max_rate > 0).then(|| max_rate.saturating_mul(1_000_000));
    let made = output::with_progress("backing up", |progress| {
        backup::create(home, &to, rate, progress)
    })
    .context("backup not made")?;
    let m = &made.manifest;
    if ctx.json {
        return output::json(&json!({
            "path": made.path,
            "created_at": m.created_at,
            "repositories": m.repositories.len(),
            "absent": m.absent,
            "files": m.files,
            "bytes": m.bytes,
            "seconds": made.seconds,
        }));
    }
    say!(
        "backed up {} to {}: {} repositories, {} files, {} in {:.1} s",
        home.root().display(),
        made.path.display(),
        m.repositories.len(),
        m.files,
        size(m.bytes),
        made.seconds
    );
    for name in &m.absent {
        say!("note: {name} is named by the database but was not on disk (a project being created or deleted)");
    }
    Ok(())
}

fn verify(path: &Path, ctx: &Ctx) -> Result<()> {
    let found = output::with_progress("verifying", |progress| backup::verify(path, progress))?;
    if ctx.json {
        output::json(&json!({
            "path": found.path,
            "created_at": found.manifest.created_at,
            "sound": found.is_sound(),
            "repositories": found.repositories,
            "indexes_behind": found.behind,
            "problems": found.problems,
        }))?;
    } else {
        for problem in &found.problems {
            show!("problem: {problem}");
        }
    }
    if !found.is_sound() {
        bail!(
            "backup {} has {} problem(s)",
            path.display(),
            found.problems.len()
        );
    }
    if !ctx.json {
        say!(
            "backup {} (made {}) is sound: database, {} repositories, every index at or \
             behind its git ({} behind: the restore indexes what they lack)",
            path.display(),
            found.manifest.created_at,
            found.repositories,
            found.behind
        );
    }
    Ok(())
}

fn restore(path: &Path, force: bool, ctx: &Ctx) -> Result<()> {
    let target = ctx.home()?.root().to_path_buf();
    let exe = super::hooks::hooks_exe()?;
    let done = output::with_progress("restoring", |progress| {
        backup::restore(path, &target, force, Some(&exe), progress)
    })
    .with_context(|| format!("restoring {}", path.display()))?;
    if ctx.json {
        return output::json(&json!({
            "home": done.home,
            "replaced": done.replaced,
            "projects": done.projects,
            "synced": done.synced,
            "events": done.events,
            "problems": done.problems,
        }));
    }
    say!(
        "restored {} into {}: {} projects; {} issues and pull requests pushed after the \
         database copy indexed ({} events)",
        path.display(),
        done.home.display(),
        done.projects,
        done.synced,
        done.events
    );
    if let Some(old) = &done.replaced {
        say!("the home that was there is now at {}", old.display());
    }
    for problem in &done.problems {
        show!("problem: {problem}");
    }
    say!("run `forge fsck` on it to check it, and `forge serve` to serve it");
    Ok(())
}

fn prune(to: Option<PathBuf>, daily: usize, weekly: usize, dry_run: bool, ctx: &Ctx) -> Result<()> {
    let dir = backups_dir(to, ctx)?;
    let pruned = backup::prune(&dir, daily, weekly, dry_run)?;
    if ctx.json {
        return output::json(&json!({
            "kept": pruned.kept,
            "removed": pruned.removed,
            "dry_run": dry_run,
        }));
    }
    for path in &pruned.kept {
        say!("keep    {}", path.display());
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for path in &pruned.removed {
        say!("{verb} {}", path.display());
    }
    say!(
        "{} kept, {} {verb}",
        pruned.kept.len(),
        pruned.removed.len()
    );
    Ok(())
}

/// Bytes for people: 1.2 GB, 340 kB.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
