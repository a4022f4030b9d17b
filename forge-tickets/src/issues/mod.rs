//! The issue service: open, comment, edit, close, read, list — a thin layer
//! over the document engine that decides what to write and who may.

pub mod changes;
mod index;
pub(crate) mod kind;
mod write;

use std::rc::Rc;

use forge_core::project::{Project, ProjectSettings};
use forge_core::role::Action;
use forge_core::{ForgeHome, Store};
use forge_git::Repo;

use crate::checks::Checks;
use crate::doc::IssueDoc;
use crate::engine::{rows, Engine, SyncReport};
use crate::view::{CommentView, IssueDetails, IssueSummary};
use crate::{Actor, Error, Result};
pub use index::{IssueFilter, ListedIssue};
pub use kind::Issues;
pub use write::{Edited, IssueEdit, NewIssue};

/// The issues of one project: a tickets repository and its index.
pub struct Tracker<'s> {
    pub(crate) engine: Engine<'s, Issues>,
    settings: Option<ProjectSettings>,
}

impl<'s> Tracker<'s> {
    /// Opens the tracker of a project, creating its tickets repository if
    /// it is missing.
    pub fn create_for_project(
        store: &'s Store,
        home: &ForgeHome,
        project: &Project,
    ) -> Result<Self> {
        let paths = home.project_paths(&project.full_name);
        if !paths.tickets.exists() {
            Repo::init_bare(&paths.tickets)?;
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
    /// opened (a server keeps it open across requests; a batch stages its
    /// commits), with the branch its HEAD named when opened.
    pub fn with_repo(store: &'s Store, repo: Rc<Repo>, branch: String, project: &Project) -> Self {
        Tracker {
            engine: Engine::new(store, repo, branch, &project.full_name, true),
            settings: Some(project.settings.clone()),
        }
    }

    /// Opens the tracker of an offline clone of a tickets repository; the
    /// index lives in `store` (kept under the clone's `.git`).
    pub fn open_clone(store: &'s Store, repo: Repo, project: &str) -> Result<Self> {
        let branch = repo.head_branch()?;
        Ok(Tracker {
            engine: Engine::new(store, Rc::new(repo), branch, project, false),
            settings: None,
        })
    }

    /// The project's full name.
    pub fn project(&self) -> &str {
        &self.engine.project
    }

    /// Takes the warnings the syncs so far produced (malformed documents
    /// skipped, index rebuilt), for the frontend to show.
    pub fn take_warnings(&self) -> Vec<String> {
        self.engine.take_warnings()
    }

    /// The repository holding the documents.
    pub fn repo(&self) -> &Repo {
        &self.engine.repo
    }

    pub(crate) fn store(&self) -> &'s Store {
        self.engine.store
    }

    pub(crate) fn checks(&self) -> Checks<'_> {
        Checks {
            store: self.engine.store,
            project: &self.engine.project,
            settings: self.settings.as_ref(),
            known_users: self.engine.home,
        }
    }

    fn require(&self, actor: &Actor, action: Action, is_author: bool) -> Result<()> {
        actor.require(action, is_author, self.project())
    }

    fn no_issue(&self, number: u64) -> Error {
        self.engine.missing(number)
    }

    /// Brings the index up to date with the tip of the tickets branch,
    /// reading only the paths that changed since the commit it reflects.
    pub fn sync(&self) -> Result<SyncReport> {
        self.engine.sync()
    }

    /// Where the issue index stands against the tickets branch (changes
    /// nothing).
    pub fn index_position(&self) -> Result<crate::engine::IndexPosition> {
        self.engine.position()
    }

