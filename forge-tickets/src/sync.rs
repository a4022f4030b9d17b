//! Bringing the index up to date with git, and the events that come with it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use forge_core::event::{self, NewEvent};
use forge_git::{Change, CommitId};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use crate::doc::{self, CommentDoc, DocPath, IssueDoc, Status};
use crate::index;
use crate::tracker::Tracker;
use crate::{Error, Result};

/// A document forge wrote in a commit.
#[derive(Debug, Clone)]
pub(crate) enum Written {
    Issue(Box<IssueDoc>),
    Comment(u64, Box<CommentDoc>),
}

impl Written {
    pub(crate) fn change(&self) -> Change {
        match self {
            Written::Issue(i) => Change::put(doc::issue_path(i.number), doc::to_bytes(i)),
            Written::Comment(n, c) => {
                Change::put(doc::comment_path(*n, &c.id), doc::to_bytes(c.as_ref()))
            }
        }
    }
}

/// What a sync or reindex did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Issues whose rows changed.
    pub issues: usize,
    /// Comments whose rows changed.
    pub comments: usize,
    /// Events appended to the log.
    pub events: usize,
    /// Documents that could not be read, each naming its file and the problem;
    /// their previous state stays in the index.
    pub problems: Vec<String>,
    /// Why the index was rebuilt from scratch, if it was.
    pub rebuilt: Option<String>,
}

/// Applies documents to the index and appends their events.
struct Applier<'a> {
    conn: &'a Connection,
    project: &'a str,
    report: SyncReport,
    max_number: u64,
    emit: bool,
    /// Issues whose comment count and last activity must be recomputed.
    stale_activity: BTreeSet<u64>,
}

impl Applier<'_> {
    fn event(&mut self, kind: &str, actor: &str, issue: u64, fields: Value) -> Result<()> {
        if self.emit {
            event::append(
                self.conn,
                &NewEvent {
                    kind,
                    project: self.project,
                    actor,
                    issue: Some(issue),
                    fields,
                },
            )?;
            self.report.events += 1;
        }
        Ok(())
    }

    fn issue(
        &mut self,
        number: u64,
        new: Option<&IssueDoc>,
        raw: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let old = index::issue(self.conn, self.project, number)?;
        match (&old, new) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                index::delete_issue(self.conn, self.project, number)?;
                self.event("issue.deleted", actor, number, json!({}))?;
            }
            (None, Some(new)) => {
                index::put_issue(self.conn, self.project, new, raw)?;
                self.event(
                    "issue.new",
                    &new.author,
                    number,
                    json!({"title": new.title, "tags": new.tags, "assignee": new.assignee, "private": new.private}),
                )?;
            }
            (Some(old), Some(new)) => {
                if old == new {
                    return Ok(());
                }
                index::put_issue(self.conn, self.project, new, raw)?;
                self.issue_events(old, new, actor)?;
            }
        }
        self.max_number = self.max_number.max(number);
        self.report.issues += 1;
        // A new issue's row already says 0 comments and its own time; only
        // changed ones (whose comments may be newer) need recomputing.
        if old.is_some() {
            self.stale_activity.insert(number);
        }
        Ok(())
    }

    fn issue_events(&mut self, old: &IssueDoc, new: &IssueDoc, actor: &str) -> Result<()> {
        let n = new.number;
        if old.status != new.status {
            match new.status {
                Status::Closed => self.event(
                    "issue.closed",
                    actor,
                    n,
                    json!({"close_reason": new.close_reason}),
                )?,
                Status::Open => self.event("issue.reopened", actor, n, json!({}))?,
            }
        }
        let added: Vec<&String> = new.tags.difference(&old.tags).collect();
        if !added.is_empty() {
            self.event("issue.tag.added", actor, n, json!({ "tags": added }))?;
        }
        let removed: Vec<&String> = old.tags.difference(&new.tags).collect();
        if !removed.is_empty() {
            self.event("issue.tag.removed", actor, n, json!({ "tags": removed }))?;
        }
        if old.assignee != new.assignee {
            match &new.assignee {
                Some(a) => self.event("issue.assigned", actor, n, json!({"assignee": a}))?,
                None => self.event(
                    "issue.unassigned",
                    actor,
                    n,
                    json!({"previous": old.assignee}),
                )?,
            }
        }
        let (old_v, new_v) = (serde_json::to_value(old)?, serde_json::to_value(new)?);
        let mut changed = Map::new();
        for key in [
            "title",
            "body",
            "priority",
            "milestone",
            "private",
            "custom_fields",
            "depends",
            "blocks",
        ] {
            if old_v.get(key) != new_v.get(key) {
                changed.insert(
                    key.to_string(),
                    new_v.get(key).cloned().unwrap_or(Value::Null),
                );
            }
        }
        if old.status == new.status && old.close_reason != new.close_reason {
            changed.insert("close_reason".into(), json!(new.close_reason));
        }
        if !changed.is_empty() {
            self.event("issue.edit", actor, n, json!({ "fields": changed }))?;
        }
        Ok(())
    }

    fn comment(
        &mut self,
        number: u64,
        id: &str,
        new: Option<&CommentDoc>,
        raw: Option<&str>,
        actor: &str,
    ) -> Result<()> {
        let change = (self.project, number, id);
        let Some(events) = apply_comment(self.conn, &ISSUE_COMMENTS, change, new, raw, actor)?
        else {
            return Ok(());
        };
        for (kind, who, fields) in events {
            self.event(&kind, &who, number, fields)?;
        }
        self.report.comments += 1;
        self.stale_activity.insert(number);
        Ok(())
    }
}

