//! The service API for issues: open, comment, edit, close, read, list.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use forge_core::name::{self, printable};
use forge_core::project::{FieldKind, Project, ProjectSettings};
use forge_core::role::{permits, Access, Action, Role};
use forge_core::{time, ForgeHome, Store};
use forge_git::{Change, CommitId, Identity, Repo};

use crate::doc::{self, CommentDoc, IssueDoc, Status, SCHEMA};
use crate::index::{self, IssueFilter};
use crate::sync::Written;
use crate::view::{CommentView, IssueDetails, IssueSummary};
use crate::{Error, Result};

/// Who acts, with what they may do on the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Username (written as author of documents and commits).
    pub username: String,
    /// Email for the commit author line.
    pub email: String,
    /// Role on the project, if a member.
    pub role: Option<Role>,
    /// Whether the project is private.
    pub private_project: bool,
}

impl Actor {
    /// A registered user acting on a project.
    pub fn for_user(store: &Store, project: &Project, username: &str) -> Result<Actor> {
        let user = store.user(username)?;
        Ok(Actor {
            email: user.emails.first().cloned().unwrap_or_default(),
            role: store.role_of(project, &user.username)?,
            username: user.username,
            private_project: project.private,
        })
    }

    /// The owner of an offline clone: may do everything there.
    pub fn clone_owner(username: &str, email: &str) -> Actor {
        Actor {
            username: username.into(),
            email: email.into(),
            role: Some(Role::Admin),
            private_project: false,
        }
    }

    /// Someone acting without a user name: may only read public projects.
    pub fn anonymous(private_project: bool) -> Actor {
        Actor {
            username: String::new(),
            email: String::new(),
            role: None,
            private_project,
        }
    }

    /// Refuses anonymous actors and actions their role does not permit on `project`.
    pub(crate) fn require(&self, action: Action, is_author: bool, project: &str) -> Result<()> {
        if self.username.is_empty() {
            return Err(Error::Anonymous);
        }
        if permits(&self.access(is_author), action) {
            Ok(())
        } else {
            Err(Error::Core(forge_core::Error::PermissionDenied {
                user: self.username.clone(),
                action: action.to_string(),
                project: project.to_string(),
            }))
        }
    }

    pub(crate) fn access(&self, is_author: bool) -> Access {
        Access {
            role: self.role,
            private_project: self.private_project,
            is_author,
        }
    }

    fn can_see(&self, issue: &IssueDoc) -> bool {
        forge_core::role::can_read(&self.access(false))
            && (!issue.private
                || self.role.is_some()
                || issue.author == self.username
                || issue.assignee.as_deref() == Some(self.username.as_str()))
    }
}

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
    fn touches_metadata(&self) -> bool {
        !self.add_tags.is_empty()
            || !self.remove_tags.is_empty()
            || self.priority.is_some()
            || !self.fields.is_empty()
            || !self.depends.is_empty()
            || !self.blocks.is_empty()
            || self.private.is_some()
    }
}

/// The issues of one project: a tickets repository and its index.
pub struct Tracker<'s> {
    pub(crate) store: &'s Store,
    pub(crate) repo: Rc<Repo>,
    pub(crate) project: String,
    pub(crate) branch: String,
    settings: Option<ProjectSettings>,
    /// Numbers come from the project's shared sequence (a forge home) rather
    /// than from the highest local number (an offline clone).
    shared_numbering: bool,
    /// Usernames are checked against registered users (a forge home).
    pub(crate) known_users: bool,
    /// Warnings of the syncs run so far (malformed documents, rebuilds).
    pub(crate) warnings: RefCell<Vec<String>>,
}

const MAX_TITLE: usize = 255;
const MAX_BODY: usize = 1 << 20;

