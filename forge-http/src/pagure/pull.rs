//! Pull requests, their comments and flags in Pagure's shape.

use std::collections::{BTreeMap, BTreeSet};

use forge_tickets::request::PullCommit;
use forge_tickets::{FlagView, PullCommentView, PullDetails, PullSummary, SourceView};
use serde::{Deserialize, Serialize};

use super::{rfc3339, EpochText, User};

/// A flag (CI status) of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The flag's name (Pagure calls it `username`).
    pub username: String,
    /// `success`, `failure`, `error`, `pending` or `canceled`.
    pub status: String,
    /// Completion.
    #[serde(default)]
    pub percent: Option<u8>,
    /// Free text.
    #[serde(default)]
    pub comment: String,
    /// Link.
    #[serde(default)]
    pub url: Option<String>,
    /// Who posted it.
    pub user: User,
    /// The commit it was posted for.
    #[serde(default)]
    pub commit_hash: String,
    /// When it was first posted.
    pub date_created: EpochText,
    /// When it was last posted.
    pub date_updated: EpochText,
}

impl Flag {
    /// A flag as the server answers it; `user` gives a username's Pagure
    /// shape.
    pub fn of(f: &FlagView, user: &dyn Fn(&str) -> User) -> Flag {
        Flag {
            username: f.name.clone(),
            status: f.status.to_string(),
            percent: f.percent,
            comment: f.comment.clone(),
            url: f.url.clone(),
            user: user(&f.username),
            commit_hash: f.commit.clone(),
            date_created: EpochText::of(&f.created_at),
            date_updated: EpochText::of(&f.updated_at),
        }
    }

    fn into_view(self) -> FlagView {
        FlagView {
            name: self.username,
            status: known(
                &self.status,
                &["success", "failure", "error", "pending", "canceled"],
            ),
            percent: self.percent.map(|p| p.min(100)),
            comment: self.comment,
            url: self.url,
            username: self.user.name,
            commit: self.commit_hash,
            created_at: rfc3339(&self.date_created),
            updated_at: rfc3339(&self.date_updated),
        }
    }
}

fn known(value: &str, names: &[&'static str]) -> &'static str {
    names
        .iter()
        .find(|k| **k == value)
        .copied()
        .unwrap_or("unknown")
}

/// A comment of a pull request (inline ones say where).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullComment {
    /// Pagure's integer id ([`forge_tickets::view::comment_number`]).
    pub id: u64,
    /// forge's own id.
    #[serde(default)]
    pub uid: String,
    /// Markdown body.
    pub comment: String,
    /// Creation time.
    pub date_created: EpochText,
    /// Author.
    pub user: User,
    /// The commit an inline comment was made on.
    #[serde(default)]
    pub commit: Option<String>,
    /// Its file.
    #[serde(default)]
    pub filename: Option<String>,
    /// Its line.
    #[serde(default)]
    pub line: Option<u32>,
    /// Pagure's tree (none here).
    #[serde(default)]
    pub tree: Option<String>,
    /// Pagure's threading (none here).
    #[serde(default)]
    pub parent: Option<u64>,
    /// Last edit time.
    #[serde(default)]
    pub edited_on: Option<EpochText>,
    /// Who edited it last (forge keeps it in the document; not shown).
    #[serde(default)]
    pub editor: Option<User>,
    /// Pagure's "Metadata Update" marker.
    #[serde(default)]
    pub notification: bool,
    /// Reactions: emoji to usernames.
    #[serde(default)]
    pub reactions: BTreeMap<String, BTreeSet<String>>,
    /// forge's: the side of the diff (`new`, `old`).
    #[serde(default)]
    pub side: Option<forge_tickets::doc::Side>,
    /// forge's: whether the line changed since.
    #[serde(default)]
    pub outdated: bool,
}

/// Where a pull request comes from (forge's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSource {
    /// The project, `forks/<user>/<project>` or the URL.
    pub repo: String,
    /// Branch.
    pub branch: String,
}

