//! `forge events`: read the durable event log.

use anyhow::Result;

use crate::context::Ctx;
use crate::output;

pub fn run(project: Option<&str>, since: i64, limit: usize, ctx: &Ctx) -> Result<()> {
    let events = if ctx.home().is_err() {
        // An offline clone: its index holds its issues and their events.
        ctx.with_tracker(project, |tracker, _| Ok(tracker.events(since, limit)?))?
    } else {
        let store = ctx.home_store()?;
        let project = project.map(|p| store.project(p)).transpose()?;
        // Every index of the project (or of every project) is synced first,
        // so a plain push is in the log before it is read.
        let (events, warnings) =
            forge_tickets::log::events(&store, ctx.home()?, project.as_ref(), since, limit)?;
        for w in warnings {
            eprintln!("forge: warning: {w}");
        }
        events
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
