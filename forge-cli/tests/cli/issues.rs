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

    let open = f.json_line("issue list -p tools/hammer");
    let ids: Vec<_> = open
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(ids, [1]);
    let all = f.json_line("issue list -p tools/hammer --status all");
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

    let shown = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(shown["body"], "It *wobbles*");
    assert_eq!(shown["comments"][0]["author"], "bob");
    assert_eq!(shown["comments"][0]["body"], "Glue it");
    assert_eq!(shown["tags"], serde_json::json!(["bug", "triaged"]));
    let closed = f.json_line("issue show -p tools/hammer 2");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["close_reason"], "Won't fix");

    let tagged = f.json_line("issue list -p tools/hammer --status all --tag triaged");
    assert_eq!(tagged.as_array().map(Vec::len), Some(1));
    let by_author = f.json_line("issue list -p tools/hammer --status all --author bob");
    assert_eq!(by_author[0]["id"], 2);
    let by_assignee = f.json_line("issue list -p tools/hammer --assignee bob");
    assert_eq!(by_assignee[0]["id"], 1);

    f.ok_line("--as alice issue reopen -p tools/hammer 2");
    assert_eq!(
        f.json_line("issue show -p tools/hammer 2")["close_reason"],
        serde_json::Value::Null
    );

    // Every change is one commit authored by the acting user.
    let log = crate::git(&f.tickets_repo(), &["log", "--format=%an %s"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 6, "{log}");
    assert_eq!(lines[0], "alice Reopen issue #2");
    assert_eq!(lines[3], "bob Comment on issue #1");

    let text = f.ok_line("issue show -p tools/hammer 1");
    assert!(text.starts_with("#1 Loose wooden handle [open]"), "{text}");
    assert!(text.contains("Glue it"), "{text}");
}

#[test]
fn events_are_logged_once_per_change() {
    let f = Forge::with_project();
    f.ok_line("--as alice issue new -p tools/hammer --title One --tag a");
    f.ok_line("--as bob issue comment -p tools/hammer 1 --body hi");
    f.ok_line("--as alice issue edit -p tools/hammer 1 --assignee bob --add-tag b --remove-tag a");
    f.ok_line("--as alice issue close -p tools/hammer 1 --reason Fixed");
    f.ok_line("reindex");
    let events = f.json_line("events -p tools/hammer");
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
    f.ok_line("user add carol --email carol@example.org");
    f.ok_line("--as bob issue new -p tools/hammer --title Secret --private");
    f.ok_line("--as bob issue new -p tools/hammer --title Public");
    assert_eq!(
        f.json_line("--as carol issue list -p tools/hammer")
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        f.json_line("issue list -p tools/hammer")
            .as_array()
            .map(Vec::len),
        Some(1),
        "anonymous"
    );
    assert_eq!(
        f.json_line("--as bob issue list -p tools/hammer")
            .as_array()
            .map(Vec::len),
        Some(2),
        "author"
    );
    assert_eq!(
        f.json_line("--as alice issue list -p tools/hammer")
            .as_array()
            .map(Vec::len),
        Some(2),
        "owner"
    );
    let err = f.fails_line("--as carol issue show -p tools/hammer 1");
    assert_eq!(
        err.trim(),
        "forge: issue #1 not found in project `tools/hammer`"
    );
    f.fails_line("--as carol issue comment -p tools/hammer 1 --body peek");
}

#[test]
fn custom_fields_are_given_when_an_issue_is_opened() {
    let f = Forge::with_project();
    f.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        "tools/hammer",
        "--set",
        "custom_fields=os:list:linux|mac,url:link",
    ]);
    let made = f.json(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "T",
        "--field",
        "os=mac",
        "--field",
        "url=https://example.org/x",
    ]);
    assert_eq!(
        made["custom_fields"],
        serde_json::json!({"os": "mac", "url": "https://example.org/x"})
    );
    let err = f.fails(&[
        "--as",
        "alice",
        "issue",
        "new",
        "-p",
        "tools/hammer",
        "--title",
        "T",
        "--field",
        "os=bsd",
    ]);
    assert!(err.contains("one of: linux, mac"), "{err}");
}

