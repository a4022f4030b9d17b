//! Offline work in clones of the tickets repository, merged with `git pull`.

use std::path::Path;

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
        let comments: Vec<&str> = view["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .filter_map(|c| c["body"].as_str())
            .collect();
        assert_eq!(comments.len(), 2, "both comments kept: {comments:?}");
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
