//! Issue endpoints, one function each: the listing (cached per indexed
//! commit), one issue, a comment; opening, commenting, closing, assigning
//! and editing through the group commit.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use forge_core::project::Project;
use forge_core::role::Action;
use forge_git::Repo;
use forge_tickets::view::IssueDetails;
use forge_tickets::{Actor, IndexView, IssueEdit, IssueFilter, NewIssue, Tracker};
use serde_json::json;

use crate::app::{ok, Answer};
use crate::error::ApiError;
use crate::extract::Ctx;
use crate::pagure::{Issue, IssueAnswer, IssueComment, Pagination};
use crate::router::At;

thread_local! {
    /// Tickets repositories kept open per worker thread (opening one reads
    /// several config files; refs and objects are still read fresh), with the
    /// branch their HEAD named then.
    static REPOS: std::cell::RefCell<HashMap<std::path::PathBuf, (Rc<Repo>, String)>> =
        std::cell::RefCell::new(HashMap::new());
}

/// The tracker of a project, on a tickets repository kept open by this thread.
fn tracker<'s>(ctx: &Ctx<'s>, at: &At) -> Result<Tracker<'s>, ApiError> {
    Ok(project_tracker(ctx, &at.project)?)
}

/// The tracker of `project`, on a tickets repository kept open by this
/// thread.
pub(crate) fn project_tracker<'s>(
    ctx: &Ctx<'s>,
    project: &Project,
) -> forge_tickets::Result<Tracker<'s>> {
    let path = ctx.app.home.project_paths(&project.full_name).tickets;
    let cached = REPOS.with(|r| r.borrow().get(&path).cloned());
    let (repo, branch) = match cached {
        Some(open) => open,
        None => {
            let repo = Repo::open(&path)?;
            let branch = repo.head_branch()?;
            let open = (Rc::new(repo), branch);
            REPOS.with(|r| {
                let mut r = r.borrow_mut();
                if r.len() > 256 {
                    r.clear();
                }
                r.insert(path, open.clone());
            });
            open
        }
    };
    Ok(Tracker::with_repo(ctx.store, repo, branch, project))
}

/// Runs an issue write in the server's group commit.
fn write<T: Send + 'static>(
    ctx: &Ctx<'_>,
    at: &At,
    write: impl FnMut(&Tracker<'_>) -> forge_tickets::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(ctx
        .app
        .writes
        .issues(ctx.store, &ctx.app.home, &at.project, write)?)
}

/// An issue of `project` in Pagure's shape, with the links of this server
/// and its fields' types.
fn pagure_issue<'i>(ctx: &Ctx<'_>, project: &Project, i: &'i IssueDetails) -> Issue<'i> {
    Issue::of(i, &|u| ctx.user(u))
        .at(&ctx.call.base_url, &project.full_name)
        .with_settings(&project.settings)
}

/// The same as JSON.
fn issue_json(ctx: &Ctx<'_>, project: &Project, i: &IssueDetails) -> serde_json::Value {
    serde_json::to_value(pagure_issue(ctx, project, i)).unwrap_or_default()
}

/// `GET <repo>/tags`: the tags in use on the issues.
pub(crate) fn tags(ctx: &Ctx<'_>, at: &At) -> Answer {
    let tags = tracker(ctx, at)?.tags(&at.actor)?;
    ok(&json!({"total_tags": tags.len(), "tags": tags}))
}

/// A priority as a client names it: by name or Pagure's weight (a number
/// that names none is passed on, for the library to refuse by name).
fn priority(project: &Project, text: String) -> String {
    match project.settings.priority_named(&text) {
        Some(name) => name.to_string(),
        None => text,
    }
}

