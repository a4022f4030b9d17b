//! Pagure's JSON shapes, defined once: the server encodes its answers with
//! them and `forge --remote` decodes those answers with them. forge's own
//! fields travel beside Pagure's (clients ignore what they do not know).
//!
//! Strings are `Cow`s where the server answers in bulk: it borrows from what
//! it renders (the issue listing's hot path copies nothing), a client owns
//! what it decodes.

mod issue;
mod pull;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use issue::{CustomField, Issue, IssueComment};
pub use pull::{Flag, PullComment, PullRequest, PullSource};

/// Pagure's name for a kind of custom field.
pub fn key_type(kind: forge_core::project::FieldKind) -> &'static str {
    use forge_core::project::FieldKind;
    match kind {
        FieldKind::Text => "text",
        FieldKind::Bool => "boolean",
        FieldKind::Link => "link",
        FieldKind::List => "list",
        FieldKind::Date => "date",
    }
}

/// Epoch seconds as Pagure writes times: a string with the fraction of a
/// second (`"1796160142.012728"`, `"1796160142.0"`).
pub fn epoch(rfc3339: &str) -> String {
    forge_core::time::rfc3339_to_epoch_decimal(rfc3339).unwrap_or_else(|| "0.0".into())
}

/// Back from Pagure's epoch string (or number) to RFC 3339.
pub(crate) fn rfc3339(epoch: &EpochText) -> String {
    match epoch {
        EpochText::Text(s) => forge_core::time::epoch_decimal_to_rfc3339(s.trim()),
        EpochText::Number(n) => forge_core::time::epoch_to_rfc3339(*n),
    }
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
    pub(crate) fn of(rfc3339: &str) -> EpochText {
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
    /// The user's page under the server's public URL, as Pagure gives it
    /// (empty until [`User::at`] sets it).
    #[serde(default)]
    pub full_url: String,
}

impl User {
    /// A user with the full name given.
    pub fn new(name: &str, fullname: String) -> User {
        User {
            fullname,
            name: name.to_string(),
            url_path: format!("user/{name}"),
            full_url: String::new(),
        }
    }

    /// Gives it its `full_url` under `base` (the server's public URL).
    pub fn at(mut self, base: &str) -> Self {
        self.full_url = format!("{base}/{}", self.url_path);
        self
    }
}

/// `GET <repo>/issues`.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueList {
    /// The page's issues.
    pub issues: Vec<Issue<'static>>,
    /// How many are on this page (Pagure's meaning; the total is
    /// `pagination.total`).
    pub total_issues: u64,
    /// Links to the other pages.
    pub pagination: Pagination,
}

/// `GET <repo>/pull-requests`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullList {
    /// The page's requests.
    pub requests: Vec<PullRequest>,
    /// How many match in all (Pagure's meaning here, unlike its
    /// `total_issues`).
    pub total_requests: u64,
    /// The query as Pagure echoes it.
    #[serde(default)]
    pub args: serde_json::Value,
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
    /// How many match in all (forge's; Pagure gives only `pages`, and its
    /// `total_issues`/`total_requests` count the page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
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
    /// What went wrong, in Pagure's words for the code.
    pub error: String,
    /// Pagure's code.
    pub error_code: String,
    /// Per field (a map), or why a token was refused (a string), as Pagure.
    #[serde(default)]
    pub errors: Option<ErrorDetails>,
    /// forge's own account of what went wrong, when it says more.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Pagure's `errors`: messages per form field, or one text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorDetails {
    /// `{"field": ["message"]}`.
    Fields(BTreeMap<String, Vec<String>>),
    /// `"Invalid token"`.
    Text(String),
}
