//! The reading pages: home (projects), project, issue list, issue.

use std::cell::OnceCell;

use forge_core::markdown::{self, Reference};
use forge_core::role::Action;
use forge_git::Repo;
use forge_tickets::{IssueFilter, PullFilter, PullRequests, Tracker};
use maud::{html, Markup, PreEscaped};

use super::layout::page;
use super::{Here, Page};
use crate::error::ApiError;
use crate::extract::Ctx;

pub(super) const PER_PAGE: usize = 50;

pub(super) fn ok(title: &str, body: Markup) -> Result<Page, ApiError> {
    Ok(Page::html(200, page(title, body)))
}

/// The page number asked for (`page`, from 1).
pub(super) fn page_number(ctx: &Ctx<'_>) -> Result<usize, ApiError> {
    Ok(ctx.query.positive("page", 1)?.min(1 << 20) as usize)
}

/// Links to the previous and next pages, keeping the other parameters.
pub(super) fn pager(ctx: &Ctx<'_>, page: usize, more: bool) -> Markup {
    let link = |p: usize| {
        let mut params: Vec<(String, String)> = ctx
            .query
            .pairs()
            .iter()
            .filter(|(k, _)| k != "page")
            .cloned()
            .collect();
        params.push(("page".into(), p.to_string()));
        format!(
            "{}?{}",
            ctx.call.path,
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    };
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 { a href=(link(page - 1)) rel="prev" { "← Newer" } }
            @if more { a href=(link(page + 1)) rel="next" { "Older →" } }
        }
    }
}

/// Markdown of `here`'s project, rendered and sanitized, its references
/// linked within the project: `#N` to the issue or pull request, `@user`
/// to the user, and a word that is (the start of) one of the project's
/// commit ids to that commit. The repository is opened on the first
/// commit-like word only.
pub(super) fn rendered(ctx: &Ctx<'_>, here: &Here, text: &str) -> Markup {
    let project = &here.project.full_name;
    let repo: OnceCell<Option<Repo>> = OnceCell::new();
    let link = |r: Reference<'_>| match r {
        Reference::Item(n) => Some(format!("/{project}/issue/{n}")),
        Reference::User(u) => Some(format!("/user/{u}")),
        Reference::Commit(c) => {
            let repo = repo
                .get_or_init(|| Repo::open(&ctx.app.home.project_paths(project).source).ok())
                .as_ref()?;
            // `resolve` also takes branch and tag names: keep only ids.
            let id = repo.resolve(c).ok()?.to_string();
            id.starts_with(&c.to_ascii_lowercase())
                .then(|| format!("/{project}/c/{id}"))
        }
    };
    PreEscaped(markdown::render(text, &link))
}

/// Where the script posts a text area's Markdown for its preview.
pub(super) fn preview_url(here: &Here) -> String {
    format!("/{}/markdown", here.project.full_name)
}

/// `POST /<repo>/markdown` (signed in, with the form's CSRF token): the
/// field `content` rendered as the project's pages would show it.
pub(crate) fn preview(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    let text = ctx.fields()?.text("content").unwrap_or_default();
    Ok(Page::html(200, rendered(ctx, here, &text).into_string()))
}

/// `/`: the projects the viewer may see, `q` narrowing them by name or
/// description.
pub(crate) fn home(ctx: &Ctx<'_>) -> Result<Page, ApiError> {
    let viewer = ctx.viewer_name()?;
    let asked = ctx.query.text("q").filter(|q| !q.trim().is_empty());
    let q = asked.as_deref().map(str::to_lowercase);
    let items = match &asked {
        Some(text) => Some(super::search::results(ctx, text)?),
        None => None,
    };
    let mut shown = Vec::new();
    for p in ctx.store.list_projects()? {
        if !ctx.visible(&p, viewer.as_deref())? {
            continue;
        }
        let matches = q.as_deref().is_none_or(|q| {
            p.full_name.to_lowercase().contains(q) || p.description.to_lowercase().contains(q)
        });
        if matches {
            shown.push(p);
        }
    }
    let page = page_number(ctx)?;
    let first = (page - 1) * PER_PAGE;
    let more = shown.len() > first + PER_PAGE;
    ok(
        "Projects",
        html! {
            h1 { "Projects" }
            @if let Some(q) = &q { p.muted { (shown.len()) " matching “" (q) "”" } }
            @if shown.is_empty() {
                p { (if q.is_some() { "No project matches." } else { "No project yet." }) }
            } @else {
                ul.list {
                    @for p in shown.iter().skip(first).take(PER_PAGE) {
                        li {
                            a href={ "/" (p.full_name) } { strong { (p.full_name) } }
                            @if p.private { span.tag { "private" } }
                            @if !p.description.is_empty() { br; span.muted { (p.description) } }
                        }
                    }
                }
            }
            (pager(ctx, page, more))
            @if let Some(items) = items { (items) }
        },
    )
}

