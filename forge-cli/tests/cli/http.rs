//! `forge serve` on a free loopback port, driven over real TCP with a small
//! HTTP/1.1 client: Pagure's API paths and shapes, tokens, ACLs and roles,
//! error codes, limits, and a clean stop on SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use crate::Forge;

pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// Another listener of a server started elsewhere (its admin or docs
    /// address), to send requests to.
    pub(crate) fn at(addr: &str) -> Server {
        Server {
            child: None,
            addr: addr.to_string(),
        }
    }

    pub(crate) fn start(forge: &Forge) -> Server {
        Server::from(forge.command(&["serve", "--bind", "127.0.0.1:0"]))
    }

    /// Starts a `forge serve` command and waits until it says where it listens.
    pub(crate) fn from(mut command: Command) -> Server {
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("forge serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server says where it listens")
                .expect("line");
            if let Some(rest) = line.split("on http://").nth(1) {
                break rest.split_whitespace().next().expect("address").to_string();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server {
            child: Some(child),
            addr,
        }
    }

    /// Sends one request; returns the status and the parsed JSON body.
    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let (status, text) = self.raw(method, path, token, body);
        let json =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
        (status, json)
    }

    pub(crate) fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &str)>,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if let Some(t) = token {
            req.push_str(&format!("Authorization: token {t}\r\n"));
        }
        let (ctype, data) = body.unwrap_or(("", ""));
        if body.is_some() {
            req.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
                data.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(data);
        stream.write_all(req.as_bytes()).expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status: {answer}"));
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        (status, body)
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.request("GET", path, token, None)
    }

    fn form(&self, path: &str, token: Option<&str>, form: &str) -> (u16, Value) {
        self.request(
            "POST",
            path,
            token,
            Some(("application/x-www-form-urlencoded", form)),
        )
    }
}

