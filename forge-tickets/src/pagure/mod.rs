//! Import of a Pagure tickets repository (here) and of its requests
//! repository ([`requests`]).
//!
//! Pagure keeps one JSON file per issue at the root of the tickets repo,
//! named by the issue's 32-hex uid (keys: id, title, content, status,
//! close_status, date_created, last_updated, closed_at as epoch-second
//! strings with a fraction, user, private, tags, depends, blocks, assignee,
//! priority, milestone, custom_fields, closed_by, comments; what is kept and
//! what is dropped is listed in docs/ticket-format.md). The import keeps
//! numbers, authors, dates (to the microsecond), tags and comments (with
//! their notification flag), creates unknown users, and adds the
//! priorities, milestones, close reasons and custom fields it meets to the
//! project's settings so the imported issues stay valid. Nothing is written
//! unless every file reads cleanly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use forge_core::project::{CustomField, FieldKind, Milestone};
use forge_core::{time, Store};
use forge_git::Repo;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod requests;

pub use requests::import_requests;

use crate::doc::{CommentDoc, IssueDoc, Status, SCHEMA};
use crate::{Actor, Tracker};
use crate::{Error, Result};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Issues imported.
    pub issues: usize,
    /// Pull requests imported.
    pub requests: usize,
    /// Comments imported.
    pub comments: usize,
    /// Users created for unknown authors.
    pub users_created: Vec<String>,
    /// Files of the repository that are not Pagure issues (left alone).
    pub skipped: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PagureUser {
    name: String,
    #[serde(default)]
    fullname: Option<String>,
    #[serde(default)]
    default_email: Option<String>,
    #[serde(default)]
    emails: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PagureComment {
    id: Value,
    #[serde(default)]
    comment: String,
    date_created: Value,
    user: PagureUser,
    #[serde(default)]
    edited_on: Option<Value>,
    #[serde(default)]
    editor: Option<PagureUser>,
    #[serde(default)]
    notification: bool,
    #[serde(default)]
    reactions: BTreeMap<String, Vec<String>>,
    /// An inline comment's commit, file and line (pull requests).
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    line: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct PagureField {
    name: String,
    #[serde(default)]
    key_type: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    key_data: Option<Value>,
}

/// What Pagure's issues and pull requests both hold: number, times,
/// people and comments.
#[derive(Debug, Deserialize)]
pub(crate) struct PagureCommon {
    id: Value,
    date_created: Value,
    #[serde(default)]
    last_updated: Option<Value>,
    #[serde(default)]
    closed_at: Option<Value>,
    user: PagureUser,
    #[serde(default)]
    assignee: Option<PagureUser>,
    #[serde(default)]
    closed_by: Option<PagureUser>,
    #[serde(default)]
    comments: Vec<PagureComment>,
}

/// Those in forge's words, with the users met.
pub(crate) struct Common {
    pub(crate) number: u64,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) closed_at: Option<String>,
    pub(crate) author: String,
    pub(crate) assignee: Option<String>,
    pub(crate) closed_by: Option<String>,
    pub(crate) comments: Vec<CommentDoc>,
    pub(crate) users: Users,
}

impl PagureCommon {
    /// Reads them, naming the first key that does not read.
    pub(crate) fn convert(&self) -> std::result::Result<Common, String> {
        let number = as_number(&self.id, "id")?;
        if number == 0 || number >= crate::engine::PROVISIONAL_BASE {
            return Err(format!(
                "id {number} is out of range (numbers go from 1 to {})",
                crate::engine::PROVISIONAL_BASE - 1
            ));
        }
        let created_at = date(&self.date_created, "date_created")?;
        let updated_at = match &self.last_updated {
            Some(v) if !v.is_null() => date(v, "last_updated")?,
            _ => created_at.clone(),
        };
        let closed_at = match &self.closed_at {
            Some(v) if !v.is_null() => Some(date(v, "closed_at")?),
            _ => None,
        };
        let mut users = Users::default();
        let author = users.note(&self.user);
        let assignee = self.assignee.as_ref().map(|u| users.note(u));
        let closed_by = self.closed_by.as_ref().map(|u| users.note(u));
        let comments = self
            .comments
            .iter()
            .map(|c| comment(c, &mut users))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Common {
            number,
            created_at,
            updated_at,
            closed_at,
            author,
            assignee,
            closed_by,
            comments,
            users,
        })
    }
}

