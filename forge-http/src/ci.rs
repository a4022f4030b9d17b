//! What CI servers call: `POST /api/0/ci/jenkins/<repo>/<ci_token>/build-finished`
//! (also `<namespace>/<repo>` and the `forks/<user>/...` forms, which name
//! the project a fork's pull requests go to), as Pagure's Jenkins
//! notification endpoint. The token in the path is the project's callback
//! token (compared in constant time); the body names the build
//! (`{"build": {"number": N}}`, as Jenkins' notification plugin sends it).
//! The call only records a `ci.build.finished` event: the `ci` worker reads
//! the build from Jenkins and flags its pull request, so a slow Jenkins
//! never holds the call.
//!
//! Beside it, the API of a project's CI server for its admins:
//! `GET <repo>/ci`, `POST <repo>/ci/set`, `POST <repo>/ci/remove`.

use forge_notify::ci::setup::{CiSettings, Kind, NewSetup};
use forge_notify::ci::worker;
use serde_json::json;

use crate::app::{ok, Answer};
use crate::error::ApiError;
use crate::extract::Ctx;
use crate::router::At;

/// One answer for every refusal: an unknown project, a project without a
/// CI server and a wrong token look alike (a private project stays
/// hidden).
fn refused() -> ApiError {
    ApiError::new(
        401,
        "EINVALIDTOK",
        "Invalid CI token, or no project with a CI server at this address",
    )
}

/// `POST ci/jenkins/<path>/<token>/build-finished`.
pub(crate) fn jenkins_finished(ctx: &Ctx<'_>, path: &[&str], token: &str) -> Answer {
    let (fork, name) = match path {
        ["forks", user, rest @ ..] => (Some(*user), rest),
        rest => (None, rest),
    };
    if !(1..=2).contains(&name.len()) {
        return Err(ApiError::no_endpoint());
    }
    let store = ctx.store;
    let project = store.find_project(&name.join("/"))?.ok_or_else(refused)?;
    if let Some(user) = fork {
        if !store.has_fork(&project, user)? {
            return Err(refused());
        }
    }
    let ci = CiSettings::new(store, &ctx.app.home);
    let setup = ci.get(&project)?.filter(|s| s.provider == Kind::Jenkins);
    if setup.is_none() || !ci.accepts_callback(&project, token)? {
        return Err(refused());
    }
    let body: serde_json::Value = serde_json::from_slice(&ctx.call.body).map_err(|e| {
        ApiError::new(
            400,
            "EINVALIDREQ",
            format!("the body is not JSON ({e}); Jenkins' notification sends {{\"build\": {{\"number\": N}}}}"),
        )
    })?;
    let number = body["build"]["number"].as_u64().ok_or_else(|| {
        ApiError::new(
            400,
            "EINVALIDREQ",
            "the body names no build: expected {\"build\": {\"number\": N}}",
        )
    })?;
    worker::build_finished(store, &project, Kind::Jenkins, number)?;
    ok(&json!({
        "message": format!("Build {number} of {} will be read from Jenkins", project.full_name),
    }))
}

/// `GET <repo>/ci` (admins): the project's CI server, no token.
pub(crate) fn show(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = crate::admin::admin(ctx, at)?;
    let setup = CiSettings::new(ctx.store, &ctx.app.home).get(admin.project())?;
    ok(&json!({ "ci": setup }))
}

/// `POST <repo>/ci/set` (admins): `provider` (`jenkins`), `url`, `job`,
/// `token` (the job's trigger token). The answer holds the address the
/// server calls back, shown this once (`callback_url`).
pub(crate) fn set(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = crate::admin::admin(ctx, at)?;
    let f = ctx.fields()?;
    let provider = Kind::parse(f.text("provider").as_deref().unwrap_or("jenkins"))
        .map_err(|e| ApiError::field("provider", e.to_string()))?;
    let (setup, callback) = CiSettings::new(ctx.store, &ctx.app.home).set(
        admin.project(),
        &NewSetup {
            provider,
            url: f.required("url")?.trim(),
            job: f.required("job")?.trim(),
            token: f.required("token")?.trim(),
        },
        ctx.app.config.webhooks_allow_private,
    )?;
    let callback_url = format!(
        "{}/api/0/ci/{}/{}/{callback}/build-finished",
        ctx.call.base_url,
        provider.as_str(),
        admin.project().full_name
    );
    ok(&json!({ "ci": setup, "callback_url": callback_url }))
}

/// `POST <repo>/ci/remove` (admins).
pub(crate) fn remove(ctx: &Ctx<'_>, at: &At) -> Answer {
    let admin = crate::admin::admin(ctx, at)?;
    CiSettings::new(ctx.store, &ctx.app.home).remove(admin.project())?;
    ok(
        &json!({ "message": format!("{} no longer asks a CI server for builds", admin.project().full_name) }),
    )
}
