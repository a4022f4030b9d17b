//! Signing in and out of the pages: the session cookie, the CSRF token of
//! every form, the sign-in form and the user's menu in the page header.
//!
//! The session cookie holds a random secret (stored hashed by
//! `forge_core::account`); it is `HttpOnly`, `SameSite=Lax`, and `Secure`
//! when the client came over TLS. Every form of a signed-in page carries the
//! session's CSRF token; the sign-in form, which has no session yet, carries
//! a token that must equal a cookie of its own (a cross-site page can set
//! neither).

use forge_core::account::{random_secret, same_secret, Session};
use maud::{html, Markup};

use super::layout::page;
use super::{Kind, Page};
use crate::error::ApiError;
use crate::extract::{ApiCall, Ctx, Fields};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "forge_session";
/// The sign-in form's own CSRF cookie.
const LOGIN_COOKIE: &str = "forge_login_csrf";
/// The form field every POST carries its CSRF token in.
pub(crate) const CSRF_FIELD: &str = "csrf_token";

/// A cookie's value in the request, if sent.
pub(crate) fn cookie<'c>(call: &'c ApiCall, name: &str) -> Option<&'c str> {
    call.cookie.as_deref()?.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A `Set-Cookie` value: the cookie for this path tree, never readable by
/// script, not sent along with other sites' requests but for top-level
/// links; `max_age` 0 removes it.
fn set_cookie(call: &ApiCall, name: &str, value: &str, max_age: i64) -> String {
    let secure = if call.secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The live session of a request, if its cookie names one.
pub(crate) fn current(ctx: &Ctx<'_>) -> Result<Option<Session>, ApiError> {
    match cookie(ctx.call, SESSION_COOKIE) {
        Some(secret) => Ok(ctx.store.session(secret)?),
        None => Ok(None),
    }
}

/// The hidden field that carries the CSRF token in a form of `ctx`'s page.
pub(crate) fn csrf_field(ctx: &Ctx<'_>) -> Markup {
    let token = ctx.session().map(|s| s.csrf.as_str()).unwrap_or_default();
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// Refuses a POST whose CSRF token is not its session's.
pub(crate) fn check_csrf(ctx: &Ctx<'_>, fields: &Fields) -> Result<(), ApiError> {
    let sent = fields
        .get(CSRF_FIELD)
        .map(String::as_str)
        .unwrap_or_default();
    match ctx.session() {
        Some(s) if same_secret(sent, &s.csrf) => Ok(()),
        _ => Err(ApiError::new(
            403,
            "ECSRF",
            "This form is out of date or did not come from this site; reload the page and try again.",
        )),
    }
}

/// A path of this site to go on to, from a `next` parameter: only a local
/// path (never `//host` or a scheme), else the home page.
fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".into(),
    }
}

/// `GET /login`: the sign-in form (straight on to `next` if signed in).
pub(crate) fn login_form(ctx: &Ctx<'_>) -> Result<Page, ApiError> {
    let next = local_next(ctx.query.get("next"));
    if ctx.session().is_some() {
        return Ok(Page::redirect(&next));
    }
    Ok(login_page(ctx, 200, &next, None, ""))
}