/// Where the comments of issues or of pull requests live and what their
/// events are called.
pub(crate) struct CommentKind {
    /// Index table.
    pub table: &'static str,
    /// Event name prefix (`issue`, `pr`).
    pub prefix: &'static str,
    /// Whether `added` events say where an inline comment points.
    pub inline: bool,
    /// Whether reactions make events.
    pub reactions: bool,
}

/// Comments of issues.
pub(crate) const ISSUE_COMMENTS: CommentKind = CommentKind {
    table: index::ISSUE_COMMENTS,
    prefix: "issue",
    inline: false,
    reactions: true,
};

/// An event to append: kind, actor, fields.
pub(crate) type PendingEvent = (String, String, Value);

/// Writes a comment's new version (or its deletion) to its index table and
/// returns the events that makes; `None` when nothing changed.
pub(crate) fn apply_comment(
    conn: &Connection,
    kind: &CommentKind,
    (project, number, id): (&str, u64, &str),
    new: Option<&CommentDoc>,
    raw: Option<&str>,
    actor: &str,
) -> Result<Option<Vec<PendingEvent>>> {
    let name = |what: &str| format!("{}.comment.{what}", kind.prefix);
    let old = index::comment_in(conn, kind.table, project, number, id)?;
    let mut events = Vec::new();
    match (&old, new) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            index::delete_comment_in(conn, kind.table, project, number, id)?;
            events.push((
                name("deleted"),
                actor.to_string(),
                json!({"comment_id": id}),
            ));
        }
        (None, Some(c)) => {
            index::put_comment_in(conn, kind.table, project, number, c, raw)?;
            let fields = if kind.inline {
                let inline = c
                    .anchor
                    .as_ref()
                    .map(|a| json!({"path": a.path, "line": a.line}));
                json!({"comment_id": id, "inline": inline})
            } else {
                json!({"comment_id": id})
            };
            events.push((name("added"), c.author.clone(), fields));
        }
        (Some(o), Some(c)) => {
            if o == c {
                return Ok(None);
            }
            index::put_comment_in(conn, kind.table, project, number, c, raw)?;
            if o.body != c.body {
                let editor = c.editor.as_deref().unwrap_or(actor).to_string();
                events.push((name("edited"), editor, json!({"comment_id": id})));
            }
            if kind.reactions && o.reactions != c.reactions {
                events.push((
                    name("reaction"),
                    actor.to_string(),
                    json!({"comment_id": id, "reactions": c.reactions}),
                ));
            }
        }
    }
    Ok(Some(events))
}