/// A pull request (plus forge's own fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Number.
    pub id: u64,
    /// Stable unique id (Pagure's, for an imported request).
    pub uid: String,
    /// Title.
    pub title: String,
    /// Description.
    pub initial_comment: String,
    /// Target branch.
    pub branch: String,
    /// Source branch.
    pub branch_from: String,
    /// Source repository: its project in Pagure's shape (a fork's, for a
    /// fork); null for a remote URL.
    #[serde(default)]
    pub repo_from: Option<serde_json::Value>,
    /// The project, in Pagure's shape.
    #[serde(default)]
    pub project: serde_json::Value,
    /// The remote git URL it comes from, if not from a project or fork.
    #[serde(default)]
    pub remote_git: Option<String>,
    /// `Open`, `Closed` or `Merged`.
    pub status: String,
    /// Author.
    pub user: User,
    /// Assignee.
    #[serde(default)]
    pub assignee: Option<User>,
    /// Oldest commit.
    #[serde(default)]
    pub commit_start: Option<String>,
    /// Head commit.
    pub commit_stop: String,
    /// Creation time.
    pub date_created: EpochText,
    /// Last activity.
    pub last_updated: EpochText,
    /// Pagure's last update of the request itself (here as `last_updated`).
    #[serde(default)]
    pub updated_on: Option<EpochText>,
    /// When closed or merged.
    #[serde(default)]
    pub closed_at: Option<EpochText>,
    /// The merge commit.
    #[serde(default)]
    pub merge_commit: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// Pagure's (always null here).
    #[serde(default)]
    pub threshold_reached: Option<bool>,
    /// Pagure's merge status name.
    #[serde(default)]
    pub cached_merge_status: String,
    /// Comments, oldest first.
    #[serde(default)]
    pub comments: Vec<PullComment>,
    /// forge's: where it comes from.
    pub source: PullSource,
    /// forge's: the merge base.
    #[serde(default)]
    pub base: String,
    /// forge's: its commits, newest first.
    #[serde(default)]
    pub commits: Vec<PullCommit>,
    /// forge's: `up-to-date`, `fast-forward`, `merge` or `conflicts`.
    #[serde(default)]
    pub merge_status: Option<String>,
    /// forge's: conflicting paths.
    #[serde(default)]
    pub conflicts: Vec<String>,
    /// forge's: vote score.
    #[serde(default)]
    pub score: i64,
    /// forge's: explicit votes.
    #[serde(default)]
    pub votes: BTreeMap<String, i8>,
    /// forge's: flags on the head.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// forge's: issues it names.
    #[serde(default)]
    pub linked_issues: BTreeSet<u64>,
    /// forge's: watchers.
    #[serde(default)]
    pub watchers: BTreeSet<String>,
    /// Who closed or merged it.
    #[serde(default)]
    pub closed_by: Option<User>,
    /// The request's page (`<public URL>/<project>/pull-request/<id>`).
    #[serde(default)]
    pub full_url: String,
}

