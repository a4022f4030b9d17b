//! Live updates over a real loopback socket, read by a plain HTTP client:
//! replay with `Last-Event-ID`, what a viewer may read, heartbeats, a
//! client that does not read, and shutdown with streams open.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use forge_core::Store;
use forge_http::{App, ServerConfig};
use forge_tickets::{Actor, NewIssue, Tracker};
use serde_json::Value;

use crate::{fixture, Fixture};

/// The fixture's home served on a loopback port with `config`; the
/// sender stops the server.
struct Served {
    app: Arc<App>,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

fn serve(f: &Fixture, config: ServerConfig) -> Served {
    let app = forge_http::app(f.app.home.clone(), config, None);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener =
        f.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let done = f.rt.spawn(forge_http::serve(listener, app.clone(), async {
        let _ = stopped.await;
    }));
    Served {
        app,
        addr,
        stop: Some(stop),
        done: Some(done),
    }
}

/// A stream as a plain client reads it: the response's lines.
struct Client {
    lines: BufReader<TcpStream>,
    /// Heartbeats keep a stream talking: a test that waits for what never
    /// comes fails at this time instead of waiting for ever.
    deadline: std::time::Instant,
}

impl Client {
    fn open(at: std::net::SocketAddr, path: &str, headers: &[(&str, &str)]) -> Client {
        let mut stream = TcpStream::connect(at).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send");
        Client {
            lines: BufReader::new(stream),
            deadline: std::time::Instant::now() + Duration::from_secs(90),
        }
    }

    fn line(&mut self) -> String {
        assert!(
            std::time::Instant::now() < self.deadline,
            "what the test waits for did not come"
        );
        let mut line = String::new();
        let n = self.lines.read_line(&mut line).expect("a line in time");
        assert!(n > 0, "the stream ended");
        line.trim_end().to_string()
    }

    fn status(&mut self) -> u16 {
        let status = self.line();
        let code = status.split(' ').nth(1).and_then(|c| c.parse().ok());
        code.unwrap_or_else(|| panic!("not a status line: {status}"))
    }

    /// Reads up to the next event: its id and data.
    fn event(&mut self) -> (i64, Value) {
        loop {
            let line = self.line();
            if let Some(id) = line.strip_prefix("id: ") {
                let id = id.parse().expect("an id");
                let data = self.line();
                let data = data.strip_prefix("data: ").expect("data follows id");
                return (id, serde_json::from_str(data).expect("json data"));
            }
        }
    }

    /// Reads until a line that `wanted` accepts.
    fn until(&mut self, wanted: impl Fn(&str) -> bool) {
        while !wanted(&self.line()) {}
    }