/// The tabs of a project's pages.
pub(super) fn tabs(here: &Here, current: &str) -> Markup {
    // A fork's overview and code are its own; issues and requests are its
    // parent's.
    let (path, name) = (here.path(), &here.project.full_name);
    let mut tabs = vec![
        ("Overview", format!("/{path}")),
        ("Code", format!("/{path}/tree")),
        ("Issues", format!("/{name}/issues")),
        ("Pull requests", format!("/{name}/pull-requests")),
    ];
    if here.fork.is_none() && here.actor.may(Action::ModifyProject, false) {
        tabs.push(("Settings", format!("/{name}/settings")));
    }
    let tabs = nav_tabs(
        "Project",
        tabs.iter().map(|(l, h)| (*l, h.as_str(), *l == current)),
    );
    match &here.project.mirror {
        Some(source) => html! {
            (tabs)
            p.muted.mirror { "A read-only mirror of " code { (source) } ": its issues and pull requests change there." }
        },
        None => tabs,
    }
}

/// A row of tabs named `aria` for assistive technology: label, link, and
/// whether it is the current one.
pub(super) fn nav_tabs<'t>(
    aria: &str,
    tabs: impl Iterator<Item = (&'t str, &'t str, bool)>,
) -> Markup {
    html! {
        nav.tabs aria-label=(aria) {
            @for (label, href, current) in tabs {
                @if current { a href=(href) aria-current="page" { (label) } }
                @else { a href=(href) { (label) } }
            }
        }
    }
}

/// The tabs of a listing's states at `base` (`?status=<value>`); `status`
/// is the one shown (`None`: all).
pub(super) fn state_tabs(base: &str, status: Option<&str>, states: &[(&str, &str)]) -> Markup {
    let links: Vec<(&str, String, bool)> = states
        .iter()
        .map(|(label, value)| {
            (
                *label,
                format!("{base}?status={value}"),
                status.unwrap_or("all") == *value,
            )
        })
        .collect();
    nav_tabs("State", links.iter().map(|(l, h, c)| (*l, h.as_str(), *c)))
}