/// The filter of an issue listing, from its query.
/// The listing a query asks for (the API's parameters, which the issue
/// list page takes too); its page is the caller's.
pub(crate) fn filter(ctx: &Ctx<'_>, project: &Project) -> Result<IssueFilter, ApiError> {
    let q = &ctx.query;
    let status = q
        .choice(
            "status",
            &[
                ("open", Some("open")),
                ("closed", Some("closed")),
                ("all", None),
            ],
        )?
        .unwrap_or(Some("open"));
    let since = match q.get("since") {
        None => None,
        Some(v) => Some(since(v).ok_or_else(|| {
            ApiError::field(
                "since",
                format!("`{v}` is neither epoch seconds nor YYYY-MM-DD"),
            )
        })?),
    };
    Ok(IssueFilter {
        status: status.map(String::from),
        // Pagure's: any of the `tags` given, none of those given as `!tag`.
        tags: q
            .all("tags")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect(),
        assignee: q.get("assignee").map(String::from),
        author: q.get("author").map(String::from),
        milestones: q.all("milestones").map(String::from).collect(),
        no_milestone: q.flag("no_stones"),
        priority: q.text("priority").map(|p| priority(project, p)),
        since,
        text: q.text("search_pattern"),
        ascending: q
            .choice("order", &[("asc", true), ("desc", false)])?
            .unwrap_or(false),
        limit: 0,
        offset: 0,
    })
}

/// `since`: epoch seconds, or a `YYYY-MM-DD` day (UTC midnight).
fn since(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    crate::users::chrono_day(text)?;
    forge_core::time::parse_rfc3339(&format!("{text}T00:00:00Z"))
}

/// What identifies a listing's result under the index state: project,
/// indexed commit, filters and viewer (order, limit and offset aside).
fn listing_key(at: &At, view: &IndexView<'_, '_>, filter: &IssueFilter) -> String {
    let viewer = &at.actor;
    format!(
        "{}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}\u{0}{}",
        at.project.full_name,
        view.commit(),
        filter.status,
        filter.tags,
        filter.assignee,
        filter.author,
        (&filter.milestones, filter.no_milestone),
        filter.priority,
        filter.since,
        filter.text,
        viewer.username,
        viewer.role.is_some()
    )
}

/// Pages past this offset are cut from the whole listing, read once per
/// index state and kept: SQLite skips an offset row by row.
const DEEP_OFFSET: usize = 500;

/// One page of a listing: the numbers of the page's issues, and the
/// pagination (which says how many match in all). Counts are kept per
/// index state; deep pages come from the whole listing, kept likewise.
fn listing_page(
    ctx: &Ctx<'_>,
    key: &str,
    view: &IndexView<'_, '_>,
    filter: &IssueFilter,
) -> Result<(Vec<u64>, Pagination), ApiError> {
    let caches = &ctx.app.caches;
    let slice = |all: &[u64], per_page: usize, offset: usize| -> Vec<u64> {
        if filter.ascending {
            all.iter()
                .rev()
                .skip(offset)
                .take(per_page)
                .copied()
                .collect()
        } else {
            all.iter().skip(offset).take(per_page).copied().collect()
        }
    };
    if let Some(all) = caches.listing(key) {
        let (per_page, offset, links) = ctx.page(all.len() as u64)?;
        return Ok((slice(&all, per_page, offset), links));
    }
    let total = match caches.count(key) {
        Some(n) => n,
        None => {
            let n = view.count(filter)?;
            caches.put_count(key.to_string(), n);
            n
        }
    };
    let (per_page, offset, links) = ctx.page(total)?;
    if offset < DEEP_OFFSET {
        let mut page = filter.clone();
        page.limit = per_page;
        page.offset = offset;
        return Ok((view.numbers(&page)?, links));
    }
    let mut whole = filter.clone();
    whole.ascending = false;
    whole.limit = usize::MAX >> 1;
    whole.offset = 0;
    let all: Arc<[u64]> = view.numbers(&whole)?.into();
    caches.put_listing(key.to_string(), all.clone());
    Ok((slice(&all, per_page, offset), links))
}

