//! Import of a Pagure requests repository: one JSON file per pull request
//! at its root, named by the request's uid, with the keys of Pagure's
//! `PullRequest.to_json` (id, uid, title, initial_comment, branch,
//! branch_from, repo_from, remote_git, commit_start, commit_stop, status,
//! user, assignee, closed_by, closed_at, date_created, last_updated, tags,
//! comments with their inline commit, file and line). Numbers, authors,
//! dates, states and comments (notification flags too) are kept; the issues
//! a request names (`Fixes #N`) are linked. Nothing is written unless every
//! file reads cleanly and no number is taken.

use std::collections::BTreeSet;
use std::path::Path;

use forge_core::Store;
use serde::Deserialize;
use serde_json::Value;

use super::{create_users, read_repo, ImportReport, PagureCommon, PagureUser, Users};
use crate::doc::{CommentDoc, SCHEMA};
use crate::request::{PullDoc, PullStatus, Source};
use crate::{Actor, Error, PullRequests, Result};

/// The project a request comes from, as far as the import needs it: its
/// owner, and whether it is a fork (it has a parent).
#[derive(Debug, Deserialize)]
struct PagureRepoRef {
    #[serde(default)]
    user: Option<PagureUser>,
    #[serde(default)]
    parent: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct PagureRequest {
    #[serde(flatten)]
    common: PagureCommon,
    title: String,
    #[serde(default)]
    initial_comment: Option<String>,
    branch: String,
    branch_from: String,
    #[serde(default)]
    repo_from: Option<PagureRepoRef>,
    #[serde(default)]
    remote_git: Option<String>,
    #[serde(default)]
    commit_start: Option<String>,
    #[serde(default)]
    commit_stop: Option<String>,
    status: String,
    #[serde(default)]
    tags: Vec<String>,
}

struct Converted {
    request: PullDoc,
    /// Pagure's `commit_start`: the request's first commit.
    start: Option<String>,
    comments: Vec<CommentDoc>,
    users: Users,
}

/// Where a request came from in forge's words: a remote URL, a fork
/// (`forks/<user>/<project>`), or the project itself.
fn source(p: &PagureRequest, project: &str, users: &mut Users) -> Source {
    let branch = p.branch_from.clone();
    if let Some(url) = p.remote_git.as_ref().filter(|u| !u.is_empty()) {
        return Source {
            branch,
            fork: None,
            repo: url.clone(),
            url: Some(url.clone()),
        };
    }
    let fork_owner = p
        .repo_from
        .as_ref()
        .filter(|r| r.parent.as_ref().is_some_and(|v| !v.is_null()))
        .and_then(|r| r.user.as_ref())
        .map(|u| users.note(u));
    match fork_owner {
        Some(owner) => Source {
            branch,
            repo: format!("forks/{owner}/{project}"),
            fork: Some(owner),
            url: None,
        },
        None => Source {
            branch,
            fork: None,
            repo: project.to_string(),
            url: None,
        },
    }
}

fn convert(uid: &str, project: &str, p: PagureRequest) -> std::result::Result<Converted, String> {
    let mut c = p.common.convert()?;
    let status = match p.status.to_ascii_lowercase().as_str() {
        "open" => PullStatus::Open,
        "closed" => PullStatus::Closed,
        "merged" => PullStatus::Merged,
        other => return Err(format!("status `{other}` is not Open, Closed or Merged")),
    };
    let body = p.initial_comment.clone().unwrap_or_default();
    let linked_issues: BTreeSet<u64> = crate::magic::issue_references(&body)
        .into_iter()
        .map(|r| r.number())
        .collect();
    let request = PullDoc {
        assignee: c.assignee,
        author: c.author.clone(),
        base: p.commit_start.clone().unwrap_or_default(),
        body,
        closed_at: c.closed_at,
        closed_by: c.closed_by,
        commits: Vec::new(),
        created_at: c.created_at,
        flags: Default::default(),
        head: p.commit_stop.clone().unwrap_or_default(),
        linked_issues,
        merge_commit: None,
        number: c.number,
        schema: SCHEMA,
        source: source(&p, project, &mut c.users),
        status,
        tags: p.tags.iter().cloned().collect(),
        target: p.branch.clone(),
        title: p.title.clone(),
        uid: uid.to_string(),
        updated_at: c.updated_at,
        votes: Default::default(),
        watchers: [c.author].into(),
    };
    Ok(Converted {
        request,
        start: p.commit_start.clone(),
        comments: c.comments,
        users: c.users,
    })
}

/// Imports the Pagure requests repository at `path` into `prs`' project.
/// When the project's repository has a request's commits (push it first),
/// its base and commits are read from there (the parent of Pagure's
/// `commit_start`, or the merge base with its target); otherwise its base
/// is `commit_start` and its commits are listed when it is refreshed.
pub fn import_requests(
    store: &Store,
    prs: &PullRequests<'_>,
    actor: &Actor,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport> {
    let project = prs.full_name().to_string();
    let mut report = ImportReport::default();
    let mut converted = read_repo(path, &mut report, |file, bytes| {
        serde_json::from_slice::<PagureRequest>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|p| convert(file, &project, p))
    })?;
    converted.sort_by_key(|c| c.request.number);
    let mut seen = BTreeSet::new();
    for c in &converted {
        let n = c.request.number;
        if !seen.insert(n) {
            return Err(Error::invalid(
                format!("Pagure repository {}", path.display()),
                format!("request id {n} appears twice; nothing was imported"),
            ));
        }
    }
    for c in &mut converted {
        let r = &mut c.request;
        let start = c.start.as_deref();
        if let Some((base, commits, linked)) = prs.history_of(&r.target, start, &r.head, &r.body) {
            r.base = base;
            r.commits = commits;
            r.linked_issues.extend(linked);
        }
    }
    create_users(store, converted.iter().map(|c| &c.users), &mut report)?;
    let total = converted.len() as u64;
    progress(0, total);
    report.requests = converted.len();
    report.comments = converted.iter().map(|c| c.comments.len()).sum();
    prs.import_requests(
        actor,
        converted
            .into_iter()
            .map(|c| (c.request, c.comments))
            .collect(),
        "Import pull requests from Pagure",
    )?;
    progress(total, total);
    Ok(report)
}
