//! The web application: server-rendered pages over the same library calls
//! as the API (never SQL of its own), with Pagure's URL layout. Pages are
//! maud templates (compile-time checked, every value escaped); Markdown goes
//! through `forge_core::markdown::render`; the one stylesheet is embedded
//! and served under a content-hashed name. A form posts to the API's own
//! endpoint at the page's path (`/<repo>/issue/<n>/comment`, ...), checked
//! by the same code, as the signed-in user, with the session's CSRF token,
//! and then leads back to the page (POST, then redirect).

mod admin;
mod assets;
mod code;
mod deliveries;
mod diff;
mod forms;
mod highlight;
mod issue;
mod layout;
mod pages;
mod pulls;
mod search;
pub(crate) mod session;
mod settings;
mod unsubscribe;
mod user;

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::app::{full, ResBody};
use crate::error::ApiError;
use crate::extract::Ctx;

pub(crate) use assets::static_file;
pub(crate) use session::CSRF_FIELD;

/// A page: its status, body and what the body is.
pub(crate) struct Page {
    pub status: u16,
    pub body: Bytes,
    pub kind: Kind,
    /// `Set-Cookie` values (signing in and out).
    pub cookies: Vec<String>,
}

impl Page {
    /// A 303 to `location` (a path of this server).
    pub(crate) fn redirect(location: &str) -> Page {
        Page {
            status: 303,
            body: Bytes::from(location.to_string()),
            kind: Kind::Redirect,
            cookies: Vec::new(),
        }
    }

    /// An HTML page of forge's.
    pub(crate) fn html(status: u16, body: impl Into<Bytes>) -> Page {
        Page {
            status,
            body: body.into(),
            kind: Kind::Html,
            cookies: Vec::new(),
        }
    }
}

/// What a page's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A redirect: the body is where to.
    Redirect,
    /// forge's HTML.
    Html,
    /// A repository's text file, shown as plain text.
    RawText,
    /// A repository's other file, as a download.
    Download,
}

/// What a page route names: the project, and who asks (the API's `At`).
pub(crate) use crate::router::At as Here;

/// Answers one page request on this thread: always a page, an error too,
/// with the viewer's menu in its header.
pub(crate) fn dispatch(app: &crate::app::App, call: &crate::extract::ApiCall) -> Page {
    let answer = crate::app::with_store(app, |store| {
        let mut ctx = Ctx::new(app, store, call)?;
        if let Some(s) = session::current(&ctx)? {
            ctx = ctx.signed_in(s);
        }
        let made = route_or_fail(&ctx).unwrap_or_else(|e| layout::error_page(&e));
        Ok(session::with_menu(&ctx, made))
    });
    answer.unwrap_or_else(|e| layout::error_page(&e))
}

/// The page for an error that happened before a page could be made.
pub(crate) fn error_response(e: &ApiError) -> Response<ResBody> {
    response(layout::error_page(e))
}

fn route_or_fail(ctx: &Ctx<'_>) -> Result<Page, ApiError> {
    let path = ctx.call.path.strip_prefix('/').unwrap_or(&ctx.call.path);
    // A path no page has (encoded slashes, `..`) is simply not found.
    let segs = crate::router::decode_segments(path).map_err(|_| not_found())?;
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match ctx.call.method.as_str() {
        "GET" | "HEAD" => get(ctx, &s),
        "POST" => forms::post(ctx, &s),
        _ => Err(ApiError::method_not_allowed("GET, HEAD, POST")),
    }
}

fn get(ctx: &Ctx<'_>, s: &[&str]) -> Result<Page, ApiError> {
    match s {
        [] => pages::home(ctx),
        ["login"] => session::login_form(ctx),
        ["settings"] => settings::show(ctx),
        ["mail", "unsubscribe", token, user, project @ ..] if !project.is_empty() => {
            unsubscribe::show(ctx, token, user, &project.join("/"))
        }
        ["user", name] => user::show(ctx, name),
        _ => {
            let (here, rest) = match located(ctx, s) {
                Err(e) if e.status == 404 => return moved(ctx, s).ok_or(e),
                found => found?,
            };
            // A fork has code pages, an overview and the compare page that
            // opens a request on its parent; the rest is the parent's.
            let fork_page = matches!(
                rest,
                [] | ["tree", ..]
                    | ["blob", ..]
                    | ["raw", ..]
                    | ["blame", ..]
                    | ["commits", _]
                    | ["branches"]
                    | ["grep"]
                    | ["c", _]
                    | ["diff", ..]
            );
            if here.fork.is_some() && !fork_page {
                return Err(not_found());
            }
            match rest {
                [] => pages::project(ctx, &here),
                ["issues"] => pages::issues(ctx, &here),
                ["new_issue"] => issue::new_form(ctx, &here),
                ["issue", n] => issue::show(ctx, &here, number(n)?),
                ["tree"] => code::browse(ctx, &here, None, &[]),
                ["tree", rev] => code::browse(ctx, &here, Some(rev), &[]),
                ["blob", rev, "f", path @ ..] => code::browse(ctx, &here, Some(rev), path),
                ["raw", rev, "f", path @ ..] => code::raw(ctx, &here, rev, path),
                ["blame", path @ ..] if !path.is_empty() => code::blame(ctx, &here, path),
                ["commits", rev] => code::commits(ctx, &here, rev),
                ["branches"] => code::branches(ctx, &here),
                ["grep"] => code::grep(ctx, &here),
                ["settings"] => admin::show(ctx, &here),
                ["settings", "webhooks", id] => deliveries::show(ctx, &here, id),
                ["c", hash] => code::commit(ctx, &here, hash),
                ["pull-requests"] => pulls::list(ctx, &here),
                ["pull-request", n] => pulls::show(ctx, &here, number(n)?),
                ["diff", range @ ..] if !range.is_empty() => {
                    pulls::compare(ctx, &here, &range.join("/"))
                }
                _ => Err(not_found()),
            }
        }
    }
}

