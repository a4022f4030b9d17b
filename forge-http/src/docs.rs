//! The docs server, as Pagure's: each public project's docs repository
//! (`docs/<project>.git`, its default branch) served on a listener of its
//! own (`forge serve --docs-bind ADDR`), so on an origin of its own.
//!
//! - `/` lists the public projects whose docs repository has a branch;
//!   `/<project>/<path>` serves a file, a folder's `index.md`, `README.md`
//!   or `index.html`, or lists the folder.
//! - Markdown (`.md`, `.markdown`) is rendered and sanitized by
//!   `forge_core::markdown::render`, the pages' own function, in a page
//!   whose CSP allows no script at all.
//! - Every other file is served as what its name says, under a `sandbox`
//!   CSP without `allow-scripts` or `allow-same-origin`: an HTML or SVG file
//!   runs no script, and has an opaque origin whatever it holds.
//! - It never reads the `Cookie` header and never sets a cookie; private
//!   projects are not served (no sign-in here): they are simply not found.

use bytes::Bytes;
use forge_core::project::Project;
use forge_core::Store;
use forge_git::{CommitId, EntryKind, Repo};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::app::{full, App, ResBody};

/// Largest file served.
const FILE_LIMIT: u64 = 20 << 20;

/// Rendered pages: no script, no plugin, styles only inline (the page's
/// own), images from here.
const PAGE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// Files as stored: in a sandbox that runs nothing.
const FILE_CSP: &str = "sandbox; default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

fn respond(status: u16, kind: &str, csp: &'static str, body: Bytes) -> Response<ResBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(kind) {
        headers.insert(CONTENT_TYPE, v);
    }
    for (name, value) in [
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-cache"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    resp
}

fn page(title: &str, body: Markup) -> Bytes {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped("body{font-family:system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem;line-height:1.5;color:#1f2328}pre,code{background:#f6f8fa}pre{padding:.6rem;overflow-x:auto}img{max-width:100%}a{color:#0550ae}table{border-collapse:collapse}td,th{border:1px solid #d1d9e0;padding:.2rem .5rem}")) }
            }
            body { (body) }
        }
    };
    Bytes::from(doc.into_string())
}

fn html_page(status: u16, title: &str, body: Markup) -> Response<ResBody> {
    respond(
        status,
        "text/html; charset=utf-8",
        PAGE_CSP,
        page(title, body),
    )
}

fn not_found() -> Response<ResBody> {
    html_page(
        404,
        "Not found",
        html! { h1 { "Not found" } p { "There are no docs here." } p { a href="/" { "All docs" } } },
    )
}

