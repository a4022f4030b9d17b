//! What the pages' forms post. Signing in and out aside, a form posts to
//! the path of the API's own endpoint under the project (`new_issue`,
//! `issue/<n>/comment`, `pull-request/<n>/merge`, ...): the same code
//! answers, with the same checks, acting as the signed-in user, once the
//! session's CSRF token is checked; then the browser is sent back to the
//! page the change shows on (POST, then redirect).

use forge_core::role::Action;

use super::session;
use super::{Here, Page};
use crate::error::ApiError;
use crate::extract::Ctx;

/// Answers a POST to page path `s`.
pub(crate) fn post(ctx: &Ctx<'_>, s: &[&str]) -> Result<Page, ApiError> {
    match s {
        ["login"] => return session::login(ctx),
        ["logout"] => return session::logout(ctx),
        // Its token is the proof (mail clients post without a session).
        ["mail", "unsubscribe", token, user, project @ ..] if !project.is_empty() => {
            return super::unsubscribe::apply(ctx, token, user, &project.join("/"));
        }
        _ => {}
    }
    if ctx.session().is_none() {
        return Err(ApiError::new(
            401,
            "ENOSESSION",
            "You are not signed in (or your session ended): sign in, then send the form again.",
        ));
    }
    session::check_csrf(ctx, &ctx.fields()?)?;
    if let ["user", name, what @ ("disable" | "enable")] = s {
        let back = format!("/user/{name}");
        return Ok(
            match crate::admin::set_disabled(ctx, name, *what == "disable") {
                Ok(_) => Page::redirect(&back),
                Err(e) => super::layout::form_error(&e, &back),
            },
        );
    }
    if let ["settings", what @ ..] = s {
        return Ok(super::settings::post(ctx, &what.join("/"))
            .unwrap_or_else(|e| super::layout::form_error(&e, "/settings")));
    }
    let (here, rest) = super::project_of(ctx, s)?;
    if rest == ["markdown"] {
        return super::pages::preview(ctx, &here);
    }
    if rest == ["fork"] {
        // The library call `POST /api/0/fork` makes, as the signed-in user.
        let name = &here.project.full_name;
        let forked = ctx
            .acting(Action::ForkProject, Some(name))
            .and_then(|user| {
                forge_tickets::fork_project(
                    ctx.store,
                    &ctx.app.home,
                    &here.project,
                    &user,
                    ctx.app.hooks_exe.as_deref(),
                )?;
                Ok(user)
            });
        return Ok(match forked {
            Ok(user) => Page::redirect(&format!("/fork/{user}/{name}")),
            Err(e) => super::layout::form_error(&e, &format!("/{name}")),
        });
    }
    if rest == ["webhooks", "new"] || rest == ["ci", "set"] {
        // The answer holds a secret (a webhook's, the CI server's callback
        // address): the page shows it this once.
        let back = format!("/{}/settings", here.project.full_name);
        return Ok(match crate::router::at_route(ctx, &here, "POST", rest) {
            Ok((_, answer)) => {
                let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
                let once = super::admin::ShownOnce {
                    webhook_secret: v["secret"].as_str(),
                    ci_callback: v["callback_url"].as_str(),
                };
                super::admin::show_with(ctx, &here, once)?
            }
            Err(e) => super::layout::form_error(&e, &back),
        });
    }
    if !takes_forms(rest) {
        return Err(super::not_found());
    }
    match crate::router::at_route(ctx, &here, "POST", rest) {
        Ok((_, answer)) => Ok(Page::redirect(&after(&here, rest, &answer))),
        Err(e) => Ok(super::layout::form_error(&e, &after(&here, rest, b""))),
    }
}

/// The endpoints the pages' forms post to.
fn takes_forms(rest: &[&str]) -> bool {
    matches!(
        rest,
        ["new_issue"]
            | ["issue", _]
            | [
                "issue",
                _,
                "comment" | "status" | "subscribe" | "assign" | "milestone"
            ]
            | ["options", "update"]
            | ["git", "modifyacls"]
            | ["deploykeys", "new" | "remove"]
            | ["rename" | "transfer" | "delete"]
            | ["webhooks", _, "remove"]
            | ["ci", "remove"]
            | ["webhooks", "deliveries", _, "redeliver"]
            | ["pull-request", "new"]
            | ["pull-request", _]
            | [
                "pull-request",
                _,
                "comment"
                    | "merge"
                    | "close"
                    | "reopen"
                    | "vote"
                    | "assign"
                    | "subscribe"
                    | "refresh"
            ]
    )
}

/// Where the browser goes after a change: the issue or pull request it
/// was made on (the new one, from the API's answer), else the project.
fn after(here: &Here, rest: &[&str], answer: &[u8]) -> String {
    let base = format!("/{}", here.project.full_name);
    let base = match &here.fork {
        Some(user) => format!("/fork/{user}{base}"),
        None => base,
    };
    let made = || -> Option<u64> {
        let v: serde_json::Value = serde_json::from_slice(answer).ok()?;
        v.pointer("/issue/id")
            .or_else(|| v.get("id"))
            .and_then(serde_json::Value::as_u64)
    };
    match rest {
        ["new_issue"] => match made() {
            Some(n) => format!("{base}/issue/{n}"),
            None => format!("{base}/issues"),
        },
        ["issue", n, ..] => format!("{base}/issue/{n}"),
        ["pull-request", "new"] => match made() {
            Some(n) => format!("{base}/pull-request/{n}"),
            None => format!("{base}/pull-requests"),
        },
        ["pull-request", n, ..] => format!("{base}/pull-request/{n}"),
        ["delete"] if !answer.is_empty() => "/".to_string(),
        ["rename"] => {
            let renamed = serde_json::from_slice::<serde_json::Value>(answer)
                .ok()
                .and_then(|v| v.pointer("/project/fullname")?.as_str().map(String::from));
            match renamed {
                Some(new) => format!("/{new}/settings"),
                None => format!("{base}/settings"),
            }
        }
        ["webhooks", "deliveries", ..] => {
            let hook = serde_json::from_slice::<serde_json::Value>(answer)
                .ok()
                .and_then(|v| v["webhook"].as_i64());
            match hook {
                Some(id) => format!("{base}/settings/webhooks/{id}"),
                None => format!("{base}/settings"),
            }
        }
        ["options" | "git" | "deploykeys" | "webhooks" | "ci" | "transfer" | "delete", ..] => {
            format!("{base}/settings")
        }
        _ => base,
    }
}
