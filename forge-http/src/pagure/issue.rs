//! Issues and their comments in Pagure's shape.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use forge_tickets::view::{CommentView, IssueDetails, IssueSummary, RelatedPull};
use serde::{Deserialize, Serialize};

use super::{rfc3339, EpochText, User};

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
    /// Pagure's integer id ([`forge_tickets::view::comment_number`]).
    pub id: u64,
    /// forge's own id (a file name's part; what the documents hold).
    #[serde(default)]
    pub uid: Cow<'a, str>,
    /// Pagure's "Metadata Update" marker: a record of field changes.
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
    /// Pagure's type name: `text`, `boolean`, `link`, `list` or `date`
    /// (empty until [`Issue::with_settings`] sets it).
    #[serde(default)]
    pub key_type: Cow<'a, str>,
    /// A list field's options as Pagure stores them: a JSON list in a
    /// string (`'["minor", "major"]'`); null for the other types.
    #[serde(default)]
    pub key_data: Option<String>,
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
    /// Pagure's priority: its weight, the priority's place in the
    /// project's list from 1 (null until [`Issue::with_settings`] sets it).
    #[serde(default)]
    pub priority: Option<i64>,
    /// forge's own: the priority's name.
    #[serde(default)]
    pub priority_name: Option<Cow<'a, str>>,
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
    /// The pull requests that name it, as Pagure's `{id, title}`.
    #[serde(default)]
    pub related_prs: Cow<'a, [RelatedPull]>,
    /// The issue's page (`<public URL>/<project>/issue/<id>`), as Pagure
    /// gives it; empty until [`Issue::at`] sets it.
    #[serde(default)]
    pub full_url: String,
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
                    key_type: Cow::Borrowed(""),
                    key_data: None,
                })
                .collect(),
            date_created: EpochText::of(&i.created_at),
            depends: i.depends.iter().map(ToString::to_string).collect(),
            id: i.id,
            last_updated: EpochText::of(&i.updated_at),
            milestone: i.milestone.as_deref().map(Cow::Borrowed),
            priority: None,
            priority_name: i.priority.as_deref().map(Cow::Borrowed),
            private: i.private,
            status: Cow::Borrowed(if i.status == "open" { "Open" } else { "Closed" }),
            tags: Cow::Borrowed(&i.tags),
            title: Cow::Borrowed(&i.title),
            uid: Cow::Borrowed(&i.uid),
            user: user(&i.author),
            watchers: Cow::Borrowed(&i.watchers),
            related_prs: Cow::Borrowed(&i.related_prs),
            full_url: String::new(),
        }
    }

    /// Gives its custom fields Pagure's `key_type` and `key_data` from the
    /// project's field definitions, and its priority Pagure's weight.
    pub fn with_settings(mut self, settings: &forge_core::project::ProjectSettings) -> Self {
        use forge_core::project::FieldKind;
        self.priority = self
            .priority_name
            .as_deref()
            .and_then(|p| settings.priority_weight(p));
        for field in &mut self.custom_fields {
            let Some(def) = settings.custom_fields.iter().find(|d| d.name == field.name) else {
                continue;
            };
            field.key_type = Cow::Borrowed(super::key_type(def.kind));
            field.key_data = (def.kind == FieldKind::List).then(|| {
                // Python's json.dumps: items separated by ", ".
                let items: Vec<String> = def
                    .options
                    .iter()
                    .map(|o| serde_json::Value::from(o.as_str()).to_string())
                    .collect();
                format!("[{}]", items.join(", "))
            });
        }
        self
    }

    /// Gives it its `full_url` under `base` (the server's public URL) and
    /// `project` (its full name).
    pub fn at(mut self, base: &str, project: &str) -> Self {
        self.full_url = format!("{base}/{project}/issue/{}", self.id);
        self
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
            priority: self.priority_name.map(Cow::into_owned),
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
            related_prs: self.related_prs.into_owned(),
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
            // What people said, as the index counts (not notifications).
            comments: d.comments.iter().filter(|c| !c.notification).count() as u64,
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
            id: c.number(),
            uid: Cow::Borrowed(&c.id),
            notification: c.notification,
            parent: None,
            reactions: Cow::Borrowed(&c.reactions),
            user: user(&c.author),
        }
    }

    fn into_view(self) -> CommentView {
        CommentView {
            id: self.uid.into_owned(),
            author: self.user.name,
            body: self.comment.into_owned(),
            created_at: rfc3339(&self.date_created),
            edited_at: self.edited_on.as_ref().map(rfc3339),
            notification: self.notification,
            reactions: self.reactions.into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagure::EpochText;

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
                notification: true,
                reactions: [("+1".to_string(), ["bob".to_string()].into())].into(),
            }],
            related_prs: vec![RelatedPull {
                id: 8,
                title: "Tighten it".into(),
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
        assert_eq!(value["date_created"], "1767225600.0");
        assert_eq!(value["user"]["fullname"], "bob full");
        assert_eq!(value["depends"], serde_json::json!(["1"]));
        assert_eq!(value["comments"][0]["notification"], true);
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
