//! The notification consumer: each issue or pull-request event becomes one
//! job per person who should hear of it ([`super::recipients`], narrowed by
//! their [`super::prefs`]); a worker makes each mail ([`super::compose`],
//! with the recipient's own reply key and unsubscribe link) and hands it to
//! the relay. A relay that is down fails the job, which is retried on the
//! schedule: no mail is lost, and no request ever waits for one.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use forge_core::event::Event;
use forge_core::{ForgeHome, Store};
use forge_tickets::{Actor, PullRequests, Tracker};
use lettre::message::Mailbox;
use serde_json::json;

use super::compose::{self, Notice, Recipient};
use super::prefs::{self, Level};
use super::recipients::{self, item_of};
pub use super::relay::Mailer;
use super::reply::{Item, Keys, ReplyTo};
use crate::queue::{self, Job, Routes, Schedule};

/// The consumer's name in the queue.
pub const CONSUMER: &str = "mail";

/// Mails handed to the relay at once, and connections kept open to it
/// (each SMTP exchange mostly waits on the network).
pub const SENDERS: usize = 48;

/// Event kinds nobody is mailed about.
const QUIET: &[&str] = &[
    "comment.edited",
    "comment.deleted",
    "comment.reaction",
    "deleted",
];

/// How notifications are sent.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sender (`[mail] from`).
    pub from: Mailbox,
    /// The domain of reply addresses; `None`: no `Reply-To` key.
    pub reply_domain: Option<String>,
    /// Where mail goes (`[mail] relay`).
    pub relay: String,
    /// The start of links (the server's public URL).
    pub base_url: String,
    /// How long a claimed job is a worker's.
    pub lease: Duration,
    /// When failed sends are retried.
    pub schedule: Schedule,
}

/// Why notifications cannot be sent at all.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `[mail] from` does not parse.
    #[error("[mail] from: `{0}` is not an address such as `forge <forge@example.org>`")]
    From(String),
    /// The relay cannot be used.
    #[error("[mail] relay: {0}")]
    Relay(String),
}

impl Settings {
    /// The settings of `[mail]`; `None` when no sender is configured (then
    /// no notification is sent).
    pub fn from_config(
        mail: &forge_core::config::MailSettings,
        base_url: &str,
    ) -> Result<Option<Settings>, SetupError> {
        let Some(from) = &mail.from else {
            return Ok(None);
        };
        let from: Mailbox = from.parse().map_err(|_| SetupError::From(from.clone()))?;
        Ok(Some(Settings {
            from,
            reply_domain: mail.reply_domain.clone(),
            relay: mail.relay.clone(),
            base_url: base_url.trim_end_matches('/').to_string(),
            lease: Duration::from_secs(60),
            schedule: mail
                .retry_schedule
                .as_ref()
                .map_or_else(Schedule::standard, |delays| {
                    Schedule(delays.iter().map(|s| Duration::from_secs(*s)).collect())
                }),
        }))
    }
}

/// Whether `e` is one people are mailed about.
fn loud(e: &Event) -> bool {
    item_of(e).is_some()
        && !QUIET
            .iter()
            .any(|q| e.kind.split_once('.').is_some_and(|(_, rest)| rest == *q))
}

/// Where an event goes: one job per person who should hear of it.
pub fn route(store: &Store, home: &ForgeHome, e: &Event) -> forge_tickets::Result<Routes> {
    if !loud(e) {
        return Ok(Vec::new());
    }
    let Some(project) = store.find_project(&e.project)? else {
        return Ok(Vec::new());
    };
    // Each person's level, read once.
    let mut levels = std::collections::HashMap::new();
    let mut level_of = |user: &str| -> rusqlite::Result<Level> {
        if let Some(level) = levels.get(user) {
            return Ok(*level);
        }
        let level = prefs::effective(store, user, &e.project)?;
        levels.insert(user.to_string(), level);
        Ok(level)
    };
    // Members who want every event of the project.
    let mut everything = BTreeSet::new();
    for m in store.members(&project)? {
        if !m.name.starts_with('@') && level_of(&m.name)? == Level::All {
            everything.insert(m.name);
        }
    }
    let mut routes = Vec::new();
    for a in recipients::recipients(store, home, &project, e, &everything)? {
        if level_of(&a.user)? == Level::None {
            continue;
        }
        routes.push((
            format!("mail:{}", a.user),
            json!({"user": a.user, "address": a.address, "name": a.name}),
        ));
    }
    Ok(routes)
}

