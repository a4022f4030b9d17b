//! `forge queue`: the delivery queues fed from the event log.

use anyhow::Result;
use forge_notify::queue::{self, State};
use serde_json::json;

use crate::cli::{JobStateArg, QueueCommand};
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: QueueCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let now = queue::now_ms();
    match cmd {
        QueueCommand::Status => {
            let all = queue::status(&store, now)?;
            if ctx.json {
                return output::json(&all);
            }
            if all.is_empty() {
                say!("no consumer has read the event log yet");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .into_iter()
                .map(|c| {
                    vec![
                        c.consumer,
                        c.cursor.to_string(),
                        c.lag_events.to_string(),
                        format!("{} s", c.lag_seconds),
                        c.pending.to_string(),
                        c.retrying.to_string(),
                        c.running.to_string(),
                        c.dead.to_string(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "CONSUMER", "CURSOR", "LAG", "LAG TIME", "PENDING", "RETRYING", "RUNNING",
                    "DEAD",
                ],
                &rows,
            );
        }
        QueueCommand::List { state, limit } => {
            let state = state.map(|s| match s {
                JobStateArg::Pending => State::Pending,
                JobStateArg::Running => State::Running,
                JobStateArg::Done => State::Done,
                JobStateArg::Dead => State::Dead,
            });
            let jobs = queue::list(&store, state, limit)?;
            if ctx.json {
                return output::json(&jobs);
            }
            let rows: Vec<Vec<String>> = jobs
                .into_iter()
                .map(|j| {
                    vec![
                        j.id.to_string(),
                        j.consumer,
                        j.target,
                        j.event_id.to_string(),
                        serde_json::to_value(j.state)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        j.attempts.to_string(),
                        output::clip(&j.last_error.unwrap_or_default(), 50),
                    ]
                })
                .collect();
            output::table(
                &[
                    "ID",
                    "CONSUMER",
                    "TARGET",
                    "EVENT",
                    "STATE",
                    "ATTEMPTS",
                    "LAST ERROR",
                ],
                &rows,
            );
        }
        QueueCommand::Retry { id, dead } => {
            let n = queue::retry(&store, None, if dead { None } else { id }, now)?;
            if !dead && n == 0 {
                return Err(forge_core::Error::invalid(
                    format!("job {}", id.unwrap_or_default()),
                    "no dead job has this id",
                )
                .into());
            }
            if ctx.json {
                return output::json(&json!({"retried": n}));
            }
            say!("{n} job(s) pending again");
        }
        QueueCommand::Purge { .. } => {
            let n = queue::purge_dead(&store, None)?;
            if ctx.json {
                return output::json(&json!({"purged": n}));
            }
            say!("{n} dead job(s) deleted");
        }
    }
    Ok(())
}
