//! The backfill: every label, milestone, issue, pull request, comment and
//! review comment of the mirrored repository read through the REST API,
//! page by page (`Link`), and replicated. Each page's ETag is kept, so a
//! run with nothing changed asks only conditional requests (a `304` costs
//! no rate limit). Where each resource stands is kept in SQLite after each
//! page is written: a backfill killed in the middle goes on from there, and
//! since a record is written only when newer than what is stored, a page
//! read twice duplicates nothing. Rate limits are waited out; a server that
//! fails is asked again a few times, then the backfill stops, saying why,
//! ready to go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use forge_core::project::Project;
use forge_core::Store;
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use super::client::{Client, ClientError, Fetched};
use super::model::{Comment, Issue, Label, Milestone, PullRequest, ReviewComment};
use super::replicate::{Replication, Tally, Via};

/// What a backfill reads, in this order (issues before the comments on
/// them, pull requests before theirs).
pub const RESOURCES: [&str; 6] = [
    "labels",
    "milestones",
    "issues",
    "pulls",
    "comments",
    "review_comments",
];

/// How many times a failing page is asked before the backfill stops.
const TRIES: u32 = 5;
/// How many records are read before they are written, as one commit.
const FLUSH: usize = 1000;

/// A page read and not written yet.
struct Read {
    url: String,
    body: String,
    etag: Option<String>,
    next: Option<String>,
    records: usize,
}

/// A page whose body reads as a JSON list, and how long the list is.
struct Readable {
    page: super::client::Page,
    records: usize,
}

/// `page`, or, while its body is no JSON list (cut short by a proxy, say),
/// the page asked again, unconditionally, up to [`TRIES`] times.
fn readable(
    client: &Client,
    url: &Url,
    mut page: super::client::Page,
    stop: &AtomicBool,
    report: &mut Report,
) -> Result<Readable, Error> {
    let mut tries = 1;
    loop {
        match serde_json::from_str::<Vec<serde::de::IgnoredAny>>(&page.body) {
            Ok(list) => {
                return Ok(Readable {
                    records: list.len(),
                    page,
                })
            }
            Err(e) if tries >= TRIES => {
                return Err(Error::Page {
                    url: url.to_string(),
                    resource: "records",
                    why: e.to_string(),
                })
            }
            Err(_) => {
                tries += 1;
                wait(Duration::from_millis(250 << tries), stop)?;
                match fetch(client, url, None, stop, report)? {
                    Fetched::Page(again) => page = again,
                    Fetched::NotModified => {}
                }
            }
        }
    }
}

/// Why a backfill stopped early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API did not give a page (the cursor stays: run again).
    #[error(transparent)]
    Api(#[from] ClientError),
    /// A page was not what GitHub sends.
    #[error("{url}: the page does not read as GitHub's {resource} ({why})")]
    Page {
        /// The page.
        url: String,
        /// What it should list.
        resource: &'static str,
        /// Why not.
        why: String,
    },
    /// Writing what was read failed.
    #[error(transparent)]
    Tickets(#[from] forge_tickets::Error),
    /// The store failed.
    #[error(transparent)]
    Core(#[from] forge_core::Error),
    /// Stopped on request (the cursor stays: run again).
    #[error("stopped; run again to go on where it stopped")]
    Stopped,
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Core(e.into())
    }
}

/// Where a backfill is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The resource being read.
    pub resource: &'static str,
    /// Pages read in this run.
    pub pages: u64,
    /// Pages that had not changed (answered 304).
    pub unchanged: u64,
    /// Records written so far.
    pub written: u64,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Pages read (304s among them).
    pub pages: u64,
    /// Pages answered `304 Not Modified`.
    pub unchanged: u64,
    /// Records written, kept (not newer), missing their document.
    pub tally: Tally,
    /// Whether it went on from where an earlier run stopped.
    pub resumed: bool,
    /// Seconds spent waiting out rate limits.
    pub waited_secs: u64,
    /// What went wrong on the side (the source repository's fetch).
    pub warnings: Vec<String>,
}

/// The first page of `resource` of `repo`.
fn first_page(client: &Client, repo: &str, resource: &str) -> Result<Url, ClientError> {
    let path = match resource {
        "labels" => format!("repos/{repo}/labels?per_page=100"),
        "milestones" => format!("repos/{repo}/milestones?state=all&per_page=100"),
        "issues" => {
            format!("repos/{repo}/issues?state=all&per_page=100&sort=created&direction=asc")
        }
        "pulls" => format!("repos/{repo}/pulls?state=all&per_page=100&sort=created&direction=asc"),
        "comments" => {
            format!("repos/{repo}/issues/comments?per_page=100&sort=created&direction=asc")
        }
        _ => format!("repos/{repo}/pulls/comments?per_page=100&sort=created&direction=asc"),
    };
    client.url(&path)
}

