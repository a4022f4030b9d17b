#![allow(missing_docs)]
//! The HTTP service in process, without a socket: routing, the error map
//! and Pagure's JSON shapes, as requests in and answers out.

use std::sync::Arc;

use bytes::Bytes;
use forge_core::role::Action;
use forge_core::{ForgeHome, Store};
use forge_http::App;
use forge_tickets::{Actor, NewIssue, NewProject, Tracker};
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use serde_json::{json, Value};

mod accounts;
mod live;
mod project_admin;
mod web;
mod xss;

pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    token: String,
    rt: tokio::runtime::Runtime,
}

/// A home with alice (owner of `hammer`, and of the private `vault`), bob,
/// one issue with a comment, a token of alice's, and passwords for both
/// (`alice's password`, `bob's password`).
pub(crate) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = ForgeHome::new(dir.path());
    let store = Store::open(&home.db_path()).expect("store");
    store
        .add_user("alice", "Alice Liddell", &["alice@example.org"])
        .expect("alice");
    store
        .add_user("bob", "", &["bob@example.org"])
        .expect("bob");
    for (name, private) in [("hammer", false), ("vault", true), ("broken", false)] {
        let new = NewProject {
            full_name: name.into(),
            private,
            owner: "alice".into(),
            ..Default::default()
        };
        forge_tickets::create_project(&store, &home, &new, None).expect("project");
    }
    let project = store.project("hammer").expect("hammer");
    let tracker = Tracker::open_for_project(&store, &home, &project).expect("tracker");
    let alice = Actor::for_user(&store, &project, "alice").expect("alice");
    let issue = tracker
        .create_issue(
            &alice,
            NewIssue {
                body: "It *wobbles*".into(),
                tags: vec!["bug".into()],
                ..NewIssue::titled("Loose handle")
            },
        )
        .expect("issue");
    tracker
        .comment(&alice, issue.number, "Glue it")
        .expect("comment");
    let (_, token) = store
        .create_token(
            "alice",
            None,
            &[Action::IssueCreate, Action::IssueComment],
            None,
            "tests",
        )
        .expect("token");
    for (user, password) in [("alice", "alice's password"), ("bob", "bob's password")] {
        store.set_password(user, password).expect("password");
    }
    // A project whose tickets repository is gone: git fails under it.
    std::fs::remove_dir_all(home.project_paths("broken").tickets).expect("rm");
    let app = forge_http::app(home, Default::default(), None);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    Fixture {
        _dir: dir,
        app,
        token,
        rt,
    }
}

/// One request in, status, headers and body out.
pub(crate) fn request(
    f: &Fixture,
    method: &str,
    path: &str,
    token: bool,
    body: &str,
) -> (u16, hyper::HeaderMap, Bytes) {
    let auth = format!("token {}", f.token);
    let headers: &[(&str, &str)] = if token {
        &[("Authorization", &auth)]
    } else {
        &[]
    };
    request_with(f, method, path, headers, body)
}

/// One request with `headers` in (a form's content type when there is a
/// body), status, headers and body out.
pub(crate) fn request_with(
    f: &Fixture,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, hyper::HeaderMap, Bytes) {
    let mut req = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if !body.is_empty() {
        req = req.header("Content-Type", "application/x-www-form-urlencoded");
    }
    let req = req
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    f.rt.block_on(async {
        let resp = f.app.clone().handle(req).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, headers, bytes)
    })
}

/// One request in, status, headers and JSON out.
fn send(
    f: &Fixture,
    method: &str,
    path: &str,
    token: bool,
    body: &str,
) -> (u16, hyper::HeaderMap, Value) {
    let (status, headers, bytes) = request(f, method, path, token, body);
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Whether `actual` holds everything `expected` says: objects key by key
/// (others may be there too), arrays element by element, `"<any>"` for any value.
fn holds(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (_, Value::String(s)) if s == "<any>" => !actual.is_null(),
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| holds(av, v))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| holds(x, y))
        }
        _ => actual == expected,
    }
}

