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
pub(crate) fn error_codes(_: &Ctx<'_>) -> Answer {
    let codes: Map<String, Value> = ERROR_CODES
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
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
                   "image": u.emails.first().map(|e| forge_core::user::avatar_url(e, 16))})
        })
        .collect();
    ok(&json!({"total_users": names.len(), "users": names, "mention": mention}))
}

/// `GET user/<name>`: the user and the projects they own that the viewer may see.
pub(crate) fn user(ctx: &Ctx<'_>, name: &str) -> Answer {
    let user = ctx.store.user(name)?;
    let viewer = ctx.viewer_name()?;
    let mut repos = Vec::new();
    for p in ctx.store.list_projects()? {
        if p.owner == user.username && ctx.visible(&p, viewer.as_deref())? {
            repos.push(crate::projects::project_json(ctx, &p)?);
        }
    }
    ok(&json!({"user": ctx.user(&user.username), "repos": repos, "forks": []}))
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

/// `GET groups`.
pub(crate) fn groups(ctx: &Ctx<'_>) -> Answer {
    let groups = ctx.store.list_groups()?;
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    ok(&json!({"total_groups": names.len(), "groups": names}))
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