    /// Drops this project's issue rows and rebuilds them from the tip of
    /// the tickets branch. Appends no events.
    pub fn reindex(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<SyncReport> {
        self.engine.reindex(progress)
    }

    /// Moves issues a push brought without a number (made offline) to their
    /// numbered folders, in one commit by `actor`; returns their numbers.
    pub fn settle_numbers(&self, actor: &Actor) -> Result<Vec<u64>> {
        self.engine.settle(actor)
    }

    /// Whether issue `number` exists and the viewer may see it, as of the
    /// last sync.
    pub(crate) fn exists_indexed(&self, viewer: &Actor, number: u64) -> Result<bool> {
        match self.visible_issue(viewer, number) {
            Ok(_) => Ok(true),
            Err(Error::NoIssue { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Checks a push of the tickets repository, `old` to `new`, as changes
    /// by `pusher`.
    pub(crate) fn check_push(
        &self,
        pusher: &Actor,
        old: Option<forge_git::CommitId>,
        new: forge_git::CommitId,
    ) -> Result<std::result::Result<(), crate::engine::push::Violation>> {
        self.engine.check_push(pusher, &self.checks(), old, new)
    }

    fn visible_issue(&self, viewer: &Actor, number: u64) -> Result<IssueDoc> {
        match rows::doc::<Issues>(self.store().conn(), self.project(), number)? {
            Some(issue) if can_see(viewer, &issue) => Ok(issue),
            _ => Err(self.no_issue(number)),
        }
    }

    /// One issue with its comments, as the viewer may see it.
    pub fn issue(&self, viewer: &Actor, number: u64) -> Result<IssueDetails> {
        self.sync()?;
        let issue = self.visible_issue(viewer, number)?;
        let comments = rows::comments::<Issues>(self.store().conn(), self.project(), number)?;
        let updated_at = rows::last_activity(&issue.updated_at, &comments);
        let mut details = IssueDetails::new(
            issue,
            comments.into_iter().map(CommentView::from).collect(),
            updated_at,
        );
        let mut related = index::related_pulls(self.store().conn(), self.project(), &[number])?;
        details.related_prs = related.remove(&number).unwrap_or_default();
        Ok(details)
    }

    /// The index synced once, for several reads that must agree (a page and
    /// its count) and that a cache may key on its commit.
    pub fn view<'a>(&'a self, viewer: &'a Actor) -> Result<IndexView<'a, 's>> {
        viewer.check_readable(self.project())?;
        let tickets = self.engine.sync_commit()?;
        // What the issues show of the pull requests (`related_prs`) is as
        // the requests' index has it: the view's state names both.
        let requests = crate::engine::rows::indexed_commit::<crate::pulls::Pulls>(
            self.store().conn(),
            self.project(),
        )?
        .unwrap_or_default();
        let commit = format!("{tickets}+{requests}");
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
    fn listed(&self, viewer: &Actor, filter: &IssueFilter) -> Result<Vec<ListedIssue>> {
        viewer.check_readable(self.project())?;
        self.sync()?;
        index::list(
            self.store().conn(),
            self.project(),
            filter,
            &viewer.username,
            viewer.role.is_some(),
        )
    }

    /// Like [`list`](Self::list), each issue with its whole fields and
    /// comments (one sync and two queries for the page).
    pub fn list_details(&self, viewer: &Actor, filter: &IssueFilter) -> Result<Vec<IssueDetails>> {
        let rows = self.listed(viewer, filter)?;
        self.with_comments(rows)
    }

    fn with_comments(&self, listed: Vec<ListedIssue>) -> Result<Vec<IssueDetails>> {
        let numbers: Vec<u64> = listed.iter().map(|r| r.doc.number).collect();
        let conn = self.store().conn();
        let mut comments = rows::comments_of::<Issues>(conn, self.project(), &numbers)?;
        let mut related = index::related_pulls(conn, self.project(), &numbers)?;
        Ok(listed
            .into_iter()
            .map(|row| {
                let number = row.doc.number;
                let list = comments.remove(&number).unwrap_or_default();
                // From the documents' own times, to their fraction of a
                // second (the index keeps whole seconds).
                let updated_at = rows::last_activity(&row.doc.updated_at, &list);
                let mut details = IssueDetails::new(
                    row.doc,
                    list.into_iter().map(CommentView::from).collect(),
                    updated_at,
                );
                details.related_prs = related.remove(&number).unwrap_or_default();
                details
            })
            .collect())
    }

    /// How many issues [`list`](Self::list) would give without its limit.
    pub fn count(&self, viewer: &Actor, filter: &IssueFilter) -> Result<u64> {
        self.view(viewer)?.count(filter)
    }

    /// The tags used on the project's issues, sorted.
    pub fn tags(&self, viewer: &Actor) -> Result<Vec<String>> {
        viewer.check_readable(self.project())?;
        self.sync()?;
        index::tags(self.store().conn(), self.project())
    }

    /// Whether the project has private issues (then its tickets and
    /// requests repositories are for ticket+ members only), synced first.
    pub fn has_private_issues(&self) -> Result<bool> {
        self.sync()?;
        index::has_private_issues(self.store().conn(), self.project())
    }

    /// Events of this project after event id `since`, the issue index
    /// synced first (at a forge home, `log::events` syncs every index).
    pub fn events(&self, since: i64, limit: usize) -> Result<Vec<forge_core::event::Event>> {
        self.sync()?;
        Ok(forge_core::event::list(
            self.store().conn(),
            Some(self.project()),
            since,
            limit,
        )?)
    }
}

/// Whether `viewer` may see `issue` (private ones: members, the author, the assignee).
pub(crate) fn can_see(viewer: &Actor, issue: &IssueDoc) -> bool {
    IssueReaders::of(issue).admit(viewer)
}

/// What decides who may read an issue: whether it is private, and then
/// its author and assignee (with the project's members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueReaders {
    /// Whether the issue is private.
    pub private: bool,
    /// Its author.
    pub author: String,
    /// Its assignee.
    pub assignee: Option<String>,
}

impl IssueReaders {
    fn of(issue: &IssueDoc) -> IssueReaders {
        IssueReaders {
            private: issue.private,
            author: issue.author.clone(),
            assignee: issue.assignee.clone(),
        }
    }

    /// The readers of issue `number` of `project` as the index has it now
    /// (`None`: no such issue).
    pub fn lookup(store: &Store, project: &str, number: u64) -> Result<Option<IssueReaders>> {
        index::readers(store.conn(), project, number)
    }

    /// Whether `viewer` may read the issue.
    pub fn admit(&self, viewer: &Actor) -> bool {
        viewer.can_read()
            && (!self.private
                || viewer.role.is_some()
                || self.author == viewer.username
                || self.assignee.as_deref() == Some(viewer.username.as_str()))
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
    /// The state of the index the view reads: the tickets commit it
    /// reflects (empty while the branch is unborn) and the requests commit
    /// the pull requests' index reflects (`<tickets>+<requests>`);
    /// everything read through this view is a function of it.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    fn conn(&self) -> &rusqlite::Connection {
        self.tracker.store().conn()
    }

    /// How many issues match `filter` (its limit and offset aside).
    pub fn count(&self, filter: &IssueFilter) -> Result<u64> {
        let v = self.viewer;
        index::count(
            self.conn(),
            self.tracker.project(),
            filter,
            &v.username,
            v.role.is_some(),
        )
    }

    /// The numbers of the issues matching `filter`, in its order, within
    /// its limit and offset.
    pub fn numbers(&self, filter: &IssueFilter) -> Result<Vec<u64>> {
        let v = self.viewer;
        index::list_numbers(
            self.conn(),
            self.tracker.project(),
            filter,
            &v.username,
            v.role.is_some(),
        )
    }

    /// The given issues in full with their comments, in the order given;
    /// those that do not exist or that the viewer may not see are left out.
    pub fn details(&self, numbers: &[u64]) -> Result<Vec<IssueDetails>> {
        let v = self.viewer;
        let listed = index::listed_by_numbers(
            self.conn(),
            self.tracker.project(),
            numbers,
            &v.username,
            v.role.is_some(),
        )?;
        self.tracker.with_comments(listed)
    }
}
