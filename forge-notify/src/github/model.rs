//! GitHub's objects as its webhooks and REST API give them (the same shape
//! from both), read into the fields replication keeps; the rest is ignored.
//! Times are read from RFC 3339 into seconds since the epoch, so that
//! "older than what is stored" is a comparison of numbers.

use serde::{Deserialize, Deserializer};

/// Seconds since the epoch, read from GitHub's RFC 3339 times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(pub i64);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let text = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| Time(t.timestamp()))
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}")))
    }
}

/// A user (or an organization, a bot).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    /// GitHub's id, which stays when the login changes.
    pub id: u64,
    /// The login.
    pub login: String,
    /// `User`, `Organization`, `Bot`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A label: a tag in forge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Label {
    /// GitHub's id.
    pub id: u64,
    /// The name.
    pub name: String,
    /// Six hex digits, without `#`.
    #[serde(default)]
    pub color: String,
    /// The description, if any.
    #[serde(default)]
    pub description: Option<String>,
}

/// A milestone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Milestone {
    /// GitHub's id.
    pub id: u64,
    /// Its number in the repository.
    pub number: u64,
    /// The title: the milestone's name in forge.
    pub title: String,
    /// The description, if any.
    #[serde(default)]
    pub description: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// When it is due.
    #[serde(default)]
    pub due_on: Option<Time>,
    /// When it was last changed.
    pub updated_at: Time,
}

/// An issue; pull requests are issues too, with `pull_request` set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Issue {
    /// GitHub's id.
    pub id: u64,
    /// Its number in the repository, kept by the mirror.
    pub number: u64,
    /// The title.
    pub title: String,
    /// The body (null when empty).
    #[serde(default)]
    pub body: Option<String>,
    /// `open` or `closed`; absent from some payloads (GitHub's `pinned`
    /// and `unpinned` examples), where what is stored stays.
    #[serde(default)]
    pub state: Option<String>,
    /// Why it was closed: `completed`, `not_planned`, `reopened`.
    #[serde(default)]
    pub state_reason: Option<String>,
    /// Who opened it.
    pub user: User,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Who it is assigned to.
    #[serde(default)]
    pub assignees: Vec<User>,
    /// Its milestone.
    #[serde(default)]
    pub milestone: Option<Milestone>,
    /// Whether it is locked.
    #[serde(default)]
    pub locked: bool,
    /// Set when this issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
    /// When it was opened.
    pub created_at: Time,
    /// When it was last changed.
    pub updated_at: Time,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<Time>,
}

/// A comment on an issue or a pull request's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    /// GitHub's id.
    pub id: u64,
    /// The API address of its issue (`.../issues/<number>`).
    #[serde(default)]
    pub issue_url: Option<String>,
    /// Its page (`.../pull/<number>#issuecomment-...` on a pull request).
    #[serde(default)]
    pub html_url: Option<String>,
    /// The text.
    #[serde(default)]
    pub body: Option<String>,
    /// Who wrote it.
    pub user: User,
    /// When it was written.
    pub created_at: Time,
    /// When it was last edited.
    pub updated_at: Time,
}

/// One side of a pull request: a branch at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Branch {
    /// The branch's name.
    #[serde(rename = "ref")]
    pub name: String,
    /// The commit.
    pub sha: String,
    /// The repository it is in (null once a fork is deleted).
    #[serde(default)]
    pub repo: Option<Repository>,
}

/// A repository, as a pull request's branch names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Repository {
    /// `owner/name`.
    pub full_name: String,
    /// Where git clones it from.
    #[serde(default)]
    pub clone_url: Option<String>,
}

/// The number at the end of a GitHub API or page address
/// (`.../issues/12`, `.../pulls/12`, `.../pull/12#...`).
pub fn number_in(url: &str) -> Option<u64> {
    let path = url.split(['#', '?']).next()?;
    path.rsplit('/').next()?.parse().ok()
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    /// GitHub's id.
    pub id: u64,
    /// Its number (shared with issues).
    pub number: u64,
    /// The title.
    pub title: String,
    /// The description (null when empty).
    #[serde(default)]
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// Whether it was merged (absent from lists: then `merged_at` says).
    #[serde(default)]
    pub merged: Option<bool>,
    /// When it was merged.
    #[serde(default)]
    pub merged_at: Option<Time>,
    /// Whether it is a draft.
    #[serde(default)]
    pub draft: bool,
    /// The branch to merge.
    pub head: Branch,
    /// The branch it goes into.
    pub base: Branch,
    /// Who opened it.
    pub user: User,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Who it is assigned to.
    #[serde(default)]
    pub assignees: Vec<User>,
    /// Its milestone.
    #[serde(default)]
    pub milestone: Option<Milestone>,
    /// The commit that merged it (or GitHub's test merge while open).
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// When it was opened.
    pub created_at: Time,
    /// When it was last changed.
    pub updated_at: Time,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<Time>,
}

impl PullRequest {
    /// Whether it was merged, from whichever field the payload has.
    pub fn was_merged(&self) -> bool {
        self.merged.unwrap_or(self.merged_at.is_some())
    }
}

/// A review of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Review {
    /// GitHub's id.
    pub id: u64,
    /// The review's text.
    #[serde(default)]
    pub body: Option<String>,
    /// `approved`, `changes_requested`, `commented`, `dismissed` (any case).
    pub state: String,
    /// The reviewer.
    pub user: User,
    /// The commit reviewed.
    #[serde(default)]
    pub commit_id: Option<String>,
    /// When it was submitted (null while pending).
    #[serde(default)]
    pub submitted_at: Option<Time>,
}

/// A comment on a line of a pull request's diff.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReviewComment {
    /// GitHub's id.
    pub id: u64,
    /// The text.
    pub body: String,
    /// The file.
    pub path: String,
    /// The line in the new file, when it is one.
    #[serde(default)]
    pub line: Option<u64>,
    /// The commit commented on.
    pub commit_id: String,
    /// The API address of its pull request (`.../pulls/<number>`).
    #[serde(default)]
    pub pull_request_url: Option<String>,
    /// Who wrote it.
    pub user: User,
    /// When it was written.
    pub created_at: Time,
    /// When it was last edited.
    pub updated_at: Time,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_seconds_and_bad_ones_are_named() {
        let t: Time = serde_json::from_str(r#""2019-05-15T15:20:33Z""#).expect("time");
        assert_eq!(t, Time(1557933633));
        let e = serde_json::from_str::<Time>(r#""yesterday""#).expect_err("bad");
        assert!(
            e.to_string()
                .contains("`yesterday` is not an RFC 3339 time"),
            "{e}"
        );
    }
}
