//! `forge search` and the search API as users call them: what they find,
//! their JSON, a query that does not read, and a plain `git push` of a
//! ticket found on the next search.

use crate::http::Server;
use crate::Forge;

const P: &str = "tools/hammer";

#[test]
fn search_finds_issues_and_comments_from_the_cli_and_the_api() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        P,
        "--title",
        "Original",
        "--body",
        "The handle is loose",
        "--tag",
        "bug",
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        P,
        "--title",
        "Paint the head",
        "--body",
        "red",
    ]);
    f.ok(&[
        "--as",
        "bob",
        "issue",
        "comment",
        "-p",
        P,
        "2",
        "--body",
        "A loose coat of paint is fine",
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        P,
        "--title",
        "Secret loose plan",
        "--body",
        "x",
        "--private",
    ]);

    let found = f.json(&["--as", "alice", "search", "loose is:open"]);
    let found = found.as_array().expect("a list");
    let ids: Vec<u64> = found
        .iter()
        .map(|h| h["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 3, "{found:?}");
    for h in found {
        for key in ["project", "type", "id", "title", "status", "snippet"] {
            assert!(!h[key].is_null(), "{key} in {h}");
        }
        assert_eq!(h["type"], "issue");
        assert!(
            h["snippet"]
                .as_str()
                .expect("snippet")
                .contains("**loose**"),
            "{h}"
        );
    }
    // Without a role, no private issue.
    let anonymous = f.json(&["search", "loose"]);
    assert_eq!(anonymous.as_array().map(Vec::len), Some(2), "{anonymous}");
    let tagged = f.json(&["search", "-p", P, "label:bug -paint"]);
    assert_eq!(tagged[0]["id"], 1, "{tagged}");
    // A query that does not read points at the part at fault.
    let e = f.fails(&["search", "created:2026-02-30 loose"]);
    assert!(e.contains("`2026-02-30` is not a date"), "{e}");
    assert!(e.contains("        ^"), "a pointer under the date: {e}");

    // A plain push of a ticket is found on the next search.
    f.push_by_hand("alice", |clone| {
        let path = clone.join("01/1/issue.json");
        let text = std::fs::read_to_string(&path).expect("issue file");
        std::fs::write(&path, text.replace("\"Original\"", "\"Renamed wobbly\"")).expect("write");
    });
    let pushed = f.json(&["search", "wobbly"]);
    assert_eq!(pushed[0]["title"], "Renamed wobbly", "{pushed}");

    let s = Server::start(&f);
    let (status, body) = s.raw("GET", "/api/0/search?q=loose+is%3Aopen", None, None);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["results"].as_array().map(Vec::len),
        Some(2),
        "anonymous: {v}"
    );
    let (status, body) = s.raw(
        "GET",
        "/api/0/tools/hammer/search?q=paint&per_page=1",
        None,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["results"][0]["id"], 2, "{v}");
    let (status, body) = s.raw("GET", "/api/0/search?q=%22unclosed", None, None);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not closed"), "{body}");
    let (status, body) = s.raw("GET", "/api/0/search?q=", None, None);
    assert!(status == 400 && body.contains("empty"), "{status} {body}");

    // The search box: the same results on the page, snippets escaped.
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        P,
        "--title",
        "Markup",
        "--body",
        "<script>alert(1)</script> loose <b>bold</b>",
    ]);
    let (status, page) = s.raw("GET", "/?q=loose", None, None);
    assert_eq!(status, 200);
    assert!(page.contains("Issues and pull requests"), "{page}");
    assert!(page.contains("<mark>loose</mark>"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<b>bold"), "{page}");
    let (_, page) = s.raw("GET", "/?q=created%3A2026-02-30", None, None);
    assert!(page.contains("is not a date"), "{page}");
}
