//! The pull-request service: open, review (comments, inline comments,
//! flags, votes), analyze, merge, close, refresh — a thin layer over the
//! document engine.
//!
//! The documents live in the project's requests repository (one commit per
//! change, as for issues) and are projected into SQLite before every read.
//! The commits a request proposes are mirrored into the project's source
//! repository as `refs/pull/<N>/head` (fetched from the fork or the remote
//! URL when they come from elsewhere), so analysis, diff and merge all run
//! on the one repository, in memory, without a clone.

mod index;
pub(crate) mod kind;
mod merge;
mod review;
mod source;
mod view;

use std::collections::BTreeSet;
use std::rc::Rc;

use forge_core::project::Project;
use forge_core::role::Action;
use forge_core::{time, ForgeHome, Store};
use forge_git::{CommitId, FileDiff, MergeStatus, Repo};

use crate::checks::Checks;
use crate::doc::CommentDoc;
use crate::engine::replica::Replicated;
use crate::engine::{rows, Engine, SyncReport, Written};
use crate::request::{self, PullCommit, PullDoc, PullStatus};
use crate::{Actor, Error, Result};
pub use index::PullFilter;
pub use kind::Pulls;
pub use view::{
    FlagView, GateState, InlineTarget, MergeCheck, MergeOutcome, NewFlag, NewPull, PullCommentView,
    PullDetails, PullEdit, PullSummary, SourceView,
};

/// At most this many commits are listed in a request document.
const MAX_LISTED_COMMITS: usize = 250;

/// The pull requests of one project.
pub struct PullRequests<'s> {
    engine: Engine<'s, Pulls>,
    home: ForgeHome,
    project: Project,
    /// The project's source repository, opened when first needed (a batch
    /// of comments never needs it).
    source: std::cell::OnceCell<Repo>,
}

fn parse_commit(text: &str, what: &str) -> Result<CommitId> {
    text.parse::<CommitId>()
        .map_err(|_| Error::invalid(what.to_string(), format!("`{text}` is not a commit id")))
}

impl<'s> PullRequests<'s> {
    /// Opens the pull requests of a project of a forge home.
    pub fn open(store: &'s Store, home: &ForgeHome, project: &Project) -> Result<Self> {
        let path = home.project_paths(&project.full_name).requests;
        if !path.exists() {
            Repo::init_bare(&path)?;
        }
        Self::with_repo(store, home, project, Rc::new(Repo::open(&path)?))
    }

    /// The pull requests of a project whose requests repository the caller
    /// opened (a batch stages its commits).
    pub fn with_repo(
        store: &'s Store,
        home: &ForgeHome,
        project: &Project,
        requests: Rc<Repo>,
    ) -> Result<Self> {
        let branch = requests.head_branch()?;
        Ok(PullRequests {
            engine: Engine::new(store, requests, branch, &project.full_name, true),
            home: home.clone(),
            project: project.clone(),
            source: std::cell::OnceCell::new(),
        })
    }

    /// Takes the warnings collected so far (malformed documents, issues a
    /// merge could not close).
    pub fn take_warnings(&self) -> Vec<String> {
        self.engine.take_warnings()
    }

    /// The project's source repository (holding `refs/pull/<N>/head`).
    pub fn source_repo(&self) -> Result<&Repo> {
        if let Some(repo) = self.source.get() {
            return Ok(repo);
        }
        let repo = Repo::open(&self.home.project_paths(self.full_name()).source)?;
        Ok(self.source.get_or_init(|| repo))
    }

    fn source(&self) -> Result<&Repo> {
        self.source_repo()
    }