fn token(forge: &Forge, user: &str, args: &[&str]) -> String {
    let mut all = vec!["--as", user, "token", "create"];
    all.extend_from_slice(args);
    forge.json(&all)["token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[test]
fn the_api_answers_with_pagure_shapes_and_codes() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    let alice = token(&f, "alice", &["--acl", "issue_create,issue_comment,issue_change_status,issue_assign,create_project,issue_update"]);
    let bob_comment = token(&f, "bob", &["--acl", "issue_comment"]);
    let bob_full = token(
        &f,
        "bob",
        &[
            "--acl",
            "issue_create,issue_change_status,issue_comment",
            "-p",
            "tools/hammer",
        ],
    );
    let s = Server::start(&f);

    assert_eq!(
        s.get("/api/0/version", None),
        (200, json!({"version": env!("CARGO_PKG_VERSION")}))
    );
    let (status, codes) = s.get("/api/0/error_codes", None);
    assert_eq!(status, 200);
    for code in [
        "EINVALIDTOK",
        "ENOPROJECT",
        "ENOISSUE",
        "ENOREQ",
        "ENOCOMMENT",
        "EINVALIDREQ",
        "EPULLREQUESTSDISABLED",
        "ENOTHIGHENOUGH",
        "EPRCONFLICTS",
        "ENOUSER",
        "EISSUENOTALLOWED",
        "ETRACKERDISABLED",
    ] {
        assert!(codes.get(code).is_some(), "{code}");
    }
    assert_eq!(
        s.get("/api/0/-/whoami", Some(&alice)),
        (200, json!({"username": "alice"}))
    );
    assert_eq!(s.get("/api/0/-/whoami", None).0, 401);
    let (status, err) = s.get("/api/0/-/whoami", Some("NOT-A-TOKEN"));
    assert_eq!(
        (status, err["error_code"].as_str()),
        (401, Some("EINVALIDTOK"))
    );
    // As Pagure: the settings page to renew a token, and why in `errors`.
    let text = err["error"].as_str().expect("error");
    assert!(
        text.starts_with("Invalid or expired token. Please visit http://127.0.0.1:")
            && text.ends_with("/settings#nav-api-tab to get or renew your API token."),
        "{text}"
    );
    assert_eq!(err["errors"], "Invalid token");
    assert_eq!(
        s.get("/api/0/users", None).1["users"],
        json!(["alice", "bob"])
    );
    // Pagure's `pattern` (a name's start, `*` for any run) and `mention`.
    let (_, b) = s.get("/api/0/users?pattern=b", None);
    assert_eq!(
        (&b["users"], &b["total_users"]),
        (&json!(["bob"]), &json!(1))
    );
    assert_eq!(b["mention"][0]["username"], "bob");
    assert!(
        b["mention"][0]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("https://seccdn.libravatar.org/avatar/")),
        "{b}"
    );
    assert_eq!(
        s.get("/api/0/users?pattern=*c*", None).1["users"],
        json!(["alice"])
    );
    let (status, user) = s.get("/api/0/user/alice", None);
    assert_eq!(status, 200);
    assert_eq!(user["user"]["fullname"], "Alice");
    // Pagure's extras: the picture, and each list paged by its own key.
    assert!(user["user"]["avatar_url"]
        .as_str()
        .is_some_and(|u| u.ends_with("?s=16&d=retro")));
    assert_eq!(
        (
            &user["repos_pagination"]["repopage"],
            &user["forks_pagination"]["forkpage"]
        ),
        (&json!(1), &json!(1))
    );
    // alice owns one project so far: page 2 of size 1 is empty, page 1 before it.
    let (_, paged) = s.get("/api/0/user/alice?per_page=1&repopage=2", None);
    assert_eq!(paged["repos"].as_array().map(Vec::len), Some(0));
    assert!(paged["repos_pagination"]["prev"]
        .as_str()
        .is_some_and(|u| u.contains("repopage=1")));
    assert_eq!(user["repos"][0]["fullname"], "tools/hammer");
    assert_eq!(s.get("/api/0/user/nobody", None).1["error_code"], "ENOUSER");
    let groups = s.get("/api/0/groups", None).1;
    assert_eq!(
        (
            &groups["total_groups"],
            &groups["groups"],
            &groups["pagination"]["pages"]
        ),
        (&json!(0), &json!([]), &json!(0)),
        "{groups}"
    );

    // Projects: create, list, show.
    let (status, made) = s.form(
        "/api/0/new",
        Some(&alice),
        "name=anvil&namespace=tools&description=Heavy",
    );
    assert_eq!(
        (status, made["message"].as_str()),
        (200, Some("Project \"tools/anvil\" created"))
    );
    let (status, err) = s.form("/api/0/new", Some(&alice), "description=nameless");
    assert_eq!(status, 400);
    assert_eq!(err["errors"]["name"][0], "This field is required.");
    let (_, projects) = s.get("/api/0/projects?per_page=1", None);
    assert_eq!(projects["total_projects"], 2);
    assert_eq!(projects["args"]["short"], false);
    // Pagure's filters and short form.
    let names = |query: &str| -> Value {
        let (_, found) = s.get(&format!("/api/0/projects?{query}"), None);
        json!(found["projects"]
            .as_array()
            .map(|ps| ps.iter().map(|p| p["fullname"].clone()).collect::<Vec<_>>()))
    };
    assert_eq!(names("pattern=HAM*"), json!(["tools/hammer"]));
    assert_eq!(names("pattern=ham"), json!([]), "no star: the exact name");
    assert_eq!(
        names("username=bob"),
        json!([]),
        "bob only has the ticket role"
    );
    assert_eq!(names("fork=true"), json!([]));
    let (_, short) = s.get("/api/0/projects?short=1&pattern=hammer", None);
    assert_eq!(
        short["projects"][0],
        json!({"name": "hammer", "namespace": "tools", "fullname": "tools/hammer", "description": short["projects"][0]["description"]})
    );
    assert_eq!(short["projects"][0].as_object().map(|o| o.len()), Some(4));
    assert_eq!(short["args"]["pattern"], "hammer");
    assert_eq!(projects["projects"].as_array().map(Vec::len), Some(1));
    assert_eq!(projects["pagination"]["pages"], 2);
    let next = projects["pagination"]["next"].as_str().expect("next");
    assert!(
        next.starts_with(&format!("http://{}/api/0/projects?", s.addr)) && next.contains("page=2"),
        "{next}"
    );
    f.ok_line("--as alice group create core");
    f.ok_line("--as alice project member add tools/hammer @core --role commit");
    f.ok_line(
        "--as alice project settings tools/hammer --set custom_fields=os:list:linux|mac,ok:bool",
    );
    let (_, hammer) = s.get("/api/0/tools/hammer", None);
    assert_eq!(hammer["fullname"], "tools/hammer");
    assert_eq!(hammer["access_users"]["owner"], json!(["alice"]));
    assert_eq!(hammer["access_users"]["ticket"], json!(["bob"]));
    // Pagure's keys: groups apart, the page's URL, no parent, and custom
    // keys as pairs of name and Pagure's type name.
    assert_eq!(hammer["access_groups"]["commit"], json!(["core"]));
    assert_eq!(hammer["access_users"]["commit"], json!([]));
    assert_eq!(
        hammer["full_url"],
        json!(format!("http://{}/tools/hammer", s.addr))
    );
    assert_eq!(hammer["parent"], json!(null));
    assert_eq!(
        hammer["custom_keys"],
        json!([["ok", "boolean"], ["os", "list"]])
    );
    assert_eq!(
        s.get("/api/0/tools/nothing", None).1["error_code"],
        "ENOPROJECT"
    );

    // Issues: create by form and by JSON, read, list with filters and pages.
    let (status, created) = s.form(
        "/api/0/tools/hammer/new_issue",
        Some(&alice),
        "title=Loose+handle&issue_content=It+wobbles&tag=bug",
    );
    assert_eq!(status, 200, "{created}");
    let issue = &created["issue"];
    assert_eq!(
        (issue["id"].as_u64(), issue["status"].as_str()),
        (Some(1), Some("Open"))
    );
    assert_eq!(issue["user"]["name"], "alice");
    assert!(
        issue["date_created"]
            .as_str()
            .is_some_and(|d| d.contains('.') && d.parse::<f64>().is_ok()),
        "epoch string with a fraction, as Pagure's"
    );
    let (status, _) = s.request(
        "POST",
        "/api/0/tools/hammer/new_issue",
        Some(&bob_full),
        Some((
            "application/json",
            r#"{"title": "Rusty", "issue_content": "Oil it", "tag": ["rust", "head"]}"#,
        )),
    );
    assert_eq!(status, 200);
    let (status, err) = s.form(
        "/api/0/tools/hammer/new_issue",
        Some(&alice),
        "title=No+body",
    );
    assert_eq!(
        (status, err["errors"]["issue_content"][0].as_str()),
        (400, Some("This field is required."))
    );
    let (_, listed) = s.get("/api/0/tools/hammer/issues?per_page=1", None);
    // As Pagure: `total_issues` counts the page; forge adds the total.
    assert_eq!(listed["total_issues"], 1);
    assert_eq!(listed["pagination"]["total"], 2);
    assert_eq!(listed["issues"][0]["title"], "Rusty");
    assert_eq!(listed["pagination"]["pages"], 2);
    assert_eq!(
        (
            &listed["args"]["tags"],
            &listed["args"]["milestones"],
            &listed["args"]["no_stones"]
        ),
        (&json!([]), &json!([]), &json!(null))
    );
    let (_, tagged) = s.get(
        "/api/0/tools/hammer/issues?tags=bug&tags=+&no_stones=true",
        None,
    );
    assert_eq!(tagged["total_issues"], 1);
    assert_eq!(tagged["args"]["tags"], json!(["bug"]));
    assert_eq!(tagged["args"]["no_stones"], true);
    let (_, by_author) = s.get("/api/0/tools/hammer/issues?author=bob", None);
    assert_eq!(by_author["issues"][0]["tags"], json!(["head", "rust"]));
    assert_eq!(
        s.get("/api/0/tools/hammer/issues?per_page=101", None).0,
        400
    );
    assert_eq!(
        s.get("/api/0/tools/hammer/issues?status=maybe", None).0,
        400
    );
    let (_, missing) = s.get("/api/0/tools/hammer/issue/9", None);
    // Pagure's words as `error`; forge's account beside them.
    assert_eq!(
        (missing["error_code"].as_str(), missing["error"].as_str()),
        (Some("ENOISSUE"), Some("Issue not found"))
    );
    assert!(
        missing["detail"].as_str().is_some_and(|d| d.contains("#9")),
        "{missing}"
    );

    // Comments, status, assignment; ACLs and roles.
    let (status, added) = s.form(
        "/api/0/tools/hammer/issue/1/comment",
        Some(&bob_comment),
        "comment=Glue+it",
    );
    assert_eq!(status, 200);
    // As Pagure answers a comment: who, and their picture at 30 pixels.
    assert_eq!(
        (&added["message"], &added["user"]),
        (&json!("Comment added"), &json!("bob"))
    );
    assert!(
        added["avatar_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("?s=30&d=retro")),
        "{added}"
    );
    let (_, shown) = s.get("/api/0/tools/hammer/issue/1", None);
    // Comment ids are integers as in Pagure; forge's own id is `uid`, and
    // the endpoint takes either.
    let cid = shown["comments"][0]["id"].as_u64().expect("comment id");
    let uid = shown["comments"][0]["uid"].as_str().expect("comment uid");
    assert_eq!(shown["comments"][0]["comment"], "Glue it");
    let (_, one) = s.get(&format!("/api/0/tools/hammer/issue/1/comment/{cid}"), None);
    assert_eq!(one["user"]["name"], "bob");
    let (_, same) = s.get(&format!("/api/0/tools/hammer/issue/1/comment/{uid}"), None);
    assert_eq!(same, one);
    let (status, _) = s.get(
        &format!("/api/0/tools/hammer/issue/1/comment/{}", cid + 1),
        None,
    );
    assert_eq!(status, 404);
    // Without a public URL, links follow the address the client used.
    let here = shown["full_url"].as_str().expect("full_url");
    assert!(
        here.starts_with("http://127.0.0.1:") && here.ends_with("/tools/hammer/issue/1"),
        "{here}"
    );
    assert!(one["user"]["full_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http://127.0.0.1:") && u.ends_with("/user/bob")));
    // Pagure's extras on this endpoint: a libravatar URL at 16 pixels (the
    // SHA-256 of the address) and the date as `YYYY-MM-DD HH:MM:SS`.
    let avatar = one["avatar_url"].as_str().expect("avatar_url");
    let hash = avatar
        .strip_prefix("https://seccdn.libravatar.org/avatar/")
        .and_then(|rest| rest.strip_suffix("?s=16&d=retro"))
        .expect("a libravatar URL");
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{avatar}"
    );
    let date = one["comment_date"].as_str().expect("comment_date");
    assert!(
        chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{date}"
    );
    assert_eq!(one["notification"], false);
    assert_eq!(
        s.get("/api/0/tools/hammer/issue/1/comment/nope", None).1["error_code"],
        "ENOCOMMENT"
    );
    let (status, err) = s.form(
        "/api/0/tools/hammer/issue/1/status",
        Some(&bob_comment),
        "status=Closed",
    );
    assert_eq!(
        (status, err["error_code"].as_str()),
        (403, Some("ENOTHIGHENOUGH")),
        "no ACL"
    );
    let (status, err) = s.form(
        "/api/0/tools/hammer/issue/1/status",
        Some(&bob_full),
        "status=Shut",
    );
    assert_eq!(
        (status, &err["errors"]["status"]),
        (400, &json!(["Not a valid choice."]))
    );
    let (status, err) = s.form(
        "/api/0/tools/hammer/issue/1/status",
        Some(&bob_full),
        "status=Closed&close_status=Fixed",
    );
    assert_eq!(status, 200, "bob has the ticket role: {err}");
    // Pagure's answer: the list of what changed.
    assert_eq!(
        err["message"],
        json!([
            "Issue status updated to: Closed (was: Open)",
            "Issue close_status updated to: Fixed"
        ])
    );
    let (_, closed) = s.get("/api/0/tools/hammer/issue/1", None);
    assert_eq!(
        (closed["status"].as_str(), closed["close_status"].as_str()),
        (Some("Closed"), Some("Fixed"))
    );
    // Reopened, then closed by naming a close reason as the status, as
    // Pagure's clients may.
    let (_, reopened) = s.form(
        "/api/0/tools/hammer/issue/1/status",
        Some(&bob_full),
        "status=Open",
    );
    assert_eq!(
        reopened["message"],
        json!(["Issue status updated to: Open (was: Closed)"])
    );
    let (status, by_reason) = s.form(
        "/api/0/tools/hammer/issue/1/status",
        Some(&bob_full),
        "status=Duplicate",
    );
    assert_eq!(status, 200, "{by_reason}");
    assert_eq!(
        s.get("/api/0/tools/hammer/issue/1", None).1["close_status"],
        "Duplicate"
    );
    let (status, err) = s.form(
        "/api/0/tools/anvil/new_issue",
        Some(&bob_full),
        "title=T&issue_content=C",
    );
    assert_eq!(
        (status, err["error_code"].as_str()),
        (403, Some("ENOTHIGHENOUGH")),
        "scoped to tools/hammer"
    );
    let (status, _) = s.form(
        "/api/0/tools/hammer/issue/2/assign",
        Some(&alice),
        "assignee=bob",
    );
    assert_eq!(status, 200);
    assert_eq!(
        s.get("/api/0/tools/hammer/issue/2", None).1["assignee"]["name"],
        "bob"
    );
    f.ok(&["user", "add", "carol", "--email", "carol@example.org"]);
    let carol = token(&f, "carol", &["--acl", "issue_change_status"]);
    let (status, err) = s.form(
        "/api/0/tools/hammer/issue/2/status",
        Some(&carol),
        "status=Closed",
    );
    assert_eq!(
        (status, err["error_code"].as_str()),
        (403, Some("ENOTHIGHENOUGH")),
        "the ACL is there, the role is not"
    );
    assert_eq!(
        s.form("/api/0/tools/hammer/issue/2/comment", None, "comment=x")
            .0,
        401
    );

    // Revoked and expired tokens.
    let id = f.json(&["--as", "carol", "token", "list"])[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    f.ok(&["--as", "carol", "token", "revoke", &id]);
    assert_eq!(s.get("/api/0/-/whoami", Some(&carol)).0, 401);

    // Private projects are not there for outsiders.
    f.ok(&["--as", "alice", "project", "create", "secret", "--private"]);
    assert_eq!(
        s.get("/api/0/secret/issues", None).1["error_code"],
        "ENOPROJECT"
    );
    assert_eq!(s.get("/api/0/secret/issues", Some(&alice)).0, 200);
    assert_eq!(s.get("/api/0/projects", None).1["total_projects"], 2);

    // Pull requests are listed in Pagure's shape.
    let (status, prs) = s.get("/api/0/tools/hammer/pull-requests", None);
    assert_eq!((status, prs["total_requests"].as_u64()), (200, Some(0)));
    assert_eq!(
        s.get("/api/0/tools/hammer/pull-request/5", None).1["error_code"],
        "ENOREQ"
    );
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        "tools/hammer",
        "--set",
        "pull_requests=false",
    ]);
    assert_eq!(
        s.get("/api/0/tools/hammer/pull-requests", None).1["error_code"],
        "EPULLREQUESTSDISABLED"
    );
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        "tools/hammer",
        "--set",
        "issue_tracker=false",
    ]);
    assert_eq!(
        s.get("/api/0/tools/hammer/issues", None).1["error_code"],
        "ETRACKERDISABLED"
    );

    // Bad input: the right status and a Pagure error body, and the server keeps serving.
    let (status, err) = s.request(
        "POST",
        "/api/0/tools/anvil/new_issue",
        Some(&alice),
        Some(("application/json", "{not json")),
    );
    assert_eq!(
        (status, err["error_code"].as_str()),
        (400, Some("EINVALIDREQ"))
    );
    let (status, _) = s.request(
        "POST",
        "/api/0/tools/anvil/new_issue",
        Some(&alice),
        Some(("application/json", "[1, 2]")),
    );
    assert_eq!(status, 400);
    let huge = "x".repeat((1 << 20) + 10);
    let (status, err) = s.request(
        "POST",
        "/api/0/tools/anvil/new_issue",
        Some(&alice),
        Some(("text/plain", &huge)),
    );
    assert_eq!(
        (status, err["error_code"].as_str()),
        (413, Some("EINVALIDREQ"))
    );
    for path in [
        "/api/0/..%2Fetc/issues",
        "/api/0/tools%2Fhammer/issues",
        "/api/0/tools/../hammer",
        "/api/0/nothing/at/all/here",
    ] {
        let (status, _) = s.get(path, None);
        assert!(status == 400 || status == 404, "{path}: {status}");
    }
    assert_eq!(s.get("/api/0/version", None).0, 200, "still serving");
}

