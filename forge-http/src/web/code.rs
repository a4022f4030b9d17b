//! The code pages, Pagure's layout: a folder or file at a ref
//! (`/<repo>/tree/<ref>`, `/<repo>/blob/<ref>/f/<path>`), a file's bytes
//! (`/<repo>/raw/<ref>/f/<path>`: plain text or a download, in a sandbox, so
//! that an HTML or SVG file never runs on forge's origin), the history
//! (`/<repo>/commits/<ref>`) and one commit (`/<repo>/c/<hash>`).

use bytes::Bytes;
use forge_git::{CommitId, EntryKind, FileContent, Repo};
use maud::html;

use super::highlight::Highlighter;
use super::pages::{ok, page_number, pager, tabs, PER_PAGE};
use super::{Here, Page};
use crate::error::ApiError;
use crate::extract::Ctx;
use crate::projects::repo;

/// Largest file a page shows (larger ones: raw only).
const SHOWN_LIMIT: u64 = 1 << 20;
/// Largest file the raw view serves.
const RAW_LIMIT: u64 = 50 << 20;

fn missing(what: String) -> ApiError {
    ApiError::new(404, "ENOENDPOINT", what)
}

/// The commit a ref names (a branch, a tag or a commit id).
fn resolve(repo: &Repo, rev: &str) -> Result<CommitId, ApiError> {
    repo.resolve(rev)
        .map_err(|_| missing(format!("no ref `{rev}`")))
}

/// `/<repo>/tree/<ref>` (`None`: the default branch) or
/// `/<repo>/blob/<ref>/f/<path>`: a folder's entries, or a file's text.
pub(crate) fn browse(
    ctx: &Ctx<'_>,
    here: &Here,
    rev: Option<&str>,
    path: &[&str],
) -> Result<Page, ApiError> {
    let repo = repo(ctx, here)?;
    let (rev, on_default) = shown_rev(&repo, rev)?;
    let rev = rev.as_str();
    let commit = resolve(&repo, rev)?;
    let path = path.join("/");
    let name = &here.path();
    let crumbs = html! {
        p.crumbs {
            a href={ "/" (name) "/tree/" (rev) } { (name) }
            @for (i, part) in path.split('/').filter(|p| !p.is_empty()).enumerate() {
                " / "
                a href={ "/" (name) "/blob/" (rev) "/f/" (path.split('/').take(i + 1).collect::<Vec<_>>().join("/")) } { (part) }
            }
            " " span.muted { "at " code { (rev) } }
            " · " a href={ "/" (name) "/grep" @if !on_default { "?ref=" (percent_encoding::utf8_percent_encode(rev, super::SEGMENT)) } } { "search the code" }
        }
    };
    if let Ok(items) = repo.list_tree(commit, &path) {
        return ok(
            &format!("{name} at {rev}"),
            html! {
                h1 { (name) }
                (tabs(here, "Code"))
                (crumbs)
                ul.list {
                    @for item in &items {
                        li {
                            @match item.kind {
                                EntryKind::Dir => { "📁 " a href={ "/" (name) "/blob/" (rev) "/f/" (item.path) } { (item.name) "/" } }
                                EntryKind::Submodule => { "📦 " (item.name) }
                                _ => { "📄 " a href={ "/" (name) "/blob/" (rev) "/f/" (item.path) } { (item.name) } }
                            }
                        }
                    }
                }
                p {
                    a href={ "/" (name) "/commits/" (rev) } { "History" } " · "
                    a href={ "/" (name) "/branches" } { "Branches and tags" }
                }
            },
        );
    }
    let content = repo
        .file_content(commit, &path, SHOWN_LIMIT)
        .map_err(|_| missing(format!("no file `{path}` at `{rev}`")))?;
    let raw = format!("/{name}/raw/{rev}/f/{path}");
    ok(
        &format!("{path} · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Code"))
            (crumbs)
            section.box {
                div.head {
                    code { (path) } " · " a href=(raw) { "raw" }
                    " · " a href={ "/" (name) "/blame/" (path) "?identifier=" (rev) } { "blame" }
                    " · " a href={ "/" (name) "/commits/" (rev) } { "history" }
                }
                div.body {
                    @match &content {
                        FileContent::Text(text) => pre.lines {
                            @let mut hl = Highlighter::new(&path, text.lines().next().unwrap_or(""), text.len());
                            @for (n, line) in text.lines().enumerate() {
                                span id={ "_" (n + 1) } { a.ln href={ "#_" (n + 1) } { (n + 1) } " " (hl.line(line)) "\n" }
                            }
                        },
                        FileContent::Binary { size } => p.muted { "Binary file, " (size) " bytes: " a href=(raw) { "download" } },
                        FileContent::TooLarge { size, .. } => p.muted { "A large file, " (size) " bytes: " a href=(raw) { "see it raw" } },
                    }
                }
            }
        },
    )
}

