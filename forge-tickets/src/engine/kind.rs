//! What a kind of document brings to the engine: its type, where its files
//! live, how it maps to the index, and the events its changes make.
//!
//! Layout (docs/ticket-format.md), the same for every kind: document `N`
//! lives in `<N mod 100, two digits>/<N>/`, with its fields in the kind's
//! main file (`issue.json`, `request.json`) and each comment in its own
//! `comment-<id>.json`. A document made offline, before the forge gave it a
//! number, lives in `new/<uid>/` with `"number": 0` until the forge moves it.

use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::{Error, Result};

/// Numbers from here up are provisional: an offline clone's names for
/// documents the forge has not numbered yet (shown as `~1`, `~2`...). Real
/// numbers stay below it.
pub const PROVISIONAL_BASE: u64 = 1 << 40;

/// The folder of documents that have no number yet.
pub const PROVISIONAL_DIR: &str = "new";

/// A document's own fields, as stored in its main file.
pub trait Document: Clone + PartialEq + Serialize + DeserializeOwned {
    /// Its number (0 while provisional).
    fn number(&self) -> u64;
    /// Gives it a number.
    fn set_number(&mut self, number: u64);
    /// Its stable unique id.
    fn uid(&self) -> &str;
    /// Who made it.
    fn author(&self) -> &str;
    /// When it was made (RFC 3339).
    fn created_at(&self) -> &str;
    /// When its own fields last changed (RFC 3339).
    fn updated_at(&self) -> &str;
    /// Its creation as epoch seconds, as its index row keeps it (0 when
    /// the time does not parse).
    fn created_time(&self) -> i64 {
        forge_core::time::parse_rfc3339(self.created_at()).unwrap_or(0)
    }
    /// When its own fields last changed as epoch seconds, as its index row
    /// keeps it (`fields_updated_at`; its creation when that does not parse).
    fn fields_time(&self) -> i64 {
        forge_core::time::parse_rfc3339(self.updated_at()).unwrap_or_else(|| self.created_time())
    }
    /// Who follows it.
    fn watchers(&self) -> &std::collections::BTreeSet<String>;
    /// What serde cannot check (times, ranges, numbers), naming the problem.
    fn check(&self) -> std::result::Result<(), String>;
}

/// Implements [`Document`] for a document struct with the fields every kind
/// has (`number`, `uid`, `author`, `created_at`, `updated_at`, `watchers`), and `check` as
/// what serde cannot check.
macro_rules! document {
    ($doc:ty, $check:path) => {
        impl $crate::engine::kind::Document for $doc {
            fn number(&self) -> u64 {
                self.number
            }
            fn set_number(&mut self, number: u64) {
                self.number = number;
            }
            fn uid(&self) -> &str {
                &self.uid
            }
            fn author(&self) -> &str {
                &self.author
            }
            fn created_at(&self) -> &str {
                &self.created_at
            }
            fn updated_at(&self) -> &str {
                &self.updated_at
            }
            fn watchers(&self) -> &std::collections::BTreeSet<String> {
                &self.watchers
            }
            fn check(&self) -> std::result::Result<(), String> {
                $check(self)
            }
        }
    };
}
pub(crate) use document;

/// An event a change makes: its name after the kind's prefix, and fields.
pub(crate) type Pending = (&'static str, Value);

/// One kind of document kept in a tickets-like repository.
pub trait Kind: 'static {
    /// The document type.
    type Doc: Document;
    /// The main file of a document's folder.
    const MAIN_FILE: &'static str;
    /// Prefix of its events (`issue`, `pr`).
    const PREFIX: &'static str;
    /// What a document is called in messages about its file (`issue`).
    const NAME: &'static str;
    /// What a document is called in commit messages (`issue`, `pull request`).
    const TITLE: &'static str;
    /// What the documents are called in messages about the index (`ticket`).
    const NOUN: &'static str;
    /// Index table of the documents.
    const TABLE: &'static str;
    /// Index table of their comments.
    const COMMENTS: &'static str;
    /// Other index tables keyed by (project, number).
    const SIDE_TABLES: &'static [&'static str];
    /// Table recording the commit the index reflects.
    const SYNC_TABLE: &'static str;
    /// Where its rows sit in the search table: a document's row id is its
    /// index row's id times 4 plus this, a comment's plus this and 2.
    const SEARCH_TAG: i64;
    /// Whether `comment.added` events say where an inline comment points.
    const INLINE_COMMENTS: bool;
    /// Whether reactions make events.
    const REACTION_EVENTS: bool;

    /// Writes a document's index row (and side rows); `raw` is its JSON.
    fn put_row(conn: &Connection, project: &str, doc: &Self::Doc, raw: &str) -> Result<()>;
    /// The fields of the `<prefix>.new` event.
    fn created(doc: &Self::Doc) -> Value;
    /// The events of a change from `old` to `new`.
    fn changed(old: &Self::Doc, new: &Self::Doc, events: &mut Vec<Pending>);
    /// The error for a document that does not exist.
    fn missing(project: &str, number: u64) -> Error;
}

/// Where a document's folder is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// `<N mod 100>/<N>/`.
    Numbered(u64),
    /// `new/<uid>/`: not numbered yet.
    Provisional(String),
}