/// Where a run stands in `resource`: `None` when it has not started it,
/// `Some(None)` when it finished it, `Some(Some(url))` for the next page.
fn cursor(store: &Store, project_id: i64, resource: &str) -> Result<Option<Option<String>>, Error> {
    Ok(store
        .conn()
        .query_row(
            "SELECT next_url FROM github_cursors WHERE project_id = ?1 AND resource = ?2",
            params![project_id, resource],
            |r| r.get(0),
        )
        .optional()?)
}

fn set_cursor(
    store: &Store,
    project_id: i64,
    resource: &str,
    next: Option<&str>,
) -> Result<(), Error> {
    store.conn().execute(
        "INSERT INTO github_cursors (project_id, resource, next_url, pages, updated_at) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (project_id, resource) DO UPDATE SET next_url = ?3, pages = pages + 1, updated_at = ?4",
        params![project_id, resource, next, forge_core::time::now_epoch()],
    )?;
    Ok(())
}

/// The ETag and next page kept for `url`.
fn kept_page(
    store: &Store,
    project_id: i64,
    url: &str,
) -> Result<Option<(String, Option<String>)>, Error> {
    Ok(store
        .conn()
        .prepare_cached(
            "SELECT etag, next_url FROM github_pages WHERE project_id = ?1 AND url = ?2",
        )?
        .query_row(params![project_id, url], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn keep_page(
    store: &Store,
    project_id: i64,
    url: &str,
    etag: &str,
    next: Option<&str>,
) -> Result<(), Error> {
    store
        .conn()
        .prepare_cached(
            "INSERT INTO github_pages (project_id, url, etag, next_url) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (project_id, url) DO UPDATE SET etag = ?3, next_url = ?4",
        )?
        .execute(params![project_id, url, etag, next])?;
    Ok(())
}

/// Sleeps `pause`, waking to see `stop` now and then.
fn wait(pause: Duration, stop: &AtomicBool) -> Result<(), Error> {
    let until = std::time::Instant::now() + pause;
    while std::time::Instant::now() < until {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::Stopped);
        }
        std::thread::sleep((until - std::time::Instant::now()).min(Duration::from_millis(100)));
    }
    Ok(())
}

/// Brings the mirror `project` up to date: the repository's branches and
/// pull request heads fetched (a failure there is a warning of the
/// report), then the backfill run or gone on with.
pub fn sync(
    store: &Store,
    home: &forge_core::ForgeHome,
    project: &Project,
    allow_private: bool,
    timeout: Duration,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report, Error> {
    let mirrors = super::mirror::Mirrors::new(store, home);
    let (mirror, client) = mirrors
        .client(project, allow_private, timeout)
        .map_err(|e| ClientError::Never(e.to_string()))?
        .ok_or_else(|| {
            ClientError::Never(format!("project `{}` mirrors nothing", project.full_name))
        })?;
    let mut warnings = Vec::new();
    let info = client.url(&format!("repos/{}", mirror.repo))?;
    // The repository's own page is asked before the run: its waits count.
    let mut before = Report::default();
    match fetch(&client, &info, None, stop, &mut before)? {
        Fetched::Page(page) => {
            let repo: serde_json::Value = serde_json::from_str(&page.body).unwrap_or_default();
            match repo["clone_url"].as_str() {
                Some(url) => {
                    if let Err(e) = super::fetch_source(home, project, url, allow_private) {
                        warnings.push(format!("the source repository was not fetched: {e}"));
                    }
                }
                None => warnings.push(format!(
                    "{info} names no clone_url: the source was not fetched"
                )),
            }
        }
        Fetched::NotModified => {}
    }
    let mut report = run(store, home, project, &client, &mirror.repo, stop, progress)?;
    report.waited_secs += before.waited_secs;
    report.warnings = warnings;
    Ok(report)
}

/// Runs (or goes on with) the backfill of `project` from `client`;
/// `progress` hears after each page. Stops early, cursor kept, on `stop`.
pub fn run(
    store: &Store,
    home: &forge_core::ForgeHome,
    project: &Project,
    client: &Client,
    repo: &str,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report, Error> {
    let replication = Replication::new(store, home, project.clone())?;
    let owner = repo.split('/').next().unwrap_or(repo);
    let who = store.mirror_user("github", owner)?;
    let mut report = Report::default();
    for resource in RESOURCES {
        let next = match cursor(store, project.id, resource)? {
            Some(None) => continue,
            Some(Some(url)) => {
                report.resumed = true;
                Url::parse(&url)
                    .map_err(|e| ClientError::Never(format!("the kept cursor `{url}` ({e})")))?
            }
            None => first_page(client, repo, resource)?,
        };
        let mut url = Some(next);
        // Pages read and not written yet: written together once they hold
        // FLUSH records (one commit, the bulk path) or the resource ends.
        let mut pending: Vec<Read> = Vec::new();
        while let Some(page_url) = url.take() {
            if stop.load(Ordering::Relaxed) {
                return Err(Error::Stopped);
            }
            let kept = kept_page(store, project.id, page_url.as_str())?;
            let etag = kept.as_ref().map(|k| k.0.as_str());
            let fetched = fetch(client, &page_url, etag, stop, &mut report)?;
            report.pages += 1;
            let next = match fetched {
                Fetched::NotModified => {
                    report.unchanged += 1;
                    kept.and_then(|k| k.1)
                }
                Fetched::Page(page) => {
                    let page = readable(client, &page_url, page, stop, &mut report)?;
                    let next = page.page.next.as_ref().map(|u| u.to_string());
                    if let Some(pause) = page.page.pause {
                        report.waited_secs += pause.as_secs();
                        wait(pause, stop)?;
                    }
                    pending.push(Read {
                        url: page_url.to_string(),
                        body: page.page.body,
                        etag: page.page.etag,
                        next: next.clone(),
                        records: page.records,
                    });
                    next
                }
            };
            let held: usize = pending.iter().map(|p| p.records).sum();
            if !pending.is_empty() && (held >= FLUSH || next.is_none()) {
                let bodies: Vec<&str> = pending.iter().map(|p| p.body.as_str()).collect();
                let tally = apply(&replication, &who, resource, &bodies)?;
                report.tally.add(tally);
                for p in pending.drain(..) {
                    if let Some(etag) = &p.etag {
                        keep_page(store, project.id, &p.url, etag, p.next.as_deref())?;
                    }
                }
            }
            // The cursor passes only what is written.
            if pending.is_empty() {
                set_cursor(store, project.id, resource, next.as_deref())?;
            }
            progress(&Progress {
                resource,
                pages: report.pages,
                unchanged: report.unchanged,
                written: report.tally.written,
            });
            url = next
                .map(|n| {
                    Url::parse(&n).map_err(|e| ClientError::Never(format!("next page `{n}` ({e})")))
                })
                .transpose()?;
        }
    }
    // The run is whole: the next one starts from the first pages again.
    store.conn().execute(
        "DELETE FROM github_cursors WHERE project_id = ?1",
        [project.id],
    )?;
    Ok(report)
}

/// One page, asked again after rate limits (waited out) and failures
/// worth a retry (up to [`TRIES`] times, waiting longer each time).
fn fetch(
    client: &Client,
    url: &Url,
    etag: Option<&str>,
    stop: &AtomicBool,
    report: &mut Report,
) -> Result<Fetched, Error> {
    let mut failures = 0;
    loop {
        match client.get(url, etag) {
            Ok(f) => return Ok(f),
            Err(ClientError::Limited { pause, .. }) => {
                report.waited_secs += pause.as_secs();
                wait(pause, stop)?;
            }
            Err(ClientError::Later(_)) if failures + 1 < TRIES => {
                failures += 1;
                wait(Duration::from_millis(250 << failures), stop)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Every record of `bodies` (pages of one list) read as GitHub's `T`.
fn parse_all<T: DeserializeOwned>(
    resource: &'static str,
    bodies: &[&str],
) -> Result<Vec<T>, Error> {
    let mut all = Vec::new();
    for body in bodies {
        let page: Vec<T> = serde_json::from_str(body).map_err(|e| Error::Page {
            url: format!("a page of {resource}"),
            resource,
            why: e.to_string(),
        })?;
        all.extend(page);
    }
    Ok(all)
}

/// Replicates pages of `resource`, as one write.
fn apply(
    replication: &Replication<'_>,
    who: &str,
    resource: &'static str,
    bodies: &[&str],
) -> Result<Tally, Error> {
    Ok(match resource {
        "labels" => {
            replication.put_labels(&parse_all::<Label>(resource, bodies)?, Via::Api)?;
            Tally::default()
        }
        "milestones" => {
            replication.put_milestones(&parse_all::<Milestone>(resource, bodies)?, Via::Api)?;
            Tally::default()
        }
        "issues" => {
            replication.put_issues(who, &parse_all::<Issue>(resource, bodies)?, Via::Api)?
        }
        "pulls" => {
            replication.put_pulls(who, &parse_all::<PullRequest>(resource, bodies)?, Via::Api)?
        }
        "comments" => replication.put_comments(
            who,
            &parse_all::<Comment>(resource, bodies)?,
            None,
            Via::Api,
        )?,
        _ => replication.put_review_comments(
            who,
            &parse_all::<ReviewComment>(resource, bodies)?,
            None,
            Via::Api,
        )?,
    })
}
