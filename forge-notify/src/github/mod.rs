//! GitHub replication: a project made a read-only mirror of a GitHub
//! repository's issues, pull requests, comments, labels, milestones and
//! users ([`mirror`]), filled by a backfill through the REST API
//! ([`backfill`], over [`client`] and [`paging`]) and kept up to date by
//! webhooks ([`receive`], applied by the `github` consumer in [`worker`]).
//! Both go through the same processing ([`replicate`]) of GitHub's objects
//! ([`model`]); the repository's branches and pull request heads are
//! fetched into the project's source repository ([`fetch_source`]).

pub mod backfill;
pub mod client;
pub mod mirror;
pub mod model;
pub mod paging;
pub mod receive;
pub mod replicate;
pub mod worker;

/// Fetches the branches and pull request heads of the GitHub repository
/// at `clone_url` into `project`'s source repository, through the guarded
/// remote fetch (no loopback or private address unless `allow_private`).
pub fn fetch_source(
    home: &forge_core::ForgeHome,
    project: &forge_core::project::Project,
    clone_url: &str,
    allow_private: bool,
) -> Result<(), forge_git::Error> {
    let repo = forge_git::Repo::open(&home.project_paths(&project.full_name).source)?;
    repo.fetch_mirror(clone_url, allow_private)
}
