//! Changing issues: open, comment, react, edit, close, reopen, import.

use std::collections::BTreeMap;

use forge_core::name;
use forge_core::role::Action;
use forge_core::time;
use forge_git::CommitId;

use super::{can_see, changes, Tracker};
use crate::checks;
use crate::doc::{self, CommentDoc, IssueDoc, Status, SCHEMA};
use crate::engine::replica::Replicated;
use crate::engine::{display_number, Written, PROVISIONAL_BASE};
use crate::{Actor, Error, Result};

/// A new issue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewIssue {
    /// Title (required).
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Assignee username.
    pub assignee: Option<String>,
    /// Priority.
    pub priority: Option<String>,
    /// Milestone.
    pub milestone: Option<String>,
    /// Private issue.
    pub private: bool,
    /// Custom fields.
    pub custom_fields: BTreeMap<String, String>,
}

impl NewIssue {
    /// An issue with just a title.
    pub fn titled(title: impl Into<String>) -> Self {
        NewIssue {
            title: title.into(),
            ..Default::default()
        }
    }
}

/// Changes to an issue's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueEdit {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// New priority (`Some(None)` clears).
    pub priority: Option<Option<String>>,
    /// New milestone (`Some(None)` clears).
    pub milestone: Option<Option<String>>,
    /// Custom fields to set; an empty value removes the field.
    pub fields: Vec<(String, String)>,
    /// Issues this one now depends on (they get it in their `blocks`).
    pub depends: Vec<u64>,
    /// Issues this one now blocks (they get it in their `depends`).
    pub blocks: Vec<u64>,
    /// New private flag.
    pub private: Option<bool>,
    /// Start (`true`) or stop (`false`) watching as the actor.
    pub watch: Option<bool>,
}

impl IssueEdit {
    /// Whether it changes what only ticket+ members may change (tags,
    /// priority, custom fields, links, the private flag).
    pub fn touches_metadata(&self) -> bool {
        !self.add_tags.is_empty()
            || !self.remove_tags.is_empty()
            || self.priority.is_some()
            || !self.fields.is_empty()
            || !self.depends.is_empty()
            || !self.blocks.is_empty()
            || self.private.is_some()
    }

    /// The actions it needs, each part of the change its own (an API token
    /// must allow each one).
    pub fn actions(&self) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.assignee.is_some() {
            actions.push(Action::IssueAssign);
        }
        if self.milestone.is_some() {
            actions.push(Action::IssueUpdateMilestone);
        }
        if self.watch.is_some() {
            actions.push(Action::IssueComment);
        }
        if self.title.is_some() || self.body.is_some() || self.touches_metadata() {
            actions.push(Action::IssueUpdate);
        }
        actions
    }
}

/// An issue after a change to it, and what the change said in Pagure's
/// words ([`super::changes::describe`]): the lines of the notification
/// comment written in the same commit (none when only the title, the body
/// or the watchers changed).
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    /// The issue as written.
    pub issue: IssueDoc,
    /// What changed, one line each.
    pub changes: Vec<String>,
}

