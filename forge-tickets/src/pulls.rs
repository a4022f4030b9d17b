//! Pull requests: open, review (comments, inline comments, flags, votes),
//! analyze, merge, close, refresh.
//!
//! The documents live in the project's requests repository (one commit per
//! change, as for issues) and are projected into SQLite before every read.
//! The commits a request proposes are mirrored into the project's source
//! repository as `refs/pull/<N>/head` (fetched from the fork or the remote
//! URL when they come from elsewhere), so analysis, diff and merge all run
//! on the one repository, in memory, without a clone.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use forge_core::config::Config;
use forge_core::event::{self, NewEvent};
use forge_core::name::{self, printable};
use forge_core::project::Project;
use forge_core::role::{can_read, Action};
use forge_core::{time, ForgeHome, Store};
use forge_git::{Change, CommitId, FileDiff, Identity, MergeStatus, MergeStrategy, Repo};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::{json, Value};

use crate::doc::{self, Anchor, CommentDoc, Side, SCHEMA};
use crate::magic::{issue_references, IssueReference};
use crate::pull_index::{self, PullFilter};
use crate::request::{
    self, parse_comment, parse_request, request_path, Flag, FlagStatus, PullCommit, PullDoc,
    PullStatus, RequestPath, Source,
};
use crate::sync::{apply_comment, CommentKind, SyncReport};
use crate::tracker::{Actor, Tracker};
use crate::{Error, Result};

/// At most this many commits are listed in a request document.
const MAX_LISTED_COMMITS: usize = 250;

/// A new pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPull {
    /// Title (required).
    pub title: String,
    /// Markdown description.
    pub body: String,
    /// The source branch.
    pub from_branch: String,
    /// The source is this user's fork of the project.
    pub from_fork: Option<String>,
    /// The source is this remote git URL.
    pub from_url: Option<String>,
    /// The target branch (default: the repository's default branch).
    pub to: Option<String>,
    /// Assignee username.
    pub assignee: Option<String>,
}

/// Changes to a request's fields; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullEdit {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub body: Option<String>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Start (`true`) or stop (`false`) watching as the actor.
    pub watch: Option<bool>,
}

/// Where an inline comment goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineTarget {
    /// File path.
    pub path: String,
    /// Line (1-based).
    pub line: u32,
    /// Commit (default: the request's head; the base for the old side).
    pub commit: Option<String>,
    /// Side of the diff.
    pub side: Side,
}

/// A flag as posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFlag {
    /// Flag name (a CI job), unique per request.
    pub name: String,
    /// Its state.
    pub status: FlagStatus,
    /// Completion, 0 to 100.
    pub percent: Option<u8>,
    /// Free text.
    pub comment: String,
    /// Link (http or https).
    pub url: Option<String>,
}

/// A request in a listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullSummary {
    /// Number.
    pub id: u64,
    /// Title.
    pub title: String,
    /// `open`, `closed` or `merged`.
    pub status: &'static str,
    /// Author.
    pub author: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// Source repository and branch.
    pub source: SourceView,
    /// Target branch.
    pub target: String,
    /// Head commit.
    pub head: String,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Creation time.
    pub created_at: String,
    /// Last activity.
    pub updated_at: String,
    /// Number of comments.
    pub comments: u64,
}

/// Where a request comes from, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceView {
    /// The project, `forks/<user>/<project>` or the URL.
    pub repo: String,
    /// Branch.
    pub branch: String,
}

/// A flag as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagView {
    /// Name.
    pub name: String,
    /// State.
    pub status: &'static str,
    /// Completion.
    pub percent: Option<u8>,
    /// Free text.
    pub comment: String,
    /// Link.
    pub url: Option<String>,
    /// Who posted it.
    pub username: String,
    /// When.
    pub updated_at: String,
}

/// A comment of a request as shown (inline ones carry their anchor).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullCommentView {
    /// Id.
    pub id: String,
    /// Author.
    pub author: String,
    /// Markdown body.
    pub body: String,
    /// Creation time.
    pub created_at: String,
    /// Last edit time.
    pub edited_at: Option<String>,
    /// File of an inline comment.
    pub path: Option<String>,
    /// Line of an inline comment.
    pub line: Option<u32>,
    /// Side (`new` or `old`) of an inline comment.
    pub side: Option<Side>,
    /// Commit an inline comment was made on.
    pub commit: Option<String>,
    /// Whether the anchored line has changed since.
    pub outdated: bool,
}

impl From<CommentDoc> for PullCommentView {
    fn from(c: CommentDoc) -> Self {
        let anchor = c.anchor;
        PullCommentView {
            id: c.id,
            author: c.author,
            body: c.body,
            created_at: c.created_at,
            edited_at: c.edited_at,
            path: anchor.as_ref().map(|a| a.path.clone()),
            line: anchor.as_ref().map(|a| a.line),
            side: anchor.as_ref().map(|a| a.side),
            commit: anchor.as_ref().map(|a| a.commit.clone()),
            outdated: anchor.is_some_and(|a| a.outdated),
        }
    }
}

/// A request with everything `pr show` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullDetails {
    /// Number.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Description.
    pub body: String,
    /// `open`, `closed` or `merged`.
    pub status: &'static str,
    /// Author.
    pub author: String,
    /// Assignee.
    pub assignee: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
    /// Source repository and branch.
    pub source: SourceView,
    /// Target branch.
    pub target: String,
    /// Head commit.
    pub head: String,
    /// Merge base with the target.
    pub base: String,
    /// Commits, newest first.
    pub commits: Vec<PullCommit>,
    /// `up-to-date`, `fast-forward`, `merge` or `conflicts`; `None` once closed or merged.
    pub merge_status: Option<&'static str>,
    /// Conflicting paths.
    pub conflicts: Vec<String>,
    /// Vote score.
    pub score: i64,
    /// Explicit votes.
    pub votes: BTreeMap<String, i8>,
    /// Flags on the head commit.
    pub flags: Vec<FlagView>,
    /// Issues named in the body or the commits.
    pub linked_issues: BTreeSet<u64>,
    /// Comments, oldest first.
    pub comments: Vec<PullCommentView>,
    /// The merge commit, once merged.
    pub merge_commit: Option<String>,
    /// Who closed or merged it.
    pub closed_by: Option<String>,
    /// When.
    pub closed_at: Option<String>,
    /// Watchers.
    pub watchers: BTreeSet<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeOutcome {
    /// The request after the merge.
    pub request: PullDoc,
    /// The commit the target branch now points at.
    pub merge_commit: String,
    /// Issues closed because the request or its commits said `Fixes #N`.
    pub closed_issues: Vec<u64>,
}

