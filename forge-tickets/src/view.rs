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

/// A comment's number, as Pagure's API gives comments integer ids: the
/// Pagure id of a comment imported from Pagure (ids ending `-p<id>`), else a
/// number read from a hash of its id, at least 2^32 so it never meets an
/// imported one, and under 2^53 so JavaScript reads it exactly. It depends
/// on the id alone, so it survives a reindex and is the same in every clone.
pub fn comment_number(id: &str) -> u64 {
    use sha2::{Digest, Sha256};
    if let Some(n) = id
        .rsplit_once("-p")
        .and_then(|(_, n)| n.parse::<u64>().ok())
        .filter(|n| *n < 1 << 32)
    {
        return n;
    }
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    const LOW: u64 = 1 << 32;
    const HIGH: u64 = 1 << 53;
    LOW + u64::from_be_bytes(first) % (HIGH - LOW)
}

impl CommentView {
    /// Its number ([`comment_number`]).
    pub fn number(&self) -> u64 {
        comment_number(&self.id)
    }
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
    /// The pull requests that name it (`Fixes #N`, `Relates #N`), by number.
    pub related_prs: Vec<RelatedPull>,
}

/// A pull request that names an issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedPull {
    /// Its number.
    pub id: u64,
    /// Its title.
    pub title: String,
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
            related_prs: Vec::new(),
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
    /// The blob after (40 zeros when absent).
    #[serde(default)]
    pub new_id: String,
    /// Mode after (`100644`...; `000000` when absent).
    pub new_mode: String,
    /// Path after.
    pub new_path: Option<String>,
    /// The blob before (40 zeros when absent).
    #[serde(default)]
    pub old_id: String,
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
            old_id: f.old_id.clone(),
            new_id: f.new_id.clone(),
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
            old_id: self.old_id.clone(),
            new_id: self.new_id.clone(),
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
    fn comment_numbers_keep_pagure_ids_and_are_stable_and_apart_otherwise() {
        assert_eq!(comment_number("20261201T212530Z-p4"), 4);
        let a = comment_number("20261202T073822Z998-6c2fdd70");
        assert_eq!(a, comment_number("20261202T073822Z998-6c2fdd70"));
        assert_ne!(a, comment_number("20261202T073822Z998-6c2fdd71"));
        assert!((1 << 32..1 << 53).contains(&a));
        // A `-p` id too large for Pagure's is hashed like any other.
        assert!(comment_number("x-p99999999999") >= 1 << 32);
    }

    #[test]
    fn a_file_diff_survives_its_json_view() {
        let diff = FileDiff {
            old_path: Some("a.txt".into()),
            new_path: Some("b.txt".into()),
            status: FileStatus::Renamed,
            old_mode: 0o100644,
            new_mode: 0o100755,
            old_id: "1".repeat(40),
            new_id: "2".repeat(40),
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
