//! The access decision as every door asks it (the SSH forced command, git
//! over HTTP, the pre-receive hook): resolve who asks once, learn what the
//! decision needs to know of the project (whether it has private issues,
//! from an index synced first), then let
//! [`forge_core::repo_access::decide`] answer.

use std::path::PathBuf;

use forge_core::project::Project;
use forge_core::repo_access::{
    self, Claimant, GitIdentity, GitService, Granted, Refusal, RepoFacts, RepoKind, RepoRef,
};
use forge_core::{ForgeHome, Store};

use crate::{Result, Tracker};

/// A git request that may go ahead.
#[derive(Debug, Clone)]
pub struct GitAccess {
    /// The repository.
    pub repo: RepoRef,
    /// Where it is on disk.
    pub dir: PathBuf,
    /// Its project.
    pub project: Project,
    /// Who asks, resolved against the project.
    pub who: GitIdentity,
    /// Read, or write with what follows a push.
    pub granted: Granted,
}

/// Decides whether `claimant` may use `service` on `repo`. The outer error
/// is a failure (store, git); the inner one the refusal to give the client.
pub fn git_access(
    store: &Store,
    home: &ForgeHome,
    claimant: &Claimant,
    repo: &RepoRef,
    service: GitService,
) -> Result<std::result::Result<GitAccess, Refusal>> {
    let not_found = || Refusal::NotFound(format!("repository `{}` not found", repo.display()));
    let Some(project) = store.find_project(&repo.project)? else {
        return Ok(Err(not_found()));
    };
    let dir = repo.path_in(home);
    if !dir.join("HEAD").exists() {
        return Ok(Err(not_found()));
    }
    let who = repo_access::identity(store, &project, claimant)?;
    // Whether the issues hold private ones decides who may clone the
    // tickets and requests: bring the index up to date first.
    let private_issues = match repo.kind {
        RepoKind::Tickets | RepoKind::Requests => {
            Tracker::open_for_project(store, home, &project)?.has_private_issues()?
        }
        _ => false,
    };
    let facts = RepoFacts {
        private_project: project.private,
        private_issues,
        mirrored: project.mirror.is_some(),
    };
    Ok(
        repo_access::decide(&who, repo, facts, service).map(|granted| GitAccess {
            repo: repo.clone(),
            dir,
            project,
            who,
            granted,
        }),
    )
}