#[derive(Debug, Deserialize)]
struct PagureIssue {
    #[serde(flatten)]
    common: PagureCommon,
    title: String,
    #[serde(default)]
    content: String,
    status: String,
    #[serde(default)]
    close_status: Option<String>,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    depends: Vec<Value>,
    #[serde(default)]
    blocks: Vec<Value>,
    #[serde(default)]
    priority: Option<Value>,
    #[serde(default)]
    milestone: Option<String>,
    #[serde(default)]
    custom_fields: Vec<PagureField>,
}

/// Pagure writes numbers and epoch seconds sometimes as strings, sometimes not.
pub(crate) fn as_number(v: &Value, what: &str) -> std::result::Result<u64, String> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{what} `{v}` is not a number"))
}

/// An epoch time as Pagure writes it: a string or a number, whole or with
/// a fraction (`"1796160142.012728"`, arrow's `float_timestamp`), kept to
/// the microsecond.
pub(crate) fn date(v: &Value, what: &str) -> std::result::Result<String, String> {
    let decimal = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    time::epoch_decimal_to_rfc3339(&decimal)
        .ok_or_else(|| format!("{what} `{v}` is not an epoch time"))
}

/// A boolean field's value in forge's words: Pagure's page ticks the box
/// for `true`, `on` and `1` (a checkbox sends `on`), and stores `False` or
/// nothing otherwise.
fn bool_text(v: &Value) -> String {
    let ticked = match v {
        Value::Bool(b) => *b,
        other => matches!(
            text(other).trim().to_ascii_lowercase().as_str(),
            "true" | "on" | "1"
        ),
    };
    ticked.to_string()
}

/// The options of a list field: Pagure keeps them as a JSON list in a
/// string (`'["minor", "major"]'`); a plain list or comma-separated text
/// are read too.
fn list_options(data: &Value) -> Vec<String> {
    match data {
        Value::Array(items) => items.iter().map(text).collect(),
        Value::String(s) => match serde_json::from_str::<Vec<Value>>(s) {
            Ok(items) => items.iter().map(text).collect(),
            Err(_) => s
                .split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
        },
        _ => Vec::new(),
    }
}

pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The users an import meets (name, full name, addresses, the default
/// first), so that the unknown ones can be created.
#[derive(Debug, Default)]
pub(crate) struct Users(Vec<(String, String, Vec<String>)>);

impl Users {
    /// Notes a user; answers their name.
    pub(crate) fn note(&mut self, u: &PagureUser) -> String {
        let mut emails: Vec<String> = u.default_email.iter().cloned().collect();
        emails.extend(
            u.emails
                .iter()
                .filter(|e| Some(*e) != u.default_email.as_ref())
                .cloned(),
        );
        self.0.push((
            u.name.clone(),
            u.fullname.clone().unwrap_or_default(),
            emails,
        ));
        u.name.clone()
    }
}

/// Creates the users `found` names that the forge does not know, with the
/// addresses no other user has; records them in the report.
pub(crate) fn create_users<'a>(
    store: &Store,
    found: impl Iterator<Item = &'a Users>,
    report: &mut ImportReport,
) -> Result<()> {
    for (name, full_name, emails) in found.flat_map(|u| u.0.iter()) {
        if store.find_user(name)?.is_some() || report.users_created.contains(name) {
            continue;
        }
        let usable: Vec<&str> = emails
            .iter()
            .map(String::as_str)
            .filter(|e| store.user_by_email(e).map(|u| u.is_none()).unwrap_or(false))
            .collect();
        store.add_user(name, full_name, &usable)?;
        report.users_created.push(name.clone());
    }
    Ok(())
}