impl Slot {
    /// The folder.
    pub fn dir(&self) -> String {
        match self {
            Slot::Numbered(n) => format!("{:02}/{n}", n % 100),
            Slot::Provisional(uid) => format!("{PROVISIONAL_DIR}/{uid}"),
        }
    }
}

/// Which file of a document's folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DocFile {
    /// The main file.
    Main,
    /// A comment, by id.
    Comment(String),
}

/// The folder and file a path of the repository names, for a kind whose
/// main file is `main_file`; `None` for anything else (README, attachments).
pub fn classify(path: &str, main_file: &str) -> Option<(Slot, DocFile)> {
    let mut parts = path.split('/');
    let (Some(first), Some(second), Some(file), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let slot = if first == PROVISIONAL_DIR {
        if !valid_id(second) {
            return None;
        }
        Slot::Provisional(second.to_string())
    } else {
        let n = second.parse::<u64>().ok()?;
        if n == 0 || n >= PROVISIONAL_BASE || second != n.to_string() {
            return None;
        }
        if first != format!("{:02}", n % 100) {
            return None;
        }
        Slot::Numbered(n)
    };
    if file == main_file {
        return Some((slot, DocFile::Main));
    }
    let id = file.strip_prefix("comment-")?.strip_suffix(".json")?;
    valid_id(id).then(|| (slot, DocFile::Comment(id.to_string())))
}

/// Whether a string may be a comment id or a uid (it becomes part of a file name).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks that a document parsed from `slot` belongs there: a numbered
/// folder holds the document of its number, a provisional one the document
/// of its uid with number 0.
pub(crate) fn check_slot<D: Document>(
    slot: &Slot,
    doc: &D,
    name: &str,
) -> std::result::Result<(), String> {
    match slot {
        Slot::Numbered(n) if doc.number() == *n => Ok(()),
        Slot::Numbered(_) => Err(format!(
            "holds {name} {} but the path is for another {name}",
            doc.number()
        )),
        Slot::Provisional(uid) if doc.number() == 0 && doc.uid() == uid => Ok(()),
        Slot::Provisional(_) => {
            Err("a document under new/ has number 0 and its folder is named after its uid".into())
        }
    }
}

/// How a provisional number shows: `~1` for the first one of a clone.
pub fn display_number(n: u64) -> String {
    match n.checked_sub(PROVISIONAL_BASE) {
        Some(k) => format!("~{k}"),
        None => n.to_string(),
    }
}

/// Reads `42` or `#42`, or a provisional `~1`.
pub fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim().trim_start_matches('#');
    match text.strip_prefix('~') {
        Some(k) => k
            .parse::<u64>()
            .ok()
            .filter(|k| *k > 0)
            .and_then(|k| PROVISIONAL_BASE.checked_add(k)),
        None => text.parse().ok().filter(|n| *n > 0),
    }
}

/// Parses a JSON document of type `T` at `path`, naming the file in errors.
pub(crate) fn parse_json<T: DeserializeOwned>(
    path: &str,
    bytes: &[u8],
) -> std::result::Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("{path}: {e}"))
}

/// Parses the main file of `slot` for kind `K`.
pub(crate) fn parse_doc<K: Kind>(
    slot: &Slot,
    path: &str,
    bytes: &[u8],
) -> std::result::Result<K::Doc, String> {
    let doc: K::Doc = parse_json(path, bytes)?;
    doc.check().map_err(|e| format!("{path}: {e}"))?;
    check_slot(slot, &doc, K::NAME).map_err(|e| format!("{path}: {e}"))?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_classify_and_round_trip() {
        let n = |n| Some((Slot::Numbered(n), DocFile::Main));
        assert_eq!(classify("07/7/issue.json", "issue.json"), n(7));
        assert_eq!(classify("34/1234/issue.json", "issue.json"), n(1234));
        assert_eq!(Slot::Numbered(1234).dir(), "34/1234");
        assert_eq!(
            classify("new/abc/comment-x-1.json", "issue.json"),
            Some((
                Slot::Provisional("abc".into()),
                DocFile::Comment("x-1".into())
            ))
        );
        assert_eq!(Slot::Provisional("abc".into()).dir(), "new/abc");
        for other in [
            "README.md",
            "35/1234/issue.json",
            "05/05/issue.json",
            "05/5/a/issue.json",
            "05/5/comment-.json",
            "05/5/comment-a b.json",
            "00/0/issue.json",
            "new/a b/issue.json",
            "new/../issue.json",
            "07/7/request.json",
            "76/1099511627776/issue.json",
        ] {
            assert_eq!(classify(other, "issue.json"), None, "{other}");
        }
    }

    #[test]
    fn provisional_numbers_show_with_a_tilde() {
        assert_eq!(display_number(12), "12");
        assert_eq!(display_number(PROVISIONAL_BASE + 3), "~3");
        assert_eq!(parse_number("~3"), Some(PROVISIONAL_BASE + 3));
        assert_eq!(parse_number("#12"), Some(12));
        for bad in ["~0", "0", "~", "x", "~-1", "18446744073709551615999"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
        assert_eq!(parse_number(&format!("~{}", u64::MAX)), None);
    }
}
