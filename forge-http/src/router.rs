//! Which endpoint answers a path and a method: one match over the path's
//! segments, each endpoint with the methods it takes (others are a 405).

use forge_core::project::Project;
use forge_core::Store;
use forge_tickets::Actor;

use crate::app::Answer;
use crate::error::ApiError;
use crate::extract::Ctx;
use crate::{admin, ci, issues, projects, pulls, search, users};

/// The path segments after `/api/0/`, decoded; encoded slashes, `..` and
/// empty segments are refused.
pub(crate) fn segments(path: &str) -> Result<Vec<String>, ApiError> {
    let rest = path
        .strip_prefix("/api/0/")
        .ok_or_else(ApiError::no_endpoint)?;
    decode_segments(rest)
}

/// The segments of a path after its prefix, decoded, with the same
/// refusals; none for an empty path.
pub(crate) fn decode_segments(rest: &str) -> Result<Vec<String>, ApiError> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split('/')
        .map(|s| {
            let decoded = percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map_err(|_| ApiError::new(400, "EINVALIDREQ", "the path is not UTF-8"))?;
            if decoded.is_empty()
                || decoded == "."
                || decoded == ".."
                || decoded.contains('/')
                || decoded.contains('\0')
            {
                return Err(ApiError::new(
                    400,
                    "EINVALIDREQ",
                    format!("invalid path segment `{s}`"),
                ));
            }
            Ok(decoded.into_owned())
        })
        .collect()
}

/// Runs `f` when the method is `allowed`, else answers 405.
fn only(method: &str, allowed: &'static str, f: impl FnOnce() -> Answer) -> Answer {
    if allowed.split(", ").any(|m| m == method) {
        f()
    } else {
        Err(ApiError::method_not_allowed(allowed))
    }
}

/// GET and POST on one path, each with its endpoint.
fn get_post(method: &str, get: impl FnOnce() -> Answer, post: impl FnOnce() -> Answer) -> Answer {
    match method {
        "GET" => get(),
        "POST" => post(),
        _ => Err(ApiError::method_not_allowed("GET, POST")),
    }
}

/// Answers one API call.
pub(crate) fn route(ctx: &Ctx<'_>) -> Answer {
    let segs = segments(&ctx.call.path)?;
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = ctx.call.method.as_str();
    match s.as_slice() {
        ["version"] => only(m, "GET", || users::version(ctx)),
        ["error_codes"] => only(m, "GET", || users::error_codes(ctx)),
        ["-", "whoami"] => only(m, "GET, POST", || users::whoami(ctx)),
        ["users"] => only(m, "GET", || users::users(ctx)),
        ["user", name] => only(m, "GET", || users::user(ctx, name)),
        ["user", name, what @ ("disable" | "enable")] => only(m, "POST", || {
            admin::set_disabled(ctx, name, *what == "disable")
        }),
        ["user", name, "activity", "stats"] => only(m, "GET", || users::activity_stats(ctx, name)),
        ["user", name, "activity", day] => only(m, "GET", || users::activity_day(ctx, name, day)),
        ["user", name, "requests", which @ ("filed" | "actionable")] => {
            only(m, "GET", || pulls::of_user(ctx, name, which))
        }
        ["groups"] => only(m, "GET", || users::groups(ctx)),
        ["projects"] => only(m, "GET", || projects::list(ctx)),
        ["search"] => only(m, "GET", || search::answer(ctx, None)),
        ["new"] => only(m, "POST", || projects::create(ctx)),
        ["fork"] => only(m, "POST", || projects::fork(ctx)),
        ["ci", "jenkins", path @ .., token, "build-finished"] => {
            only(m, "POST", || ci::jenkins_finished(ctx, path, token))
        }
        _ => project_route(ctx, m, &s),
    }
}

/// What a project route names: the project, the fork of it if any, and
/// who asks.
pub(crate) struct At {
    /// The project.
    pub project: Project,
    /// `fork/<user>/...`: that user's fork.
    pub fork: Option<String>,
    /// The viewer (anonymous without a token).
    pub actor: Actor,
}

impl At {
    /// The path of its pages without the leading slash: `ns/name`, or
    /// `fork/<user>/ns/name` for a fork.
    pub(crate) fn path(&self) -> String {
        match &self.fork {
            Some(user) => format!("fork/{user}/{}", self.project.full_name),
            None => self.project.full_name.clone(),
        }
    }
}