/// `/<repo>/blame/<path>` (`identifier`: the ref, else the default
/// branch, as Pagure takes it): each line with the commit that last
/// changed it, a run of lines from one commit under one heading.
pub(crate) fn blame(ctx: &Ctx<'_>, here: &Here, path: &[&str]) -> Result<Page, ApiError> {
    let repo = repo(ctx, here)?;
    let branch;
    let rev = match ctx.query.text("identifier") {
        Some(r) => {
            branch = r;
            branch.as_str()
        }
        None => {
            branch = repo.head_branch()?;
            branch.as_str()
        }
    };
    let commit = resolve(&repo, rev)?;
    let path = path.join("/");
    let lines = repo
        .blame(commit, &path, SHOWN_LIMIT)
        .map_err(|e| match e {
            forge_git::Error::NotText(_) | forge_git::Error::TooLarge { .. } => ApiError::from(e),
            _ => missing(format!("no file `{path}` at `{rev}`")),
        })?;
    let name = &here.path();
    ok(
        &format!("Blame {path} · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Code"))
            p.crumbs {
                "Blame of " a href={ "/" (name) "/blob/" (rev) "/f/" (path) } { code { (path) } }
                " " span.muted { "at " code { (rev) } }
            }
            div.box.scroll {
                table.blame {
                    @for (i, l) in lines.iter().enumerate() {
                        @let first = i == 0 || lines[i - 1].commit != l.commit;
                        tr id={ "_" (l.line) } class=(if first { "first" } else { "" }) {
                            td.who {
                                @if first {
                                    a href={ "/" (name) "/c/" (l.commit) } { code { (short(&l.commit)) } }
                                    " " (l.author) " "
                                    span.muted { (forge_core::time::epoch_to_rfc3339(l.time).map(|t| t[..10].to_string()).unwrap_or_default()) }
                                }
                            }
                            td.ln { a href={ "#_" (l.line) } { (l.line) } }
                            td.code { (l.text) }
                        }
                    }
                }
            }
        },
    )
}

/// `/<repo>/raw/<ref>/f/<path>`: the file's bytes, as plain text when they
/// are text, else as a download; never as a page of forge's origin.
pub(crate) fn raw(ctx: &Ctx<'_>, here: &Here, rev: &str, path: &[&str]) -> Result<Page, ApiError> {
    let repo = repo(ctx, here)?;
    let commit = resolve(&repo, rev)?;
    let path = path.join("/");
    let content = repo
        .file_content(commit, &path, RAW_LIMIT)
        .map_err(|_| missing(format!("no file `{path}` at `{rev}`")))?;
    let (body, kind) = match content {
        FileContent::Text(text) => (Bytes::from(text), super::Kind::RawText),
        FileContent::Binary { .. } => {
            let bytes = repo
                .file_bytes(commit, &path, RAW_LIMIT)?
                .ok_or_else(|| missing(format!("no file `{path}` at `{rev}`")))?;
            (Bytes::from(bytes), super::Kind::Download)
        }
        FileContent::TooLarge { size, limit } => {
            return Err(ApiError::new(
                413,
                "EINVALIDREQ",
                format!("`{path}` is {size} bytes, over the {limit} served raw"),
            ))
        }
    };
    Ok(Page {
        status: 200,
        body,
        kind,
        cookies: Vec::new(),
    })
}

/// `/<repo>/branches`: the branches and tags, each with its last commit.
pub(crate) fn branches(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    let repo = repo(ctx, here)?;
    let default = repo.head_branch().ok();
    let (branches, tags) = (repo.branches()?, repo.tags()?);
    let name = &here.path();
    ok(
        &format!("Branches · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Code"))
            h2 { "Branches" }
            @if branches.is_empty() { p.muted { "None yet." } }
            @else {
                ul.list {
                    @for b in &branches {
                        li {
                            a href={ "/" (name) "/tree/" (b.name) } { code { (b.name) } }
                            @if default.as_deref() == Some(b.name.as_str()) { span.tag { "default" } }
                            " " a href={ "/" (name) "/c/" (b.commit) } { code { (short(&b.commit)) } }
                            " " span.muted { (b.title) }
                            @if let Some(d) = default.as_deref().filter(|d| *d != b.name) {
                                " · " a href={ "/" (name) "/diff/" (d) ".." (b.name) } { "compare" }
                            }
                        }
                    }
                }
            }
            @if !tags.is_empty() {
                h2 { "Tags" }
                ul.list {
                    @for t in &tags {
                        li {
                            a href={ "/" (name) "/tree/" (t.name) } { code { (t.name) } }
                            " " span.muted { (t.title) }
                        }
                    }
                }
            }
        },
    )
}

fn short(id: &CommitId) -> String {
    id.to_string()[..10].to_string()
}

