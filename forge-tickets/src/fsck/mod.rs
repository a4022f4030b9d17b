//! Checking a forge home: the database, every repository, every index
//! against its git, the event log and the delivery queues, and the
//! repositories on disk the database does not know. Each problem names
//! what it concerns; with `repair`, the safe repairs are made and said.

mod adopt;
mod disk;

use std::path::{Path, PathBuf};

use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use forge_git::Repo;
use rusqlite::OptionalExtension;

use crate::engine::IndexPosition;
use crate::{provision, PullRequests, Result, Tracker};

pub use adopt::BACKUP_ONLY;

/// What to check and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only this project (the home-wide checks are skipped).
    pub project: Option<String>,
    /// Make the safe repairs.
    pub repair: bool,
    /// Who owns projects adopted from disk (created without credentials
    /// when unknown).
    pub owner: String,
    /// The forge executable hooks of repaired repositories call.
    pub hooks_exe: Option<PathBuf>,
    /// The caller already ran SQLite's `quick_check` on the database and
    /// found it sound (it reads the whole file: once is enough).
    pub database_checked: bool,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it concerns: `forge.db`, a repository's path, a project, a queue.
    pub subject: String,
    /// What is wrong.
    pub problem: String,
    /// What the repair did (`None`: not repaired — no safe repair, or no
    /// `repair` asked).
    pub repaired: Option<String>,
}

/// What a check found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Projects checked.
    pub projects: usize,
    /// Repositories checked with `git fsck`.
    pub repositories: usize,
    /// Every problem.
    pub findings: Vec<Finding>,
    /// Projects adopted from disk.
    pub adopted: Vec<String>,
}

impl Report {
    /// Problems left unrepaired.
    pub fn unrepaired(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.repaired.is_none())
            .count()
    }

    fn found(&mut self, subject: impl Into<String>, problem: impl Into<String>) -> &mut Finding {
        self.findings.push(Finding {
            subject: subject.into(),
            problem: problem.into(),
            repaired: None,
        });
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }
}

pub use crate::Progress;

/// Checks the forge home `home` whose database is `store`.
pub fn check(
    store: &Store,
    home: &ForgeHome,
    options: &Options,
    progress: Progress<'_>,
) -> Result<Report> {
    let mut report = Report::default();
    if !options.database_checked {
        for problem in store.check_integrity(true)? {
            report.found("forge.db", problem);
        }
    }
    if options.project.is_none() {
        adopt::unknown_repositories(store, home, options, &mut report)?;
    }
    let projects = match &options.project {
        Some(name) => vec![store.project(name)?],
        None => store.list_projects()?,
    };
    let total = projects.len() as u64;
    for (done, project) in projects.iter().enumerate() {
        progress(done as u64, total, &project.full_name);
        check_project(store, home, project, options, &mut report)?;
    }
    progress(total, total, "projects");
    report.projects = projects.len();
    if options.project.is_none() {
        check_queues(store, options, &mut report)?;
    }
    let repaired = report.findings.iter().any(|f| f.repaired.is_some());
    if repaired || !report.adopted.is_empty() {
        // Repairs rebuild indexes in bulk (adopted projects, indexes ahead
        // of git): their search rows are merged once here, and only then
        // (the merge rewrites the whole search table).
        crate::search::optimize(store)?;
    }
    Ok(report)
}