/// What a rendered issue shows besides the index's state, and so what a
/// kept rendering must be kept by: this server's base URL (the request's
/// Host when no public URL is set), the project's field definitions and
/// priorities (whose places are Pagure's weights), which change without a
/// commit.
fn shown_with(ctx: &Ctx<'_>, project: &Project) -> String {
    let s = &project.settings;
    let fields = serde_json::to_string(&(&s.custom_fields, &s.priorities)).unwrap_or_default();
    format!("{}\u{0}{fields}", ctx.call.base_url)
}

/// Whether the full names a cached answer shows are still the users' names.
fn names_hold(ctx: &Ctx<'_>, users: &[(String, String)]) -> bool {
    users
        .iter()
        .all(|(name, full)| ctx.with_full_name(name, |now| now == full))
}

/// The issues `numbers` in Pagure's JSON shape, from the server's cache
/// where they were rendered from the same index state and show the same
/// full names, else rendered now (and kept); with the users they show.
/// `shown_with`: what the renderings show besides the index ([`shown_with`]).
fn rendered_issues(
    ctx: &Ctx<'_>,
    project: &Project,
    shown_with: &str,
    view: &IndexView<'_, '_>,
    numbers: &[u64],
) -> Result<Vec<crate::cache::Rendered>, ApiError> {
    let caches = &ctx.app.caches;
    let key = format!("{}\u{0}{shown_with}", project.full_name);
    let mut found = caches.rendered(&key, view.commit(), numbers);
    for slot in found.iter_mut() {
        if !slot.as_ref().is_some_and(|r| names_hold(ctx, &r.users)) {
            *slot = None;
        }
    }
    let missing: Vec<u64> = numbers
        .iter()
        .zip(&found)
        .filter(|(_, r)| r.is_none())
        .map(|(n, _)| *n)
        .collect();
    let mut fresh = HashMap::new();
    if !missing.is_empty() {
        let commit: Arc<str> = view.commit().into();
        let mut keep = Vec::new();
        for issue in view.details(&missing)? {
            let mut names: Vec<&str> = [&issue.assignee, &issue.closed_by]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .chain([issue.author.as_str()])
                .chain(issue.comments.iter().map(|c| c.author.as_str()))
                .collect();
            names.sort_unstable();
            names.dedup();
            let users: Arc<[(String, String)]> = names
                .into_iter()
                .map(|n| (n.to_string(), ctx.with_full_name(n, str::to_string)))
                .collect();
            let json: Arc<[u8]> = serde_json::to_vec(&pagure_issue(ctx, project, &issue))
                .map_err(ApiError::internal)?
                .into();
            let rendered = crate::cache::Rendered {
                commit: commit.clone(),
                users,
                json,
            };
            fresh.insert(issue.id, rendered.clone());
            keep.push((issue.id, rendered));
        }
        caches.put_rendered(&key, keep);
    }
    // An issue missing from both was deleted or hidden since the numbers
    // were read: it is left out.
    Ok(numbers
        .iter()
        .zip(found)
        .filter_map(|(n, r)| r.or_else(|| fresh.remove(n)))
        .collect())
}

