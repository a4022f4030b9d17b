//! Pull-request endpoints, one function each: list, show, diff, open,
//! edit, comment, flag, vote, refresh, merge, close, reopen, assign,
//! subscribe. Reviews (comments, flags, votes, edits) go through the group
//! commit; opening, refreshing and merging also move refs of the source
//! repository and run on their own.

use forge_core::role::Action;
use forge_git::MergeStrategy;
use forge_tickets::doc::Side;
use forge_tickets::request::FlagStatus;
use forge_tickets::view::FileDiffView;
use forge_tickets::{Actor, InlineTarget, NewFlag, NewPull, PullEdit, PullFilter, PullRequests};
use serde_json::{json, Map, Value};

use crate::app::{ok, Answer};
use crate::error::ApiError;
use crate::extract::{Ctx, Fields};
use crate::pagure::{DiffAnswer, Flag, MergeAnswer, PullList, PullRequest, VoteAnswer};
use crate::router::At;

/// Largest patch of one file a diff answer carries (as `forge pr diff`).
const PATCH_LIMIT: usize = 1 << 20;

fn prs<'s>(ctx: &Ctx<'s>, at: &At) -> Result<PullRequests<'s>, ApiError> {
    Ok(PullRequests::open(ctx.store, &ctx.app.home, &at.project)?)
}

/// Runs a pull-request write in the server's group commit.
fn write<T: Send + 'static>(
    ctx: &Ctx<'_>,
    at: &At,
    write: impl FnMut(&PullRequests<'_>) -> forge_tickets::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(ctx
        .app
        .writes
        .pulls(ctx.store, &ctx.app.home, &at.project, write)?)
}

/// A request in Pagure's shape; `project` is its project's (computed
/// once for a listing).
fn pagure_pull(
    ctx: &Ctx<'_>,
    at: &At,
    project: &Value,
    d: &forge_tickets::PullDetails,
) -> Result<PullRequest, ApiError> {
    let source = &d.source.repo;
    let fork_owner = source
        .strip_prefix("forks/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(_, name)| *name == at.project.full_name)
        .map(|(owner, _)| owner);
    let repo_from = if *source == at.project.full_name {
        Some(project.clone())
    } else if let Some(owner) = fork_owner {
        Some(crate::projects::fork_json(ctx, &at.project, owner)?)
    } else {
        None
    };
    Ok(PullRequest::of(
        d,
        project,
        repo_from,
        &ctx.call.base_url,
        &|u| ctx.user(u),
    ))
}

/// A request in Pagure's shape, as the actor sees it now.
fn shown(ctx: &Ctx<'_>, at: &At, prs: &PullRequests<'_>, actor: &Actor, n: u64) -> Answer {
    let d = prs.show(actor, n)?;
    let project = crate::projects::project_json(ctx, &at.project)?;
    ok(&pagure_pull(ctx, at, &project, &d)?)
}

/// A flag's completion, 0 to 100, if given.
pub(crate) fn percent(f: &Fields) -> Result<Option<u8>, ApiError> {
    f.text("percent")
        .map(|p| {
            p.parse::<u8>()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| ApiError::field("percent", "a number from 0 to 100"))
        })
        .transpose()
}

/// `GET <repo>/pull-requests`: `status`, `author`, `assignee`; paginated.
pub(crate) fn list(ctx: &Ctx<'_>, at: &At) -> Answer {
    let q = &ctx.query;
    let status = q
        .choice(
            "status",
            &[
                ("open", Some("open")),
                ("true", Some("open")),
                ("closed", Some("closed")),
                ("false", Some("closed")),
                ("merged", Some("merged")),
                ("all", None),
            ],
        )?
        .unwrap_or(Some("open"));
    let prs = prs(ctx, at)?;
    let all = PullFilter {
        status: status.map(String::from),
        author: q.get("author").map(String::from),
        assignee: q.get("assignee").map(String::from),
        limit: usize::MAX >> 1,
        offset: 0,
    };
    let total = prs.count(&at.actor, &all)?;
    let (per_page, offset, pagination) = ctx.page(total)?;
    let page = PullFilter {
        limit: per_page,
        offset,
        ..all
    };
    let project = crate::projects::project_json(ctx, &at.project)?;
    let mut requests = Vec::new();
    for s in prs.list(&at.actor, &page)? {
        let d = prs.show(&at.actor, s.id)?;
        requests.push(pagure_pull(ctx, at, &project, &d)?);
    }
    // As Pagure echoes them: `status` as given (true when absent).
    let tags: Vec<&str> = q
        .all("tags")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let args = json!({"status": q.get("status").map_or(json!(true), |s| json!(s)),
                      "assignee": q.get("assignee"), "author": q.get("author"), "tags": tags,
                      "page": pagination.page, "per_page": pagination.per_page});
    ok(&PullList {
        // Pagure's `total_requests` counts all that match.
        total_requests: total,
        requests,
        pagination,
        args,
    })
}