/// What a path segment keeps unencoded (RFC 3986's unreserved characters).
pub(crate) const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A page of a renamed project, sent on (permanently) to its new name —
/// if the viewer may see the project now called so.
fn moved(ctx: &Ctx<'_>, s: &[&str]) -> Option<Page> {
    let viewer = ctx.viewer_name().ok()?;
    // A fork's pages move with their parent's name.
    let (fork, s) = match s {
        ["fork", user, rest @ ..] => (Some(*user), rest),
        _ => (None, s),
    };
    let (old, rest) = [2, 1].into_iter().find_map(|n| {
        let old = s.get(..n)?.join("/");
        let project = crate::router::renamed_to(ctx.store, &old, viewer.as_deref()).ok()??;
        Some((project.full_name, &s[n..]))
    })?;
    let mut location = match fork {
        Some(user) => format!("/fork/{user}/{old}"),
        None => format!("/{old}"),
    };
    for part in rest {
        location.push('/');
        location.extend(percent_encoding::utf8_percent_encode(part, SEGMENT));
    }
    if let Some(q) = ctx.call.query.as_deref().filter(|q| !q.is_empty()) {
        location = format!("{location}?{q}");
    }
    Some(Page {
        status: 301,
        ..Page::redirect(&location)
    })
}

pub(crate) fn not_found() -> ApiError {
    ApiError::new(404, "ENOENDPOINT", "There is no page here.")
}

fn number(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| not_found())
}

/// The project (or fork) a page's path names, as the API finds it.
fn located<'p>(ctx: &Ctx<'_>, s: &'p [&'p str]) -> Result<(Here, &'p [&'p str]), ApiError> {
    crate::router::locate(ctx, s).map_err(|e| if e.status == 404 { not_found() } else { e })
}

/// The project a form's path names (forms post to projects, not forks).
pub(crate) fn project_of<'p>(
    ctx: &Ctx<'_>,
    s: &'p [&'p str],
) -> Result<(Here, &'p [&'p str]), ApiError> {
    match located(ctx, s)? {
        (here, rest) if here.fork.is_none() => Ok((here, rest)),
        _ => Err(not_found()),
    }
}

/// The headers every page carries: no script from elsewhere or inline, no
/// framing, no sniffing, no referrer to other sites.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

/// A page as an HTTP response. A repository's file is plain text or a
/// download, in a sandbox that runs nothing, whatever it holds.
pub(crate) fn response(page: Page) -> Response<ResBody> {
    if page.kind == Kind::Redirect {
        let mut resp = Response::new(full(Bytes::new()));
        *resp.status_mut() = StatusCode::from_u16(page.status).unwrap_or(StatusCode::SEE_OTHER);
        if let Ok(location) = HeaderValue::from_bytes(&page.body) {
            resp.headers_mut().insert(hyper::header::LOCATION, location);
        }
        for cookie in &page.cookies {
            if let Ok(v) = HeaderValue::from_str(cookie) {
                resp.headers_mut().append(hyper::header::SET_COOKIE, v);
            }
        }
        return resp;
    }
    let mut resp = Response::new(full(page.body));
    *resp.status_mut() =
        StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    let content_type = match page.kind {
        Kind::Html | Kind::Redirect => "text/html; charset=utf-8",
        Kind::RawText => "text/plain; charset=utf-8",
        Kind::Download => "application/octet-stream",
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for cookie in &page.cookies {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            headers.append(hyper::header::SET_COOKIE, v);
        }
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    if page.kind != Kind::Html {
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static("sandbox; default-src 'none'"),
        );
    }
    if page.kind == Kind::Download {
        headers.insert(
            "content-disposition",
            HeaderValue::from_static("attachment"),
        );
    }
    resp
}