#[test]
fn requests_in_answers_out() {
    let f = fixture();
    // (method, path, with alice's token, form body, status, what the answer holds)
    let cases: &[(&str, &str, bool, &str, u16, Value)] = &[
        (
            "GET",
            "/api/0/version",
            false,
            "",
            200,
            json!({"version": "<any>"}),
        ),
        (
            "POST",
            "/api/0/version",
            false,
            "",
            405,
            json!({"error_code": "ENOENDPOINT"}),
        ),
        (
            "DELETE",
            "/api/0/hammer/issue/1",
            false,
            "",
            405,
            json!({"error_code": "ENOENDPOINT"}),
        ),
        (
            "GET",
            "/api/0/hammer/no-such-thing",
            false,
            "",
            404,
            json!({"error_code": "ENOENDPOINT"}),
        ),
        // Pagure's tag filter: any of the tags given, none of the `!tag`s.
        (
            "GET",
            "/api/0/hammer/issues?tags=bug&tags=ui",
            false,
            "",
            200,
            json!({"total_issues": 1}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?tags=%21bug",
            false,
            "",
            200,
            json!({"total_issues": 0, "issues": []}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?tags=%21ui",
            false,
            "",
            200,
            json!({"total_issues": 1}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?tags=bug&tags=%21ui",
            false,
            "",
            200,
            json!({"total_issues": 1}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?tags=ui&tags=%21bug",
            false,
            "",
            200,
            json!({"total_issues": 0}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?no_stones=false",
            false,
            "",
            200,
            json!({"total_issues": 0}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?no_stones=true",
            false,
            "",
            200,
            json!({"total_issues": 1}),
        ),
        (
            "GET",
            "/api/0/nope/issues",
            false,
            "",
            404,
            json!({"error_code": "ENOPROJECT"}),
        ),
        (
            "GET",
            "/api/0/vault/issues",
            false,
            "",
            404,
            json!({"error_code": "ENOPROJECT"}),
        ),
        (
            "GET",
            "/api/0/vault",
            true,
            "",
            200,
            json!({"fullname": "vault", "private": true}),
        ),
        (
            "GET",
            "/api/0/hammer/%2e%2e/x",
            false,
            "",
            400,
            json!({"error_code": "EINVALIDREQ"}),
        ),
        (
            "GET",
            "/api/0/hammer/issue/1",
            false,
            "",
            200,
            json!({
                "id": 1, "title": "Loose handle", "content": "It *wobbles*", "status": "Open",
                "tags": ["bug"], "private": false, "date_created": "<any>", "last_updated": "<any>",
                "user": {"name": "alice", "fullname": "Alice Liddell", "url_path": "user/alice"},
                "assignee": null, "depends": [], "blocks": [], "custom_fields": [],
                "comments": [{"comment": "Glue it", "user": {"name": "alice"}, "id": "<any>",
                              "date_created": "<any>", "notification": false, "parent": null}],
            }),
        ),
        (
            "GET",
            "/api/0/hammer/issue/99",
            false,
            "",
            404,
            json!({"error_code": "ENOISSUE"}),
        ),
        (
            "GET",
            "/api/0/hammer/issue/abc",
            false,
            "",
            404,
            json!({"error_code": "ENOISSUE"}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?status=All&per_page=1",
            false,
            "",
            200,
            json!({"total_issues": 1, "issues": [{"id": 1, "comments": [{"comment": "Glue it"}]}],
                   "pagination": {"page": 1, "pages": 1, "per_page": 1, "next": null}}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?page=18446744073709551615",
            false,
            "",
            400,
            json!({"error_code": "EINVALIDREQ", "errors": {"page": "<any>"}}),
        ),
        (
            "GET",
            "/api/0/projects?page=18446744073709551615",
            false,
            "",
            400,
            json!({"errors": {"page": "<any>"}}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?status=bogus",
            false,
            "",
            400,
            json!({"errors": {"status": "<any>"}}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?tags=%FF",
            false,
            "",
            400,
            json!({"errors": {"tags": "<any>"}}),
        ),
        (
            "GET",
            "/api/0/hammer/issues?per_page=0",
            false,
            "",
            400,
            json!({"errors": {"per_page": "<any>"}}),
        ),
        (
            "POST",
            "/api/0/hammer/new_issue",
            false,
            "title=T&issue_content=C",
            401,
            json!({"error_code": "EINVALIDTOK"}),
        ),
        (
            "POST",
            "/api/0/hammer/new_issue",
            true,
            "issue_content=C",
            400,
            json!({"errors": {"title": ["This field is required."]}}),
        ),
        (
            "POST",
            "/api/0/hammer/new_issue",
            true,
            "title=Rusty+head&issue_content=Oil+it&tag=rust",
            200,
            json!({"message": "Issue created", "issue": {"id": 2, "title": "Rusty head", "tags": ["rust"], "user": {"name": "alice"}}}),
        ),
        (
            "POST",
            "/api/0/hammer/issue/2/comment",
            true,
            "comment=Done",
            200,
            json!({"message": "Comment added"}),
        ),
        (
            "POST",
            "/api/0/hammer/issue/2/status",
            true,
            "status=Closed",
            403,
            json!({"error_code": "ENOTHIGHENOUGH"}),
        ),
        (
            "POST",
            "/api/0/hammer/issue/99/comment",
            true,
            "comment=x",
            404,
            json!({"error_code": "ENOISSUE"}),
        ),
        (
            "GET",
            "/api/0/hammer/pull-requests",
            false,
            "",
            200,
            json!({"requests": [], "total_requests": 0, "pagination": {"page": 1}}),
        ),
        (
            "GET",
            "/api/0/hammer/pull-request/1",
            false,
            "",
            404,
            json!({"error_code": "ENOREQ"}),
        ),
        (
            "GET",
            "/api/0/-/whoami",
            true,
            "",
            200,
            json!({"username": "alice"}),
        ),
        (
            "GET",
            "/api/0/-/whoami",
            false,
            "",
            401,
            json!({"error_code": "EINVALIDTOK"}),
        ),
        // A libgit2 failure is the server's: a 500 that says no more.
        (
            "GET",
            "/api/0/broken/issue/1",
            false,
            "",
            500,
            json!({"error": "internal error", "error_code": "EINTERNAL"}),
        ),
    ];
    for (method, path, token, body, status, expected) in cases {
        let (got, headers, answer) = send(&f, method, path, *token, body);
        assert_eq!(got, *status, "{method} {path}: {answer}");
        assert!(
            holds(&answer, expected),
            "{method} {path}: {answer} does not hold {expected}"
        );
        if got == 405 {
            assert!(
                headers.contains_key("allow"),
                "{method} {path}: a 405 says what is allowed"
            );
        }
    }
}

#[test]
fn the_remote_cli_reads_what_the_server_writes() {
    let f = fixture();
    let (_, _, answer) = send(&f, "GET", "/api/0/hammer/issue/1", false, "");
    let issue: forge_http::pagure::Issue<'static> =
        serde_json::from_value(answer).expect("decodes");
    let details = issue.into_details();
    assert_eq!(
        (details.id, details.title.as_str(), details.status),
        (1, "Loose handle", "open")
    );
    assert_eq!(details.comments[0].body, "Glue it");
    let (_, _, answer) = send(&f, "GET", "/api/0/hammer/issues?status=All", false, "");
    let list: forge_http::pagure::IssueList = serde_json::from_value(answer).expect("decodes");
    assert_eq!(list.total_issues, 1);
}