/// `/<repo>`: description, clone URLs, README, branches, counts.
pub(crate) fn project(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    let p = &here.project;
    let path = here.path();
    let repo = crate::projects::repo(ctx, here)?;
    let branches = repo.branches()?;
    let default = repo.head_branch().ok();
    let readme = match default.as_deref().map(|b| repo.branch_tip(b)) {
        Some(Ok(Some(tip))) => ["README.md", "README"].iter().find_map(|name| {
            match repo.file_content(tip, name, 512 << 10) {
                Ok(forge_git::FileContent::Text(text)) => Some(text),
                _ => None,
            }
        }),
        _ => None,
    };
    let open_issues = if p.settings.issue_tracker {
        let tracker = Tracker::open_for_project(ctx.store, &ctx.app.home, p)?;
        let open = IssueFilter {
            status: Some("open".into()),
            ..Default::default()
        };
        Some(tracker.count(&here.actor, &open)?)
    } else {
        None
    };
    let open_requests = if p.settings.pull_requests {
        let prs = PullRequests::open(ctx.store, &ctx.app.home, p)?;
        let open = PullFilter {
            status: Some("open".into()),
            ..Default::default()
        };
        Some(prs.count(&here.actor, &open)?)
    } else {
        None
    };
    let latest = match default.as_deref().map(|b| repo.branch_tip(b)) {
        Some(Ok(Some(tip))) => repo.log(tip, None, 0, 5)?,
        _ => Vec::new(),
    };
    // Clone URLs name a fork as git does: `forks/<user>/<project>.git`.
    let git_path = match &here.fork {
        Some(user) => format!("forks/{user}/{}", p.full_name),
        None => p.full_name.clone(),
    };
    let http = format!("{}/{git_path}.git", ctx.call.base_url);
    let ssh = ctx
        .app
        .config
        .ssh_url
        .as_ref()
        .map(|s| format!("{s}/{git_path}.git"));
    let forks = ctx.store.forks(p)?;
    let me = ctx.session().map(|s| s.user.clone());
    let may_fork = here.fork.is_none()
        && me.as_ref().is_some_and(|m| !forks.contains(m))
        && here.actor.may(Action::ForkProject, false);
    ok(
        &path,
        html! {
            h1 {
                (path)
                @if p.private { span.tag { "private" } }
            }
            @if let Some(user) = &here.fork {
                p.muted { (user) "'s fork of " a href={ "/" (p.full_name) } { (p.full_name) } }
            }
            @if !p.description.is_empty() { p.muted { (p.description) } }
            @if may_fork {
                form.inline method="post" action={ "/" (p.full_name) "/fork" } {
                    (super::session::csrf_field(ctx))
                    button.secondary type="submit" { "Fork this project" }
                }
            } @else if let Some(m) = me.as_ref().filter(|m| here.fork.is_none() && forks.contains(m)) {
                p { a href={ "/fork/" (m) "/" (p.full_name) } { "Your fork" } }
            }
            (tabs(here, "Overview"))
            dl.facts {
                dt { "Clone (HTTP)" } dd { code.clone { (http) } }
                @if let Some(ssh) = &ssh { dt { "Clone (SSH)" } dd { code.clone { (ssh) } } }
                @let owner = here.fork.as_deref().unwrap_or(&p.owner);
                dt { "Owner" } dd { a href={ "/user/" (owner) } { (owner) } }
                @if let Some(n) = open_issues {
                    dt { "Open issues" } dd { a href={ "/" (p.full_name) "/issues" } { (n) } }
                }
                @if let Some(n) = open_requests { dt { "Open pull requests" } dd { (n) } }
                dt { "Branches" }
                dd {
                    @if branches.is_empty() { span.muted { "none yet" } }
                    @for b in &branches {
                        code { (b.name) }
                        @if default.as_deref() == Some(b.name.as_str()) { span.muted { " (default)" } }
                        " "
                    }
                }
            }
            @if !latest.is_empty() {
                h2 { "Latest commits" }
                ul.list {
                    @for c in &latest {
                        li {
                            a href={ "/" (path) "/c/" (c.id) } { code { (&c.id.to_string()[..10]) } }
                            " " (c.title) " " span.muted { (c.author_name) }
                        }
                    }
                }
            }
            @if here.fork.is_none() && !forks.is_empty() {
                h2 { "Forks" }
                ul.list {
                    @for user in &forks {
                        li { a href={ "/fork/" (user) "/" (p.full_name) } { strong { (user) "/" (p.full_name) } } }
                    }
                }
            }
            @if let Some(text) = &readme {
                section.box aria-label="README" {
                    div.head { "README" }
                    div.body.markdown { (rendered(ctx, here, text)) }
                }
            }
        },
    )
}

