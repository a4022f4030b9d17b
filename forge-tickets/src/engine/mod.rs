//! The document engine: one life cycle for every kind of document kept in a
//! tickets-like repository (issues, pull requests, and any later kind).
//!
//! - **Write**: [`Engine::write`] turns a change into one commit on the
//!   branch (compare-and-swap; the change is rebuilt on the new tip when
//!   another writer got there first), then applies it to the index with its
//!   events in one SQLite transaction.
//! - **Sync**: [`Engine::sync`] brings the index up to date with commits it
//!   has not seen (a plain `git push`, a crash between commit and index),
//!   one commit at a time, each change applied once with its events.
//! - **Rebuild**: [`Engine::reindex`] drops the rows and reads the tip again
//!   (no events).
//! - **Batch**: [`batch`] runs writes queued by several threads as one pack
//!   and one ref update, the index committed once the branch moved.
//! - **Push checks**: [`push`] checks pushed documents against the rules the
//!   service applies to the same change.
//!
//! A kind brings its document type, its index mapping and its event names
//! ([`Kind`]); the services (`Tracker`, `PullRequests`) are thin layers that
//! decide what to write and who may.

pub(crate) mod apply;
pub mod batch;
pub mod kind;
pub(crate) mod push;
pub mod replica;
pub(crate) mod rows;
mod sync;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use forge_core::Store;
use forge_git::{Change, CommitId, Identity, Repo};

use crate::doc::{self, CommentDoc};
use crate::Actor;
use crate::{Error, Result};
pub(crate) use apply::Applier;
pub use apply::SyncReport;
use kind::DocFile;
pub use kind::{display_number, parse_number, Document, Kind, Slot, PROVISIONAL_BASE};
pub use rows::record_pushers;
pub use sync::IndexPosition;

/// A file of a document that a write puts in the repository.
#[derive(Debug, Clone)]
pub(crate) enum Written<D> {
    /// The document's own fields (number 0 while provisional: it goes to `new/<uid>/`).
    Doc(Box<D>),
    /// A comment of the document numbered so.
    Comment(u64, Box<CommentDoc>),
}

/// A written document with the folder and the file change it became.
type Placed<D> = (Written<D>, (Slot, Change));

/// The documents of kind `K` of one project: a repository and its index.
pub(crate) struct Engine<'s, K: Kind> {
    pub(crate) store: &'s Store,
    pub(crate) repo: Rc<Repo>,
    pub(crate) project: String,
    pub(crate) branch: String,
    /// A forge home: numbers come from the project's shared sequence and
    /// users are registered (not an offline clone).
    pub(crate) home: bool,
    /// Warnings of the syncs run so far (malformed documents, rebuilds).
    pub(crate) warnings: RefCell<Vec<String>>,
    _kind: std::marker::PhantomData<K>,
}

/// The commit id as the index records it (empty for an unborn branch).
pub(crate) fn commit_text(c: Option<CommitId>) -> String {
    c.map(|c| c.to_string()).unwrap_or_default()
}

