//! Bringing the index up to date with git, and rebuilding it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use forge_git::CommitId;
use rusqlite::Connection;

use crate::doc;
use crate::engine::kind::{self, DocFile, Kind, Slot};
use crate::engine::{commit_text, rows, Applier, Engine, SyncReport};
use crate::tx::IndexTx;
use crate::{Error, Result};

/// Commits walked to find who last changed each document; past it, the
/// newest commit speaks for the rest.
const WALK_LIMIT: usize = 10_000;

/// Who a change is by: the actor, and the commit's author when the actor
/// is someone else (the pusher).
type Attribution = (String, Option<String>);

/// Where the index of a kind stands against its branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexPosition {
    /// It reflects the tip.
    Current,
    /// It reflects an older commit of the branch (or was never built): the
    /// next read syncs what it lacks.
    Behind {
        /// The commit it reflects (`None`: never built).
        indexed: Option<String>,
        /// The branch's tip.
        tip: String,
    },
    /// It reflects a commit the branch does not hold (the repository lost
    /// commits, or the index came from elsewhere): `reindex` rebuilds it.
    Ahead {
        /// The commit it reflects.
        indexed: String,
        /// The branch's tip (empty while unborn).
        tip: String,
    },
}

impl<K: Kind> Engine<'_, K> {
    /// Where the index stands against the branch, without changing either.
    pub(crate) fn position(&self) -> Result<IndexPosition> {
        let tip = self.repo.branch_tip(&self.branch)?;
        let tip_text = commit_text(tip);
        let indexed = rows::indexed_commit::<K>(self.store.conn(), &self.project)?;
        let Some(indexed) = indexed.filter(|i| !i.is_empty()) else {
            return Ok(match tip {
                None => IndexPosition::Current,
                Some(_) => IndexPosition::Behind {
                    indexed: None,
                    tip: tip_text,
                },
            });
        };
        if indexed == tip_text {
            return Ok(IndexPosition::Current);
        }
        let within = match (indexed.parse::<CommitId>(), tip) {
            (Ok(old), Some(tip)) => self.repo.is_ancestor(old, tip).unwrap_or(false),
            _ => false,
        };
        Ok(if within {
            IndexPosition::Behind {
                indexed: Some(indexed),
                tip: tip_text,
            }
        } else {
            IndexPosition::Ahead {
                indexed,
                tip: tip_text,
            }
        })
    }

    /// Brings the index up to date with the tip of the branch, reading only
    /// the paths that changed since the commit it reflects.
    pub(crate) fn sync(&self) -> Result<SyncReport> {
        Ok(self.sync_and_commit()?.0)
    }

    /// Syncs when the branch moved, and gives the commit the index then
    /// reflects (empty while the branch is unborn).
    pub(crate) fn sync_commit(&self) -> Result<String> {
        Ok(self.sync_and_commit()?.1)
    }

    fn sync_and_commit(&self) -> Result<(SyncReport, String)> {
        let tip = commit_text(self.repo.branch_tip(&self.branch)?);
        let indexed = rows::indexed_commit::<K>(self.store.conn(), &self.project)?;
        if indexed.as_deref() == Some(tip.as_str()) {
            return Ok((SyncReport::default(), tip));
        }
        // A thread of this process may be between its commit and its index
        // update: wait for it rather than sync its commit twice.
        let _writing = self.repo.write_lock();
        let tx = IndexTx::begin(self.store.conn())?;
        // Read again under the lock: another writer may have synced meanwhile.
        let indexed = rows::indexed_commit::<K>(&tx, &self.project)?;
        let report = self.sync_in(&tx, indexed)?;
        let now = rows::indexed_commit::<K>(&tx, &self.project)?.unwrap_or_default();
        tx.commit()?;
        self.note(&report);
        Ok((report, now))
    }

    /// Applies what changed between the indexed commit and the tip, inside
    /// the caller's transaction: all of it or, on an error, none.
    pub(crate) fn sync_in(&self, tx: &Connection, indexed: Option<String>) -> Result<SyncReport> {
        let tip = self.repo.branch_tip(&self.branch)?;
        self.sync_to(tx, indexed, tip)
    }

    /// Applies what changed between the indexed commit and `tip` (a commit
    /// on disk), inside the caller's transaction.
    pub(crate) fn sync_to(
        &self,
        tx: &Connection,
        indexed: Option<String>,
        tip: Option<CommitId>,
    ) -> Result<SyncReport> {
        if indexed.as_deref() == Some(commit_text(tip).as_str()) {
            return Ok(SyncReport::default());
        }
        // The tip this reader saw is behind what another process indexed
        // meanwhile: the index is already past it, not to be taken back.
        if self.index_is_past(indexed.as_deref(), tip) {
            return Ok(SyncReport::default());
        }
        let from = match indexed.as_deref() {
            // A clone's first read builds its index: nothing to warn about.
            None if !self.home => return self.rebuild(tx, tip, &mut |_, _| {}),
            None => {
                let why = format!(
                    "the {} index of `{}` was missing; rebuilt from git",
                    K::NOUN,
                    self.project
                );
                return self.rebuild_in(tx, tip, why);
            }
            Some("") => None,
            Some(text) => match text.parse::<CommitId>() {
                Ok(c) if self.repo.has_commit(c) => Some(c),
                _ => {
                    let why = format!(
                        "the {} index of `{}` recorded commit {text}, which the repository does not have; rebuilt from git",
                        K::NOUN,
                        self.project
                    );
                    return self.rebuild_in(tx, tip, why);
                }
            },
        };
        let mut applier = Applier::<K>::new(tx, self.store, &self.project, self.home, true);
        let Some(tip) = tip else {
            // The branch was deleted: every document is gone.
            for n in rows::numbers::<K>(tx, &self.project)? {
                applier.set_actor("", None);
                applier.gone(n)?;
            }
            rows::set_indexed_commit::<K>(tx, &self.project, "")?;
            return applier.finish();
        };
        // Numbered folders first (a provisional document's move to its
        // number is seen before its old folder goes), each document's main
        // file before its comments.
        let mut touched: BTreeMap<Slot, BTreeSet<DocFile>> = BTreeMap::new();
        for path in self.repo.changed_paths(from, tip)? {
            if let Some((slot, file)) = kind::classify(&path, K::MAIN_FILE) {
                touched.entry(slot).or_default().insert(file);
            }
        }
        let (actors, age) = self.attribution(tx, from, tip, &touched)?;
        // Provisional documents in the order they were made (oldest first):
        // the forge numbers them in that order.
        let mut order: Vec<(&Slot, &BTreeSet<DocFile>)> = touched.iter().collect();
        order.sort_by_key(|(slot, _)| match slot {
            Slot::Numbered(_) => (0, 0),
            Slot::Provisional(_) => (1, usize::MAX - age.get(*slot).copied().unwrap_or(0)),
        });
        for (slot, files) in order {
            let (actor, author) = actors
                .get(slot)
                .cloned()
                .unwrap_or_else(|| (String::new(), None));
            applier.set_actor(&actor, author.as_deref());
            for file in files {
                let path = Self::path(slot, file);
                let bytes = self.repo.read_file(tip, &path)?;
                let raw = bytes.as_deref().and_then(|b| std::str::from_utf8(b).ok());
                match (file, &bytes) {
                    (DocFile::Main, None) => applier.doc(slot, None, None)?,
                    (DocFile::Main, Some(b)) => match kind::parse_doc::<K>(slot, &path, b) {
                        Ok(d) => applier.doc(slot, Some(d), raw)?,
                        Err(problem) => {
                            applier.report.problems.push(problem);
                            // Its comments wait for a readable document.
                            break;
                        }
                    },
                    (DocFile::Comment(id), None) => applier.comment(slot, id, None, None)?,
                    (DocFile::Comment(id), Some(b)) => match doc::parse_comment(&path, b) {
                        Ok(c) => applier.comment(slot, id, Some(&c), raw)?,
                        Err(problem) => applier.report.problems.push(problem),
                    },
                }
            }
        }
        rows::set_indexed_commit::<K>(tx, &self.project, &tip.to_string())?;
        applier.finish()
    }

    /// Who made the newest change to each touched document: the pusher of
    /// its commit when a push recorded one, else the commit's author. With
    /// it, how old the first change to each provisional document is (the
    /// higher, the older), so that they are numbered in the order they were made.
    fn attribution(
        &self,
        conn: &Connection,
        from: Option<CommitId>,
        tip: CommitId,
        touched: &BTreeMap<Slot, BTreeSet<DocFile>>,
    ) -> Result<(HashMap<Slot, Attribution>, HashMap<Slot, usize>)> {
        let mut out = HashMap::new();
        let mut age = HashMap::new();
        if touched.is_empty() {
            return Ok((out, age));
        }
        let provisional = touched.keys().any(|s| matches!(s, Slot::Provisional(_)));
        let commits = self.repo.commits_between(from, tip, WALK_LIMIT)?;
        let mut names: HashMap<(String, String), String> = HashMap::new();
        let mut by_commit: HashMap<CommitId, Attribution> = HashMap::new();
        let mut who = |c: &forge_git::CommitInfo| -> Result<Attribution> {
            if let Some(a) = by_commit.get(&c.id) {
                return Ok(a.clone());
            }
            let key = (c.author_name.clone(), c.author_email.clone());
            let author = match names.get(&key) {
                Some(u) => u.clone(),
                None => {
                    let u = self.username_for(&key.0, &key.1)?;
                    names.insert(key, u.clone());
                    u
                }
            };
            let found = match rows::pusher_of(conn, &self.project, &c.id.to_string())? {
                Some(pusher) => (pusher, Some(author)),
                None => (author, None),
            };
            by_commit.insert(c.id, found.clone());
            Ok(found)
        };
        for (i, commit) in commits.iter().enumerate() {
            for path in &commit.paths {
                let Some((slot, _)) = kind::classify(path, K::MAIN_FILE) else {
                    continue;
                };
                if !touched.contains_key(&slot) {
                    continue;
                }
                if matches!(slot, Slot::Provisional(_)) {
                    age.insert(slot.clone(), i);
                }
                if let std::collections::hash_map::Entry::Vacant(e) = out.entry(slot) {
                    e.insert(who(commit)?);
                }
            }
            if out.len() == touched.len() && !provisional {
                break;
            }
        }
        // Past the walk: the newest commit speaks for what is left.
        if out.len() < touched.len() {
            if let Some(newest) = commits.first() {
                let a = who(newest)?;
                for slot in touched.keys() {
                    out.entry(slot.clone()).or_insert_with(|| a.clone());
                }
            }
        }
        Ok((out, age))
    }

    /// The username a commit author stands for: the registered user with
    /// that email at a forge home, else the name the commit gives.
    fn username_for(&self, name: &str, email: &str) -> Result<String> {
        if self.home {
            if let Some(user) = self.store.user_by_email(email)? {
                return Ok(user.username);
            }
        }
        Ok(name.to_string())
    }

    /// Drops this project's rows and rebuilds them from the tip. Appends no
    /// events: the changes were announced when first applied.
    pub(crate) fn reindex(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<SyncReport> {
        let tx = IndexTx::begin(self.store.conn())?;
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
        crate::search::index::suspend::<K>(tx, &self.project)?;
        rows::clear_project::<K>(tx, &self.project)?;
        let mut applier = Applier::<K>::new(tx, self.store, &self.project, self.home, false);
        if let Some(tip) = tip {
            // Progress counts top-level folders (the buckets): knowing the
            // number of files would take a second walk of every tree.
            let total = self.repo.top_level_entries(tip)?;
            let mut done = 0u64;
            let mut current_top = String::new();
            // A provisional document's comments need its number, given when
            // its main file is read: they wait until the documents are in.
            let mut comments = Vec::new();
            let mut failure = None;
            self.repo
                .for_each_file(tip, |path, bytes| {
                    let top = path.split('/').next().unwrap_or_default();
                    if top != current_top {
                        current_top = top.to_string();
                        done += 1;
                        progress(done, total);
                    }
                    let Some((slot, file)) = kind::classify(path, K::MAIN_FILE) else {
                        return Ok(());
                    };
                    let raw = std::str::from_utf8(bytes).ok();
                    let stored = match file {
                        DocFile::Main => match kind::parse_doc::<K>(&slot, path, bytes) {
                            Ok(d) => applier.rebuilt_doc(&slot, d, raw),
                            Err(problem) => {
                                applier.report.problems.push(problem);
                                Ok(())
                            }
                        },
                        DocFile::Comment(id) => match doc::parse_comment(path, bytes) {
                            Ok(c) if matches!(slot, Slot::Numbered(_)) => {
                                applier.rebuilt_comment(&slot, &id, &c, raw)
                            }
                            Ok(c) => {
                                comments.push((slot, id, c, raw.map(String::from)));
                                Ok(())
                            }
                            Err(problem) => {
                                applier.report.problems.push(problem);
                                Ok(())
                            }
                        },
                    };
                    stored.map_err(|e| {
                        let message = e.to_string();
                        failure = Some(e);
                        forge_git::Error::Caller(message)
                    })
                })
                .map_err(|e| failure.take().unwrap_or(Error::Git(e)))?;
            for (slot, id, c, raw) in comments {
                applier.rebuilt_comment(&slot, &id, &c, raw.as_deref())?;
            }
            progress(total, total);
            rows::refresh_all_activity::<K>(tx, &self.project)?;
        }
        rows::set_indexed_commit::<K>(tx, &self.project, &commit_text(tip))?;
        let report = applier.finish()?;
        crate::search::index::resume::<K>(tx, &self.project)?;
        Ok(report)
    }
}