/// The pull requests of one project.
pub struct PullRequests<'s> {
    store: &'s Store,
    home: ForgeHome,
    project: Project,
    requests: Repo,
    source: Repo,
    branch: String,
    warnings: RefCell<Vec<String>>,
}

fn commit_text(c: Option<CommitId>) -> String {
    c.map(|c| c.to_string()).unwrap_or_default()
}

fn parse_commit(text: &str, what: &str) -> Result<CommitId> {
    text.parse::<CommitId>()
        .map_err(|_| Error::invalid(what.to_string(), format!("`{text}` is not a commit id")))
}

impl<'s> PullRequests<'s> {
    /// Opens the pull requests of a project of a forge home.
    pub fn open(store: &'s Store, home: &ForgeHome, project: &Project) -> Result<Self> {
        let paths = home.project_paths(&project.full_name);
        if !paths.requests.exists() {
            Repo::init_bare(&paths.requests)?;
        }
        let requests = Repo::open(&paths.requests)?;
        let branch = requests.head_branch()?;
        Ok(PullRequests {
            store,
            home: home.clone(),
            project: project.clone(),
            requests,
            source: Repo::open(&paths.source)?,
            branch,
            warnings: RefCell::default(),
        })
    }

    /// Takes the warnings collected so far (malformed documents, issues a
    /// merge could not close).
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    /// The project's source repository (holding `refs/pull/<N>/head`).
    pub fn source_repo(&self) -> &Repo {
        &self.source
    }

    fn full_name(&self) -> &str {
        &self.project.full_name
    }

    fn require(&self, actor: &Actor, action: Action, is_author: bool) -> Result<()> {
        actor.require(action, is_author, self.full_name())
    }

    fn no_request(&self, number: u64) -> Error {
        Error::NoRequest {
            project: self.full_name().to_string(),
            number,
        }
    }

    fn check_readable(&self, viewer: &Actor) -> Result<()> {
        if can_read(&viewer.access(false)) {
            Ok(())
        } else {
            Err(Error::Core(forge_core::Error::not_found(
                "project",
                self.full_name(),
            )))
        }
    }

    fn check_enabled(&self) -> Result<()> {
        if self.project.settings.pull_requests {
            Ok(())
        } else {
            Err(Error::invalid(
                format!("project `{}`", self.full_name()),
                "pull requests are disabled (setting pull_requests)",
            ))
        }
    }

    /// The indexed request, visible to the viewer.
    fn visible(&self, viewer: &Actor, number: u64) -> Result<PullDoc> {
        self.check_readable(viewer)?;
        self.sync()?;
        pull_index::request(self.store.conn(), self.full_name(), number)?
            .ok_or_else(|| self.no_request(number))
    }

    fn request_at(&self, tip: Option<CommitId>, number: u64) -> Result<PullDoc> {
        let path = request_path(number);
        let bytes = match tip {
            Some(tip) => self.requests.read_file(tip, &path)?,
            None => None,
        };
        match bytes {
            Some(bytes) => parse_request(&path, &bytes).map_err(Error::Document),
            None => Err(self.no_request(number)),
        }
    }

    fn identity(actor: &Actor) -> Identity {
        let name = if actor.username.is_empty() {
            "forge"
        } else {
            actor.username.as_str()
        };
        let email = if actor.email.is_empty() {
            format!("{name}@users.forge.invalid")
        } else {
            actor.email.clone()
        };
        Identity::new(name, email)
    }

