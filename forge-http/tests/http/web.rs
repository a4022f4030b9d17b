//! The reading pages, in process: what they show, what they escape, the
//! headers they carry, and the errors they give as pages.

use crate::{fixture, Fixture};

/// One page: status, headers, HTML.
fn get(f: &Fixture, path: &str) -> (u16, hyper::HeaderMap, String) {
    let (status, headers, bytes) = crate::request(f, "GET", path, false, "");
    (
        status,
        headers,
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
    )
}

#[test]
fn pages_show_projects_and_issues_with_their_text_escaped_and_markdown_sanitized() {
    let f = fixture();
    let (status, headers, home) = get(&f, "/");
    assert_eq!(status, 200, "{home}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // Public projects only, to someone without a session.
    assert!(home.contains(r#"href="/hammer""#), "{home}");
    assert!(!home.contains("vault"), "{home}");

    let (status, _, issue) = get(&f, "/hammer/issue/1");
    assert_eq!(status, 200, "{issue}");
    assert!(issue.contains("Loose handle"), "{issue}");
    // The body's Markdown, rendered; the comment too.
    assert!(issue.contains("It <em>wobbles</em>"), "{issue}");
    assert!(issue.contains("Glue it"), "{issue}");

    let (status, _, list) = get(&f, "/hammer/issues");
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(r#"href="/hammer/issue/1""#), "{list}");
    let (status, _, closed) = get(&f, "/hammer/issues?status=closed");
    assert_eq!(status, 200);
    assert!(closed.contains("No issue here."), "{closed}");

    let (status, _, alice) = get(&f, "/user/alice");
    assert_eq!(status, 200, "{alice}");
    assert!(
        alice.contains("Alice Liddell (alice)") && alice.contains(r#"href="/hammer""#),
        "{alice}"
    );
    assert!(
        !alice.contains("vault"),
        "a private project stays hidden: {alice}"
    );
    assert_eq!(get(&f, "/user/nobody").0, 404);

    let (status, _, prs) = get(&f, "/hammer/pull-requests");
    assert_eq!(status, 200, "{prs}");
    assert!(prs.contains("No pull request here."), "{prs}");
    // Issue 1 is an issue, not a pull request.
    assert_eq!(get(&f, "/hammer/pull-request/1").0, 404);

    // The stylesheet the pages name, kept for a year.
    let css = home
        .split("href=\"")
        .find_map(|s| s.strip_prefix("/static/"))
        .and_then(|s| s.split('"').next())
        .expect("a stylesheet link");
    let (status, headers, _) = get(&f, &format!("/static/{css}"));
    assert_eq!(status, 200);
    assert!(headers["cache-control"]
        .to_str()
        .expect("cc")
        .contains("immutable"));
}

#[test]
fn missing_and_hidden_things_are_pages_too() {
    let f = fixture();
    for path in [
        "/nothing",
        "/vault",
        "/vault/issues",
        "/hammer/issue/9",
        "/hammer/issue/x",
    ] {
        let (status, headers, page) = get(&f, path);
        assert_eq!(status, 404, "{path}: {page}");
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        assert!(page.contains("Not found"), "{path}: {page}");
    }
    let (status, _, page) = get(&f, "/hammer/issues?status=sleeping");
    assert_eq!(status, 400, "{page}");
    // The API keeps answering JSON.
    let (status, headers, _) = get(&f, "/api/0/nothing/issues");
    assert_eq!(
        (status, &headers["content-type"]),
        (404, &"application/json".parse().expect("value"))
    );
}

/// A kept issue list page goes stale with the index: an issue made through
/// the API shows at once.
#[test]
fn the_issue_list_page_follows_writes() {
    let f = fixture();
    let (_, _, before) = get(&f, "/hammer/issues");
    assert_eq!(before.matches("/hammer/issue/").count(), 1, "{before}");
    assert_eq!(
        get(&f, "/hammer/issues").2,
        before,
        "kept while nothing changes"
    );
    let (status, _, made) = crate::send(
        &f,
        "POST",
        "/api/0/hammer/new_issue",
        true,
        "title=Rusty+head&issue_content=x",
    );
    assert_eq!(status, 200, "{made}");
    let (_, _, after) = get(&f, "/hammer/issues");
    assert!(after.contains("Rusty head"), "{after}");
    assert_eq!(after.matches("/hammer/issue/").count(), 2, "{after}");
}

#[test]
fn the_issue_list_filters_with_the_apis_parameters() {
    let f = fixture();
    let listed = |path: &str| {
        let (status, _, page) = get(&f, path);
        assert_eq!(status, 200, "{path}: {page}");
        page.contains(r#"href="/hammer/issue/1""#)
    };
    assert!(listed("/hammer/issues?search_pattern=LOOSE"));
    assert!(!listed("/hammer/issues?search_pattern=tight"));
    assert!(listed("/hammer/issues?tags=bug&author=alice"));
    assert!(!listed("/hammer/issues?tags=feature"));
    assert!(!listed("/hammer/issues?assignee=bob"));
    // Blank fields of the form are dropped, not read as "nobody".
    let (status, headers, _) = get(&f, "/hammer/issues?search_pattern=&tags=bug&assignee=");
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/hammer/issues?tags=bug");
    // The API takes the same parameter.
    let (status, _, body) = crate::request(
        &f,
        "GET",
        "/api/0/hammer/issues?search_pattern=handle",
        false,
        "",
    );
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["issues"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, _, body) = crate::request(
        &f,
        "GET",
        "/api/0/hammer/issues?search_pattern=nothing",
        false,
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["issues"].as_array().map(Vec::len), Some(0), "{v}");
    // A bad value is a page saying which.
    let (status, _, page) = get(&f, "/hammer/issues?status=sideways");
    assert_eq!(status, 400);
    assert!(page.contains("status"), "{page}");
}