impl PullRequest {
    /// A pull request as the server answers it: `project` and `repo_from`
    /// are the projects in Pagure's shape (the source's, or none for a
    /// remote URL), `base` the server's public URL, `user` gives a
    /// username's Pagure shape.
    pub fn of(
        d: &PullDetails,
        project: &serde_json::Value,
        repo_from: Option<serde_json::Value>,
        base: &str,
        user: &dyn Fn(&str) -> User,
    ) -> PullRequest {
        let remote = d.source.repo.contains("://");
        PullRequest {
            id: d.id,
            uid: d.uid.clone(),
            title: d.title.clone(),
            initial_comment: d.body.clone(),
            branch: d.target.clone(),
            branch_from: d.source.branch.clone(),
            repo_from,
            project: project.clone(),
            remote_git: remote.then(|| d.source.repo.clone()),
            status: match d.status {
                "open" => "Open",
                "merged" => "Merged",
                _ => "Closed",
            }
            .into(),
            user: user(&d.author),
            assignee: d.assignee.as_deref().map(user),
            commit_start: d.commits.last().map(|c| c.id.clone()),
            commit_stop: d.head.clone(),
            date_created: EpochText::of(&d.created_at),
            last_updated: EpochText::of(&d.updated_at),
            updated_on: Some(EpochText::of(&d.updated_at)),
            closed_at: d.closed_at.as_deref().map(EpochText::of),
            merge_commit: d.merge_commit.clone(),
            tags: d.tags.clone(),
            threshold_reached: None,
            cached_merge_status: match d.merge_status {
                Some("conflicts") => "CONFLICTS",
                Some("fast-forward") => "FFORWARD",
                Some("merge") => "MERGE",
                Some("up-to-date") => "NO_CHANGE",
                _ => "unknown",
            }
            .into(),
            comments: d
                .comments
                .iter()
                .map(|c| PullComment {
                    id: forge_tickets::view::comment_number(&c.id),
                    uid: c.id.clone(),
                    comment: c.body.clone(),
                    date_created: EpochText::of(&c.created_at),
                    user: user(&c.author),
                    commit: c.commit.clone(),
                    filename: c.path.clone(),
                    line: c.line,
                    tree: None,
                    parent: None,
                    edited_on: c.edited_at.as_deref().map(EpochText::of),
                    editor: None,
                    notification: c.notification,
                    reactions: BTreeMap::new(),
                    side: c.side,
                    outdated: c.outdated,
                })
                .collect(),
            source: PullSource {
                repo: d.source.repo.clone(),
                branch: d.source.branch.clone(),
            },
            base: d.base.clone(),
            commits: d.commits.clone(),
            merge_status: d.merge_status.map(String::from),
            conflicts: d.conflicts.clone(),
            score: d.score,
            votes: d.votes.clone(),
            flags: d.flags.iter().map(|f| Flag::of(f, user)).collect(),
            linked_issues: d.linked_issues.clone(),
            watchers: d.watchers.clone(),
            closed_by: d.closed_by.as_deref().map(user),
            full_url: format!(
                "{base}/{}/pull-request/{}",
                project["url_path"].as_str().unwrap_or_default(),
                d.id
            ),
        }
    }

    /// Back to the library's shape (what `forge --remote pr show` prints).
    pub fn into_details(self) -> PullDetails {
        PullDetails {
            id: self.id,
            uid: self.uid,
            title: self.title,
            body: self.initial_comment,
            status: match self.status.as_str() {
                "Open" => "open",
                "Merged" => "merged",
                _ => "closed",
            },
            author: self.user.name,
            assignee: self.assignee.map(|u| u.name),
            tags: self.tags,
            source: SourceView {
                repo: self.source.repo,
                branch: self.source.branch,
            },
            target: self.branch,
            head: self.commit_stop,
            base: self.base,
            commits: self.commits,
            merge_status: self
                .merge_status
                .as_deref()
                .map(|s| known(s, &["up-to-date", "fast-forward", "merge", "conflicts"])),
            conflicts: self.conflicts,
            score: self.score,
            votes: self.votes,
            flags: self.flags.into_iter().map(Flag::into_view).collect(),
            linked_issues: self.linked_issues,
            comments: self
                .comments
                .into_iter()
                .map(|c| PullCommentView {
                    id: c.uid,
                    author: c.user.name,
                    body: c.comment,
                    created_at: rfc3339(&c.date_created),
                    edited_at: c.edited_on.as_ref().map(rfc3339),
                    path: c.filename,
                    line: c.line,
                    side: c.side,
                    commit: c.commit,
                    outdated: c.outdated,
                    notification: c.notification,
                })
                .collect(),
            merge_commit: self.merge_commit,
            closed_by: self.closed_by.map(|u| u.name),
            closed_at: self.closed_at.as_ref().map(rfc3339),
            watchers: self.watchers,
            created_at: rfc3339(&self.date_created),
            updated_at: rfc3339(&self.last_updated),
        }
    }

    /// The listing's line for it.
    pub fn into_summary(self) -> PullSummary {
        let d = self.into_details();
        PullSummary {
            id: d.id,
            title: d.title,
            status: d.status,
            author: d.author,
            assignee: d.assignee,
            source: d.source,
            target: d.target,
            head: d.head,
            tags: d.tags,
            created_at: d.created_at,
            updated_at: d.updated_at,
            comments: d.comments.iter().filter(|c| !c.notification).count() as u64,
        }
    }
}
