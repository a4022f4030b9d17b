//! What an operator watches: `GET /healthz` (the process answers),
//! `GET /readyz` (the database answers and the home takes a write) and
//! `GET /metrics` in Prometheus' text format (requests by route template
//! and status with latency histograms, git operations, queue lag and
//! failures per consumer, live streams open). `/healthz` and `/readyz` are
//! on the main listener; all three on the admin listener
//! (`[server] admin_bind`), and `/metrics` on the main one only when
//! `metrics_on_main` says so.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use crate::app::{full, App, ResBody};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct (route, method, status) series kept; past it, `other`.
const MAX_SERIES: usize = 2000;

/// Path segments kept as they are in a route template: the literal words
/// of the API's and the pages' paths. Any other segment is a name (`:name`)
/// or a number (`:n`), so that no project, user or issue becomes a label.
const WORDS: &[&str] = &[
    "0",
    "activity",
    "admin",
    "api",
    "assign",
    "blame",
    "blob",
    "branches",
    "build-finished",
    "c",
    "ci",
    "close",
    "comment",
    "commits",
    "contributors",
    "custom",
    "delete",
    "deliveries",
    "deploykeys",
    "diff",
    "diffstats",
    "disable",
    "enable",
    "error_codes",
    "events",
    "f",
    "flag",
    "fork",
    "forks",
    "git",
    "github",
    "groups",
    "hooks",
    "issue",
    "issues",
    "jenkins",
    "live",
    "login",
    "logout",
    "mail",
    "markdown",
    "merge",
    "milestones",
    "modifyacls",
    "new",
    "new_issue",
    "options",
    "projects",
    "pull-request",
    "pull-requests",
    "raw",
    "redeliver",
    "refresh",
    "remove",
    "rename",
    "reopen",
    "requests",
    "search",
    "secret",
    "set",
    "settings",
    "stats",
    "status",
    "subscribe",
    "tags",
    "transfer",
    "tree",
    "unsubscribe",
    "update",
    "urls",
    "user",
    "users",
    "version",
    "vote",
    "webhook",
    "webhooks",
    "whoami",
];

/// One series: a count, a sum and the bucket counts.
#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// The request counters of a server.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<HashMap<(String, String, u16), Series>>,
    git: Mutex<HashMap<(&'static str, u16), u64>>,
}

impl Metrics {
    /// Counts one answered request.
    pub(crate) fn observe(&self, method: &str, path: &str, status: u16, took: Duration) {
        let seconds = took.as_secs_f64();
        let (route, git) = classify(path);
        if let Some(service) = git {
            if let Ok(mut git) = self.git.lock() {
                *git.entry((service, status)).or_default() += 1;
            }
        }
        let Ok(mut requests) = self.requests.lock() else {
            return;
        };
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let mut key = (route, method.to_string(), status);
        if !requests.contains_key(&key) && requests.len() >= MAX_SERIES {
            key.0 = "other".into();
        }
        let series = requests.entry(key).or_default();
        series.count += 1;
        series.sum += seconds;
        for (bound, n) in BUCKETS.iter().zip(series.buckets.iter_mut()) {
            if seconds <= *bound {
                *n += 1;
            }
        }
    }
}

/// The route template of a path — the literal words kept, names and
/// numbers replaced; git over HTTP and static files by their kind — and,
/// for git over HTTP, which operation it is.
fn classify(path: &str) -> (String, Option<&'static str>) {
    if path.starts_with("/static/") {
        return ("/static/*".into(), None);
    }
    if let Some((_, rest)) = crate::git::split_git_path(path) {
        let service = match rest.as_str() {
            "info/refs" => "advertise",
            "git-upload-pack" => "upload-pack",
            "git-receive-pack" => "receive-pack",
            _ => "other",
        };
        let tail = match rest.as_str() {
            "info/refs" | "git-upload-pack" | "git-receive-pack" | "HEAD" => rest.as_str(),
            _ => "*",
        };
        return (format!("/:repo.git/{tail}"), Some(service));
    }
    let mut out = String::new();
    for (i, seg) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
        if i == 8 {
            out.push_str("/…");
            break;
        }
        out.push('/');
        if WORDS.contains(&seg) || matches!(seg, "healthz" | "readyz" | "metrics") {
            out.push_str(seg);
        } else if seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(":n");
        } else {
            out.push_str(":name");
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    (out, None)
}

