//! One issue's page with the forms of those allowed to change it, and the
//! new-issue form. Each form posts to the API's endpoint at the page's path
//! (see `forms`): the forms show what the viewer's role allows, and the API
//! decides again when they are sent.

use forge_core::role::Action;
use forge_tickets::view::IssueDetails;
use forge_tickets::{PullRequests, Tracker};
use maud::{html, Markup};

use super::pages::{ok, preview_url, rendered};
use super::session::csrf_field;
use super::{Here, Page};
use crate::error::ApiError;
use crate::extract::Ctx;

/// `/<repo>/issue/<n>`: the issue, its comments and its changes.
pub(crate) fn show(ctx: &Ctx<'_>, here: &Here, n: u64) -> Result<Page, ApiError> {
    let p = &here.project;
    if !p.settings.issue_tracker {
        return Err(ApiError::new(
            404,
            "ETRACKERDISABLED",
            "Issue tracker disabled",
        ));
    }
    let tracker = Tracker::open_for_project(ctx.store, &ctx.app.home, p)?;
    let name = &p.full_name;
    let i = match tracker.issue(&here.actor, n) {
        Ok(i) => i,
        // Issues and pull requests share their numbers: `#N` of a pull
        // request leads here too, and on to it.
        Err(e) if p.settings.pull_requests => {
            let prs = PullRequests::open(ctx.store, &ctx.app.home, p)?;
            if prs.show(&here.actor, n).is_ok() {
                return Ok(Page::redirect(&format!("/{name}/pull-request/{n}")));
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let at = format!("/{name}/issue/{n}");
    ok(
        &format!("#{n} {} · {name}", i.title),
        html! {
            p.crumbs { a href={ "/" (name) } { (name) } " / " a href={ "/" (name) "/issues" } { "issues" } }
            h1 { (i.title) " " span.muted { "#" (i.id) } }
            p #state data-live-part {
                span class={ "state " (i.status) } { (i.status) }
                @if let Some(r) = &i.close_reason { " " span.muted { "as " (r) " ·" } }
                " " span.muted { "opened by " a href={ "/user/" (i.author) } { (i.author) } " at " (i.created_at) }
                @if i.private { " " span.tag { "private" } }
            }
            div.columns data-live={ (at) "/events" } {
                div.conversation {
                    div #comments data-live-part aria-live="polite" {
                        article.box #description {
                            div.head { (i.author) " wrote" }
                            div.body.markdown { (rendered(ctx, here, &i.body)) }
                        }
                        @for c in &i.comments {
                            article class=(if c.notification { "box note" } else { "box" }) id={ "comment-" (c.number()) } {
                                div.head {
                                    (c.author) " at " (c.created_at)
                                    @if c.edited_at.is_some() { " (edited)" }
                                }
                                div.body.markdown { (rendered(ctx, here, &c.body)) }
                            }
                        }
                    }
                    (comment_form(ctx, here, &i, &at))
                }
                aside.meta aria-label="Details" {
                    div #facts data-live-part { (facts(&i)) }
                    (side_forms(ctx, here, &i, &at))
                }
            }
        },
    )
}

fn facts(i: &IssueDetails) -> Markup {
    html! {
        dl.facts {
            dt { "Assignee" } dd { @match &i.assignee { Some(a) => a href={ "/user/" (a) } { (a) }, None => span.muted { "nobody" } } }
            dt { "Tags" } dd { @if i.tags.is_empty() { span.muted { "none" } } @for t in &i.tags { span.tag { (t) } } }
            @if let Some(m) = &i.milestone { dt { "Milestone" } dd { (m) } }
            @if let Some(pr) = &i.priority { dt { "Priority" } dd { (pr) } }
            @for (k, v) in &i.custom_fields { dt { (k) } dd { (v) } }
            @if !i.depends.is_empty() { dt { "Depends on" } dd { @for d in &i.depends { "#" (d) " " } } }
            @if !i.blocks.is_empty() { dt { "Blocks" } dd { @for b in &i.blocks { "#" (b) " " } } }
            @if !i.related_prs.is_empty() {
                dt { "Pull requests" }
                dd { @for r in &i.related_prs { "#" (r.id) " " (r.title) " " } }
            }
            dt { "Watchers" } dd { (i.watchers.len()) }
        }
    }
}

/// The comment box, and closing or reopening beside it.
fn comment_form(ctx: &Ctx<'_>, here: &Here, i: &IssueDetails, at: &str) -> Markup {
    let me = &here.actor;
    if let Some(source) = &here.project.mirror {
        return html! { p.muted { "Comments come from " code { (source) } " (a read-only mirror)." } };
    }
    if ctx.session().is_none() {
        let next = serde_urlencoded::to_string([("next", at)]).unwrap_or_default();
        return html! { p.muted { a href={ "/login?" (next) } { "Sign in" } " to comment." } };
    }
    let is_author = i.author == me.username;
    let reasons = &here.project.settings.close_reasons;
    html! {
        @if me.may(Action::IssueComment, is_author) {
            form.stack.box.pad method="post" action={ (at) "/comment" } {
                (csrf_field(ctx))
                label for="comment" { "Add a comment" }
                textarea data-preview=(preview_url(here)) id="comment" name="comment" rows="6" required {}
                button type="submit" { "Comment" }
            }
        }
        @if me.may(Action::IssueChangeStatus, is_author) {
            form.inline method="post" action={ (at) "/status" } {
                (csrf_field(ctx))
                @if i.status == "open" {
                    input type="hidden" name="status" value="Closed";
                    @if !reasons.is_empty() {
                        label for="close_status" { "Close as " }
                        select id="close_status" name="close_status" {
                            option value="" { "no reason" }
                            @for r in reasons { option value=(r) { (r) } }
                        }
                        " "
                    }
                    button type="submit" { "Close issue" }
                } @else {
                    input type="hidden" name="status" value="Open";
                    button type="submit" { "Reopen issue" }
                }
            }
        }
    }
}