/// A project's repositories (there, sound, forks borrowing from the
/// source) and its two indexes against their branches.
fn check_project(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    options: &Options,
    report: &mut Report,
) -> Result<()> {
    let paths = home.project_paths(&project.full_name);
    for path in [&paths.source, &paths.docs, &paths.tickets, &paths.requests] {
        let subject = home.relative_name(path);
        if !path.join("HEAD").exists() {
            let finding = report.found(&subject, "missing");
            if options.repair {
                Repo::init_bare(path)?;
                if let Some(exe) = &options.hooks_exe {
                    provision::install_hooks(exe, home, path)?;
                }
                finding.repaired =
                    Some("created empty (what it held is lost unless a backup has it)".into());
            }
            continue;
        }
        fsck_repository(&subject, path, report)?;
    }
    for user in store.forks(project)? {
        let fork = home.fork_path(&user, &project.full_name);
        let subject = home.relative_name(&fork);
        if !fork.join("HEAD").exists() {
            let finding = report.found(&subject, "the fork's repository is missing");
            if options.repair {
                store.remove_fork(project, &user)?;
                finding.repaired = Some("the fork's row removed".into());
            }
            continue;
        }
        if !disk::borrows_from(&fork, &paths.source) {
            let finding = report.found(
                &subject,
                format!(
                    "its alternates do not name {}",
                    paths.source.join("objects").display()
                ),
            );
            if options.repair {
                Repo::borrow_objects(&fork, &paths.source)?;
                finding.repaired = Some("alternates pointed at its parent".into());
            }
        }
        fsck_repository(&subject, &fork, report)?;
    }
    if paths.tickets.join("HEAD").exists() {
        let tracker = Tracker::open_for_project(store, home, project)?;
        let position = tracker.index_position()?;
        check_index(
            project,
            "issues",
            position,
            options,
            report,
            || Ok(tracker.reindex(&mut |_, _| {})?.problems),
            || Ok(tracker.sync()?.problems),
        )?;
    }
    if paths.requests.join("HEAD").exists() {
        let pulls = PullRequests::open(store, home, project)?;
        let position = pulls.index_position()?;
        check_index(
            project,
            "pull requests",
            position,
            options,
            report,
            || Ok(pulls.reindex()?.problems),
            || Ok(pulls.sync()?.problems),
        )?;
    }
    Ok(())
}

fn fsck_repository(subject: &str, path: &Path, report: &mut Report) -> Result<()> {
    report.repositories += 1;
    for problem in forge_git::copy::fsck(path)? {
        report.found(subject, problem);
    }
    Ok(())
}

/// An index ahead of its git is a problem (rebuilt by the repair); one
/// behind is not (the next read syncs it; the repair syncs it now).
fn check_index(
    project: &Project,
    what: &str,
    position: IndexPosition,
    options: &Options,
    report: &mut Report,
    rebuild: impl FnOnce() -> Result<Vec<String>>,
    sync: impl FnOnce() -> Result<Vec<String>>,
) -> Result<()> {
    let problems = match position {
        IndexPosition::Current => Vec::new(),
        IndexPosition::Behind { .. } if options.repair => sync()?,
        IndexPosition::Behind { .. } => Vec::new(),
        IndexPosition::Ahead { indexed, tip } => {
            let finding = report.found(
                &project.full_name,
                format!(
                    "the {what} index reflects commit {indexed}, which its branch (at {}) does not hold",
                    if tip.is_empty() { "no commit" } else { &tip }
                ),
            );
            if !options.repair {
                return Ok(());
            }
            finding.repaired = Some(format!("the {what} index rebuilt from git"));
            rebuild()?
        }
    };
    for problem in problems {
        report.found(&project.full_name, problem);
    }
    Ok(())
}

/// The event log and the delivery queues: no consumer's cursor past the
/// last event, no job for an event the log lacks; dead jobs named.
fn check_queues(store: &Store, options: &Options, report: &mut Report) -> Result<()> {
    let conn = store.conn();
    let last: i64 = conn.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))?;
    let mut stmt = conn.prepare("SELECT name, cursor FROM consumers WHERE cursor > ?1")?;
    let ahead = stmt
        .query_map([last], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (name, cursor) in ahead {
        let finding = report.found(
            format!("queue {name}"),
            format!("its cursor ({cursor}) is past the log's last event ({last}): events after {last} would be skipped"),
        );
        if options.repair {
            conn.execute(
                "UPDATE consumers SET cursor = ?2 WHERE name = ?1",
                rusqlite::params![name, last],
            )?;
            finding.repaired = Some(format!("cursor set to {last}"));
        }
    }
    let orphan: Option<(String, i64)> = conn
        .query_row(
            "SELECT consumer, count(*) FROM jobs WHERE event_id > ?1 GROUP BY consumer LIMIT 1",
            [last],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((consumer, n)) = orphan {
        report.found(
            format!("queue {consumer}"),
            format!("{n} job(s) for events the log does not hold"),
        );
    }
    let mut stmt = conn.prepare(
        "SELECT consumer, count(*) FROM jobs WHERE state = 'dead' GROUP BY consumer ORDER BY consumer",
    )?;
    let dead = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (consumer, n) in dead {
        report.found(
            format!("queue {consumer}"),
            format!("{n} dead job(s) (see `forge queue list --state dead`; `forge queue retry --dead` tries them again)"),
        );
    }
    Ok(())
}
