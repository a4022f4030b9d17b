//! The JSON documents of a project's requests repository (pull requests).
//!
//! Layout, as for issues (docs/ticket-format.md): request `N` lives in the
//! folder `<N mod 100, two digits>/<N>/`, with its fields in `request.json`
//! and each comment (inline or not) in its own `comment-<id>.json`, using
//! the same comment document as issues. Numbers come from the project's
//! issue sequence, so `#N` names one issue or one request, never both.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::doc::{check_schema, check_times, issue_dir, CommentDoc};
use crate::engine::kind::{self, DocFile, PROVISIONAL_BASE};
use crate::pulls::Pulls;

/// A pull request's own fields (`request.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullDoc {
    /// Username of the assignee (the reviewer expected to merge).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Username of the author.
    pub author: String,
    /// The merge base of the target branch and the head, when last refreshed.
    pub base: String,
    /// Markdown description.
    pub body: String,
    /// When it was closed or merged.
    #[serde(default)]
    pub closed_at: Option<String>,
    /// Who closed or merged it.
    #[serde(default)]
    pub closed_by: Option<String>,
    /// The commits it brings (base..head), newest first.
    #[serde(default)]
    pub commits: Vec<PullCommit>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// CI statuses on the head commit, by flag name.
    #[serde(default)]
    pub flags: BTreeMap<String, Flag>,
    /// The source commit it proposes (mirrored as `refs/pull/<N>/head`).
    pub head: String,
    /// Issues it names (`Fixes #N`, `Relates #N`...) in its body or commits.
    #[serde(default)]
    pub linked_issues: BTreeSet<u64>,
    /// The commit that landed on the target when merged.
    #[serde(default)]
    pub merge_commit: Option<String>,
    /// Number within the project (shared sequence with issues).
    pub number: u64,
    /// Format version.
    pub schema: u32,
    /// Where the change comes from.
    pub source: Source,
    /// `open`, `closed` or `merged`.
    pub status: PullStatus,
    /// Tags, sorted.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// The branch of the project's repository it goes into.
    pub target: String,
    /// One-line title.
    pub title: String,
    /// Stable unique id (32 hex digits).
    pub uid: String,
    /// Time of the last change to these fields (RFC 3339 UTC).
    pub updated_at: String,
    /// Explicit votes: username to +1 or -1.
    #[serde(default)]
    pub votes: BTreeMap<String, i8>,
    /// Usernames that follow it.
    #[serde(default)]
    pub watchers: BTreeSet<String>,
}

/// Where a pull request's commits come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The branch.
    pub branch: String,
    /// The owner of the fork it comes from (`repos/forks/<fork>/<project>.git`).
    #[serde(default)]
    pub fork: Option<String>,
    /// The repository, as shown: the project, `forks/<user>/<project>` or the URL.
    pub repo: String,
    /// The remote git URL it is fetched from.
    #[serde(default)]
    pub url: Option<String>,
}

/// A commit of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullCommit {
    /// Commit id.
    pub id: String,
    /// First line of its message.
    pub title: String,
}

/// Pull-request status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullStatus {
    /// Open.
    Open,
    /// Closed without merging.
    Closed,
    /// Merged into the target.
    Merged,
}

impl PullStatus {
    /// `open`, `closed` or `merged`.
    pub fn as_str(self) -> &'static str {
        match self {
            PullStatus::Open => "open",
            PullStatus::Closed => "closed",
            PullStatus::Merged => "merged",
        }
    }
}

/// A CI status on a pull request's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// The head commit it was posted for.
    pub commit: String,
    /// Free text.
    #[serde(default)]
    pub comment: String,
    /// Completion, 0 to 100.
    #[serde(default)]
    pub percent: Option<u8>,
    /// The state.
    pub status: FlagStatus,
    /// When it was last posted.
    pub updated_at: String,
    /// When it was first posted (flags written before forge kept it: absent,
    /// read as `updated_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Link to the CI run.
    #[serde(default)]
    pub url: Option<String>,
    /// Who posted it.
    pub username: String,
}

/// The state of a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagStatus {
    /// Passed.
    Success,
    /// Failed.
    Failure,
    /// Could not run.
    Error,
    /// Running or queued.
    Pending,
    /// Stopped.
    Canceled,
}