/// Watching, the metadata and the text, for those allowed.
fn side_forms(ctx: &Ctx<'_>, here: &Here, i: &IssueDetails, at: &str) -> Markup {
    let me = &here.actor;
    if ctx.session().is_none() {
        return html! {};
    }
    let is_author = i.author == me.username;
    let watching = i.watchers.contains(&me.username);
    let s = &here.project.settings;
    let join = |set: &std::collections::BTreeSet<u64>| {
        set.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    html! {
        @if me.may(Action::IssueSubscribe, is_author) {
            form.inline method="post" action={ (at) "/subscribe" } {
                (csrf_field(ctx))
                input type="hidden" name="status" value=(if watching { "false" } else { "true" });
                button type="submit" { (if watching { "Stop watching" } else { "Watch" }) }
            }
        }
        @if me.may(Action::IssueUpdate, false) {
            form.stack method="post" action=(at) {
                (csrf_field(ctx))
                h2 { "Edit details" }
                label for="tags" { "Tags (comma-separated)" }
                input type="text" id="tags" name="tags" value=(i.tags.iter().cloned().collect::<Vec<_>>().join(", "));
                label for="assignee" { "Assignee (user name)" }
                input type="text" id="assignee" name="assignee" value=(i.assignee.clone().unwrap_or_default());
                @if !s.priorities.is_empty() {
                    label for="priority" { "Priority" }
                    select id="priority" name="priority" {
                        option value="" { "none" }
                        @for pr in &s.priorities {
                            option value=(pr) selected[i.priority.as_deref() == Some(pr.as_str())] { (pr) }
                        }
                    }
                }
                @if !s.milestones.is_empty() {
                    label for="milestone" { "Milestone" }
                    select id="milestone" name="milestone" {
                        option value="" { "none" }
                        @for m in &s.milestones {
                            option value=(m.name) selected[i.milestone.as_deref() == Some(m.name.as_str())] { (m.name) }
                        }
                    }
                }
                @for f in &s.custom_fields {
                    label for={ "field-" (f.name) } { (f.name) }
                    input type="text" id={ "field-" (f.name) } name={ "field:" (f.name) }
                        value=(i.custom_fields.get(&f.name).cloned().unwrap_or_default());
                }
                label for="depends" { "Depends on (issue numbers)" }
                input type="text" id="depends" name="depends" value=(join(&i.depends));
                label for="blocks" { "Blocks (issue numbers)" }
                input type="text" id="blocks" name="blocks" value=(join(&i.blocks));
                button type="submit" { "Save details" }
            }
        }
        @if me.may(Action::IssueUpdate, is_author) {
            details {
                summary { "Edit title and description" }
                form.stack method="post" action=(at) {
                    (csrf_field(ctx))
                    label for="title" { "Title" }
                    input type="text" id="title" name="title" value=(i.title) required;
                    label for="issue_content" { "Description" }
                    textarea data-preview=(preview_url(here)) id="issue_content" name="issue_content" rows="8" { (i.body) }
                    button type="submit" { "Save" }
                }
            }
        }
    }
}

/// `/<repo>/new_issue`: the form to open an issue (sign in first).
pub(crate) fn new_form(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    let name = &here.project.full_name;
    if ctx.session().is_none() {
        let next = serde_urlencoded::to_string([("next", format!("/{name}/new_issue"))])
            .unwrap_or_default();
        return Ok(Page::redirect(&format!("/login?{next}")));
    }
    if !here.project.settings.issue_tracker {
        return Err(ApiError::new(
            404,
            "ETRACKERDISABLED",
            "Issue tracker disabled",
        ));
    }
    ok(
        &format!("New issue · {name}"),
        html! {
            p.crumbs { a href={ "/" (name) } { (name) } " / " a href={ "/" (name) "/issues" } { "issues" } }
            h1 { "New issue" }
            form.stack method="post" action={ "/" (name) "/new_issue" } {
                (csrf_field(ctx))
                label for="title" { "Title" }
                input type="text" id="title" name="title" required autofocus;
                label for="issue_content" { "Description (Markdown)" }
                textarea data-preview=(preview_url(here)) id="issue_content" name="issue_content" rows="10" required {}
                label for="tag" { "Tags (comma-separated)" }
                input type="text" id="tag" name="tag";
                label.check {
                    input type="checkbox" name="private" value="true";
                    " Private: only the project's members and you can see it"
                }
                button type="submit" { "Open issue" }
            }
        },
    )
}