/// What a file's name says it is (`None`: a download).
fn kind_of(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt" | "rst" | "text") => "text/plain; charset=utf-8",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// `/`: the public projects with docs.
fn index(app: &App, store: &Store) -> forge_core::Result<Response<ResBody>> {
    let mut with_docs = Vec::new();
    for p in store.list_projects()?.into_iter().filter(|p| !p.private) {
        let docs = app.home.project_paths(&p.full_name).docs;
        let has = Repo::open(&docs)
            .ok()
            .and_then(|r| {
                r.head_branch()
                    .ok()
                    .and_then(|b| r.branch_tip(&b).ok().flatten())
            })
            .is_some();
        if has {
            with_docs.push(p);
        }
    }
    Ok(html_page(
        200,
        "Docs",
        html! {
            h1 { "Docs" }
            @if with_docs.is_empty() { p { "No public project has docs yet: push to a project's docs repository (docs/<project>.git)." } }
            ul {
                @for p in &with_docs {
                    li { a href={ "/" (p.full_name) "/" } { (p.full_name) } @if !p.description.is_empty() { " — " (p.description) } }
                }
            }
        },
    ))
}

/// One docs path of a project: a file, or a folder's index or listing.
fn serve_path(
    project: &Project,
    repo: &Repo,
    tip: CommitId,
    rest: &[String],
    trailing_slash: bool,
) -> forge_core::Result<Response<ResBody>> {
    let path = rest.join("/");
    let base = format!("/{}", project.full_name);
    if let Ok(items) = repo.list_tree(tip, &path) {
        // A folder: its URL ends with `/`, so that relative links work.
        if !trailing_slash {
            let mut resp = respond(301, "text/plain; charset=utf-8", PAGE_CSP, Bytes::new());
            let to = match path.as_str() {
                "" => format!("{base}/"),
                _ => format!("{base}/{}/", encode_path(&path)),
            };
            if let Ok(v) = HeaderValue::from_str(&to) {
                resp.headers_mut().insert(hyper::header::LOCATION, v);
            }
            return Ok(resp);
        }
        for index in ["index.md", "README.md", "index.html"] {
            if items
                .iter()
                .any(|i| i.name == index && i.kind == EntryKind::File)
            {
                let file = if path.is_empty() {
                    index.to_string()
                } else {
                    format!("{path}/{index}")
                };
                return serve_file(project, repo, tip, &file);
            }
        }
        return Ok(html_page(
            200,
            &format!("{} docs", project.full_name),
            html! {
                h1 { (project.full_name) " docs" @if !path.is_empty() { ": " (path) } }
                ul {
                    @for i in &items {
                        @let slash = if i.kind == EntryKind::Dir { "/" } else { "" };
                        li { a href={ (encode_path(&i.name)) (slash) } { (i.name) (slash) } }
                    }
                }
            },
        ));
    }
    serve_file(project, repo, tip, &path)
}

fn serve_file(
    project: &Project,
    repo: &Repo,
    tip: CommitId,
    path: &str,
) -> forge_core::Result<Response<ResBody>> {
    let Ok(bytes) = repo.file_bytes(tip, path, FILE_LIMIT) else {
        return Ok(not_found());
    };
    let Some(bytes) = bytes else {
        return Ok(html_page(
            413,
            "Too large",
            html! { h1 { "Too large" } p { "This file is larger than the docs server serves." } },
        ));
    };
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".md") || lower.ends_with(".markdown") {
        let text = String::from_utf8_lossy(&bytes);
        // Links stay within the docs: `#N` and `@user` are the main site's,
        // whose address this server does not assume.
        let rendered = forge_core::markdown::render(&text, &|_| None);
        let title = format!(
            "{} · {} docs",
            path.rsplit('/').next().unwrap_or(path),
            project.full_name
        );
        return Ok(html_page(
            200,
            &title,
            html! { main { (PreEscaped(rendered)) } },
        ));
    }
    Ok(respond(200, kind_of(path), FILE_CSP, Bytes::from(bytes)))
}

/// A path with each segment percent-encoded.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| percent_encoding::utf8_percent_encode(s, crate::web::SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Answers one request to the docs listener.
pub(crate) fn answer(app: &App, method: &str, raw_path: &str) -> Response<ResBody> {
    if method != "GET" && method != "HEAD" {
        let mut resp = html_page(405, "Not allowed", html! { h1 { "Only GET" } });
        resp.headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let path = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let Ok(segments) = crate::router::decode_segments(path) else {
        return not_found();
    };
    let trailing_slash = raw_path.ends_with('/');
    let answered = crate::app::with_store(app, |store| {
        if segments.is_empty() {
            return Ok(index(app, store)?);
        }
        let Some((project, rest)) =
            crate::router::project_at(store, &segments)?.filter(|(p, _)| !p.private)
        else {
            return Ok(not_found());
        };
        let docs = app.home.project_paths(&project.full_name).docs;
        let tip = Repo::open(&docs).ok().and_then(|r| {
            let tip = r
                .head_branch()
                .ok()
                .and_then(|b| r.branch_tip(&b).ok().flatten())?;
            Some((r, tip))
        });
        let Some((repo, tip)) = tip else {
            return Ok(not_found());
        };
        Ok(serve_path(&project, &repo, tip, rest, trailing_slash)?)
    });
    answered.unwrap_or_else(|e: crate::error::ApiError| {
        html_page(
            e.status,
            "Error",
            html! { h1 { "Something went wrong" } p { "forge could not answer; try again." } },
        )
    })
}
