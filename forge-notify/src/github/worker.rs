//! The `github` consumer of the event log: each `github.received` event
//! becomes a job (one target per mirror, so a mirror's deliveries are
//! applied in the order they came; its pushes in an order of their own)
//! that applies the recorded delivery: the
//! payload's objects go to their model's function, the parent first (the
//! issue of a comment, the pull request of a review), and what the payload
//! lacks is fetched from the API (the pull request a comment on it needs).
//! A `push` fetches the repository's branches and pull request heads. An
//! API that fails is tried again on the queue's schedule; a payload that
//! does not read ends its job as dead, saying why.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use forge_core::event::Event;
use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::client::{ClientError, Fetched};
use super::mirror::Mirrors;
use super::model::{Comment, Issue, Label, Milestone, PullRequest, Review, ReviewComment, Time};
use super::receive::RECEIVED;
use super::replicate::{Replication, Tally, Via};
use crate::queue::{self, Job, Routes, Schedule};

/// The consumer's name in the queue.
pub const CONSUMER: &str = "github";

/// How the worker reaches GitHub.
#[derive(Debug, Clone)]
pub struct Settings {
    /// API servers, and git remotes, may be loopback or private addresses.
    pub allow_private: bool,
    /// The limit of one request.
    pub timeout: Duration,
    /// How long a claimed job is a worker's.
    pub lease: Duration,
    /// When a delivery that could not be applied is tried again.
    pub schedule: Schedule,
}

impl Settings {
    /// The settings that go with the webhooks' (the same network rules,
    /// lease and retries).
    pub fn like(webhooks: &crate::outbox::Settings) -> Settings {
        Settings {
            allow_private: webhooks.allow_private,
            timeout: webhooks.timeout.max(Duration::from_secs(30)),
            lease: webhooks.lease,
            schedule: webhooks.schedule.clone(),
        }
    }
}

/// Why a delivery was not applied.
#[derive(Debug, thiserror::Error)]
enum Failed {
    /// Worth trying again (the API, the store).
    #[error("{0}")]
    Later(String),
    /// Trying again cannot help (a payload that does not read).
    #[error("{0}")]
    Never(String),
}

impl From<forge_tickets::Error> for Failed {
    fn from(e: forge_tickets::Error) -> Self {
        Failed::Later(e.to_string())
    }
}

impl From<ClientError> for Failed {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Never(why) => Failed::Never(why),
            other => Failed::Later(other.to_string()),
        }
    }
}

/// Where an event goes: a received delivery to its mirror's target.
pub fn route(store: &Store, e: &Event) -> forge_core::Result<Routes> {
    if e.kind != RECEIVED {
        return Ok(Vec::new());
    }
    let Some(delivery) = e.fields["delivery"].as_str() else {
        return Ok(Vec::new());
    };
    let found: Option<(i64, String)> = store
        .conn()
        .query_row(
            "SELECT project_id, event FROM github_deliveries WHERE delivery = ?1",
            [delivery],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    // Pushes (a git fetch, which may wait on the network) go in an order
    // of their own: a fetch that fails holds back no issue or comment.
    Ok(found
        .map(|(id, event)| {
            let target = match event.as_str() {
                "push" => format!("github:{id}:push"),
                _ => format!("github:{id}"),
            };
            vec![(target, json!({"delivery": delivery}))]
        })
        .unwrap_or_default())
}

/// One round: new events into jobs, then ready jobs applied. Returns how
/// many jobs it attempted.
pub fn run_once(
    store: &Store,
    home: &ForgeHome,
    owner: &str,
    settings: &Settings,
    batch: usize,
    stop: &AtomicBool,
) -> forge_core::Result<usize> {
    let mirrors: bool =
        store
            .conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM github_mirrors)", [], |r| {
                r.get(0)
            })?;
    queue::round(
        store,
        CONSUMER,
        mirrors,
        owner,
        batch,
        settings.lease,
        stop,
        &mut |e| route(store, e),
        &mut |job| handle(store, home, owner, settings, job),
    )
}