    fn store(&self) -> &'s Store {
        self.engine.store
    }

    pub(crate) fn full_name(&self) -> &str {
        &self.project.full_name
    }

    fn warn(&self, warning: String) {
        self.engine.warnings.borrow_mut().push(warning);
    }

    fn checks(&self) -> Checks<'_> {
        Checks {
            store: self.store(),
            project: self.full_name(),
            settings: Some(&self.project.settings),
            known_users: true,
        }
    }

    fn require(&self, actor: &Actor, action: Action, is_author: bool) -> Result<()> {
        actor.require(action, is_author, self.full_name())
    }

    fn no_request(&self, number: u64) -> Error {
        self.engine.missing(number)
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

    /// Brings the index up to date with the requests branch, reading only
    /// what changed since the commit it reflects, and appends the events.
    pub fn sync(&self) -> Result<SyncReport> {
        self.engine.sync()
    }

    /// Where the pull-request index stands against the requests branch
    /// (changes nothing).
    pub fn index_position(&self) -> Result<crate::engine::IndexPosition> {
        self.engine.position()
    }

    /// Drops the project's request rows and rebuilds them from git (no events).
    pub fn reindex(&self) -> Result<SyncReport> {
        self.engine.reindex(&mut |_, _| {})
    }

    /// Checks a push of the requests repository, `old` to `new`, as changes
    /// by `pusher`.
    pub(crate) fn check_push(
        &self,
        pusher: &Actor,
        old: Option<CommitId>,
        new: CommitId,
    ) -> Result<std::result::Result<(), crate::engine::push::Violation>> {
        self.engine.check_push(pusher, &self.checks(), old, new)
    }

    /// The indexed request, visible to the viewer.
    fn visible(&self, viewer: &Actor, number: u64) -> Result<PullDoc> {
        viewer.check_readable(self.full_name())?;
        self.sync()?;
        rows::doc::<Pulls>(self.store().conn(), self.full_name(), number)?
            .ok_or_else(|| self.no_request(number))
    }

    fn request_at(&self, tip: Option<CommitId>, number: u64) -> Result<PullDoc> {
        self.engine
            .doc_at(tip, number)?
            .ok_or_else(|| self.no_request(number))
    }

    /// Reads the request at the tip, lets `change` modify it, commits it
    /// (with `updated_at` set) when it changed; returns it.
    fn update<F>(&self, actor: &Actor, number: u64, message: &str, mut change: F) -> Result<PullDoc>
    where
        F: FnMut(&mut PullDoc) -> Result<()>,
    {
        let mut out = None;
        self.engine.write(actor, message, |tip| {
            let mut doc = self.request_at(tip, number)?;
            let before = doc.clone();
            change(&mut doc)?;
            let changed = doc != before;
            if changed {
                doc.updated_at = time::now_rfc3339();
            }
            out = Some(doc.clone());
            let mut written = Vec::new();
            if changed {
                written.push(Written::Doc(Box::new(doc.clone())));
            }
            // As Pagure records them: notification comments for changes
            // to the metadata, and saying who merged, closed or reopened it.
            let mut lines = Vec::new();
            if before.assignee != doc.assignee {
                lines.push(match doc.assignee {
                    Some(_) => "Request assigned".to_string(),
                    None => "Request assignee reset".to_string(),
                });
            }
            let listed = |tags: Vec<&String>| {
                tags.into_iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let added = listed(doc.tags.difference(&before.tags).collect());
            if !added.is_empty() {
                lines.push(format!("Pull-request tagged with: {added}"));
            }
            let removed = listed(before.tags.difference(&doc.tags).collect());
            if !removed.is_empty() {
                lines.push(format!("Pull-request **un**tagged with: {removed}"));
            }
            if !lines.is_empty() {
                let note = crate::issues::changes::notification(&actor.username, &lines);
                written.push(Written::Comment(number, Box::new(note)));
            }
            if before.status != doc.status {
                let verb = match doc.status {
                    PullStatus::Open => "reopened",
                    PullStatus::Closed => "closed",
                    PullStatus::Merged => "merged",
                };
                let body = format!("Pull-Request has been {verb} by {}", actor.username);
                let note = crate::doc::CommentDoc {
                    notification: true,
                    ..crate::doc::CommentDoc::new(&actor.username, &body, None)
                };
                written.push(Written::Comment(number, Box::new(note)));
            }
            Ok(written)
        })?;
        out.ok_or_else(|| self.no_request(number))
    }

    /// An imported request's history in the project's repository, when it
    /// has the commits: the base (the parent of its first commit `start`,
    /// else the merge base of `target` and `head`), its commits, and the
    /// issues they and `body` name.
    pub(crate) fn history_of(
        &self,
        target: &str,
        start: Option<&str>,
        head: &str,
        body: &str,
    ) -> Option<(String, Vec<PullCommit>, BTreeSet<u64>)> {
        let repo = self.source().ok()?;
        let head = repo.resolve(head).ok()?;
        let from_start = start
            .and_then(|s| repo.resolve(s).ok())
            .and_then(|s| repo.log(s, None, 0, 1).ok())
            .and_then(|first| first.first()?.parents.first().copied());
        let base = match from_start {
            Some(base) => base,
            None => {
                let tip = repo.branch_tip(target).ok()??;
                repo.merge_base(tip, head).ok()??
            }
        };
        let (commits, linked, _) = self.commits_and_links(base, head, body).ok()?;
        Some((base.to_string(), commits, linked))
    }

    /// Writes requests imported from another forge, with their comments, as
    /// they are (numbers, authors, dates, states): an admin's action. A
    /// number an issue or a request of the project has already is refused,
    /// and then nothing is written.
    pub fn import_requests(
        &self,
        actor: &Actor,
        requests: Vec<(PullDoc, Vec<crate::doc::CommentDoc>)>,
        message: &str,
    ) -> Result<()> {
        self.require(actor, Action::ModifyProject, false)?;
        self.sync()?;
        let conn = self.store().conn();
        let mut docs = Vec::new();
        for (request, comments) in requests {
            let n = request.number;
            if n == 0 || n >= crate::engine::PROVISIONAL_BASE {
                return Err(Error::invalid(
                    format!("pull request number {n}"),
                    format!(
                        "numbers go from 1 to {}",
                        crate::engine::PROVISIONAL_BASE - 1
                    ),
                ));
            }
            let taken = rows::doc::<Pulls>(conn, self.full_name(), n)?.is_some()
                || rows::doc::<crate::Issues>(conn, self.full_name(), n)?.is_some();
            if taken {
                return Err(Error::invalid(
                    format!("number {n}"),
                    format!(
                        "project `{}` already has an issue or a pull request #{n}; nothing was imported",
                        self.full_name()
                    ),
                ));
            }
            docs.push(Written::Doc(Box::new(request)));
            docs.extend(
                comments
                    .into_iter()
                    .map(|c| Written::Comment(n, Box::new(c))),
            );
        }
        if docs.is_empty() {
            return Ok(());
        }
        self.engine.write(actor, message, |_| Ok(docs.clone()))
    }

    /// How many requests match `filter` (its limit and offset aside),
    /// without reading them.
    /// Writes pull requests and comments as the forge this project
    /// mirrors has them, each only if newer than what is stored (see
    /// [`crate::engine::replica`]); one commit. `actor` is the replication
    /// ([`Actor::replica`]).
    pub fn replicate(
        &self,
        actor: &Actor,
        pulls: &[PullDoc],
        comments: &[(u64, CommentDoc)],
    ) -> Result<Vec<Replicated>> {
        self.require(actor, Action::ModifyProject, false)?;
        self.sync()?;
        self.engine
            .replicate(actor, "Replicate pull requests", pulls, comments)
    }

    /// Counts the requests the filter matches that `viewer` may see.
    pub fn count(&self, viewer: &Actor, filter: &PullFilter) -> Result<u64> {
        viewer.check_readable(self.full_name())?;
        self.sync()?;
        index::count(self.store().conn(), self.full_name(), filter)
    }

    /// Lists requests, newest first.
    pub fn list(&self, viewer: &Actor, filter: &PullFilter) -> Result<Vec<PullSummary>> {
        viewer.check_readable(self.full_name())?;
        self.sync()?;
        let listed = index::list(self.store().conn(), self.full_name(), filter)?;
        Ok(listed
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

    /// One request with its comments, score, flags and merge status.
    pub fn show(&self, viewer: &Actor, number: u64) -> Result<PullDetails> {
        let d = self.visible(viewer, number)?;
        let comments = rows::comments::<Pulls>(self.store().conn(), self.full_name(), number)?;
        let score = request::score(&d, &comments);
        let (merge_status, conflicts) = if d.status == PullStatus::Open {
            match self.merge_status(&d) {
                Ok(MergeStatus::Conflicts(paths)) => (Some("conflicts"), paths),
                Ok(status) => (Some(status.as_str()), Vec::new()),
                Err(e) => {
                    self.warn(format!("merge status of #{number}: {e}"));
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
                commit: f.commit.clone(),
                created_at: f.created_at.clone().unwrap_or_else(|| f.updated_at.clone()),
                updated_at: f.updated_at.clone(),
            })
            .collect();
        let updated_at = rows::last_activity(&d.updated_at, &comments);
        Ok(PullDetails {
            id: d.number,
            uid: d.uid.clone(),
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
        Ok(self.source()?.diff(Some(base), head, max_patch_bytes)?)
    }
}
