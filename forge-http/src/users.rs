//! The server, its users and groups: version, error codes, whoami, users,
//! a user's projects and activity, groups.

use serde_json::{json, Map, Value};

use crate::app::{ok, Answer};
use crate::error::{ApiError, ERROR_CODES};
use crate::extract::Ctx;

/// `GET version`.
pub(crate) fn version(_: &Ctx<'_>) -> Answer {
    ok(&json!({"version": env!("CARGO_PKG_VERSION")}))
}

/// `GET error_codes`.
pub(crate) fn error_codes(ctx: &Ctx<'_>) -> Answer {
    let mut codes: Map<String, Value> = ERROR_CODES
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    // As Pagure words it, naming this server's settings page.
    codes.insert("EINVALIDTOK".into(), json!(ctx.bad_token("").message));
    ok(&codes)
}

/// `GET|POST -/whoami`.
pub(crate) fn whoami(ctx: &Ctx<'_>) -> Answer {
    let token = ctx
        .token()?
        .ok_or_else(|| ctx.bad_token("a token is needed"))?;
    ok(&json!({"username": token.user}))
}

/// `GET users`: every user, or those whose name matches `pattern` (its
/// start, `*` for any run of characters), with Pagure's `mention` list
/// for completing `@name`.
pub(crate) fn users(ctx: &Ctx<'_>) -> Answer {
    let pattern = ctx
        .query
        .text("pattern")
        .map(|p| if p.ends_with('*') { p } else { format!("{p}*") });
    let users: Vec<_> = ctx
        .store
        .list_users()?
        .into_iter()
        .filter(|u| {
            pattern
                .as_deref()
                .is_none_or(|p| forge_core::name::glob_match(p, &u.username))
        })
        .collect();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    let mention: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({"username": u.username, "name": u.full_name,
                   "image": u.avatar(16)})
        })
        .collect();
    ok(&json!({"total_users": names.len(), "users": names, "mention": mention}))
}

/// The projects the viewer may see that `user` owns or may commit to
/// (Pagure's `repos` of a user), and those `user` has forked.
pub(crate) fn projects_of(
    ctx: &Ctx<'_>,
    user: &str,
) -> Result<
    (
        Vec<forge_core::project::Project>,
        Vec<forge_core::project::Project>,
    ),
    ApiError,
> {
    let viewer = ctx.viewer_name()?;
    let mut theirs = Vec::new();
    let mut forked = Vec::new();
    for p in ctx.store.list_projects()? {
        if !ctx.visible(&p, viewer.as_deref())? {
            continue;
        }
        if crate::projects::may_commit(ctx, &p, user)? {
            theirs.push(p.clone());
        }
        if ctx.store.has_fork(&p, user)? {
            forked.push(p);
        }
    }
    Ok((theirs, forked))
}

/// `GET user/<name>`: the user, the projects they own or may commit to
/// (Pagure's `repos`) and their forks, those the viewer may see.
pub(crate) fn user(ctx: &Ctx<'_>, name: &str) -> Answer {
    let user = ctx.store.user(name)?;
    let (owned, forked) = projects_of(ctx, &user.username)?;
    // As Pagure: each list paged on its own (`repopage`, `forkpage`), its
    // pagination under the key it pages by.
    let paged = |total: usize, key: &str| -> Result<(usize, usize, Value), ApiError> {
        let (per_page, offset, pagination) = ctx.page_by(total as u64, key)?;
        let mut pagination = serde_json::to_value(pagination).map_err(ApiError::internal)?;
        if let Some(map) = pagination.as_object_mut() {
            if let Some(page) = map.remove("page") {
                map.insert(key.to_string(), page);
            }
        }
        Ok((per_page, offset, pagination))
    };
    let (per_page, offset, repos_pagination) = paged(owned.len(), "repopage")?;
    let repos = owned
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|p| crate::projects::project_json(ctx, p))
        .collect::<Result<Vec<_>, _>>()?;
    let (per_page, offset, forks_pagination) = paged(forked.len(), "forkpage")?;
    let forks = forked
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|p| crate::projects::fork_json(ctx, p, &user.username))
        .collect::<Result<Vec<_>, _>>()?;
    let mut shown = serde_json::to_value(ctx.user(&user.username)).map_err(ApiError::internal)?;
    shown["avatar_url"] = json!(user.avatar(16));
    ok(&json!({"user": shown, "repos": repos, "forks": forks,
               "repos_pagination": repos_pagination, "forks_pagination": forks_pagination}))
}

/// `GET user/<name>/activity/stats`: commits per day.
pub(crate) fn activity_stats(ctx: &Ctx<'_>, name: &str) -> Answer {
    ctx.store.user(name)?;
    ok(&ctx.store.activity_by_day(name, None)?)
}

/// `GET user/<name>/activity/<YYYY-MM-DD>`.
pub(crate) fn activity_day(ctx: &Ctx<'_>, name: &str, day: &str) -> Answer {
    ctx.store.user(name)?;
    if chrono_day(day).is_none() {
        return Err(ApiError::field(
            "date",
            format!("`{day}` is not a YYYY-MM-DD date"),
        ));
    }
    let rows = ctx.store.activity_on(name, day)?;
    let activities: Vec<Value> = rows
        .into_iter()
        .map(|(project, commit)| json!({"type": "committed", "project": project, "commit": commit}))
        .collect();
    ok(&json!({"date": day, "activities": activities}))
}

/// `GET groups`: as Pagure, `pattern` (a name's start; `*` for any run),
/// `extended` (name and description), paginated; `total_groups` counts all
/// that match.
pub(crate) fn groups(ctx: &Ctx<'_>) -> Answer {
    let q = &ctx.query;
    let pattern = q.text("pattern").map(|p| {
        let p = p.to_lowercase();
        if p.ends_with('*') {
            p
        } else {
            format!("{p}*")
        }
    });
    let groups: Vec<_> = ctx
        .store
        .list_groups()?
        .into_iter()
        .filter(|g| {
            pattern
                .as_deref()
                .is_none_or(|p| forge_core::name::glob_match(p, &g.name.to_lowercase()))
        })
        .collect();
    let (per_page, offset, pagination) = ctx.page(groups.len() as u64)?;
    let extended = q.flag("extended") == Some(true);
    let page: Vec<serde_json::Value> = groups
        .iter()
        .skip(offset)
        .take(per_page)
        .map(|g| match extended {
            // forge's groups have no description.
            true => json!({"name": g.name, "description": ""}),
            false => json!(g.name),
        })
        .collect();
    ok(&json!({"total_groups": groups.len(), "groups": page, "pagination": pagination}))
}

/// Whether `day` is a `YYYY-MM-DD` date.
pub(crate) fn chrono_day(day: &str) -> Option<()> {
    let parts: Vec<&str> = day.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
            y.parse::<u32>().ok()?;
            ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some(())
        }
        _ => None,
    }
}
