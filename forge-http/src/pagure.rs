//! Pagure's JSON shapes, defined once: the server encodes its answers with
//! them and `forge --remote` decodes those answers with them. forge's own
//! fields travel beside Pagure's (clients ignore what they do not know).
//!
//! Strings are `Cow`s: the server borrows from what it renders (the issue
//! listing's hot path copies nothing), a client owns what it decodes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use forge_tickets::request::PullCommit;
use forge_tickets::view::{CommentView, IssueDetails, IssueSummary};
use forge_tickets::{FlagView, PullCommentView, PullDetails, PullSummary, SourceView};
use serde::{Deserialize, Serialize};

/// Epoch seconds as Pagure writes times (a string).
pub fn epoch(rfc3339: &str) -> String {
    forge_core::time::parse_rfc3339(rfc3339)
        .unwrap_or(0)
        .to_string()
}

/// Back from Pagure's epoch string (or number) to RFC 3339.
fn rfc3339(epoch: &EpochText) -> String {
    let seconds = match epoch {
        EpochText::Text(s) => s.parse::<i64>().ok(),
        EpochText::Number(n) => Some(*n),
    };
    seconds
        .and_then(forge_core::time::epoch_to_rfc3339)
        .unwrap_or_default()
}

/// A time as Pagure sends it: epoch seconds as a string, or as a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EpochText {
    /// `"1796160142"`.
    Text(String),
    /// `1796160142`.
    Number(i64),
}

impl EpochText {
    fn of(rfc3339: &str) -> EpochText {
        EpochText::Text(epoch(rfc3339))
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Full name (empty when unknown).
    #[serde(default)]
    pub fullname: String,
    /// Username.
    pub name: String,
    /// `user/<name>`.
    #[serde(default)]
    pub url_path: String,
}

impl User {
    /// A user with the full name given.
    pub fn new(name: &str, fullname: String) -> User {
        User {
            fullname,
            name: name.to_string(),
            url_path: format!("user/{name}"),
        }
    }
}

/// A comment of an issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueComment<'a> {
    /// Markdown body.
    pub comment: Cow<'a, str>,
    /// Creation time.
    pub date_created: EpochText,
    /// Last edit time.
    #[serde(default)]
    pub edited_on: Option<EpochText>,
    /// Pagure's editor (forge keeps it in the document; not shown).
    #[serde(default)]
    pub editor: Option<User>,
    /// Id.
    pub id: Cow<'a, str>,
    /// Pagure's "Metadata Update" marker (always false here).
    #[serde(default)]
    pub notification: bool,
    /// Pagure's threading (none here).
    #[serde(default)]
    pub parent: Option<u64>,
    /// Reactions: emoji to usernames.
    #[serde(default)]
    pub reactions: Cow<'a, BTreeMap<String, BTreeSet<String>>>,
    /// Author.
    pub user: User,
}

/// A custom field of an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField<'a> {
    /// Field name.
    pub name: Cow<'a, str>,
    /// Value.
    pub value: Cow<'a, str>,
}

/// An issue (plus forge's `uid` and `watchers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue<'a> {
    /// Assignee.
    #[serde(default)]
    pub assignee: Option<User>,
    /// Issues it blocks (numbers as strings).
    #[serde(default)]
    pub blocks: Vec<String>,
    /// Close reason.
    #[serde(default)]
    pub close_status: Option<Cow<'a, str>>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<EpochText>,
    /// Who closed it.
    #[serde(default)]
    pub closed_by: Option<User>,
    /// Comments, oldest first.
    #[serde(default)]
    pub comments: Vec<IssueComment<'a>>,
    /// Markdown body.
    pub content: Cow<'a, str>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Vec<CustomField<'a>>,
    /// Creation time.
    pub date_created: EpochText,
    /// Issues it depends on (numbers as strings).
    #[serde(default)]
    pub depends: Vec<String>,
    /// Number.
    pub id: u64,
    /// Last activity.
    pub last_updated: EpochText,
    /// Milestone.
    #[serde(default)]
    pub milestone: Option<Cow<'a, str>>,
    /// Priority.
    #[serde(default)]
    pub priority: Option<Cow<'a, str>>,
    /// Private flag.
    #[serde(default)]
    pub private: bool,
    /// `Open` or `Closed`.
    pub status: Cow<'a, str>,
    /// Tags.
    #[serde(default)]
    pub tags: Cow<'a, BTreeSet<String>>,
    /// Title.
    pub title: Cow<'a, str>,
    /// forge's stable unique id.
    #[serde(default)]
    pub uid: Cow<'a, str>,
    /// Author.
    pub user: User,
    /// forge's watchers.
    #[serde(default)]
    pub watchers: Cow<'a, BTreeSet<String>>,
}