impl FlagStatus {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagStatus::Success => "success",
            FlagStatus::Failure => "failure",
            FlagStatus::Error => "error",
            FlagStatus::Pending => "pending",
            FlagStatus::Canceled => "canceled",
        }
    }

    /// Parses a status name; `None` for anything else.
    pub fn parse(text: &str) -> Option<FlagStatus> {
        [
            FlagStatus::Success,
            FlagStatus::Failure,
            FlagStatus::Error,
            FlagStatus::Pending,
            FlagStatus::Canceled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The path of a request's fields.
pub fn request_path(number: u64) -> String {
    format!("{}/request.json", issue_dir(number))
}

/// Parses a request document at its path, naming what is wrong.
pub fn parse_request(path: &str, bytes: &[u8]) -> Result<PullDoc, String> {
    match kind::classify(path, "request.json") {
        Some((slot, DocFile::Main)) => kind::parse_doc::<Pulls>(&slot, path, bytes),
        _ => Err(format!("{path}: not the path of a request document")),
    }
}

/// What serde cannot check of a request.
pub(crate) fn check_request(doc: &PullDoc) -> Result<(), String> {
    check_schema(doc.schema)?;
    if doc.number == 0 || doc.number >= PROVISIONAL_BASE {
        return Err(format!(
            "holds request {} but the path is for another request",
            doc.number
        ));
    }
    if doc.title.trim().is_empty() {
        return Err("title is empty".into());
    }
    check_times(&[
        ("created_at", Some(&doc.created_at)),
        ("updated_at", Some(&doc.updated_at)),
        ("closed_at", doc.closed_at.as_ref()),
    ])?;
    if let Some((name, _)) = doc.votes.iter().find(|(_, v)| !matches!(v, -1 | 1)) {
        return Err(format!("vote of `{name}` must be 1 or -1"));
    }
    Ok(())
}

/// The vote a comment casts: exactly `+1`, `-1`, `:thumbsup:` or `:thumbsdown:`.
pub fn comment_vote(body: &str) -> Option<i8> {
    match body.trim() {
        "+1" | ":thumbsup:" | ":+1:" | "👍" => Some(1),
        "-1" | ":thumbsdown:" | ":-1:" | "👎" => Some(-1),
        _ => None,
    }
}

/// The score of a request: one vote per user, the explicit vote if given,
/// else the latest vote cast in a comment (comments oldest first). The
/// author's own votes do not count.
pub fn score(doc: &PullDoc, comments: &[CommentDoc]) -> i64 {
    let mut by_user: BTreeMap<&str, i8> = BTreeMap::new();
    for c in comments.iter().filter(|c| c.author != doc.author) {
        if let Some(v) = comment_vote(&c.body) {
            by_user.insert(&c.author, v);
        }
    }
    for (user, v) in doc.votes.iter().filter(|(u, _)| **u != doc.author) {
        by_user.insert(user, *v);
    }
    by_user.values().map(|v| i64::from(*v)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::SCHEMA;

    fn comment(author: &str, body: &str) -> CommentDoc {
        CommentDoc {
            anchor: None,
            author: author.into(),
            body: body.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            edited_at: None,
            editor: None,
            id: "c".into(),
            notification: false,
            reactions: BTreeMap::new(),
            schema: SCHEMA,
        }
    }

    #[test]
    fn paths_and_votes() {
        assert_eq!(request_path(7), "07/7/request.json");
        assert!(parse_request("07/7/issue.json", b"{}").is_err());
        assert_eq!(comment_vote(" +1 "), Some(1));
        assert_eq!(comment_vote(":thumbsdown:"), Some(-1));
        assert_eq!(comment_vote("+1 looks good"), None);
    }

    #[test]
    fn score_counts_each_user_once() {
        let doc: PullDoc = serde_json::from_value(serde_json::json!({
            "author": "a", "base": "", "body": "", "created_at": "2026-01-01T00:00:00Z",
            "head": "", "number": 1, "schema": 1, "source": {"branch": "b", "repo": "p"},
            "status": "open", "target": "main", "title": "t", "uid": "u",
            "updated_at": "2026-01-01T00:00:00Z", "votes": {"carol": -1}
        }))
        .expect("doc");
        let comments = [
            comment("bob", "+1"),
            comment("bob", ":thumbsup:"),
            comment("dave", "-1"),
            comment("dave", "+1"),
            comment("carol", "+1"),
            comment("a", "+1"),
        ];
        // bob +1 (once), dave's latest +1, carol's explicit -1 overrides her comment
        assert_eq!(score(&doc, &comments), 1);
        let mut doc = doc;
        doc.votes.insert("eve".into(), 2);
        let bytes = crate::doc::to_bytes(&doc);
        let err = parse_request("01/1/request.json", &bytes).expect_err("bad vote");
        assert!(err.contains("eve"), "{err}");
    }
}
