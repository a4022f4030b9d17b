//! `/mail/unsubscribe/<token>/<user>/<project>`: the link every
//! notification carries (and its `List-Unsubscribe` header). GET shows a
//! button; POST — the button, or a mail client's one-click request (RFC
//! 8058) — stops that user's mails about that project. The token (an HMAC
//! under the home's mail.key) is the proof: no session, no CSRF token, as a
//! mail client posts without either.

use forge_notify::mail::prefs::{self, Level};
use forge_notify::mail::reply::Keys;
use maud::html;

use super::pages::ok;
use super::Page;
use crate::error::ApiError;
use crate::extract::Ctx;

fn checked(ctx: &Ctx<'_>, token: &str, user: &str, project: &str) -> Result<(), ApiError> {
    let keys = Keys::open(&ctx.app.home).map_err(|e| ApiError::internal(e.to_string()))?;
    if keys.unsubscribe_ok(user, project, token) {
        Ok(())
    } else {
        Err(ApiError::new(
            404,
            "ENOENDPOINT",
            "This unsubscribe link is not one this forge made (or it was cut short): use the whole link from the mail.",
        ))
    }
}

/// GET: what the link does, and the button that does it.
pub(crate) fn show(
    ctx: &Ctx<'_>,
    token: &str,
    user: &str,
    project: &str,
) -> Result<Page, ApiError> {
    checked(ctx, token, user, project)?;
    ok(
        &format!("Stop mails about {project}"),
        html! {
            h1 { "Stop mails about " (project) "?" }
            p { "Mails about " strong { (project) } " to " strong { (user) } " stop; other projects' do not change. "
                "Your settings page can turn them back on." }
            form method="post" {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" { "Stop these mails" }
            }
        },
    )
}

/// POST: stops them.
pub(crate) fn apply(
    ctx: &Ctx<'_>,
    token: &str,
    user: &str,
    project: &str,
) -> Result<Page, ApiError> {
    checked(ctx, token, user, project)?;
    prefs::set(ctx.store, user, Some(project), Level::None)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    ok(
        &format!("No more mails about {project}"),
        html! {
            h1 { "Done" }
            p { (user) " will get no more mails about " strong { (project) } "." }
        },
    )
}