    /// Commits the files `build` returns for the current tip of the requests
    /// repository, then brings the index up to date.
    fn write<F>(&self, actor: &Actor, message: &str, mut build: F) -> Result<()>
    where
        F: FnMut(Option<CommitId>) -> Result<Vec<Change>>,
    {
        let _writing = self.requests.write_lock();
        let mut failure = None;
        let mut parent = None;
        let mut changes = Vec::new();
        let committed =
            self.requests
                .commit_with(&self.branch, &Self::identity(actor), message, |tip| {
                    parent = tip;
                    match build(tip) {
                        Ok(built) => {
                            changes = built.clone();
                            Ok(built)
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
        let commit = committed?;
        self.apply_own_write(parent, commit, &changes, &actor.username)
    }

    /// Applies a commit this process just made. When the index stood at its
    /// parent, the documents are applied as written, without reading git
    /// again; otherwise (another writer got in between) a normal sync runs.
    fn apply_own_write(
        &self,
        parent: Option<CommitId>,
        commit: CommitId,
        changes: &[Change],
        actor: &str,
    ) -> Result<()> {
        if Some(commit) == parent {
            return Ok(()); // nothing was written
        }
        let tx = self.begin()?;
        let indexed = pull_index::indexed_commit(&tx, self.full_name())?;
        if indexed.as_deref() != Some(commit_text(parent).as_str()) {
            drop(tx);
            self.sync()?;
            return Ok(());
        }
        let mut applier = Applier {
            conn: &tx,
            project: self.full_name(),
            report: SyncReport::default(),
            emit: true,
            stale: BTreeSet::new(),
            max_number: 0,
        };
        for change in changes {
            match change {
                Change::Put { path, content } => applier.document(path, Some(content), actor)?,
                Change::Delete { path } => applier.document(path, None, actor)?,
            }
        }
        let (stale, max_number) = (std::mem::take(&mut applier.stale), applier.max_number);
        for n in stale {
            pull_index::refresh_activity(&tx, self.full_name(), n)?;
        }
        if max_number > 0 {
            self.store
                .reserve_numbers_through(self.full_name(), max_number)?;
        }
        pull_index::set_indexed_commit(&tx, self.full_name(), &commit.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Reads the request at the tip, lets `change` modify it, commits it
    /// (with `updated_at` set) when it changed; returns it.
    fn update<F>(&self, actor: &Actor, number: u64, message: &str, mut change: F) -> Result<PullDoc>
    where
        F: FnMut(&mut PullDoc) -> Result<()>,
    {
        let mut out = None;
        self.write(actor, message, |tip| {
            let mut doc = self.request_at(tip, number)?;
            let before = doc.clone();
            change(&mut doc)?;
            let changed = doc != before;
            if changed {
                doc.updated_at = time::now_rfc3339();
            }
            out = Some(doc.clone());
            Ok(if changed {
                vec![Change::put(request_path(number), doc::to_bytes(&doc))]
            } else {
                Vec::new()
            })
        })?;
        out.ok_or_else(|| self.no_request(number))
    }

    /// Fetches or resolves the source's branch into `into`; returns its commit.
    fn fetch_source(&self, source: &Source, into: &str) -> Result<CommitId> {
        let branch = &source.branch;
        if !Repo::valid_branch_name(branch) {
            return Err(Error::invalid(
                format!("branch `{}`", printable(branch)),
                "not a valid branch name",
            ));
        }
        match (&source.fork, &source.url) {
            (Some(user), _) => {
                let path = self.home.fork_path(user, self.full_name());
                if !path.exists() {
                    return Err(Error::invalid(
                        format!("fork of `{user}`"),
                        format!("{user} has no fork of `{}`", self.full_name()),
                    ));
                }
                let fork = Repo::open(&path)?;
                if fork.branch_tip(branch)?.is_none() {
                    return Err(Error::invalid(
                        format!("branch `{branch}`"),
                        format!("no such branch in forks/{user}/{}", self.full_name()),
                    ));
                }
                Ok(self.source.fetch_local_branch(&path, branch, into)?)
            }
            (None, Some(url)) => {
                // forge.toml is read only here, the one place that needs it.
                let config = Config::load(&self.home.config_path())?.pull_requests;
                if !config.remote || !self.project.settings.remote_pull_requests {
                    return Err(Error::invalid(
                        format!("remote `{}`", printable(url)),
                        "pull requests from remote URLs are disabled here",
                    ));
                }
                Ok(self.source.fetch_remote_branch(
                    url,
                    branch,
                    into,
                    config.allow_local_remotes,
                )?)
            }
            (None, None) => {
                let tip = self.source.branch_tip(branch)?.ok_or_else(|| {
                    Error::invalid(
                        format!("branch `{branch}`"),
                        format!("no such branch in `{}`", self.full_name()),
                    )
                })?;
                self.source.set_ref(into, tip, "pull request head")?;
                Ok(tip)
            }
        }
    }

    fn target_tip(&self, target: &str) -> Result<CommitId> {
        self.source.branch_tip(target)?.ok_or_else(|| {
            Error::invalid(
                format!("target branch `{}`", printable(target)),
                format!("no such branch in `{}`", self.full_name()),
            )
        })
    }

    /// The commits of `base..head`, and the issues they and `body` name.
    fn commits_and_links(
        &self,
        base: CommitId,
        head: CommitId,
        body: &str,
    ) -> Result<(Vec<PullCommit>, BTreeSet<u64>, Vec<IssueReference>)> {
        let log = self.source.log_range(base, head, MAX_LISTED_COMMITS)?;
        let mut refs = issue_references(body);
        for c in &log {
            for r in issue_references(&c.message) {
                if !refs.contains(&r) {
                    refs.push(r);
                }
            }
        }
        let linked = refs
            .iter()
            .map(|r| match r {
                IssueReference::Closes(n) | IssueReference::Relates(n) => *n,
            })
            .collect();
        let commits = log
            .into_iter()
            .map(|c| PullCommit {
                id: c.id.to_string(),
                title: c.title,
            })
            .collect();
        Ok((commits, linked, refs))
    }

    /// Opens a pull request.
    pub fn create(&self, actor: &Actor, new: NewPull) -> Result<PullDoc> {
        self.check_enabled()?;
        self.require(actor, Action::PullRequestCreate, false)?;
        let title = Tracker::check_title(&new.title)?;
        Tracker::check_body(&new.body)?;
        if let Some(a) = &new.assignee {
            self.store.user(a)?;
        }
        let target = match &new.to {
            Some(t) => t.clone(),
            None => self.source.head_branch()?,
        };
        if new.from_fork.is_none() && new.from_url.is_none() && new.from_branch == target {
            return Err(Error::invalid(
                format!("branch `{}`", printable(&target)),
                "a pull request cannot merge a branch into itself",
            ));
        }
        if new.from_fork.is_some() && new.from_url.is_some() {
            return Err(Error::invalid("source", "give a fork or a URL, not both"));
        }
        if let Some(user) = &new.from_fork {
            let project = &self.project;
            if !self.store.has_fork(project, user)? {
                return Err(Error::invalid(
                    format!("fork of `{}`", printable(user)),
                    format!("{} has no fork of `{}`", printable(user), project.full_name),
                ));
            }
        }
        let target_tip = self.target_tip(&target)?;
        self.sync()?;
        let source = Source {
            branch: new.from_branch.clone(),
            fork: new.from_fork.clone(),
            repo: match (&new.from_fork, &new.from_url) {
                (Some(user), _) => format!("forks/{user}/{}", self.full_name()),
                (None, Some(url)) => url.clone(),
                (None, None) => self.full_name().to_string(),
            },
            url: new.from_url.clone(),
        };
        // Fetch into a private ref first: nothing named after a request
        // exists until every check passed.
        let incoming = format!("refs/forge/incoming/{}", doc::new_uid());
        let prepared = self.prepare_new(&source, &incoming, target_tip, &new.body, &target);
        let (head, base, commits, linked) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.source.delete_ref(&incoming)?;
                return Err(e);
            }
        };
        let number = self.store.allocate_number(self.full_name())?;
        self.source
            .set_ref(&format!("refs/pull/{number}/head"), head, "pull request")?;
        self.source.delete_ref(&incoming)?;
        let now = time::now_rfc3339();
        let pull = PullDoc {
            assignee: new.assignee.clone(),
            author: actor.username.clone(),
            base: base.to_string(),
            body: new.body.clone(),
            closed_at: None,
            closed_by: None,
            commits,
            created_at: now.clone(),
            flags: BTreeMap::new(),
            head: head.to_string(),
            linked_issues: linked,
            merge_commit: None,
            number,
            schema: SCHEMA,
            source,
            status: PullStatus::Open,
            tags: BTreeSet::new(),
            target,
            title,
            uid: doc::new_uid(),
            updated_at: now,
            votes: BTreeMap::new(),
            watchers: [actor.username.clone()].into(),
        };
        let message = format!("Open pull request #{number}: {}", pull.title);
        let written = self.write(actor, &message, |tip| {
            if let Some(tip) = tip {
                if self.requests.has_file(tip, &request_path(number))? {
                    return Err(Error::invalid(
                        format!("pull request #{number}"),
                        "its number is already taken in the requests repository",
                    ));
                }
            }
            Ok(vec![Change::put(
                request_path(number),
                doc::to_bytes(&pull),
            )])
        });
        if let Err(e) = written {
            self.source
                .delete_ref(&format!("refs/pull/{number}/head"))?;
            return Err(e);
        }
        Ok(pull)
    }

    #[allow(clippy::type_complexity)]
    fn prepare_new(
        &self,
        source: &Source,
        incoming: &str,
        target_tip: CommitId,
        body: &str,
        target: &str,
    ) -> Result<(CommitId, CommitId, Vec<PullCommit>, BTreeSet<u64>)> {
        let head = self.fetch_source(source, incoming)?;
        let base = self.source.merge_base(target_tip, head)?.ok_or_else(|| {
            Error::invalid(
                format!("branch `{}`", printable(&source.branch)),
                format!("it shares no history with `{target}`"),
            )
        })?;
        if base == head {
            return Err(Error::invalid(
                format!("branch `{}`", printable(&source.branch)),
                format!("it has no commits that `{target}` does not already have"),
            ));
        }
        let (commits, linked, _) = self.commits_and_links(base, head, body)?;
        Ok((head, base, commits, linked))
    }

    /// Lists requests, newest first.
    pub fn list(&self, viewer: &Actor, filter: &PullFilter) -> Result<Vec<PullSummary>> {
        self.check_readable(viewer)?;
        self.sync()?;
        let rows = pull_index::list(self.store.conn(), self.full_name(), filter)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let d = row.doc;
                PullSummary {
                    id: d.number,
                    title: d.title,
                    status: d.status.as_str(),
                    author: d.author,
                    assignee: d.assignee,
                    source: SourceView {
                        repo: d.source.repo,
                        branch: d.source.branch,
                    },
                    target: d.target,
                    head: d.head,
                    tags: d.tags,
                    created_at: d.created_at,
                    updated_at: time::epoch_to_rfc3339(row.updated_at).unwrap_or(d.updated_at),
                    comments: row.comments,
                }
            })
            .collect())
    }

    /// The merge analysis of an open request's head into its target's tip,
    /// from the cache when neither moved since it was last computed.
    pub fn merge_status(&self, pull: &PullDoc) -> Result<MergeStatus> {
        let target = self.target_tip(&pull.target)?;
        let head = parse_commit(&pull.head, "head")?;
        Ok(self.analysis(target, head)?.0)
    }

    /// The merge analysis of `head` into `target`, cached per pair; with the
    /// merge base when it had to be computed (a cache miss).
    fn analysis(
        &self,
        target: CommitId,
        head: CommitId,
    ) -> Result<(MergeStatus, Option<CommitId>)> {
        let (t, h) = (target.to_string(), head.to_string());
        if let Some((status, conflicts)) =
            pull_index::cached_merge(self.store.conn(), self.full_name(), &t, &h)?
        {
            let status = match status.as_str() {
                "up-to-date" => MergeStatus::UpToDate,
                "fast-forward" => MergeStatus::FastForward,
                "merge" => MergeStatus::Merge,
                _ => MergeStatus::Conflicts(conflicts),
            };
            return Ok((status, None));
        }
        let (status, base) = self.source.merge_analysis_and_base(target, head)?;
        let conflicts = match &status {
            MergeStatus::Conflicts(paths) => paths.clone(),
            _ => Vec::new(),
        };
        pull_index::cache_merge(
            self.store.conn(),
            self.full_name(),
            &t,
            &h,
            status.as_str(),
            &conflicts,
        )?;
        Ok((status, base))
    }

    /// One request with its comments, score, flags and merge status.
    pub fn show(&self, viewer: &Actor, number: u64) -> Result<PullDetails> {
        let d = self.visible(viewer, number)?;
        let comments = pull_index::comments(self.store.conn(), self.full_name(), number)?;
        let score = request::score(&d, &comments);
        let (merge_status, conflicts) = if d.status == PullStatus::Open {
            match self.merge_status(&d) {
                Ok(MergeStatus::Conflicts(paths)) => (Some("conflicts"), paths),
                Ok(status) => (Some(status.as_str()), Vec::new()),
                Err(e) => {
                    self.warnings
                        .borrow_mut()
                        .push(format!("merge status of #{number}: {e}"));
                    (None, Vec::new())
                }
            }
        } else {
            (None, Vec::new())
        };
        let flags = d
            .flags
            .iter()
            .filter(|(_, f)| f.commit == d.head)
            .map(|(name, f)| FlagView {
                name: name.clone(),
                status: f.status.as_str(),
                percent: f.percent,
                comment: f.comment.clone(),
                url: f.url.clone(),
                username: f.username.clone(),
                updated_at: f.updated_at.clone(),
            })
            .collect();
        let updated_at = comments
            .iter()
            .map(|c| c.created_at.as_str())
            .chain([d.updated_at.as_str()])
            .max()
            .unwrap_or_default()
            .to_string();
        Ok(PullDetails {
            id: d.number,
            title: d.title,
            body: d.body,
            status: d.status.as_str(),
            author: d.author,
            assignee: d.assignee,
            tags: d.tags,
            source: SourceView {
                repo: d.source.repo,
                branch: d.source.branch,
            },
            target: d.target,
            head: d.head,
            base: d.base,
            commits: d.commits,
            merge_status,
            conflicts,
            score,
            votes: d.votes,
            flags,
            linked_issues: d.linked_issues,
            comments: comments.into_iter().map(PullCommentView::from).collect(),
            merge_commit: d.merge_commit,
            closed_by: d.closed_by,
            closed_at: d.closed_at,
            watchers: d.watchers,
            created_at: d.created_at,
            updated_at,
        })
    }

    /// The files a request changes (base to head), with patches up to
    /// `max_patch_bytes` each.
    pub fn diff(
        &self,
        viewer: &Actor,
        number: u64,
        max_patch_bytes: usize,
    ) -> Result<Vec<FileDiff>> {
        let d = self.visible(viewer, number)?;
        let base = parse_commit(&d.base, "base")?;
        let head = parse_commit(&d.head, "head")?;
        Ok(self.source.diff(Some(base), head, max_patch_bytes)?)
    }

    /// Comments on a request; with `inline`, on a line of a file.
    pub fn comment(
        &self,
        actor: &Actor,
        number: u64,
        body: &str,
        inline: Option<InlineTarget>,
    ) -> Result<CommentDoc> {
        self.require(actor, Action::PullRequestComment, false)?;
        if body.trim().is_empty() {
            return Err(Error::invalid("comment", "it is empty"));
        }
        Tracker::check_body(body)?;
        let pull = self.visible(actor, number)?;
        let anchor = inline
            .map(|target| self.anchor(&pull, target))
            .transpose()?;
        let created_at = time::now_rfc3339();
        let comment = CommentDoc {
            anchor,
            author: actor.username.clone(),
            body: body.to_string(),
            created_at: created_at.clone(),
            edited_at: None,
            editor: None,
            id: doc::new_comment_id(&created_at),
            reactions: BTreeMap::new(),
            schema: SCHEMA,
        };
        let path = doc::comment_path(number, &comment.id);
        self.write(
            actor,
            &format!("Comment on pull request #{number}"),
            |tip| {
                self.request_at(tip, number)?;
                Ok(vec![Change::put(path.clone(), doc::to_bytes(&comment))])
            },
        )?;
        Ok(comment)
    }

    fn anchor(&self, pull: &PullDoc, target: InlineTarget) -> Result<Anchor> {
        let commit_text = match (&target.commit, target.side) {
            (Some(c), _) => c.clone(),
            (None, Side::New) => pull.head.clone(),
            (None, Side::Old) => pull.base.clone(),
        };
        let commit = self.source.resolve(&commit_text).map_err(|_| {
            Error::invalid(
                format!("commit `{}`", printable(&commit_text)),
                "not a commit of this repository",
            )
        })?;
        let text = commit.to_string();
        let ours =
            text == pull.head || text == pull.base || pull.commits.iter().any(|c| c.id == text);
        if !ours {
            return Err(Error::invalid(
                format!("commit `{}`", printable(&commit_text)),
                format!(
                    "not the base or one of the commits of pull request #{}",
                    pull.number
                ),
            ));
        }
        let path = target.path.trim_matches('/').to_string();
        let line_text = self
            .source
            .line_at(commit, &path, target.line)?
            .ok_or_else(|| {
                Error::invalid(
                    format!("line {} of `{}`", target.line, printable(&path)),
                    format!(
                        "no such line (or not a text file) at commit {}",
                        &text[..12.min(text.len())]
                    ),
                )
            })?;
        Ok(Anchor {
            commit: text,
            line: target.line,
            line_text: Some(line_text),
            outdated: false,
            path,
            side: target.side,
        })
    }

    /// Posts a flag (CI status) on the request's head; a flag of the same
    /// name is replaced.
    pub fn flag(&self, actor: &Actor, number: u64, flag: NewFlag) -> Result<PullDoc> {
        self.require(actor, Action::PullRequestFlag, false)?;
        name::validate_label("flag", &flag.name)?;
        if flag.percent.is_some_and(|p| p > 100) {
            return Err(Error::invalid("percent", "must be between 0 and 100"));
        }
        if let Some(url) = &flag.url {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2048
                && !url.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(Error::invalid(
                    format!("url `{}`", printable(url)),
                    "expected an http(s) URL",
                ));
            }
        }
        if flag.comment.len() > 4096 {
            return Err(Error::invalid("flag comment", "longer than 4096 bytes"));
        }
        self.visible(actor, number)?;
        self.update(
            actor,
            number,
            &format!("Flag pull request #{number}"),
            |d| {
                let new = Flag {
                    commit: d.head.clone(),
                    comment: flag.comment.clone(),
                    percent: flag.percent,
                    status: flag.status,
                    updated_at: time::now_rfc3339(),
                    url: flag.url.clone(),
                    username: actor.username.clone(),
                };
                d.flags.insert(flag.name.clone(), new);
                Ok(())
            },
        )
    }

