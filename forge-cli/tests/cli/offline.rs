//! Offline work in clones of the tickets repository, merged with `git pull`.

use std::path::Path;

use serde_json::json;

use crate::{clone_as, git, Forge};

fn offline(f: &Forge, clone: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--repo", clone.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    f.json(&all)
}

#[test]
fn two_clones_merge_with_git_pull_and_no_conflict() {
    let f = Forge::with_project();
    f.ok_line("--as alice issue new -p tools/hammer --title Shared --tag base");
    f.ok_line("--as alice issue new -p tools/hammer --title Other");
    let (a, b) = (f.dir.path().join("a"), f.dir.path().join("b"));
    f.member("bob", "ticket");
    clone_as(&f.tickets_repo(), &a, "alice");
    clone_as(&f.tickets_repo(), &b, "bob");

    // Clone A: a comment, a tag, a body edit, and a title edit.
    offline(&f, &a, &["issue", "comment", "1", "--body", "from A"]);
    offline(
        &f,
        &a,
        &[
            "issue",
            "edit",
            "1",
            "--add-tag",
            "from-a",
            "--body",
            "body from A",
        ],
    );
    offline(&f, &a, &["issue", "edit", "2", "--title", "Title from A"]);
    // Clone B: a comment on the same issue, another tag, another field, the same title.
    offline(&f, &b, &["issue", "comment", "1", "--body", "from B"]);
    offline(
        &f,
        &b,
        &[
            "issue",
            "edit",
            "1",
            "--add-tag",
            "from-b",
            "--remove-tag",
            "base",
            "--assignee",
            "bob",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    offline(&f, &b, &["issue", "edit", "2", "--title", "Title from B"]);
    let local = offline(&f, &b, &["issue", "list"]);
    assert_eq!(local.as_array().map(Vec::len), Some(2));

    git(&a, &["push", "-q", "origin", "HEAD"]);
    // Plain `git pull`: forge set up the merge driver when it first ran in B.
    git(&b, &["pull", "-q"]);
    assert_eq!(git(&b, &["status", "--porcelain"]), "", "clean merge");
    let merged = std::fs::read_to_string(b.join("01/1/issue.json")).expect("file");
    assert!(!merged.contains("<<<<<<<"), "no conflict markers");
    git(&b, &["push", "-q", "origin", "HEAD"]);

    for view in [
        f.json_line("issue show -p tools/hammer 1"),
        offline(&f, &b, &["issue", "show", "1"]),
    ] {
        // What people said; each side's edit also wrote its notification
        // comment, and those merge alike.
        let all = view["comments"].as_array().expect("comments");
        let said = |c: &&serde_json::Value| c["notification"] != true;
        let comments: Vec<&str> = all
            .iter()
            .filter(said)
            .filter_map(|c| c["body"].as_str())
            .collect();
        assert_eq!(comments.len(), 2, "both comments kept: {comments:?}");
        assert_eq!(all.len(), 4, "both notifications kept: {all:?}");
        assert!(comments.contains(&"from A") && comments.contains(&"from B"));
        assert_eq!(view["tags"], serde_json::json!(["from-a", "from-b"]));
        assert_eq!(view["body"], "body from A");
        assert_eq!(view["assignee"], "bob");
    }
    // Same field on both sides: the later edit wins, deterministically.
    assert_eq!(
        f.json_line("issue show -p tools/hammer 2")["title"],
        "Title from B"
    );

    // A pulls B's merge: fast-forward, and A's offline index follows.
    git(&a, &["pull", "-q"]);
    assert_eq!(
        offline(&f, &a, &["issue", "show", "2"])["title"],
        "Title from B"
    );
}

#[test]
fn the_clone_is_configured_once_and_its_index_rebuilt_when_corrupt() {
    let f = Forge::with_project();
    f.ok_line("--as alice issue new -p tools/hammer --title One");
    let a = f.dir.path().join("a");
    clone_as(&f.tickets_repo(), &a, "carol");
    let created = offline(&f, &a, &["issue", "new", "--title", "Offline"]);
    // Made offline: a provisional number until the forge gives it one.
    assert_eq!(created["id"], "~1");
    assert_eq!(created["author"], "carol");
    assert!(git(&a, &["config", "merge.forge-json.driver"]).contains("merge-driver %O %A %B %P"));
    let attributes = std::fs::read_to_string(a.join(".git/info/attributes")).expect("attributes");
    assert_eq!(attributes, "*.json merge=forge-json\n");
    offline(&f, &a, &["issue", "list"]);
    assert_eq!(
        std::fs::read_to_string(a.join(".git/info/attributes")).expect("attributes"),
        attributes,
        "idempotent"
    );
    // The working tree follows the commits forge makes; the new issue lives
    // under its uid, where no other clone's can collide with it.
    assert_eq!(git(&a, &["status", "--porcelain"]), "");
    let uid = created["uid"].as_str().expect("uid");
    assert!(a.join(format!("new/{uid}/issue.json")).exists());
    assert!(!a.join("02/2/issue.json").exists());

    std::fs::write(a.join(".git/forge/index.db"), b"this is not a database").expect("write");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(a.join(format!(".git/forge/index.db{suffix}")));
    }
    let out = f.run(&[
        "--repo",
        a.to_str().expect("path"),
        "issue",
        "list",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rebuilt"), "{stderr}");
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "nothing lost");
}

#[test]
fn issues_made_offline_in_two_clones_get_distinct_numbers_at_the_forge() {
    let f = Forge::with_project();
    f.ok_line("--as alice issue new -p tools/hammer --title Existing");
    f.member("bob", "ticket");
    let (a, b) = (f.dir.path().join("a"), f.dir.path().join("b"));
    clone_as(&f.tickets_repo(), &a, "alice");
    clone_as(&f.tickets_repo(), &b, "bob");

    // Each clone opens issues with no forge in sight: provisional numbers.
    let a1 = offline(&f, &a, &["issue", "new", "--title", "From A, first"]);
    let a2 = offline(&f, &a, &["issue", "new", "--title", "From A, second"]);
    let b1 = offline(&f, &b, &["issue", "new", "--title", "From B"]);
    let ids = [&a1["id"], &a2["id"], &b1["id"]];
    assert_eq!(ids, [&json!("~1"), &json!("~2"), &json!("~1")]);
    offline(
        &f,
        &b,
        &["issue", "comment", "~1", "--body", "written offline too"],
    );
    let listed = f.ok(&["--repo", b.to_str().expect("path"), "issue", "list"]);
    assert!(listed.contains("#~1"), "{listed}");

    // A pushes: the forge numbers A's issues from the project's sequence
    // and moves them to their numbered folders.
    let said = crate::git_stderr(&a, &["push", "-q", "origin", "HEAD"]);
    assert!(
        said.contains("numbered issue #2") && said.contains("numbered issue #3"),
        "{said}"
    );
    // B merges that with plain git (no conflict: its issue lives under its
    // own uid), sees A's issues with their numbers, and pushes its own.
    git(&b, &["pull", "-q"]);
    assert_eq!(git(&b, &["status", "--porcelain"]), "", "clean merge");
    let in_b = offline(&f, &b, &["issue", "list"]);
    let ids: Vec<&serde_json::Value> = in_b
        .as_array()
        .expect("list")
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(
        ids,
        [&json!("~1"), &json!(3), &json!(2), &json!(1)],
        "{in_b}"
    );
    let said = crate::git_stderr(&b, &["push", "-q", "origin", "HEAD"]);
    assert!(said.contains("numbered issue #4"), "{said}");

    let all = f.json_line("issue list -p tools/hammer --status all");
    let titles: Vec<(u64, &str)> = all
        .as_array()
        .expect("list")
        .iter()
        .map(|i| {
            (
                i["id"].as_u64().expect("a number"),
                i["title"].as_str().expect("title"),
            )
        })
        .collect();
    assert_eq!(
        titles,
        [
            (4, "From B"),
            (3, "From A, second"),
            (2, "From A, first"),
            (1, "Existing")
        ]
    );
    let four = f.json_line("issue show -p tools/hammer 4");
    assert_eq!(four["comments"][0]["body"], "written offline too");
    assert_eq!(four["author"], "bob");
    // Nothing is left under new/, and the numbering counts on after it.
    let tip = f.tickets_repo();
    let tree = git(&tip, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(!tree.contains("new/"), "{tree}");
    assert_eq!(
        f.json_line("--as alice issue new -p tools/hammer --title Next")["id"],
        5
    );
    // B follows the forge: its issue has its number now.
    git(&b, &["pull", "-q"]);
    assert_eq!(offline(&f, &b, &["issue", "show", "4"])["title"], "From B");
    let events = f.json_line("events -p tools/hammer");
    let numbered_new: Vec<(&str, &str)> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "issue.new")
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["fields"]["title"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        numbered_new,
        [
            ("alice", "Existing"),
            ("alice", "From A, first"),
            ("alice", "From A, second"),
            ("bob", "From B"),
            ("alice", "Next")
        ],
        "each issue announced once, by its pusher"
    );
}