/// `GET <repo>/issues`: a page of issues with their comments. A page asked
/// again under the same index state (same filters, viewer, query and host)
/// is the kept answer, sent without a copy while the full names it shows
/// hold; else it is written from the issues' JSON kept per indexed commit.
pub(crate) fn list(ctx: &Ctx<'_>, at: &At) -> Answer {
    let filter = filter(ctx, &at.project)?;
    let tracker = tracker(ctx, at)?;
    let view = tracker.view(&at.actor)?;
    let key = listing_key(at, &view, &filter);
    let shown_with = shown_with(ctx, &at.project);
    let page_key = format!(
        "{key}\u{0}{}\u{0}{shown_with}",
        ctx.call.query.as_deref().unwrap_or_default()
    );
    if let Some(page) = ctx.app.caches.page(&page_key) {
        if names_hold(ctx, &page.users) {
            return Ok((200, page.body));
        }
    }
    let (numbers, pagination) = listing_page(ctx, &key, &view, &filter)?;
    let issues = rendered_issues(ctx, &at.project, &shown_with, &view, &numbers)?;
    let q = &ctx.query;
    // As Pagure echoes them: every `tags` given (trimmed, empty ones
    // dropped) and every `milestones`, as lists; `no_stones` as a boolean.
    let tags: Vec<&str> = q
        .all("tags")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let milestones: Vec<&str> = q.all("milestones").collect();
    let no_stones = q.flag("no_stones");
    let args = json!({"status": q.get("status"), "tags": tags, "assignee": q.get("assignee"),
                      "author": q.get("author"), "milestones": milestones, "no_stones": no_stones,
                      "priority": q.get("priority"), "since": q.get("since"), "order": q.get("order")});
    // The keys in the order serde_json's maps give the others.
    let mut out = Vec::with_capacity(issues.iter().map(|i| i.json.len() + 1).sum::<usize>() + 1024);
    out.extend_from_slice(b"{\"args\":");
    out.extend_from_slice(&serde_json::to_vec(&args).unwrap_or_default());
    out.extend_from_slice(b",\"issues\":[");
    for (i, issue) in issues.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&issue.json);
    }
    out.extend_from_slice(b"],\"pagination\":");
    out.extend_from_slice(&serde_json::to_vec(&pagination).unwrap_or_default());
    // Pagure's `total_issues` is the number on the page; the total is in
    // `pagination.total`.
    let on_page = issues.len();
    out.extend_from_slice(format!(",\"total_issues\":{on_page}}}\n").as_bytes());
    let mut users: Vec<(String, String)> = issues
        .iter()
        .flat_map(|i| i.users.iter().cloned())
        .collect();
    users.sort_unstable();
    users.dedup();
    let body = bytes::Bytes::from(out);
    ctx.app.caches.put_page(
        page_key,
        crate::cache::Page {
            users: users.into(),
            body: body.clone(),
        },
    );
    Ok((200, body))
}

/// `GET <repo>/issue/<id>`.
pub(crate) fn show(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let issue = tracker(ctx, at)?.issue(&at.actor, n)?;
    ok(&issue_json(ctx, &at.project, &issue))
}

/// `GET <repo>/issue/<id>/comment/<cid>`.
pub(crate) fn show_comment(ctx: &Ctx<'_>, at: &At, n: u64, cid: &str) -> Answer {
    let issue = tracker(ctx, at)?.issue(&at.actor, n)?;
    let c = issue
        .comments
        .iter()
        .find(|c| c.id == cid || cid.parse() == Ok(c.number()))
        .ok_or_else(|| ApiError::new(404, "ENOCOMMENT", "Comment not found"))?;
    let mut out =
        serde_json::to_value(IssueComment::of(c, &|u| ctx.user(u))).map_err(ApiError::internal)?;
    // What Pagure's endpoint adds to the comment: its author's picture and
    // its date as `YYYY-MM-DD HH:MM:SS` (UTC).
    out["avatar_url"] = json!(ctx.avatar(&c.author, 16)?);
    out["comment_date"] = json!(forge_core::time::utc_date_time(&c.created_at));
    ok(&out)
}

/// `POST <repo>/new_issue`.
pub(crate) fn create(ctx: &Ctx<'_>, at: &At) -> Answer {
    let actor = ctx.actor(&at.project, Action::IssueCreate)?;
    let f = ctx.fields()?;
    let new = NewIssue {
        title: f.required("title")?.clone(),
        body: f.required("issue_content")?.clone(),
        tags: f.list("tag"),
        assignee: f.text("assignee"),
        priority: f.text("priority").map(|p| priority(&at.project, p)),
        milestone: f.text("milestone"),
        private: f.truthy("private"),
        // forge's own: custom fields at once, as `field:NAME`.
        custom_fields: f.prefixed("field:").into_iter().collect(),
    };
    let number = {
        let actor = actor.clone();
        write(ctx, at, move |t| {
            Ok(t.create_issue(&actor, new.clone())?.number)
        })?
    };
    let issue = tracker(ctx, at)?.issue(&actor, number)?;
    ok(&IssueAnswer {
        issue: pagure_issue(ctx, &at.project, &issue),
        message: "Issue created".into(),
    })
}