    /// Votes +1 (`up = true`) or -1 on a request.
    pub fn vote(&self, actor: &Actor, number: u64, up: bool) -> Result<PullDoc> {
        self.require(actor, Action::PullRequestComment, false)?;
        let pull = self.visible(actor, number)?;
        if pull.author == actor.username {
            return Err(Error::invalid(
                format!("vote on pull request #{number}"),
                "authors cannot vote on their own pull request",
            ));
        }
        self.update(
            actor,
            number,
            &format!("Vote on pull request #{number}"),
            |d| {
                d.votes
                    .insert(actor.username.clone(), if up { 1 } else { -1 });
                Ok(())
            },
        )
    }

    /// Edits a request's fields.
    pub fn edit(&self, actor: &Actor, number: u64, edit: PullEdit) -> Result<PullDoc> {
        let title = edit
            .title
            .as_deref()
            .map(Tracker::check_title)
            .transpose()?;
        if let Some(b) = &edit.body {
            Tracker::check_body(b)?;
        }
        for t in edit.add_tags.iter().chain(&edit.remove_tags) {
            Tracker::check_tag(t)?;
        }
        if let Some(Some(a)) = &edit.assignee {
            self.store.user(a)?;
        }
        let pull = self.visible(actor, number)?;
        let is_author = pull.author == actor.username;
        if title.is_some() || edit.body.is_some() {
            self.require(actor, Action::PullRequestClose, is_author)?;
        }
        if edit.assignee.is_some() || !edit.add_tags.is_empty() || !edit.remove_tags.is_empty() {
            self.require(actor, Action::IssueAssign, false)?;
        }
        if edit.watch.is_some() {
            self.require(actor, Action::PullRequestComment, false)?;
        }
        self.update(
            actor,
            number,
            &format!("Edit pull request #{number}"),
            |d| {
                if let Some(t) = &title {
                    d.title = t.clone();
                }
                if let Some(b) = &edit.body {
                    d.body = b.clone();
                    let refs = issue_references(b);
                    d.linked_issues.extend(refs.iter().map(|r| match r {
                        IssueReference::Closes(n) | IssueReference::Relates(n) => *n,
                    }));
                }
                if let Some(a) = &edit.assignee {
                    d.assignee = a.clone();
                }
                d.tags.extend(edit.add_tags.iter().cloned());
                for t in &edit.remove_tags {
                    d.tags.remove(t);
                }
                match edit.watch {
                    Some(true) => {
                        d.watchers.insert(actor.username.clone());
                    }
                    Some(false) => {
                        d.watchers.remove(&actor.username);
                    }
                    None => {}
                }
                Ok(())
            },
        )
    }

