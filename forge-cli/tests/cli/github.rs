//! GitHub replication end to end: `forge mirror github add`, GitHub's own
//! example payloads (every event type) signed with a test secret and posted
//! to `forge serve`'s receiver, what they are refused for (signatures,
//! replays, unknown events, bad JSON, another repository, size), and what
//! the mirror then shows; the backfill against a loopback server that
//! answers as GitHub's REST API does (pages, ETags, a rate limit, a 502, a
//! kill in the middle and a resume, a run with nothing changed, a `Link` to
//! another host).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::http::Server;
use crate::wait_for;
use crate::Forge;

const SECRET: &str = "a test secret, typed as GitHub takes it";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../forge-notify/tests/github-webhooks")
}

/// `sha256=<hex HMAC-SHA256>` of `body` under `secret`, as GitHub signs.
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts `body` to `path` with GitHub's headers; the status and body.
fn deliver(
    s: &Server,
    path: &str,
    event: &str,
    delivery: &str,
    signature: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(&s.addr).expect("connect");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: {delivery}\r\nUser-Agent: GitHub-Hookshot/test\r\n",
        s.addr,
        body.len()
    );
    if let Some(sig) = signature {
        head.push_str(&format!("X-Hub-Signature-256: {sig}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("head");
    // A body refused for its size may be answered before it is all sent.
    let _ = stream.write_all(body);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {answer}"));
    let text = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, text)
}

fn private(f: &Forge, args: &[&str]) -> std::process::Output {
    f.command(args)
        .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
        .output()
        .expect("forge runs")
}

fn private_json(f: &Forge, args: &[&str]) -> Value {
    let out = private(f, args);
    assert!(
        out.status.success(),
        "forge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "forge {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Every example payload under the fixtures, sorted: (event, file name, bytes).
fn payloads() -> Vec<(String, String, Vec<u8>)> {
    let mut all = Vec::new();
    for dir in std::fs::read_dir(fixtures()).expect("fixtures") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        let event = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        for file in std::fs::read_dir(&dir).expect("event dir") {
            let file = file.expect("entry").path();
            let name = file
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            all.push((event.clone(), name, std::fs::read(&file).expect("payload")));
        }
    }
    all.sort();
    all
}

#[test]
fn githubs_example_deliveries_are_verified_applied_once_and_bad_ones_refused() {
    let f = Forge::with_project();
    f.ok(&["--as", "alice", "project", "create", "tools/hello"]);
    let added = private_json(
        &f,
        &[
            "--as",
            "alice",
            "--json",
            "mirror",
            "github",
            "add",
            "-p",
            "tools/hello",
            "Codertocat/Hello-World",
            "--api-url",
            "http://127.0.0.1:9",
            "--secret",
            SECRET,
            "--no-sync",
        ],
    );
    assert_eq!(added["webhook_secret"], SECRET);
    let hook_url = added["webhook_url"].as_str().expect("webhook url");
    assert!(
        hook_url.ends_with("/hooks/github/tools/hello"),
        "{hook_url}"
    );
    let path = "/hooks/github/tools/hello";
    let mut serve = f.command(&["serve", "--bind", "127.0.0.1:0"]);
    serve.env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1");
    let s = Server::from(serve);

    // Every example GitHub gives, signed: taken, or refused for naming
    // another repository.
    let mut events = std::collections::BTreeSet::new();
    for (i, (event, name, body)) in payloads().iter().enumerate() {
        let payload: Value = serde_json::from_slice(body).expect("json");
        let delivery = format!("00000000-0000-0000-0000-{i:012}");
        let (status, text) = deliver(&s, path, event, &delivery, Some(&sign(SECRET, body)), body);
        let repo = payload["repository"]["full_name"]
            .as_str()
            .unwrap_or_default();
        if event == "ping" {
            assert_eq!(
                (status, text.contains("pong")),
                (200, true),
                "{name}: {text}"
            );
        } else if repo == "Codertocat/Hello-World" {
            assert_eq!(status, 200, "{event}/{name}: {text}");
            events.insert(event.clone());
        } else {
            assert_eq!(status, 400, "{event}/{name}: {text}");
            assert!(
                text.contains("this mirror replicates Codertocat/Hello-World"),
                "{text}"
            );
        }
    }
    assert_eq!(events.len(), 8, "every event type but ping: {events:?}");

    // Refusals.
    let (_, _, body) = payloads()
        .into_iter()
        .find(|(e, n, _)| e == "issues" && n == "opened.payload.json")
        .expect("issues/opened");
    let good = sign(SECRET, &body);
    let (status, text) = deliver(&s, path, "issues", "d-1", None, &body);
    assert!(status == 401 && text.contains("missing"), "{status} {text}");
    let (status, text) = deliver(
        &s,
        path,
        "issues",
        "d-1",
        Some(&sign("another secret", &body)),
        &body,
    );
    assert!(
        status == 401 && text.contains("does not match"),
        "{status} {text}"
    );
    assert!(!text.contains(SECRET));
    let (status, text) = deliver(&s, path, "issues", "d-1", Some("sha256=zz"), &body);
    assert!(status == 401 && text.contains("64 hex"), "{status} {text}");
    let (status, text) = deliver(&s, path, "star", "d-2", Some(&good), &body);
    assert!(
        status == 400 && text.contains("event `star` is not replicated"),
        "{status} {text}"
    );
    let bad = b"{\"action\": \"opened\", \"issue\": ";
    let (status, text) = deliver(&s, path, "issues", "d-3", Some(&sign(SECRET, bad)), bad);
    assert!(
        status == 400 && text.contains("not JSON"),
        "{status} {text}"
    );
    let (status, text) = deliver(&s, path, "issues", "not a/guid", Some(&good), &body);
    assert!(
        status == 400 && text.contains("X-GitHub-Delivery"),
        "{status} {text}"
    );
    let replay = "00000000-0000-0000-0000-000000000001";
    let (status, text) = deliver(&s, path, "issues", replay, Some(&good), &body);
    assert!(
        status == 200 && text.contains("applied once"),
        "{status} {text}"
    );
    let huge = vec![b' '; 25 * 1024 * 1024];
    let (status, _) = deliver(&s, path, "issues", "d-4", Some(&sign(SECRET, &huge)), &huge);
    assert_eq!(status, 413);
    let (status, text) = deliver(
        &s,
        "/hooks/github/tools/hammer",
        "issues",
        "d-5",
        Some(&good),
        &body,
    );
    assert!(
        status == 404 && text.contains("No mirror"),
        "{status} {text}"
    );

    let pushes = payloads().iter().filter(|(e, _, _)| e == "push").count();
    // The worker applies them all, in order; the pushes' fetch of
    // github.com (out of reach here) are retried, saying why, and hold
    // nothing else back.
    let status = wait_for("the deliveries to be applied", || {
        let st = f.json(&["--as", "alice", "mirror", "status", "-p", "tools/hello"]);
        (st["waiting_deliveries"] == pushes).then_some(st)
    });
    assert_eq!(status["dead_deliveries"], 0, "{status}");
    let push = wait_for("the push's fetch to fail", || {
        let jobs = f.json(&["queue", "list"]);
        jobs.as_array()?
            .iter()
            .find(|j| {
                j["target"].as_str().is_some_and(|t| t.ends_with(":push"))
                    && !j["last_error"].is_null()
            })
            .cloned()
    });
    let why = push["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("github.com/Codertocat/Hello-World"), "{why}");
    assert!(status["last_webhook_at"].is_i64(), "{status}");

    // What the mirror shows: the newest of each record, by GitHub's users.
    let issue = f.json(&["issue", "show", "-p", "tools/hello", "1"]);
    assert_eq!(issue["title"], "Spelling error in the README file");
    assert_eq!(issue["author"], "github:Codertocat");
    // The newest payloads (2021-10-11) came last as "reopened".
    assert_eq!(issue["status"], "open", "{issue}");
    let comments = issue["comments"].as_array().expect("comments");
    assert!(!comments.is_empty(), "{issue}");
    assert!(
        comments.iter().all(|c| c["author"] == "github:Codertocat"),
        "{issue}"
    );
    let pr = f.json(&["pr", "show", "-p", "tools/hello", "2"]);
    assert_eq!(pr["title"], "Update the README with new information.");
    assert_eq!(pr["author"], "github:Codertocat");
    let pr_comments = pr["comments"].as_array().expect("pr comments");
    assert!(
        pr_comments
            .iter()
            .any(|c| c["id"].as_str().is_some_and(|id| id.contains("-r"))
                && c["body"]
                    .as_str()
                    .is_some_and(|b| b.starts_with("**Review"))),
        "a review: {pr}"
    );
    assert!(
        pr_comments
            .iter()
            .any(|c| c["path"] == "README.md" && c["commit"].is_string()),
        "a review comment on a line: {pr}"
    );
    let settings = f.json(&["project", "settings", "tools/hello"]);
    assert!(
        settings.to_string().contains("v1.0"),
        "the milestone: {settings}"
    );

    // Its pages say so, and offer no writing.
    let (status, page) = s.raw("GET", "/tools/hello/issues", None, None);
    assert_eq!(status, 200);
    assert!(page.contains("read-only mirror of"), "{page}");
    assert!(!page.contains("New issue"), "{page}");
    let (_, page) = s.raw("GET", "/tools/hello/issue/1", None, None);
    assert!(page.contains("Comments come from"), "{page}");
    // A mirror takes no local writes.
    let e = f.fails(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hello",
        "--title",
        "Local",
    ]);
    assert!(e.contains("mirrors github:Codertocat/Hello-World"), "{e}");
    let e = f.fails(&[
        "--as",
        "alice",
        "issue",
        "comment",
        "-p",
        "tools/hello",
        "1",
        "--body",
        "hi",
    ]);
    assert!(e.contains("mirrors github:Codertocat/Hello-World"), "{e}");
    drop(s);
}

/// One loopback server answering as GitHub's REST API for one repository.
struct FakeGithub {
    addr: String,
    /// Request lines, in order.
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Switches the test turns: "slow" (issues page 12), "bad link".
    switches: std::sync::Arc<std::sync::Mutex<BTreeMap<&'static str, bool>>>,
}

/// Pages of `items`, 100 a page.
fn pages(items: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = items
        .chunks(100)
        .map(|c| Value::from(c.to_vec()).to_string())
        .collect();
    if out.is_empty() {
        out.push("[]".into());
    }
    out
}

fn template(event: &str, file: &str, key: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(event).join(file)).expect("fixture");
    let v: Value = serde_json::from_str(&text).expect("json");
    v[key].clone()
}

fn at(seconds: i64) -> String {
    chrono_free_time(1_700_000_000 + seconds)
}

/// RFC 3339 from epoch seconds without another crate: days by the civil
/// calendar.
fn chrono_free_time(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

impl FakeGithub {
    /// A repository with `issues` issues (two of them pull requests too),
    /// three comments on each of the first `commented` issues, two labels,
    /// a milestone and a review comment; its clone URL is `clone_url`.
    fn start(issues: u64, commented: u64, clone_url: String) -> FakeGithub {
        let repo = "Codertocat/Hello-World";
        let issue = template("issues", "opened.payload.json", "issue");
        let pull = template("pull_request", "opened.payload.json", "pull_request");
        let comment = template("issue_comment", "created.payload.json", "comment");
        let review_comment = template(
            "pull_request_review_comment",
            "created.payload.json",
            "comment",
        );
        let label = template("label", "created.payload.json", "label");
        let milestone = template("milestone", "created.payload.json", "milestone");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let api = format!("http://{addr}");
        let mut all_issues = Vec::new();
        let mut all_pulls = Vec::new();
        for n in 1..=issues {
            let mut i = issue.clone();
            i["id"] = json!(10_000 + n);
            i["number"] = json!(n);
            i["title"] = json!(format!("Issue number {n}"));
            i["created_at"] = json!(at(n as i64));
            i["updated_at"] = json!(at(n as i64 + 10));
            i["url"] = json!(format!("{api}/repos/{repo}/issues/{n}"));
            if n > issues - 2 {
                let mut p = pull.clone();
                p["id"] = json!(20_000 + n);
                p["number"] = json!(n);
                p["title"] = json!(format!("Pull request number {n}"));
                p["created_at"] = json!(at(n as i64));
                p["updated_at"] = json!(at(n as i64 + 10));
                all_pulls.push(p);
                i["pull_request"] = json!({"url": format!("{api}/repos/{repo}/pulls/{n}")});
            }
            all_issues.push(i);
        }
        let mut all_comments = Vec::new();
        for n in 1..=commented {
            for k in 0..3 {
                let mut c = comment.clone();
                let id = 30_000 + n * 10 + k;
                c["id"] = json!(id);
                c["body"] = json!(format!("Comment {k} on {n}"));
                c["created_at"] = json!(at(n as i64 * 100 + k as i64));
                c["updated_at"] = json!(at(n as i64 * 100 + k as i64));
                c["issue_url"] = json!(format!("{api}/repos/{repo}/issues/{n}"));
                c["html_url"] = json!(format!(
                    "https://github.com/{repo}/issues/{n}#issuecomment-{id}"
                ));
                all_comments.push(c);
            }
        }
        let mut rc = review_comment.clone();
        rc["pull_request_url"] = json!(format!("{api}/repos/{repo}/pulls/{issues}"));
        let mut second_label = label.clone();
        second_label["id"] = json!(99);
        second_label["name"] = json!("needs, triage");
        let mut resources: BTreeMap<String, Vec<String>> = BTreeMap::new();
        resources.insert("labels".into(), pages(&[label, second_label]));
        resources.insert("milestones".into(), pages(&[milestone]));
        resources.insert("issues".into(), pages(&all_issues));
        resources.insert("pulls".into(), pages(&all_pulls));
        resources.insert("issues/comments".into(), pages(&all_comments));
        resources.insert("pulls/comments".into(), pages(&[rc]));
        let info = json!({"full_name": repo, "clone_url": clone_url}).to_string();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let switches = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let (seen2, switches2) = (seen.clone(), switches.clone());
        let resources = std::sync::Arc::new(resources);
        let limited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (seen2, switches2, resources, limited, failed, cut, info, api) = (
                    seen2.clone(),
                    switches2.clone(),
                    resources.clone(),
                    limited.clone(),
                    failed.clone(),
                    cut.clone(),
                    info.clone(),
                    api.clone(),
                );
                // A connection each: a slow page holds only its own.
                std::thread::spawn(move || {
                    let line_and_etag = read_head(&stream);
                    let Some((line, etag)) = line_and_etag else {
                        return;
                    };
                    seen2.lock().expect("seen").push(line.clone());
                    let target = line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_string();
                    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                    let page: usize = query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("page="))
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(1);
                    let switched = |k: &str| {
                        switches2
                            .lock()
                            .expect("switches")
                            .get(k)
                            .copied()
                            .unwrap_or(false)
                    };
                    let prefix = format!("/repos/{repo}/");
                    let resource = path.strip_prefix(&prefix).unwrap_or_default();
                    let answer = if path == format!("/repos/{repo}") {
                        (200, info.clone(), vec![])
                    } else if let Some(list) = resources.get(resource) {
                        if resource == "issues"
                            && page == 2
                            && !limited.swap(true, std::sync::atomic::Ordering::SeqCst)
                        {
                            // GitHub's primary limit, once: wait for the reset.
                            let reset = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map(|d| d.as_secs())
                                .unwrap_or(0)
                                + 1;
                            (
                                403,
                                json!({"message": "API rate limit exceeded for 127.0.0.1."})
                                    .to_string(),
                                vec![
                                    ("X-RateLimit-Remaining".to_string(), "0".to_string()),
                                    ("X-RateLimit-Reset".to_string(), reset.to_string()),
                                ],
                            )
                        } else if resource == "pulls"
                            && !failed.swap(true, std::sync::atomic::Ordering::SeqCst)
                        {
                            (502, "<html>Bad gateway</html>".to_string(), vec![])
                        } else if resource == "pulls/comments" && switched("bad link") {
                            let mut h = vec![("ETag".to_string(), "\"changed\"".to_string())];
                            h.push((
                                "Link".to_string(),
                                "<http://127.0.0.2:9/repos/x?page=2>; rel=\"next\"".to_string(),
                            ));
                            (200, list[0].clone(), h)
                        } else {
                            if resource == "issues" && page == 12 && switched("slow") {
                                std::thread::sleep(Duration::from_secs(30));
                            }
                            let body = list.get(page - 1).cloned().unwrap_or_else(|| "[]".into());
                            // A page cut short, once: asked again.
                            let cut_now = resource == "issues/comments"
                                && page == 2
                                && !cut.swap(true, std::sync::atomic::Ordering::SeqCst);
                            let tag =
                                format!("\"{}-{page}-{}\"", resource.replace('/', "-"), body.len());
                            if etag.as_deref() == Some(tag.as_str()) {
                                (304, String::new(), vec![("ETag".to_string(), tag)])
                            } else {
                                let mut h = vec![("ETag".to_string(), tag)];
                                if cut_now {
                                    h.push(("X-Test-Cut".to_string(), "1".to_string()));
                                }
                                if page < list.len() {
                                    h.push((
                                    "Link".to_string(),
                                    format!("<{api}{path}?{}>; rel=\"next\", <{api}{path}?page={}>; rel=\"last\"",
                                        query.split('&').filter(|kv| !kv.starts_with("page=")).chain([format!("page={}", page + 1).as_str()]).collect::<Vec<_>>().join("&"),
                                        list.len()),
                                ));
                                }
                                (200, body, h)
                            }
                        }
                    } else {
                        (404, json!({"message": "Not Found"}).to_string(), vec![])
                    };
                    write_answer(stream, answer);
                });
            }
        });
        FakeGithub {
            addr,
            seen,
            switches,
        }
    }

    fn switch(&self, name: &'static str, on: bool) {
        self.switches.lock().expect("switches").insert(name, on);
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("seen").clone()
    }
}