/// `POST <repo>/issue/<id>/comment`.
pub(crate) fn comment(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::IssueComment)?;
    let body = ctx.fields()?.required("comment")?.clone();
    let who = actor.username.clone();
    write(ctx, at, move |t| t.comment(&actor, n, &body).map(drop))?;
    // As Pagure answers: the commenter and their picture too.
    ok(&json!({"message": "Comment added", "avatar_url": ctx.avatar(&who, 30)?, "user": who}))
}

/// `POST <repo>/issue/<id>/status`: `Open`, or `Closed` with a
/// `close_status` (or, as Pagure takes it, a close reason as the status).
/// Answers Pagure's list of what changed.
pub(crate) fn status(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::IssueChangeStatus)?;
    let f = ctx.fields()?;
    let asked = f.get("status").cloned().unwrap_or_default();
    let reasons = &at.project.settings.close_reasons;
    let (closing, reason) = match asked.to_ascii_lowercase().as_str() {
        "closed" => (true, f.text("close_status")),
        "open" => (false, None),
        _ if reasons.contains(&asked) && f.text("close_status").is_none() => (true, Some(asked)),
        // Pagure's form says so (WTForms' words for a choice not offered).
        _ => return Err(ApiError::field("status", "Not a valid choice.")),
    };
    // As Pagure: asking for the state the issue is in changes nothing (a
    // closed issue's reason is kept; closing it with another one is refused,
    // naming it).
    let current = tracker(ctx, at)?.issue(&actor, n)?;
    let same_reason = reason.is_none() || reason == current.close_reason;
    if (closing && current.status == "closed" && same_reason)
        || (!closing && current.status == "open")
    {
        return ok(&json!({"message": "No changes"}));
    }
    let edited = if closing {
        write(ctx, at, move |t| t.close(&actor, n, reason.as_deref()))?
    } else {
        write(ctx, at, move |t| t.reopen(&actor, n))?
    };
    ok(&json!({ "message": edited.changes }))
}

/// `POST <repo>/issue/<id>/assign|milestone|subscribe`, answered as
/// Pagure answers each.
pub(crate) fn set(ctx: &Ctx<'_>, at: &At, n: u64, what: &str) -> Answer {
    let action = match what {
        "assign" => Action::IssueAssign,
        "milestone" => Action::IssueUpdateMilestone,
        _ => Action::IssueSubscribe,
    };
    let actor = ctx.actor(&at.project, action)?;
    let who = actor.username.clone();
    let f = ctx.fields()?;
    let watch = f
        .get("status")
        .is_none_or(|s| s == "true" || s == "1" || s == "on");
    let edit = match what {
        "assign" => IssueEdit {
            assignee: Some(f.optional("assignee").flatten()),
            ..Default::default()
        },
        "milestone" => IssueEdit {
            milestone: Some(f.optional("milestone").flatten()),
            ..Default::default()
        },
        _ => IssueEdit {
            watch: Some(watch),
            ..Default::default()
        },
    };
    let edited = write(ctx, at, move |t| t.edit(&actor, n, edit.clone()))?;
    let first = edited.changes.first().cloned();
    match what {
        "assign" => ok(&json!({"message": first.unwrap_or_else(|| "Nothing to change".into())})),
        "milestone" if edited.changes.is_empty() => ok(&json!({"message": "No changes"})),
        "milestone" => ok(&json!({ "message": edited.changes })),
        _ => {
            let message = match watch {
                true => "You are now watching this issue",
                false => "You are no longer watching this issue",
            };
            ok(&json!({"message": message, "avatar_url": ctx.avatar(&who, 30)?, "user": who}))
        }
    }
}