/// A plain-text answer.
fn text(status: u16, content_type: &'static str, body: String) -> Response<ResBody> {
    let mut resp = Response::new(full(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

/// The answer to `/healthz`, `/readyz` or `/metrics` (`None`: another path,
/// or `/metrics` where it is not served).
pub(crate) async fn answer(
    app: &std::sync::Arc<App>,
    path: &str,
    metrics: bool,
) -> Option<Response<ResBody>> {
    match path {
        "/healthz" => Some(text(200, "text/plain; charset=utf-8", "ok\n".into())),
        "/readyz" => {
            let app = app.clone();
            let checked = tokio::task::spawn_blocking(move || ready(&app)).await;
            Some(match checked {
                Ok(Ok(())) => text(
                    200,
                    "text/plain; charset=utf-8",
                    "ready: database and storage usable\n".into(),
                ),
                Ok(Err(why)) => text(
                    503,
                    "text/plain; charset=utf-8",
                    format!("not ready: {why}\n"),
                ),
                Err(_) => text(
                    503,
                    "text/plain; charset=utf-8",
                    "not ready: the check panicked\n".into(),
                ),
            })
        }
        "/metrics" if metrics => {
            let app = app.clone();
            let rendered = tokio::task::spawn_blocking(move || render(&app)).await;
            Some(match rendered {
                Ok(body) => text(200, "text/plain; version=0.0.4; charset=utf-8", body),
                Err(_) => text(
                    500,
                    "text/plain; charset=utf-8",
                    "the metrics could not be made\n".into(),
                ),
            })
        }
        _ => None,
    }
}

/// The database answers a query and the home's folder takes a file.
fn ready(app: &App) -> Result<(), String> {
    crate::app::with_store(app, |store| {
        store
            .conn()
            .query_row("SELECT count(*) FROM projects", [], |r| r.get::<_, i64>(0))
            .map_err(crate::error::ApiError::internal)
    })
    .map_err(|e| format!("database: {}", e.message))?;
    let probe = app
        .home
        .root()
        .join(format!(".readyz-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(|e| format!("storage: {}: {e}", probe.display()))?;
    std::fs::remove_file(&probe).map_err(|e| format!("storage: {}: {e}", probe.display()))?;
    Ok(())
}

/// Label values escaped as the text format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition.
fn render(app: &App) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# HELP forge_build_info The forge version serving.");
    let _ = writeln!(out, "# TYPE forge_build_info gauge");
    let _ = writeln!(
        out,
        "forge_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    render_requests(app, &mut out);
    render_git(app, &mut out);
    let _ = writeln!(
        out,
        "# HELP forge_sse_streams_open Live streams (Server-Sent Events) open now."
    );
    let _ = writeln!(out, "# TYPE forge_sse_streams_open gauge");
    let _ = writeln!(out, "forge_sse_streams_open {}", app.live_streams());
    render_queues(app, &mut out);
    out
}

fn render_requests(app: &App, out: &mut String) {
    let mut series: Vec<((String, String, u16), Series)> = match app.metrics.requests.lock() {
        Ok(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Err(_) => Vec::new(),
    };
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let _ = writeln!(out, "# HELP forge_http_requests_total HTTP requests answered, by route template, method and status.");
    let _ = writeln!(out, "# TYPE forge_http_requests_total counter");
    for ((route, method, status), s) in &series {
        let _ = writeln!(
            out,
            "forge_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}",
            label(route),
            s.count
        );
    }
    // The histogram by route and method (statuses merged).
    let mut merged: Vec<((String, String), Series)> = Vec::new();
    for ((route, method, _), s) in series {
        match merged.last_mut() {
            Some((key, m)) if key.0 == route && key.1 == method => {
                m.count += s.count;
                m.sum += s.sum;
                for (a, b) in m.buckets.iter_mut().zip(s.buckets) {
                    *a += b;
                }
            }
            _ => merged.push(((route, method), s)),
        }
    }
    let _ = writeln!(
        out,
        "# HELP forge_http_request_duration_seconds Time to answer, by route template and method."
    );
    let _ = writeln!(out, "# TYPE forge_http_request_duration_seconds histogram");
    for ((route, method), s) in merged {
        let labels = format!("route=\"{}\",method=\"{method}\"", label(&route));
        for (bound, n) in BUCKETS.iter().zip(s.buckets) {
            let _ = writeln!(
                out,
                "forge_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "forge_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(
            out,
            "forge_http_request_duration_seconds_sum{{{labels}}} {}",
            s.sum
        );
        let _ = writeln!(
            out,
            "forge_http_request_duration_seconds_count{{{labels}}} {}",
            s.count
        );
    }
}

fn render_git(app: &App, out: &mut String) {
    let mut git: Vec<((&'static str, u16), u64)> = match app.metrics.git.lock() {
        Ok(map) => map.iter().map(|(k, v)| (*k, *v)).collect(),
        Err(_) => Vec::new(),
    };
    git.sort();
    let _ = writeln!(
        out,
        "# HELP forge_git_operations_total Git over HTTP operations, by service and status."
    );
    let _ = writeln!(out, "# TYPE forge_git_operations_total counter");
    for ((service, status), n) in git {
        let _ = writeln!(
            out,
            "forge_git_operations_total{{service=\"{service}\",status=\"{status}\"}} {n}"
        );
    }
    // Over SSH each operation is its own process: they count in the
    // database.
    let ssh = crate::app::with_store(app, |store| {
        store
            .ssh_git_operations()
            .map_err(crate::error::ApiError::internal)
    });
    let Ok(ssh) = ssh else {
        let _ = writeln!(out, "# the git over SSH figures could not be read");
        return;
    };
    let _ = writeln!(
        out,
        "# HELP forge_ssh_git_operations_total Git over SSH operations, by service and outcome (ok, failed, refused)."
    );
    let _ = writeln!(out, "# TYPE forge_ssh_git_operations_total counter");
    for (service, outcome, n) in ssh {
        let _ = writeln!(
            out,
            "forge_ssh_git_operations_total{{service=\"{}\",outcome=\"{}\"}} {n}",
            label(&service),
            label(&outcome)
        );
    }
}

/// Per consumer of the event log (`forge queue status`): events not yet
/// turned into jobs and how old the oldest is, jobs by state (`retrying`:
/// waiting after a failed attempt; `dead`: failed for good).
fn render_queues(app: &App, out: &mut String) {
    let now = forge_notify::queue::now_ms();
    let read = crate::app::with_store(app, |store| {
        forge_notify::queue::status(store, now).map_err(crate::error::ApiError::internal)
    });
    let Ok(consumers) = read else {
        let _ = writeln!(out, "# the queue figures could not be read");
        return;
    };
    let per_consumer = [
        (
            "forge_queue_lag_events",
            "Events of the log a consumer has not turned into jobs yet.",
            consumers.iter().map(|c| c.lag_events).collect::<Vec<_>>(),
        ),
        (
            "forge_queue_lag_seconds",
            "Age of the oldest event a consumer has not turned into jobs yet.",
            consumers.iter().map(|c| c.lag_seconds).collect(),
        ),
    ];
    for (name, help, values) in per_consumer {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (c, value) in consumers.iter().zip(values) {
            let _ = writeln!(out, "{name}{{consumer=\"{}\"}} {value}", label(&c.consumer));
        }
    }
    let _ = writeln!(out, "# HELP forge_queue_jobs Jobs not done, by consumer and state (retrying: after a failed attempt; dead: failed for good).");
    let _ = writeln!(out, "# TYPE forge_queue_jobs gauge");
    for c in &consumers {
        for (state, n) in [
            ("pending", c.pending),
            ("retrying", c.retrying),
            ("running", c.running),
            ("dead", c.dead),
        ] {
            let _ = writeln!(
                out,
                "forge_queue_jobs{{consumer=\"{}\",state=\"{state}\"}} {n}",
                label(&c.consumer)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(path: &str) -> String {
        classify(path).0
    }

    #[test]
    fn routes_hide_names_and_numbers() {
        assert_eq!(
            route("/api/0/tools/hammer/issue/12/comment"),
            "/api/0/:name/:name/issue/:n/comment"
        );
        assert_eq!(route("/api/0/hammer/issues"), "/api/0/:name/issues");
        assert_eq!(route("/tools/hammer.git/info/refs"), "/:repo.git/info/refs");
        assert_eq!(route("/tools/hammer.git/objects/ab/cd"), "/:repo.git/*");
        assert_eq!(route("/static/forge.css"), "/static/*");
        assert_eq!(route("/"), "/");
        assert_eq!(route("/metrics"), "/metrics");
        assert_eq!(
            route("/a/b/x/d/e/y/g/h/i/j"),
            "/:name/:name/:name/:name/:name/:name/:name/:name/…"
        );
    }

    #[test]
    fn observations_fill_buckets() {
        let m = Metrics::default();
        m.observe("GET", "/api/0/p/issues", 200, Duration::from_millis(3));
        m.observe("GET", "/api/0/q/issues", 200, Duration::from_millis(30));
        let map = m.requests.lock().expect("lock");
        let s = &map[&("/api/0/:name/issues".to_string(), "GET".to_string(), 200)];
        assert_eq!(s.count, 2);
        assert_eq!(s.buckets[2], 1); // <= 5 ms
        assert_eq!(s.buckets[5], 2); // <= 50 ms
    }
}
