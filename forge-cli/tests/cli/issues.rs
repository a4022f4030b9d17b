//! The issue commands end to end on a forge home.

use crate::Forge;

#[test]
fn issue_lifecycle_with_json_output() {
    let f = Forge::with_project();
    let a = ["--as", "alice"];
    let new = f.json(
        &[
            &a[..],
            &[
                "issue",
                "new",
                "-p",
                "tools/hammer",
                "--title",
                "Loose handle",
                "--body",
                "It *wobbles*",
                "--tag",
                "bug",
                "--assignee",
                "bob",
            ],
        ]
        .concat(),
    );
    assert_eq!(new["id"], 1);
    assert_eq!(new["status"], "open");
    assert_eq!(new["assignee"], "bob");
    assert_eq!(new["tags"], serde_json::json!(["bug"]));
    f.ok(&[
        "--as",
        "bob",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Rusty head",
    ]);
    f.ok(&[
        "issue",
        "comment",
        "-p",
        "tools/hammer",
        "1",
        "--body",
        "Glue it",
        "--as",
        "bob",
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--add-tag",
        "triaged",
        "--title",
        "Loose wooden handle",
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "close",
        "-p",
        "tools/hammer",
        "2",
        "--reason",
        "Won't fix",
    ]);

    let open = f.json(&["issue", "list", "-p", "tools/hammer"]);
    let ids: Vec<_> = open
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(ids, [1]);
    let all = f.json(&["issue", "list", "-p", "tools/hammer", "--status", "all"]);
    let ids: Vec<_> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["id"].as_u64())
        .collect();
    assert_eq!(ids, [Some(2), Some(1)], "newest first");
    let first = &all[1];
    for key in [
        "id",
        "title",
        "status",
        "author",
        "assignee",
        "tags",
        "created_at",
        "updated_at",
        "comments",
    ] {
        assert!(first.get(key).is_some(), "list item has {key}");
    }
    assert_eq!(first["comments"], 1);
    assert_eq!(first["title"], "Loose wooden handle");

    let shown = f.json(&["issue", "show", "-p", "tools/hammer", "1"]);
    assert_eq!(shown["body"], "It *wobbles*");
    assert_eq!(shown["comments"][0]["author"], "bob");
    assert_eq!(shown["comments"][0]["body"], "Glue it");
    assert_eq!(shown["tags"], serde_json::json!(["bug", "triaged"]));
    let closed = f.json(&["issue", "show", "-p", "tools/hammer", "2"]);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["close_reason"], "Won't fix");

    let tagged = f.json(&[
        "issue",
        "list",
        "-p",
        "tools/hammer",
        "--status",
        "all",
        "--tag",
        "triaged",
    ]);
    assert_eq!(tagged.as_array().map(Vec::len), Some(1));
    let by_author = f.json(&[
        "issue",
        "list",
        "-p",
        "tools/hammer",
        "--status",
        "all",
        "--author",
        "bob",
    ]);
    assert_eq!(by_author[0]["id"], 2);
    let by_assignee = f.json(&["issue", "list", "-p", "tools/hammer", "--assignee", "bob"]);
    assert_eq!(by_assignee[0]["id"], 1);

    f.ok(&[
        "--as",
        "alice",
        "issue",
        "reopen",
        "-p",
        "tools/hammer",
        "2",
    ]);
    assert_eq!(
        f.json(&["issue", "show", "-p", "tools/hammer", "2"])["close_reason"],
        serde_json::Value::Null
    );

    // Every change is one commit authored by the acting user.
    let log = crate::git(&f.tickets_repo(), &["log", "--format=%an %s"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 6, "{log}");
    assert_eq!(lines[0], "alice Reopen issue #2");
    assert_eq!(lines[3], "bob Comment on issue #1");

    let text = f.ok(&["issue", "show", "-p", "tools/hammer", "1"]);
    assert!(text.starts_with("#1 Loose wooden handle [open]"), "{text}");
    assert!(text.contains("Glue it"), "{text}");
}

#[test]
fn events_are_logged_once_per_change() {
    let f = Forge::with_project();
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "One",
        "--tag",
        "a",
    ]);
    f.ok(&[
        "--as",
        "bob",
        "issue",
        "comment",
        "-p",
        "tools/hammer",
        "1",
        "--body",
        "hi",
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--assignee",
        "bob",
        "--add-tag",
        "b",
        "--remove-tag",
        "a",
    ]);
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "close",
        "-p",
        "tools/hammer",
        "1",
        "--reason",
        "Fixed",
    ]);
    f.ok(&["reindex"]);
    let events = f.json(&["events", "-p", "tools/hammer"]);
    let kinds: Vec<&str> = events
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "issue.new",
            "issue.comment.added",
            "issue.tag.added",
            "issue.tag.removed",
            "issue.assigned",
            "issue.closed"
        ],
        "a reindex adds no events"
    );
    assert_eq!(events[1]["actor"], "bob");
    assert_eq!(events[4]["fields"]["assignee"], "bob");
    let since = events[3]["id"].as_i64().expect("id");
    let later = f.json(&["events", "--since", &since.to_string()]);
    assert_eq!(later.as_array().map(Vec::len), Some(2));
}

#[test]
fn private_issues_are_hidden_from_outsiders() {
    let f = Forge::with_project();
    f.ok(&["user", "add", "carol", "--email", "carol@example.org"]);
    f.ok(&[
        "--as",
        "bob",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Secret",
        "--private",
    ]);
    f.ok(&[
        "--as",
        "bob",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "Public",
    ]);
    assert_eq!(
        f.json(&["--as", "carol", "issue", "list", "-p", "tools/hammer"])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        f.json(&["issue", "list", "-p", "tools/hammer"])
            .as_array()
            .map(Vec::len),
        Some(1),
        "anonymous"
    );
    assert_eq!(
        f.json(&["--as", "bob", "issue", "list", "-p", "tools/hammer"])
            .as_array()
            .map(Vec::len),
        Some(2),
        "author"
    );
    assert_eq!(
        f.json(&["--as", "alice", "issue", "list", "-p", "tools/hammer"])
            .as_array()
            .map(Vec::len),
        Some(2),
        "owner"
    );
    let err = f.fails(&["--as", "carol", "issue", "show", "-p", "tools/hammer", "1"]);
    assert_eq!(
        err.trim(),
        "forge: issue #1 not found in project `tools/hammer`"
    );
    f.fails(&[
        "--as",
        "carol",
        "issue",
        "comment",
        "-p",
        "tools/hammer",
        "1",
        "--body",
        "peek",
    ]);
}

#[test]
fn settings_constrain_priority_milestone_and_fields() {
    let f = Forge::with_project();
    f.ok(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "One",
    ]);
    let err = f.fails(&[
        "--as",
        "alice",
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--priority",
        "High",
    ]);
    assert!(
        err.contains("invalid priority `High`: project `tools/hammer` defines none"),
        "{err}"
    );
    let err = f.fails(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "x",
        "--milestone",
        "1.0",
    ]);
    assert!(err.contains("invalid milestone `1.0`"), "{err}");
    let err = f.fails(&[
        "--as",
        "alice",
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--field",
        "severity=high",
    ]);
    assert!(err.contains("custom field `severity`"), "{err}");
    let err = f.fails(&[
        "--as",
        "alice",
        "issue",
        "edit",
        "-p",
        "tools/hammer",
        "1",
        "--field",
        "nonsense",
    ]);
    assert!(err.contains("expected NAME=VALUE"), "{err}");
}
