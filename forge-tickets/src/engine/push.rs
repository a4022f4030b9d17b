//! Pushed documents obey the rules of the service: a push to a tickets or
//! requests repository is checked change by change as if the pusher had
//! made it through the CLI, and refused naming the file and the rule.

use std::collections::BTreeMap;

use forge_core::role::Action;
use forge_git::CommitId;

use crate::checks::Checks;
use crate::doc::{self, CommentDoc};
use crate::engine::kind::{self, DocFile, Document, Kind, Slot};
use crate::engine::Engine;
use crate::{Actor, Result};

/// A rule a pushed change breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule: `ticket data` for a malformed or invalid document, else
    /// what the change may not do (`author`, `delete`, `status`...).
    pub rule: &'static str,
    /// Why, naming the file.
    pub reason: String,
}

pub(crate) fn violation(rule: &'static str, reason: impl Into<String>) -> Violation {
    Violation {
        rule,
        reason: reason.into(),
    }
}

/// Refuses unless the pusher's role permits `action` (`is_author`: on
/// their own document).
pub(crate) fn needs(
    pusher: &Actor,
    action: Action,
    is_author: bool,
    rule: &'static str,
    what: &str,
) -> std::result::Result<(), Violation> {
    if pusher.may(action, is_author) {
        Ok(())
    } else {
        Err(violation(
            rule,
            format!("{} may not {what} (needs {action})", pusher.username),
        ))
    }
}

/// A part of a change and the role it needs: applies when `changed`, and
/// then needs `action` (`own`: allowed to the document's author too).
pub(crate) struct Need<'a> {
    pub changed: bool,
    pub action: Action,
    pub own: bool,
    pub rule: &'static str,
    pub what: &'a str,
}

impl<'a> Need<'a> {
    /// A part: `changed`, it needs `action` (`own`: or authorship) or
    /// breaks `rule`, saying the pusher may not `what`.
    pub fn of(changed: bool, action: Action, own: bool, rule: &'static str, what: &'a str) -> Self {
        Need {
            changed,
            action,
            own,
            rule,
            what,
        }
    }
}