    /// Whether the stream ends (end of the chunked body, or of the
    /// connection) before the read timeout.
    fn ends(&mut self) -> bool {
        loop {
            let mut line = String::new();
            match self.lines.read_line(&mut line) {
                Ok(0) => return true,
                Ok(_) if line == "0\r\n" => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
}

fn tracker_do(f: &Fixture, project: &str, user: &str, act: impl FnOnce(&Tracker, &Actor)) {
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let p = store.project(project).expect("project");
    let tracker = Tracker::open_for_project(&store, &f.app.home, &p).expect("tracker");
    let actor = Actor::for_user(&store, &p, user).expect("actor");
    act(&tracker, &actor);
}

fn comment(f: &Fixture, n: u64, text: &str) {
    tracker_do(f, "hammer", "alice", |t, a| {
        t.comment(a, n, text).expect("comment");
    });
}

#[test]
fn a_client_that_reconnects_with_last_event_id_gets_every_event_it_missed_in_order() {
    let f = fixture();
    let served = serve(&f, ServerConfig::default());
    let mut first = Client::open(served.addr, "/api/0/hammer/events", &[]);
    assert_eq!(first.status(), 200);
    first.until(|l| l.starts_with(": forge live updates"));
    comment(&f, 1, "before the cut");
    let (last, data) = first.event();
    assert_eq!(data["type"], "issue.comment.added", "{data}");
    drop(first);

    for n in 0..50 {
        comment(&f, 1, &format!("missed {n}"));
    }
    let mut again = Client::open(
        served.addr,
        "/api/0/hammer/events",
        &[("Last-Event-ID", &last.to_string())],
    );
    assert_eq!(again.status(), 200);
    let mut ids = Vec::new();
    for _ in 0..50 {
        let (id, data) = again.event();
        assert_eq!(data["type"], "issue.comment.added", "{data}");
        ids.push(id);
    }
    assert!(
        ids[0] > last && ids.windows(2).all(|w| w[0] < w[1]),
        "{ids:?}"
    );
    // Then the live ones, on the same stream.
    comment(&f, 1, "live again");
    let (id, _) = again.event();
    assert!(id > ids[49]);

    // The issue's own stream, for the page: the same events of that issue.
    let mut page = Client::open(
        served.addr,
        "/hammer/issue/1/events",
        &[("Last-Event-ID", &ids[48].to_string())],
    );
    assert_eq!(page.status(), 200);
    assert_eq!(page.event().0, ids[49]);
    assert_eq!(page.event().0, id);

    let mut bad = Client::open(
        served.addr,
        "/api/0/hammer/events",
        &[("Last-Event-ID", "yesterday")],
    );
    assert_eq!(bad.status(), 400);
}

#[test]
fn a_private_issues_events_reach_only_those_who_may_read_it() {
    let f = fixture();
    let served = serve(&f, ServerConfig::default());
    let mut private = 0;
    tracker_do(&f, "hammer", "alice", |t, a| {
        private = t
            .create_issue(
                a,
                NewIssue {
                    private: true,
                    ..NewIssue::titled("The safe's combination")
                },
            )
            .expect("issue")
            .number;
    });
    let auth = format!("token {}", f.token);
    let mut alice = Client::open(
        served.addr,
        "/api/0/hammer/events",
        &[("Authorization", &auth)],
    );
    let mut anonymous = Client::open(served.addr, "/api/0/hammer/events", &[]);
    for c in [&mut alice, &mut anonymous] {
        assert_eq!(c.status(), 200);
        c.until(|l| l.starts_with(": forge live updates"));
    }
    comment(&f, private, "It is 12-34-56");
    comment(&f, 1, "A public word");
    let (_, seen) = alice.event();
    assert_eq!(seen["issue"], private, "{seen}");
    assert_eq!(alice.event().1["issue"], 1);
    // The anonymous stream skips the private comment.
    let (_, seen) = anonymous.event();
    assert_eq!(seen["issue"], 1, "{seen}");
    assert!(!seen.to_string().contains("12-34-56"));

    // The private issue's page stream is not there for them at all, nor a
    // private project's.
    let mut refused = Client::open(served.addr, &format!("/hammer/issue/{private}/events"), &[]);
    assert_eq!(refused.status(), 404);
    let mut refused = Client::open(served.addr, "/api/0/vault/events", &[]);
    assert_eq!(refused.status(), 404);
    let mut allowed = Client::open(
        served.addr,
        "/api/0/vault/events",
        &[("Authorization", &auth)],
    );
    assert_eq!(allowed.status(), 200);
}

#[test]
fn heartbeats_a_client_that_does_not_read_and_shutdown_with_streams_open() {
    let f = fixture();
    let mut served = serve(
        &f,
        ServerConfig {
            sse_heartbeat: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(120),
            ..Default::default()
        },
    );
    let mut idle = Client::open(served.addr, "/api/0/hammer/events", &[]);
    assert_eq!(idle.status(), 200);
    idle.until(|l| l == ": ping");

    // A client that does not read while thousands of events pass (more
    // than the broadcast keeps): when it reads again, none is missing.
    let mut sleeper = Client::open(served.addr, "/api/0/hammer/events", &[]);
    assert_eq!(sleeper.status(), 200);
    sleeper.until(|l| l.starts_with(": forge live updates"));
    let store = Store::open(&f.app.home.db_path()).expect("store");
    let tx = store.conn().unchecked_transaction().expect("tx");
    let mut appended = Vec::new();
    for n in 0..3000 {
        appended.push(
            forge_core::event::append(
                &tx,
                &forge_core::event::NewEvent {
                    kind: "git.push",
                    project: "hammer",
                    actor: "alice",
                    issue: None,
                    fields: serde_json::json!({"n": n, "padding": "x".repeat(2000)}),
                },
            )
            .expect("append"),
        );
    }
    tx.commit().expect("commit");
    std::thread::sleep(Duration::from_secs(2));
    for want in &appended {
        assert_eq!(sleeper.event().0, *want);
    }
    assert_eq!(served.app.live_streams(), 2);

    // Stopping the server ends the open streams, well before the grace
    // period is over.
    drop(served.stop.take());
    assert!(idle.ends(), "the stream ends at shutdown");
    let done = served.done.take().expect("running");
    f.rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), done).await })
        .expect("the server stops without waiting for its grace period")
        .expect("joined")
        .expect("served");
}