/// Creates a project: its row in the store and its four bare repositories.
/// Nothing is left behind when a step fails.
pub fn create_project(
    store: &Store,
    home: &ForgeHome,
    full_name: &str,
    description: &str,
    private: bool,
    owner: &str,
) -> Result<Project> {
    let project = store.create_project(full_name, description, private, owner)?;
    let paths = home.project_paths(full_name);
    let made = [&paths.source, &paths.docs, &paths.tickets, &paths.requests]
        .into_iter()
        .try_for_each(|path| {
            if path.exists() {
                return Err(Error::invalid(
                    format!("repository {}", path.display()),
                    "already exists on disk",
                ));
            }
            let repo = Repo::init_bare(path)?;
            // Ticket documents are read one by one; short delta chains keep
            // those reads cheap once `git gc` has packed the repository.
            if path == &paths.tickets || path == &paths.requests {
                repo.set_config("pack.depth", "10")?;
            }
            Ok(())
        });
    if let Err(e) = made {
        store
            .conn()
            .execute("DELETE FROM projects WHERE id = ?1", [project.id])?;
        return Err(e);
    }
    index::set_indexed_commit(store.conn(), full_name, "")?;
    Ok(project)
}

/// Makes `username`'s fork of a project (`repos/forks/<user>/<project>.git`),
/// sharing the parent's objects; returns its path.
pub fn fork_project(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    username: &str,
) -> Result<std::path::PathBuf> {
    let access = store.access(project, username, false)?;
    if !permits(&access, Action::ForkProject) {
        return Err(if forge_core::role::can_read(&access) {
            Error::Core(forge_core::Error::PermissionDenied {
                user: username.into(),
                action: Action::ForkProject.to_string(),
                project: project.full_name.clone(),
            })
        } else {
            Error::Core(forge_core::Error::not_found("project", &project.full_name))
        });
    }
    store.add_fork(project, username)?;
    let path = home.fork_path(username, &project.full_name);
    let parent = Repo::open(&home.project_paths(&project.full_name).source);
    match parent.and_then(|p| p.fork_to(&path)) {
        Ok(_) => Ok(path),
        Err(e) => {
            store.remove_fork(project, username)?;
            Err(e.into())
        }
    }
}

impl<'s> Tracker<'s> {
    /// Creates a project with [`create_project`] and opens its tracker.
    pub fn create_for_project(
        store: &'s Store,
        home: &ForgeHome,
        project: &Project,
    ) -> Result<Self> {
        let paths = home.project_paths(&project.full_name);
        if !paths.tickets.exists() {
            Repo::init_bare(&paths.tickets)?;
            if index::indexed_commit(store.conn(), &project.full_name)?.is_none() {
                index::set_indexed_commit(store.conn(), &project.full_name, "")?;
            }
        }
        Self::open_for_project(store, home, project)
    }

    /// Opens the tracker of a project of a forge home.
    pub fn open_for_project(store: &'s Store, home: &ForgeHome, project: &Project) -> Result<Self> {
        let repo = Repo::open(&home.project_paths(&project.full_name).tickets)?;
        let branch = repo.head_branch()?;
        Ok(Self::with_repo(store, Rc::new(repo), branch, project))
    }

    /// The tracker of a project whose tickets repository the caller already
    /// opened (a server keeps it open across requests), with the branch its
    /// HEAD named when opened (`Repo::head_branch`).
    pub fn with_repo(store: &'s Store, repo: Rc<Repo>, branch: String, project: &Project) -> Self {
        Tracker {
            store,
            repo,
            project: project.full_name.clone(),
            branch,
            settings: Some(project.settings.clone()),
            shared_numbering: true,
            known_users: true,
            warnings: RefCell::default(),
        }
    }

    /// Opens the tracker of an offline clone of a tickets repository; the
    /// index lives in `store` (kept under the clone's `.git`).
    pub fn open_clone(store: &'s Store, repo: Repo, project: &str) -> Result<Self> {
        let branch = repo.head_branch()?;
        Ok(Tracker {
            store,
            repo: Rc::new(repo),
            project: project.into(),
            branch,
            settings: None,
            shared_numbering: false,
            known_users: false,
            warnings: RefCell::default(),
        })
    }