#[test]
fn the_queue_cli_shows_consumers_and_retries_and_purges_dead_jobs() {
    use forge_notify::queue::{self, Schedule};
    let f = Forge::with_project();
    assert!(f.ok_line("queue status").contains("no consumer"));
    f.ok_line("--as alice issue new -p tools/hammer --title One");
    f.ok_line("--as alice issue new -p tools/hammer --title Two");
    let store = forge_core::Store::open(&f.home().join("forge.db")).expect("store");
    let mut route = |e: &forge_core::event::Event| -> forge_core::Result<queue::Routes> {
        Ok(vec![(e.project.clone(), serde_json::json!({}))])
    };
    queue::fan_out(&store, "hooks", 1, 0, &mut route).expect("fan out");
    let job = &queue::claim(
        &store,
        "hooks",
        "w",
        1,
        std::time::Duration::from_secs(30),
        queue::now_ms(),
    )
    .expect("claim")[0];
    queue::fail(
        &store,
        job,
        "w",
        "HTTP 500",
        &Schedule(Vec::new()),
        queue::now_ms(),
    )
    .expect("fail");

    let status = f.json_line("queue status");
    assert_eq!(status[0]["consumer"], "hooks");
    assert_eq!(status[0]["dead"], 1);
    assert!(
        status[0]["lag_events"].as_i64().expect("lag") >= 1,
        "{status}"
    );
    let table = f.ok_line("queue status");
    assert!(
        table.contains("CONSUMER") && table.contains("hooks"),
        "{table}"
    );
    let dead = f.json_line("queue list --state dead");
    assert_eq!(dead[0]["last_error"], "HTTP 500");
    let id = dead[0]["id"].as_i64().expect("id").to_string();
    let missing = f.fails_line("queue retry 999999");
    assert!(missing.contains("no dead job"), "{missing}");
    assert!(f
        .ok(&["queue", "retry", &id])
        .contains("1 job(s) pending again"));
    assert_eq!(f.json_line("queue status")[0]["dead"], 0);
    let job = &queue::claim(
        &store,
        "hooks",
        "w",
        1,
        std::time::Duration::from_secs(30),
        queue::now_ms(),
    )
    .expect("claim")[0];
    queue::fail(
        &store,
        job,
        "w",
        "HTTP 500",
        &Schedule(Vec::new()),
        queue::now_ms(),
    )
    .expect("fail");
    assert!(f
        .ok_line("queue purge --dead")
        .contains("1 dead job(s) deleted"));
    assert_eq!(f.json_line("queue list").as_array().map(Vec::len), Some(0));
}

#[test]
fn webhooks_are_added_listed_and_removed_by_project_admins() {
    let f = Forge::with_project();
    let refused = f.fails_line("--as alice webhook add -p tools/hammer http://127.0.0.1:9/hook");
    assert!(refused.contains("loopback"), "{refused}");
    let refused = f.fails_line("--as bob webhook list -p tools/hammer");
    assert!(refused.contains("permission denied"), "{refused}");

    let out = f
        .command(&[
            "--as",
            "alice",
            "--json",
            "webhook",
            "add",
            "-p",
            "tools/hammer",
            "http://127.0.0.1:9/hook",
            "--events",
            "issue.*,pr.new",
        ])
        .env("FORGE_WEBHOOKS_ALLOW_PRIVATE", "1")
        .output()
        .expect("forge runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let secret = added["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_"), "{added}");
    assert_eq!(added["events"], serde_json::json!(["issue.*", "pr.new"]));
    let listed = f.json_line("--as alice webhook list -p tools/hammer");
    assert_eq!(listed[0]["url"], "http://127.0.0.1:9/hook");
    assert!(
        !listed.to_string().contains(secret),
        "the secret is shown once only"
    );
    let id = added["id"].as_i64().expect("id").to_string();
    f.ok(&[
        "--as",
        "alice",
        "webhook",
        "remove",
        "-p",
        "tools/hammer",
        &id,
    ]);
    assert_eq!(
        f.json_line("--as alice webhook list -p tools/hammer"),
        serde_json::json!([])
    );
}
