//! `forge reindex`: rebuild the issue index from git.

use anyhow::Result;
use serde_json::json;

use crate::context::Ctx;
use crate::output;

pub fn run(project: Option<&str>, ctx: &Ctx) -> Result<()> {
    let projects: Vec<Option<String>> = match (project, ctx.home()) {
        (Some(p), _) => vec![Some(p.to_string())],
        (None, Ok(_)) => ctx
            .home_store()?
            .list_projects()?
            .into_iter()
            .map(|p| Some(p.full_name))
            .collect(),
        (None, Err(_)) => vec![None],
    };
    let mut results = Vec::new();
    for project in projects {
        let report = ctx.with_tracker(project.as_deref(), |tracker, _| {
            let bar = output::progress("reindexing");
            let report = tracker.reindex(&mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })?;
            bar.finish_and_clear();
            Ok((tracker.project().to_string(), report))
        })?;
        results.push(report);
    }
    if ctx.json {
        let out: Vec<_> = results
            .iter()
            .map(|(p, r)| json!({"project": p, "issues": r.issues, "comments": r.comments, "problems": r.problems}))
            .collect();
        output::json(&out)?;
    } else {
        for (p, r) in results {
            say!(
                "reindexed {p}: {} issues, {} comments",
                r.issues,
                r.comments
            );
        }
    }
    Ok(())
}