impl<'a> Issue<'a> {
    /// An issue as the server answers it; `user` gives a username's
    /// Pagure shape (with its full name).
    pub fn of(i: &'a IssueDetails, user: &dyn Fn(&str) -> User) -> Issue<'a> {
        let some_user = |u: &Option<String>| u.as_deref().map(user);
        Issue {
            assignee: some_user(&i.assignee),
            blocks: i.blocks.iter().map(ToString::to_string).collect(),
            close_status: i.close_reason.as_deref().map(Cow::Borrowed),
            closed_at: i.closed_at.as_deref().map(EpochText::of),
            closed_by: some_user(&i.closed_by),
            comments: i
                .comments
                .iter()
                .map(|c| IssueComment::of(c, user))
                .collect(),
            content: Cow::Borrowed(&i.body),
            custom_fields: i
                .custom_fields
                .iter()
                .map(|(name, value)| CustomField {
                    name: Cow::Borrowed(name),
                    value: Cow::Borrowed(value),
                })
                .collect(),
            date_created: EpochText::of(&i.created_at),
            depends: i.depends.iter().map(ToString::to_string).collect(),
            id: i.id,
            last_updated: EpochText::of(&i.updated_at),
            milestone: i.milestone.as_deref().map(Cow::Borrowed),
            priority: i.priority.as_deref().map(Cow::Borrowed),
            private: i.private,
            status: Cow::Borrowed(if i.status == "open" { "Open" } else { "Closed" }),
            tags: Cow::Borrowed(&i.tags),
            title: Cow::Borrowed(&i.title),
            uid: Cow::Borrowed(&i.uid),
            user: user(&i.author),
            watchers: Cow::Borrowed(&i.watchers),
        }
    }

    /// Back to the library's shape (what `forge --remote` prints).
    pub fn into_details(self) -> IssueDetails {
        let numbers = |list: &[String]| list.iter().filter_map(|n| n.parse().ok()).collect();
        IssueDetails {
            id: self.id,
            uid: self.uid.into_owned(),
            title: self.title.into_owned(),
            body: self.content.into_owned(),
            status: if self.status == "Open" {
                "open"
            } else {
                "closed"
            },
            close_reason: self.close_status.map(Cow::into_owned),
            closed_at: self.closed_at.as_ref().map(rfc3339),
            closed_by: self.closed_by.map(|u| u.name),
            author: self.user.name,
            assignee: self.assignee.map(|u| u.name),
            tags: self.tags.into_owned(),
            priority: self.priority.map(Cow::into_owned),
            milestone: self.milestone.map(Cow::into_owned),
            private: self.private,
            custom_fields: self
                .custom_fields
                .into_iter()
                .map(|f| (f.name.into_owned(), f.value.into_owned()))
                .collect(),
            depends: numbers(&self.depends),
            blocks: numbers(&self.blocks),
            watchers: self.watchers.into_owned(),
            created_at: rfc3339(&self.date_created),
            updated_at: rfc3339(&self.last_updated),
            comments: self
                .comments
                .into_iter()
                .map(IssueComment::into_view)
                .collect(),
        }
    }

    /// The listing's line for it.
    pub fn into_summary(self) -> IssueSummary {
        let d = self.into_details();
        IssueSummary {
            id: d.id,
            title: d.title,
            status: d.status,
            author: d.author,
            assignee: d.assignee,
            tags: d.tags,
            priority: d.priority,
            milestone: d.milestone,
            private: d.private,
            created_at: d.created_at,
            updated_at: d.updated_at,
            comments: d.comments.len() as u64,
        }
    }
}

impl<'a> IssueComment<'a> {
    /// A comment as the server answers it.
    pub fn of(c: &'a CommentView, user: &dyn Fn(&str) -> User) -> IssueComment<'a> {
        IssueComment {
            comment: Cow::Borrowed(&c.body),
            date_created: EpochText::of(&c.created_at),
            edited_on: c.edited_at.as_deref().map(EpochText::of),
            editor: None,
            id: Cow::Borrowed(&c.id),
            notification: false,
            parent: None,
            reactions: Cow::Borrowed(&c.reactions),
            user: user(&c.author),
        }
    }

    fn into_view(self) -> CommentView {
        CommentView {
            id: self.id.into_owned(),
            author: self.user.name,
            body: self.comment.into_owned(),
            created_at: rfc3339(&self.date_created),
            edited_at: self.edited_on.as_ref().map(rfc3339),
            reactions: self.reactions.into_owned(),
        }
    }
}

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
    pub user: FlagUser,
    /// When.
    pub date_updated: EpochText,
}

/// Who posted a flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagUser {
    /// Username.
    pub name: String,
}

