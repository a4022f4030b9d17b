//! The webhook consumer: events of a project go, as jobs, to each of its
//! active webhooks that wants their type; a worker posts each job signed
//! both ways (Standard Webhooks and Pagure), logs the attempt, and ends
//! the job on a 2xx, disables the webhook on a `410 Gone`, and otherwise
//! retries on the schedule. The URL is checked again at each attempt (a
//! name may have come to resolve to an internal address).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use forge_core::event::Event;
use forge_core::Store;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};

use crate::deliver::{self, Attempt};
use crate::queue::{self, Job, Routes, Schedule};
use crate::sign;
use crate::ssrf;
use crate::webhook::{Result, Webhooks};

/// The consumer's name in the queue.
pub const CONSUMER: &str = "webhooks";
/// Attempts kept in each webhook's delivery log.
pub const LOG_KEEP: i64 = 200;

/// How deliveries are made.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Targets may be loopback or private addresses.
    pub allow_private: bool,
    /// The limit of one attempt.
    pub timeout: Duration,
    /// When attempts are retried.
    pub schedule: Schedule,
    /// The instance's URL (`X-Pagure`, `pagure_instance`).
    pub instance: String,
    /// How long a claimed job is a worker's.
    pub lease: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow_private: false,
            timeout: deliver::TIMEOUT,
            schedule: Schedule::standard(),
            instance: "http://localhost".into(),
            lease: Duration::from_secs(60),
        }
    }
}

/// Where an event goes: one job per webhook of its project that wants it.
pub fn route(hooks: &Webhooks<'_>, e: &Event) -> Result<Routes> {
    let wanting = hooks.wanting(&e.project, &e.kind, e.id)?;
    Ok(wanting
        .into_iter()
        .map(|w| (format!("webhook:{}", w.id), json!({"webhook": w.id})))
        .collect())
}

/// One attempt as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedAttempt {
    /// Row id (what `redeliver` takes).
    pub id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// The event delivered.
    pub event_id: i64,
    /// `webhook-id`, the same for every attempt of one delivery.
    pub message_id: String,
    /// Which attempt.
    pub attempt: i64,
    /// The headers sent.
    pub request_headers: Value,
    /// The body sent.
    pub request_body: String,
    /// The answer's status.
    pub status: Option<u16>,
    /// The answer's first bytes.
    pub response: String,
    /// Why it failed without an answer.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// When (epoch ms).
    pub created_at: i64,
}

/// What one attempt sends.
struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// The request for `event` to webhook `hook_id`: headers and body.
fn request(e: &Event, hook_id: i64, secret: &sign::Secret, instance: &str, now: i64) -> Request {
    let message_id = format!("msg_{}_{hook_id}", e.id);
    let mut msg = match &e.fields {
        Value::Object(m) => m.clone(),
        other => {
            let mut m = serde_json::Map::new();
            m.insert("fields".into(), other.clone());
            m
        }
    };
    msg.insert("agent".into(), json!(e.actor));
    if let Some(n) = e.issue {
        msg.insert("id".into(), json!(n));
    }
    let created = forge_core::time::parse_rfc3339(&e.created_at).unwrap_or(now / 1000);
    let body = sign::pagure_body(
        &e.kind,
        &Value::Object(msg),
        &e.project,
        instance,
        created,
        &message_id,
    );
    let timestamp = now / 1000;
    let (sha1, sha256) = secret.pagure_signatures(&body);
    let headers = vec![
        ("content-type".into(), "application/json".into()),
        ("webhook-id".into(), message_id.clone()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        (
            "webhook-signature".into(),
            secret.standard_signature(&message_id, timestamp, &body),
        ),
        ("x-pagure".into(), instance.to_string()),
        ("x-pagure-project".into(), e.project.clone()),
        ("x-pagure-topic".into(), e.kind.clone()),
        ("x-pagure-signature".into(), sha1),
        ("x-pagure-signature-256".into(), sha256),
    ];
    Request { headers, body }
}

fn log_attempt(
    store: &Store,
    hook_id: i64,
    e: &Event,
    attempt_no: u32,
    sent: &Request,
    attempt: &Attempt,
    now: i64,
) -> Result<()> {
    let headers: serde_json::Map<String, Value> = sent
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let conn = store.conn();
    conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, message_id, attempt, request_headers, request_body,
         status, response, error, duration_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            hook_id,
            e.id,
            format!("msg_{}_{hook_id}", e.id),
            attempt_no,
            Value::Object(headers).to_string(),
            String::from_utf8_lossy(&sent.body),
            attempt.status,
            attempt.response,
            attempt.error,
            attempt.duration.as_millis() as i64,
            now
        ],
    )?;
    conn.execute(
        "DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND id <= (
             SELECT id FROM webhook_deliveries WHERE webhook_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        params![hook_id, LOG_KEEP],
    )?;
    Ok(())
}

/// Makes one attempt at `event` for webhook `hook_id`, logs it, and
/// returns it (`None`: the webhook is gone or disabled).
pub fn attempt(
    store: &Store,
    hooks: &Webhooks<'_>,
    hook_id: i64,
    e: &Event,
    attempt_no: u32,
    settings: &Settings,
) -> Result<Option<Attempt>> {
    let Some((hook, secret)) = hooks.find(hook_id)? else {
        return Ok(None);
    };
    if !hook.active {
        return Ok(None);
    }
    let now = queue::now_ms();
    let sent = request(e, hook_id, &secret, &settings.instance, now);
    let attempt = match ssrf::check(&hook.url, settings.allow_private, &ssrf::system_resolve) {
        Ok(target) => deliver::post(&target, &sent.headers, &sent.body, settings.timeout),
        Err(refused) => Attempt {
            status: None,
            response: String::new(),
            error: Some(refused.to_string()),
            duration: Duration::ZERO,
            headers: Vec::new(),
        },
    };
    log_attempt(store, hook_id, e, attempt_no, &sent, &attempt, now)?;
    if attempt.status == Some(410) {
        hooks.disable(
            hook_id,
            &format!("the target answered 410 Gone (event {})", e.id),
        )?;
    }
    Ok(Some(attempt))
}