/// What a mail says about `e`: its notice (without recipient).
fn notice_of(
    store: &Store,
    home: &ForgeHome,
    e: &Event,
    base_url: &str,
) -> forge_tickets::Result<Option<Notice>> {
    let Some(item) = item_of(e) else {
        return Ok(None);
    };
    let Some(project) = store.find_project(&e.project)? else {
        return Ok(None);
    };
    let owner = Actor::for_user(store, &project, &project.owner)?;
    let comment_id = e.fields["comment_id"].as_str();
    let (n, noun, path) = match item {
        Item::Issue(n) => (n, "issue", "issue"),
        Item::PullRequest(n) => (n, "pull request", "pull-request"),
    };
    // The item's title and text, and the comment the event names.
    let (title, body, comment) = match item {
        Item::Issue(n) => {
            let Ok(i) = Tracker::open_for_project(store, home, &project)?.issue(&owner, n) else {
                return Ok(None);
            };
            let c = comment_id.and_then(|id| i.comments.iter().find(|c| c.id == id));
            (
                i.title.clone(),
                i.body.clone(),
                c.map(|c| (Some(c.number()), c.body.clone())),
            )
        }
        Item::PullRequest(n) => {
            let Ok(p) = PullRequests::open(store, home, &project)?.show(&owner, n) else {
                return Ok(None);
            };
            let c = comment_id.and_then(|id| p.comments.iter().find(|c| c.id == id));
            (
                p.title.clone(),
                p.body.clone(),
                c.map(|c| (None, c.body.clone())),
            )
        }
    };
    let tail = e.kind.split_once('.').map_or("", |(_, t)| t);
    let actor = &e.actor;
    let (summary, markdown, opens) = match tail {
        "new" => (format!("{actor} opened {noun} #{n}"), Some(body), true),
        "comment.added" => (
            format!("{actor} commented on {noun} #{n}"),
            comment.as_ref().map(|c| c.1.clone()),
            false,
        ),
        "closed" => {
            let reason = e.fields["close_reason"]
                .as_str()
                .map(|r| format!(" as {r}"))
                .unwrap_or_default();
            (format!("{actor} closed {noun} #{n}{reason}"), None, false)
        }
        "reopened" => (format!("{actor} reopened {noun} #{n}"), None, false),
        "merged" => (format!("{actor} merged {noun} #{n}"), None, false),
        "updated" => (
            format!("{actor} pushed new commits to {noun} #{n}"),
            None,
            false,
        ),
        "flag" => {
            let name = e.fields["name"].as_str().unwrap_or("a flag");
            let status = e.fields["status"].as_str().unwrap_or("set");
            (format!("{name} is {status} on {noun} #{n}"), None, false)
        }
        other => (
            format!("{actor} changed {noun} #{n} ({})", other.replace('.', " ")),
            None,
            false,
        ),
    };
    let anchor = comment
        .and_then(|c| c.0)
        .map(|n| format!("#comment-{n}"))
        .unwrap_or_default();
    Ok(Some(Notice {
        project: e.project.clone(),
        item,
        title,
        opens,
        event_id: e.id,
        summary,
        markdown: markdown.filter(|m| !m.trim().is_empty()),
        url: format!("{base_url}/{}/{path}/{n}{anchor}", e.project),
    }))
}

/// The notices of the events a round's jobs are about, made once per event
/// (every recipient of an event gets the same notice).
type Notices = std::collections::HashMap<i64, Option<Notice>>;

