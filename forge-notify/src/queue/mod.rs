//! The durable delivery queue over the event log.
//!
//! A consumer (webhooks, mail, ...) has a cursor: the last event it has
//! turned into jobs. [`fan_out`] reads the events after it, asks the
//! consumer's router which targets each one goes to, inserts one job per
//! (event, target), and moves the cursor — in one transaction, so a crash
//! redoes the batch and the `UNIQUE (consumer, target, event_id)` key keeps
//! it from doubling anything.
//!
//! [`claim`] leases ready jobs to a worker: a job is ready when its time has
//! come and no earlier job of the same target is still waiting or running
//! (order is kept per target, not across targets). A worker that dies
//! leaves its jobs `running` with a lease that ends; they are then claimed
//! again (at-least-once). [`complete`] ends a job, [`fail`] schedules the
//! next attempt after the [`Schedule`]'s delay (with jitter) or, past the
//! last one, leaves it `dead` for a person to [`retry`] or [`purge_dead`].
//!
//! The SQL is written for the move to PostgreSQL: the claim is one
//! `UPDATE ... WHERE id IN (SELECT ... LIMIT n)`, whose inner select becomes
//! `SELECT ... FOR UPDATE SKIP LOCKED` there.

use std::time::Duration;

use forge_core::event::{self, Event};
use forge_core::{Result, Store};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

mod work;

pub use work::{round, work, work_parallel, Stores};

/// A transaction that reads and then writes: it takes the write lock at
/// its start (waiting for it as long as the store's busy timeout), so that
/// another writer's commit between its read and its write cannot fail it
/// (SQLite's `SQLITE_BUSY_SNAPSHOT`). `SELECT ... FOR UPDATE` is
/// PostgreSQL's way to the same end.
fn write_tx(store: &Store) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    rusqlite::Transaction::new_unchecked(store.conn(), rusqlite::TransactionBehavior::Immediate)
}

/// The event with id `id`, if the log has it.
pub fn event_by_id(store: &Store, id: i64) -> Result<Option<Event>> {
    Ok(event::list(store.conn(), None, id - 1, 1)?
        .into_iter()
        .find(|e| e.id == id))
}

/// The current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Delays before each attempt after the first (which is immediate); past
/// the last one a job is dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

impl Schedule {
    /// Standard Webhooks' schedule: immediately, then 5 s, 5 min, 30 min,
    /// 2 h, 5 h, 10 h and 10 h (eight attempts in all).
    pub fn standard() -> Schedule {
        let s = |secs| Duration::from_secs(secs);
        Schedule(vec![
            s(5),
            s(5 * 60),
            s(30 * 60),
            s(2 * 3600),
            s(5 * 3600),
            s(10 * 3600),
            s(10 * 3600),
        ])
    }

    /// How many attempts a job gets.
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }

    /// The delay before attempt `next` (2 for the first retry), with up to
    /// a tenth more as jitter (so that retries of many jobs spread out);
    /// `None` past the last attempt.
    pub fn delay_before(&self, next: u32) -> Option<Duration> {
        let base = *self.0.get(next.checked_sub(2)? as usize)?;
        let jitter = base.as_millis() as u64 / 10;
        let extra = if jitter == 0 {
            0
        } else {
            rand::random_range(0..=jitter)
        };
        Some(base + Duration::from_millis(extra))
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for its time (or for earlier jobs of its target).
    Pending,
    /// Leased to a worker.
    Running,
    /// Delivered.
    Done,
    /// Failed its last attempt.
    Dead,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Done => "done",
            State::Dead => "dead",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "running" => State::Running,
            "done" => State::Done,
            "dead" => State::Dead,
            _ => State::Pending,
        }
    }
}

/// One job: an event for one target of one consumer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// The consumer it belongs to.
    pub consumer: String,
    /// The target (a webhook's id, a mailbox): order is kept per target.
    pub target: String,
    /// The event it delivers.
    pub event_id: i64,
    /// What the router attached (JSON).
    pub payload: serde_json::Value,
    /// Its state.
    pub state: State,
    /// Attempts made (a claim counts as one).
    pub attempts: u32,
    /// When it may run (epoch ms).
    pub run_at: i64,
    /// The last attempt's error.
    pub last_error: Option<String>,
}

const JOB_COLUMNS: &str =
    "id, consumer, target, event_id, payload, state, attempts, run_at, last_error";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let payload: String = r.get(4)?;
    let state: String = r.get(5)?;
    Ok(Job {
        id: r.get(0)?,
        consumer: r.get(1)?,
        target: r.get(2)?,
        event_id: r.get(3)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        state: State::parse(&state),
        attempts: r.get(6)?,
        run_at: r.get(7)?,
        last_error: r.get(8)?,
    })
}

