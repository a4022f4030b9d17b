//! The checks of values a document holds, shared by the services and by the
//! checks of pushed documents: titles, bodies, tags, users, and the choices
//! a project's settings allow.

use forge_core::name::{self, printable};
use forge_core::project::{FieldKind, ProjectSettings};
use forge_core::Store;
use forge_git::Repo;

use crate::doc::{CommentDoc, IssueDoc};
use crate::request::PullDoc;
use crate::{Error, Result};

const MAX_TITLE: usize = 255;
const MAX_BODY: usize = 1 << 20;

/// A one-line title: trimmed, not empty, at most 255 bytes, no control characters.
pub(crate) fn title(title: &str) -> Result<String> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::invalid("title", "it is empty"));
    }
    if title.len() > MAX_TITLE || title.chars().any(char::is_control) {
        return Err(Error::invalid(
            "title",
            "longer than 255 bytes or has control characters",
        ));
    }
    Ok(title.to_string())
}

/// A Markdown body of at most 1 MiB.
pub(crate) fn body(body: &str) -> Result<()> {
    if body.len() > MAX_BODY {
        return Err(Error::invalid(
            "body",
            format!("longer than {MAX_BODY} bytes"),
        ));
    }
    Ok(())
}

/// A comment: not blank, and a body.
pub(crate) fn comment_body(text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid("comment", "it is empty"));
    }
    body(text)
}

/// A tag: a label without commas.
pub(crate) fn tag(tag: &str) -> Result<()> {
    name::validate_label("tag", tag)?;
    if tag.contains(',') {
        return Err(Error::invalid(
            format!("tag `{}`", printable(tag)),
            "tags cannot contain commas",
        ));
    }
    Ok(())
}

/// The title (trimmed), body and tags an edit gives, checked.
pub(crate) fn edit_text<'a>(
    new_title: Option<&str>,
    new_body: Option<&str>,
    tags: impl IntoIterator<Item = &'a String>,
) -> Result<Option<String>> {
    let title = new_title.map(title).transpose()?;
    if let Some(b) = new_body {
        body(b)?;
    }
    for t in tags {
        tag(t)?;
    }
    Ok(title)
}

/// The checks that need the project: users and the settings' choices.
pub(crate) struct Checks<'a> {
    pub(crate) store: &'a Store,
    pub(crate) project: &'a str,
    /// `None` in an offline clone: any well-formed value goes.
    pub(crate) settings: Option<&'a ProjectSettings>,
    /// Usernames are checked against registered users (a forge home).
    pub(crate) known_users: bool,
}

impl Checks<'_> {
    pub(crate) fn user(&self, user: &str) -> Result<()> {
        if self.known_users {
            self.store.user(user).map(drop).map_err(Error::from)
        } else {
            name::validate_label("user", user).map_err(Error::from)
        }
    }

    fn choice(&self, kind: &'static str, value: &str, known: Option<Vec<&str>>) -> Result<()> {
        name::validate_label(kind, value)?;
        match known {
            Some(list) if !list.contains(&value) => {
                let hint = if list.is_empty() {
                    format!("project `{}` defines none", self.project)
                } else {
                    format!("known: {}", list.join(", "))
                };
                Err(Error::invalid(
                    format!("{kind} `{}`", printable(value)),
                    hint,
                ))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn priority(&self, p: &str) -> Result<()> {
        let known = self
            .settings
            .map(|s| s.priorities.iter().map(String::as_str).collect());
        self.choice("priority", p, known)
    }

    pub(crate) fn milestone(&self, m: &str) -> Result<()> {
        let known = self
            .settings
            .map(|s| s.milestones.iter().map(|m| m.name.as_str()).collect());
        self.choice("milestone", m, known)
    }

    /// A close reason from the project's list (the defaults in a clone).
    pub(crate) fn close_reason(&self, r: &str) -> Result<()> {
        let default = ProjectSettings::default();
        let reasons = &self.settings.unwrap_or(&default).close_reasons;
        self.choice(
            "close reason",
            r,
            Some(reasons.iter().map(String::as_str).collect()),
        )
    }

    pub(crate) fn field(&self, name: &str, value: &str) -> Result<()> {
        name::validate_label("custom field", name)?;
        let Some(settings) = self.settings else {
            return Ok(());
        };
        let def = settings
            .custom_fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| {
                Error::invalid(
                    format!("custom field `{}`", printable(name)),
                    format!("project `{}` does not define it", self.project),
                )
            })?;
        let ok = match def.kind {
            FieldKind::Text => !value.chars().any(|c| c.is_control() && c != '\n'),
            FieldKind::Bool => value == "true" || value == "false",
            FieldKind::Link => {
                (value.starts_with("https://") || value.starts_with("http://"))
                    && !value.chars().any(char::is_whitespace)
            }
            FieldKind::List => def.options.iter().any(|o| o == value),
            FieldKind::Date => chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        };
        if ok {
            return Ok(());
        }
        let expected = match def.kind {
            FieldKind::Text => "text without control characters".to_string(),
            FieldKind::Bool => "true or false".to_string(),
            FieldKind::Link => "an http(s) URL".to_string(),
            FieldKind::List => format!("one of: {}", def.options.join(", ")),
            FieldKind::Date => "a date YYYY-MM-DD".to_string(),
        };
        Err(Error::invalid(
            format!(
                "custom field `{}` value `{}`",
                printable(name),
                printable(value)
            ),
            format!("expected {expected}"),
        ))
    }

    /// Checks what the JSON schema cannot: that the users an issue names are
    /// registered and its priority, milestone, close reason and custom fields
    /// are the project's.
    pub(crate) fn issue(&self, issue: &IssueDoc) -> Result<()> {
        let users = [
            Some(&issue.author),
            issue.assignee.as_ref(),
            issue.closed_by.as_ref(),
        ];
        for user in users.into_iter().flatten().chain(&issue.watchers) {
            self.user(user)?;
        }
        if let Some(p) = &issue.priority {
            self.priority(p)?;
        }
        if let Some(m) = &issue.milestone {
            self.milestone(m)?;
        }
        if let Some(r) = &issue.close_reason {
            let reasons = self
                .settings
                .map(|s| s.close_reasons.iter().map(String::as_str).collect());
            self.choice("close reason", r, reasons)?;
        }
        for t in &issue.tags {
            tag(t)?;
        }
        for (k, v) in &issue.custom_fields {
            self.field(k, v)?;
        }
        title(&issue.title)?;
        Ok(())
    }

    /// Checks the users a comment names.
    pub(crate) fn comment(&self, comment: &CommentDoc) -> Result<()> {
        self.user(&comment.author)?;
        if let Some(e) = &comment.editor {
            self.user(e)?;
        }
        for users in comment.reactions.values() {
            for u in users {
                self.user(u)?;
            }
        }
        Ok(())
    }

    /// Checks the users and branches a pull request names.
    pub(crate) fn request(&self, pull: &PullDoc) -> Result<()> {
        let users = [
            Some(&pull.author),
            pull.assignee.as_ref(),
            pull.closed_by.as_ref(),
        ];
        for user in users
            .into_iter()
            .flatten()
            .chain(&pull.watchers)
            .chain(pull.votes.keys())
        {
            self.user(user)?;
        }
        for f in pull.flags.values() {
            self.user(&f.username)?;
        }
        if !Repo::valid_branch_name(&pull.target) || !Repo::valid_branch_name(&pull.source.branch) {
            return Err(Error::invalid(
                "branch",
                "source or target is not a valid branch name",
            ));
        }
        for t in &pull.tags {
            tag(t)?;
        }
        title(&pull.title)?;
        Ok(())
    }
}
