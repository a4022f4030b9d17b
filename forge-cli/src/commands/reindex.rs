//! `forge reindex`: rebuild the issue and pull-request indexes from git.

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
        // Pull requests exist only in a forge home (not in a tickets clone).
        let pulls = match (&project, ctx.home()) {
            (Some(name), Ok(_)) => Some(ctx.with_pulls(Some(name), |prs, _| Ok(prs.reindex()?))?),
            _ => None,
        };
        results.push((report.0, report.1, pulls));
    }
    // A forge home's search table is merged once, after every rebuild.
    if ctx.home().is_ok() {
        forge_tickets::search::optimize(&ctx.home_store()?)?;
    }
    if ctx.json {
        let out: Vec<_> = results
            .iter()
            .map(|(p, r, pulls)| {
                let mut problems = r.problems.clone();
                problems.extend(pulls.iter().flat_map(|q| q.problems.iter().cloned()));
                json!({"project": p, "issues": r.issues, "comments": r.comments,
                       "pull_requests": pulls.as_ref().map(|q| q.issues).unwrap_or(0),
                       "pull_request_comments": pulls.as_ref().map(|q| q.comments).unwrap_or(0),
                       "problems": problems})
            })
            .collect();
        output::json(&out)?;
    } else {
        for (p, r, pulls) in results {
            match &pulls {
                Some(q) => say!(
                    "reindexed {p}: {} issues, {} comments, {} pull requests, {} pull-request comments",
                    r.issues,
                    r.comments,
                    q.issues,
                    q.comments
                ),
                None => say!(
                    "reindexed {p}: {} issues, {} comments",
                    r.issues,
                    r.comments
                ),
            }
            for problem in pulls.iter().flat_map(|q| q.problems.iter()) {
                eprintln!("forge: warning: skipped malformed request document {problem}");
            }
        }
    }
    Ok(())
}
