//! Applying documents to the index, with the events their changes make,
//! inside the caller's transaction: the one path every write, sync and
//! rebuild takes.

use std::collections::{BTreeMap, BTreeSet};

use forge_core::event::{self, NewEvent};
use forge_core::Store;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::doc::CommentDoc;
use crate::engine::kind::{Document, Kind, Pending, Slot, PROVISIONAL_BASE};
use crate::engine::rows;
use crate::Result;

/// What a sync, a write or a rebuild did to the index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Documents (issues or requests) whose rows changed.
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

/// Applies documents of kind `K` to the index and appends their events.
pub(crate) struct Applier<'a, K: Kind> {
    conn: &'a Connection,
    store: &'a Store,
    project: &'a str,
    /// Numbers come from the project's sequence (a forge home), not from a
    /// clone's provisional range.
    home: bool,
    /// Whether changes make events (not in a rebuild).
    emit: bool,
    pub(crate) report: SyncReport,
    max_number: u64,
    /// Documents whose comment count and last activity must be recomputed
    /// from their comments (one was deleted or re-dated, or their own
    /// time went back).
    stale: BTreeSet<u64>,
    /// Comments added per document, and the newest one's time: counted in
    /// without reading the document's other comments.
    added: BTreeMap<u64, (u64, i64)>,
    /// Who the changes being applied are by.
    actor: String,
    /// The commit's author, when the actor is someone else (the pusher).
    commit_author: Option<String>,
    _kind: std::marker::PhantomData<K>,
}

impl<'a, K: Kind> Applier<'a, K> {
    pub(crate) fn new(
        conn: &'a Connection,
        store: &'a Store,
        project: &'a str,
        home: bool,
        emit: bool,
    ) -> Self {
        Applier {
            conn,
            store,
            project,
            home,
            emit,
            report: SyncReport::default(),
            max_number: 0,
            stale: BTreeSet::new(),
            added: BTreeMap::new(),
            actor: String::new(),
            commit_author: None,
            _kind: std::marker::PhantomData,
        }
    }

    /// Names who the next changes are by; `commit_author` when the commit
    /// says someone else wrote them.
    pub(crate) fn set_actor(&mut self, actor: &str, commit_author: Option<&str>) {
        self.actor = actor.to_string();
        self.commit_author = commit_author.filter(|a| *a != actor).map(String::from);
    }

    fn event(&mut self, name: &str, number: u64, mut fields: Value) -> Result<()> {
        if !self.emit {
            return Ok(());
        }
        if let (Some(author), Some(map)) = (&self.commit_author, fields.as_object_mut()) {
            map.insert("commit_author".into(), json!(author));
        }
        let kind = format!("{}.{name}", K::PREFIX);
        event::append(
            self.conn,
            &NewEvent {
                kind: &kind,
                project: self.project,
                actor: &self.actor,
                issue: Some(number),
                fields,
            },
        )?;
        self.report.events += 1;
        Ok(())
    }

    /// The number a slot's document is indexed under; for a provisional
    /// document seen for the first time (`allocate`), a new one.
    fn number_of(&mut self, slot: &Slot, allocate: bool) -> Result<Option<u64>> {
        let uid = match slot {
            Slot::Numbered(n) => return Ok(Some(*n)),
            Slot::Provisional(uid) => uid,
        };
        if let Some(n) = rows::provisional_number::<K>(self.conn, self.project, uid)? {
            return Ok(Some(n));
        }
        if !allocate {
            return Ok(None);
        }
        let n = if self.home {
            self.store.allocate_number(self.project)?
        } else {
            rows::next_provisional::<K>(self.conn, self.project)?
        };
        rows::set_provisional::<K>(self.conn, self.project, uid, n)?;
        Ok(Some(n))
    }

