//! A reply by e-mail taken in: the one function behind `forge mail
//! ingest` (postfix's pipe transport) and the milter's checks. It reads the
//! message, finds its reply address, verifies the key, checks that the
//! sender is an address of the key's user, drops what a machine sent, cuts
//! the reply from what it quotes, and posts it as that user through the same
//! library call as `forge issue comment` — once per `Message-ID`.
//!
//! Each refusal carries the sysexits status a mail server understands:
//! 65 (`EX_DATAERR`) an unusable message, 67 (`EX_NOUSER`) an unknown,
//! forged or expired reply address or a sender who is not its user, 77
//! (`EX_NOPERM`) a user who may no longer comment there, 75
//! (`EX_TEMPFAIL`) try again later (the database or the repository busy).

use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use forge_tickets::{Actor, IssueReaders, PullRequests, Tracker};

use super::message::{self, Incoming};
use super::reply::{self, Item, KeyError, Keys, ReplyTo};

/// The sysexits status of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 65: the message cannot be used.
    DataErr = 65,
    /// 67: no such reply address, or not this sender's.
    NoUser = 67,
    /// 75: try again later.
    TempFail = 75,
    /// 77: the user may not comment there (any more).
    NoPerm = 77,
}

/// Why a message is not posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refused {
    /// The status for the mail server.
    pub exit: Exit,
    /// One line saying why.
    pub reason: String,
}

fn refused(exit: Exit, reason: impl Into<String>) -> Refused {
    Refused {
        exit,
        reason: reason.into(),
    }
}

/// What became of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted as a comment.
    Posted {
        /// Who it was posted as.
        user: String,
        /// Where.
        project: String,
        /// On what.
        item: Item,
        /// The comment's id.
        comment: String,
    },
    /// This `Message-ID` was posted before: nothing done.
    AlreadyPosted(String),
    /// Sent by a machine (an auto-reply, a bounce): taken and dropped.
    Dropped(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Posted {
                user,
                project,
                item,
                comment,
            } => write!(
                f,
                "posted comment {comment} on {project} {} as {user}",
                item.describe()
            ),
            Outcome::AlreadyPosted(id) => {
                write!(f, "message <{id}> was posted before; nothing done")
            }
            Outcome::Dropped(why) => write!(f, "dropped, not posted: {why}"),
        }
    }
}

/// The reply address `incoming` was sent to: the envelope recipient when
/// the mail server gives it, else the first reply address among its
/// recipients.
fn reply_address<'a>(incoming: &'a Incoming, envelope_to: Option<&'a str>) -> Option<&'a str> {
    envelope_to
        .filter(|a| reply::key_of(a).is_some())
        .or_else(|| {
            incoming
                .recipients
                .iter()
                .map(String::as_str)
                .find(|a| reply::key_of(a).is_some())
        })
}

/// Checks a reply address alone (what the milter asks when the recipient
/// is given): it is one, and its key verifies. Returns the notification
/// the reply answers.
pub fn check_key(
    store: &Store,
    keys: &Keys,
    reply_address: &str,
    now_ms: i64,
) -> Result<ReplyTo, Refused> {
    let key = reply::key_of(reply_address).ok_or_else(|| {
        refused(
            Exit::NoUser,
            format!("{reply_address} is not a reply address"),
        )
    })?;
    keys.verify(store, key, now_ms).map_err(|e| match e {
        KeyError::Store(s) => refused(
            Exit::TempFail,
            format!("reply keys cannot be read now: {s}"),
        ),
        other => refused(Exit::NoUser, format!("{reply_address}: {other}")),
    })
}

/// Checks what can be checked before the body is read (what the milter
/// asks at SMTP time once it has the headers): the key verifies, `sender`
/// is an address of its user, and that user may still read the item.
/// Returns the notification the reply answers.
pub fn check_sender(
    store: &Store,
    keys: &Keys,
    reply_address: &str,
    sender: Option<&str>,
    now_ms: i64,
) -> Result<ReplyTo, Refused> {
    checked(store, keys, reply_address, sender, now_ms).map(|c| c.to)
}

/// A reply that passed [`check_sender`], with what the checks read: the
/// project and the user acting there, for posting.
struct Checked {
    to: ReplyTo,
    project: Project,
    actor: Actor,
}

fn checked(
    store: &Store,
    keys: &Keys,
    reply_address: &str,
    sender: Option<&str>,
    now_ms: i64,
) -> Result<Checked, Refused> {
    let to = check_key(store, keys, reply_address, now_ms)?;
    let sender = sender
        .map(|s| s.trim().to_ascii_lowercase())
        .ok_or_else(|| refused(Exit::NoUser, "the message names no sender (From)"))?;
    let user = store.user(&to.user).map_err(|_| {
        refused(
            Exit::NoUser,
            format!("the user {} of this reply address is gone", to.user),
        )
    })?;
    if store
        .user_disabled(&to.user)
        .map_err(|e| refused(Exit::TempFail, e.to_string()))?
    {
        return Err(refused(
            Exit::NoPerm,
            format!("the account {} is disabled", to.user),
        ));
    }
    if !user.emails.iter().any(|e| e.eq_ignore_ascii_case(&sender)) {
        return Err(refused(
            Exit::NoUser,
            format!(
                "{sender} is not an address of {}, to whom this reply address was sent",
                to.user
            ),
        ));
    }
    let (project, actor) = may_read(store, &to)?;
    Ok(Checked { to, project, actor })
}

