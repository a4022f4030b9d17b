//! What callers give and get of pull requests: new requests, edits,
//! flags, and the shapes `pr list` and `pr show` print.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::doc::{CommentDoc, Side};
use crate::request::{FlagStatus, PullCommit, PullDoc};

/// A new pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPull {
    /// Title (required).
    pub title: String,
    /// Markdown description.
    pub body: String,
    /// The source branch.
    pub from_branch: String,
    /// The source is this user's fork of the project.
    pub from_fork: Option<String>,
    /// The source is this remote git URL.
    pub from_url: Option<String>,
    /// The target branch (default: the repository's default branch).
    pub to: Option<String>,
    /// Assignee username.
    pub assignee: Option<String>,
}

/// Changes to a request's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullEdit {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub body: Option<String>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Start (`true`) or stop (`false`) watching as the actor.
    pub watch: Option<bool>,
}

/// Where an inline comment goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineTarget {
    /// File path.
    pub path: String,
    /// Line (1-based).
    pub line: u32,
    /// Commit (default: the request's head; the base for the old side).
    pub commit: Option<String>,
    /// Side of the diff.
    pub side: Side,
}

/// A flag as posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFlag {
    /// Flag name (a CI job), unique per request.
    pub name: String,
    /// Its state.
    pub status: FlagStatus,
    /// Completion, 0 to 100.
    pub percent: Option<u8>,
    /// Free text.
    pub comment: String,
    /// Link (http or https).
    pub url: Option<String>,
}

/// A request in a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullSummary {
    /// Number.
    pub id: u64,
    /// Title.
    pub title: String,
    /// `open`, `closed` or `merged`.
    pub status: &'static str,
    /// Author.
    pub author: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// Source repository and branch.
    pub source: SourceView,
    /// Target branch.
    pub target: String,
    /// Head commit.
    pub head: String,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Creation time.
    pub created_at: String,
    /// Last activity.
    pub updated_at: String,
    /// Number of comments.
    pub comments: u64,
}

/// Where a request comes from, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceView {
    /// The project, `forks/<user>/<project>` or the URL.
    pub repo: String,
    /// Branch.
    pub branch: String,
}

/// A flag as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagView {
    /// Name.
    pub name: String,
    /// State.
    pub status: &'static str,
    /// Completion.
    pub percent: Option<u8>,
    /// Free text.
    pub comment: String,
    /// Link.
    pub url: Option<String>,
    /// Who posted it.
    pub username: String,
    /// The commit it was posted for.
    pub commit: String,
    /// When it was first posted.
    pub created_at: String,
    /// When.
    pub updated_at: String,
}

/// A comment of a request as shown (inline ones carry their anchor).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullCommentView {
    /// Id.
    pub id: String,
    /// Author.
    pub author: String,
    /// Markdown body.
    pub body: String,
    /// Creation time.
    pub created_at: String,
    /// Last edit time.
    pub edited_at: Option<String>,
    /// File of an inline comment.
    pub path: Option<String>,
    /// Line of an inline comment.
    pub line: Option<u32>,
    /// Side (`new` or `old`) of an inline comment.
    pub side: Option<Side>,
    /// Commit an inline comment was made on.
    pub commit: Option<String>,
    /// Whether the anchored line has changed since.
    pub outdated: bool,
    /// A record of changes to the request (merged, closed, reopened) rather
    /// than words, as Pagure's notification comments; shown only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub notification: bool,
}

impl From<CommentDoc> for PullCommentView {
    fn from(c: CommentDoc) -> Self {
        let anchor = c.anchor;
        PullCommentView {
            id: c.id,
            author: c.author,
            body: c.body,
            created_at: c.created_at,
            edited_at: c.edited_at,
            path: anchor.as_ref().map(|a| a.path.clone()),
            line: anchor.as_ref().map(|a| a.line),
            side: anchor.as_ref().map(|a| a.side),
            commit: anchor.as_ref().map(|a| a.commit.clone()),
            outdated: anchor.is_some_and(|a| a.outdated),
            notification: c.notification,
        }
    }
}

/// A request with everything `pr show` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullDetails {
    /// Number.
    pub id: u64,
    /// Stable unique id (Pagure's uid for an imported request).
    pub uid: String,
    /// Title.
    pub title: String,
    /// Description.
    pub body: String,
    /// `open`, `closed` or `merged`.
    pub status: &'static str,
    /// Author.
    pub author: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Source repository and branch.
    pub source: SourceView,
    /// Target branch.
    pub target: String,
    /// Head commit.
    pub head: String,
    /// Merge base with the target.
    pub base: String,
    /// Commits, newest first.
    pub commits: Vec<PullCommit>,
    /// `up-to-date`, `fast-forward`, `merge` or `conflicts`; `None` once closed or merged.
    pub merge_status: Option<&'static str>,
    /// Conflicting paths.
    pub conflicts: Vec<String>,
    /// Vote score.
    pub score: i64,
    /// Explicit votes.
    pub votes: BTreeMap<String, i8>,
    /// Flags on the head commit.
    pub flags: Vec<FlagView>,
    /// Issues named in the body or the commits.
    pub linked_issues: BTreeSet<u64>,
    /// Comments, oldest first.
    pub comments: Vec<PullCommentView>,
    /// The merge commit, once merged.
    pub merge_commit: Option<String>,
    /// Who closed or merged it.
    pub closed_by: Option<String>,
    /// When.
    pub closed_at: Option<String>,
    /// Watchers.
    pub watchers: BTreeSet<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeOutcome {
    /// The request after the merge.
    pub request: PullDoc,
    /// The commit the target branch now points at.
    pub merge_commit: String,
    /// Issues closed because the request or its commits said `Fixes #N`.
    pub closed_issues: Vec<u64>,
}

/// One merge gate of a project's settings, for one request and merger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateState {
    /// The setting: `pr_only_assignee_merge`, `pr_min_score`,
    /// `pr_required_flags`.
    pub gate: String,
    /// Whether it lets the merge through.
    pub ok: bool,
    /// Why, in words.
    pub detail: String,
}

/// What a merge would meet now ([`PullRequests::merge_check`]).
///
/// [`PullRequests::merge_check`]: super::PullRequests::merge_check
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeCheck {
    /// Whether the actor's role and the target branch's rules let them merge.
    pub may_merge: bool,
    /// The gates of the project's settings, in order (none once the
    /// request is closed or merged).
    pub gates: Vec<GateState>,
}