impl Flag {
    /// A flag as the server answers it.
    pub fn of(f: &FlagView) -> Flag {
        Flag {
            username: f.name.clone(),
            status: f.status.to_string(),
            percent: f.percent,
            comment: f.comment.clone(),
            url: f.url.clone(),
            user: FlagUser {
                name: f.username.clone(),
            },
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
    /// Id.
    pub id: String,
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
    /// Pagure's "Metadata Update" marker (always false here).
    #[serde(default)]
    pub notification: bool,
    /// forge's: the side of the diff (`new`, `old`).
    #[serde(default)]
    pub side: Option<forge_tickets::doc::Side>,
    /// forge's: whether the line changed since.
    #[serde(default)]
    pub outdated: bool,
}

/// A repository as a pull request names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoName {
    /// Full name.
    pub fullname: String,
    /// Name (absent for a source repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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
    /// Pagure's uid (the number as text).
    pub uid: String,
    /// Title.
    pub title: String,
    /// Description.
    pub initial_comment: String,
    /// Target branch.
    pub branch: String,
    /// Source branch.
    pub branch_from: String,
    /// Source repository.
    pub repo_from: RepoName,
    /// The project.
    pub project: RepoName,
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
    /// forge's: who closed or merged it.
    #[serde(default)]
    pub closed_by: Option<String>,
}

impl PullRequest {
    /// A pull request of `project` as the server answers it.
    pub fn of(
        d: &PullDetails,
        project: &forge_core::project::Project,
        user: &dyn Fn(&str) -> User,
    ) -> PullRequest {
        PullRequest {
            id: d.id,
            uid: d.id.to_string(),
            title: d.title.clone(),
            initial_comment: d.body.clone(),
            branch: d.target.clone(),
            branch_from: d.source.branch.clone(),
            repo_from: RepoName {
                fullname: d.source.repo.clone(),
                name: None,
            },
            project: RepoName {
                fullname: project.full_name.clone(),
                name: Some(project.name.clone()),
            },
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
                    id: c.id.clone(),
                    comment: c.body.clone(),
                    date_created: EpochText::of(&c.created_at),
                    user: user(&c.author),
                    commit: c.commit.clone(),
                    filename: c.path.clone(),
                    line: c.line,
                    tree: None,
                    parent: None,
                    edited_on: c.edited_at.as_deref().map(EpochText::of),
                    notification: false,
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
            flags: d.flags.iter().map(Flag::of).collect(),
            linked_issues: d.linked_issues.clone(),
            watchers: d.watchers.clone(),
            closed_by: d.closed_by.clone(),
        }
    }

    /// Back to the library's shape (what `forge --remote pr show` prints).
    pub fn into_details(self) -> PullDetails {
        PullDetails {
            id: self.id,
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
                    id: c.id,
                    author: c.user.name,
                    body: c.comment,
                    created_at: rfc3339(&c.date_created),
                    edited_at: c.edited_on.as_ref().map(rfc3339),
                    path: c.filename,
                    line: c.line,
                    side: c.side,
                    commit: c.commit,
                    outdated: c.outdated,
                })
                .collect(),
            merge_commit: self.merge_commit,
            closed_by: self.closed_by,
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
            comments: d.comments.len() as u64,
        }
    }
}