/// One round of the worker: new events into jobs, then the ready jobs of
/// up to `batch` targets delivered, each target's in order. Once `stop` is
/// set, the jobs not yet attempted are given back. Returns how many jobs it
/// attempted.
pub fn run_once(
    store: &Store,
    hooks: &Webhooks<'_>,
    owner: &str,
    settings: &Settings,
    batch: usize,
    stop: &AtomicBool,
) -> Result<usize> {
    let active: bool = store.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE active)",
        [],
        |r| r.get(0),
    )?;
    queue::round(
        store,
        CONSUMER,
        active,
        owner,
        batch,
        settings.lease,
        stop,
        &mut |e| route(hooks, e),
        &mut |job| handle(store, hooks, owner, settings, job),
    )
}

/// Attempts one job; whether it is finished (delivered, or nothing left
/// to deliver to).
fn handle(
    store: &Store,
    hooks: &Webhooks<'_>,
    owner: &str,
    settings: &Settings,
    job: &Job,
) -> Result<bool> {
    let hook_id = job.payload["webhook"].as_i64().unwrap_or_default();
    let outcome = match queue::event_by_id(store, job.event_id)? {
        Some(e) => attempt(store, hooks, hook_id, &e, job.attempts, settings)?,
        None => None,
    };
    let now = queue::now_ms();
    match outcome {
        // Delivered, or nothing left to deliver to, or disabled by a 410.
        None => {
            queue::complete(store, job, owner, now)?;
            Ok(true)
        }
        Some(a) if a.delivered() || a.status == Some(410) => {
            queue::complete(store, job, owner, now)?;
            Ok(true)
        }
        Some(a) => {
            let why = match (a.status, &a.error) {
                (Some(s), _) => format!("HTTP {s}"),
                (None, Some(e)) => e.clone(),
                (None, None) => "no answer".into(),
            };
            queue::fail(store, job, owner, &why, &settings.schedule, now)?;
            Ok(false)
        }
    }
}

/// A webhook's delivery log, newest first.
pub fn deliveries(
    store: &Store,
    hook_id: Option<i64>,
    project_id: i64,
    limit: usize,
) -> Result<Vec<LoggedAttempt>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT d.id, d.webhook_id, d.event_id, d.message_id, d.attempt, d.request_headers, d.request_body,
                d.status, d.response, d.error, d.duration_ms, d.created_at
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE w.project_id = ?1 AND (?2 IS NULL OR d.webhook_id = ?2) ORDER BY d.id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![project_id, hook_id, limit as i64], |r| {
        let headers: String = r.get(5)?;
        Ok(LoggedAttempt {
            id: r.get(0)?,
            webhook_id: r.get(1)?,
            event_id: r.get(2)?,
            message_id: r.get(3)?,
            attempt: r.get(4)?,
            request_headers: serde_json::from_str(&headers).unwrap_or(Value::Null),
            request_body: r.get(6)?,
            status: r.get(7)?,
            response: r.get(8)?,
            error: r.get(9)?,
            duration_ms: r.get(10)?,
            created_at: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The webhook, event and attempt number of logged attempt `delivery` of
/// one of `project_id`'s webhooks.
fn logged(store: &Store, project_id: i64, delivery: i64) -> Result<(i64, i64, u32)> {
    Ok(store
        .conn()
        .query_row(
            "SELECT d.webhook_id, d.event_id, d.attempt FROM webhook_deliveries d
             JOIN webhooks w ON w.id = d.webhook_id WHERE w.project_id = ?1 AND d.id = ?2",
            params![project_id, delivery],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| forge_core::Error::not_found("delivery", delivery.to_string()))?)
}

/// Sends the event of a logged attempt again, now (its `webhook-id` kept),
/// and returns the answer: what `forge webhook redeliver` does in front of
/// the person who asked.
pub fn redeliver(
    store: &Store,
    hooks: &Webhooks<'_>,
    project_id: i64,
    delivery: i64,
    settings: &Settings,
) -> Result<Option<Attempt>> {
    let (hook_id, event_id, attempt_no) = logged(store, project_id, delivery)?;
    let e = queue::event_by_id(store, event_id)?
        .ok_or_else(|| forge_core::Error::not_found("event", event_id.to_string()))?;
    attempt(store, hooks, hook_id, &e, attempt_no + 1, settings)
}

/// Queues the event of a logged attempt for its webhook again: the worker
/// sends it at its next round (its `webhook-id` kept). What the API and the
/// pages do, so that no request waits for a delivery. Returns the webhook,
/// and whether it was queued (not when a worker is sending it right now).
pub fn queue_again(store: &Store, project_id: i64, delivery: i64) -> Result<(i64, bool)> {
    let (hook_id, event_id, _) = logged(store, project_id, delivery)?;
    let queued = queue::requeue(
        store,
        CONSUMER,
        &format!("webhook:{hook_id}"),
        event_id,
        &json!({"webhook": hook_id}),
        queue::now_ms(),
    )?;
    Ok((hook_id, queued))
}