/// The git identity forge commits as for an actor; users without an email
/// get a placeholder that maps back to their username when a sync reads it.
pub(crate) fn identity(actor: &Actor) -> Identity {
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

impl<'s, K: Kind> Engine<'s, K> {
    pub(crate) fn new(
        store: &'s Store,
        repo: Rc<Repo>,
        branch: String,
        project: &str,
        home: bool,
    ) -> Self {
        Engine {
            store,
            repo,
            project: project.to_string(),
            branch,
            home,
            warnings: RefCell::default(),
            _kind: std::marker::PhantomData,
        }
    }

    /// Takes the warnings collected so far.
    pub(crate) fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut self.warnings.borrow_mut())
    }

    pub(crate) fn missing(&self, number: u64) -> Error {
        K::missing(&self.project, number)
    }

    /// Where the document known by `number` lives: its numbered folder, or
    /// `new/<uid>/` while it is provisional.
    pub(crate) fn slot_of(&self, number: u64) -> Result<Slot> {
        Ok(
            match rows::provisional_uid::<K>(self.store.conn(), &self.project, number)? {
                Some(uid) => Slot::Provisional(uid),
                None if number < PROVISIONAL_BASE => Slot::Numbered(number),
                None => return Err(self.missing(number)),
            },
        )
    }

    fn path(slot: &Slot, file: &DocFile) -> String {
        match file {
            DocFile::Main => format!("{}/{}", slot.dir(), K::MAIN_FILE),
            DocFile::Comment(id) => format!("{}/comment-{id}.json", slot.dir()),
        }
    }

    /// The document known by `number` at a commit, with that number.
    pub(crate) fn doc_at(&self, tip: Option<CommitId>, number: u64) -> Result<Option<K::Doc>> {
        let Some(tip) = tip else { return Ok(None) };
        let slot = self.slot_of(number)?;
        let path = Self::path(&slot, &DocFile::Main);
        match self.repo.read_file(tip, &path)? {
            None => Ok(None),
            Some(bytes) => {
                let mut doc =
                    kind::parse_doc::<K>(&slot, &path, &bytes).map_err(Error::Document)?;
                doc.set_number(number);
                Ok(Some(doc))
            }
        }
    }

    /// Whether the document known by `number` exists at a commit (without parsing it).
    pub(crate) fn exists_at(&self, tip: Option<CommitId>, number: u64) -> Result<bool> {
        let Some(tip) = tip else { return Ok(false) };
        let slot = self.slot_of(number)?;
        Ok(self
            .repo
            .has_file(tip, &Self::path(&slot, &DocFile::Main))?)
    }

    /// A comment at a commit.
    pub(crate) fn comment_at(
        &self,
        tip: Option<CommitId>,
        number: u64,
        id: &str,
    ) -> Result<Option<CommentDoc>> {
        let Some(tip) = tip else { return Ok(None) };
        let slot = self.slot_of(number)?;
        let path = Self::path(&slot, &DocFile::Comment(id.to_string()));
        match self.repo.read_file(tip, &path)? {
            None => Ok(None),
            Some(bytes) => doc::parse_comment(&path, &bytes)
                .map(Some)
                .map_err(Error::Document),
        }
    }

    /// The file a written document becomes.
    fn change_of(&self, written: &Written<K::Doc>) -> Result<(Slot, Change)> {
        Ok(match written {
            Written::Doc(d) => {
                let slot = if d.number() == 0 {
                    Slot::Provisional(d.uid().to_string())
                } else {
                    self.slot_of(d.number())?
                };
                let bytes = match &slot {
                    Slot::Provisional(_) if d.number() != 0 => {
                        let mut stored = d.as_ref().clone();
                        stored.set_number(0);
                        doc::to_bytes(&stored)
                    }
                    _ => doc::to_bytes(d.as_ref()),
                };
                let path = Self::path(&slot, &DocFile::Main);
                (slot, Change::put(path, bytes))
            }
            Written::Comment(n, c) => {
                let slot = self.slot_of(*n)?;
                let path = Self::path(&slot, &DocFile::Comment(c.id.clone()));
                (slot, Change::put(path, doc::to_bytes(c.as_ref())))
            }
        })
    }

    /// Commits the documents `build` returns for the current tip as one
    /// commit by `actor`, then applies them to the index with their events.
    /// `build` runs again when the branch moved. Nothing is committed when
    /// it returns no document.
    pub(crate) fn write<F>(&self, actor: &Actor, message: &str, mut build: F) -> Result<()>
    where
        F: FnMut(Option<CommitId>) -> Result<Vec<Written<K::Doc>>>,
    {
        // Held through the index update too, so that the index sees this
        // process's commits in order and takes the fast path.
        let _writing = self.repo.write_lock();
        let mut failure = None;
        let mut written = Vec::new();
        let parent = Cell::new(None);
        let committed = self
            .repo
            .commit_with(&self.branch, &identity(actor), message, |tip| {
                parent.set(tip);
                let built = build(tip).and_then(|docs| {
                    let changes = docs
                        .iter()
                        .map(|d| self.change_of(d))
                        .collect::<Result<Vec<_>>>()?;
                    Ok((docs, changes))
                });
                match built {
                    Ok((docs, changes)) => {
                        let out = changes.iter().map(|(_, c)| c.clone()).collect();
                        written = docs.into_iter().zip(changes).collect();
                        Ok(out)
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
        if written.is_empty() || Some(commit) == parent.get() {
            return Ok(());
        }
        self.apply_own_write(parent.get(), commit, written, &actor.username)
    }

    /// Applies a commit this process just made: its documents as written,
    /// without reading git again. When the index did not stand at its
    /// parent (another process wrote in between), what that process wrote
    /// is synced first, up to the parent.
    fn apply_own_write(
        &self,
        parent: Option<CommitId>,
        commit: CommitId,
        written: Vec<Placed<K::Doc>>,
        actor: &str,
    ) -> Result<()> {
        let tx = crate::tx::IndexTx::begin(self.store.conn())?;
        let indexed = rows::indexed_commit::<K>(&tx, &self.project)?;
        let mut before = SyncReport::default();
        if indexed.as_deref() != Some(commit_text(parent).as_str()) {
            if self.index_is_past(indexed.as_deref(), Some(commit)) {
                // Another process moved the branch past this commit and
                // indexed it (its sync read this write): nothing is left
                // to do, and going back would undo what it indexed.
                return Ok(());
            }
            before = self.sync_to(&tx, indexed, parent)?;
        }
        let mut applier = Applier::<K>::new(&tx, self.store, &self.project, self.home, true);
        applier.set_actor(actor, None);
        for (doc, (slot, change)) in written {
            let raw = match &change {
                Change::Put { content, .. } => std::str::from_utf8(content).ok(),
                Change::Delete { .. } => None,
            };
            match doc {
                Written::Doc(d) => applier.doc(&slot, Some(*d), raw)?,
                Written::Comment(_, c) => applier.comment(&slot, &c.id, Some(&c), raw)?,
            }
        }
        rows::set_indexed_commit::<K>(&tx, &self.project, &commit.to_string())?;
        let report = applier.finish()?;
        tx.commit()?;
        self.note(&before);
        self.note(&report);
        Ok(())
    }

    /// Whether the index records a commit that descends from `commit`
    /// (another process indexed past it); `false` when that cannot be
    /// told (a commit not written yet, an unreadable one).
    pub(crate) fn index_is_past(&self, indexed: Option<&str>, commit: Option<CommitId>) -> bool {
        let (Some(indexed), Some(commit)) = (indexed, commit) else {
            return false;
        };
        match indexed.parse::<CommitId>() {
            Ok(ix) if ix != commit => self.repo.is_ancestor(commit, ix).unwrap_or(false),
            _ => false,
        }
    }

    /// Adds a comment to the document known by `number`, which must still
    /// exist at the tip it is written on.
    pub(crate) fn add_comment(
        &self,
        actor: &Actor,
        number: u64,
        comment: CommentDoc,
    ) -> Result<CommentDoc> {
        let message = format!("Comment on {} #{}", K::TITLE, display_number(number));
        self.write(actor, &message, |tip| {
            // Visibility was checked by the caller on the index; here only
            // make sure the document is still there, without reading it.
            if !self.exists_at(tip, number)? {
                return Err(self.missing(number));
            }
            Ok(vec![Written::Comment(number, Box::new(comment.clone()))])
        })?;
        Ok(comment)
    }

    /// Keeps a sync's problems as warnings, not errors: one bad document
    /// must not hide the rest.
    pub(crate) fn note(&self, report: &SyncReport) {
        let mut warnings = self.warnings.borrow_mut();
        warnings.extend(report.rebuilt.iter().cloned());
        warnings.extend(
            report
                .problems
                .iter()
                .map(|p| format!("skipped malformed {} document {p}", K::NOUN)),
        );
    }

    /// The number the next new document gets (a forge home only).
    pub(crate) fn next_number(&self) -> Result<u64> {
        Ok(self.store.allocate_number(&self.project)?)
    }

    /// A provisional number for a document made offline (a clone): its
    /// folder is `new/<uid>/` until the forge numbers it.
    pub(crate) fn provisional_number(&self, uid: &str) -> Result<u64> {
        let conn = self.store.conn();
        let n = rows::next_provisional::<K>(conn, &self.project)?;
        rows::set_provisional::<K>(conn, &self.project, uid, n)?;
        Ok(n)
    }

    /// Moves the documents a push brought without a number (already given
    /// one by the sync that saw them) to their numbered folders, in one
    /// commit by `actor`; returns their numbers. A forge home only.
    pub(crate) fn settle(&self, actor: &Actor) -> Result<Vec<u64>> {
        if !self.home {
            return Ok(Vec::new());
        }
        self.sync()?;
        let pending = rows::numbered_provisionals::<K>(self.store.conn(), &self.project)?;
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let numbers: Vec<u64> = pending.iter().map(|(_, n)| *n).collect();
        let list = numbers
            .iter()
            .map(|n| format!("#{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let writing = self.repo.write_lock();
        self.repo.commit_with(
            &self.branch,
            &identity(actor),
            &format!("Number {} {list} (made offline)", K::NAME),
            |tip| {
                let Some(tip) = tip else {
                    return Ok(Vec::new());
                };
                let mut changes = Vec::new();
                for (uid, n) in &pending {
                    let from = Slot::Provisional(uid.clone());
                    let to = Slot::Numbered(*n);
                    for (path, bytes) in self.repo.files_under(tip, &from.dir())? {
                        let name = path.rsplit('/').next().unwrap_or_default().to_string();
                        let content = if name == K::MAIN_FILE {
                            let mut value: serde_json::Value = serde_json::from_slice(&bytes)
                                .map_err(|e| forge_git::Error::Caller(format!("{path}: {e}")))?;
                            value["number"] = serde_json::json!(n);
                            let mut out = serde_json::to_vec_pretty(&value)
                                .map_err(|e| forge_git::Error::Caller(e.to_string()))?;
                            out.push(b'\n');
                            out
                        } else {
                            bytes
                        };
                        changes.push(Change::put(format!("{}/{name}", to.dir()), content));
                        changes.push(Change::delete(path));
                    }
                }
                Ok(changes)
            },
        )?;
        drop(writing);
        // The sync applies the move: numbered documents keep their rows.
        self.sync()?;
        Ok(numbers)
    }
}