impl Tracker<'_> {
    /// Opens an issue. At a forge home it takes the project's next number;
    /// in an offline clone it gets a provisional one (`~1`...) and lives in
    /// `new/<uid>/` until the forge numbers it.
    pub fn create_issue(&self, actor: &Actor, new: NewIssue) -> Result<IssueDoc> {
        self.require(actor, Action::IssueCreate, false)?;
        let title = checks::title(&new.title)?;
        checks::body(&new.body)?;
        for tag in &new.tags {
            checks::tag(tag)?;
        }
        let c = self.checks();
        if let Some(a) = &new.assignee {
            self.require(actor, Action::IssueAssign, false)?;
            c.user(a)?;
        }
        if let Some(p) = &new.priority {
            c.priority(p)?;
        }
        if let Some(m) = &new.milestone {
            self.require(actor, Action::IssueUpdateMilestone, false)?;
            c.milestone(m)?;
        }
        for (k, v) in &new.custom_fields {
            c.field(k, v)?;
        }
        self.sync()?;
        let uid = doc::new_uid();
        let number = if self.engine.home {
            self.engine.next_number()?
        } else {
            self.engine.provisional_number(&uid)?
        };
        let now = time::now_rfc3339();
        let issue = IssueDoc {
            schema: SCHEMA,
            uid,
            number,
            title,
            body: new.body,
            author: actor.username.clone(),
            status: Status::Open,
            close_reason: None,
            closed_at: None,
            closed_by: None,
            tags: new.tags.into_iter().collect(),
            assignee: new.assignee,
            priority: new.priority,
            milestone: new.milestone,
            private: new.private,
            custom_fields: new.custom_fields,
            depends: Default::default(),
            blocks: Default::default(),
            watchers: [actor.username.clone()].into(),
            created_at: now.clone(),
            updated_at: now,
        };
        let message = format!("Open issue #{}: {}", display_number(number), issue.title);
        self.engine.write(actor, &message, |tip| {
            if self.engine.exists_at(tip, number)? {
                return Err(Error::invalid(
                    format!("issue #{number}"),
                    "its number is already taken in the tickets repository",
                ));
            }
            Ok(vec![Written::Doc(Box::new(issue.clone()))])
        })?;
        Ok(issue)
    }

    /// Imports complete issues with their comments, many per commit (the bulk path).
    /// Numbers, authors and dates are kept as given.
    pub fn import_issues(
        &self,
        actor: &Actor,
        issues: Vec<(IssueDoc, Vec<CommentDoc>)>,
        message: &str,
    ) -> Result<()> {
        self.require(actor, Action::ModifyProject, false)?;
        let mut docs = Vec::new();
        for (issue, comments) in issues {
            let number = issue.number;
            if number == 0 || number >= PROVISIONAL_BASE {
                return Err(Error::invalid(
                    format!("issue number {number}"),
                    format!("issue numbers go from 1 to {}", PROVISIONAL_BASE - 1),
                ));
            }
            docs.push(Written::Doc(Box::new(issue)));
            docs.extend(
                comments
                    .into_iter()
                    .map(|c| Written::Comment(number, Box::new(c))),
            );
        }
        if docs.is_empty() {
            return Ok(());
        }
        self.sync()?;
        self.engine.write(actor, message, |_| Ok(docs.clone()))
    }

    /// Writes issues and comments as the forge this project mirrors has
    /// them, each only if newer than what is stored (see
    /// [`crate::engine::replica`]); one commit. `actor` is the replication
    /// ([`Actor::replica`]).
    pub fn replicate(
        &self,
        actor: &Actor,
        issues: &[IssueDoc],
        comments: &[(u64, CommentDoc)],
    ) -> Result<Vec<Replicated>> {
        self.require(actor, Action::ModifyProject, false)?;
        self.sync()?;
        self.engine
            .replicate(actor, "Replicate issues", issues, comments)
    }

    /// Reads an issue for editing: from git at `tip`, visible to the actor.
    fn editable(&self, actor: &Actor, tip: Option<CommitId>, number: u64) -> Result<IssueDoc> {
        match self.engine.doc_at(tip, number)? {
            Some(issue) if can_see(actor, &issue) => Ok(issue),
            _ => Err(self.no_issue(number)),
        }
    }

    /// Comments on an issue.
    pub fn comment(&self, actor: &Actor, number: u64, body: &str) -> Result<CommentDoc> {
        self.require(actor, Action::IssueComment, false)?;
        checks::comment_body(body)?;
        self.sync()?;
        self.visible_issue(actor, number)?;
        let comment = CommentDoc::new(&actor.username, body, None);
        self.engine.add_comment(actor, number, comment)
    }

    /// Edits a comment's body (its author, or a project admin).
    pub fn edit_comment(
        &self,
        actor: &Actor,
        number: u64,
        id: &str,
        body: &str,
    ) -> Result<CommentDoc> {
        checks::comment_body(body)?;
        self.update_comment(actor, number, id, "Edit comment", |c| {
            if !actor.may_edit_comment_of(&c.author) {
                // As `require` words it, whatever the role lacks.
                self.require(actor, Action::IssueUpdate, false)?;
                return Err(Error::Core(forge_core::Error::PermissionDenied {
                    user: actor.username.clone(),
                    action: format!("edit the comments of {} on", c.author),
                    project: self.project().to_string(),
                }));
            }
            c.body = body.to_string();
            c.edited_at = Some(time::now_rfc3339());
            c.editor = Some(actor.username.clone());
            Ok(())
        })
    }

    /// Adds the actor's reaction to a comment, or takes it back if given already.
    pub fn react(&self, actor: &Actor, number: u64, id: &str, emoji: &str) -> Result<CommentDoc> {
        self.require(actor, Action::IssueComment, false)?;
        name::validate_label("reaction", emoji)?;
        self.update_comment(actor, number, id, "React", |c| {
            let users = c.reactions.entry(emoji.to_string()).or_default();
            if !users.remove(&actor.username) {
                users.insert(actor.username.clone());
            }
            c.reactions.retain(|_, users| !users.is_empty());
            Ok(())
        })
    }

    /// Reads a comment at the tip, lets `change` modify it, commits it.
    fn update_comment(
        &self,
        actor: &Actor,
        number: u64,
        id: &str,
        verb: &str,
        mut change: impl FnMut(&mut CommentDoc) -> Result<()>,
    ) -> Result<CommentDoc> {
        let missing = || Error::NoComment {
            number,
            id: id.into(),
        };
        if actor.username.is_empty() {
            return Err(Error::Anonymous);
        }
        self.sync()?;
        let mut out = None;
        let message = format!("{verb} on issue #{}", display_number(number));
        self.engine.write(actor, &message, |tip| {
            self.editable(actor, tip, number)?;
            let mut c = self
                .engine
                .comment_at(tip, number, id)?
                .ok_or_else(missing)?;
            change(&mut c)?;
            out = Some(c.clone());
            Ok(vec![Written::Comment(number, Box::new(c))])
        })?;
        out.ok_or_else(missing)
    }

    /// Edits an issue's fields.
    pub fn edit(&self, actor: &Actor, number: u64, edit: IssueEdit) -> Result<Edited> {
        let tags = edit.add_tags.iter().chain(&edit.remove_tags);
        let title = checks::edit_text(edit.title.as_deref(), edit.body.as_deref(), tags)?;
        let c = self.checks();
        if let Some(Some(a)) = &edit.assignee {
            c.user(a)?;
        }
        if let Some(Some(p)) = &edit.priority {
            c.priority(p)?;
        }
        if let Some(Some(m)) = &edit.milestone {
            c.milestone(m)?;
        }
        for (k, v) in &edit.fields {
            if v.is_empty() {
                name::validate_label("custom field", k)?;
            } else {
                c.field(k, v)?;
            }
        }
        if edit.depends.contains(&number) || edit.blocks.contains(&number) {
            return Err(Error::invalid(
                format!("link of issue #{}", display_number(number)),
                "an issue cannot depend on or block itself",
            ));
        }
        let links = edit.depends.iter().chain(&edit.blocks);
        if let Some(n) = links.chain([&number]).find(|n| **n >= PROVISIONAL_BASE) {
            if !edit.depends.is_empty() || !edit.blocks.is_empty() {
                return Err(Error::invalid(
                    format!("link with issue #{}", display_number(*n)),
                    "it has no number yet: link it once the forge numbered it",
                ));
            }
        }
        self.sync()?;
        let existing = self.visible_issue(actor, number)?;
        let is_author = existing.author == actor.username;
        if edit.title.is_some() || edit.body.is_some() {
            self.require(actor, Action::IssueUpdate, is_author)?;
        }
        if edit.touches_metadata() {
            self.require(actor, Action::IssueUpdate, false)?;
        }
        if edit.assignee.is_some() {
            self.require(actor, Action::IssueAssign, false)?;
        }
        if edit.milestone.is_some() {
            self.require(actor, Action::IssueUpdateMilestone, false)?;
        }
        let mut result = None;
        let message = format!("Edit issue #{}", display_number(number));
        self.engine.write(actor, &message, |tip| {
            let mut issue = self.editable(actor, tip, number)?;
            let before = issue.clone();
            apply_edit(&mut issue, &edit, title.as_deref(), &actor.username);
            let mut others = Vec::new();
            let links = edit
                .depends
                .iter()
                .map(|n| (*n, true))
                .chain(edit.blocks.iter().map(|n| (*n, false)));
            for (other_number, depends) in links {
                let mut other = self
                    .engine
                    .doc_at(tip, other_number)?
                    .ok_or_else(|| self.no_issue(other_number))?;
                let unchanged = other.clone();
                if depends {
                    issue.depends.insert(other_number);
                    other.blocks.insert(number);
                } else {
                    issue.blocks.insert(other_number);
                    other.depends.insert(number);
                }
                if other != unchanged {
                    others.push(other);
                }
            }
            let now = time::now_rfc3339();
            let mut docs = Vec::new();
            let changes = changes::describe(&before, &issue);
            if issue != before {
                issue.updated_at = now.clone();
                docs.push(Written::Doc(Box::new(issue.clone())));
            }
            if !changes.is_empty() {
                let note = changes::notification(&actor.username, &changes);
                docs.push(Written::Comment(number, Box::new(note)));
            }
            for mut other in others {
                other.updated_at = now.clone();
                docs.push(Written::Doc(Box::new(other)));
            }
            result = Some(Edited { issue, changes });
            Ok(docs)
        })?;
        result.ok_or_else(|| self.no_issue(number))
    }

    /// Closes an issue with a reason from the project's list.
    pub fn close(&self, actor: &Actor, number: u64, reason: Option<&str>) -> Result<Edited> {
        if let Some(r) = reason {
            self.checks().close_reason(r)?;
        }
        self.set_status(actor, number, Status::Closed, reason)
    }

    /// Reopens an issue.
    pub fn reopen(&self, actor: &Actor, number: u64) -> Result<Edited> {
        self.set_status(actor, number, Status::Open, None)
    }

    fn set_status(
        &self,
        actor: &Actor,
        number: u64,
        status: Status,
        reason: Option<&str>,
    ) -> Result<Edited> {
        self.sync()?;
        let existing = self.visible_issue(actor, number)?;
        self.require(
            actor,
            Action::IssueChangeStatus,
            existing.author == actor.username,
        )?;
        let verb = if status == Status::Closed {
            "Close"
        } else {
            "Reopen"
        };
        let mut result = None;
        let message = format!("{verb} issue #{}", display_number(number));
        self.engine.write(actor, &message, |tip| {
            let mut issue = self.editable(actor, tip, number)?;
            if issue.status == status {
                return Err(Error::invalid(
                    format!("issue #{}", display_number(number)),
                    format!("it is already {}", status.as_str()),
                ));
            }
            let now = time::now_rfc3339();
            let before = issue.clone();
            issue.status = status;
            match status {
                Status::Closed => {
                    issue.close_reason = reason.map(String::from);
                    issue.closed_at = Some(now.clone());
                    issue.closed_by = Some(actor.username.clone());
                }
                Status::Open => {
                    issue.close_reason = None;
                    issue.closed_at = None;
                    issue.closed_by = None;
                }
            }
            issue.updated_at = now;
            let changes = changes::describe(&before, &issue);
            let note = changes::notification(&actor.username, &changes);
            result = Some(Edited {
                issue: issue.clone(),
                changes,
            });
            Ok(vec![
                Written::Doc(Box::new(issue)),
                Written::Comment(number, Box::new(note)),
            ])
        })?;
        result.ok_or_else(|| self.no_issue(number))
    }
}

/// The fields an edit sets on an issue (links aside).
fn apply_edit(issue: &mut IssueDoc, edit: &IssueEdit, title: Option<&str>, actor: &str) {
    if let Some(t) = title {
        issue.title = t.to_string();
    }
    if let Some(b) = &edit.body {
        issue.body = b.clone();
    }
    issue.tags.extend(edit.add_tags.iter().cloned());
    for t in &edit.remove_tags {
        issue.tags.remove(t);
    }
    if let Some(a) = &edit.assignee {
        issue.assignee = a.clone();
    }
    if let Some(p) = &edit.priority {
        issue.priority = p.clone();
    }
    if let Some(m) = &edit.milestone {
        issue.milestone = m.clone();
    }
    for (k, v) in &edit.fields {
        if v.is_empty() {
            issue.custom_fields.remove(k);
        } else {
            issue.custom_fields.insert(k.clone(), v.clone());
        }
    }
    if let Some(p) = edit.private {
        issue.private = p;
    }
    match edit.watch {
        Some(true) => {
            issue.watchers.insert(actor.to_string());
        }
        Some(false) => {
            issue.watchers.remove(actor);
        }
        None => {}
    }
}