    /// Applies the new state of a document's main file (`None`: deleted).
    pub(crate) fn doc(
        &mut self,
        slot: &Slot,
        new: Option<K::Doc>,
        raw: Option<&str>,
    ) -> Result<()> {
        let Some(number) = self.number_of(slot, new.is_some())? else {
            // A provisional document that moved to its number, or was never indexed.
            return Ok(());
        };
        match (slot, &new) {
            (Slot::Numbered(n), Some(doc)) => {
                // A provisional document reached its numbered place: its
                // rows follow it (a clone's provisional number becomes the
                // forge's), and it is no longer provisional.
                if let Some(was) =
                    rows::provisional_number::<K>(self.conn, self.project, doc.uid())?
                {
                    if was != *n && rows::doc::<K>(self.conn, self.project, *n)?.is_none() {
                        rows::renumber::<K>(self.conn, self.project, was, *n)?;
                    }
                    rows::forget_provisional::<K>(self.conn, self.project, doc.uid())?;
                }
            }
            (Slot::Provisional(uid), None) => {
                rows::forget_provisional::<K>(self.conn, self.project, uid)?;
            }
            _ => {}
        }
        let old = rows::doc::<K>(self.conn, self.project, number)?;
        match (old, new) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                rows::delete_doc::<K>(self.conn, self.project, number)?;
                self.event("deleted", number, json!({}))?;
            }
            (old, Some(mut doc)) => {
                let renumbered = doc.number() != number;
                doc.set_number(number);
                if old.as_ref() == Some(&doc) {
                    return Ok(());
                }
                // The file's text is the row's unless the number differs
                // (a provisional document's file says 0).
                let text = match (slot, raw) {
                    (Slot::Numbered(_), Some(raw)) if !renumbered => raw.to_string(),
                    _ => serde_json::to_string(&doc)?,
                };
                K::put_row(self.conn, self.project, &doc, &text)?;
                match old {
                    None => self.event("new", number, K::created(&doc))?,
                    Some(old) => {
                        let mut events: Vec<Pending> = Vec::new();
                        K::changed(&old, &doc, &mut events);
                        for (name, fields) in events {
                            self.event(name, number, fields)?;
                        }
                        // A new document's row already says 0 comments and
                        // its own time, and a row keeps the later of its
                        // last activity and its fields' new time: only a
                        // time that went back needs the comments read.
                        if doc.fields_time() < old.fields_time() {
                            self.stale.insert(number);
                        }
                    }
                }
            }
        }
        if number < PROVISIONAL_BASE {
            self.max_number = self.max_number.max(number);
        }
        self.report.issues += 1;
        Ok(())
    }

    /// Applies the new state of a comment (`None`: deleted).
    pub(crate) fn comment(
        &mut self,
        slot: &Slot,
        id: &str,
        new: Option<&CommentDoc>,
        raw: Option<&str>,
    ) -> Result<()> {
        // A comment never numbers its document: one whose document is not
        // indexed (yet, or any more) waits for it.
        let Some(number) = self.number_of(slot, false)? else {
            return Ok(());
        };
        let (conn, project) = (self.conn, self.project);
        let old = rows::comment::<K>(conn, project, number, id)?;
        let text = |c: &CommentDoc| -> Result<String> {
            Ok(match raw {
                Some(raw) => raw.to_string(),
                None => serde_json::to_string(c)?,
            })
        };
        match (&old, new) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                rows::delete_comment::<K>(conn, project, number, id)?;
                self.event("comment.deleted", number, json!({"comment_id": id}))?;
                self.stale.insert(number);
            }
            (None, Some(c)) => {
                rows::put_comment::<K>(conn, project, number, c, &text(c)?)?;
                let time = forge_core::time::parse_rfc3339(&c.created_at).unwrap_or(0);
                let added = self.added.entry(number).or_insert((0, 0));
                *added = (added.0 + u64::from(!c.notification), added.1.max(time));
                let fields = if K::INLINE_COMMENTS {
                    let inline = c
                        .anchor
                        .as_ref()
                        .map(|a| json!({"path": a.path, "line": a.line}));
                    json!({"comment_id": id, "inline": inline})
                } else {
                    json!({"comment_id": id})
                };
                // A record of field changes, whose own events say what
                // changed: not a comment anyone made.
                if !c.notification {
                    self.event("comment.added", number, fields)?;
                }
            }
            (Some(o), Some(c)) => {
                if o == c {
                    return Ok(());
                }
                rows::put_comment::<K>(conn, project, number, c, &text(c)?)?;
                if o.created_at != c.created_at {
                    self.stale.insert(number);
                }
                if o.body != c.body {
                    self.event("comment.edited", number, json!({"comment_id": id}))?;
                }
                if K::REACTION_EVENTS && o.reactions != c.reactions {
                    self.event(
                        "comment.reaction",
                        number,
                        json!({"comment_id": id, "reactions": c.reactions}),
                    )?;
                }
            }
        }
        self.report.comments += 1;
        Ok(())
    }

    /// Removes a document known by its number (its branch was deleted).
    pub(crate) fn gone(&mut self, number: u64) -> Result<()> {
        if rows::doc::<K>(self.conn, self.project, number)?.is_some() {
            rows::delete_doc::<K>(self.conn, self.project, number)?;
            self.event("deleted", number, json!({}))?;
            self.report.issues += 1;
        }
        Ok(())
    }

    /// Writes a document's row in a rebuild: the rows were cleared, so
    /// nothing is read back and no event is made.
    pub(crate) fn rebuilt_doc(
        &mut self,
        slot: &Slot,
        mut doc: K::Doc,
        raw: Option<&str>,
    ) -> Result<()> {
        let Some(number) = self.number_of(slot, true)? else {
            return Ok(());
        };
        let text = match (slot, raw) {
            (Slot::Numbered(_), Some(raw)) => raw.to_string(),
            _ => {
                doc.set_number(number);
                serde_json::to_string(&doc)?
            }
        };
        K::put_row(self.conn, self.project, &doc, &text)?;
        if number < PROVISIONAL_BASE {
            self.max_number = self.max_number.max(number);
        }
        self.report.issues += 1;
        Ok(())
    }

    /// Writes a comment's row in a rebuild.
    pub(crate) fn rebuilt_comment(
        &mut self,
        slot: &Slot,
        id: &str,
        c: &CommentDoc,
        raw: Option<&str>,
    ) -> Result<()> {
        let Some(number) = self.number_of(slot, false)? else {
            return Ok(());
        };
        let text = match raw {
            Some(raw) => raw.to_string(),
            None => serde_json::to_string(c)?,
        };
        debug_assert_eq!(c.id, id);
        rows::put_comment::<K>(self.conn, self.project, number, c, &text)?;
        self.report.comments += 1;
        Ok(())
    }

    /// Recomputes what the changes made stale and keeps the project's
    /// sequence above every number seen.
    pub(crate) fn finish(self) -> Result<SyncReport> {
        for number in &self.stale {
            rows::refresh_activity::<K>(self.conn, self.project, *number)?;
        }
        for (number, (count, newest)) in &self.added {
            if !self.stale.contains(number) {
                rows::count_in_comments::<K>(self.conn, self.project, *number, *count, *newest)?;
            }
        }
        if self.home && self.max_number > 0 {
            self.store
                .reserve_numbers_through(self.project, self.max_number)?;
        }
        Ok(self.report)
    }
}