fn commit_text(c: Option<CommitId>) -> String {
    c.map(|c| c.to_string()).unwrap_or_default()
}

impl Tracker<'_> {
    fn begin(&self) -> Result<crate::tx::IndexTx<'_>> {
        crate::tx::IndexTx::begin(self.store.conn())
    }

    fn applier<'a>(&'a self, conn: &'a Connection, emit: bool) -> Applier<'a> {
        Applier {
            conn,
            project: &self.project,
            report: SyncReport::default(),
            max_number: 0,
            emit,
            stale_activity: BTreeSet::new(),
        }
    }

    fn finish(&self, applier: Applier<'_>) -> Result<SyncReport> {
        for number in &applier.stale_activity {
            index::refresh_activity(applier.conn, applier.project, *number)?;
        }
        if applier.max_number > 0 {
            self.store
                .reserve_numbers_through(&self.project, applier.max_number)?;
        }
        Ok(applier.report)
    }

    /// Applies a commit forge just made. When the index stood at its parent,
    /// the documents are applied as they are, without reading git again;
    /// otherwise (another writer got in between) a normal sync runs.
    pub(crate) fn apply_own_write(
        &self,
        parent: Option<CommitId>,
        commit: CommitId,
        docs: &[Written],
        changes: &[Change],
        actor: &str,
    ) -> Result<()> {
        let tx = self.begin()?;
        let indexed = index::indexed_commit(&tx, &self.project)?;
        let report = if indexed.as_deref() == Some(commit_text(parent).as_str()) {
            let mut applier = self.applier(&tx, true);
            for (d, change) in docs.iter().zip(changes) {
                let raw = match change {
                    Change::Put { content, .. } => std::str::from_utf8(content).ok(),
                    Change::Delete { .. } => None,
                };
                match d {
                    Written::Issue(i) => applier.issue(i.number, Some(i.as_ref()), raw, actor)?,
                    Written::Comment(n, c) => applier.comment(*n, &c.id, Some(c), raw, actor)?,
                }
            }
            index::set_indexed_commit(&tx, &self.project, &commit.to_string())?;
            self.finish(applier)?
        } else {
            self.sync_in(&tx, indexed)?
        };
        tx.commit()?;
        self.note(&report);
        Ok(())
    }

    /// Brings the index up to date with the tip of the tickets branch, reading
    /// only the paths that changed since the commit it reflects.
    pub fn sync(&self) -> Result<SyncReport> {
        Ok(self.sync_and_commit()?.0)
    }

    /// Syncs when the branch moved, and gives the commit the index then
    /// reflects (empty while the branch is unborn).
    pub(crate) fn sync_commit(&self) -> Result<String> {
        Ok(self.sync_and_commit()?.1)
    }

    fn sync_and_commit(&self) -> Result<(SyncReport, String)> {
        let tip = commit_text(self.repo.branch_tip(&self.branch)?);
        let indexed = index::indexed_commit(self.store.conn(), &self.project)?;
        if indexed.as_deref() == Some(tip.as_str()) {
            return Ok((SyncReport::default(), tip));
        }
        // A thread of this process may be between its commit and its index
        // update: wait for it rather than sync its commit twice.
        let _writing = self.repo.write_lock();
        let tx = self.begin()?;
        // Re-read under the write lock: another writer may have synced meanwhile.
        let indexed = index::indexed_commit(&tx, &self.project)?;
        let report = self.sync_in(&tx, indexed)?;
        let now = index::indexed_commit(&tx, &self.project)?.unwrap_or_default();
        tx.commit()?;
        self.note(&report);
        Ok((report, now))
    }

    fn sync_in(&self, tx: &Connection, indexed: Option<String>) -> Result<SyncReport> {
        let tip = self.repo.branch_tip(&self.branch)?;
        if indexed.as_deref() == Some(commit_text(tip).as_str()) {
            return Ok(SyncReport::default());
        }
        let from = match indexed.as_deref() {
            None => {
                return self.rebuild_in(
                    tx,
                    tip,
                    format!(
                        "the index of `{}` was missing; rebuilt from git",
                        self.project
                    ),
                )
            }
            Some("") => None,
            Some(text) => match text.parse::<CommitId>() {
                Ok(c) if self.repo.has_commit(c) => Some(c),
                _ => {
                    let why = format!(
                        "the index of `{}` recorded commit {text}, which the tickets repository does not have; rebuilt from git",
                        self.project
                    );
                    return self.rebuild_in(tx, tip, why);
                }
            },
        };
        let mut applier = self.applier(tx, true);
        let Some(tip) = tip else {
            // The branch was deleted: every issue is gone.
            let numbers: Vec<u64> = {
                let mut stmt = tx.prepare("SELECT number FROM issues WHERE project = ?1")?;
                let rows = stmt.query_map([&self.project], |r| r.get::<_, i64>(0))?;
                rows.map(|r| r.map(|n| n as u64))
                    .collect::<Result<_, _>>()?
            };
            for n in numbers {
                applier.issue(n, None, None, "")?;
            }
            index::set_indexed_commit(tx, &self.project, "")?;
            return self.finish(applier);
        };
        let mut touched: BTreeMap<u64, (bool, BTreeSet<String>)> = BTreeMap::new();
        for path in self.repo.changed_paths(from, tip)? {
            match doc::classify(&path) {
                DocPath::Issue(n) => touched.entry(n).or_default().0 = true,
                DocPath::Comment(n, id) => {
                    touched.entry(n).or_default().1.insert(id);
                }
                DocPath::Other => {}
            }
        }
        let authors = self.authors(from, tip, &touched)?;
        for (number, (issue_changed, comments)) in touched {
            let actor = authors.get(&number).map(String::as_str).unwrap_or("");
            if issue_changed {
                match self.issue_at(Some(tip), number) {
                    Ok(new) => applier.issue(number, new.as_ref(), None, actor)?,
                    Err(Error::Document(problem)) => {
                        applier.report.problems.push(problem);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            for id in comments {
                let path = doc::comment_path(number, &id);
                match self.repo.read_file(tip, &path)? {
                    None => applier.comment(number, &id, None, None, actor)?,
                    Some(bytes) => match doc::parse_comment(&path, &bytes) {
                        Ok(c) => applier.comment(
                            number,
                            &id,
                            Some(&c),
                            std::str::from_utf8(&bytes).ok(),
                            actor,
                        )?,
                        Err(problem) => applier.report.problems.push(problem),
                    },
                }
            }
        }
        index::set_indexed_commit(tx, &self.project, &tip.to_string())?;
        self.finish(applier)
    }

    /// Who made the newest change to each touched issue, as usernames.
    fn authors(
        &self,
        from: Option<CommitId>,
        tip: CommitId,
        touched: &BTreeMap<u64, (bool, BTreeSet<String>)>,
    ) -> Result<HashMap<u64, String>> {
        const WALK_LIMIT: usize = 10_000;
        let mut out = HashMap::new();
        if touched.is_empty() {
            return Ok(out);
        }
        let commits = self.repo.commits_between(from, tip, WALK_LIMIT)?;
        let mut usernames: HashMap<(String, String), String> = HashMap::new();
        for commit in &commits {
            for path in &commit.paths {
                let number = match doc::classify(path) {
                    DocPath::Issue(n) | DocPath::Comment(n, _) => n,
                    DocPath::Other => continue,
                };
                if out.contains_key(&number) || !touched.contains_key(&number) {
                    continue;
                }
                let key = (commit.author_name.clone(), commit.author_email.clone());
                let username = match usernames.get(&key) {
                    Some(u) => u.clone(),
                    None => {
                        let u = self.username_for(&key.0, &key.1)?;
                        usernames.insert(key, u.clone());
                        u
                    }
                };
                out.insert(number, username);
            }
            if out.len() == touched.len() {
                break;
            }
        }
        Ok(out)
    }

    /// Problems are kept as warnings, not errors: one bad document must not hide the rest.
    fn note(&self, report: &SyncReport) {
        let mut warnings = self.warnings.borrow_mut();
        warnings.extend(report.rebuilt.iter().cloned());
        warnings.extend(
            report
                .problems
                .iter()
                .map(|p| format!("skipped malformed ticket document {p}")),
        );
    }

    fn username_for(&self, name: &str, email: &str) -> Result<String> {
        if self.known_users {
            if let Some(user) = self.store.user_by_email(email)? {
                return Ok(user.username);
            }
        }
        Ok(name.to_string())
    }

    /// Drops this project's rows and rebuilds them from the tip of the tickets
    /// branch. Appends no events: the changes were announced when first applied.
    pub fn reindex(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<SyncReport> {
        let tx = self.begin()?;
        let tip = self.repo.branch_tip(&self.branch)?;
        let report = self.rebuild(&tx, tip, progress)?;
        tx.commit()?;
        self.note(&report);
        Ok(report)
    }

    fn rebuild_in(
        &self,
        tx: &Connection,
        tip: Option<CommitId>,
        why: String,
    ) -> Result<SyncReport> {
        let mut report = self.rebuild(tx, tip, &mut |_, _| {})?;
        report.rebuilt = Some(why);
        Ok(report)
    }

    fn rebuild(
        &self,
        tx: &Connection,
        tip: Option<CommitId>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<SyncReport> {
        index::clear_project(tx, &self.project)?;
        let mut applier = self.applier(tx, false);
        if let Some(tip) = tip {
            // Progress counts top-level folders (the issue buckets): knowing the
            // number of files would take a second walk of every tree.
            let total = self.repo.top_level_entries(tip)?;
            let mut done = 0u64;
            let mut current_top = String::new();
            let mut max = 0;
            let (conn, project) = (applier.conn, applier.project);
            let mut problems = Vec::new();
            let (mut issues, mut comments) = (0, 0);
            self.repo.for_each_file(tip, |path, bytes| {
                let top = path.split('/').next().unwrap_or_default();
                if top != current_top {
                    current_top = top.to_string();
                    done += 1;
                    progress(done, total);
                }
                let stored = match doc::classify(path) {
                    DocPath::Issue(_) => doc::parse_issue(path, bytes).map(|d| {
                        max = max.max(d.number);
                        issues += 1;
                        index::put_issue(conn, project, &d, std::str::from_utf8(bytes).ok())
                    }),
                    DocPath::Comment(n, _) => doc::parse_comment(path, bytes).map(|c| {
                        comments += 1;
                        index::put_comment(conn, project, n, &c, std::str::from_utf8(bytes).ok())
                    }),
                    DocPath::Other => return Ok(()),
                };
                match stored {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(forge_git::Error::Caller(e.to_string())),
                    Err(problem) => {
                        problems.push(problem);
                        Ok(())
                    }
                }
            })?;
            progress(total, total);
            tx.execute(
                "UPDATE issues SET
                    comment_count = (SELECT count(*) FROM issue_comments c WHERE c.project = issues.project AND c.number = issues.number),
                    updated_at = max(updated_at, coalesce((SELECT max(created_at) FROM issue_comments c
                                                            WHERE c.project = issues.project AND c.number = issues.number), 0))
                 WHERE project = ?1",
                [&self.project],
            )?;
            applier.max_number = max;
            applier.report.issues = issues;
            applier.report.comments = comments;
            applier.report.problems = problems;
        }
        index::set_indexed_commit(tx, &self.project, &commit_text(tip))?;
        self.finish(applier)
    }
}