/// Sends one job's mail; whether it is finished (sent, or nothing left to
/// send).
#[allow(clippy::too_many_arguments)]
fn handle(
    store: &Store,
    home: &ForgeHome,
    keys: &Keys,
    mailer: &Mailer,
    owner: &str,
    settings: &Settings,
    notices: &mut Notices,
    job: &Job,
) -> forge_tickets::Result<bool> {
    let now = queue::now_ms();
    let notice = match notices.entry(job.event_id) {
        std::collections::hash_map::Entry::Occupied(known) => known.get().clone(),
        std::collections::hash_map::Entry::Vacant(slot) => {
            let made = match queue::event_by_id(store, job.event_id)? {
                Some(e) => notice_of(store, home, &e, &settings.base_url)?,
                None => None,
            };
            slot.insert(made).clone()
        }
    };
    let Some(notice) = notice else {
        queue::complete(store, job, owner, now)?;
        return Ok(true);
    };
    let user = job.payload["user"].as_str().unwrap_or_default();
    let address = job.payload["address"].as_str().unwrap_or_default();
    let name = job.payload["name"].as_str().unwrap_or_default();
    let Ok(email) = address.parse() else {
        // Retrying cannot mend a stored address that does not parse: the
        // job is dead at once, for `forge queue list --state dead` to show.
        let why = format!("`{address}` is not an address");
        queue::fail(store, job, owner, &why, &Schedule(Vec::new()), now)?;
        return Ok(false);
    };
    let mailbox = Mailbox::new((!name.is_empty()).then(|| name.to_string()), email);
    let reply_to = match &settings.reply_domain {
        Some(domain) => {
            let key = keys
                .mint(
                    store,
                    &ReplyTo {
                        user: user.to_string(),
                        address: address.to_string(),
                        project: notice.project.clone(),
                        item: notice.item,
                        message_id: compose::thread_id(
                            &notice.project,
                            notice.item,
                            settings.from.email.domain(),
                        ),
                    },
                    now,
                )
                .map_err(|e| {
                    forge_tickets::Error::Core(forge_core::Error::invalid(
                        "reply key",
                        e.to_string(),
                    ))
                })?;
            // Shown with the sender's name, so that the reply goes "to forge".
            format!("reply+{key}@{domain}")
                .parse()
                .ok()
                .map(|a| Mailbox::new(settings.from.name.clone(), a))
        }
        None => None,
    };
    let unsubscribe = format!(
        "{}/mail/unsubscribe/{}/{user}/{}",
        settings.base_url,
        keys.unsubscribe_token(user, &notice.project),
        notice.project
    );
    let message = compose::compose(
        &notice,
        &Recipient {
            mailbox,
            reply_to,
            unsubscribe,
        },
        &settings.from,
    )
    .map_err(|e| {
        forge_tickets::Error::Core(forge_core::Error::invalid("notification", e.to_string()))
    })?;
    match mailer.send(&message) {
        Ok(()) => {
            queue::complete(store, job, owner, queue::now_ms())?;
            Ok(true)
        }
        Err(why) => {
            queue::fail(store, job, owner, &why, &settings.schedule, queue::now_ms())?;
            Ok(false)
        }
    }
}

/// One round: new events into jobs, then up to `batch` recipients' mails
/// sent (each recipient's in order, on connections from `stores`). Returns
/// how many jobs it attempted.
#[allow(clippy::too_many_arguments)]
pub fn run_once(
    store: &Store,
    home: &ForgeHome,
    keys: &Keys,
    mailer: &Mailer,
    stores: &queue::Stores,
    owner: &str,
    settings: &Settings,
    batch: usize,
    stop: &AtomicBool,
) -> forge_tickets::Result<usize> {
    queue::fan_out(store, CONSUMER, 200, queue::now_ms(), &mut |e| {
        route(store, home, e)
    })?;
    queue::work_parallel(
        store,
        stores,
        CONSUMER,
        owner,
        batch,
        settings.lease,
        stop,
        SENDERS,
        &|own: &Store, notices: &mut Notices, job: &Job| {
            handle(own, home, keys, mailer, owner, settings, notices, job)
        },
    )
}

/// Moves the consumer to the end of the log: what happened while mail was
/// off is not sent later.
pub fn skip(store: &Store) -> forge_core::Result<()> {
    queue::skip_to_end(store, CONSUMER, queue::now_ms())
}
