//! What frontends show of issues (the shapes of `--json` output).

use std::collections::{BTreeMap, BTreeSet};

use forge_git::{FileDiff, FileStatus};
use serde::{Deserialize, Serialize};

use crate::doc::{CommentDoc, IssueDoc};
use crate::issues::ListedIssue;

/// A number as JSON: a number, or `"~1"` for one not given by the forge yet.
fn number_json<S: serde::Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    if *n >= crate::engine::PROVISIONAL_BASE {
        s.serialize_str(&crate::display_number(*n))
    } else {
        s.serialize_u64(*n)
    }
}

/// An issue in a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueSummary {
    /// Number (`"~1"`: made offline, not numbered by the forge yet).
    #[serde(serialize_with = "number_json")]
    pub id: u64,
    /// Title.
    pub title: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// Author username.
    pub author: String,
    /// Assignee username.
    pub assignee: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Milestone.
    pub milestone: Option<String>,
    /// Private flag.
    pub private: bool,
    /// Creation time.
    pub created_at: String,
    /// Last activity (fields or comments).
    pub updated_at: String,
    /// Number of comments.
    pub comments: u64,
}

impl From<ListedIssue> for IssueSummary {
    fn from(row: ListedIssue) -> Self {
        let d = row.doc;
        IssueSummary {
            id: d.number,
            title: d.title,
            status: d.status.as_str(),
            author: d.author,
            assignee: d.assignee,
            tags: d.tags,
            priority: d.priority,
            milestone: d.milestone,
            private: d.private,
            created_at: d.created_at,
            updated_at: forge_core::time::epoch_to_rfc3339(row.updated_at).unwrap_or(d.updated_at),
            comments: row.comments,
        }
    }
}

/// A comment as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommentView {
    /// Id.
    pub id: String,
    /// Author username.
    pub author: String,
    /// Markdown body.
    pub body: String,
    /// Creation time.
    pub created_at: String,
    /// Last edit time.
    pub edited_at: Option<String>,
    /// A record of field changes rather than words (Pagure's "Metadata
    /// Update" comments, kept by import); shown only when set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub notification: bool,
    /// Reactions.
    pub reactions: BTreeMap<String, BTreeSet<String>>,
}

impl From<CommentDoc> for CommentView {
    fn from(c: CommentDoc) -> Self {
        CommentView {
            id: c.id,
            author: c.author,
            body: c.body,
            created_at: c.created_at,
            edited_at: c.edited_at,
            notification: c.notification,
            reactions: c.reactions,
        }
    }
}

/// One issue in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssueDetails {
    /// Number (`"~1"`: made offline, not numbered by the forge yet).
    #[serde(serialize_with = "number_json")]
    pub id: u64,
    /// Stable unique id.
    pub uid: String,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// Why it was closed.
    pub close_reason: Option<String>,
    /// When it was closed.
    pub closed_at: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Author username.
    pub author: String,
    /// Assignee username.
    pub assignee: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Milestone.
    pub milestone: Option<String>,
    /// Private flag.
    pub private: bool,
    /// Custom fields.
    pub custom_fields: BTreeMap<String, String>,
    /// Issues it depends on.
    pub depends: BTreeSet<u64>,
    /// Issues it blocks.
    pub blocks: BTreeSet<u64>,
    /// Watchers.
    pub watchers: BTreeSet<String>,
    /// Creation time.
    pub created_at: String,
    /// Last activity.
    pub updated_at: String,
    /// Comments, oldest first.
    pub comments: Vec<CommentView>,
}

impl IssueDetails {
    pub(crate) fn new(d: IssueDoc, comments: Vec<CommentView>, updated_at: String) -> Self {
        IssueDetails {
            id: d.number,
            uid: d.uid,
            title: d.title,
            body: d.body,
            status: d.status.as_str(),
            close_reason: d.close_reason,
            closed_at: d.closed_at,
            closed_by: d.closed_by,
            author: d.author,
            assignee: d.assignee,
            tags: d.tags,
            priority: d.priority,
            milestone: d.milestone,
            private: d.private,
            custom_fields: d.custom_fields,
            depends: d.depends,
            blocks: d.blocks,
            watchers: d.watchers,
            created_at: d.created_at,
            updated_at,
            comments,
        }
    }
}

/// A changed file as `--json` and the HTTP API show it (keys in the order
/// the CLI always printed them; modes in octal as git writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiffView {
    /// Lines added.
    pub additions: usize,
    /// Whether git sees binary content.
    pub binary: bool,
    /// Lines removed.
    pub deletions: usize,
    /// Mode after (`100644`...; `000000` when absent).
    pub new_mode: String,
    /// Path after.
    pub new_path: Option<String>,
    /// Mode before.
    pub old_mode: String,
    /// Path before.
    pub old_path: Option<String>,
    /// Unified patch (absent for binary files or past the size limit).
    pub patch: Option<String>,
    /// `added`, `modified`, `renamed`...
    pub status: String,
}

impl From<&FileDiff> for FileDiffView {
    fn from(f: &FileDiff) -> Self {
        FileDiffView {
            additions: f.additions,
            binary: f.binary,
            deletions: f.deletions,
            new_mode: format!("{:06o}", f.new_mode),
            new_path: f.new_path.clone(),
            old_mode: format!("{:06o}", f.old_mode),
            old_path: f.old_path.clone(),
            patch: f.patch.clone(),
            status: f.status.as_str().to_string(),
        }
    }
}

impl FileDiffView {
    /// Back to the library's type; `None` when the status or a mode is not
    /// one git writes.
    pub fn to_diff(&self) -> Option<FileDiff> {
        Some(FileDiff {
            old_path: self.old_path.clone(),
            new_path: self.new_path.clone(),
            status: FileStatus::parse(&self.status)?,
            old_mode: u32::from_str_radix(&self.old_mode, 8).ok()?,
            new_mode: u32::from_str_radix(&self.new_mode, 8).ok()?,
            binary: self.binary,
            additions: self.additions,
            deletions: self.deletions,
            patch: self.patch.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_diff_survives_its_json_view() {
        let diff = FileDiff {
            old_path: Some("a.txt".into()),
            new_path: Some("b.txt".into()),
            status: FileStatus::Renamed,
            old_mode: 0o100644,
            new_mode: 0o100755,
            binary: false,
            additions: 2,
            deletions: 1,
            patch: Some("@@ -1 +1,2 @@\n-x\n+y\n+z\n".into()),
        };
        let view = FileDiffView::from(&diff);
        assert_eq!(
            (view.old_mode.as_str(), view.status.as_str()),
            ("100644", "renamed")
        );
        let text = serde_json::to_string(&view).expect("json");
        let back: FileDiffView = serde_json::from_str(&text).expect("parse");
        assert_eq!(back.to_diff(), Some(diff));
        let bad = FileDiffView {
            status: "exploded".into(),
            ..view
        };
        assert_eq!(bad.to_diff(), None);
    }
}