/// A Pagure comment as forge keeps it: its id made of its time and
/// Pagure's id (`20261201T212530Z-p4`), its dates to the microsecond, its
/// notification flag, and where an inline one points.
pub(crate) fn comment(
    c: &PagureComment,
    users: &mut Users,
) -> std::result::Result<CommentDoc, String> {
    let id = as_number(&c.id, "comment id")?;
    let created = date(&c.date_created, "comment date_created")?;
    let edited_at = match &c.edited_on {
        Some(v) if !v.is_null() => Some(date(v, "comment edited_on")?),
        _ => None,
    };
    let anchor = match (&c.commit, &c.filename, &c.line) {
        (Some(commit), Some(path), Some(line)) if !line.is_null() => Some(crate::doc::Anchor {
            commit: commit.clone(),
            line: u32::try_from(as_number(line, "comment line")?)
                .map_err(|_| format!("comment line `{line}` is too large"))?,
            line_text: None,
            outdated: false,
            path: path.clone(),
            side: crate::doc::Side::New,
        }),
        _ => None,
    };
    Ok(CommentDoc {
        anchor,
        schema: SCHEMA,
        id: crate::doc::imported_comment_id(&created, &format!("p{id}")),
        author: users.note(&c.user),
        body: c.comment.clone(),
        created_at: created,
        edited_at,
        editor: c.editor.as_ref().map(|e| users.note(e)),
        notification: c.notification,
        reactions: c
            .reactions
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect(),
    })
}

/// Reads every file at the root of the Pagure repository at `path` that
/// is named by a 32-hex uid with `parse`; other files are reported as
/// skipped. Fails, naming the first bad file, if any does not read.
pub(crate) fn read_repo<T>(
    path: &Path,
    report: &mut ImportReport,
    mut parse: impl FnMut(&str, &[u8]) -> std::result::Result<T, String>,
) -> Result<Vec<T>> {
    let source = Repo::open(path)?;
    let branch = source.head_branch()?;
    let tip = source.branch_tip(&branch)?.ok_or_else(|| {
        Error::invalid(
            format!("Pagure repository {}", path.display()),
            "it has no commits",
        )
    })?;
    let mut read = Vec::new();
    let mut problems = Vec::new();
    source.for_each_file(tip, |file, bytes| {
        let is_uid =
            !file.contains('/') && file.len() == 32 && file.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_uid {
            report.skipped.push(file.to_string());
            return Ok(());
        }
        match parse(file, bytes) {
            Ok(t) => read.push(t),
            Err(e) => problems.push(format!("{}/{file}: {e}", path.display())),
        }
        Ok(())
    })?;
    if let Some(first) = problems.first() {
        let more = if problems.len() > 1 {
            format!(" (and {} more files)", problems.len() - 1)
        } else {
            String::new()
        };
        return Err(Error::Document(format!(
            "{first}{more}; nothing was imported"
        )));
    }
    Ok(read)
}

struct Converted {
    issue: IssueDoc,
    comments: Vec<CommentDoc>,
    users: Users,
    fields: Vec<CustomField>,
}

