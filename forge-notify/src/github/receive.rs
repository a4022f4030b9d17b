//! GitHub's webhooks in, as web-bugs takes them: a delivery is verified
//! (`X-Hub-Signature-256` in constant time, against the mirror's secret,
//! before anything of it is read), answered at once for `ping`, checked
//! (an event the mirror replicates, JSON, the mirrored repository), and
//! recorded with a `github.received` event in one transaction: the
//! `github` worker ([`super::worker`]) applies it. A delivery sent again
//! (`X-GitHub-Delivery`) is recorded once.

use forge_core::event::{self, NewEvent};
use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use rusqlite::params;
use serde_json::{json, Value};

use super::mirror::Mirrors;
use crate::sign::{verify_hub_signature, BadSignature};

/// The events a mirror replicates.
pub const EVENTS: [&str; 8] = [
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "label",
    "milestone",
    "push",
];

/// The event a recorded delivery is announced by.
pub const RECEIVED: &str = "github.received";

/// A delivery as it came: GitHub's headers and the body.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// `X-GitHub-Event`.
    pub event: Option<&'a str>,
    /// `X-GitHub-Delivery`.
    pub id: Option<&'a str>,
    /// `X-Hub-Signature-256`.
    pub signature: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// What became of a delivery that was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A `ping`: the webhook works.
    Pong,
    /// Recorded for the worker; the `github.received` event's id.
    Queued(i64),
    /// Recorded before: applied once.
    Duplicate,
}

/// Why a delivery was refused; none of them names the secret.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The project is no mirror.
    #[error("project `{0}` mirrors no GitHub repository")]
    NoMirror(String),
    /// The signature is missing or wrong.
    #[error(transparent)]
    Signature(#[from] BadSignature),
    /// No `X-GitHub-Event`.
    #[error("X-GitHub-Event is missing")]
    NoEvent,
    /// An event the mirror does not replicate.
    #[error("event `{0}` is not replicated (a mirror takes {list})", list = EVENTS.join(", "))]
    UnknownEvent(String),
    /// No usable `X-GitHub-Delivery`.
    #[error("X-GitHub-Delivery is missing or not a delivery id")]
    NoDelivery,
    /// The body is not JSON.
    #[error("the payload is not JSON ({0})")]
    Malformed(String),
    /// The payload is about another repository.
    #[error("the payload is for {found}; this mirror replicates {expected}")]
    OtherRepository {
        /// What the payload names.
        found: String,
        /// What the mirror replicates.
        expected: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] super::mirror::Error),
}

impl From<forge_core::Error> for Refused {
    fn from(e: forge_core::Error) -> Self {
        Refused::Store(e.into())
    }
}

impl From<rusqlite::Error> for Refused {
    fn from(e: rusqlite::Error) -> Self {
        Refused::Store(e.into())
    }
}

/// A delivery id: GitHub's are GUIDs.
fn delivery_id(id: Option<&str>) -> Result<&str, Refused> {
    match id.map(str::trim) {
        Some(id)
            if !id.is_empty()
                && id.len() <= 100
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Ok(id)
        }
        _ => Err(Refused::NoDelivery),
    }
}

/// Takes `delivery` for the mirror `project`.
pub fn receive(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    delivery: &Delivery<'_>,
) -> Result<Received, Refused> {
    // What it mirrors comes with the project; only the secret is read.
    let repo = project
        .mirror
        .as_deref()
        .and_then(|m| m.strip_prefix("github:"));
    let (Some(repo), Some(secret)) = (repo, Mirrors::new(store, home).secret(project.id)?) else {
        return Err(Refused::NoMirror(project.full_name.clone()));
    };
    verify_hub_signature(secret.as_bytes(), delivery.body, delivery.signature)?;
    let event = delivery.event.map(str::trim).ok_or(Refused::NoEvent)?;
    if event == "ping" {
        return Ok(Received::Pong);
    }
    if !EVENTS.contains(&event) {
        let shown: String = event.chars().filter(|c| !c.is_control()).take(60).collect();
        return Err(Refused::UnknownEvent(shown));
    }
    let id = delivery_id(delivery.id)?;
    let payload: Value =
        serde_json::from_slice(delivery.body).map_err(|e| Refused::Malformed(e.to_string()))?;
    let found = payload["repository"]["full_name"]
        .as_str()
        .unwrap_or_default();
    if !found.eq_ignore_ascii_case(repo) {
        let found = match found {
            "" => "no repository".to_string(),
            f => f.chars().filter(|c| !c.is_control()).take(200).collect(),
        };
        return Err(Refused::OtherRepository {
            found,
            expected: repo.to_string(),
        });
    }
    let action = payload["action"].as_str().unwrap_or_default();
    let now = chrono::Utc::now().timestamp_millis();
    let tx = store.conn().unchecked_transaction()?;
    let taken = tx.execute(
        "INSERT INTO github_deliveries (delivery, project_id, event, payload, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (delivery) DO NOTHING",
        params![
            id,
            project.id,
            event,
            String::from_utf8_lossy(delivery.body),
            now
        ],
    )?;
    if taken == 0 {
        return Ok(Received::Duplicate);
    }
    let event_id = event::append(
        &tx,
        &NewEvent {
            kind: RECEIVED,
            project: &project.full_name,
            actor: "github",
            issue: None,
            fields: json!({"delivery": id, "event": event, "action": action}),
        },
    )?;
    tx.commit()?;
    Ok(Received::Queued(event_id))
}