/// Whether the key's user may still read the item as the index has it
/// now (a project made private, a member removed, an issue made private):
/// the early answer; posting checks again against the item itself. The
/// project and the user acting in it, when they may.
fn may_read(store: &Store, to: &ReplyTo) -> Result<(Project, Actor), Refused> {
    let busy = |e: forge_tickets::Error| refused(Exit::TempFail, e.to_string());
    let project = store
        .find_project(&to.project)
        .map_err(|e| refused(Exit::TempFail, e.to_string()))?
        .ok_or_else(|| refused(Exit::NoPerm, format!("the project {} is gone", to.project)))?;
    let actor = Actor::for_user(store, &project, &to.user).map_err(busy)?;
    let readable = match to.item {
        Item::Issue(n) => IssueReaders::lookup(store, &to.project, n)
            .map_err(busy)?
            .is_some_and(|readers| readers.admit(&actor)),
        Item::PullRequest(_) => actor.can_read(),
    };
    if readable {
        Ok((project, actor))
    } else {
        Err(refused(
            Exit::NoPerm,
            format!(
                "{} may not read {} on {} (any more)",
                to.user,
                to.item.describe(),
                to.project
            ),
        ))
    }
}

/// Takes in one message: posts the reply it holds, or says why not.
pub fn ingest(
    store: &Store,
    home: &ForgeHome,
    raw: &[u8],
    envelope_to: Option<&str>,
    now_ms: i64,
) -> Result<Outcome, Refused> {
    let incoming = message::parse(raw).map_err(|e| refused(Exit::DataErr, e.to_string()))?;
    if let Some(why) = &incoming.automatic {
        return Ok(Outcome::Dropped(format!("sent by a machine ({why})")));
    }
    let address = reply_address(&incoming, envelope_to).ok_or_else(|| {
        refused(
            Exit::NoUser,
            "the message is not addressed to a reply address (reply+<key>@...)",
        )
    })?;
    let keys = Keys::open(home).map_err(|e| refused(Exit::TempFail, e.to_string()))?;
    let sender = checked(store, &keys, address, incoming.from.as_deref(), now_ms)?;
    let text = super::trim(&incoming.text);
    if text.trim().is_empty() {
        return Err(refused(
            Exit::DataErr,
            "the reply holds nothing but quotes and signatures: nothing to post",
        ));
    }
    // Once per Message-ID: the claim is taken before posting, and given
    // back if posting fails, so that a retry can post it.
    if let Some(id) = &incoming.message_id {
        let claimed = store
            .conn()
            .execute(
                "INSERT INTO mail_ingested (message_id, reply_id, created_at) VALUES (?1, 0, ?2)
                 ON CONFLICT (message_id) DO NOTHING",
                rusqlite::params![id, now_ms],
            )
            .map_err(|e| refused(Exit::TempFail, format!("the database is busy: {e}")))?;
        if claimed == 0 {
            return Ok(Outcome::AlreadyPosted(id.clone()));
        }
    }
    let posted = post(store, home, &sender, &text);
    let to = sender.to;
    match posted {
        Ok(comment) => {
            if let Some(id) = &incoming.message_id {
                let _ = store.conn().execute(
                    "UPDATE mail_ingested SET comment_id = ?2 WHERE message_id = ?1",
                    rusqlite::params![id, comment],
                );
            }
            Ok(Outcome::Posted {
                user: to.user,
                project: to.project,
                item: to.item,
                comment,
            })
        }
        Err(e) => {
            if let Some(id) = &incoming.message_id {
                let _ = store
                    .conn()
                    .execute("DELETE FROM mail_ingested WHERE message_id = ?1", [id]);
            }
            Err(e)
        }
    }
}

/// Posts `text` on the item the reply answers, as its user: the library
/// call of `forge issue comment` and `forge pr comment`.
fn post(store: &Store, home: &ForgeHome, sender: &Checked, text: &str) -> Result<String, Refused> {
    let Checked { to, project, actor } = sender;
    let doc =
        match to.item {
            Item::Issue(n) => Tracker::open_for_project(store, home, project)
                .and_then(|t| t.comment(actor, n, text)),
            Item::PullRequest(n) => PullRequests::open(store, home, project)
                .and_then(|p| p.comment(actor, n, text, None)),
        }
        .map_err(|e| classify(&to.user, &to.project, e))?;
    Ok(doc.id)
}

/// A library error as a refusal: busy is "later", not allowed or gone is
/// "no permission", a bad body is "bad data".
fn classify(user: &str, project: &str, e: forge_tickets::Error) -> Refused {
    use forge_tickets::Error as E;
    let root = match &e {
        E::Shared(inner) => inner.as_ref(),
        other => other,
    };
    let exit = match root {
        E::Git(forge_git::Error::Contended { .. }) | E::Batch(_) | E::Sqlite(_) => Exit::TempFail,
        E::Core(forge_core::Error::Invalid { .. }) => Exit::DataErr,
        E::Core(forge_core::Error::Sqlite(_)) => Exit::TempFail,
        E::Core(_) | E::NoIssue { .. } | E::NoRequest { .. } | E::Anonymous | E::Refused { .. } => {
            Exit::NoPerm
        }
        _ => Exit::TempFail,
    };
    let reason = match exit {
        Exit::NoPerm => format!("{user} may not comment there on {project} (any more): {e}"),
        _ => e.to_string(),
    };
    refused(exit, reason)
}
