//! `forge search`: issues, pull requests and comments found by words and
//! qualifiers, in the projects the acting user may read (anonymous
//! without `--as`: public projects and issues only).

use anyhow::Result;
use forge_tickets::search::{query, run};

use crate::context::Ctx;
use crate::output;

pub fn run(project: Option<String>, limit: usize, text: &str, ctx: &Ctx) -> Result<()> {
    let q = query::parse(text).map_err(|e| {
        let pointer = format!("{}^", " ".repeat(e.at.min(text.len())));
        anyhow::anyhow!("the query does not read: {e}\n  {text}\n  {pointer}")
    })?;
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    let mut names = q.projects.clone();
    if let Some(p) = project {
        names.push(p);
    }
    let searched = run::projects(&store, home, ctx.as_user(), &names)?;
    let hits = run::run(&store, ctx.as_user(), &searched, &q, limit, 0)?;
    if ctx.json {
        let shown: Vec<serde_json::Value> = hits
            .iter()
            .map(|h| {
                let mut v = serde_json::to_value(h).unwrap_or_default();
                v["snippet"] = serde_json::json!(marked(&h.snippet, "**", "**"));
                v
            })
            .collect();
        return output::json(&shown);
    }
    if hits.is_empty() {
        say!("nothing found");
        return Ok(());
    }
    for h in &hits {
        say!(
            "{}#{} [{}] {} ({}, {})",
            h.project,
            h.id,
            h.status,
            output::clean(&h.title),
            if h.kind == "pr" {
                "pull request"
            } else {
                "issue"
            },
            h.author
        );
        if !h.snippet.is_empty() {
            say!(
                "    {}",
                output::clean(&marked(&h.snippet, "[", "]").replace('\n', " "))
            );
        }
    }
    Ok(())
}

/// A snippet with its matches between `start` and `end`.
fn marked(snippet: &str, start: &str, end: &str) -> String {
    snippet
        .replace(run::MARK_START, start)
        .replace(run::MARK_END, end)
}
