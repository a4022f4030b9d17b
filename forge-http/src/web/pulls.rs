//! The pull-request pages: the list; one request with its commits, flags,
//! votes, discussion, merge box and changed files with inline comments;
//! and the compare page that opens one.

use forge_core::role::Action;
use forge_tickets::{MergeCheck, PullDetails, PullFilter, PullRequests};
use maud::{html, Markup};

use super::pages::{ok, page_number, pager, preview_url, rendered, state_tabs, tabs, PER_PAGE};
use super::session::csrf_field;
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

/// `/<repo>/pull-request/<n>`: the conversation, the merge box, and the
/// files changed with their inline comments; the forms of what the viewer
/// may do.
pub(crate) fn show(ctx: &Ctx<'_>, here: &Here, n: u64) -> Result<Page, ApiError> {
    let prs = requests(ctx, here)?;
    let d = prs.show(&here.actor, n)?;
    // The files of a request whose commits the repository has.
    let files = prs.diff(&here.actor, n, PATCH_LIMIT).unwrap_or_default();
    let check = prs.merge_check(&here.actor, n)?;
    let name = &here.project.full_name;
    let at = format!("/{name}/pull-request/{n}");
    let me = &here.actor;
    let signed_in = ctx.session().is_some();
    let is_author = d.author == me.username;
    let may_comment = signed_in && me.may(Action::PullRequestComment, is_author);
    let render = |text: &str| rendered(ctx, here, text);
    let line_form = |path: &str| -> Markup {
        html! {
            details.line-form {
                summary { "Comment on a line of " code { (path) } }
                form.stack method="post" action={ (at) "/comment" } {
                    (csrf_field(ctx))
                    input type="hidden" name="filename" value=(path);
                    input type="hidden" name="commit" value=(d.head);
                    label { "Line (new side) " input type="number" name="row" min="1" required; }
                    label { "Comment " textarea data-preview=(preview_url(here)) name="comment" rows="3" required {} }
                    button type="submit" { "Comment on the line" }
                }
            }
        }
    };
    let general: Vec<_> = d.comments.iter().filter(|c| c.path.is_none()).collect();
    ok(
        &format!("#{n} {} · {name}", d.title),
        html! {
            p.crumbs { a href={ "/" (name) } { (name) } " / " a href={ "/" (name) "/pull-requests" } { "pull requests" } }
            h1 { (d.title) " " span.muted { "#" (d.id) } }
            p #state data-live-part {
                span class={ "state " (d.status) } { (d.status) } " "
                span.muted {
                    (d.author) " wants to merge " (d.commits.len()) " commit(s) from "
                    code { (d.source.repo) ":" (d.source.branch) } " into " code { (d.target) }
                }
            }
            div.columns data-live={ (at) "/events" } {
                div.conversation {
                    div #timeline data-live-part aria-live="polite" {
                        article.box {
                            div.head { (d.author) " wrote" }
                            div.body.markdown {
                                @if d.body.trim().is_empty() { p.muted { "No description." } }
                                @else { (rendered(ctx, here, &d.body)) }
                            }
                        }
                        @if !d.commits.is_empty() {
                            h2 { "Commits" }
                            ul.list { @for c in &d.commits { li { code { (&c.id[..c.id.len().min(10)]) } " " (c.title) } } }
                        }
                        @for c in &general {
                            article class=(if c.notification { "box note" } else { "box" }) {
                                div.head { (c.author) " at " (c.created_at) }
                                div.body.markdown { (rendered(ctx, here, &c.body)) }
                            }
                        }
                    }
                    @if may_comment {
                        form.stack.box.pad method="post" action={ (at) "/comment" } {
                            (csrf_field(ctx))
                            label for="comment" { "Add a comment" }
                            textarea data-preview=(preview_url(here)) id="comment" name="comment" rows="5" required {}
                            button type="submit" { "Comment" }
                        }
                    } @else if let Some(source) = &here.project.mirror {
                        p.muted { "Comments come from " code { (source) } " (a read-only mirror)." }
                    } @else if !signed_in {
                        p.muted { a href={ "/login?" (serde_urlencoded::to_string([("next", &at)]).unwrap_or_default()) } { "Sign in" } " to comment." }
                    }
                    @if signed_in && me.may(Action::PullRequestClose, is_author) && d.status != "merged" {
                        form.inline method="post" action={ (at) (if d.status == "open" { "/close" } else { "/reopen" }) } {
                            (csrf_field(ctx))
                            button.secondary type="submit" { (if d.status == "open" { "Close pull request" } else { "Reopen pull request" }) }
                        }
                    }
                }
                aside.meta aria-label="Details" {
                    div #facts data-live-part { (facts(ctx, here, &d, &at, may_comment && !is_author)) }
                    div #merge data-live-part { @if d.status == "open" { (merge_box(ctx, &d, &check, &at, signed_in)) } }
                }
            }
            div #files data-live-part {
                @if !files.is_empty() {
                    (super::diff::files(&files, &d.comments, &render, may_comment.then_some(&line_form as &dyn Fn(&str) -> Markup)))
                }
            }
        },
    )
}

