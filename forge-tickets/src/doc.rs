//! The JSON documents of the tickets repository and where they live.
//!
//! Layout (see docs/ticket-format.md and `engine::kind`): issue `N` lives in
//! the folder `<N mod 100, two digits>/<N>/`, with its fields in `issue.json`
//! and each comment in its own `comment-<id>.json`. Comments are separate
//! files so that concurrent comments never touch the same file; folders are
//! bucketed so no tree object grows past about a hundred entries per ten
//! thousand issues. Comments of pull requests use the same [`CommentDoc`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::engine::kind::{self, DocFile, Slot, PROVISIONAL_BASE};
use crate::issues::Issues;

/// Version of the document format written by this forge.
pub const SCHEMA: u32 = 1;

/// An issue's own fields (`issue.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueDoc {
    /// Username of the assignee.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Username of the author.
    pub author: String,
    /// Issues this one blocks.
    #[serde(default)]
    pub blocks: BTreeSet<u64>,
    /// Markdown body.
    pub body: String,
    /// Why it was closed.
    #[serde(default)]
    pub close_reason: Option<String>,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<String>,
    /// Who closed it.
    #[serde(default)]
    pub closed_by: Option<String>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Custom fields by name.
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// Issues this one depends on.
    #[serde(default)]
    pub depends: BTreeSet<u64>,
    /// Milestone (one of the project's list).
    #[serde(default)]
    pub milestone: Option<String>,
    /// Number within the project (shared sequence with pull requests).
    pub number: u64,
    /// Priority (one of the project's list).
    #[serde(default)]
    pub priority: Option<String>,
    /// Visible only to author, assignee and ticket+ members.
    #[serde(default)]
    pub private: bool,
    /// Format version.
    pub schema: u32,
    /// `open` or `closed`.
    pub status: Status,
    /// Tags, sorted.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// One-line title.
    pub title: String,
    /// Stable unique id (32 hex digits), kept across imports.
    pub uid: String,
    /// Time of the last change to these fields (RFC 3339 UTC).
    pub updated_at: String,
    /// Usernames that follow the issue.
    #[serde(default)]
    pub watchers: BTreeSet<String>,
}

/// Issue status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Open.
    Open,
    /// Closed.
    Closed,
}

impl Status {
    /// `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

/// One comment (`comment-<id>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentDoc {
    /// Where an inline comment on a pull request points (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Anchor>,
    /// Username of the author.
    pub author: String,
    /// Markdown body.
    pub body: String,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last edit time.
    #[serde(default)]
    pub edited_at: Option<String>,
    /// Who edited it last.
    #[serde(default)]
    pub editor: Option<String>,
    /// Id, unique within the issue; sorts by creation time.
    pub id: String,
    /// A record of changes to the document's fields rather than something
    /// a person said (Pagure's "Metadata Update" comments; kept by import).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notification: bool,
    /// Reactions: emoji to the usernames that gave it.
    #[serde(default)]
    pub reactions: BTreeMap<String, BTreeSet<String>>,
    /// Format version.
    pub schema: u32,
}

/// Which side of a diff an inline comment is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The new version (the pull request's head): added or kept lines.
    New,
    /// The old version (the base): removed lines.
    Old,
}

/// Where an inline comment points: a line of a file at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// The commit the comment was made on.
    pub commit: String,
    /// Line number (1-based) in the file at that commit.
    pub line: u32,
    /// The text of that line when the comment was made; when the request
    /// moves and the line no longer reads the same, the comment is outdated.
    #[serde(default)]
    pub line_text: Option<String>,
    /// Set once the anchored line changed; the comment is kept.
    #[serde(default)]
    pub outdated: bool,
    /// File path.
    pub path: String,
    /// Side of the diff.
    pub side: Side,
}

/// The folder of issue `number`.
pub fn issue_dir(number: u64) -> String {
    Slot::Numbered(number).dir()
}

/// The path of an issue's fields.
pub fn issue_path(number: u64) -> String {
    format!("{}/issue.json", issue_dir(number))
}

/// The path of a comment.
pub fn comment_path(number: u64, comment_id: &str) -> String {
    format!("{}/comment-{comment_id}.json", issue_dir(number))
}

/// Whether a string may be a comment id (it becomes part of a file name).
pub fn valid_comment_id(id: &str) -> bool {
    crate::engine::kind::valid_id(id)
}

/// Serializes a document: sorted keys, two-space indentation, final newline.
///
/// The document structs declare their fields in alphabetical order and keep
/// their maps in `BTreeMap`s, so serializing them directly sorts the keys
/// (`keys_come_out_sorted` checks it).
pub fn to_bytes<T: Serialize>(doc: &T) -> Vec<u8> {
    let mut out =
        serde_json::to_vec_pretty(doc).expect("documents are plain data and always serialize");
    out.push(b'\n');
    out
}

/// Parses an issue document at its path, naming what is wrong.
pub fn parse_issue(path: &str, bytes: &[u8]) -> Result<IssueDoc, String> {
    match kind::classify(path, "issue.json") {
        Some((slot, DocFile::Main)) => kind::parse_doc::<Issues>(&slot, path, bytes),
        _ => Err(format!("{path}: not the path of an issue document")),
    }
}

/// Parses a comment document (of an issue or a pull request), naming what
/// is wrong.
pub fn parse_comment(path: &str, bytes: &[u8]) -> Result<CommentDoc, String> {
    let doc: CommentDoc = kind::parse_json(path, bytes)?;
    let named = path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_prefix("comment-"))
        .and_then(|f| f.strip_suffix(".json"));
    if named != Some(doc.id.as_str()) {
        return Err(format!(
            "{path}: comment id `{}` does not match the file name",
            doc.id
        ));
    }
    check_schema(doc.schema).map_err(|e| format!("{path}: {e}"))?;
    check_times(&[
        ("created_at", Some(&doc.created_at)),
        ("edited_at", doc.edited_at.as_ref()),
    ])
    .map_err(|e| format!("{path}: {e}"))?;
    Ok(doc)
}