/// Checks each part of a change that applies.
pub(crate) fn needs_all(pusher: &Actor, parts: &[Need<'_>]) -> std::result::Result<(), Violation> {
    parts
        .iter()
        .filter(|n| n.changed)
        .try_for_each(|n| needs(pusher, n.action, n.own, n.rule, n.what))
}

/// What a kind checks of pushed documents beyond their format.
pub(crate) trait Rules: Kind {
    /// The values a document names (users, the project's choices).
    fn values(checks: &Checks<'_>, doc: &Self::Doc) -> Result<()>;
    /// Whether `pusher` may add `new` (made by them: the author was checked).
    fn may_create(pusher: &Actor, new: &Self::Doc) -> std::result::Result<(), Violation>;
    /// Whether `pusher` may change `old` into `new` (the same document: its
    /// author, uid and creation time were checked).
    fn may_change(
        pusher: &Actor,
        old: &Self::Doc,
        new: &Self::Doc,
    ) -> std::result::Result<(), Violation>;
}

/// The rules every kind's documents share: deleting one takes an admin; a
/// new one names its pusher as author (but for an admin's repair); author,
/// uid and creation time never change; only one's own watching changes
/// without the ticket role. The kind's own rules come after.
fn doc_change<K: Rules>(
    pusher: &Actor,
    old: Option<&K::Doc>,
    new: Option<&K::Doc>,
) -> std::result::Result<(), Violation> {
    let admin = pusher.may(Action::ModifyProject, false);
    match (old, new) {
        (None, None) => Ok(()),
        (Some(_), None) => needs(
            pusher,
            Action::ModifyProject,
            false,
            "delete",
            &format!("delete a {}", K::NAME),
        ),
        (None, Some(new)) => {
            if new.author() != pusher.username && !admin {
                return Err(violation(
                    "author",
                    format!(
                        "a {} pushed by {} must name them as its author, not {}",
                        K::NAME,
                        pusher.username,
                        new.author()
                    ),
                ));
            }
            K::may_create(pusher, new)
        }
        (Some(old), Some(new)) => {
            if old.author() != new.author()
                || old.uid() != new.uid()
                || old.created_at() != new.created_at()
            {
                return Err(violation(
                    "author",
                    format!(
                        "the author, uid and creation time of a {} never change",
                        K::NAME
                    ),
                ));
            }
            let others_watching = old
                .watchers()
                .symmetric_difference(new.watchers())
                .any(|w| *w != pusher.username);
            let what = "change who else watches";
            needs_all(
                pusher,
                &[Need::of(
                    others_watching,
                    Action::IssueUpdate,
                    false,
                    "watchers",
                    what,
                )],
            )?;
            K::may_change(pusher, old, new)
        }
    }
}

impl<K: Rules> Engine<'_, K> {
    /// Checks the documents a push changes, `old` to `new`, as changes by
    /// `pusher`; the first rule broken is the answer.
    pub(crate) fn check_push(
        &self,
        pusher: &Actor,
        checks: &Checks<'_>,
        old: Option<CommitId>,
        new: CommitId,
    ) -> Result<std::result::Result<(), Violation>> {
        let mut touched: BTreeMap<Slot, Vec<(DocFile, String)>> = BTreeMap::new();
        for path in self.repo.changed_paths(old, new)? {
            if let Some((slot, file)) = kind::classify(&path, K::MAIN_FILE) {
                touched.entry(slot).or_default().push((file, path));
            }
        }
        for (slot, files) in touched {
            // The document as it was, for the comments' checks too.
            let main = format!("{}/{}", slot.dir(), K::MAIN_FILE);
            let parsed =
                |at: Option<CommitId>| -> Result<std::result::Result<Option<K::Doc>, Violation>> {
                    let Some(at) = at else { return Ok(Ok(None)) };
                    Ok(match self.repo.read_file(at, &main)? {
                        None => Ok(None),
                        Some(bytes) => kind::parse_doc::<K>(&slot, &main, &bytes)
                            .map(Some)
                            .map_err(|e| violation("ticket data", e)),
                    })
                };
            let before = parsed(old)?.unwrap_or(None);
            let after = match parsed(Some(new))? {
                Ok(d) => d,
                Err(v) => return Ok(Err(v)),
            };
            for (file, path) in files {
                let found = match file {
                    DocFile::Main => {
                        if let Some(d) = &after {
                            if let Err(e) = K::values(checks, d) {
                                return Ok(Err(violation("ticket data", format!("{path}: {e}"))));
                            }
                        }
                        doc_change::<K>(pusher, before.as_ref(), after.as_ref())
                    }
                    DocFile::Comment(_) => {
                        let read = |at: Option<CommitId>| -> Result<
                            std::result::Result<Option<CommentDoc>, Violation>,
                        > {
                            let Some(at) = at else { return Ok(Ok(None)) };
                            Ok(match self.repo.read_file(at, &path)? {
                                None => Ok(None),
                                Some(bytes) => doc::parse_comment(&path, &bytes)
                                    .map(Some)
                                    .map_err(|e| violation("ticket data", e)),
                            })
                        };
                        let was = read(old)?.unwrap_or(None);
                        let now = match read(Some(new))? {
                            Ok(c) => c,
                            Err(v) => return Ok(Err(v)),
                        };
                        if let Some(c) = &now {
                            if let Err(e) = checks.comment(c) {
                                return Ok(Err(violation("ticket data", format!("{path}: {e}"))));
                            }
                            if after.is_none() {
                                return Ok(Err(violation(
                                    "ticket data",
                                    format!(
                                        "{path}: a comment of a {} that does not exist",
                                        K::NAME
                                    ),
                                )));
                            }
                        }
                        comment_change::<K>(pusher, was.as_ref(), now.as_ref())
                    }
                };
                if let Err(mut v) = found {
                    v.reason = format!("{path}: {}", v.reason);
                    return Ok(Err(v));
                }
            }
        }
        Ok(Ok(()))
    }
}

/// The rules of a pushed comment: written by the pusher, edited or deleted
/// by its author (or an admin), reactions only the pusher's own.
fn comment_change<K: Kind>(
    pusher: &Actor,
    old: Option<&CommentDoc>,
    new: Option<&CommentDoc>,
) -> std::result::Result<(), Violation> {
    let comment_action = if K::PREFIX == "pr" {
        Action::PullRequestComment
    } else {
        Action::IssueComment
    };
    let admin = pusher.may(Action::ModifyProject, false);
    match (old, new) {
        (None, None) => Ok(()),
        (None, Some(c)) => {
            needs(pusher, comment_action, false, "comment", "comment")?;
            if c.author != pusher.username && !admin {
                return Err(violation(
                    "author",
                    format!(
                        "a comment pushed by {} must name them as its author, not {}",
                        pusher.username, c.author
                    ),
                ));
            }
            Ok(())
        }
        (Some(o), None) => {
            if pusher.may_edit_comment_of(&o.author) {
                Ok(())
            } else {
                Err(violation(
                    "delete",
                    format!(
                        "{} may not delete a comment of {}",
                        pusher.username, o.author
                    ),
                ))
            }
        }
        (Some(o), Some(c)) => {
            if o.author != c.author || o.created_at != c.created_at || o.id != c.id {
                return Err(violation(
                    "author",
                    "the author, id and creation time of a comment never change",
                ));
            }
            if o.body != c.body || o.edited_at != c.edited_at || o.editor != c.editor {
                if !pusher.may_edit_comment_of(&o.author) {
                    return Err(violation(
                        "edit",
                        format!("{} may not edit a comment of {}", pusher.username, o.author),
                    ));
                }
                if c.editor.as_deref().is_some_and(|e| e != pusher.username) && !admin {
                    return Err(violation(
                        "author",
                        format!(
                            "an edit pushed by {} must name them as its editor",
                            pusher.username
                        ),
                    ));
                }
            }
            if o.reactions != c.reactions {
                let users = |c: &CommentDoc| -> Vec<(String, String)> {
                    c.reactions
                        .iter()
                        .flat_map(|(e, us)| us.iter().map(move |u| (e.clone(), u.clone())))
                        .collect()
                };
                let (before, after) = (users(o), users(c));
                let others = before
                    .iter()
                    .filter(|r| !after.contains(r))
                    .chain(after.iter().filter(|r| !before.contains(r)))
                    .any(|(_, u)| *u != pusher.username);
                if others {
                    return Err(violation(
                        "reactions",
                        "only the pusher's own reactions may change",
                    ));
                }
            }
            if o.anchor != c.anchor && !admin {
                return Err(violation(
                    "anchor",
                    "where an inline comment points is set by forge",
                ));
            }
            Ok(())
        }
    }
}