/// The request line and `If-None-Match` of a request (its body, if any,
/// is not read: the API is only read).
fn read_head(stream: &std::net::TcpStream) -> Option<(String, Option<String>)> {
    use std::io::BufRead as _;
    let mut reader = std::io::BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut etag = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("if-none-match") {
                etag = Some(v.trim().to_string());
            }
        }
    }
    Some((line.trim_end().to_string(), etag))
}

fn write_answer(
    mut stream: std::net::TcpStream,
    (status, body, headers): (u16, String, Vec<(String, String)>),
) {
    use std::io::Write as _;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    let mut cut = false;
    for (k, v) in headers {
        cut |= k == "X-Test-Cut";
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    // A cut page says its whole length and sends half.
    let sent = if cut {
        &body[..body.len() / 2]
    } else {
        &body[..]
    };
    let _ = stream.write_all(sent.as_bytes());
}

#[test]
fn a_backfill_pages_waits_out_limits_resumes_after_a_kill_and_reruns_on_etags() {
    use crate::git;
    let f = Forge::with_project();
    // The "GitHub" repository's git side: a project of this forge, served.
    let work = f.work_clone();
    std::fs::write(work.join("README"), "hello\n").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Hello"]);
    git(&work, &["push", "-q", "origin", "main"]);
    let s = Server::start(&f);
    let github = FakeGithub::start(1200, 140, format!("http://{}/tools/hammer.git", s.addr));
    f.ok(&["--as", "alice", "project", "create", "tools/hello"]);
    let token = f.dir.path().join("token");
    std::fs::write(&token, "ghp_testtoken\n").expect("token");
    let api = format!("http://{}", github.addr);
    private_json(
        &f,
        &[
            "--as",
            "alice",
            "--json",
            "mirror",
            "github",
            "add",
            "-p",
            "tools/hello",
            "Codertocat/Hello-World",
            "--api-url",
            &api,
            "--token-file",
            token.to_str().expect("utf-8"),
            "--no-sync",
        ],
    );

    // A first sync, killed while it waits on the twelfth page of issues:
    // pages are written a thousand records at a time, so the first ten
    // are in, and the eleventh was read but not written.
    github.switch("slow", true);
    let mut child = f
        .command(&["--as", "alice", "mirror", "sync", "-p", "tools/hello"])
        .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sync starts");
    wait_for("the twelfth page of issues to be asked", || {
        github
            .seen()
            .iter()
            .any(|l| l.contains("/issues?") && l.contains("page=12"))
            .then_some(())
    });
    child.kill().expect("kill");
    child.wait().expect("reaped");
    github.switch("slow", false);
    let status = f.json(&["--as", "alice", "mirror", "status", "-p", "tools/hello"]);
    assert_eq!(status["unfinished"], json!(["issues"]), "{status}");
    assert_eq!(status["records"]["issue"], 1000, "{status}");

    // Run again: it goes on from the eleventh page of issues.
    let asked_before = github.seen().len();
    let report = private_json(
        &f,
        &[
            "--as",
            "alice",
            "--json",
            "mirror",
            "sync",
            "-p",
            "tools/hello",
        ],
    );
    assert_eq!(report["resumed"], true, "{report}");
    let again: Vec<String> = github.seen()[asked_before..].to_vec();
    let page_of = |l: &str| -> u32 {
        l.split(['?', '&', ' '])
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
    };
    let issue_pages: Vec<u32> = again
        .iter()
        .filter(|l| l.contains("/issues?"))
        .map(|l| page_of(l))
        .collect();
    assert_eq!(issue_pages, vec![11, 12], "{again:?}");
    assert!(
        !again.iter().any(|l| l.contains("/labels?")),
        "labels were done: {again:?}"
    );
    let status = f.json(&["--as", "alice", "mirror", "status", "-p", "tools/hello"]);
    assert_eq!(status["records"]["issue"], 1198, "{status}");
    assert_eq!(status["records"]["pull"], 2, "{status}");
    assert_eq!(status["records"]["comment"], 420, "{status}");
    assert_eq!(status["records"]["review_comment"], 1, "{status}");
    assert_eq!(status["unfinished"], json!([]), "{status}");
    // The rate limit was waited out, the 502 asked again, the token sent.
    let seen = github.seen();
    let comments_page_2 = seen
        .iter()
        .filter(|l| l.contains("/issues/comments?") && l.contains("page=2"))
        .count();
    assert!(comments_page_2 >= 2, "the cut page asked again: {seen:?}");
    let issue_page_2 = seen
        .iter()
        .filter(|l| l.contains("/issues?") && l.contains("page=2"))
        .count();
    assert!(issue_page_2 >= 2, "{seen:?}");
    let listed = f.json(&[
        "issue",
        "list",
        "-p",
        "tools/hello",
        "--status",
        "all",
        "--limit",
        "2000",
    ]);
    let listed = listed
        .as_array()
        .map(Vec::len)
        .or_else(|| listed["issues"].as_array().map(Vec::len));
    assert_eq!(listed, Some(1198));
    let one = f.json(&["issue", "show", "-p", "tools/hello", "7"]);
    assert_eq!(one["title"], "Issue number 7");
    assert_eq!(
        one["comments"].as_array().map(Vec::len),
        Some(3),
        "no comment twice: {one}"
    );
    assert!(one["tags"].to_string().contains("bug"), "{one}");
    let pr = f.json(&["pr", "show", "-p", "tools/hello", "1200"]);
    assert_eq!(pr["title"], "Pull request number 1200");
    // The source came with it.
    let main = git(
        &f.home().join("repos/tools/hello.git"),
        &["rev-parse", "main"],
    );
    let upstream = git(&work, &["rev-parse", "main"]);
    assert_eq!(main.trim(), upstream.trim());

    // Nothing changed: only conditional requests, nothing written.
    let asked_before = github.seen().len();
    let report = private_json(
        &f,
        &[
            "--as",
            "alice",
            "--json",
            "mirror",
            "sync",
            "-p",
            "tools/hello",
        ],
    );
    assert_eq!(report["pages"], report["unchanged"], "{report}");
    assert_eq!(report["tally"]["written"], 0, "{report}");
    assert!(github.seen().len() > asked_before);

    // A Link to another server: refused, naming it, the token kept home.
    github.switch("bad link", true);
    let out = private(
        &f,
        &["--as", "alice", "mirror", "sync", "-p", "tools/hello"],
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("not on the API's"), "{said}");
    assert!(!said.contains("ghp_testtoken"), "{said}");
    assert!(!github.seen().iter().any(|l| l.contains("127.0.0.2")));
    drop(s);
}
