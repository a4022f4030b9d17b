//! `forge events`: read the durable event log.

use anyhow::Result;

use crate::context::Ctx;
use crate::output;

pub fn run(project: Option<&str>, since: i64, limit: usize, ctx: &Ctx) -> Result<()> {
    let events = match (project, ctx.home()) {
        // Bring the project's index (and so the log) up to date with git first.
        (Some(_), _) | (None, Err(_)) => {
            ctx.with_tracker(project, |tracker, _| Ok(tracker.events(since, limit)?))?
        }
        (None, Ok(_)) => {
            let store = ctx.home_store()?;
            for p in store.list_projects()? {
                ctx.with_tracker(Some(&p.full_name), |tracker, _| {
                    Ok(tracker.sync().map(drop)?)
                })?;
            }
            forge_core::event::list(store.conn(), None, since, limit)?
        }
    };
    if ctx.json {
        return output::json(&events);
    }
    let rows: Vec<Vec<String>> = events
        .into_iter()
        .map(|e| {
            vec![
                e.id.to_string(),
                e.created_at,
                e.project,
                e.issue.map(|n| format!("#{n}")).unwrap_or_default(),
                e.kind,
                e.actor,
                output::clip(&e.fields.to_string(), 60),
            ]
        })
        .collect();
    output::table(
        &["ID", "TIME", "PROJECT", "ISSUE", "TYPE", "ACTOR", "FIELDS"],
        &rows,
    );
    Ok(())
}