/// `/<repo>/commits/<ref>`: the history, newest first, in pages.
pub(crate) fn commits(ctx: &Ctx<'_>, here: &Here, rev: &str) -> Result<Page, ApiError> {
    let repo = repo(ctx, here)?;
    let commit = resolve(&repo, rev)?;
    let page = page_number(ctx)?;
    let mut log = repo.log(commit, None, (page - 1) * PER_PAGE, PER_PAGE + 1)?;
    let more = log.len() > PER_PAGE;
    log.truncate(PER_PAGE);
    let name = &here.path();
    ok(
        &format!("Commits · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Code"))
            p.crumbs { "History of " code { (rev) } }
            ul.list {
                @for c in &log {
                    li {
                        a href={ "/" (name) "/c/" (c.id) } { code { (short(&c.id)) } } " " (c.title)
                        br; span.muted { (c.author_name) " · " (forge_core::time::epoch_to_rfc3339(c.time).unwrap_or_default()) }
                    }
                }
            }
            (pager(ctx, page, more))
        },
    )
}

/// `/<repo>/c/<hash>`: one commit and its changes against its first parent.
pub(crate) fn commit(ctx: &Ctx<'_>, here: &Here, hash: &str) -> Result<Page, ApiError> {
    let repo = repo(ctx, here)?;
    let id = resolve(&repo, hash)?;
    let c = repo.commit(id)?;
    let files = repo.diff(c.parents.first().copied(), id, 256 << 10)?;
    let name = &here.path();
    ok(
        &format!("{} · {name}", c.title),
        html! {
            h1 { (c.title) }
            (tabs(here, "Code"))
            p.muted {
                code { (c.id) } " by " (c.author_name) " at "
                (forge_core::time::epoch_to_rfc3339(c.time).unwrap_or_default())
            }
            @if c.message.trim() != c.title.trim() { pre { (c.message) } }
            (super::diff::files(&files, &[], &|_| html! {}, None))
        },
    )
}

/// `/<repo>/grep?q=PATTERN[&fixed=1][&i=1][&ref=REV]`: the lines of the
/// default branch (or `ref`) matching a pattern, bounded as
/// `forge repo grep` is, each linked to its line.
pub(crate) fn grep(ctx: &Ctx<'_>, here: &Here) -> Result<Page, ApiError> {
    let repo = repo(ctx, here)?;
    let name = &here.path();
    let asked = ctx.query.text("q").filter(|q| !q.is_empty());
    let fixed = ctx.query.flag("fixed").unwrap_or(false);
    let ignore_case = ctx.query.flag("i").unwrap_or(false);
    let (rev, on_default) = shown_rev(&repo, ctx.query.text("ref").as_deref())?;
    let rev = rev.as_str();
    let options = forge_git::GrepOptions {
        fixed,
        ignore_case,
        ..Default::default()
    };
    let found = asked.as_ref().map(|pattern| match repo.resolve(rev) {
        Ok(commit) => repo
            .grep(commit, pattern, &options)
            .map_err(|e| e.to_string()),
        Err(_) => Err(format!("Nothing to search: `{rev}` names no commit yet.")),
    });
    ok(
        &format!("Code search · {name}"),
        html! {
            h1 { (name) }
            (tabs(here, "Code"))
            form.grep method="get" action={ "/" (name) "/grep" } role="search" {
                label for="grep-q" { "Search the code at " code { (rev) } }
                input #grep-q type="search" name="q" value=(asked.as_deref().unwrap_or_default()) placeholder="a regular expression";
                @if !on_default { input type="hidden" name="ref" value=(rev); }
                label { input type="checkbox" name="fixed" value="1" checked[fixed]; " plain text" }
                label { input type="checkbox" name="i" value="1" checked[ignore_case]; " any case" }
                button type="submit" { "Search" }
            }
            @match &found {
                None => {}
                Some(Err(e)) => p.muted role="status" { (e) }
                Some(Ok(found)) => {
                    p.muted role="status" {
                        (plural(found.matches.len(), "matching line")) " in " (plural(found.files, "file")) " searched"
                        @match found.stopped {
                            Some("time") => { "; stopped after " (options.time_limit.as_secs()) " s" }
                            Some(_) => { "; the first " (found.matches.len()) " shown" }
                            None => {}
                        }
                        @if found.skipped > 0 { " (" (found.skipped) " binary or large files not searched)" }
                    }
                    @if !found.matches.is_empty() {
                        ul.list.grep {
                            @for m in &found.matches {
                                li {
                                    a href={ "/" (name) "/blob/" (rev) "/f/" (m.path) "#_" (m.line) } {
                                        code { (m.path) ":" (m.line) }
                                    }
                                    " " code.line { (m.text) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The ref a page shows (`rev`, else the default branch) and whether it
/// is the default branch (HEAD read once).
fn shown_rev(repo: &Repo, rev: Option<&str>) -> Result<(String, bool), ApiError> {
    let default = repo.head_branch();
    match rev {
        Some(r) => Ok((r.to_string(), default.is_ok_and(|b| b == r))),
        None => Ok((default?, true)),
    }
}

/// `1 file`, `2 files`.
fn plural(n: usize, word: &str) -> String {
    match n {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    }
}
