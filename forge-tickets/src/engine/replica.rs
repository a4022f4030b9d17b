//! The writes of a mirror's replication: documents and comments as the
//! forge they mirror has them, each written only when it is newer than
//! what is stored (by its own time: a document's `updated_at`, a comment's
//! `edited_at` or `created_at`). The check reads the document at the tip
//! the commit is made on, so it holds against any other writer: a payload
//! that arrives late never overwrites what a newer one wrote. The same
//! time with other content is written (two changes within one second).

use std::collections::HashMap;

use forge_core::time::parse_rfc3339;

use super::kind::{Document as _, Kind};
use super::{Engine, Written};
use crate::doc::CommentDoc;
use crate::{Actor, Result};

/// What became of one replicated record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replicated {
    /// Written: it was new, or newer than what was stored.
    Written,
    /// Left alone: what is stored is the same, or newer.
    Kept,
    /// A comment whose document is not there (yet): fetch the document.
    Missing,
}

/// A comment's own time: its last edit, else its creation.
fn comment_time(c: &CommentDoc) -> Option<i64> {
    parse_rfc3339(c.edited_at.as_deref().unwrap_or(&c.created_at))
}

impl<K: Kind> Engine<'_, K> {
    /// Writes `docs` and `comments` (each with its document's number) as
    /// one commit by `actor`, each only if it is newer than what is stored
    /// at the tip; reserves their numbers in the project's sequence.
    /// Returns what became of each, documents first.
    pub(crate) fn replicate(
        &self,
        actor: &Actor,
        message: &str,
        docs: &[K::Doc],
        comments: &[(u64, CommentDoc)],
    ) -> Result<Vec<Replicated>> {
        if docs.is_empty() && comments.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(top) = docs.iter().map(|d| d.number()).max() {
            self.store.reserve_numbers_through(&self.project, top)?;
        }
        let mut outcomes = Vec::new();
        self.write(actor, message, |tip| {
            outcomes.clear();
            // What this batch writes, by document and by comment: a record
            // met twice is compared with its newest form so far.
            let mut out: Vec<Written<K::Doc>> = Vec::new();
            let mut doc_at_out: HashMap<u64, usize> = HashMap::new();
            let mut comment_at_out: HashMap<(u64, &str), usize> = HashMap::new();
            for doc in docs {
                let n = doc.number();
                let stored = match doc_at_out.get(&n) {
                    Some(&i) => match &out[i] {
                        Written::Doc(d) => Some(d.as_ref().clone()),
                        Written::Comment(..) => None,
                    },
                    None => self.doc_at(tip, n)?,
                };
                let newer = match stored {
                    None => true,
                    Some(old) if &old == doc => false,
                    Some(old) => parse_rfc3339(old.updated_at()) <= parse_rfc3339(doc.updated_at()),
                };
                if !newer {
                    outcomes.push(Replicated::Kept);
                    continue;
                }
                let written = Written::Doc(Box::new(doc.clone()));
                match doc_at_out.get(&n) {
                    Some(&i) => out[i] = written,
                    None => {
                        doc_at_out.insert(n, out.len());
                        out.push(written);
                    }
                }
                outcomes.push(Replicated::Written);
            }
            for (number, comment) in comments {
                if !doc_at_out.contains_key(number) && !self.exists_at(tip, *number)? {
                    outcomes.push(Replicated::Missing);
                    continue;
                }
                let key = (*number, comment.id.as_str());
                let stored = match comment_at_out.get(&key) {
                    Some(&i) => match &out[i] {
                        Written::Comment(_, c) => Some(c.as_ref().clone()),
                        Written::Doc(_) => None,
                    },
                    None => self.comment_at(tip, *number, &comment.id)?,
                };
                let newer = match stored {
                    None => true,
                    Some(old) if &old == comment => false,
                    Some(old) => comment_time(&old) <= comment_time(comment),
                };
                if !newer {
                    outcomes.push(Replicated::Kept);
                    continue;
                }
                let written = Written::Comment(*number, Box::new(comment.clone()));
                match comment_at_out.get(&key) {
                    Some(&i) => out[i] = written,
                    None => {
                        comment_at_out.insert(key, out.len());
                        out.push(written);
                    }
                }
                outcomes.push(Replicated::Written);
            }
            Ok(out)
        })?;
        Ok(outcomes)
    }
}