fn login_page(ctx: &Ctx<'_>, status: u16, next: &str, error: Option<&str>, user: &str) -> Page {
    // The form's token: the one its cookie holds already, or a new one.
    let kept = cookie(ctx.call, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = kept.map_or_else(random_secret, String::from);
    let body = page(
        "Sign in",
        html! {
            section.narrow {
                h1 { "Sign in" }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                form.stack method="post" action="/login" {
                    input type="hidden" name=(CSRF_FIELD) value=(token);
                    input type="hidden" name="next" value=(next);
                    label for="username" { "User name" }
                    input type="text" id="username" name="username" value=(user)
                        autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input type="password" id="password" name="password"
                        autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
                p.muted { "An administrator sets passwords with " code { "forge user passwd NAME" } "." }
            }
        },
    );
    let mut made = Page::html(status, body);
    made.cookies
        .push(set_cookie(ctx.call, LOGIN_COOKIE, &token, 3600));
    made
}

/// `POST /login`: `username`, `password`, the form's token, `next`.
pub(crate) fn login(ctx: &Ctx<'_>) -> Result<Page, ApiError> {
    let f = ctx.fields()?;
    let next = local_next(f.get("next").map(String::as_str));
    let sent = f.get(CSRF_FIELD).map(String::as_str).unwrap_or_default();
    let expected = cookie(ctx.call, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(sent, expected) {
        return Err(ApiError::new(
            403,
            "ECSRF",
            "The sign-in form is out of date or did not come from this site; reload it and try again.",
        ));
    }
    let user = f.get("username").map(String::as_str).unwrap_or_default();
    let password = f.get("password").map(String::as_str).unwrap_or_default();
    match ctx.store.sign_in(user.trim(), password, &ctx.call.peer) {
        Ok((session, secret)) => {
            tracing::info!(user = session.user, "signed in");
            let mut made = Page::redirect(&next);
            made.cookies.push(set_cookie(
                ctx.call,
                SESSION_COOKIE,
                &secret,
                forge_core::account::SESSION_SECONDS,
            ));
            made.cookies.push(set_cookie(ctx.call, LOGIN_COOKIE, "", 0));
            Ok(made)
        }
        Err(forge_core::Error::SignInRefused) => Ok(login_page(
            ctx,
            401,
            &next,
            Some("Wrong user name or password."),
            user,
        )),
        Err(e @ forge_core::Error::Throttled { .. }) => {
            Ok(login_page(ctx, 429, &next, Some(&e.to_string()), user))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`: ends the session (with its form's token) and forgets
/// the cookie.
pub(crate) fn logout(ctx: &Ctx<'_>) -> Result<Page, ApiError> {
    let mut made = Page::redirect("/");
    if ctx.session().is_some() {
        check_csrf(ctx, &ctx.fields()?)?;
        if let Some(secret) = cookie(ctx.call, SESSION_COOKIE) {
            ctx.store.sign_out(secret)?;
        }
    }
    made.cookies
        .push(set_cookie(ctx.call, SESSION_COOKIE, "", 0));
    Ok(made)
}

/// The right end of the page header: the signed-in user and their menu,
/// or a link to sign in and come back here.
pub(crate) fn menu(ctx: &Ctx<'_>) -> Markup {
    match ctx.session() {
        Some(s) => html! {
            nav.menu aria-label="Account" {
                a href={ "/user/" (s.user) } { (s.user) }
                a href="/settings" { "Settings" }
                form method="post" action="/logout" {
                    (csrf_field(ctx))
                    button.link type="submit" { "Sign out" }
                }
            }
        },
        None => {
            let here = match &ctx.call.query {
                Some(q) => format!("{}?{q}", ctx.call.path),
                None => ctx.call.path.clone(),
            };
            let params = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
            html! { nav.menu aria-label="Account" { a href={ "/login?" (params) } { "Sign in" } } }
        }
    }
}

/// Fills the header of an HTML page with the viewer's menu (pages are
/// made, and kept, without it).
pub(crate) fn with_menu(ctx: &Ctx<'_>, mut made: Page) -> Page {
    if made.kind != Kind::Html {
        return made;
    }
    let marker = super::layout::MENU_MARKER.as_bytes();
    if let Some(at) = made.body.windows(marker.len()).position(|w| w == marker) {
        let menu = menu(ctx).into_string();
        let mut body = Vec::with_capacity(made.body.len() + menu.len());
        body.extend_from_slice(&made.body[..at]);
        body.extend_from_slice(menu.as_bytes());
        body.extend_from_slice(&made.body[at + marker.len()..]);
        made.body = body.into();
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            local_next(Some("/tools/hammer/issues?x=1")),
            "/tools/hammer/issues?x=1"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
            "/a\nb",
            "",
        ] {
            assert_eq!(local_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_next(None), "/");
    }
}