/// A consumer's cursor (0 before its first batch).
pub fn cursor(store: &Store, consumer: &str) -> Result<i64> {
    Ok(store
        .conn()
        .prepare_cached("SELECT cursor FROM consumers WHERE name = ?1")?
        .query_row([consumer], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Starts a consumer at the end of the log, so that it delivers only what
/// happens from now on (a new webhook does not receive the past); does
/// nothing to a consumer that exists.
pub fn start_at_end(store: &Store, consumer: &str, now: i64) -> Result<()> {
    store.conn().execute(
        "INSERT INTO consumers (name, cursor, updated_at)
         VALUES (?1, (SELECT coalesce(max(id), 0) FROM events), ?2)
         ON CONFLICT (name) DO NOTHING",
        params![consumer, now],
    )?;
    Ok(())
}

/// Moves a consumer's cursor to the end of the log without making jobs
/// (a consumer with no target yet: what happened before a target existed
/// is not sent to it later). Writes only when the cursor is behind.
pub fn skip_to_end(store: &Store, consumer: &str, now: i64) -> Result<()> {
    store.conn().execute(
        "INSERT INTO consumers (name, cursor, updated_at)
         VALUES (?1, (SELECT coalesce(max(id), 0) FROM events), ?2)
         ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
         WHERE consumers.cursor < excluded.cursor",
        params![consumer, now],
    )?;
    Ok(())
}

/// Where one event goes: a `(target, payload)` pair per job to make.
pub type Routes = Vec<(String, serde_json::Value)>;

/// Turns up to `batch` events after the consumer's cursor into jobs: for
/// each event, one job per `(target, payload)` that `route` gives (none:
/// the event is not for this consumer). Returns how many events it read.
///
/// The routes are worked out before the write lock is taken (routing reads
/// items, members and preferences: milliseconds for a batch, which every
/// other writer, an API request among them, would otherwise wait for); the
/// transaction that writes the jobs checks that the cursor has not moved
/// meanwhile, so two workers never both fan out the same events.
pub fn fan_out<E: From<forge_core::Error>>(
    store: &Store,
    consumer: &str,
    batch: usize,
    now: i64,
    route: &mut dyn FnMut(&Event) -> std::result::Result<Routes, E>,
) -> std::result::Result<usize, E> {
    let db = |e: rusqlite::Error| E::from(forge_core::Error::from(e));
    let since = cursor(store, consumer)?;
    let events = event::list(store.conn(), None, since, batch)?;
    let Some(last) = events.last().map(|e| e.id) else {
        return Ok(0);
    };
    let mut routes = Vec::with_capacity(events.len());
    for e in &events {
        routes.push((e.id, route(e)?));
    }
    let tx = write_tx(store).map_err(db)?;
    if cursor(store, consumer)? != since {
        // Another worker fanned these events out first.
        return Ok(0);
    }
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO jobs (consumer, target, event_id, payload, state, run_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)
                 ON CONFLICT (consumer, target, event_id) DO NOTHING",
            )
            .map_err(db)?;
        for (event_id, jobs) in routes {
            for (target, payload) in jobs {
                insert
                    .execute(params![
                        consumer,
                        target,
                        event_id,
                        payload.to_string(),
                        now
                    ])
                    .map_err(db)?;
            }
        }
    }
    tx.execute(
        "INSERT INTO consumers (name, cursor, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET cursor = ?2, updated_at = ?3",
        params![consumer, last, now],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(events.len())
}

/// Leases up to `n` ready jobs of `consumer` to `owner` until `now + lease`:
/// pending jobs whose time has come and running jobs whose lease ended,
/// each the first unfinished job of its target. Oldest first.
pub fn claim(
    store: &Store,
    consumer: &str,
    owner: &str,
    n: usize,
    lease: Duration,
    now: i64,
) -> Result<Vec<Job>> {
    let until = now + lease.as_millis() as i64;
    // The candidates — the first unfinished job of each target, if it is
    // ready — are looked for without the write lock, in one pass over the
    // unfinished jobs (the `jobs_unfinished` index): asking of every
    // waiting job whether an earlier one of its target waits took 10 ms
    // with 20,000 waiting for two people, which every other writer, an API
    // request among them, waited for. The update takes them only if they
    // are still ready and still first of their target.
    let candidates: Vec<i64> = store
        .conn()
        .prepare_cached(
            "SELECT j.id FROM (
                 SELECT MIN(id) AS id FROM jobs INDEXED BY jobs_unfinished
                 WHERE consumer = ?1 AND state IN ('pending', 'running')
                 GROUP BY target) h
             JOIN jobs j ON j.id = h.id
             WHERE (j.state = 'pending' AND j.run_at <= ?2) OR (j.state = 'running' AND j.lease_until < ?2)
             ORDER BY j.id LIMIT ?3",
        )?
        .query_map(params![consumer, now, n as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "UPDATE jobs SET state = 'running', lease_owner = ?2, lease_until = ?3, attempts = attempts + 1
         WHERE id IN (SELECT value FROM json_each(?5))
           AND consumer = ?1
           AND ((state = 'pending' AND run_at <= ?4) OR (state = 'running' AND lease_until < ?4))
           AND NOT EXISTS (
               SELECT 1 FROM jobs e
               WHERE e.consumer = jobs.consumer AND e.target = jobs.target
                 AND e.state IN ('pending', 'running') AND e.id < jobs.id)
         RETURNING {JOB_COLUMNS}"
    );
    let ids = serde_json::to_string(&candidates)
        .map_err(|e| forge_core::Error::invalid("job ids", e.to_string()))?;
    let tx = write_tx(store)?;
    let mut jobs = {
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![consumer, owner, until, now, ids], job_from_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    tx.commit()?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Leases to `owner`, behind each job of `heads` (which it holds), up to
/// `per_target - 1` more ready jobs of the same target, in order: a
/// target's run is then delivered one after the other without a claim
/// each. Nobody else can take them while the head is held (a job waits for
/// every earlier unfinished job of its target). Returns heads and followers
/// together, grouped by target, each group in order.
pub fn claim_runs(
    store: &Store,
    heads: Vec<Job>,
    owner: &str,
    per_target: usize,
    lease: Duration,
    now: i64,
) -> Result<Vec<Job>> {
    if per_target <= 1 {
        return Ok(heads);
    }
    let until = now + lease.as_millis() as i64;
    let tx = write_tx(store)?;
    let mut all = Vec::with_capacity(heads.len());
    {
        // The unfinished jobs after the head, in order: the run is the
        // ready ones up to the first that is not (a job waiting for its
        // retry, or held by a live worker).
        let mut next = tx.prepare_cached(
            "SELECT id, (state = 'pending' AND run_at <= ?4) OR (state = 'running' AND lease_until < ?4)
             FROM jobs WHERE consumer = ?1 AND target = ?2 AND state IN ('pending', 'running') AND id > ?3
             ORDER BY id LIMIT ?5",
        )?;
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = ?2, lease_until = ?3, attempts = attempts + 1
             WHERE id = ?1 RETURNING {JOB_COLUMNS}"
        );
        let mut take = tx.prepare_cached(&sql)?;
        for head in heads {
            let ids = next
                .query_map(
                    params![
                        head.consumer,
                        head.target,
                        head.id,
                        now,
                        per_target as i64 - 1
                    ],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            all.push(head);
            for (id, ready) in ids {
                if !ready {
                    break;
                }
                all.push(take.query_row(params![id, owner, until], job_from_row)?);
            }
        }
    }
    tx.commit()?;
    Ok(all)
}

/// Gives back jobs `owner` claimed but did not attempt (a worker that
/// stops, or the rest of a target's run behind a failure): pending again,
/// their claim not counted as an attempt.
pub fn release(store: &Store, jobs: &[Job], owner: &str) -> Result<usize> {
    let tx = write_tx(store)?;
    let mut released = 0;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE jobs SET state = 'pending', attempts = max(attempts - 1, 0), lease_owner = NULL, lease_until = NULL
             WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
        )?;
        for job in jobs {
            released += stmt.execute(params![job.id, owner])?;
        }
    }
    tx.commit()?;
    Ok(released)
}

/// Ends a delivered job (if `owner` still holds it: a job whose lease
/// ended and that another worker took is theirs to finish).
pub fn complete(store: &Store, job: &Job, owner: &str, now: i64) -> Result<bool> {
    let changed = store.conn().execute(
        "UPDATE jobs SET state = 'done', finished_at = ?3, lease_owner = NULL, lease_until = NULL, last_error = NULL
         WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
        params![job.id, owner, now],
    )?;
    Ok(changed == 1)
}

/// Records a failed attempt: the job waits for its next attempt under
/// `schedule`, or is dead after the last one. Returns its new state.
pub fn fail(
    store: &Store,
    job: &Job,
    owner: &str,
    error: &str,
    schedule: &Schedule,
    now: i64,
) -> Result<State> {
    let (state, run_at) = match schedule.delay_before(job.attempts + 1) {
        Some(delay) => (State::Pending, now + delay.as_millis() as i64),
        None => (State::Dead, now),
    };
    let error: String = error.chars().take(2000).collect();
    store.conn().execute(
        "UPDATE jobs SET state = ?3, run_at = ?4, last_error = ?5, lease_owner = NULL, lease_until = NULL,
         finished_at = CASE WHEN ?3 = 'dead' THEN ?4 ELSE NULL END
         WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
        params![job.id, owner, state.as_str(), run_at, error],
    )?;
    Ok(state)
}

/// Queues `event` for `target` again, to be sent at the next round with
/// fresh attempts: its job made pending again (unless a worker holds it
/// now), or made anew when it was pruned. Returns whether it was queued.
pub fn requeue(
    store: &Store,
    consumer: &str,
    target: &str,
    event_id: i64,
    payload: &serde_json::Value,
    now: i64,
) -> Result<bool> {
    let changed = store.conn().execute(
        "INSERT INTO jobs (consumer, target, event_id, payload, state, run_at, created_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)
         ON CONFLICT (consumer, target, event_id) DO UPDATE SET
             state = 'pending', attempts = 0, run_at = ?5, finished_at = NULL, last_error = NULL
         WHERE jobs.state != 'running'",
        params![consumer, target, event_id, payload.to_string(), now],
    )?;
    Ok(changed == 1)
}

/// Makes a dead job (or, with `None`, every dead job of `consumer`)
/// pending again, with fresh attempts. Returns how many.
pub fn retry(store: &Store, consumer: Option<&str>, id: Option<i64>, now: i64) -> Result<usize> {
    Ok(store.conn().execute(
        "UPDATE jobs SET state = 'pending', attempts = 0, run_at = ?3, finished_at = NULL
         WHERE state = 'dead' AND (?1 IS NULL OR consumer = ?1) AND (?2 IS NULL OR id = ?2)",
        params![consumer, id, now],
    )?)
}

/// Deletes dead jobs (of `consumer`, or all). Returns how many.
pub fn purge_dead(store: &Store, consumer: Option<&str>) -> Result<usize> {
    Ok(store.conn().execute(
        "DELETE FROM jobs WHERE state = 'dead' AND (?1 IS NULL OR consumer = ?1)",
        params![consumer],
    )?)
}

/// How long delivered jobs stay in the queue (`forge queue list --state
/// done` shows them) before [`prune_done`] removes them.
pub const KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Deletes delivered jobs finished before `before` (epoch ms).
pub fn prune_done(store: &Store, before: i64) -> Result<usize> {
    Ok(store.conn().execute(
        "DELETE FROM jobs WHERE state = 'done' AND finished_at < ?1",
        [before],
    )?)
}

/// Jobs in a state (or all), newest first, at most `limit`.
pub fn list(store: &Store, state: Option<State>, limit: usize) -> Result<Vec<Job>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2"
    );
    let mut stmt = store.conn().prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![state.map(State::as_str), limit as i64],
        job_from_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How far a consumer is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerStatus {
    /// Its name.
    pub consumer: String,
    /// The last event it turned into jobs.
    pub cursor: i64,
    /// Events after the cursor.
    pub lag_events: i64,
    /// Age of the oldest event after the cursor, in seconds (0 when none).
    pub lag_seconds: i64,
    /// Jobs waiting for their first attempt.
    pub pending: i64,
    /// Jobs waiting for a retry.
    pub retrying: i64,
    /// Jobs leased to a worker.
    pub running: i64,
    /// Jobs that failed their last attempt.
    pub dead: i64,
}

/// Every consumer's status.
pub fn status(store: &Store, now: i64) -> Result<Vec<ConsumerStatus>> {
    let conn = store.conn();
    let last = event::last_id(conn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT c.name, c.cursor,
            (SELECT count(*) FROM jobs j WHERE j.consumer = c.name AND j.state = 'pending' AND j.attempts = 0),
            (SELECT count(*) FROM jobs j WHERE j.consumer = c.name AND j.state = 'pending' AND j.attempts > 0),
            (SELECT count(*) FROM jobs j WHERE j.consumer = c.name AND j.state = 'running'),
            (SELECT count(*) FROM jobs j WHERE j.consumer = c.name AND j.state = 'dead'),
            (SELECT e.created_at FROM events e WHERE e.id > c.cursor ORDER BY e.id LIMIT 1)
         FROM consumers c ORDER BY c.name",
    )?;
    let rows = stmt.query_map([], |r| {
        let cursor: i64 = r.get(1)?;
        let oldest: Option<String> = r.get(6)?;
        let lag_seconds = oldest
            .as_deref()
            .and_then(forge_core::time::parse_rfc3339)
            .map_or(0, |t| (now / 1000 - t).max(0));
        Ok(ConsumerStatus {
            consumer: r.get(0)?,
            cursor,
            lag_events: (last - cursor).max(0),
            lag_seconds,
            pending: r.get(2)?,
            retrying: r.get(3)?,
            running: r.get(4)?,
            dead: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
