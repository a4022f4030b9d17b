//! The durable event log.
//!
//! Every change others must hear about appends one row here, in the same
//! transaction that applies it to the index. Deliveries (webhooks, email,
//! live events) read the log by id, so a crash between the write and the
//! delivery loses nothing.

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::{time, Result};

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent<'a> {
    /// Event type, such as `issue.new` or `issue.comment.added`.
    pub kind: &'a str,
    /// The project's full name.
    pub project: &'a str,
    /// Username of who made the change.
    pub actor: &'a str,
    /// The issue or pull request number, if any.
    pub issue: Option<u64>,
    /// What changed (a JSON object).
    pub fields: serde_json::Value,
}

/// An event read back from the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Increasing id; deliveries remember the last one they handled.
    pub id: i64,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The project's full name.
    pub project: String,
    /// Who made the change.
    pub actor: String,
    /// The issue or pull request number, if any.
    pub issue: Option<u64>,
    /// What changed.
    pub fields: serde_json::Value,
    /// When the change was applied (RFC 3339 UTC).
    pub created_at: String,
}

/// Appends an event. Call it inside the transaction that applies the change.
pub fn append(conn: &Connection, event: &NewEvent<'_>) -> Result<i64> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (kind, project, actor, issue, fields, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    stmt.execute(params![
        event.kind,
        event.project,
        event.actor,
        event.issue.map(|n| n as i64),
        event.fields.to_string(),
        time::now_rfc3339(),
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The newest event's id (0 for an empty log).
pub fn last_id(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM events")?
        .query_row([], |r| r.get(0))?)
}

/// Events after `since` (an event id), oldest first, optionally of one project.
pub fn list(
    conn: &Connection,
    project: Option<&str>,
    since: i64,
    limit: usize,
) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, project, actor, issue, fields, created_at FROM events
         WHERE id > ?1 AND (?2 IS NULL OR project = ?2) ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![since, project, limit as i64], |r| {
        let fields: String = r.get(5)?;
        Ok(Event {
            id: r.get(0)?,
            kind: r.get(1)?,
            project: r.get(2)?,
            actor: r.get(3)?,
            issue: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
            fields: serde_json::from_str(&fields).unwrap_or(serde_json::Value::Null),
            created_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