fn convert(uid: &str, p: PagureIssue) -> std::result::Result<Converted, String> {
    let c = p.common.convert()?;
    let status = match p.status.as_str() {
        "Open" | "open" => Status::Open,
        "Closed" | "closed" => Status::Closed,
        other => return Err(format!("status `{other}` is neither Open nor Closed")),
    };
    let mut custom_fields = BTreeMap::new();
    let mut fields = Vec::new();
    for f in &p.custom_fields {
        let kind = match f.key_type.as_deref() {
            Some("boolean") => FieldKind::Bool,
            Some("link") => FieldKind::Link,
            Some("list") => FieldKind::List,
            Some("date") => FieldKind::Date,
            _ => FieldKind::Text,
        };
        let options = match (&f.key_data, kind) {
            (Some(data), FieldKind::List) => list_options(data),
            _ => Vec::new(),
        };
        fields.push(CustomField {
            name: f.name.clone(),
            kind,
            options,
        });
        if let Some(v) = f.value.as_ref().filter(|v| !v.is_null()) {
            let value = match kind {
                FieldKind::Bool => bool_text(v),
                _ => text(v),
            };
            custom_fields.insert(f.name.clone(), value);
        }
    }
    let links = |vs: &[Value], what| {
        vs.iter()
            .map(|v| as_number(v, what))
            .collect::<std::result::Result<BTreeSet<u64>, _>>()
    };
    let issue = IssueDoc {
        schema: SCHEMA,
        uid: uid.to_string(),
        number: c.number,
        title: p.title,
        body: p.content,
        author: c.author.clone(),
        status,
        close_reason: p
            .close_status
            .filter(|s| status == Status::Closed && !s.is_empty()),
        // Pagure keeps who closed an issue, and when, after it is reopened.
        closed_at: c.closed_at,
        closed_by: c.closed_by,
        tags: p.tags.into_iter().collect(),
        assignee: c.assignee,
        priority: p.priority.filter(|v| !v.is_null()).map(|v| text(&v)),
        milestone: p.milestone.filter(|m| !m.is_empty()),
        private: p.private,
        custom_fields,
        depends: links(&p.depends, "depends")?,
        blocks: links(&p.blocks, "blocks")?,
        watchers: [c.author].into(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    };
    Ok(Converted {
        issue,
        comments: c.comments,
        users: c.users,
        fields,
    })
}

const ISSUES_PER_COMMIT: usize = 1000;

/// Imports the Pagure tickets repository at `path` into `tracker`'s project.
pub fn import(
    store: &Store,
    tracker: &Tracker<'_>,
    actor: &Actor,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut converted = read_repo(path, &mut report, |file, bytes| {
        serde_json::from_slice::<PagureIssue>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|p| convert(file, p))
    })?;
    converted.sort_by_key(|c| c.issue.number);
    let mut seen = BTreeSet::new();
    tracker.sync()?;
    for c in &converted {
        let n = c.issue.number;
        if !seen.insert(n) {
            return Err(Error::invalid(
                format!("Pagure repository {}", path.display()),
                format!("issue id {n} appears twice; nothing was imported"),
            ));
        }
        if crate::engine::rows::doc::<crate::Issues>(store.conn(), tracker.project(), n)?.is_some()
        {
            return Err(Error::invalid(
                format!("issue #{n}"),
                format!(
                    "project `{}` already has it; nothing was imported",
                    tracker.project()
                ),
            ));
        }
    }
    // Users first, then settings, so that every imported value is known.
    create_users(store, converted.iter().map(|c| &c.users), &mut report)?;
    let mut project = store.project(tracker.project())?;
    let settings = &mut project.settings;
    // Pagure's issues hold their priority's weight: one the project names
    // already (its place in the list) takes that name.
    for c in &mut converted {
        if let Some(p) = &c.issue.priority {
            if let Some(name) = settings.priority_named(p) {
                c.issue.priority = Some(name.to_string());
            }
        }
    }
    for c in &converted {
        let i = &c.issue;
        if let Some(r) = &i.close_reason {
            if !settings.close_reasons.contains(r) {
                settings.close_reasons.push(r.clone());
            }
        }
        if let Some(p) = &i.priority {
            if !settings.priorities.contains(p) {
                settings.priorities.push(p.clone());
            }
        }
        if let Some(m) = &i.milestone {
            if !settings.milestones.iter().any(|x| &x.name == m) {
                settings.milestones.push(Milestone {
                    name: m.clone(),
                    date: None,
                });
            }
        }
        for f in &c.fields {
            match settings.custom_fields.iter_mut().find(|x| x.name == f.name) {
                Some(known) => {
                    for o in &f.options {
                        if !known.options.contains(o) {
                            known.options.push(o.clone());
                        }
                    }
                }
                None => settings.custom_fields.push(f.clone()),
            }
        }
    }
    // Pagure's issues hold their priority's weight; its names stay with the
    // project in Pagure's database. Weights in order are the priorities'
    // places, which the API gives back as the same weights when Pagure's
    // ran 1, 2, 3... (rename them in the settings afterwards).
    let weights: Option<Vec<i64>> = settings.priorities.iter().map(|p| p.parse().ok()).collect();
    if weights.is_some() {
        settings
            .priorities
            .sort_by_key(|p| p.parse::<i64>().unwrap_or(i64::MAX));
    }
    store.set_project_settings(&project, &project.settings)?;
    let total = converted.len() as u64;
    let mut done = 0;
    progress(0, total);
    let mut batch = Vec::with_capacity(ISSUES_PER_COMMIT);
    for c in converted {
        report.issues += 1;
        report.comments += c.comments.len();
        batch.push((c.issue, c.comments));
        if batch.len() == ISSUES_PER_COMMIT {
            done += batch.len() as u64;
            tracker.import_issues(
                actor,
                std::mem::take(&mut batch),
                "Import issues from Pagure",
            )?;
            progress(done, total);
        }
    }
    if !batch.is_empty() {
        tracker.import_issues(actor, batch, "Import issues from Pagure")?;
    }
    progress(total, total);
    Ok(report)
}