    /// Closes a request without merging it.
    pub fn close(&self, actor: &Actor, number: u64) -> Result<PullDoc> {
        let pull = self.visible(actor, number)?;
        self.require(
            actor,
            Action::PullRequestClose,
            pull.author == actor.username,
        )?;
        self.update(
            actor,
            number,
            &format!("Close pull request #{number}"),
            |d| {
                if d.status != PullStatus::Open {
                    return Err(Error::invalid(
                        format!("pull request #{number}"),
                        format!("it is already {}", d.status.as_str()),
                    ));
                }
                d.status = PullStatus::Closed;
                d.closed_at = Some(time::now_rfc3339());
                d.closed_by = Some(actor.username.clone());
                Ok(())
            },
        )
    }

    /// Reopens a closed (not merged) request and refreshes it.
    pub fn reopen(&self, actor: &Actor, number: u64) -> Result<PullDoc> {
        let pull = self.visible(actor, number)?;
        self.require(
            actor,
            Action::PullRequestClose,
            pull.author == actor.username,
        )?;
        self.update(
            actor,
            number,
            &format!("Reopen pull request #{number}"),
            |d| {
                if d.status != PullStatus::Closed {
                    return Err(Error::invalid(
                        format!("pull request #{number}"),
                        format!(
                            "it is {}; only closed requests can be reopened",
                            d.status.as_str()
                        ),
                    ));
                }
                d.status = PullStatus::Open;
                d.closed_at = None;
                d.closed_by = None;
                Ok(())
            },
        )?;
        self.refresh(actor, number)
    }