/// `GET user/<name>/requests/filed|actionable`: the requests `name` opened,
/// or those they may act on (on projects they may commit to, opened by
/// others), on every project the viewer may see; newest first, `status`
/// (open by default, closed, merged, all), paginated as Pagure.
pub(crate) fn of_user(ctx: &Ctx<'_>, name: &str, which: &str) -> Answer {
    ctx.store.user(name)?;
    let q = &ctx.query;
    let asked = q.get("status").unwrap_or("open");
    let status = match asked.to_ascii_lowercase().as_str() {
        "all" => None,
        s @ ("open" | "closed" | "merged") => Some(s.to_string()),
        _ => return Err(ApiError::field("status", "Not a valid choice.")),
    };
    let viewer = ctx.viewer_name()?;
    let mut found = Vec::new();
    for project in ctx.store.list_projects()? {
        if !ctx.visible(&project, viewer.as_deref())? {
            continue;
        }
        let filed = which == "filed";
        if !filed && !crate::projects::may_commit(ctx, &project, name)? {
            continue;
        }
        let actor = match &viewer {
            Some(v) => Actor::for_user(ctx.store, &project, v)?,
            None => Actor::anonymous(project.private),
        };
        let prs = PullRequests::open(ctx.store, &ctx.app.home, &project)?;
        let filter = PullFilter {
            status: status.clone(),
            author: filed.then(|| name.to_string()),
            assignee: None,
            limit: usize::MAX >> 1,
            offset: 0,
        };
        for s in prs.list(&actor, &filter)? {
            if filed || s.author != name {
                found.push((s.created_at.clone(), project.clone(), s.id));
            }
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    let (per_page, offset, pagination) = ctx.page(found.len() as u64)?;
    let mut requests = Vec::new();
    for (_, project, n) in found.into_iter().skip(offset).take(per_page) {
        let actor = match &viewer {
            Some(v) => Actor::for_user(ctx.store, &project, v)?,
            None => Actor::anonymous(project.private),
        };
        let d = PullRequests::open(ctx.store, &ctx.app.home, &project)?.show(&actor, n)?;
        let json = crate::projects::project_json(ctx, &project)?;
        let at = At {
            project,
            fork: None,
            actor,
        };
        requests.push(pagure_pull(ctx, &at, &json, &d)?);
    }
    let args = json!({"username": name, "status": asked, "page": pagination.page,
                      "created": q.get("created"), "updated": q.get("updated"),
                      "closed": q.get("closed")});
    // Pagure's `total_requests` here counts the page.
    ok(
        &json!({"total_requests": requests.len(), "requests": requests,
               "args": args, "pagination": pagination}),
    )
}

/// `GET <repo>/pull-request/<id>`.
pub(crate) fn show(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    shown(ctx, at, &prs(ctx, at)?, &at.actor, n)
}

/// `POST <repo>/pull-request/new`.
pub(crate) fn create(ctx: &Ctx<'_>, at: &At) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestCreate)?;
    let f = ctx.fields()?;
    let new = NewPull {
        title: f.required("title")?.clone(),
        body: f.get("initial_comment").cloned().unwrap_or_default(),
        from_branch: f.required("branch_from")?.clone(),
        from_fork: f.text("repo_from_username"),
        // forge's own: a branch of any git URL (behind the server's
        // remote-URL rules), and an assignee at once.
        from_url: f.text("repo_from_url"),
        // Pagure requires it; forge defaults to the default branch.
        to: f.get("branch_to").filter(|b| !b.trim().is_empty()).cloned(),
        assignee: f.text("assignee"),
    };
    if new.assignee.is_some() {
        ctx.acting(Action::PullRequestMerge, Some(&at.project.full_name))?;
    }
    let prs = prs(ctx, at)?;
    let pull = prs.create(&actor, new)?;
    shown(ctx, at, &prs, &actor, pull.number)
}

/// `GET <repo>/pull-request/<id>/diff` (forge's own).
pub(crate) fn diff(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let files = prs(ctx, at)?.diff(&at.actor, n, PATCH_LIMIT)?;
    ok(&DiffAnswer {
        files: files.iter().map(FileDiffView::from).collect(),
    })
}

/// `GET <repo>/pull-request/<id>/diffstats`.
pub(crate) fn diffstats(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let files = prs(ctx, at)?.diff(&at.actor, n, 0)?;
    let stats: Map<String, Value> = files
        .iter()
        .map(|f| {
            let path = f
                .new_path
                .clone()
                .or_else(|| f.old_path.clone())
                .unwrap_or_default();
            let status = match f.status.as_str() {
                "added" => "A",
                "deleted" => "D",
                "renamed" => "R",
                _ => "M",
            };
            // Pagure names an added file's own path as its old one.
            let old_path = f.old_path.clone().unwrap_or_else(|| path.clone());
            (
                path,
                json!({"lines_added": f.additions, "lines_removed": f.deletions,
                       "old_path": old_path, "status": status,
                       "old_id": f.old_id, "new_id": f.new_id}),
            )
        })
        .collect();
    ok(&stats)
}

/// `POST <repo>/pull-request/<id>`: `title`, `initial_comment`, and forge's
/// own `assignee`, `add_tag`, `remove_tag`, `watch`.
pub(crate) fn edit(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let f = ctx.fields()?;
    let edit = PullEdit {
        title: f.get("title").cloned(),
        body: f.get("initial_comment").cloned(),
        assignee: f.optional("assignee"),
        add_tags: f.list("add_tag"),
        remove_tags: f.list("remove_tag"),
        watch: f.yes_no("watch")?,
    };
    if edit == PullEdit::default() {
        return Err(ApiError::new(400, "EINVALIDREQ", "nothing to change: give title, initial_comment, assignee, add_tag, remove_tag or watch"));
    }
    let mut actions = vec![];
    if edit.title.is_some()
        || edit.body.is_some()
        || !edit.add_tags.is_empty()
        || !edit.remove_tags.is_empty()
    {
        actions.push(Action::PullRequestUpdate);
    }
    if edit.assignee.is_some() {
        actions.push(Action::PullRequestAssign);
    }
    if edit.watch.is_some() {
        actions.push(Action::PullRequestSubscribe);
    }
    let user = ctx.acting_for_all(&actions, &at.project.full_name)?;
    let actor = Actor::for_user(ctx.store, &at.project, &user)?;
    {
        let actor = actor.clone();
        write(ctx, at, move |p| p.edit(&actor, n, edit.clone()).map(drop))?;
    }
    shown(ctx, at, &prs(ctx, at)?, &actor, n)
}

/// `POST <repo>/pull-request/<id>/comment`: `comment`; `filename`, `row`
/// and `commit` for an inline comment.
pub(crate) fn comment(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestComment)?;
    let f = ctx.fields()?;
    let body = f.required("comment")?.clone();
    let inline = match (f.text("filename"), f.get("row")) {
        (Some(path), Some(row)) => Some(InlineTarget {
            path,
            line: row
                .parse()
                .map_err(|_| ApiError::field("row", "must be a line number"))?,
            commit: f.text("commit"),
            side: Side::New,
        }),
        _ => None,
    };
    write(ctx, at, move |p| {
        p.comment(&actor, n, &body, inline.clone()).map(drop)
    })?;
    ok(&json!({"message": "Comment added"}))
}

/// `GET <repo>/pull-request/<id>/flag`.
pub(crate) fn flags(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let d = prs(ctx, at)?.show(&at.actor, n)?;
    let flags: Vec<Flag> = d
        .flags
        .iter()
        .map(|f| Flag::of(f, &|u| ctx.user(u)))
        .collect();
    ok(&json!({ "flags": flags }))
}

/// `POST <repo>/pull-request/<id>/flag`: `username` (the flag's name),
/// `status`, `percent`, `comment`, `url`.
pub(crate) fn flag(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestFlag)?;
    let f = ctx.fields()?;
    let name = f
        .text("username")
        .ok_or_else(|| ApiError::field("username", "This field is required."))?;
    let status_text = f.text("status").unwrap_or_else(|| "success".into());
    let status = FlagStatus::parse(&status_text)
        .ok_or_else(|| ApiError::field("status", "success, failure, error, pending or canceled"))?;
    let flag = NewFlag {
        name: name.clone(),
        status,
        percent: percent(&f)?,
        comment: f.get("comment").cloned().unwrap_or_default(),
        url: f.text("url"),
    };
    let prs = prs(ctx, at)?;
    let existed = prs.show(&actor, n)?.flags.iter().any(|fl| fl.name == name);
    {
        let actor = actor.clone();
        write(ctx, at, move |p| p.flag(&actor, n, flag.clone()).map(drop))?;
    }
    let shown = prs.show(&actor, n)?;
    let who = actor.username.clone();
    let mut flag = json!(shown
        .flags
        .iter()
        .find(|fl| fl.name == name)
        .map(|f| Flag::of(f, &|u| ctx.user(u))));
    // Pagure's answer shows the poster's addresses to the poster.
    if flag.is_object() {
        flag["user"] = ctx.user_with_emails(&who)?;
    }
    ok(&json!({
        "flag": flag, "uid": name, "user": who, "avatar_url": ctx.avatar(&who, 30)?,
        "message": if existed { "Flag updated" } else { "Flag added" },
    }))
}

