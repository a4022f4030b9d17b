//! Webhooks end to end: `forge webhook add`, an issue, `forge worker`, a
//! receiver on a loopback port; the signatures checked by the reference
//! `standardwebhooks` library and by Pagure's HMACs recomputed in Python;
//! retries, the delivery log, 410 Gone.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::Forge;

/// A request as the receiver got it: lowercased header lines and the body.
struct Got {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Reads one request: its lowercased headers and its body (`None`: the
/// sender went away in the middle of it).
fn read_request(stream: &std::net::TcpStream) -> Option<Got> {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k, v.trim().to_string()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Got { headers, body })
}

/// A receiver answering successive requests with `statuses`.
fn receiver(statuses: Vec<u16>) -> (String, mpsc::Receiver<Got>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (stream, status) in listener.incoming().zip(statuses) {
            let Ok(mut stream) = stream else { return };
            let Some(got) = read_request(&stream) else {
                continue;
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
            let _ = tx.send(got);
        }
    });
    (addr, rx)
}

/// Adds a webhook of tools/hammer (alice's) posting to `addr`.
fn add_webhook(f: &Forge, addr: &str) {
    let url = format!("http://{addr}/");
    let out = forge_private(
        f,
        &[
            "--as",
            "alice",
            "webhook",
            "add",
            "-p",
            "tools/hammer",
            &url,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Appends `n` comment events of tools/hammer's issue 1 through `store`
/// (in the caller's transaction, if it opened one), as every change
/// appends its own.
fn append_events(store: &forge_core::Store, n: u64) {
    for i in 0..n {
        forge_core::event::append(
            store.conn(),
            &forge_core::event::NewEvent {
                kind: "issue.comment.added",
                project: "tools/hammer",
                actor: "alice",
                issue: Some(1),
                fields: serde_json::json!({"comment": i}),
            },
        )
        .expect("append");
    }
}

fn forge_private(f: &Forge, args: &[&str]) -> std::process::Output {
    f.command(args)
        .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
        .output()
        .expect("forge runs")
}

/// Checks a delivery with the reference Python library and Pagure's HMACs
/// computed by Python's own `hmac`.
fn python_verifies(got: &Got, secret: &str) {
    let python = std::env::var("FORGE_LIBPAGURE_PYTHON").unwrap_or_else(|_| {
        panic!("FORGE_LIBPAGURE_PYTHON names no Python with standardwebhooks: run the tests with `bash .ci/run`")
    });
    let script = r#"
import hashlib, hmac, json, sys
from standardwebhooks import Webhook
secret, body = sys.argv[1], sys.stdin.buffer.read()
headers = json.loads(sys.argv[2])
Webhook(secret).verify(body, {"webhook-id": headers["webhook-id"], "webhook-timestamp": headers["webhook-timestamp"], "webhook-signature": headers["webhook-signature"]})
assert hmac.new(secret.encode(), body, hashlib.sha1).hexdigest() == headers["x-pagure-signature"], "sha1"
assert hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() == headers["x-pagure-signature-256"], "sha256"
print("verified")
"#;
    let headers: serde_json::Map<String, serde_json::Value> = got
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!(v)))
        .collect();
    let mut child = Command::new(python)
        .args([
            "-c",
            script,
            secret,
            &serde_json::Value::Object(headers).to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&got.body)
        .expect("write");
    let out = child.wait_with_output().expect("python");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("verified"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_issue_reaches_a_webhook_signed_both_ways_and_failures_are_retried_and_logged() {
    let f = Forge::with_project();
    let (addr, got) = receiver(vec![200, 500, 410]);
    let out = forge_private(
        &f,
        &[
            "--as",
            "alice",
            "--json",
            "webhook",
            "add",
            "-p",
            "tools/hammer",
            &format!("http://{addr}/hook"),
            "--events",
            "issue.*",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let secret = added["secret"].as_str().expect("secret").to_string();

    // Events from before the webhook existed? None here; the first issue
    // is delivered by the worker, nothing in the request waited for it.
    f.ok_line("--as alice issue new -p tools/hammer --title Wobbly");
    let out = forge_private(&f, &["worker", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = got
        .recv_timeout(Duration::from_secs(10))
        .expect("delivered");
    assert_eq!(first.header("x-pagure-topic"), "issue.new");
    assert_eq!(first.header("x-pagure-project"), "tools/hammer");
    let body: serde_json::Value = serde_json::from_slice(&first.body).expect("json body");
    assert_eq!(body["topic"], "issue.new");
    assert_eq!(body["msg"]["project_fullname"], "tools/hammer");
    assert_eq!(body["msg"]["agent"], "alice");
    python_verifies(&first, &secret);

    // A 500: the job waits for its retry, and the log says so.
    f.ok_line("--as alice issue new -p tools/hammer --title Loose");
    let out = forge_private(&f, &["worker", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = got
        .recv_timeout(Duration::from_secs(10))
        .expect("attempted");
    let status = f.json_line("queue status");
    let hooks = crate::consumer_status(&status, "webhooks");
    assert_eq!(hooks["retrying"], 1, "{status}");
    let log = f.json_line("--as alice webhook deliveries -p tools/hammer");
    assert_eq!(log[0]["status"], 500, "{log}");
    assert_eq!(log[1]["status"], 200, "{log}");
    assert_eq!(
        log[0]["request_headers"]["webhook-id"],
        second.header("webhook-id")
    );

    // Sent again by hand: the same webhook-id; a 410 disables the webhook.
    let delivery = log[0]["id"].as_i64().expect("id").to_string();
    let out = forge_private(
        &f,
        &[
            "--as",
            "alice",
            "webhook",
            "redeliver",
            "-p",
            "tools/hammer",
            &delivery,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("answered 410"));
    let third = got
        .recv_timeout(Duration::from_secs(10))
        .expect("redelivered");
    assert_eq!(third.header("webhook-id"), second.header("webhook-id"));
    let hooks = f.json_line("--as alice webhook list -p tools/hammer");
    assert_eq!(hooks[0]["active"], false, "{hooks}");
    assert!(
        hooks[0]["disabled_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("410"),
        "{hooks}"
    );
}

#[test]
fn forge_serve_delivers_by_itself_and_a_new_webhook_gets_only_what_follows() {
    let f = Forge::with_project();
    // Before the webhook: not sent to it later.
    f.ok_line("--as alice issue new -p tools/hammer --title Before");
    let (addr, got) = receiver(vec![200, 200]);
    let out = forge_private(
        &f,
        &[
            "--as",
            "alice",
            "webhook",
            "add",
            "-p",
            "tools/hammer",
            &format!("http://{addr}/"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut serve = f.command(&["serve", "--bind", "127.0.0.1:0"]);
    serve.env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1");
    let _server = crate::http::Server::from(serve);
    f.ok_line("--as alice issue new -p tools/hammer --title After");
    let first = got
        .recv_timeout(Duration::from_secs(20))
        .expect("delivered by forge serve");
    let body: serde_json::Value = serde_json::from_slice(&first.body).expect("json");
    assert_eq!(body["msg"]["title"], "After", "{body}");
    assert!(
        got.recv_timeout(Duration::from_millis(800)).is_err(),
        "nothing else was sent"
    );
}

/// A receiver answering 200 to every request after `delay`, one thread per
/// connection; it keeps each request's `webhook-id`.
fn recording_receiver(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let seen = kept.clone();
            std::thread::spawn(move || {
                // A sender that died in the middle of its request sent nothing.
                let Some(got) = read_request(&stream) else {
                    return;
                };
                let id = got.header("webhook-id").to_string();
                // Kept as it arrives, before the answer: a sender sends
                // its next request only after this one's answer, so the
                // list is in the order the requests came.
                seen.lock().expect("lock").push(id);
                std::thread::sleep(delay);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            });
        }
    });
    (addr, seen)
}

#[test]
fn a_worker_killed_in_the_middle_of_a_thousand_deliveries_loses_none() {
    let f = Forge::with_project();
    let (addr, seen) = recording_receiver(Duration::from_millis(1));
    add_webhook(&f, &addr);
    // A thousand events at once.
    {
        let store = forge_core::Store::open(&f.home().join("forge.db")).expect("store");
        store.conn().execute_batch("BEGIN").expect("begin");
        append_events(&store, 1000);
        store.conn().execute_batch("COMMIT").expect("commit");
    }
    let worker = || {
        f.command(&["worker"])
            .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
            .env("FORGE_WEBHOOKS_LEASE_SECS", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("forge worker starts")
    };
    let wait_for = |n: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while seen.lock().expect("lock").len() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "only {} delivered",
                seen.lock().expect("lock").len()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };

    // Killed (SIGKILL) with jobs claimed and not yet sent.
    let mut first = worker();
    wait_for(300);
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let at_kill = seen.lock().expect("lock").len();
    assert!(at_kill < 1000, "the worker was killed before the end");

    // Another worker takes the dead one's jobs once their lease ends.
    let mut second = worker();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let distinct: std::collections::BTreeSet<String> =
            seen.lock().expect("lock").iter().cloned().collect();
        if distinct.len() == 1000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} distinct deliveries",
            distinct.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGTERM: a clean stop.
    let pid = second.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = second.wait().expect("reaped");
    assert!(
        status.success(),
        "forge worker stops cleanly on SIGTERM: {status}"
    );

    // Each event reached the receiver, which deduplicates by webhook-id,
    // exactly once, and in the order of the log.
    let seen = seen.lock().expect("lock").clone();
    let mut first_seen = Vec::new();
    let mut distinct = std::collections::HashSet::new();
    for id in &seen {
        if distinct.insert(id.clone()) {
            first_seen.push(id.clone());
        }
    }
    assert_eq!(first_seen.len(), 1000);
    let events: Vec<i64> = first_seen
        .iter()
        .map(|id| {
            id.split('_')
                .nth(1)
                .and_then(|n| n.parse().ok())
                .expect("msg_<event>_<hook>")
        })
        .collect();
    assert!(
        events.windows(2).all(|w| w[0] < w[1]),
        "in order: {events:?}"
    );
    assert!(
        seen.len() - 1000 <= 40,
        "at most the killed worker's claimed run again: {}",
        seen.len()
    );
    let status = f.json_line("queue status");
    let hooks = crate::consumer_status(&status, "webhooks");
    for state in ["pending", "running", "retrying", "dead"] {
        assert_eq!(hooks[state], 0, "{state}: {status}");
    }
}

#[test]
fn a_worker_waits_out_a_busy_database_says_so_and_loses_nothing() {
    let f = Forge::with_project();
    let (addr, seen) = recording_receiver(Duration::ZERO);
    add_webhook(&f, &addr);
    // Another process holds the write lock longer than the busy timeout
    // (10 s), with ten events it has not committed yet.
    let store = forge_core::Store::open(&f.home().join("forge.db")).expect("store");
    store.conn().execute_batch("BEGIN EXCLUSIVE").expect("lock");
    append_events(&store, 10);
    let log = f.dir.path().join("worker.log");
    let mut worker = f
        .command(&["worker"])
        .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("forge worker starts");
    // Held until the worker has met it and said so (its busy timeout ran
    // out), however long the worker took to start on a loaded machine.
    let held = std::time::Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("locked")
    {
        assert!(
            held.elapsed() < Duration::from_secs(90),
            "the worker never said the database was locked"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    store.conn().execute_batch("COMMIT").expect("unlock");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen.lock().expect("lock").len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} delivered",
            seen.lock().expect("lock").len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .expect("kill");
    assert!(worker.wait().expect("reaped").success());
    // What met the lock first (pruning old jobs, or a round) said so.
    let said = std::fs::read_to_string(&log).expect("log");
    assert!(
        said.contains("failed") && said.contains("locked") && said.contains("trying again"),
        "{said}"
    );
}