    /// Follows the source branch: fetches it, moves `refs/pull/<N>/head`,
    /// and records the new head, base and commits; inline comments whose
    /// line changed are marked outdated; flags of the old head are dropped.
    /// A request whose head the target already contains is marked merged.
    pub fn refresh(&self, actor: &Actor, number: u64) -> Result<PullDoc> {
        let pull = self.visible(actor, number)?;
        if pull.status != PullStatus::Open {
            return Err(Error::invalid(
                format!("pull request #{number}"),
                format!(
                    "it is {}; only open requests follow their source",
                    pull.status.as_str()
                ),
            ));
        }
        let head = self.fetch_source(&pull.source, &format!("refs/pull/{number}/head"))?;
        let target_tip = self.target_tip(&pull.target)?;
        // Analyzing now fills the merge cache for the next `show`, and a
        // cache miss yields the merge base the document needs at no extra cost.
        let (_, base) = self.analysis(target_tip, head)?;
        let base = match base {
            Some(base) => Some(base),
            None => self.source.merge_base(target_tip, head)?,
        };
        let base = base.ok_or_else(|| {
            Error::invalid(
                format!("branch `{}`", pull.source.branch),
                format!("it no longer shares history with `{}`", pull.target),
            )
        })?;
        let (head_text, base_text) = (head.to_string(), base.to_string());
        let merged_outside = base == head;
        if head_text == pull.head && base_text == pull.base && !merged_outside {
            return Ok(pull);
        }
        let (commits, linked, _) = if merged_outside {
            (pull.commits.clone(), pull.linked_issues.clone(), Vec::new())
        } else {
            self.commits_and_links(base, head, &pull.body)?
        };
        let comments = pull_index::comments(self.store.conn(), self.full_name(), number)?;
        let mut out = None;
        let message = format!("Refresh pull request #{number}");
        self.write(actor, &message, |tip| {
            let mut d = self.request_at(tip, number)?;
            let mut changes = Vec::new();
            for c in &comments {
                let Some(anchor) = &c.anchor else { continue };
                if anchor.outdated {
                    continue;
                }
                let now_at = if anchor.side == Side::Old { base } else { head };
                let current = self.source.line_at(now_at, &anchor.path, anchor.line)?;
                if current != anchor.line_text {
                    let mut c = c.clone();
                    if let Some(a) = c.anchor.as_mut() {
                        a.outdated = true;
                    }
                    changes.push(Change::put(
                        doc::comment_path(number, &c.id),
                        doc::to_bytes(&c),
                    ));
                }
            }
            d.head = head_text.clone();
            d.base = base_text.clone();
            d.commits = commits.clone();
            d.linked_issues.extend(linked.iter().copied());
            d.flags.retain(|_, f| f.commit == head_text);
            if merged_outside {
                d.status = PullStatus::Merged;
                d.closed_at = Some(time::now_rfc3339());
                d.merge_commit = Some(target_tip.to_string());
            }
            d.updated_at = time::now_rfc3339();
            out = Some(d.clone());
            changes.push(Change::put(request_path(number), doc::to_bytes(&d)));
            Ok(changes)
        })?;
        out.ok_or_else(|| self.no_request(number))
    }

    /// Refreshes every open request of this project fed by `branch` of the
    /// project's repository (`fork: None`) or of a user's fork: what the
    /// push hook calls. Returns the numbers refreshed.
    pub fn refresh_source(
        &self,
        actor: &Actor,
        fork: Option<&str>,
        branch: &str,
    ) -> Result<Vec<u64>> {
        self.sync()?;
        let key = match fork {
            Some(user) => format!("forks/{user}/{}", self.full_name()),
            None => self.full_name().to_string(),
        };
        let mut done = Vec::new();
        for (project, number) in pull_index::open_by_source(self.store.conn(), &key, branch)? {
            if project == self.full_name() {
                self.refresh(actor, number)?;
                done.push(number);
            }
        }
        Ok(done)
    }

    /// Checks the merge gates of the project's settings, naming the one that fails.
    fn check_gates(&self, actor: &Actor, pull: &PullDoc) -> Result<()> {
        let settings = &self.project.settings;
        let gate = |name: &str, why: String| {
            Err(Error::Gate {
                number: pull.number,
                gate: name.to_string(),
                reason: why,
            })
        };
        if settings.pr_only_assignee_merge && pull.assignee.as_deref() != Some(&actor.username) {
            return gate(
                "pr_only_assignee_merge",
                match &pull.assignee {
                    Some(a) => format!("only its assignee `{a}` may merge it"),
                    None => "it has no assignee, and only the assignee may merge".into(),
                },
            );
        }
        if settings.pr_min_score > 0 {
            let comments = pull_index::comments(self.store.conn(), self.full_name(), pull.number)?;
            let score = request::score(pull, &comments);
            if score < settings.pr_min_score {
                return gate(
                    "pr_min_score",
                    format!("its score is {score}, it needs {}", settings.pr_min_score),
                );
            }
        }
        for name in &settings.pr_required_flags {
            match pull.flags.get(name) {
                Some(f) if f.commit == pull.head && f.status == FlagStatus::Success => {}
                Some(f) if f.commit == pull.head => {
                    return gate(
                        "pr_required_flags",
                        format!("flag `{name}` is {}, it must be success", f.status.as_str()),
                    )
                }
                _ => {
                    return gate(
                        "pr_required_flags",
                        format!("flag `{name}` has not been posted on the head commit"),
                    )
                }
            }
        }
        Ok(())
    }

    /// Merges a request into its target with `strategy`, after refreshing it
    /// and checking the gates. Issues it names with `Fixes #N` (in its body
    /// or commits) are closed with a comment.
    pub fn merge(
        &self,
        actor: &Actor,
        number: u64,
        strategy: MergeStrategy,
    ) -> Result<MergeOutcome> {
        self.require(actor, Action::PullRequestMerge, false)?;
        let pull = self.visible(actor, number)?;
        if !self
            .store
            .may_write_branch(&self.project, &actor.username, &pull.target)?
        {
            return Err(Error::Core(forge_core::Error::PermissionDenied {
                user: actor.username.clone(),
                action: format!("{} into branch `{}`", Action::PullRequestMerge, pull.target),
                project: self.full_name().to_string(),
            }));
        }
        if pull.status != PullStatus::Open {
            return Err(Error::invalid(
                format!("pull request #{number}"),
                format!("it is {}", pull.status.as_str()),
            ));
        }
        let pull = self.refresh(actor, number)?;
        if pull.status == PullStatus::Merged {
            return Err(Error::invalid(
                format!("pull request #{number}"),
                "its commits are already in the target branch (marked merged)",
            ));
        }
        self.check_gates(actor, &pull)?;
        match self.merge_status(&pull)? {
            MergeStatus::Conflicts(paths) => {
                return Err(Error::Gate {
                    number,
                    gate: "conflicts".into(),
                    reason: format!("merging would conflict in: {}", paths.join(", ")),
                })
            }
            MergeStatus::UpToDate => {
                return Err(Error::invalid(
                    format!("pull request #{number}"),
                    "nothing to merge: the target already contains it",
                ))
            }
            MergeStatus::FastForward | MergeStatus::Merge => {}
        }
        let target_tip = self.target_tip(&pull.target)?;
        let head = parse_commit(&pull.head, "head")?;
        let message = match strategy {
            MergeStrategy::Squash => {
                let mut m = format!("{} (#{number})", pull.title);
                if !pull.body.trim().is_empty() {
                    m.push_str("\n\n");
                    m.push_str(pull.body.trim());
                }
                m.push('\n');
                m
            }
            _ => format!(
                "Merge pull request #{number} from {}:{}\n\n{}\n",
                pull.source.repo, pull.source.branch, pull.title
            ),
        };
        let merged = self.source.merge_into(
            &pull.target,
            target_tip,
            head,
            strategy,
            &Self::identity(actor),
            &message,
        )?;
        let merged_text = merged.to_string();
        let request = self.update(
            actor,
            number,
            &format!("Merge pull request #{number}"),
            |d| {
                d.status = PullStatus::Merged;
                d.merge_commit = Some(merged_text.clone());
                d.closed_at = Some(time::now_rfc3339());
                d.closed_by = Some(actor.username.clone());
                Ok(())
            },
        )?;
        let closed_issues = self.close_fixed_issues(actor, &request, &merged_text)?;
        Ok(MergeOutcome {
            request,
            merge_commit: merged_text,
            closed_issues,
        })
    }