/// `POST <repo>/issue/<id>/custom/<field>`: `value` (empty removes it).
pub(crate) fn custom(ctx: &Ctx<'_>, at: &At, n: u64, field: &str) -> Answer {
    let actor = ctx.actor(&at.project, Action::IssueUpdateCustomFields)?;
    let value = ctx.fields()?.get("value").cloned().unwrap_or_default();
    // Pagure's codes for a field the project does not define, and for a
    // link that is not one (the library says why in `detail`).
    let defined = at.project.settings.custom_fields.iter();
    match defined.clone().find(|f| f.name == field) {
        None => {
            return Err(ApiError::new(
                400,
                "EINVALIDISSUEFIELD",
                format!("no custom field `{field}` in {}", at.project.full_name),
            ))
        }
        Some(f)
            if f.kind == forge_core::project::FieldKind::Link
                && !value.is_empty()
                && !(value.starts_with("http://") || value.starts_with("https://")) =>
        {
            return Err(ApiError::new(
                400,
                "EINVALIDISSUEFIELD_LINK",
                format!("custom field `{field}` takes an http(s) link"),
            ))
        }
        Some(_) => {}
    }
    let edit = IssueEdit {
        fields: vec![(field.to_string(), value)],
        ..Default::default()
    };
    let edited = write(ctx, at, move |t| t.edit(&actor, n, edit.clone()))?;
    let message = edited.changes.first().cloned();
    ok(&json!({"message": message.unwrap_or_else(|| "No changes".into())}))
}

/// `POST <repo>/issue/<id>`: Pagure's `title` and `issue_content`, and
/// forge's own fields; each part of the change needs the token's right for it.
pub(crate) fn edit(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let f = ctx.fields()?;
    let issues = |key: &str| -> Result<Vec<u64>, ApiError> {
        f.list(key)
            .iter()
            .map(|v| {
                forge_tickets::parse_number(v)
                    .ok_or_else(|| ApiError::field(key, format!("`{v}` is not an issue number")))
            })
            .collect()
    };
    // forge's own `tags`: the whole set the issue should have (what the
    // page's form sends), as the tags to add and to remove.
    let (mut add_tags, mut remove_tags) = (f.list("add_tag"), f.list("remove_tag"));
    if f.get("tags").is_some() {
        let wanted: std::collections::BTreeSet<String> = f.list("tags").into_iter().collect();
        let current = tracker(ctx, at)?.issue(&at.actor, n)?.tags;
        add_tags.extend(wanted.difference(&current).cloned());
        remove_tags.extend(current.difference(&wanted).cloned());
    }
    let edit = IssueEdit {
        title: f.get("title").cloned(),
        body: f.get("issue_content").cloned(),
        add_tags,
        remove_tags,
        assignee: f.optional("assignee"),
        priority: f
            .optional("priority")
            .map(|p| p.map(|p| priority(&at.project, p))),
        milestone: f.optional("milestone"),
        fields: f.prefixed("field:"),
        depends: issues("depends")?,
        blocks: issues("blocks")?,
        private: f.yes_no("private")?,
        watch: f.yes_no("watch")?,
    };
    if edit == IssueEdit::default() {
        return Err(ApiError::new(400, "EINVALIDREQ", "nothing to change: give title, issue_content, tags, add_tag, remove_tag, assignee, priority, milestone, field:NAME, depends, blocks, private or watch"));
    }
    let user = ctx.acting_for_all(&edit.actions(), &at.project.full_name)?;
    let actor = Actor::for_user(ctx.store, &at.project, &user)?;
    {
        let actor = actor.clone();
        write(ctx, at, move |t| t.edit(&actor, n, edit.clone()).map(drop))?;
    }
    let issue = tracker(ctx, at)?.issue(&actor, n)?;
    ok(&IssueAnswer {
        issue: pagure_issue(ctx, &at.project, &issue),
        message: "Issue edited".into(),
    })
}