fn facts(ctx: &Ctx<'_>, _here: &Here, d: &PullDetails, at: &str, may_vote: bool) -> Markup {
    html! {
        dl.facts {
            dt { "Assignee" } dd { @match &d.assignee { Some(a) => a href={ "/user/" (a) } { (a) }, None => span.muted { "nobody" } } }
            dt { "Score" } dd.score { (d.score) }
            @if !d.tags.is_empty() { dt { "Tags" } dd { @for t in &d.tags { span.tag { (t) } } } }
            @for f in &d.flags {
                dt { "Flag " (f.name) }
                dd.flag {
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
        @if may_vote && d.status == "open" {
            form.inline method="post" action={ (at) "/vote" } {
                (csrf_field(ctx))
                button.secondary type="submit" name="vote" value="up" { "+1" }
                button.secondary type="submit" name="vote" value="down" { "−1" }
            }
        }
    }
}

/// The merge box: the analysis, each gate's state, and for those who may
/// merge, the strategy and the button (off while something stops it).
fn merge_box(
    ctx: &Ctx<'_>,
    d: &PullDetails,
    check: &MergeCheck,
    at: &str,
    signed_in: bool,
) -> Markup {
    let analysis = match d.merge_status {
        Some("fast-forward") => "Can be merged by fast-forward.",
        Some("merge") => "Can be merged cleanly.",
        Some("conflicts") => "Merging would conflict.",
        Some("up-to-date") => "The target already has these commits.",
        _ => "Not analysed yet.",
    };
    let blocked = check.gates.iter().any(|g| !g.ok)
        || matches!(d.merge_status, Some("conflicts" | "up-to-date") | None);
    html! {
        section.box.merge aria-label="Merge" {
            div.head { "Merge" }
            div.body {
                p { (analysis) }
                @if !d.conflicts.is_empty() {
                    p { "Conflicting files:" }
                    ul { @for c in &d.conflicts { li { code { (c) } } } }
                }
                @if !check.gates.is_empty() {
                    ul.gates {
                        @for g in &check.gates {
                            li class=(if g.ok { "ok" } else { "no" }) {
                                (if g.ok { "✓ " } else { "✗ " }) (g.detail)
                            }
                        }
                    }
                }
                @if signed_in && check.may_merge {
                    form.stack method="post" action={ (at) "/merge" } {
                        (csrf_field(ctx))
                        label for="strategy" { "Strategy" }
                        select id="strategy" name="strategy" {
                            option value="merge" { "Merge commit" }
                            option value="squash" { "Squash" }
                            option value="rebase" { "Rebase" }
                            option value="ff" { "Fast-forward only" }
                        }
                        button type="submit" disabled[blocked] { "Merge pull request" }
                    }
                }
            }
        }
    }
}

/// `/<repo>/diff/<target>..<source>` (Pagure's order: what a branch adds
/// to another): the commits and changes, and the form that opens a pull
/// request of them.
pub(crate) fn compare(ctx: &Ctx<'_>, here: &Here, range: &str) -> Result<Page, ApiError> {
    requests(ctx, here)?;
    let (to, from) = range
        .split_once("..")
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| {
            ApiError::new(404, "ENOENDPOINT", "compare two refs as <target>..<source>")
        })?;
    // From a fork: its branch against the parent's; the fork borrows the
    // parent's objects, so both commits are in its repository.
    let repo = crate::projects::repo(ctx, here)?;
    let parent = match here.fork {
        Some(_) => Some(forge_git::Repo::open(
            &ctx.app.home.project_paths(&here.project.full_name).source,
        )?),
        None => None,
    };
    let tip = |repo: &forge_git::Repo, r: &str| {
        repo.resolve(r)
            .map_err(|_| ApiError::new(404, "ENOENDPOINT", format!("no ref `{r}`")))
    };
    let (target, source) = (
        tip(parent.as_ref().unwrap_or(&repo), to)?,
        tip(&repo, from)?,
    );
    let base = repo.merge_base(target, source)?;
    let commits = repo.log_range(target, source, 250)?;
    let files = repo.diff(base, source, PATCH_LIMIT)?;
    let name = &here.project.full_name;
    let path = here.path();
    let me = &here.actor;
    let may_open = ctx.session().is_some() && me.may(Action::PullRequestCreate, false);
    let title = match commits.as_slice() {
        [one] => one.title.clone(),
        _ => from.to_string(),
    };
    ok(
        &format!("Compare {to}..{from} · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Pull requests"))
            p {
                "Changes " code { (from) }
                @if let Some(user) = &here.fork { " of " a href={ "/" (path) } { (user) "'s fork" } }
                " would bring into " code { (to) }
            }
            @if commits.is_empty() {
                p { code { (to) } " already has everything " code { (from) } " has." }
            } @else {
                @if may_open {
                    form.stack.box.pad method="post" action={ "/" (name) "/pull-request/new" } {
                        (csrf_field(ctx))
                        input type="hidden" name="branch_from" value=(from);
                        @if let Some(user) = &here.fork { input type="hidden" name="repo_from_username" value=(user); }
                        input type="hidden" name="branch_to" value=(to);
                        label for="title" { "Title" }
                        input type="text" id="title" name="title" value=(title) required;
                        label for="initial_comment" { "Description (Markdown)" }
                        textarea data-preview=(preview_url(here)) id="initial_comment" name="initial_comment" rows="6" {}
                        button type="submit" { "Open pull request" }
                    }
                } @else if ctx.session().is_none() {
                    p.muted { a href={ "/login?" (serde_urlencoded::to_string([("next", &ctx.call.path)]).unwrap_or_default()) } { "Sign in" } " to open a pull request." }
                }
                h2 { "Commits (" (commits.len()) ")" }
                ul.list {
                    @for c in &commits {
                        li { a href={ "/" (path) "/c/" (c.id) } { code { (&c.id.to_string()[..10]) } } " " (c.title) }
                    }
                }
                (super::diff::files(&files, &[], &|_| html! {}, None))
            }
        },
    )
}