/// Refuses documents of a newer format.
pub(crate) fn check_schema(schema: u32) -> Result<(), String> {
    if schema > SCHEMA {
        return Err(format!("schema {schema} is newer than this forge knows"));
    }
    Ok(())
}

/// Checks that the named times are RFC 3339.
pub(crate) fn check_times(times: &[(&str, Option<&String>)]) -> Result<(), String> {
    for (name, t) in times {
        if let Some(t) = t {
            if forge_core::time::parse_rfc3339(t).is_none() {
                return Err(format!("{name} `{t}` is not an RFC 3339 time"));
            }
        }
    }
    Ok(())
}

pub(crate) fn check_issue(doc: &IssueDoc) -> Result<(), String> {
    check_schema(doc.schema)?;
    if doc.number >= PROVISIONAL_BASE {
        return Err(format!(
            "number {} is too large (at most {})",
            doc.number,
            PROVISIONAL_BASE - 1
        ));
    }
    if doc.title.trim().is_empty() {
        return Err("title is empty".into());
    }
    if !kind::valid_id(&doc.uid) {
        return Err(format!(
            "uid `{}` is not 1 to 64 letters, digits, - or _",
            doc.uid
        ));
    }
    check_times(&[
        ("created_at", Some(&doc.created_at)),
        ("updated_at", Some(&doc.updated_at)),
        ("closed_at", doc.closed_at.as_ref()),
    ])
}

impl CommentDoc {
    /// A new comment by `author`, made now.
    pub fn new(author: &str, body: &str, anchor: Option<Anchor>) -> CommentDoc {
        let created_at = forge_core::time::now_rfc3339();
        CommentDoc {
            anchor,
            author: author.to_string(),
            body: body.to_string(),
            id: new_comment_id(&created_at),
            created_at,
            edited_at: None,
            editor: None,
            notification: false,
            reactions: BTreeMap::new(),
            schema: SCHEMA,
        }
    }
}

/// The id of a comment brought from another forge: the whole seconds of
/// its creation, compacted, then `tag`, which names it there
/// (`20261201T212530Z-p4` for Pagure's comment 4): ids sort by time and
/// stay the same however often it is brought.
pub fn imported_comment_id(created_at: &str, tag: &str) -> String {
    let whole = forge_core::time::parse_rfc3339(created_at)
        .and_then(forge_core::time::epoch_to_rfc3339)
        .unwrap_or_default();
    let compact: String = whole
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{compact}-{tag}")
}

/// A new random 32-hex-digit uid.
pub fn new_uid() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A new comment id: creation time then randomness, so ids sort by time and
/// two clones never pick the same one.
/// The milliseconds of the current second are part of the id, so comments
/// made within one second still sort in the order they were made.
pub fn new_comment_id(created_at: &str) -> String {
    let compact: String = created_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    format!(
        "{compact}{millis:03}-{}",
        hex::encode(rand::random::<[u8; 4]>())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        assert_eq!(issue_path(7), "07/7/issue.json");
        assert_eq!(issue_path(1234), "34/1234/issue.json");
        assert_eq!(comment_path(5, "x-1"), "05/5/comment-x-1.json");
    }

    #[test]
    fn keys_come_out_sorted() {
        let issue = IssueDoc {
            schema: SCHEMA,
            uid: new_uid(),
            number: 7,
            title: "t".into(),
            body: "b".into(),
            author: "a".into(),
            status: Status::Closed,
            close_reason: Some("Fixed".into()),
            closed_at: Some("2026-01-01T00:00:00Z".into()),
            closed_by: Some("a".into()),
            tags: ["x".to_string()].into(),
            assignee: Some("b".into()),
            priority: Some("High".into()),
            milestone: Some("1.0".into()),
            private: true,
            custom_fields: [
                ("z".to_string(), "1".to_string()),
                ("a".to_string(), "2".to_string()),
            ]
            .into(),
            depends: [1].into(),
            blocks: [2].into(),
            watchers: ["a".to_string()].into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        };
        let comment = CommentDoc {
            anchor: None,
            schema: SCHEMA,
            id: "c".into(),
            author: "a".into(),
            body: "b".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            edited_at: None,
            editor: None,
            notification: true,
            reactions: [("+1".to_string(), ["a".to_string()].into())].into(),
        };
        for bytes in [to_bytes(&issue), to_bytes(&comment)] {
            let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            let mut sorted = serde_json::to_vec_pretty(&value).expect("json");
            sorted.push(b'\n');
            assert_eq!(String::from_utf8(bytes), String::from_utf8(sorted));
        }
    }

    #[test]
    fn malformed_documents_name_the_file() {
        let err = parse_issue("01/1/issue.json", b"{\"title\": ").expect_err("truncated");
        assert!(err.starts_with("01/1/issue.json: "), "{err}");
        let err = parse_issue("01/1/issue.json", br#"{"schema":1,"uid":"u","number":2,"title":"t","body":"","author":"a","status":"open","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#)
            .expect_err("wrong path");
        assert!(err.contains("another issue"), "{err}");
        let err = parse_issue("01/1/issue.json", br#"{"schema":1,"uid":"u","number":1,"title":"t","body":"","author":"a","status":"shut","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#)
            .expect_err("bad status");
        assert!(err.contains("unknown variant `shut`"), "{err}");
    }
}