    fn close_fixed_issues(&self, actor: &Actor, pull: &PullDoc, merged: &str) -> Result<Vec<u64>> {
        let head = parse_commit(&pull.head, "head")?;
        let base = parse_commit(&pull.base, "base")?;
        let (_, _, refs) = self.commits_and_links(base, head, &pull.body)?;
        let closing: Vec<u64> = refs
            .iter()
            .filter_map(|r| match r {
                IssueReference::Closes(n) => Some(*n),
                IssueReference::Relates(_) => None,
            })
            .collect();
        if closing.is_empty() {
            return Ok(Vec::new());
        }
        let tracker = Tracker::open_for_project(self.store, &self.home, &self.project)?;
        let reason = self
            .project
            .settings
            .close_reasons
            .iter()
            .find(|r| r.as_str() == "Fixed")
            .map(String::as_str);
        let short = &merged[..12.min(merged.len())];
        let mut closed = Vec::new();
        for n in closing {
            let note = format!(
                "Closed by pull request #{} (merged as {short}).",
                pull.number
            );
            let done = tracker
                .comment(actor, n, &note)
                .and_then(|_| tracker.close(actor, n, reason));
            match done {
                Ok(_) => closed.push(n),
                Err(e) => self.warnings.borrow_mut().push(format!(
                    "issue #{n} named by pull request #{} was not closed: {e}",
                    pull.number
                )),
            }
        }
        self.warnings.borrow_mut().extend(tracker.take_warnings());
        Ok(closed)
    }

    /// Events of this project's requests and issues after event id `since`.
    pub fn events(&self, since: i64, limit: usize) -> Result<Vec<event::Event>> {
        self.sync()?;
        Ok(event::list(
            self.store.conn(),
            Some(self.full_name()),
            since,
            limit,
        )?)
    }
}

/// Syncing the request index with the requests repository.
impl PullRequests<'_> {
    fn begin(&self) -> Result<crate::tx::IndexTx<'_>> {
        crate::tx::IndexTx::begin(self.store.conn())
    }

    /// Brings the index up to date with the requests branch, reading only
    /// what changed since the commit it reflects, and appends the events.
    pub fn sync(&self) -> Result<SyncReport> {
        let tip = self.requests.branch_tip(&self.branch)?;
        let indexed = pull_index::indexed_commit(self.store.conn(), self.full_name())?;
        if indexed.as_deref() == Some(commit_text(tip).as_str()) {
            return Ok(SyncReport::default());
        }
        // A thread of this process may be between its commit and its index
        // update: wait for it, then look again.
        let _writing = self.requests.write_lock();
        let tip = self.requests.branch_tip(&self.branch)?;
        let tx = self.begin()?;
        let indexed = pull_index::indexed_commit(&tx, self.full_name())?;
        let report = self.sync_in(&tx, indexed, tip)?;
        tx.commit()?;
        let mut warnings = self.warnings.borrow_mut();
        warnings.extend(report.rebuilt.iter().cloned());
        warnings.extend(
            report
                .problems
                .iter()
                .map(|p| format!("skipped malformed request document {p}")),
        );
        Ok(report)
    }

    /// Drops the project's request rows and rebuilds them from git (no events).
    pub fn reindex(&self) -> Result<SyncReport> {
        let tx = self.begin()?;
        let tip = self.requests.branch_tip(&self.branch)?;
        let report = self.sync_in(&tx, None, tip)?;
        tx.commit()?;
        Ok(report)
    }

    fn sync_in(
        &self,
        tx: &Connection,
        indexed: Option<String>,
        tip: Option<CommitId>,
    ) -> Result<SyncReport> {
        let mut applier = Applier {
            conn: tx,
            project: self.full_name(),
            report: SyncReport::default(),
            emit: true,
            stale: BTreeSet::new(),
            max_number: 0,
        };
        let from = match indexed.as_deref() {
            Some("") => None,
            Some(text) => match text.parse::<CommitId>() {
                Ok(c) if self.requests.has_commit(c) => Some(c),
                _ => {
                    applier.report.rebuilt = Some(format!(
                        "the request index of `{}` recorded commit {text}, which the requests repository does not have; rebuilt from git",
                        self.full_name()
                    ));
                    pull_index::clear_project(tx, self.full_name())?;
                    applier.emit = false;
                    None
                }
            },
            None => {
                pull_index::clear_project(tx, self.full_name())?;
                applier.emit = false;
                None
            }
        };
        match tip {
            None => {
                let numbers: Vec<u64> = pull_index::list(
                    tx,
                    self.full_name(),
                    &PullFilter {
                        limit: usize::MAX >> 1,
                        ..Default::default()
                    },
                )?
                .into_iter()
                .map(|r| r.doc.number)
                .collect();
                for n in numbers {
                    applier.request(n, None, None, "")?;
                }
            }
            Some(tip) if !applier.emit => {
                // A rebuild reads every document once, with no events.
                let mut docs = Vec::new();
                self.requests.for_each_file(tip, |path, bytes| {
                    docs.push((path.to_string(), bytes.to_vec()));
                    Ok(())
                })?;
                for (path, bytes) in docs {
                    applier.document(&path, Some(&bytes), "")?;
                }
            }
            Some(tip) => {
                // One commit at a time, so each event has its own actor.
                const PER_COMMIT_LIMIT: usize = 200;
                let mut commits = self
                    .requests
                    .commits_between(from, tip, PER_COMMIT_LIMIT + 1)?;
                let mut names = HashMap::new();
                if commits.len() > PER_COMMIT_LIMIT {
                    let actor = self.username_for(
                        &commits[0].author_name,
                        &commits[0].author_email,
                        &mut names,
                    )?;
                    for path in self.requests.changed_paths(from, tip)? {
                        let bytes = self.requests.read_file(tip, &path)?;
                        applier.document(&path, bytes.as_deref(), &actor)?;
                    }
                } else {
                    commits.reverse();
                    for commit in commits {
                        let actor = self.username_for(
                            &commit.author_name,
                            &commit.author_email,
                            &mut names,
                        )?;
                        for path in &commit.paths {
                            let bytes = self.requests.read_file(commit.id, path)?;
                            applier.document(path, bytes.as_deref(), &actor)?;
                        }
                    }
                }
            }
        }
        for n in std::mem::take(&mut applier.stale) {
            pull_index::refresh_activity(tx, self.full_name(), n)?;
        }
        if applier.max_number > 0 {
            self.store
                .reserve_numbers_through(self.full_name(), applier.max_number)?;
        }
        pull_index::set_indexed_commit(tx, self.full_name(), &commit_text(tip))?;
        Ok(applier.report)
    }

    fn username_for(
        &self,
        name: &str,
        email: &str,
        cache: &mut HashMap<String, String>,
    ) -> Result<String> {
        if let Some(u) = cache.get(email) {
            return Ok(u.clone());
        }
        let user = match self.store.user_by_email(email)? {
            Some(user) => user.username,
            None => name.to_string(),
        };
        cache.insert(email.to_string(), user.clone());
        Ok(user)
    }
}