#[test]
fn the_server_stops_cleanly_on_sigterm() {
    let f = Forge::with_project();
    let mut s = Server::start(&f);
    assert_eq!(s.get("/api/0/version", None).0, 200);
    let child = s.child.as_mut().expect("started here");
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit status {status}");
    assert!(TcpStream::connect(&s.addr).is_err(), "no longer listening");
}

#[test]
fn pull_requests_forks_and_activity_through_the_api() {
    use crate::git;
    let f = Forge::with_project();
    let alice = token(&f, "alice", &["--acl", "pull_request_create,pull_request_comment,pull_request_flag,pull_request_merge,pull_request_close,fork_project,issue_create"]);
    let bob = token(
        &f,
        "bob",
        &[
            "--acl",
            "fork_project,pull_request_create,pull_request_comment,pull_request_merge",
        ],
    );
    let work = f.work_clone();
    std::fs::write(work.join("a.txt"), "one\ntwo\n").expect("write");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "Start"]);
    git(&work, &["push", "-q", "origin", "main"]);
    git(&work, &["checkout", "-q", "-b", "topic"]);
    std::fs::write(work.join("a.txt"), "one\nTWO\n").expect("write");
    git(&work, &["commit", "-qam", "Shout"]);
    git(&work, &["push", "-q", "origin", "topic"]);
    let s = Server::start(&f);

    let (status, pr) = s.form(
        "/api/0/tools/hammer/pull-request/new",
        Some(&alice),
        "title=Shout&branch_to=main&branch_from=topic&initial_comment=Louder",
    );
    assert_eq!(status, 200, "{pr}");
    assert_eq!(
        (
            pr["id"].as_u64(),
            pr["status"].as_str(),
            pr["branch"].as_str(),
            pr["branch_from"].as_str()
        ),
        (Some(1), Some("Open"), Some("main"), Some("topic"))
    );
    assert_eq!(pr["cached_merge_status"], "FFORWARD");
    let (status, err) = s.form(
        "/api/0/tools/hammer/pull-request/new",
        Some(&alice),
        "title=Self&branch_to=main&branch_from=main",
    );
    assert_eq!(
        (status, err["error_code"].as_str()),
        (400, Some("EINVALIDREQ"))
    );
    assert_eq!(
        s.form(
            "/api/0/tools/hammer/pull-request/new",
            Some(&alice),
            "title=T"
        )
        .1["errors"]["branch_from"][0],
        "This field is required."
    );

    assert_eq!(
        s.form(
            "/api/0/tools/hammer/pull-request/1/comment",
            Some(&bob),
            "comment=Why%3F&filename=a.txt&row=2"
        )
        .0,
        200
    );
    let (status, flag) = s.form(
        "/api/0/tools/hammer/pull-request/1/flag",
        Some(&alice),
        "username=ci&status=pending&percent=10&url=https://ci.example.org/1",
    );
    assert_eq!(
        (status, flag["message"].as_str()),
        (200, Some("Flag added"))
    );
    let (_, flag) = s.form(
        "/api/0/tools/hammer/pull-request/1/flag",
        Some(&alice),
        "username=ci&status=success&percent=100",
    );
    assert_eq!(flag["message"], "Flag updated");
    assert_eq!(flag["flag"]["status"], "success");
    let (_, flags) = s.get("/api/0/tools/hammer/pull-request/1/flag", None);
    assert_eq!(flags["flags"].as_array().map(Vec::len), Some(1));
    let (_, stats) = s.get("/api/0/tools/hammer/pull-request/1/diffstats", None);
    let a = &stats["a.txt"];
    assert_eq!(
        (
            &a["lines_added"],
            &a["lines_removed"],
            &a["old_path"],
            &a["status"]
        ),
        (&json!(1), &json!(1), &json!("a.txt"), &json!("M")),
        "{stats}"
    );
    // Pagure's blob ids, before and after.
    assert!(
        [&a["old_id"], &a["new_id"]]
            .iter()
            .all(|id| id.as_str().is_some_and(|h| h.len() == 40)),
        "{stats}"
    );
    let (_, shown) = s.get("/api/0/tools/hammer/pull-request/1", None);
    assert_eq!(shown["comments"][0]["filename"], "a.txt");
    assert_eq!(shown["comments"][0]["line"], 2);
    let (status, err) = s.form("/api/0/tools/hammer/pull-request/1/merge", Some(&bob), "");
    assert_eq!(
        (status, err["error_code"].as_str()),
        (403, Some("ENOTHIGHENOUGH")),
        "bob has no role"
    );
    assert_eq!(
        s.form("/api/0/tools/hammer/pull-request/1/merge", Some(&alice), "")
            .1["message"],
        "Changes merged!"
    );
    assert_eq!(
        s.get("/api/0/tools/hammer/pull-request/1", None).1["status"],
        "Merged"
    );
    let (_, branches) = s.get("/api/0/tools/hammer/git/branches", None);
    assert_eq!(
        (&branches["branches"], &branches["default"]),
        (&json!(["main", "topic"]), &json!("main"))
    );
    let (_, with) = s.get("/api/0/tools/hammer/git/branches?with_commits=t", None);
    let main = with["branches"]["main"].as_str().expect("main's commit");
    assert_eq!(main.len(), 40);
    assert_eq!(with["default"], json!({"main": main}));

    // A fork through the API gets forge's hooks, and takes its owner's pushes.
    let (status, forked) = s.form("/api/0/fork", Some(&bob), "repo=hammer&namespace=tools");
    assert_eq!(status, 200, "{forked}");
    let fork = f.home().join("repos/forks/bob/tools/hammer.git");
    assert!(std::fs::read_to_string(fork.join("hooks/pre-receive"))
        .is_ok_and(|h| h.contains("hook pre-receive")));
    assert_eq!(
        s.get("/api/0/fork/bob/tools/hammer/git/branches", None).1["branches"],
        json!(["main", "topic"])
    );
    let (_, bob_user) = s.get("/api/0/user/bob", None);
    let fork = &bob_user["forks"][0];
    assert_eq!(
        (
            &fork["fullname"],
            &fork["url_path"],
            &fork["parent"]["fullname"],
            &fork["user"]["name"]
        ),
        (
            &json!("forks/bob/tools/hammer"),
            &json!("fork/bob/tools/hammer"),
            &json!("tools/hammer"),
            &json!("bob")
        )
    );
    assert_eq!(
        s.get("/api/0/fork/carol/tools/hammer/git/branches", None).1["error_code"],
        "ENOPROJECT"
    );

    // A conflicting request cannot be merged: 409.
    git(&work, &["checkout", "-q", "main"]);
    git(&work, &["pull", "-q", "origin", "main"]);
    git(&work, &["checkout", "-q", "-b", "clash", "HEAD~1"]);
    std::fs::write(work.join("a.txt"), "one\n2\n").expect("write");
    git(&work, &["commit", "-qam", "Number"]);
    git(&work, &["push", "-q", "origin", "clash"]);
    let (_, clash) = s.form(
        "/api/0/tools/hammer/pull-request/new",
        Some(&alice),
        "title=Clash&branch_to=main&branch_from=clash",
    );
    assert_eq!(clash["cached_merge_status"], "CONFLICTS");
    let (status, err) = s.form(
        &format!("/api/0/tools/hammer/pull-request/{}/merge", clash["id"]),
        Some(&alice),
        "",
    );
    assert_eq!(
        (status, err["error_code"].as_str()),
        (409, Some("EPRCONFLICTS"))
    );
    let (_, closed) = s.form(
        &format!("/api/0/tools/hammer/pull-request/{}/close", clash["id"]),
        Some(&alice),
        "",
    );
    assert_eq!(closed["message"], "Pull-request closed!");
    let (_, listed) = s.get("/api/0/tools/hammer/pull-requests?status=all", None);
    assert_eq!(listed["total_requests"], 2);
    // A page of one: Pagure's total_requests counts all that match (unlike
    // its total_issues), as forge's pagination total does.
    let (_, one) = s.get(
        "/api/0/tools/hammer/pull-requests?status=all&per_page=1",
        None,
    );
    assert_eq!(
        (
            &one["total_requests"],
            &one["pagination"]["total"],
            &one["pagination"]["pages"]
        ),
        (&json!(2), &json!(2), &json!(2))
    );
    assert_eq!(one["requests"].as_array().map(Vec::len), Some(1));
    let (_, open) = s.get("/api/0/tools/hammer/pull-requests?status=Open", None);
    assert_eq!(open["pagination"]["total"], 0, "both are closed or merged");

    // Contributors, issue tags, activity.
    f.member("bob", "ticket");
    let (_, contributors) = s.get("/api/0/tools/hammer/contributors", None);
    assert_eq!(contributors["users"]["ticket"], json!(["bob"]));
    s.form(
        "/api/0/tools/hammer/new_issue",
        Some(&alice),
        "title=T&issue_content=C&tag=ui,bug",
    );
    assert_eq!(
        s.get("/api/0/tools/hammer/tags", None).1["tags"],
        json!(["bug", "ui"])
    );
    let (_, stats) = s.get("/api/0/user/alice/activity/stats", None);
    let day = stats
        .as_object()
        .and_then(|d| d.keys().next().cloned())
        .expect("a day of activity");
    let (_, that_day) = s.get(&format!("/api/0/user/alice/activity/{day}"), None);
    assert!(that_day["activities"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    assert_eq!(s.get("/api/0/user/alice/activity/yesterday", None).0, 400);

    // Commit flags.
    let alice_ci = token(&f, "alice", &["--acl", "commit_flag"]);
    let head = git(&work, &["rev-parse", "main"]).trim().to_string();
    let path = format!("/api/0/tools/hammer/c/{head}/flag");
    let (status, added) = s.form(
        &path,
        Some(&alice_ci),
        "username=ci&status=pending&percent=5&url=https://ci.example.org/9&comment=running",
    );
    assert_eq!(
        (status, added["message"].as_str()),
        (200, Some("Flag added")),
        "{added}"
    );
    let (_, updated) = s.form(
        &path,
        Some(&alice_ci),
        "username=ci&status=success&percent=100",
    );
    assert_eq!(
        (
            updated["message"].as_str(),
            updated["flag"]["status"].as_str()
        ),
        (Some("Flag updated"), Some("success"))
    );
    let (_, flags) = s.get(&path, None);
    assert_eq!(flags["total_flags"], 1);
    assert_eq!(flags["flags"][0]["commit_hash"], head.as_str());
    assert_eq!(
        s.form(&path, Some(&alice_ci), "username=ci&status=great").0,
        400
    );
    assert_eq!(
        s.form(&path, Some(&bob), "username=ci&status=success").0,
        403,
        "no commit_flag ACL"
    );
    assert_eq!(
        s.form(
            "/api/0/tools/hammer/c/0123456789012345678901234567890123456789/flag",
            Some(&alice_ci),
            "username=ci"
        )
        .0,
        404
    );
}

/// git as a user types it against the server: no prompt, no FORGE_USER
/// (the server sets it), whatever the outcome.
fn run_git(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env_remove("FORGE_USER")
        .output()
        .expect("git runs")
}

#[test]
fn git_over_http_clones_anonymously_and_pushes_with_tokens() {
    use crate::git;
    let f = Forge::with_project();
    let alice_push = token(&f, "alice", &["--acl", "commit"]);
    let alice_read = token(&f, "alice", &["--acl", "issue_comment"]);
    let bob_push = token(&f, "bob", &["--acl", "commit"]);
    let s = Server::start(&f);
    let top = f.dir.path().to_path_buf();
    let url = |token: Option<&str>, repo: &str| match token {
        Some(t) => format!("http://user:{t}@{}/{repo}", s.addr),
        None => format!("http://{}/{repo}", s.addr),
    };
    let out = run_git(
        &top,
        &["clone", "-q", &url(None, "tools/hammer.git"), "work"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let work = top.join("work");
    git(&work, &["checkout", "-q", "-b", "main"]);
    std::fs::write(work.join("a.txt"), "over http\n").expect("write");
    git(&work, &["add", "-A"]);
    git(
        &work,
        &[
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.org",
            "commit",
            "-qm",
            "Over HTTP",
        ],
    );

    let push = |token: Option<&str>| {
        run_git(
            &work,
            &["push", "-q", &url(token, "tools/hammer.git"), "HEAD:main"],
        )
    };
    let out = push(None);
    assert!(!out.status.success(), "anonymous push");
    let out = push(Some(&alice_read));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = push(Some("WRONGTOKEN"));
    assert!(!out.status.success());
    let out = push(Some(&bob_push));
    assert!(!out.status.success(), "bob has no role");
    let out = push(Some(&alice_push));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = f.json(&["events", "-p", "tools/hammer"]);
    let pushed = events
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "git.push"))
        .expect("git.push");
    assert_eq!(pushed["actor"], "alice", "FORGE_USER reached the hooks");

    // Fetch and clone again, and a protected-branch refusal comes back from the hook.
    let out = run_git(
        &top,
        &["clone", "-q", &url(None, "tools/hammer.git"), "again"],
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(top.join("again/a.txt")).expect("file"),
        "over http\n"
    );
    git(
        &work,
        &[
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.org",
            "commit",
            "-q",
            "--amend",
            "-m",
            "Rewritten",
        ],
    );
    let out = run_git(
        &work,
        &[
            "push",
            "-q",
            "-f",
            &url(Some(&alice_push), "tools/hammer.git"),
            "HEAD:main",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("rule `protected`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Private projects need a member's token even to read.
    f.ok(&["--as", "alice", "project", "create", "secret", "--private"]);
    let out = run_git(&top, &["ls-remote", &url(None, "secret.git")]);
    assert!(!out.status.success());
    let out = run_git(&top, &["ls-remote", &url(Some(&bob_push), "secret.git")]);
    assert!(!out.status.success());
    let out = run_git(&top, &["ls-remote", &url(Some(&alice_read), "secret.git")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_git(&top, &["ls-remote", &url(None, "tickets/tools/hammer.git")]);
    assert!(out.status.success(), "public issues clone anonymously");

    // Only the smart protocol, only forge repositories.
    assert_eq!(s.raw("GET", "/tools/hammer.git/HEAD", None, None).0, 404);
    assert_eq!(
        s.raw("GET", "/tools/hammer.git/info/refs", None, None).0,
        403
    );
    assert_eq!(
        s.raw(
            "GET",
            "/..%2F..%2Fetc.git/info/refs?service=git-upload-pack",
            None,
            None
        )
        .0,
        404
    );
    assert_eq!(
        s.raw(
            "GET",
            "/nothing.git/info/refs?service=git-upload-pack",
            None,
            None
        )
        .0,
        404
    );
    assert_eq!(
        s.raw(
            "GET",
            "/../x.git/info/refs?service=git-upload-pack",
            None,
            None
        )
        .0,
        404
    );
}

#[test]
fn the_cli_works_against_a_remote_forge_with_the_same_output() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    let alice = token(
        &f,
        "alice",
        &["--acl", "issue_create,issue_comment,issue_change_status"],
    );
    let s = Server::start(&f);
    let url = format!("http://{}", s.addr);
    let remote = |token: &str, args: &[&str]| {
        let mut all = vec!["--remote", url.as_str(), "--token", token];
        all.extend_from_slice(args);
        all.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| f.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let said = run(remote(
        &alice,
        &[
            "issue",
            "new",
            "-p",
            "tools/hammer",
            "--title",
            "Loose",
            "--body",
            "It wobbles",
            "--tag",
            "bug",
        ],
    ));
    assert_eq!(said, "opened issue #1 in tools/hammer: Loose\n");
    run(remote(
        &alice,
        &[
            "issue",
            "comment",
            "-p",
            "tools/hammer",
            "1",
            "--body",
            "Glue it",
        ],
    ));
    let err = f.fails(
        &remote(
            &alice,
            &["issue", "new", "-p", "tools/hammer", "--title", "Rusty"],
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert!(err.contains("needs --body"), "{err}");
    run(remote(
        &alice,
        &[
            "issue",
            "new",
            "-p",
            "tools/hammer",
            "--title",
            "Rusty",
            "--body",
            "Oil it",
        ],
    ));
    run(remote(
        &alice,
        &[
            "issue",
            "close",
            "-p",
            "tools/hammer",
            "2",
            "--reason",
            "Fixed",
        ],
    ));
    for args in [
        vec![
            "issue",
            "list",
            "-p",
            "tools/hammer",
            "--status",
            "all",
            "--json",
        ],
        vec!["issue", "list", "-p", "tools/hammer", "--tag", "bug"],
        vec!["issue", "show", "-p", "tools/hammer", "1", "--json"],
        vec!["issue", "show", "-p", "tools/hammer", "2"],
    ] {
        let local = f.ok(&args);
        let far = run(remote(&alice, &args));
        assert_eq!(far, local, "{args:?}");
    }
    // Errors come back as the server said them.
    let err = f.fails(&["--remote", &url, "issue", "show", "-p", "tools/hammer", "9"]);
    assert!(err.contains("ENOISSUE"), "{err}");
    let err = f.fails(&[
        "--remote",
        &url,
        "--token",
        "BAD",
        "issue",
        "list",
        "-p",
        "tools/hammer",
    ]);
    assert!(err.contains("EINVALIDTOK"), "{err}");
    let err = f.fails(&[
        "--remote",
        &url,
        "issue",
        "comment",
        "-p",
        "tools/hammer",
        "1",
        "--body",
        "x",
    ]);
    assert!(err.contains("needs a token"), "{err}");
    // Pull requests too.
    let alice_pr = token(
        &f,
        "alice",
        &[
            "--acl",
            "pull_request_comment,pull_request_merge,pull_request_close",
        ],
    );
    let work = f.work_clone();
    std::fs::write(work.join("a.txt"), "one\n").expect("write");
    crate::git(&work, &["add", "-A"]);
    crate::git(&work, &["commit", "-qm", "Start"]);
    crate::git(&work, &["push", "-q", "origin", "main"]);
    crate::git(&work, &["checkout", "-q", "-b", "topic"]);
    std::fs::write(work.join("a.txt"), "ONE\n").expect("write");
    crate::git(&work, &["commit", "-qam", "Shout"]);
    crate::git(&work, &["push", "-q", "origin", "topic"]);
    f.ok(&[
        "--as",
        "alice",
        "pr",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Shout",
        "--from",
        "topic",
    ]);
    f.ok(&[
        "--as",
        "alice",
        "pr",
        "flag",
        "-p",
        "tools/hammer",
        "3",
        "--name",
        "ci",
        "--status",
        "success",
        "--percent",
        "100",
    ]);
    run(remote(
        &alice_pr,
        &[
            "pr",
            "comment",
            "-p",
            "tools/hammer",
            "3",
            "--body",
            "Why?",
            "--path",
            "a.txt",
            "--line",
            "1",
        ],
    ));
    for args in [
        vec!["pr", "list", "-p", "tools/hammer", "--json"],
        vec!["pr", "list", "-p", "tools/hammer"],
        vec!["pr", "show", "-p", "tools/hammer", "3", "--json"],
        vec!["pr", "show", "-p", "tools/hammer", "3"],
    ] {
        let local = f.ok(&args);
        let far = run(remote(&alice_pr, &args));
        assert_eq!(far, local, "{args:?}");
    }
    let merged = run(remote(
        &alice_pr,
        &["pr", "merge", "-p", "tools/hammer", "3"],
    ));
    assert!(
        merged.starts_with("merged pull request #3 into main"),
        "{merged}"
    );
    assert_eq!(
        f.json(&["pr", "show", "-p", "tools/hammer", "3"])["status"],
        "merged"
    );

    let out = f
        .command(&["issue", "list", "-p", "tools/hammer", "--json"])
        .env("FORGE_REMOTE", &url)
        .env("FORGE_TOKEN", &alice)
        .output()
        .expect("forge runs");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        f.ok(&["issue", "list", "-p", "tools/hammer", "--json"])
    );
}

#[test]
fn forge_toml_and_the_environment_configure_the_server() {
    let f = Forge::with_project();
    std::fs::write(
        f.home().join("forge.toml"),
        "[server]\nmax_body_bytes = 100\n",
    )
    .expect("forge.toml");
    let mut command = f.command(&["serve"]);
    command.env("FORGE_BIND", "127.0.0.1:0");
    let s = Server::from(command);
    let small = "title=T&issue_content=C";
    assert_ne!(s.form("/api/0/tools/hammer/new_issue", None, small).0, 413);
    let big = format!("title=T&issue_content={}", "x".repeat(200));
    assert_eq!(
        s.form("/api/0/tools/hammer/new_issue", None, &big).0,
        413,
        "forge.toml's limit"
    );
    drop(s);
    let err = f
        .command(&["serve"])
        .env("FORGE_BIND", "127.0.0.1:0")
        .env("FORGE_REQUEST_TIMEOUT_SECS", "soon")
        .output()
        .expect("forge runs");
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("FORGE_REQUEST_TIMEOUT_SECS"));

    // Links start with the public URL when one is set, whatever the Host.
    f.ok_line("--as alice issue new -p tools/hammer --title Linked --body x");
    let mut command = f.command(&["serve"]);
    command
        .env("FORGE_BIND", "127.0.0.1:0")
        .env("FORGE_PUBLIC_URL", "https://forge.example.org/");
    let s = Server::from(command);
    let (_, issue) = s.get("/api/0/tools/hammer/issue/1", None);
    assert_eq!(
        (
            issue["full_url"].as_str(),
            issue["user"]["full_url"].as_str()
        ),
        (
            Some("https://forge.example.org/tools/hammer/issue/1"),
            Some("https://forge.example.org/user/alice")
        )
    );
    let (_, listed) = s.get("/api/0/tools/hammer/issues?per_page=1", None);
    assert!(listed["pagination"]["first"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://forge.example.org/api/0/tools/hammer/issues?")));
    drop(s);
    let err = f
        .command(&["serve"])
        .env("FORGE_BIND", "127.0.0.1:0")
        .env("FORGE_PUBLIC_URL", "forge.example.org")
        .output()
        .expect("forge runs");
    assert!(!err.status.success());
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("public_url `forge.example.org`"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
}

/// The listing assembles pages from issues rendered earlier (kept per
/// indexed commit and full names): every kind of change must still show at
/// once, and a private issue rendered for a member must not leak to others.
#[test]
fn the_issue_listing_shows_every_change_while_pages_are_cached() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    let alice = token(&f, "alice", &["--acl", "issue_create,issue_comment"]);
    for n in 1..=3 {
        f.ok(&[
            "--as",
            "alice",
            "issue",
            "new",
            "-p",
            "tools/hammer",
            "--title",
            &format!("Issue {n}"),
            "--body",
            "text",
        ]);
    }
    f.ok_line("--as bob issue new -p tools/hammer --title Secret --body hidden --private");
    let s = Server::start(&f);
    let list = |token: Option<&str>| {
        let (status, page) = s.get("/api/0/tools/hammer/issues?status=all", token);
        assert_eq!(status, 200, "{page}");
        page
    };
    let titles = |page: &Value| -> Vec<String> {
        page["issues"]
            .as_array()
            .expect("issues")
            .iter()
            .map(|i| i["title"].as_str().expect("title").to_string())
            .collect()
    };
    // A member's page renders the private issue; an anonymous page, asked
    // next (same commit), must not show it.
    assert_eq!(titles(&list(Some(&alice)))[0], "Secret");
    let anonymous = list(None);
    assert_eq!(titles(&anonymous), ["Issue 3", "Issue 2", "Issue 1"]);
    assert_eq!(anonymous["total_issues"], 3);
    assert_eq!(anonymous, list(None), "the same page twice is the same");

    // A comment through the API.
    let (status, _) = s.form(
        "/api/0/tools/hammer/issue/2/comment",
        Some(&alice),
        "comment=First+comment",
    );
    assert_eq!(status, 200);
    let page = list(None);
    assert_eq!(page["issues"][1]["comments"][0]["comment"], "First comment");
    assert_eq!(page["issues"][0]["comments"], json!([]));

    // A close by another process (the CLI on the same home).
    f.ok_line("--as alice issue close 3 -p tools/hammer");
    let page = list(None);
    assert_eq!(page["issues"][0]["status"], "Closed");
    let (_, open) = s.get("/api/0/tools/hammer/issues", None);
    assert_eq!(titles(&open), ["Issue 2", "Issue 1"]);

    // A hand-pushed edit of a document.
    f.push_by_hand("alice", |clone| {
        let path = std::fs::read_dir(clone)
            .expect("clone")
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
            .map(|d| d.path().join("issue.json"))
            .find(|p| {
                std::fs::read_to_string(p)
                    .map(|t| t.contains("\"Issue 1\""))
                    .unwrap_or(false)
            })
            .expect("issue 1's document");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("\"Issue 1\"", "\"Issue one\"")).expect("write");
    });
    assert_eq!(titles(&list(None)), ["Issue 3", "Issue 2", "Issue one"]);

    // A new full name (not in the tickets repository at all).
    assert_eq!(list(None)["issues"][0]["user"]["fullname"], "Alice");
    f.ok_line("user edit alice --full-name Alicia");
    let page = list(None);
    for issue in page["issues"].as_array().expect("issues") {
        assert_eq!(issue["user"]["fullname"], "Alicia", "{issue}");
    }
    assert_eq!(
        page["issues"][1]["comments"][0]["user"]["fullname"],
        "Alicia"
    );
}

/// Many clients creating issues at once: every one is answered 200 with a
/// number of its own, none is lost, and the index agrees with git.
#[test]
fn concurrent_issue_creation_loses_nothing() {
    let f = Forge::with_project();
    let alice = token(&f, "alice", &["--acl", "issue_create"]);
    let s = std::sync::Arc::new(Server::start(&f));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (s, alice) = (s.clone(), alice.clone());
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        let (status, body) = s.form(
                            "/api/0/tools/hammer/new_issue",
                            Some(&alice),
                            &format!("title=From+{t}+number+{i}&issue_content=x"),
                        );
                        assert_eq!(status, 200, "{body}");
                        body["issue"]["id"].as_u64().expect("id")
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    // Meanwhile the CLI, another process, writes to the same repository:
    // its commits race the server's batches.
    let mut cli_ids: Vec<u64> = (0..10)
        .map(|i| {
            let made = f.json(&[
                "--as",
                "alice",
                "issue",
                "new",
                "-p",
                "tools/hammer",
                "--title",
                &format!("By the CLI {i}"),
                "--body",
                "x",
            ]);
            // Reading meanwhile never finds the index ahead of git (the
            // server indexes a batch only once it is on the branch).
            let listed = f.run(&["issue", "list", "-p", "tools/hammer", "--limit", "1"]);
            let warnings = String::from_utf8_lossy(&listed.stderr).to_string();
            assert!(listed.status.success() && warnings.is_empty(), "{warnings}");
            made["id"].as_u64().expect("id")
        })
        .collect();
    let mut ids: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    ids.append(&mut cli_ids);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 90, "every issue has a number of its own");
    let (_, page) = s.get("/api/0/tools/hammer/issues?per_page=100", None);
    assert_eq!(page["total_issues"], 90);
    let listed: Vec<u64> = page["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["id"].as_u64().expect("id"))
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ids, "the server lists exactly the issues made");
    // The CLI (its own process, reading git) sees the same 90.
    let listed = f.json_line("issue list -p tools/hammer --limit 100");
    assert_eq!(listed.as_array().expect("list").len(), 90);
    // One commit per issue.
    let commits = crate::git(&f.tickets_repo(), &["rev-list", "--count", "main"]);
    assert_eq!(commits.trim(), "90");
}

/// `issue edit` and every pull-request command through the API: each one's
/// output is what the local command prints for the same state.
#[test]
fn the_remote_cli_edits_issues_and_drives_pull_requests() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    let alice = token(
        &f,
        "alice",
        &["--acl", "issue_create,issue_comment,issue_update,issue_assign,pull_request_create,pull_request_comment,pull_request_merge,pull_request_flag,pull_request_close"],
    );
    let s = Server::start(&f);
    let url = format!("http://{}", s.addr);
    let remote = |args: &[&str]| {
        let mut all = vec!["--remote", url.as_str(), "--token", alice.as_str()];
        all.extend_from_slice(args);
        f.ok(&all)
    };
    let remote_fails = |args: &[&str]| {
        let mut all = vec!["--remote", url.as_str(), "--token", alice.as_str()];
        all.extend_from_slice(args);
        f.fails(&all)
    };
    f.ok_line("--as alice issue new -p tools/hammer --title Loose --body wobbly");
    f.ok_line("--as alice issue new -p tools/hammer --title Glue --body sticky");

    // issue edit
    let edited = remote(&[
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--title",
        "Very loose",
        "--add-tag",
        "ui",
        "--add-tag",
        "bug",
        "--assignee",
        "bob",
        "--depends",
        "2",
        "--json",
    ]);
    assert_eq!(edited, f.ok_line("issue show -p tools/hammer 1 --json"));
    let shown = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(shown["title"], "Very loose");
    assert_eq!(shown["tags"], json!(["bug", "ui"]));
    assert_eq!(shown["assignee"], "bob");
    assert_eq!(shown["depends"], json!([2]));
    assert_eq!(
        remote(&[
            "issue",
            "edit",
            "-p",
            "tools/hammer",
            "1",
            "--remove-tag",
            "ui",
            "--private"
        ]),
        "edited issue #1\n"
    );
    let shown = f.json_line("--as alice issue show -p tools/hammer 1");
    assert_eq!(
        (shown["tags"].clone(), shown["private"].clone()),
        (json!(["bug"]), json!(true))
    );
    let err = remote_fails(&["issue", "edit", "-p", "tools/hammer", "1"]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = remote_fails(&[
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--assignee",
        "nobody",
    ]);
    assert!(err.contains("nobody"), "{err}");

    // A branch to propose.
    let work = f.work_clone();
    std::fs::write(work.join("a.txt"), "one\ntwo\n").expect("write");
    crate::git(&work, &["add", "-A"]);
    crate::git(&work, &["commit", "-qm", "Start"]);
    crate::git(&work, &["push", "-q", "origin", "main"]);
    crate::git(&work, &["checkout", "-q", "-b", "topic"]);
    std::fs::write(work.join("a.txt"), "ONE\ntwo\n").expect("write");
    std::fs::write(work.join("b.txt"), "new\n").expect("write");
    crate::git(&work, &["add", "-A"]);
    crate::git(&work, &["commit", "-qm", "Shout"]);
    crate::git(&work, &["push", "-q", "origin", "topic"]);

    // pr new, diff, flag, vote, edit, refresh, merge
    assert_eq!(
        remote(&[
            "pr",
            "new",
            "-p",
            "tools/hammer",
            "--title",
            "Shout",
            "--body",
            "Fixes #2",
            "--from",
            "topic",
            "--assignee",
            "bob"
        ]),
        "opened pull request #3: Shout (1 commit(s), tools/hammer:topic into main)\n"
    );
    assert_eq!(f.json_line("pr show -p tools/hammer 3")["assignee"], "bob");
    for args in [
        vec!["pr", "diff", "-p", "tools/hammer", "3"],
        vec!["pr", "diff", "-p", "tools/hammer", "3", "--json"],
    ] {
        assert_eq!(remote(&args), f.ok(&args), "{args:?}");
    }
    let head = f.json_line("pr show -p tools/hammer 3")["head"]
        .as_str()
        .expect("head")
        .to_string();
    assert_eq!(
        remote(&[
            "pr",
            "flag",
            "-p",
            "tools/hammer",
            "3",
            "--name",
            "ci",
            "--status",
            "pending",
            "--percent",
            "50"
        ]),
        format!("flag ci is pending on pull request #3 ({})\n", &head[..10])
    );
    let flags = remote(&[
        "pr",
        "flag",
        "-p",
        "tools/hammer",
        "3",
        "--name",
        "ci",
        "--status",
        "success",
        "--json",
    ]);
    assert_eq!(
        serde_json::from_str::<Value>(&flags).expect("json"),
        f.json_line("pr show -p tools/hammer 3")["flags"]
    );
    let err = remote_fails(&[
        "pr",
        "flag",
        "-p",
        "tools/hammer",
        "3",
        "--name",
        "ci",
        "--status",
        "great",
    ]);
    assert!(err.contains("invalid flag status"), "{err}");
    let err = remote_fails(&["pr", "vote", "-p", "tools/hammer", "3", "up"]);
    assert!(err.contains("cannot vote on their own"), "{err}");
    let bob = token(&f, "bob", &["--acl", "pull_request_comment"]);
    let voted = f.ok(&[
        "--remote",
        &url,
        "--token",
        &bob,
        "pr",
        "vote",
        "-p",
        "tools/hammer",
        "3",
        "up",
    ]);
    assert_eq!(voted, "voted on pull request #3; score +1\n");
    let edited = remote(&[
        "pr",
        "edit",
        "-p",
        "tools/hammer",
        "3",
        "--title",
        "Shout louder",
        "--tag",
        "ready",
        "--json",
    ]);
    assert_eq!(edited, f.ok_line("pr show -p tools/hammer 3 --json"));
    assert_eq!(
        f.json_line("pr show -p tools/hammer 3")["title"],
        "Shout louder"
    );

    std::fs::write(work.join("b.txt"), "newer\n").expect("write");
    crate::git(&work, &["commit", "-qam", "More"]);
    crate::git(&work, &["push", "-q", "origin", "topic"]);
    let refreshed = remote(&["pr", "refresh", "-p", "tools/hammer", "3"]);
    assert!(refreshed.contains("(2 commit(s))"), "{refreshed}");
    // The local command, on the state the remote one left, says the same.
    assert_eq!(
        refreshed,
        f.ok_line("--as alice pr refresh -p tools/hammer 3")
    );

    let merged = remote(&[
        "pr",
        "merge",
        "-p",
        "tools/hammer",
        "3",
        "--strategy",
        "squash",
        "--json",
    ]);
    let merged: Value = serde_json::from_str(&merged).expect("json");
    let shown = f.json_line("pr show -p tools/hammer 3");
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merge_commit"], shown["merge_commit"]);
    assert_eq!(merged["closed_issues"], json!([2]));
    assert_eq!(
        f.json_line("issue show -p tools/hammer 2")["status"],
        "closed"
    );
    // A squash is one new commit on main.
    let log = crate::git(
        &f.home().join("repos/tools/hammer.git"),
        &["log", "--format=%s", "main"],
    );
    assert_eq!(log.lines().count(), 2, "{log}");

    // close and reopen print what the local commands print.
    crate::git(&work, &["checkout", "-q", "-b", "other", "main"]);
    std::fs::write(work.join("c.txt"), "c\n").expect("write");
    crate::git(&work, &["add", "-A"]);
    crate::git(&work, &["commit", "-qm", "Other"]);
    crate::git(&work, &["push", "-q", "origin", "other"]);
    f.ok_line("--as alice pr new -p tools/hammer --title Other --from other");
    let closed_far = remote(&["pr", "close", "-p", "tools/hammer", "4"]);
    let reopened_here = f.ok_line("--as alice pr reopen -p tools/hammer 4");
    let closed_here = f.ok_line("--as alice pr close -p tools/hammer 4");
    let reopened_far = remote(&["pr", "reopen", "-p", "tools/hammer", "4"]);
    assert!(
        closed_far.starts_with("closed pull request #4: closed head "),
        "{closed_far}"
    );
    assert_eq!(closed_far, closed_here);
    assert_eq!(reopened_far, reopened_here);
}

/// Deep pages come from a whole listing kept per index state: they must be
/// the same issues the shallow way gives, in either order, and follow a write.
#[test]
fn deep_pages_of_the_issue_listing_are_right() {
    let f = Forge::with_project();
    f.push_by_hand("alice", |clone| {
        for i in 1..=620u64 {
            let dir = clone.join(format!("{:02}/{i}", i % 100));
            std::fs::create_dir_all(&dir).expect("dir");
            let doc = json!({
                "assignee": null, "author": "alice", "blocks": [], "body": "text",
                "close_reason": null, "closed_at": null, "closed_by": null,
                "created_at": "2026-11-23T00:00:00Z", "custom_fields": {}, "depends": [],
                "milestone": null, "number": i, "priority": null, "private": false, "schema": 1,
                "status": if i % 4 == 0 { "closed" } else { "open" }, "tags": [],
                "title": format!("Issue {i}"), "uid": format!("{i:032x}"),
                "updated_at": "2026-11-23T00:00:00Z", "watchers": ["alice"],
            });
            let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
            std::fs::write(dir.join("issue.json"), text).expect("write");
        }
    });
    let s = Server::start(&f);
    let ids = |query: &str| -> (Vec<u64>, Value) {
        let (status, page) = s.get(&format!("/api/0/tools/hammer/issues?{query}"), None);
        assert_eq!(status, 200, "{page}");
        let ids = page["issues"]
            .as_array()
            .expect("issues")
            .iter()
            .map(|i| i["id"].as_u64().expect("id"))
            .collect();
        (ids, page)
    };
    // Newest first: page p of size 1 is issue 621 - p, deep or not.
    for p in [1, 2, 499, 500, 501, 502, 600, 620] {
        assert_eq!(
            ids(&format!("status=all&per_page=1&page={p}")).0,
            [621 - p],
            "page {p}"
        );
        assert_eq!(
            ids(&format!("status=all&per_page=1&page={p}&order=asc")).0,
            [p],
            "asc page {p}"
        );
    }
    let (deep, page) = ids("status=all&per_page=2&page=300");
    assert_eq!(deep, [22, 21]);
    assert_eq!(page["total_issues"], 2, "the page's count, as Pagure");
    assert_eq!(page["pagination"]["total"], 620);
    assert_eq!(page["pagination"]["pages"], 310);
    assert_eq!(ids("status=all&per_page=2&page=311").0, Vec::<u64>::new());
    // Open ones only (three of four): the 400th open issue, newest first.
    let open: Vec<u64> = (1..=620).rev().filter(|i| i % 4 != 0).collect();
    assert_eq!(ids("per_page=1&page=400").0, [open[399]]);
    assert_eq!(ids("per_page=3&page=150").0, open[447..450].to_vec());
    // A write makes a new index state: the deep page follows it.
    f.ok_line("--as alice issue new -p tools/hammer --title Newest --body x");
    assert_eq!(ids("status=all&per_page=1&page=600").0, [22]);
    assert_eq!(ids("status=all&per_page=1&page=600&order=asc").0, [600]);
    assert_eq!(
        ids("status=all&per_page=1&page=1").1["pagination"]["total"],
        621
    );
}

/// The endpoints forge adds beside Pagure's refuse bad calls like the others:
/// no token 401, a missing ACL 403, bad fields 400 naming the field, unknown
/// numbers 404 — and a refused call changes nothing.
#[test]
fn the_edit_diff_vote_and_refresh_endpoints_refuse_bad_calls() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    f.ok_line("--as alice issue new -p tools/hammer --title Loose --body wobbly");
    let update_only = token(&f, "alice", &["--acl", "issue_update"]);
    let comment_only = token(&f, "alice", &["--acl", "issue_comment"]);
    let pr_comment = token(&f, "bob", &["--acl", "pull_request_comment"]);
    let s = Server::start(&f);
    let code = |(status, body): (u16, Value)| {
        (
            status,
            body["error_code"].as_str().unwrap_or("").to_string(),
        )
    };

    assert_eq!(
        code(s.form("/api/0/tools/hammer/issue/1", None, "title=New")),
        (401, "EINVALIDTOK".into())
    );
    assert_eq!(
        code(s.form(
            "/api/0/tools/hammer/issue/1",
            Some(&comment_only),
            "assignee=bob"
        )),
        (403, "ENOTHIGHENOUGH".into()),
        "assigning needs issue_assign (or, as in Pagure, issue_update)"
    );
    let (status, body) = s.form(
        "/api/0/tools/hammer/issue/1",
        Some(&update_only),
        "private=maybe",
    );
    assert_eq!(status, 400);
    assert!(body["errors"]["private"].is_array(), "{body}");
    let (status, body) = s.form(
        "/api/0/tools/hammer/issue/1",
        Some(&update_only),
        "depends=two",
    );
    assert_eq!(status, 400);
    assert!(body["errors"]["depends"].is_array(), "{body}");
    assert_eq!(
        code(s.form("/api/0/tools/hammer/issue/1", Some(&update_only), "")).0,
        400
    );
    assert_eq!(
        code(s.form(
            "/api/0/tools/hammer/issue/77",
            Some(&update_only),
            "title=x"
        )),
        (404, "ENOISSUE".into())
    );
    assert_eq!(
        f.json_line("issue show -p tools/hammer 1")["title"],
        "Loose",
        "unchanged"
    );
    let (status, body) = s.form(
        "/api/0/tools/hammer/issue/1",
        Some(&update_only),
        "title=Tight&add_tag=ui",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issue"]["tags"], json!(["ui"]));

    assert_eq!(
        code(s.get("/api/0/tools/hammer/pull-request/9/diff", None)),
        (404, "ENOREQ".into())
    );
    assert_eq!(
        code(s.form(
            "/api/0/tools/hammer/pull-request/9/vote",
            Some(&pr_comment),
            "vote=up"
        )),
        (404, "ENOREQ".into())
    );
    let (status, body) = s.form(
        "/api/0/tools/hammer/pull-request/9/vote",
        Some(&pr_comment),
        "vote=sideways",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"]["vote"].is_array(), "{body}");
    assert_eq!(
        code(s.form(
            "/api/0/tools/hammer/pull-request/9/refresh",
            Some(&pr_comment),
            ""
        )),
        (403, "ENOTHIGHENOUGH".into()),
        "refreshing needs pull_request_create"
    );
    assert_eq!(
        code(s.form(
            "/api/0/tools/hammer/pull-request/9",
            Some(&pr_comment),
            "title=x"
        )),
        (403, "ENOTHIGHENOUGH".into())
    );
    let (status, body) = s.form(
        "/api/0/tools/hammer/pull-request/9/merge",
        Some(&pr_comment),
        "strategy=octopus",
    );
    assert_eq!(
        status, 403,
        "merging needs pull_request_merge first: {body}"
    );
}

/// Custom fields carry Pagure's `key_type` and `key_data` (a list's options
/// as the JSON text Pagure stores), and a change of the definitions shows
/// at once, though no issue changed.
#[test]
fn custom_fields_carry_pagures_types_and_options() {
    let f = Forge::with_project();
    f.ok_line("--as alice project settings tools/hammer --set custom_fields=os:list:linux|mac,ok:bool,url:link");
    f.ok_line(
        "--as alice issue new -p tools/hammer --title Typed --body x --field os=mac --field ok=true",
    );
    let s = Server::start(&f);
    let fields = |path: &str| -> Value {
        let (status, body) = s.get(path, None);
        assert_eq!(status, 200, "{body}");
        body
    };
    let one = fields("/api/0/tools/hammer/issue/1");
    let mut shown: Vec<(String, String, Value)> = one["custom_fields"]
        .as_array()
        .expect("custom_fields")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["key_type"].as_str().unwrap_or_default().to_string(),
                c["key_data"].clone(),
            )
        })
        .collect();
    shown.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        shown,
        [
            ("ok".to_string(), "boolean".to_string(), json!(null)),
            (
                "os".to_string(),
                "list".to_string(),
                json!("[\"linux\", \"mac\"]")
            ),
        ]
    );
    let listed = fields("/api/0/tools/hammer/issues");
    let os = |page: &Value| {
        page["issues"][0]["custom_fields"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == "os").cloned())
            .unwrap_or_default()
    };
    assert_eq!(os(&listed)["key_data"], json!("[\"linux\", \"mac\"]"));
    f.ok_line("--as alice project settings tools/hammer --set custom_fields=os:list:linux|mac|bsd,ok:bool,url:link");
    let listed = fields("/api/0/tools/hammer/issues");
    assert_eq!(
        os(&listed)["key_data"],
        json!("[\"linux\", \"mac\", \"bsd\"]")
    );
}

#[test]
fn a_renamed_project_clones_and_takes_pushes_at_its_old_url() {
    use crate::git;
    let f = Forge::with_project();
    let alice_push = token(&f, "alice", &["--acl", "commit"]);
    let s = Server::start(&f);
    let top = f.dir.path().to_path_buf();
    let work = top.join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("a.txt"), "one\n").expect("write");
    git(&work, &["add", "-A"]);
    git(
        &work,
        &[
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.org",
            "commit",
            "-qm",
            "One",
        ],
    );
    let old = format!("http://user:{alice_push}@{}/tools/hammer.git", s.addr);
    let out = run_git(&work, &["push", "-q", &old, "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    f.ok_line("--as alice project rename tools/hammer tools/mallet");
    // The old page sends on; git follows to the new place, for a clone and
    // for a push.
    assert_eq!(s.raw("GET", "/tools/hammer/tree", None, None).0, 301);
    let anonymous = format!("http://{}/tools/hammer.git", s.addr);
    let out = run_git(&top, &["clone", "-q", &anonymous, "again"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(top.join("again/a.txt")).expect("file"),
        "one\n"
    );
    std::fs::write(work.join("a.txt"), "two\n").expect("write");
    git(
        &work,
        &[
            "-c",
            "user.name=Alice",
            "-c",
            "user.email=alice@example.org",
            "commit",
            "-qam",
            "Two",
        ],
    );
    let out = run_git(&work, &["push", &old, "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = f.ok_line("repo log -p tools/mallet");
    assert!(log.contains("Two"), "{log}");
}
