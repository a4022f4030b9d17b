//! Adopting repositories on disk the database does not know: after a lost
//! or damaged `forge.db`, or one restored from an older backup.

use std::collections::{BTreeMap, BTreeSet};

use forge_core::{ForgeHome, Store};
use forge_git::Repo;

use super::disk::{self, OnDisk};
use super::{Options, Report};
use crate::{provision, PullRequests, Result, Tracker};

/// What only a backup brings back once the database is lost: adoption
/// rebuilds everything git holds, not this.
pub const BACKUP_ONLY: &str = "passwords, sessions, API tokens, SSH and deploy keys, e-mail \
    addresses, project descriptions, privacy (adopted projects are private), members and \
    groups, project settings, webhooks, CI and mirror settings, the event log and queues";

/// Finds the repositories the database does not know; with `repair`,
/// adopts them: the project (private, owned by `options.owner`) with any of
/// its four repositories that is missing created empty, its issues and pull
/// requests indexed, the users its documents name created without
/// credentials, and forks recorded for their users.
pub(super) fn unknown_repositories(
    store: &Store,
    home: &ForgeHome,
    options: &Options,
    report: &mut Report,
) -> Result<()> {
    let mut projects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut forks: Vec<(String, String, String)> = Vec::new();
    for (path, what) in disk::repositories(home) {
        let subject = home.relative_name(&path);
        match what {
            OnDisk::Project(name) => {
                let known = store.find_project(&name)?.is_some();
                if !known {
                    projects.entry(name).or_default().push(subject);
                }
            }
            OnDisk::Fork { user, project } => {
                let known = match store.find_project(&project)? {
                    Some(p) => store.has_fork(&p, &user)?,
                    None => false,
                };
                if !known {
                    forks.push((subject, user, project));
                }
            }
        }
    }
    for (name, subjects) in &projects {
        let finding = report.found(
            subjects.join(", "),
            format!("repositories of a project `{name}` the database does not know"),
        );
        if options.repair {
            finding.repaired = Some(adopt_project(store, home, name, options)?);
            report.adopted.push(name.clone());
        }
    }
    for (subject, user, project) in forks {
        let finding = report.found(
            &subject,
            format!("a fork of `{project}` by `{user}` the database does not know"),
        );
        if !options.repair {
            continue;
        }
        finding.repaired = Some(match store.find_project(&project)? {
            Some(parent) => {
                ensure_user(store, &user)?;
                store.add_fork(&parent, &user)?;
                let source = home.project_paths(&project).source;
                Repo::borrow_objects(&home.fork_path(&user, &project), &source)?;
                format!("recorded as {user}'s fork")
            }
            None => "left alone: its project is not on disk either".into(),
        });
    }
    Ok(())
}

fn adopt_project(store: &Store, home: &ForgeHome, name: &str, options: &Options) -> Result<String> {
    ensure_user(store, &options.owner)?;
    let project = store.create_project(name, "", true, &options.owner)?;
    let paths = home.project_paths(name);
    let mut created = Vec::new();
    for (what, path) in [
        ("source", &paths.source),
        ("docs", &paths.docs),
        ("tickets", &paths.tickets),
        ("requests", &paths.requests),
    ] {
        if !path.join("HEAD").exists() {
            Repo::init_bare(path)?;
            created.push(what);
        }
    }
    if let Some(exe) = &options.hooks_exe {
        provision::install_project_hooks(exe, store, home, &project)?;
    }
    let issues = Tracker::open_for_project(store, home, &project)?.reindex(&mut |_, _| {})?;
    let pulls = PullRequests::open(store, home, &project)?.reindex()?;
    let users = named_users(store, name)?;
    let mut made = 0;
    for user in &users {
        if ensure_user(store, user)? {
            made += 1;
        }
    }
    let mut said = format!(
        "adopted as a private project of {}: {} issues, {} pull requests, {} users created",
        options.owner, issues.issues, pulls.issues, made
    );
    if !created.is_empty() {
        said.push_str(&format!("; {} created empty", created.join(", ")));
    }
    Ok(said)
}

/// The users a project's indexed documents name: authors, assignees,
/// commenters.
fn named_users(store: &Store, project: &str) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for sql in [
        "SELECT author FROM issues WHERE project = ?1 UNION SELECT assignee FROM issues WHERE project = ?1",
        "SELECT author FROM issue_comments WHERE project = ?1",
        "SELECT author FROM pull_requests WHERE project = ?1 UNION SELECT assignee FROM pull_requests WHERE project = ?1",
        "SELECT author FROM pr_comments WHERE project = ?1",
    ] {
        let mut stmt = store.conn().prepare(sql)?;
        let names = stmt.query_map([project], |r| r.get::<_, Option<String>>(0))?;
        for name in names {
            if let Some(name) = name?.filter(|n| !n.is_empty()) {
                out.insert(name);
            }
        }
    }
    Ok(out)
}

/// Creates `name` without credentials when unknown (a mirror's
/// `source:login` as a mirror user); `true` when it was created. A name
/// that breaks the rules is skipped.
fn ensure_user(store: &Store, name: &str) -> Result<bool> {
    if store.find_user(name)?.is_some() {
        return Ok(false);
    }
    let made = match name.split_once(':') {
        Some((source, login)) => store.mirror_user(source, login).map(|_| ()),
        None => store.add_user(name, "", &[]).map(|_| ()),
    };
    match made {
        Ok(()) => Ok(true),
        Err(forge_core::Error::InvalidName { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