    /// The project's full name.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Takes the warnings the syncs so far produced (malformed documents
    /// skipped, index rebuilt), for the frontend to show.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    /// The repository holding the documents.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    fn require(&self, actor: &Actor, action: Action, is_author: bool) -> Result<()> {
        actor.require(action, is_author, &self.project)
    }

    fn no_issue(&self, number: u64) -> Error {
        Error::NoIssue {
            project: self.project.clone(),
            number,
        }
    }

    /// Reads and parses an issue at a commit of the repository.
    pub(crate) fn issue_at(&self, tip: Option<CommitId>, number: u64) -> Result<Option<IssueDoc>> {
        let Some(tip) = tip else { return Ok(None) };
        let path = doc::issue_path(number);
        match self.repo.read_file(tip, &path)? {
            None => Ok(None),
            Some(bytes) => doc::parse_issue(&path, &bytes)
                .map(Some)
                .map_err(Error::Document),
        }
    }

    fn comment_at(
        &self,
        tip: Option<CommitId>,
        number: u64,
        id: &str,
    ) -> Result<Option<CommentDoc>> {
        let Some(tip) = tip else { return Ok(None) };
        let path = doc::comment_path(number, id);
        match self.repo.read_file(tip, &path)? {
            None => Ok(None),
            Some(bytes) => doc::parse_comment(&path, &bytes)
                .map(Some)
                .map_err(Error::Document),
        }
    }

    /// Commits the documents `build` returns for the current tip, then
    /// applies them to the index. `build` runs again if the branch moved.
    fn write<F>(&self, actor: &Actor, message: &str, mut build: F) -> Result<Vec<Written>>
    where
        F: FnMut(Option<CommitId>) -> Result<Vec<Written>>,
    {
        // git needs an email; users without one get a placeholder that maps back
        // to their username when a sync reads the commit.
        let email = if actor.email.is_empty() {
            format!("{}@users.forge.invalid", actor.username)
        } else {
            actor.email.clone()
        };
        let identity = Identity::new(&actor.username, email);
        // Held through the index update too, so that the index sees this
        // process's commits in order and takes the fast path.
        let _writing = self.repo.write_lock();
        let mut failure = None;
        let mut written = Vec::new();
        let mut committed = Vec::new();
        let parent = Cell::new(None);
        let commit = self
            .repo
            .commit_with(&self.branch, &identity, message, |tip| {
                parent.set(tip);
                match build(tip) {
                    Ok(docs) => {
                        let changes: Vec<Change> = docs.iter().map(Written::change).collect();
                        committed = changes.clone();
                        written = docs;
                        Ok(changes)
                    }
                    Err(e) => {
                        failure = Some(e);
                        Err(forge_git::Error::Caller("the change was refused".into()))
                    }
                }
            });
        if let Some(e) = failure {
            return Err(e);
        }
        let commit = commit?;
        self.apply_own_write(parent.get(), commit, &written, &committed, &actor.username)?;
        Ok(written)
    }

    pub(crate) fn check_title(title: &str) -> Result<String> {
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

    pub(crate) fn check_body(body: &str) -> Result<()> {
        if body.len() > MAX_BODY {
            return Err(Error::invalid(
                "body",
                format!("longer than {MAX_BODY} bytes"),
            ));
        }
        Ok(())
    }

    pub(crate) fn check_tag(tag: &str) -> Result<()> {
        name::validate_label("tag", tag)?;
        if tag.contains(',') {
            return Err(Error::invalid(
                format!("tag `{}`", printable(tag)),
                "tags cannot contain commas",
            ));
        }
        Ok(())
    }

    fn check_user(&self, user: &str) -> Result<()> {
        if self.known_users {
            self.store.user(user).map(drop).map_err(Error::from)
        } else {
            name::validate_label("user", user).map_err(Error::from)
        }
    }

    fn check_choice(
        &self,
        kind: &'static str,
        value: &str,
        known: Option<Vec<&str>>,
    ) -> Result<()> {
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

    fn check_priority(&self, p: &str) -> Result<()> {
        self.check_choice(
            "priority",
            p,
            self.settings
                .as_ref()
                .map(|s| s.priorities.iter().map(String::as_str).collect()),
        )
    }

    fn check_milestone(&self, m: &str) -> Result<()> {
        self.check_choice(
            "milestone",
            m,
            self.settings
                .as_ref()
                .map(|s| s.milestones.iter().map(|m| m.name.as_str()).collect()),
        )
    }

    fn check_field(&self, name: &str, value: &str) -> Result<()> {
        name::validate_label("custom field", name)?;
        let what = || {
            format!(
                "custom field `{}` value `{}`",
                printable(name),
                printable(value)
            )
        };
        let Some(settings) = &self.settings else {
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
            Ok(())
        } else {
            let expected = match def.kind {
                FieldKind::Text => "text without control characters".to_string(),
                FieldKind::Bool => "true or false".to_string(),
                FieldKind::Link => "an http(s) URL".to_string(),
                FieldKind::List => format!("one of: {}", def.options.join(", ")),
                FieldKind::Date => "a date YYYY-MM-DD".to_string(),
            };
            Err(Error::invalid(what(), format!("expected {expected}")))
        }
    }

    /// Checks what the JSON schema cannot: that the users an issue names are
    /// registered and its priority, milestone, close reason and custom fields
    /// are the project's. The pre-receive hook runs it on pushed documents.
    pub(crate) fn check_issue_values(&self, issue: &IssueDoc) -> Result<()> {
        let users = [
            Some(&issue.author),
            issue.assignee.as_ref(),
            issue.closed_by.as_ref(),
        ];
        for user in users.into_iter().flatten().chain(&issue.watchers) {
            self.check_user(user)?;
        }
        if let Some(p) = &issue.priority {
            self.check_priority(p)?;
        }
        if let Some(m) = &issue.milestone {
            self.check_milestone(m)?;
        }
        if let Some(r) = &issue.close_reason {
            let reasons = self
                .settings
                .as_ref()
                .map(|s| s.close_reasons.iter().map(String::as_str).collect());
            self.check_choice("close reason", r, reasons)?;
        }
        for t in &issue.tags {
            Self::check_tag(t)?;
        }
        for (k, v) in &issue.custom_fields {
            self.check_field(k, v)?;
        }
        Self::check_title(&issue.title)?;
        Ok(())
    }

    /// Checks the users a comment names.
    pub(crate) fn check_comment_values(&self, comment: &CommentDoc) -> Result<()> {
        self.check_user(&comment.author)?;
        if let Some(e) = &comment.editor {
            self.check_user(e)?;
        }
        for users in comment.reactions.values() {
            for u in users {
                self.check_user(u)?;
            }
        }
        Ok(())
    }

    /// Checks the users a pull request names.
    pub(crate) fn check_request_values(&self, pull: &crate::request::PullDoc) -> Result<()> {
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
            self.check_user(user)?;
        }
        for f in pull.flags.values() {
            self.check_user(&f.username)?;
        }
        if !Repo::valid_branch_name(&pull.target) || !Repo::valid_branch_name(&pull.source.branch) {
            return Err(Error::invalid(
                "branch",
                "source or target is not a valid branch name",
            ));
        }
        Self::check_title(&pull.title)?;
        Ok(())
    }

    fn next_number(&self) -> Result<u64> {
        if self.shared_numbering {
            Ok(self.store.allocate_number(&self.project)?)
        } else {
            Ok(index::max_number(self.store.conn(), &self.project)? + 1)
        }
    }

    /// Opens an issue.
    pub fn create_issue(&self, actor: &Actor, new: NewIssue) -> Result<IssueDoc> {
        self.require(actor, Action::IssueCreate, false)?;
        let title = Self::check_title(&new.title)?;
        Self::check_body(&new.body)?;
        for tag in &new.tags {
            Self::check_tag(tag)?;
        }
        if let Some(a) = &new.assignee {
            self.require(actor, Action::IssueAssign, false)?;
            self.check_user(a)?;
        }
        if let Some(p) = &new.priority {
            self.check_priority(p)?;
        }
        if let Some(m) = &new.milestone {
            self.require(actor, Action::IssueUpdateMilestone, false)?;
            self.check_milestone(m)?;
        }
        for (k, v) in &new.custom_fields {
            self.check_field(k, v)?;
        }
        self.sync()?;
        let number = self.next_number()?;
        let now = time::now_rfc3339();
        let issue = IssueDoc {
            schema: SCHEMA,
            uid: doc::new_uid(),
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
        let message = format!("Open issue #{number}: {}", issue.title);
        self.write(actor, &message, |tip| {
            let taken = match tip {
                Some(tip) => self.repo.has_file(tip, &doc::issue_path(number))?,
                None => false,
            };
            if taken {
                return Err(Error::invalid(
                    format!("issue #{number}"),
                    "its number is already taken in the tickets repository",
                ));
            }
            Ok(vec![Written::Issue(Box::new(issue.clone()))])
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
            docs.push(Written::Issue(Box::new(issue)));
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
        self.write(actor, message, |_| Ok(docs.clone()))?;
        Ok(())
    }

    /// Reads an issue for editing: from git at `tip`, visible to the actor.
    fn editable(&self, actor: &Actor, tip: Option<CommitId>, number: u64) -> Result<IssueDoc> {
        match self.issue_at(tip, number)? {
            Some(issue) if actor.can_see(&issue) => Ok(issue),
            _ => Err(self.no_issue(number)),
        }
    }

    /// Comments on an issue.
    pub fn comment(&self, actor: &Actor, number: u64, body: &str) -> Result<CommentDoc> {
        self.require(actor, Action::IssueComment, false)?;
        if body.trim().is_empty() {
            return Err(Error::invalid("comment", "it is empty"));
        }
        Self::check_body(body)?;
        self.sync()?;
        self.visible_issue(actor, number)?;
        let created_at = time::now_rfc3339();
        let comment = CommentDoc {
            anchor: None,
            schema: SCHEMA,
            id: doc::new_comment_id(&created_at),
            author: actor.username.clone(),
            body: body.to_string(),
            created_at,
            edited_at: None,
            editor: None,
            reactions: BTreeMap::new(),
        };
        self.write(actor, &format!("Comment on issue #{number}"), |tip| {
            // Visibility was checked on the index just now; here only make sure
            // the issue still exists at the tip, without reading its document.
            match tip {
                Some(tip) if self.repo.has_file(tip, &doc::issue_path(number))? => {}
                _ => return Err(self.no_issue(number)),
            }
            Ok(vec![Written::Comment(number, Box::new(comment.clone()))])
        })?;
        Ok(comment)
    }

    /// Edits a comment's body (its author, or a ticket+ member).
    pub fn edit_comment(
        &self,
        actor: &Actor,
        number: u64,
        id: &str,
        body: &str,
    ) -> Result<CommentDoc> {
        if body.trim().is_empty() {
            return Err(Error::invalid("comment", "it is empty"));
        }
        Self::check_body(body)?;
        self.update_comment(actor, number, id, "Edit comment", |c| {
            self.require(actor, Action::IssueUpdate, c.author == actor.username)?;
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
        self.sync()?;
        let mut out = None;
        self.write(actor, &format!("{verb} on issue #{number}"), |tip| {
            self.editable(actor, tip, number)?;
            let mut c = self.comment_at(tip, number, id)?.ok_or_else(missing)?;
            change(&mut c)?;
            out = Some(c.clone());
            Ok(vec![Written::Comment(number, Box::new(c))])
        })?;
        out.ok_or_else(missing)
    }

    /// Edits an issue's fields.
    pub fn edit(&self, actor: &Actor, number: u64, edit: IssueEdit) -> Result<IssueDoc> {
        let title = edit.title.as_deref().map(Self::check_title).transpose()?;
        if let Some(body) = &edit.body {
            Self::check_body(body)?;
        }
        for tag in edit.add_tags.iter().chain(&edit.remove_tags) {
            Self::check_tag(tag)?;
        }
        if let Some(Some(a)) = &edit.assignee {
            self.check_user(a)?;
        }
        if let Some(Some(p)) = &edit.priority {
            self.check_priority(p)?;
        }
        if let Some(Some(m)) = &edit.milestone {
            self.check_milestone(m)?;
        }
        for (k, v) in &edit.fields {
            if v.is_empty() {
                name::validate_label("custom field", k)?;
            } else {
                self.check_field(k, v)?;
            }
        }
        if edit.depends.contains(&number) || edit.blocks.contains(&number) {
            return Err(Error::invalid(
                format!("link of issue #{number}"),
                "an issue cannot depend on or block itself",
            ));
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
        self.write(actor, &format!("Edit issue #{number}"), |tip| {
            let mut issue = self.editable(actor, tip, number)?;
            let before = issue.clone();
            if let Some(t) = &title {
                issue.title = t.clone();
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
                    issue.watchers.insert(actor.username.clone());
                }
                Some(false) => {
                    issue.watchers.remove(&actor.username);
                }
                None => {}
            }
            let mut others = Vec::new();
            let links = edit
                .depends
                .iter()
                .map(|n| (*n, true))
                .chain(edit.blocks.iter().map(|n| (*n, false)));
            for (other_number, depends) in links {
                let mut other = self
                    .issue_at(tip, other_number)?
                    .ok_or_else(|| self.no_issue(other_number))?;
                if depends {
                    issue.depends.insert(other_number);
                    other.blocks.insert(number);
                } else {
                    issue.blocks.insert(other_number);
                    other.depends.insert(number);
                }
                others.push(other);
            }
            let now = time::now_rfc3339();
            let mut docs = Vec::new();
            if issue != before {
                issue.updated_at = now.clone();
                docs.push(Written::Issue(Box::new(issue.clone())));
            }
            for mut other in others {
                if Some(&other) != self.issue_at(tip, other.number)?.as_ref() {
                    other.updated_at = now.clone();
                    docs.push(Written::Issue(Box::new(other)));
                }
            }
            result = Some(issue);
            Ok(docs)
        })?;
        result.ok_or_else(|| self.no_issue(number))
    }

    /// Closes an issue with a reason from the project's list.
    pub fn close(&self, actor: &Actor, number: u64, reason: Option<&str>) -> Result<IssueDoc> {
        if let Some(r) = reason {
            let default = ProjectSettings::default();
            let reasons = &self.settings.as_ref().unwrap_or(&default).close_reasons;
            self.check_choice(
                "close reason",
                r,
                Some(reasons.iter().map(String::as_str).collect()),
            )?;
        }
        self.set_status(actor, number, Status::Closed, reason)
    }

    /// Reopens an issue.
    pub fn reopen(&self, actor: &Actor, number: u64) -> Result<IssueDoc> {
        self.set_status(actor, number, Status::Open, None)
    }

    fn set_status(
        &self,
        actor: &Actor,
        number: u64,
        status: Status,
        reason: Option<&str>,
    ) -> Result<IssueDoc> {
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
        self.write(actor, &format!("{verb} issue #{number}"), |tip| {
            let mut issue = self.editable(actor, tip, number)?;
            if issue.status == status {
                return Err(Error::invalid(
                    format!("issue #{number}"),
                    format!("it is already {}", status.as_str()),
                ));
            }
            let now = time::now_rfc3339();
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
            result = Some(issue.clone());
            Ok(vec![Written::Issue(Box::new(issue))])
        })?;
        result.ok_or_else(|| self.no_issue(number))
    }

    fn visible_issue(&self, viewer: &Actor, number: u64) -> Result<IssueDoc> {
        match index::issue(self.store.conn(), &self.project, number)? {
            Some(issue) if viewer.can_see(&issue) => Ok(issue),
            _ => Err(self.no_issue(number)),
        }
    }

    /// One issue with its comments, as the viewer may see it.
    pub fn issue(&self, viewer: &Actor, number: u64) -> Result<IssueDetails> {
        self.sync()?;
        let issue = self.visible_issue(viewer, number)?;
        let comments = index::comments(self.store.conn(), &self.project, number)?;
        let updated_at = comments
            .iter()
            .map(|c| c.created_at.as_str())
            .chain([issue.updated_at.as_str()])
            .max()
            .unwrap_or_default()
            .to_string();
        Ok(IssueDetails::new(
            issue,
            comments.into_iter().map(CommentView::from).collect(),
            updated_at,
        ))
    }

    /// The index synced once, for several reads that must agree (a page and
    /// its count) and that a cache may key on its commit.
    pub fn view<'a>(&'a self, viewer: &'a Actor) -> Result<IndexView<'a, 's>> {
        self.check_readable(viewer)?;
        let commit = self.sync_commit()?;
        Ok(IndexView {
            tracker: self,
            viewer,
            commit,
        })
    }

    /// Lists issues, newest first.
    pub fn list(&self, viewer: &Actor, filter: &IssueFilter) -> Result<Vec<IssueSummary>> {
        Ok(self
            .listed(viewer, filter)?
            .into_iter()
            .map(IssueSummary::from)
            .collect())
    }

    /// The rows of a listing, synced first, as the viewer may see them.
    fn listed(&self, viewer: &Actor, filter: &IssueFilter) -> Result<Vec<index::ListedIssue>> {
        self.check_readable(viewer)?;
        self.sync()?;
        index::list(
            self.store.conn(),
            &self.project,
            filter,
            &viewer.username,
            viewer.role.is_some(),
        )
    }

    fn check_readable(&self, viewer: &Actor) -> Result<()> {
        if forge_core::role::can_read(&viewer.access(false)) {
            Ok(())
        } else {
            Err(Error::Core(forge_core::Error::not_found(
                "project",
                &self.project,
            )))
        }
    }

    /// Like [`list`](Self::list), each issue with its whole fields and
    /// comments (one sync and two queries for the page, what the HTTP API
    /// lists).
    pub fn list_details(&self, viewer: &Actor, filter: &IssueFilter) -> Result<Vec<IssueDetails>> {
        let rows = self.listed(viewer, filter)?;
        self.with_comments(rows)
    }

    fn with_comments(&self, rows: Vec<index::ListedIssue>) -> Result<Vec<IssueDetails>> {
        let numbers: Vec<u64> = rows.iter().map(|r| r.doc.number).collect();
        let mut comments = index::comments_of(self.store.conn(), &self.project, &numbers)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let list = comments.remove(&row.doc.number).unwrap_or_default();
                let updated_at = forge_core::time::epoch_to_rfc3339(row.updated_at)
                    .unwrap_or_else(|| row.doc.updated_at.clone());
                IssueDetails::new(
                    row.doc,
                    list.into_iter().map(CommentView::from).collect(),
                    updated_at,
                )
            })
            .collect())
    }

    /// How many issues [`list`](Self::list) would give without its limit.
    pub fn count(&self, viewer: &Actor, filter: &IssueFilter) -> Result<u64> {
        self.check_readable(viewer)?;
        self.sync()?;
        index::count(
            self.store.conn(),
            &self.project,
            filter,
            &viewer.username,
            viewer.role.is_some(),
        )
    }

    /// Events of this project after event id `since`.
    pub fn events(&self, since: i64, limit: usize) -> Result<Vec<forge_core::event::Event>> {
        self.sync()?;
        Ok(forge_core::event::list(
            self.store.conn(),
            Some(&self.project),
            since,
            limit,
        )?)
    }
}

/// The index of a project as of one sync ([`Tracker::view`]), read as one
/// viewer may see it.
pub struct IndexView<'a, 's> {
    tracker: &'a Tracker<'s>,
    viewer: &'a Actor,
    commit: String,
}

impl IndexView<'_, '_> {
    /// The tickets commit the index reflects (empty while the branch is
    /// unborn): everything read through this view is a function of it.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// How many issues match `filter` (its limit and offset aside).
    pub fn count(&self, filter: &IssueFilter) -> Result<u64> {
        let t = self.tracker;
        index::count(
            t.store.conn(),
            &t.project,
            filter,
            &self.viewer.username,
            self.viewer.role.is_some(),
        )
    }

    /// The numbers of the issues matching `filter`, in its order, within
    /// its limit and offset.
    pub fn numbers(&self, filter: &IssueFilter) -> Result<Vec<u64>> {
        let t = self.tracker;
        index::list_numbers(
            t.store.conn(),
            &t.project,
            filter,
            &self.viewer.username,
            self.viewer.role.is_some(),
        )
    }

    /// The given issues in full with their comments, in the order given;
    /// those that do not exist or that the viewer may not see are left out.
    pub fn details(&self, numbers: &[u64]) -> Result<Vec<IssueDetails>> {
        let t = self.tracker;
        let rows = index::listed_by_numbers(
            t.store.conn(),
            &t.project,
            numbers,
            &self.viewer.username,
            self.viewer.role.is_some(),
        )?;
        t.with_comments(rows)
    }
}