/// `POST <repo>/pull-request/<id>/merge`: `strategy` (merge, ff, squash, rebase).
pub(crate) fn merge(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestMerge)?;
    let f = ctx.fields()?;
    let strategy = match f.get("strategy").map(String::as_str) {
        None | Some("" | "merge") => MergeStrategy::MergeCommit,
        Some("ff") => MergeStrategy::FastForward,
        Some("squash") => MergeStrategy::Squash,
        Some("rebase") => MergeStrategy::Rebase,
        Some(other) => {
            return Err(ApiError::field(
                "strategy",
                format!("`{other}` is not merge, ff, squash or rebase"),
            ))
        }
    };
    let outcome = prs(ctx, at)?.merge(&actor, n, strategy)?;
    // forge's own beside Pagure's message: what happened.
    ok(&MergeAnswer {
        message: "Changes merged!".into(),
        merge_commit: Some(outcome.merge_commit),
        closed_issues: outcome.closed_issues,
    })
}

/// `POST <repo>/pull-request/<id>/vote`: `vote` (up, down).
pub(crate) fn vote(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestComment)?;
    let up = match ctx.fields()?.get("vote").map(String::as_str) {
        Some("up" | "+1") => true,
        Some("down" | "-1") => false,
        _ => return Err(ApiError::field("vote", "up or down")),
    };
    {
        let actor = actor.clone();
        write(ctx, at, move |p| p.vote(&actor, n, up).map(drop))?;
    }
    let d = prs(ctx, at)?.show(&actor, n)?;
    ok(&VoteAnswer {
        message: "Vote recorded".into(),
        score: d.score,
        votes: d.votes,
    })
}

