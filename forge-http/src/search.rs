//! `GET /api/0/search?q=...` and `<repo>/search`: the search of issues,
//! pull requests and comments (`forge_tickets::search`) as the API answers
//! it.

use serde_json::json;

use crate::app::{ok, Answer};
use crate::error::ApiError;
use crate::extract::Ctx;

/// `GET /api/0/search?q=...` (and `<repo>/search`, which searches that
/// project): issues, pull requests and comments found by words and
/// qualifiers, in what the viewer may read; `per_page` (at most 100) and
/// `page`. A query that does not read is a 400 naming the part at fault.
pub(crate) fn answer(ctx: &Ctx<'_>, project: Option<&str>) -> Answer {
    use forge_tickets::search::{query, run};
    let text = ctx.query.get("q").unwrap_or_default();
    let q = query::parse(text).map_err(|e| ApiError {
        errors: Some(json!({"q": e.message, "at": e.at})),
        ..ApiError::new(400, "EINVALIDREQ", format!("the query does not read: {e}"))
    })?;
    let per_page = ctx.query.positive("per_page", 20)?.min(100) as usize;
    let page = ctx.query.positive("page", 1)? as usize;
    let viewer = ctx.viewer_name()?;
    let mut names = q.projects.clone();
    if let Some(p) = project {
        names = vec![p.to_string()];
    }
    let searched = searched(ctx, viewer.as_deref(), &names)?;
    let offset = (page - 1).saturating_mul(per_page);
    let hits = run::run(
        ctx.store,
        viewer.as_deref(),
        &searched,
        &q,
        per_page,
        offset,
    )?;
    let results: Vec<serde_json::Value> = hits
        .iter()
        .map(|h| {
            let mut v = serde_json::to_value(h).unwrap_or_default();
            v["snippet"] = json!(h.snippet.replace([run::MARK_START, run::MARK_END], "**"));
            v
        })
        .collect();
    ok(&json!({"query": text, "page": page, "per_page": per_page, "results": results}))
}

/// The projects `viewer` may search among `names` (all when empty), each
/// synced through the repositories this thread keeps open.
pub(crate) fn searched(
    ctx: &Ctx<'_>,
    viewer: Option<&str>,
    names: &[String],
) -> Result<Vec<forge_tickets::search::run::Searched>, ApiError> {
    Ok(forge_tickets::search::run::projects_with(
        ctx.store,
        viewer,
        names,
        &mut |project| {
            crate::issues::project_tracker(ctx, project)?.sync()?;
            if project.settings.pull_requests {
                if let Ok(prs) =
                    forge_tickets::PullRequests::open(ctx.store, &ctx.app.home, project)
                {
                    prs.sync()?;
                }
            }
            Ok(())
        },
    )?)
}