/// Applies one job's delivery; whether the job is finished.
fn handle(
    store: &Store,
    home: &ForgeHome,
    owner: &str,
    settings: &Settings,
    job: &Job,
) -> forge_core::Result<bool> {
    let delivery = job.payload["delivery"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let row: Option<(i64, String, Option<String>)> = store
        .conn()
        .query_row(
            "SELECT project_id, event, payload FROM github_deliveries WHERE delivery = ?1",
            [&delivery],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let outcome = match row {
        Some((project_id, event, Some(payload))) => match store.find_project_by_id(project_id)? {
            Some(project) if project.mirror.is_some() => {
                apply(store, home, &project, &event, &payload, settings)
            }
            _ => Ok(()),
        },
        // Applied already, or its mirror is gone.
        _ => Ok(()),
    };
    let now = queue::now_ms();
    match outcome {
        Ok(()) => {
            store.conn().execute(
                "UPDATE github_deliveries SET payload = NULL, applied_at = ?2 WHERE delivery = ?1",
                params![delivery, now],
            )?;
            queue::complete(store, job, owner, now)?;
            Ok(true)
        }
        Err(Failed::Later(why)) => {
            queue::fail(store, job, owner, &why, &settings.schedule, now)?;
            Ok(false)
        }
        Err(Failed::Never(why)) => {
            queue::fail(store, job, owner, &why, &Schedule(Vec::new()), now)?;
            Ok(false)
        }
    }
}

/// `payload[key]` read as GitHub's `T`.
fn field<T: DeserializeOwned>(payload: &Value, key: &str, event: &str) -> Result<T, Failed> {
    serde_json::from_value(payload[key].clone())
        .map_err(|e| Failed::Never(format!("{event} delivery: `{key}` does not read ({e})")))
}

/// Applies one delivery of `event` to the mirror `project`.
fn apply(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    event: &str,
    payload: &str,
    settings: &Settings,
) -> Result<(), Failed> {
    let payload: Value = serde_json::from_str(payload)
        .map_err(|e| Failed::Never(format!("{event} delivery: not JSON ({e})")))?;
    let r = Replication::new(store, home, project.clone())?;
    let who = match payload.get("sender").filter(|s| !s.is_null()) {
        Some(_) => r.user(&field(&payload, "sender", event)?)?,
        None => store
            .mirror_user("github", "ghost")
            .map_err(|e| Failed::Later(e.to_string()))?,
    };
    let action = payload["action"].as_str().unwrap_or_default();
    let via = Via::Webhook;
    match event {
        "issues" => {
            let issue: Issue = field(&payload, "issue", event)?;
            r.put_issues(&who, &[issue], via)?;
        }
        "issue_comment" => {
            let issue: Issue = field(&payload, "issue", event)?;
            let mut comment: Comment = field(&payload, "comment", event)?;
            let pull = issue.pull_request.is_some();
            if action == "deleted" {
                comment.body = Some("*This comment was deleted on GitHub.*".into());
                comment.updated_at = Time(chrono::Utc::now().timestamp());
            }
            r.put_issues(&who, std::slice::from_ref(&issue), via)?;
            let on = Some((issue.number, pull));
            let tally = r.put_comments(&who, std::slice::from_ref(&comment), on, via)?;
            if tally.missing > 0 && pull {
                // The pull request is not replicated yet: fetch it.
                fetch_pull(store, home, project, &r, &who, issue.number, settings)?;
                r.put_comments(&who, &[comment], on, via)?;
            }
        }
        "pull_request" => {
            let pull: PullRequest = field(&payload, "pull_request", event)?;
            r.put_pulls(&who, &[pull], via)?;
        }
        "pull_request_review" => {
            let pull: PullRequest = field(&payload, "pull_request", event)?;
            let review: Review = field(&payload, "review", event)?;
            r.put_pulls(&who, std::slice::from_ref(&pull), via)?;
            r.put_review(&who, pull.number, &review, via)?;
        }
        "pull_request_review_comment" => {
            let pull: PullRequest = field(&payload, "pull_request", event)?;
            let mut comment: ReviewComment = field(&payload, "comment", event)?;
            if action == "deleted" {
                comment.body = "*This comment was deleted on GitHub.*".into();
                comment.updated_at = Time(chrono::Utc::now().timestamp());
            }
            r.put_pulls(&who, std::slice::from_ref(&pull), via)?;
            r.put_review_comments(&who, &[comment], Some(pull.number), via)?;
        }
        "label" => {
            let label: Label = field(&payload, "label", event)?;
            r.put_labels(&[label], via)?;
        }
        "milestone" => {
            let milestone: Milestone = field(&payload, "milestone", event)?;
            r.put_milestones(&[milestone], via)?;
        }
        "push" => {
            let url = payload["repository"]["clone_url"]
                .as_str()
                .unwrap_or_default();
            fetch_source(home, project, url, settings.allow_private)?;
        }
        _ => {}
    }
    Ok(())
}

/// Fetches pull request `number` from the API and replicates it.
fn fetch_pull(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    r: &Replication<'_>,
    who: &str,
    number: u64,
    settings: &Settings,
) -> Result<Tally, Failed> {
    let mirrors = Mirrors::new(store, home);
    let (mirror, client) = mirrors
        .client(project, settings.allow_private, settings.timeout)
        .map_err(|e| Failed::Later(e.to_string()))?
        .ok_or_else(|| Failed::Never(format!("project `{}` is no mirror", project.full_name)))?;
    let url = client.url(&format!("repos/{}/pulls/{number}", mirror.repo))?;
    let pull: PullRequest = match client.get(&url, None)? {
        Fetched::Page(page) => serde_json::from_str(&page.body)
            .map_err(|e| Failed::Later(format!("{url}: the pull request does not read ({e})")))?,
        Fetched::NotModified => return Ok(Tally::default()),
    };
    Ok(r.put_pulls(who, &[pull], Via::Api)?)
}

/// Fetches the mirrored repository's branches and pull request heads into
/// the project's source repository, through the guarded remote fetch.
fn fetch_source(
    home: &ForgeHome,
    project: &Project,
    url: &str,
    allow_private: bool,
) -> Result<(), Failed> {
    if url.is_empty() {
        return Err(Failed::Never("the push names no clone_url".into()));
    }
    super::fetch_source(home, project, url, allow_private).map_err(|e| Failed::Later(e.to_string()))
}