/// The project a path names (`<repo>/...`, `<ns>/<repo>/...`,
/// `fork/<user>/<repo>/...`) if the viewer may see it (and the fork
/// exists), with the viewer as its actor, and the rest of the path: the one
/// lookup the API and the pages share. 404 ENOPROJECT otherwise.
pub(crate) fn locate<'p>(ctx: &Ctx<'_>, s: &'p [&'p str]) -> Result<(At, &'p [&'p str]), ApiError> {
    let store = ctx.store;
    let (fork, s) = match s {
        ["fork", user, rest @ ..] => (Some(*user), rest),
        _ => (None, s),
    };
    let not_found = || ApiError::new(404, "ENOPROJECT", "Project not found");
    if s.is_empty() {
        return Err(ApiError::no_endpoint());
    }
    let (project, rest) = project_at(store, s)?.ok_or_else(not_found)?;
    let viewer = ctx.viewer_name()?;
    if !ctx.visible(&project, viewer.as_deref())? {
        return Err(not_found());
    }
    if let Some(user) = fork {
        if !store.has_fork(&project, user)? {
            return Err(not_found());
        }
    }
    let actor = match &viewer {
        Some(v) => Actor::for_user(store, &project, v)?,
        None => Actor::anonymous(project.private),
    };
    let at = At {
        project,
        fork: fork.map(String::from),
        actor,
    };
    Ok((at, rest))
}

/// The project a path starts with (`ns/name` first, then `name`), and the
/// rest of the path: one lookup per candidate name.
pub(crate) fn project_at<'p, S: AsRef<str>>(
    store: &Store,
    s: &'p [S],
) -> forge_core::Result<Option<(Project, &'p [S])>> {
    for n in [2, 1] {
        let Some(head) = s.get(..n) else { continue };
        let name = head.iter().map(AsRef::as_ref).collect::<Vec<_>>().join("/");
        if let Some(p) = store.find_project(&name)? {
            return Ok(Some((p, &s[n..])));
        }
    }
    Ok(None)
}

/// The project once called `old`, renamed since, if `viewer` may see it.
pub(crate) fn renamed_to(
    store: &Store,
    old: &str,
    viewer: Option<&str>,
) -> forge_core::Result<Option<Project>> {
    let Some(new) = store.project_redirect(old)? else {
        return Ok(None);
    };
    let project = store.project(&new)?;
    Ok(crate::extract::visible_to(store, &project, viewer)?.then_some(project))
}

/// `<repo>/...`, `<ns>/<repo>/...`, `fork/<user>/<repo>/...`.
fn project_route(ctx: &Ctx<'_>, m: &str, s: &[&str]) -> Answer {
    let (at, rest) = locate(ctx, s)?;
    at_route(ctx, &at, m, rest)
}

/// The endpoint at `rest` of a located project: what the API answers, and
/// what the pages' forms post to.
pub(crate) fn at_route(ctx: &Ctx<'_>, at: &At, m: &str, rest: &[&str]) -> Answer {
    match rest {
        [] => match m {
            "GET" => projects::show(ctx, at),
            "PATCH" => admin::transfer(ctx, at),
            _ => Err(ApiError::method_not_allowed("GET, PATCH")),
        },
        ["options"] => only(m, "GET", || admin::options(ctx, at)),
        ["options", "update"] => only(m, "POST", || admin::update_options(ctx, at)),
        ["git", "modifyacls"] => only(m, "POST", || admin::modify_acls(ctx, at)),
        ["deploykeys"] => only(m, "GET", || admin::deploy_keys(ctx, at)),
        ["deploykeys", "new"] => only(m, "POST", || admin::add_deploy_key(ctx, at)),
        ["deploykeys", "remove"] => only(m, "POST", || admin::remove_deploy_key(ctx, at)),
        ["rename"] => only(m, "POST", || admin::rename(ctx, at)),
        ["transfer"] => only(m, "POST", || admin::transfer(ctx, at)),
        ["delete"] => only(m, "POST", || admin::delete(ctx, at)),
        ["search"] => only(m, "GET", || {
            search::answer(ctx, Some(&at.project.full_name))
        }),
        ["ci"] => only(m, "GET", || ci::show(ctx, at)),
        ["ci", "set"] => only(m, "POST", || ci::set(ctx, at)),
        ["ci", "remove"] => only(m, "POST", || ci::remove(ctx, at)),
        ["webhooks"] => only(m, "GET", || admin::list_webhooks(ctx, at)),
        ["webhooks", "new"] => only(m, "POST", || admin::add_webhook(ctx, at)),
        ["webhooks", id, "remove"] => only(m, "POST", || admin::remove_webhook(ctx, at, id)),
        ["webhooks", id, "deliveries"] => only(m, "GET", || admin::webhook_deliveries(ctx, at, id)),
        ["webhooks", "deliveries", d, "redeliver"] => {
            only(m, "POST", || admin::redeliver_webhook(ctx, at, d))
        }
        ["git", "branches"] => only(m, "GET", || projects::branches(ctx, at)),
        ["git", "tags"] => only(m, "GET", || projects::git_tags(ctx, at)),
        ["git", "urls"] => only(m, "GET", || projects::urls(ctx, at)),
        ["tags"] => only(m, "GET", || issues::tags(ctx, at)),
        ["contributors"] => only(m, "GET", || projects::contributors(ctx, at)),
        ["c", hash, "flag"] => get_post(
            m,
            || projects::commit_flags(ctx, at, hash),
            || projects::flag_commit(ctx, at, hash),
        ),
        ["issues"] | ["new_issue"] | ["issue", ..] => {
            if !at.project.settings.issue_tracker {
                return Err(ApiError::new(
                    404,
                    "ETRACKERDISABLED",
                    "Issue tracker disabled for this project",
                ));
            }
            issue_route(ctx, at, m, rest)
        }
        ["pull-requests"] | ["pull-request", ..] => {
            if !at.project.settings.pull_requests {
                return Err(ApiError::new(
                    404,
                    "EPULLREQUESTSDISABLED",
                    "Pull-Request have been deactivated for this project",
                ));
            }
            pull_route(ctx, at, m, rest)
        }
        _ => Err(ApiError::no_endpoint()),
    }
}