struct Applier<'a> {
    conn: &'a Connection,
    project: &'a str,
    report: SyncReport,
    emit: bool,
    stale: BTreeSet<u64>,
    max_number: u64,
}

impl Applier<'_> {
    fn event(&mut self, kind: &str, actor: &str, number: u64, fields: Value) -> Result<()> {
        if self.emit {
            event::append(
                self.conn,
                &NewEvent {
                    kind,
                    project: self.project,
                    actor,
                    issue: Some(number),
                    fields,
                },
            )?;
            self.report.events += 1;
        }
        Ok(())
    }

    fn document(&mut self, path: &str, bytes: Option<&[u8]>, actor: &str) -> Result<()> {
        match request::classify(path) {
            RequestPath::Request(n) => match bytes.map(|b| parse_request(path, b)).transpose() {
                Ok(doc) => {
                    let raw = bytes.and_then(|b| std::str::from_utf8(b).ok());
                    self.request(n, doc.as_ref(), raw, actor)
                }
                Err(problem) => {
                    self.report.problems.push(problem);
                    Ok(())
                }
            },
            RequestPath::Comment(n, id) => {
                match bytes.map(|b| parse_comment(path, b)).transpose() {
                    Ok(doc) => {
                        let raw = bytes.and_then(|b| std::str::from_utf8(b).ok());
                        self.comment(n, &id, doc.as_ref(), raw, actor)
                    }
                    Err(problem) => {
                        self.report.problems.push(problem);
                        Ok(())
                    }
                }
            }
            RequestPath::Other => Ok(()),
        }
    }

    fn request(
        &mut self,
        n: u64,
        new: Option<&PullDoc>,
        raw: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let old = pull_index::request(self.conn, self.project, n)?;
        match (&old, new) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                pull_index::delete_request(self.conn, self.project, n)?;
                self.event("pr.deleted", actor, n, json!({}))?;
            }
            (None, Some(d)) => {
                pull_index::put_request(self.conn, self.project, d, raw)?;
                self.event(
                    "pr.new",
                    &d.author,
                    n,
                    json!({"title": d.title, "source": d.source.repo, "branch": d.source.branch,
                           "target": d.target, "head": d.head}),
                )?;
            }
            (Some(o), Some(d)) => {
                if o == d {
                    return Ok(());
                }
                pull_index::put_request(self.conn, self.project, d, raw)?;
                self.request_events(o, d, actor)?;
            }
        }
        self.max_number = self.max_number.max(n);
        self.report.issues += 1;
        self.stale.insert(n);
        Ok(())
    }

    fn request_events(&mut self, o: &PullDoc, d: &PullDoc, actor: &str) -> Result<()> {
        let n = d.number;
        if o.status != d.status {
            match d.status {
                PullStatus::Merged => self.event(
                    "pr.merged",
                    actor,
                    n,
                    json!({"merge_commit": d.merge_commit, "target": d.target}),
                )?,
                PullStatus::Closed => self.event("pr.closed", actor, n, json!({}))?,
                PullStatus::Open => self.event("pr.reopened", actor, n, json!({}))?,
            }
        }
        if o.head != d.head {
            self.event(
                "pr.updated",
                actor,
                n,
                json!({"old_head": o.head, "head": d.head, "commits": d.commits.len()}),
            )?;
        }
        for (name, f) in &d.flags {
            if o.flags.get(name) != Some(f) {
                self.event(
                    "pr.flag",
                    &f.username,
                    n,
                    json!({"name": name, "status": f.status.as_str(), "percent": f.percent, "url": f.url}),
                )?;
            }
        }
        for (user, v) in &d.votes {
            if o.votes.get(user) != Some(v) {
                self.event("pr.vote", user, n, json!({"vote": v}))?;
            }
        }
        if o.assignee != d.assignee {
            self.event("pr.assigned", actor, n, json!({"assignee": d.assignee}))?;
        }
        let mut changed = serde_json::Map::new();
        if o.title != d.title {
            changed.insert("title".into(), json!(d.title));
        }
        if o.body != d.body {
            changed.insert("body".into(), json!(d.body));
        }
        if o.tags != d.tags {
            changed.insert("tags".into(), json!(d.tags));
        }
        if o.target != d.target {
            changed.insert("target".into(), json!(d.target));
        }
        if !changed.is_empty() {
            self.event("pr.edit", actor, n, json!({ "fields": changed }))?;
        }
        Ok(())
    }

    fn comment(
        &mut self,
        n: u64,
        id: &str,
        new: Option<&CommentDoc>,
        raw: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let kind = CommentKind {
            table: pull_index::PR_COMMENTS,
            prefix: "pr",
            inline: true,
            reactions: false,
        };
        let Some(events) = apply_comment(self.conn, &kind, (self.project, n, id), new, raw, actor)?
        else {
            return Ok(());
        };
        for (kind, who, fields) in events {
            self.event(&kind, &who, n, fields)?;
        }
        self.report.comments += 1;
        self.stale.insert(n);
        Ok(())
    }
}
