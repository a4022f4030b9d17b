//! The web application: server-rendered pages over the same library calls
//! as the API (never SQL of its own), with Pagure's URL layout. Pages are
//! maud templates (compile-time checked, every value escaped); Markdown goes
//! through `forge_core::markdown::render`; the one stylesheet is embedded
//! and served under a content-hashed name. So far the reading pages: home,
//! project, issues and pull requests (lists and one each).

mod assets;
mod code;
mod layout;
mod pages;
mod pulls;

use bytes::Bytes;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::app::{full, ResBody};
use crate::error::ApiError;
use crate::extract::Ctx;

pub(crate) use assets::static_file;

/// A page: its status, body and what the body is.
pub(crate) struct Page {
    pub status: u16,
    pub body: Bytes,
    pub kind: Kind,
}

impl Page {
    /// A 303 to `location` (a path of this server).
    pub(crate) fn redirect(location: &str) -> Page {
        Page {
            status: 303,
            body: Bytes::from(location.to_string()),
            kind: Kind::Redirect,
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

/// Answers one page request on this thread: always a page, an error too.
pub(crate) fn dispatch(app: &crate::app::App, call: &crate::extract::ApiCall) -> Page {
    let answer = crate::app::with_store(app, |store| {
        let ctx = Ctx::new(app, store, call)?;
        route_or_fail(&ctx)
    });
    answer.unwrap_or_else(|e| layout::error_page(&e))
}

/// The page for an error that happened before a page could be made.
pub(crate) fn error_response(e: &ApiError) -> Response<ResBody> {
    response(layout::error_page(e))
}

fn route_or_fail(ctx: &Ctx<'_>) -> Result<Page, ApiError> {
    if ctx.call.method != "GET" && ctx.call.method != "HEAD" {
        return Err(ApiError::method_not_allowed("GET, HEAD"));
    }
    let path = ctx.call.path.strip_prefix('/').unwrap_or(&ctx.call.path);
    // A path no page has (encoded slashes, `..`) is simply not found.
    let segs = crate::router::decode_segments(path).map_err(|_| not_found())?;
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        [] => pages::home(ctx),
        ["user", name] => pages::user(ctx, name),
        _ => {
            let (here, rest) = project_of(ctx, &s)?;
            match rest {
                [] => pages::project(ctx, &here),
                ["issues"] => pages::issues(ctx, &here),
                ["issue", n] => pages::issue(ctx, &here, number(n)?),
                ["tree"] => code::browse(ctx, &here, None, &[]),
                ["tree", rev] => code::browse(ctx, &here, Some(rev), &[]),
                ["blob", rev, "f", path @ ..] => code::browse(ctx, &here, Some(rev), path),
                ["raw", rev, "f", path @ ..] => code::raw(ctx, &here, rev, path),
                ["commits", rev] => code::commits(ctx, &here, rev),
                ["branches"] => code::branches(ctx, &here),
                ["c", hash] => code::commit(ctx, &here, hash),
                ["pull-requests"] => pulls::list(ctx, &here),
                ["pull-request", n] => pulls::show(ctx, &here, number(n)?),
                _ => Err(not_found()),
            }
        }
    }
}

fn not_found() -> ApiError {
    ApiError::new(404, "ENOENDPOINT", "There is no page here.")
}

fn number(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| not_found())
}

/// The project a path names, as the API finds it; the pages of forks are
/// still to come.
fn project_of<'p>(ctx: &Ctx<'_>, s: &'p [&'p str]) -> Result<(Here, &'p [&'p str]), ApiError> {
    match crate::router::locate(ctx, s) {
        Ok((here, rest)) if here.fork.is_none() => Ok((here, rest)),
        Ok(_) => Err(not_found()),
        Err(e) if e.status == 404 => Err(not_found()),
        Err(e) => Err(e),
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
        *resp.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(location) = HeaderValue::from_bytes(&page.body) {
            resp.headers_mut().insert(hyper::header::LOCATION, location);
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