/// `/<repo>/issues`: a page of issues, `status` open (default), closed or all.
pub(crate) fn issues(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    let p = &here.project;
    if !p.settings.issue_tracker {
        return Err(ApiError::new(
            404,
            "ETRACKERDISABLED",
            "Issue tracker disabled",
        ));
    }
    // A filter form leaves its blank fields in the query: the same list
    // without them (a blank is not "nobody").
    let pairs = ctx.query.pairs();
    if pairs.iter().any(|(_, v)| v.is_empty()) {
        let kept: Vec<_> = pairs.iter().filter(|(_, v)| !v.is_empty()).collect();
        let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
        let sep = if query.is_empty() { "" } else { "?" };
        return Ok(Page::redirect(&format!("{}{sep}{query}", ctx.call.path)));
    }
    // The API's filters, read by the API's own code.
    let mut filter = crate::issues::filter(ctx, p)?;
    let status = filter.status.clone();
    let status = status.as_deref();
    let page = page_number(ctx)?;
    let tracker = Tracker::open_for_project(ctx.store, &ctx.app.home, p)?;
    // The page is a function of the index state, the query and the viewer
    // (it shows usernames only): kept per index state, as the API's pages.
    let view = tracker.view(&here.actor)?;
    // The project's id too: a project deleted and made again under its
    // name starts from the same empty commit. The role decides the tabs.
    let key = format!(
        "web issues\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{:?}",
        p.full_name,
        p.id,
        view.commit(),
        ctx.call.query.as_deref().unwrap_or_default(),
        here.actor.username,
        here.actor.role
    );
    if let Some(kept) = ctx.app.caches.page(&key) {
        return Ok(Page::html(200, kept.body));
    }
    filter.limit = PER_PAGE + 1;
    filter.offset = (page - 1) * PER_PAGE;
    let mut listed = tracker.list(&here.actor, &filter)?;
    let more = listed.len() > PER_PAGE;
    listed.truncate(PER_PAGE);
    let name = &p.full_name;
    let made = ok(
        &format!("Issues · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Issues"))
            @if p.mirror.is_none() {
                p { a.button href={ "/" (name) "/new_issue" } { "New issue" } }
            }
            (state_tabs(&format!("/{name}/issues"), status, &[("Open", "open"), ("Closed", "closed"), ("All", "all")]))
            (issue_filters(ctx, here))
            @if listed.is_empty() {
                p { "No issue here." }
            } @else {
                ul.list {
                    @for i in &listed {
                        li {
                            span class={ "state " (i.status) } { (i.status) } " "
                            a href={ "/" (name) "/issue/" (i.id) } { strong { (i.title) } }
                            " " span.muted { "#" (i.id) }
                            @for t in &i.tags { span.tag { (t) } }
                            br;
                            span.muted {
                                "opened by " (i.author) " · updated " (i.updated_at)
                                @if i.comments > 0 { " · " (i.comments) " comments" }
                                @if let Some(a) = &i.assignee { " · assigned to " (a) }
                            }
                        }
                    }
                }
            }
            (pager(ctx, page, more))
        },
    )?;
    ctx.app.caches.put_page(
        key,
        crate::cache::Page {
            users: std::sync::Arc::new([]),
            body: made.body.clone(),
        },
    );
    Ok(made)
}

/// The issue list's filters: a GET form of the API's own parameters, so a
/// filtered list is a link anyone can share.
fn issue_filters(ctx: &Ctx<'_>, here: &Here) -> Markup {
    let q = &ctx.query;
    let s = &here.project.settings;
    let value = |k: &str| q.get(k).unwrap_or_default().to_string();
    html! {
        details.filters open[q.pairs().iter().any(|(k, _)| k != "status" && k != "page")] {
            summary { "Filter" }
            form.filters method="get" {
                @if let Some(st) = q.get("status") { input type="hidden" name="status" value=(st); }
                label { "Title contains " input type="text" name="search_pattern" value=(value("search_pattern")); }
                label { "Tag " input type="text" name="tags" value=(value("tags")); }
                label { "Author " input type="text" name="author" value=(value("author")); }
                label { "Assignee " input type="text" name="assignee" value=(value("assignee")); }
                @if !s.milestones.is_empty() {
                    label { "Milestone "
                        select name="milestones" {
                            option value="" { "any" }
                            @for m in &s.milestones { option value=(m.name) selected[q.get("milestones") == Some(m.name.as_str())] { (m.name) } }
                        }
                    }
                }
                @if !s.priorities.is_empty() {
                    label { "Priority "
                        select name="priority" {
                            option value="" { "any" }
                            @for pr in &s.priorities { option value=(pr) selected[q.get("priority") == Some(pr.as_str())] { (pr) } }
                        }
                    }
                }
                button.secondary type="submit" { "Filter" }
            }
        }
    }
}