fn issue_route(ctx: &Ctx<'_>, at: &At, m: &str, rest: &[&str]) -> Answer {
    let number = |text: &str| -> Result<u64, ApiError> {
        forge_tickets::parse_number(text)
            .ok_or_else(|| ApiError::new(404, "ENOISSUE", "Issue not found"))
    };
    match rest {
        ["issues"] => only(m, "GET", || issues::list(ctx, at)),
        ["new_issue"] => only(m, "POST", || issues::create(ctx, at)),
        ["issue", id] => get_post(
            m,
            || issues::show(ctx, at, number(id)?),
            || issues::edit(ctx, at, number(id)?),
        ),
        ["issue", id, "comment"] => only(m, "POST", || issues::comment(ctx, at, number(id)?)),
        ["issue", id, "comment", cid] => {
            only(m, "GET", || issues::show_comment(ctx, at, number(id)?, cid))
        }
        ["issue", id, "status"] => only(m, "POST", || issues::status(ctx, at, number(id)?)),
        ["issue", id, what @ ("assign" | "milestone" | "subscribe")] => {
            only(m, "POST", || issues::set(ctx, at, number(id)?, what))
        }
        ["issue", id, "custom", field] => {
            only(m, "POST", || issues::custom(ctx, at, number(id)?, field))
        }
        _ => Err(ApiError::no_endpoint()),
    }
}

fn pull_route(ctx: &Ctx<'_>, at: &At, m: &str, rest: &[&str]) -> Answer {
    let number = |text: &str| -> Result<u64, ApiError> {
        text.parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::new(404, "ENOREQ", "Pull-Request not found"))
    };
    match rest {
        ["pull-requests"] => only(m, "GET", || pulls::list(ctx, at)),
        ["pull-request", "new"] => only(m, "POST", || pulls::create(ctx, at)),
        ["pull-request", id] => get_post(
            m,
            || pulls::show(ctx, at, number(id)?),
            || pulls::edit(ctx, at, number(id)?),
        ),
        ["pull-request", id, "diff"] => only(m, "GET", || pulls::diff(ctx, at, number(id)?)),
        ["pull-request", id, "diffstats"] => {
            only(m, "GET", || pulls::diffstats(ctx, at, number(id)?))
        }
        ["pull-request", id, "flag"] => get_post(
            m,
            || pulls::flags(ctx, at, number(id)?),
            || pulls::flag(ctx, at, number(id)?),
        ),
        ["pull-request", id, "comment"] => only(m, "POST", || pulls::comment(ctx, at, number(id)?)),
        ["pull-request", id, "merge"] => only(m, "POST", || pulls::merge(ctx, at, number(id)?)),
        ["pull-request", id, "vote"] => only(m, "POST", || pulls::vote(ctx, at, number(id)?)),
        ["pull-request", id, "refresh"] => only(m, "POST", || pulls::refresh(ctx, at, number(id)?)),
        ["pull-request", id, what @ ("close" | "reopen")] => only(m, "POST", || {
            pulls::close_or_reopen(ctx, at, number(id)?, what)
        }),
        ["pull-request", id, "assign"] => only(m, "POST", || pulls::assign(ctx, at, number(id)?)),
        ["pull-request", id, "subscribe"] => {
            only(m, "POST", || pulls::subscribe(ctx, at, number(id)?))
        }
        _ => Err(ApiError::no_endpoint()),
    }
}
