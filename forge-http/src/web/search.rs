//! The search box's results for issues, pull requests and comments (the
//! same search as `forge search` and `GET /api/0/search`), under the
//! projects the home page lists for the same words.

use forge_tickets::search::{query, run};
use maud::{html, Markup};

use crate::error::ApiError;
use crate::extract::Ctx;

/// A snippet with its matches in `<mark>`, everything else escaped.
fn snippet(text: &str) -> Markup {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(run::MARK_START) {
        parts.push((false, &rest[..start]));
        let after = &rest[start + run::MARK_START.len_utf8()..];
        let end = after.find(run::MARK_END).unwrap_or(after.len());
        parts.push((true, &after[..end]));
        rest = after.get(end + run::MARK_END.len_utf8()..).unwrap_or("");
    }
    parts.push((false, rest));
    html! {
        @for (marked, part) in parts {
            @if marked { mark { (part) } } @else { (part) }
        }
    }
}

/// The issues and pull requests `text` finds for the viewer.
pub(crate) fn results(ctx: &Ctx<'_>, text: &str) -> Result<Markup, ApiError> {
    let q = match query::parse(text) {
        Ok(q) => q,
        Err(e) => {
            return Ok(html! {
                h2 { "Issues and pull requests" }
                p.muted role="status" { "The query does not read: " (e.to_string()) }
            })
        }
    };
    let viewer = ctx.viewer_name()?;
    let searched = crate::search::searched(ctx, viewer.as_deref(), &q.projects)?;
    let hits = run::run(ctx.store, viewer.as_deref(), &searched, &q, 50, 0)?;
    Ok(html! {
        h2 { "Issues and pull requests" }
        @if hits.is_empty() {
            p { "None found." }
        } @else {
            ul.list.search {
                @for h in &hits {
                    @let path = if h.kind == "pr" { "pull-request" } else { "issue" };
                    li {
                        span.tag { (h.status) }
                        " "
                        a href={ "/" (h.project) "/" (path) "/" (h.id) } { strong { (h.title) } }
                        " " span.muted { (h.project) " #" (h.id) " · " (if h.kind == "pr" { "pull request" } else { "issue" }) " by " (h.author) }
                        @if !h.snippet.is_empty() {
                            br;
                            span.snippet { (snippet(&h.snippet)) }
                        }
                    }
                }
            }
        }
        p.muted { "Qualifiers: is:open, is:pr, label:bug, author:NAME, created:>2026-01-01, in:title, sort:updated-desc, -word… (docs/search.md)" }
    })
}