/// `POST <repo>/pull-request/<id>/refresh`: follow the source branch.
pub(crate) fn refresh(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestCreate)?;
    let prs = prs(ctx, at)?;
    prs.refresh(&actor, n)?;
    shown(ctx, at, &prs, &actor, n)
}

/// `POST <repo>/pull-request/<id>/close|reopen`.
pub(crate) fn close_or_reopen(ctx: &Ctx<'_>, at: &At, n: u64, what: &str) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestClose)?;
    let message = if what == "close" {
        write(ctx, at, move |p| p.close(&actor, n).map(drop))?;
        "Pull-request closed!"
    } else {
        write(ctx, at, move |p| p.reopen(&actor, n).map(drop))?;
        "Pull-request reopened!"
    };
    ok(&json!({"message": message}))
}

/// `POST <repo>/pull-request/<id>/assign`: `assignee` (empty: unassign).
pub(crate) fn assign(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestAssign)?;
    let edit = PullEdit {
        assignee: Some(ctx.fields()?.text("assignee")),
        ..Default::default()
    };
    write(ctx, at, move |p| p.edit(&actor, n, edit.clone()).map(drop))?;
    ok(&json!({"message": "Request assigned"}))
}

/// `POST <repo>/pull-request/<id>/subscribe`: `status` (true, false).
pub(crate) fn subscribe(ctx: &Ctx<'_>, at: &At, n: u64) -> Answer {
    let actor = ctx.actor(&at.project, Action::PullRequestSubscribe)?;
    let on = ctx
        .fields()?
        .get("status")
        .is_none_or(|s| s == "true" || s == "1" || s == "on");
    let edit = PullEdit {
        watch: Some(on),
        ..Default::default()
    };
    let who = actor.username.clone();
    write(ctx, at, move |p| p.edit(&actor, n, edit.clone()).map(drop))?;
    ok(&json!({"message": format!(
        "You are {} watching this pull-request",
        if on { "now" } else { "no longer" }
    ), "avatar_url": ctx.avatar(&who, 30)?, "user": who}))
}