/// `GET <repo>/issues`.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueList {
    /// The page's issues.
    pub issues: Vec<Issue<'static>>,
    /// How many match in all.
    pub total_issues: u64,
    /// Links to the other pages.
    pub pagination: Pagination,
}

/// `GET <repo>/pull-requests`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullList {
    /// The page's requests.
    pub requests: Vec<PullRequest>,
    /// How many match in all.
    pub total_requests: u64,
    /// Links to the other pages.
    pub pagination: Pagination,
}

/// Pagination of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    /// This page (from 1).
    pub page: u64,
    /// How many pages.
    pub pages: u64,
    /// Items per page.
    pub per_page: u64,
    /// The previous page's URL.
    pub prev: Option<String>,
    /// The next page's URL.
    pub next: Option<String>,
    /// The first page's URL.
    pub first: String,
    /// The last page's URL.
    pub last: String,
}

/// `POST <repo>/new_issue` and `POST <repo>/issue/<id>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueAnswer<'a> {
    /// The issue now.
    pub issue: Issue<'a>,
    /// What happened.
    pub message: String,
}

/// `POST <repo>/pull-request/<id>/vote`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoteAnswer {
    /// What happened.
    pub message: String,
    /// The score now.
    pub score: i64,
    /// The explicit votes now.
    pub votes: BTreeMap<String, i8>,
}

/// `POST <repo>/pull-request/<id>/merge`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MergeAnswer {
    /// Pagure's message.
    pub message: String,
    /// forge's: the commit the target now points at.
    #[serde(default)]
    pub merge_commit: Option<String>,
    /// forge's: the issues it closed.
    #[serde(default)]
    pub closed_issues: Vec<u64>,
}

/// `GET <repo>/pull-request/<id>/diff` (forge's own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiffAnswer {
    /// The files it changes.
    pub files: Vec<forge_tickets::view::FileDiffView>,
}

/// An error answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// What went wrong.
    pub error: String,
    /// Pagure's code.
    pub error_code: String,
    /// Per field.
    #[serde(default)]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IssueDetails {
        IssueDetails {
            id: 7,
            uid: "0123456789abcdef0123456789abcdef".into(),
            title: "Loose handle".into(),
            body: "It *wobbles*".into(),
            status: "closed",
            close_reason: Some("Fixed".into()),
            closed_at: Some("2026-01-02T03:04:05Z".into()),
            closed_by: Some("alice".into()),
            author: "bob".into(),
            assignee: Some("alice".into()),
            tags: ["bug".to_string()].into(),
            priority: Some("High".into()),
            milestone: Some("1.0".into()),
            private: true,
            custom_fields: [("os".to_string(), "linux".to_string())].into(),
            depends: [1].into(),
            blocks: [9].into(),
            watchers: ["bob".to_string()].into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-02T03:04:05Z".into(),
            comments: vec![CommentView {
                id: "c1".into(),
                author: "alice".into(),
                body: "Glue it".into(),
                created_at: "2026-01-01T10:00:00Z".into(),
                edited_at: None,
                reactions: [("+1".to_string(), ["bob".to_string()].into())].into(),
            }],
        }
    }

    /// What the server writes, a client reads back as the same issue.
    #[test]
    fn an_issue_survives_its_pagure_json() {
        let details = sample();
        let user = |name: &str| User::new(name, format!("{name} full"));
        let text = serde_json::to_string(&Issue::of(&details, &user)).expect("json");
        let value: serde_json::Value = serde_json::from_str(&text).expect("value");
        assert_eq!(value["status"], "Closed");
        assert_eq!(value["date_created"], "1767225600");
        assert_eq!(value["user"]["fullname"], "bob full");
        assert_eq!(value["depends"], serde_json::json!(["1"]));
        let back: Issue<'static> = serde_json::from_str(&text).expect("decode");
        assert_eq!(back.into_details(), details);
    }

    #[test]
    fn numbers_for_times_are_read_too() {
        assert_eq!(
            rfc3339(&EpochText::Number(1767225600)),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(rfc3339(&EpochText::Text("x".into())), "");
    }
}
