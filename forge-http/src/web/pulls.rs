//! The pull-request pages: the list, and one request with its commits,
//! flags, discussion and changed files.

use forge_tickets::{PullFilter, PullRequests};
use maud::html;

use super::pages::{ok, page_number, pager, rendered, state_tabs, tabs, PER_PAGE};
use super::{Here, Page};
use crate::error::ApiError;
use crate::extract::Ctx;

/// Largest patch of one file a page shows.
const PATCH_LIMIT: usize = 256 << 10;

fn requests<'s>(ctx: &Ctx<'s>, here: &Here) -> Result<PullRequests<'s>, ApiError> {
    if !here.project.settings.pull_requests {
        return Err(ApiError::new(
            404,
            "EPULLREQUESTSDISABLED",
            "Pull-Request have been deactivated for this project",
        ));
    }
    Ok(PullRequests::open(ctx.store, &ctx.app.home, &here.project)?)
}

/// `/<repo>/pull-requests`: `status` open (default), closed, merged or all.
pub(crate) fn list(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    let prs = requests(ctx, here)?;
    let status = match ctx.query.get("status") {
        None | Some("open") => Some("open"),
        Some("closed") => Some("closed"),
        Some("merged") => Some("merged"),
        Some("all") => None,
        Some(_) => return Err(ApiError::field("status", "open, closed, merged or all")),
    };
    let page = page_number(ctx)?;
    let filter = PullFilter {
        status: status.map(String::from),
        author: None,
        assignee: None,
        limit: PER_PAGE + 1,
        offset: (page - 1) * PER_PAGE,
    };
    let mut listed = prs.list(&here.actor, &filter)?;
    let more = listed.len() > PER_PAGE;
    listed.truncate(PER_PAGE);
    let name = &here.project.full_name;
    ok(
        &format!("Pull requests · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Pull requests"))
            (state_tabs(
                &format!("/{name}/pull-requests"),
                status,
                &[("Open", "open"), ("Merged", "merged"), ("Closed", "closed"), ("All", "all")],
            ))
            @if listed.is_empty() {
                p { "No pull request here." }
            } @else {
                ul.list {
                    @for r in &listed {
                        li {
                            span class={ "state " (r.status) } { (r.status) } " "
                            a href={ "/" (name) "/pull-request/" (r.id) } { strong { (r.title) } }
                            " " span.muted { "#" (r.id) }
                            @for t in &r.tags { span.tag { (t) } }
                            br;
                            span.muted {
                                (r.source.repo) ":" (r.source.branch) " into " (r.target)
                                " · opened by " (r.author) " · updated " (r.updated_at)
                                @if r.comments > 0 { " · " (r.comments) " comments" }
                            }
                        }
                    }
                }
            }
            (pager(ctx, page, more))
        },
    )
}

/// `/<repo>/pull-request/<n>`.
pub(crate) fn show(ctx: &Ctx<'_>, here: &Here, n: u64) -> Result<Page, ApiError> {
    let prs = requests(ctx, here)?;
    let d = prs.show(&here.actor, n)?;
    // The files of a request whose commits the repository has.
    let files = prs.diff(&here.actor, n, PATCH_LIMIT).unwrap_or_default();
    let name = &here.project.full_name;
    ok(
        &format!("#{n} {} · {name}", d.title),
        html! {
            p.crumbs { a href={ "/" (name) } { (name) } " / " a href={ "/" (name) "/pull-requests" } { "pull requests" } }
            h1 { (d.title) " " span.muted { "#" (d.id) } }
            p {
                span class={ "state " (d.status) } { (d.status) } " "
                span.muted {
                    (d.author) " wants to merge " (d.commits.len()) " commit(s) from "
                    code { (d.source.repo) ":" (d.source.branch) } " into " code { (d.target) }
                }
            }
            dl.facts {
                @if let Some(a) = &d.assignee { dt { "Assignee" } dd { (a) } }
                @if let Some(m) = d.merge_status { dt { "Merge" } dd { (m) } }
                dt { "Score" } dd { (d.score) }
                @if !d.tags.is_empty() { dt { "Tags" } dd { @for t in &d.tags { span.tag { (t) } } } }
                @for f in &d.flags {
                    dt { "Flag " (f.name) }
                    dd {
                        span class={ "state " (if f.status == "success" { "open" } else { "closed" }) } { (f.status) }
                        @if let Some(p) = f.percent { " " (p) "%" }
                        " " (f.comment)
                        @if let Some(url) = &f.url {
                            @if url.starts_with("https://") || url.starts_with("http://") {
                                " " a href=(url) rel="nofollow noopener noreferrer" { "details" }
                            }
                        }
                    }
                }
                @if let Some(m) = &d.merge_commit { dt { "Merged as" } dd { code { (m) } } }
            }
            article.box {
                div.head { (d.author) " wrote" }
                div.body.markdown { (rendered(here, &d.body)) }
            }
            @if !d.commits.is_empty() {
                h2 { "Commits" }
                ul.list { @for c in &d.commits { li { code { (&c.id[..c.id.len().min(10)]) } " " (c.title) } } }
            }
            @for c in &d.comments {
                article class=(if c.notification { "box note" } else { "box" }) {
                    div.head {
                        (c.author) " at " (c.created_at)
                        @if let (Some(path), Some(line)) = (&c.path, c.line) {
                            " on " code { (path) ":" (line) }
                            @if c.outdated { " (outdated)" }
                        }
                    }
                    div.body.markdown { (rendered(here, &c.body)) }
                }
            }
            @if !files.is_empty() { (super::code::files_changed(&files)) }
        },
    )
}
