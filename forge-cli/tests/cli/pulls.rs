//! Pull requests end to end: same-repo, fork and remote-URL sources, each
//! merge strategy, conflicts, gates, flags, votes, inline comments across an
//! update, and "Fixes #N" — with the real git binary pushing the branches.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{clone_as, git, Forge};

const P: &str = "tools/hammer";

fn source_repo(forge: &Forge) -> PathBuf {
    forge.home().join("repos/tools/hammer.git")
}

/// Resolves a revision in a bare repository.
fn rev(repo: &Path, name: &str) -> String {
    git(repo, &["rev-parse", "--verify", "-q", name])
        .trim()
        .to_string()
}

fn has_ref(repo: &Path, name: &str) -> bool {
    Command::new("git")
        .args(["rev-parse", "--verify", "-q", name])
        .current_dir(repo)
        .output()
        .expect("git runs")
        .status
        .success()
}

/// Writes a file, commits it with `message`, returns the commit id.
fn commit_file(dir: &Path, path: &str, content: &str, message: &str) -> String {
    let file = dir.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(file, content).expect("write");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", message]);
    git(dir, &["rev-parse", "HEAD"]).trim().to_string()
}

/// alice's clone of the project with `a.txt` (five lines) on main, pushed.
fn project_with_main(forge: &Forge) -> PathBuf {
    let work = forge.dir.path().join("alice-work");
    clone_as(&source_repo(forge), &work, "alice");
    git(&work, &["checkout", "-q", "-b", "main"]);
    commit_file(&work, "a.txt", "one\ntwo\nthree\nfour\nfive\n", "Start");
    git(&work, &["push", "-q", "origin", "main"]);
    work
}

fn pr(forge: &Forge, who: &str, rest: &str) -> Value {
    forge.json_line(&format!("--as {who} pr {rest} -p {P}"))
}

fn show(forge: &Forge, id: u64) -> Value {
    forge.json_line(&format!("--as alice pr show -p {P} {id}"))
}

fn outdated_by_line(pull: &Value) -> Vec<(u64, bool)> {
    let mut out: Vec<(u64, bool)> = pull["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter(|c| !c["line"].is_null())
        .map(|c| (c["line"].as_u64().expect("line"), c["outdated"] == true))
        .collect();
    out.sort();
    out
}

#[test]
fn same_repo_request_is_reviewed_updated_and_merged_closing_its_issue() {
    let forge = Forge::with_project();
    let work = project_with_main(&forge);
    let repo = source_repo(&forge);
    forge.ok_line(&format!("--as alice issue new -p {P} --title Crash"));
    forge.ok_line(&format!("--as alice issue new -p {P} --title Docs"));
    git(&work, &["checkout", "-q", "-b", "topic"]);
    let first = commit_file(
        &work,
        "a.txt",
        "one\nTWO\nthree\nfour\nfive\n",
        "Shout two\n\nFixes #1",
    );
    git(&work, &["push", "-q", "origin", "topic"]);

    let opened = forge.json(&[
        "--as",
        "alice",
        "pr",
        "new",
        "-p",
        P,
        "--title",
        "Shout",
        "--body",
        "Relates #2",
        "--from",
        "topic",
    ]);
    assert_eq!(opened["id"], 3, "numbers follow the issues");
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["author"], "alice");
    assert_eq!(opened["source"]["repo"], P);
    assert_eq!(opened["source"]["branch"], "topic");
    assert_eq!(opened["target"], "main");
    assert_eq!(opened["head"], first.as_str());
    assert_eq!(opened["base"], rev(&repo, "main").as_str());
    assert_eq!(opened["commits"][0]["title"], "Shout two");
    assert_eq!(opened["merge_status"], "fast-forward");
    assert_eq!(opened["linked_issues"], serde_json::json!([1, 2]));
    assert_eq!(rev(&repo, "refs/pull/3/head"), first);

    // Review: inline comments on two lines, a flag posted twice, votes.
    forge.ok(&[
        "--as",
        "bob",
        "pr",
        "comment",
        "-p",
        P,
        "3",
        "--body",
        "Why shout?",
        "--path",
        "a.txt",
        "--line",
        "2",
    ]);
    forge.ok(&[
        "--as",
        "bob",
        "pr",
        "comment",
        "-p",
        P,
        "3",
        "--body",
        "Keep this",
        "--path",
        "a.txt",
        "--line",
        "4",
    ]);
    forge.ok_line(&format!(
        "--as alice pr flag -p {P} 3 --name ci --status pending --percent 10"
    ));
    let flags = forge.json(&[
        "--as",
        "alice",
        "pr",
        "flag",
        "-p",
        P,
        "3",
        "--name",
        "ci",
        "--status",
        "success",
        "--percent",
        "100",
        "--comment",
        "all green",
        "--url",
        "https://ci.example.org/7",
    ]);
    assert_eq!(
        flags.as_array().map(Vec::len),
        Some(1),
        "same name replaces: {flags}"
    );
    assert_eq!(flags[0]["status"], "success");
    assert_eq!(flags[0]["percent"], 100);
    assert_eq!(flags[0]["url"], "https://ci.example.org/7");
    forge.ok_line(&format!("--as bob pr comment -p {P} 3 --body +1"));
    assert_eq!(show(&forge, 3)["score"], 1);
    let voted = pr(&forge, "bob", "vote 3 down");
    assert_eq!(
        voted["score"], -1,
        "an explicit vote replaces the comment's"
    );
    assert_eq!(pr(&forge, "bob", "vote 3 up")["score"], 1);
    let err = forge.fails_line(&format!("--as alice pr vote -p {P} 3 up"));
    assert!(err.contains("own pull request"), "{err}");

    // The source moves: line 2 changes again, line 4 does not.
    let second = commit_file(
        &work,
        "a.txt",
        "one\nTwo!\nthree\nfour\nfive\n",
        "Soften two",
    );
    git(&work, &["push", "-q", "origin", "topic"]);
    // The push hook refreshed it; refreshing again changes nothing.
    assert_eq!(show(&forge, 3)["head"], second.as_str());
    let refreshed = pr(&forge, "alice", "refresh 3");
    assert_eq!(refreshed["head"], second.as_str());
    assert_eq!(refreshed["commits"].as_array().map(Vec::len), Some(2));
    assert_eq!(rev(&repo, "refs/pull/3/head"), second);
    assert_eq!(outdated_by_line(&refreshed), vec![(2, true), (4, false)]);
    assert_eq!(
        refreshed["comments"].as_array().map(Vec::len),
        Some(3),
        "none lost"
    );
    assert_eq!(
        refreshed["flags"],
        serde_json::json!([]),
        "flags belong to the old head"
    );

    let diff = forge.ok_line(&format!("--as alice pr diff -p {P} 3"));
    assert!(diff.contains("-two\n+Two!"), "{diff}");

    let merged = pr(&forge, "alice", "merge 3");
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["closed_issues"], serde_json::json!([1]));
    let main = rev(&repo, "main");
    assert_eq!(merged["merge_commit"], main.as_str());
    let parents = git(&repo, &["rev-list", "--parents", "-n", "1", "main"]);
    assert_eq!(
        parents.split_whitespace().count(),
        3,
        "a merge commit: {parents}"
    );
    let after = show(&forge, 3);
    assert_eq!(after["status"], "merged");
    assert_eq!(after["merge_commit"], main.as_str());
    assert!(after["merge_status"].is_null());

    let issue = forge.json_line(&format!("--as alice issue show -p {P} 1"));
    assert_eq!(issue["status"], "closed");
    assert_eq!(issue["close_reason"], "Fixed");
    let note = issue["comments"][0]["body"].as_str().unwrap_or_default();
    assert!(note.contains("pull request #3"), "{note}");
    let related = forge.json_line(&format!("--as alice issue show -p {P} 2"));
    assert_eq!(related["status"], "open", "Relates does not close");

    let events = forge.json_line(&format!("events -p {P}"));
    let kinds: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|k| k.starts_with("pr."))
        .collect();
    for kind in [
        "pr.new",
        "pr.comment.added",
        "pr.flag",
        "pr.vote",
        "pr.updated",
        "pr.merged",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let err = forge.fails_line(&format!("--as alice pr merge -p {P} 3"));
    assert!(err.contains("merged"), "{err}");
}

#[test]
fn fork_requests_merge_with_each_strategy() {
    let forge = Forge::with_project();
    let work = project_with_main(&forge);
    let repo = source_repo(&forge);
    forge.ok_line(&format!("--as bob project fork {P}"));
    let fork = forge.home().join("repos/forks/bob/tools/hammer.git");
    let bob = forge.dir.path().join("bob-work");
    clone_as(&fork, &bob, "bob");
    let branch = |name: &str, file: &str, content: &str| {
        git(&bob, &["checkout", "-q", "-B", name, "origin/main"]);
        commit_file(&bob, file, content, &format!("Add {file}"));
        commit_file(
            &bob,
            file,
            &format!("{content}more\n"),
            &format!("Extend {file}"),
        );
        git(&bob, &["push", "-q", "origin", name]);
    };
    branch("ff", "b.txt", "b\n");
    branch("rebase", "c.txt", "c\n");
    branch("squash", "d.txt", "d\n");
    // A helper's commit in the squashed request: credited in the message.
    std::fs::write(bob.join("d2.txt"), "helped\n").expect("write");
    git(&bob, &["add", "d2.txt"]);
    git(
        &bob,
        &[
            "commit",
            "-q",
            "--author",
            "Carol Helper <carol@example.com>",
            "-m",
            "Help",
        ],
    );
    git(&bob, &["push", "-q", "origin", "squash"]);
    branch("merge", "e.txt", "e\n");
    let mut ids = Vec::new();
    for name in ["ff", "rebase", "squash", "merge"] {
        let opened = forge.json(&[
            "--as",
            "bob",
            "pr",
            "new",
            "-p",
            P,
            "--title",
            name,
            "--from",
            name,
            "--from-fork",
            "bob",
        ]);
        assert_eq!(opened["source"]["repo"], "forks/bob/tools/hammer");
        let commits = if name == "squash" { 3 } else { 2 };
        assert_eq!(opened["commits"].as_array().map(Vec::len), Some(commits));
        let id = opened["id"].as_u64().expect("id");
        assert_eq!(
            rev(&repo, &format!("refs/pull/{id}/head")),
            opened["head"].as_str().unwrap_or_default(),
            "the fork's head is mirrored (and its objects fetched) into the project"
        );
        ids.push(id);
    }
    // Fast-forward: main becomes the head itself.
    let head = show(&forge, ids[0])["head"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    pr(&forge, "alice", &format!("merge {} --strategy ff", ids[0]));
    assert_eq!(rev(&repo, "main"), head);

    // main moved: the others now need a real merge, and ff is refused.
    let second = show(&forge, ids[1]);
    assert_eq!(
        second["merge_status"], "merge",
        "recomputed once main moved"
    );
    let err = forge.fails_line(&format!(
        "--as alice pr merge -p {P} {} --strategy ff",
        ids[1]
    ));
    assert!(err.contains("fast-forward"), "{err}");

    // Rebase: bob's two commits replayed, author bob, committer alice.
    pr(
        &forge,
        "alice",
        &format!("merge {} --strategy rebase", ids[1]),
    );
    let log = git(&repo, &["log", "--format=%an|%cn|%s|%P", "-n", "3", "main"]);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("bob|alice|Extend c.txt|"), "{log}");
    assert!(lines[1].starts_with("bob|alice|Add c.txt|"), "{log}");
    assert!(
        lines[0].split('|').nth(3).is_some_and(|p| !p.contains(' ')),
        "linear: {log}"
    );
    assert_eq!(git(&repo, &["show", "main:c.txt"]), "c\nmore\n");

    // Squash: one commit with the title, one parent, both changes.
    pr(
        &forge,
        "alice",
        &format!("merge {} --strategy squash", ids[2]),
    );
    let top = git(&repo, &["log", "--format=%s|%P|%cn", "-n", "1", "main"]);
    assert!(top.starts_with(&format!("squash (#{})|", ids[2])), "{top}");
    assert_eq!(
        top.trim().split('|').nth(1).map(|p| p.split(' ').count()),
        Some(1)
    );
    assert_eq!(git(&repo, &["show", "main:d.txt"]), "d\nmore\n");
    // The request's author authors it, the merger commits it, and every
    // other author of its commits is credited.
    let who = git(&repo, &["log", "--format=%an|%cn|%B", "-n", "1", "main"]);
    assert!(who.starts_with("bob|alice|"), "{who}");
    assert!(
        who.contains("\nCo-authored-by: Carol Helper <carol@example.com>\n"),
        "{who}"
    );
    assert_eq!(
        who.matches("Co-authored-by").count(),
        1,
        "bob is not co-author of his own: {who}"
    );

    // Merge commit: two parents, the second the request's head.
    let head = show(&forge, ids[3])["head"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let merged = pr(
        &forge,
        "alice",
        &format!("merge {} --strategy merge", ids[3]),
    );
    let parents = git(&repo, &["rev-list", "--parents", "-n", "1", "main"]);
    assert_eq!(parents.split_whitespace().nth(2), Some(head.as_str()));
    assert_eq!(merged["merge_commit"], rev(&repo, "main").as_str());
    for f in ["b.txt", "c.txt", "d.txt", "e.txt", "a.txt"] {
        assert!(
            git(&repo, &["ls-tree", "--name-only", "main"]).contains(f),
            "{f}"
        );
    }
    let listed = forge.json_line(&format!("pr list -p {P} --status merged"));
    assert_eq!(listed.as_array().map(Vec::len), Some(4));
    assert_eq!(
        forge.json_line(&format!("pr list -p {P}")),
        serde_json::json!([])
    );
    drop(work);
}

#[test]
fn conflicts_and_gates_refuse_merges_and_change_nothing() {
    let forge = Forge::with_project();
    let work = project_with_main(&forge);
    let repo = source_repo(&forge);
    forge.ok_line("user add carol --email carol@example.org");
    git(&work, &["checkout", "-q", "-b", "clash"]);
    commit_file(&work, "a.txt", "one\n2\nthree\nfour\nfive\n", "Number two");
    git(&work, &["push", "-q", "origin", "clash"]);
    git(&work, &["checkout", "-q", "-b", "clean", "main"]);
    commit_file(&work, "z.txt", "z\n", "Add z");
    git(&work, &["push", "-q", "origin", "clean"]);
    git(&work, &["checkout", "-q", "main"]);
    commit_file(&work, "a.txt", "one\nzwei\nthree\nfour\nfive\n", "Zwei");
    git(&work, &["push", "-q", "origin", "main"]);

    let clash = forge.json_line(&format!(
        "--as alice pr new -p {P} --title Clash --from clash"
    ));
    assert_eq!(clash["merge_status"], "conflicts");
    assert_eq!(clash["conflicts"], serde_json::json!(["a.txt"]));
    let main = rev(&repo, "main");
    let err = forge.fails_line(&format!("--as alice pr merge -p {P} {}", clash["id"]));
    assert!(err.contains("conflicts") && err.contains("a.txt"), "{err}");
    assert_eq!(rev(&repo, "main"), main);

    let clean = forge.json_line(&format!(
        "--as bob pr new -p {P} --title Clean --from clean"
    ));
    let id = clean["id"].as_u64().expect("id");
    assert_eq!(clean["merge_status"], "merge");
    let err = forge.fails_line(&format!("--as bob pr merge -p {P} {id}"));
    assert!(err.contains("permission denied"), "{err}");

    forge.ok(&[
        "--as",
        "alice",
        "project",
        "settings",
        P,
        "--set",
        "pr_only_assignee_merge=true",
        "--set",
        "pr_min_score=1",
        "--set",
        "pr_required_flags=ci",
    ]);
    let settings = forge.ok_line(&format!("project settings {P}"));
    assert!(
        settings.contains("pr_min_score") && settings.contains("ci"),
        "{settings}"
    );
    let err = forge.fails_line(&format!(
        "--as bob project settings {P} --set pr_min_score=0"
    ));
    assert!(err.contains("permission denied"), "{err}");

    let refused = |gate: &str, says: &str| {
        let err = forge.fails_line(&format!("--as alice pr merge -p {P} {id}"));
        assert!(err.contains(gate) && err.contains(says), "{gate}: {err}");
        assert_eq!(rev(&repo, "main"), main, "nothing merged");
    };
    refused("pr_only_assignee_merge", "no assignee");
    forge.ok_line(&format!("--as alice pr edit -p {P} {id} --assignee alice"));
    refused("pr_min_score", "score is 0");
    forge.ok_line(&format!(
        "--as carol pr comment -p {P} {id} --body :thumbsup:"
    ));
    refused("pr_required_flags", "not been posted");
    forge.ok_line(&format!(
        "--as alice pr flag -p {P} {id} --name ci --status failure"
    ));
    refused("pr_required_flags", "is failure");
    forge.ok_line(&format!(
        "--as alice pr flag -p {P} {id} --name ci --status success"
    ));
    let merged = pr(&forge, "alice", &format!("merge {id}"));
    assert_eq!(merged["status"], "merged");
    assert_ne!(rev(&repo, "main"), main);

    // Closing and reopening.
    let closed = pr(&forge, "alice", &format!("close {}", clash["id"]));
    assert_eq!(closed["status"], "closed");
    assert!(closed["merge_status"].is_null());
    let reopened = pr(&forge, "alice", &format!("reopen {}", clash["id"]));
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["merge_status"], "conflicts");
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `base` read-only with `git daemon` on a free loopback port, once it answers.
fn git_daemon(base: &Path, probe: &str) -> (Daemon, u16) {
    let port = crate::free_port();
    // git-daemon itself, not `git daemon`: the `git` wrapper runs the
    // daemon as its child, which killing the wrapper would leave running.
    let exec_path = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("git --exec-path");
    let daemon = Path::new(String::from_utf8_lossy(&exec_path.stdout).trim()).join("git-daemon");
    let child = Command::new(daemon)
        .args(["--export-all", "--reuseaddr", "--listen=127.0.0.1"])
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", base.display()))
        .arg(base)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("git daemon starts");
    let daemon = Daemon(child);
    for _ in 0..100 {
        let ok = Command::new("git")
            .args(["ls-remote", &format!("git://127.0.0.1:{port}/{probe}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return (daemon, port);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("git daemon did not answer on port {port}");
}

#[test]
fn remote_url_requests_are_fetched_and_guarded() {
    let forge = Forge::with_project();
    let work = project_with_main(&forge);
    let repo = source_repo(&forge);
    // Somebody else's server: a bare copy with a feature branch.
    let served = forge.dir.path().join("served");
    std::fs::create_dir_all(&served).expect("mkdir");
    git(
        &served,
        &[
            "clone",
            "-q",
            "--bare",
            repo.to_str().expect("utf-8"),
            "remote.git",
        ],
    );
    git(&work, &["checkout", "-q", "-b", "feature"]);
    let head = commit_file(&work, "r.txt", "remote\n", "Remote work");
    let remote = served.join("remote.git");
    git(
        &work,
        &["push", "-q", remote.to_str().expect("utf-8"), "feature"],
    );
    git(&work, &["checkout", "-q", "main"]);
    git(&work, &["branch", "-q", "-D", "feature"]);
    let (_daemon, port) = git_daemon(&served, "remote.git");
    let url = format!("git://127.0.0.1:{port}/remote.git");

    let new = |url: &str| -> Vec<String> {
        [
            "--as",
            "bob",
            "pr",
            "new",
            "-p",
            P,
            "--title",
            "Remote",
            "--from",
            "feature",
            "--from-url",
            url,
        ]
        .map(String::from)
        .to_vec()
    };
    let args = new(&url);
    let err = forge.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains("private network") || err.contains("this machine"),
        "{err}"
    );
    let file_url = format!("file://{}", remote.display());
    for bad in [
        file_url.as_str(),
        remote.to_str().expect("utf-8"),
        "ext::sh -c id",
    ] {
        let args = new(bad);
        let err = forge.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(err.contains("remote"), "{bad}: {err}");
    }

    std::fs::write(
        forge.home().join("forge.toml"),
        "[pull_requests]\nallow_local_remotes = true\n",
    )
    .expect("forge.toml");
    let missing = format!("git://127.0.0.1:{port}/nothing.git");
    let args = new(&missing);
    let err = forge.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("nothing.git"), "{err}");
    assert_eq!(
        forge.json_line(&format!("pr list -p {P} --status all")),
        serde_json::json!([])
    );

    let mut args = new(&url);
    args.push("--json".into());
    let opened: Value =
        serde_json::from_str(&forge.ok(&args.iter().map(String::as_str).collect::<Vec<_>>()))
            .expect("json");
    assert_eq!(opened["source"]["repo"], url.as_str());
    assert_eq!(opened["head"], head.as_str());
    assert_eq!(opened["merge_status"], "fast-forward");
    let id = opened["id"].as_u64().expect("id");
    assert_eq!(rev(&repo, &format!("refs/pull/{id}/head")), head);
    let refs = git(&repo, &["for-each-ref", "--format=%(refname)"]);
    assert!(!refs.contains("refs/forge/incoming"), "{refs}");

    // The remote branch moves; refresh fetches it again.
    let pusher = forge.dir.path().join("remote-work");
    clone_as(&remote, &pusher, "bob");
    git(&pusher, &["checkout", "-q", "feature"]);
    let newer = commit_file(&pusher, "r.txt", "remote v2\n", "Remote work 2");
    git(&pusher, &["push", "-q", "origin", "feature"]);
    let refreshed = pr(&forge, "bob", &format!("refresh {id}"));
    assert_eq!(refreshed["head"], newer.as_str());
    pr(&forge, "alice", &format!("merge {id} --strategy ff"));
    assert_eq!(rev(&repo, "main"), newer);

    std::fs::write(
        forge.home().join("forge.toml"),
        "[pull_requests]\nremote = false\n",
    )
    .expect("forge.toml");
    let args = new(&url);
    let err = forge.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("disabled"), "{err}");
}

#[test]
fn bad_requests_are_refused_with_no_trace() {
    let forge = Forge::with_project();
    let work = project_with_main(&forge);
    let repo = source_repo(&forge);
    git(&work, &["checkout", "-q", "-b", "topic"]);
    commit_file(&work, "bin.dat", "\0\u{1}\u{2}binary", "Binary file");
    git(&work, &["push", "-q", "origin", "topic"]);
    let refs_before = git(&repo, &["for-each-ref"]);
    for (args, says) in [
        ("--from nope", "no such branch"),
        ("--from main", "into itself"),
        ("--from topic --to nope", "target branch `nope`"),
        ("--from topic --from-fork bob", "has no fork"),
        ("--from ../x", "not a valid branch name"),
    ] {
        let err = forge.fails_line(&format!("--as alice pr new -p {P} --title T {args}"));
        assert!(err.contains(says), "{args}: {err}");
    }
    let err = forge.fails_line(&format!(
        "--as alice pr new -p {P} --title T --from main --to main"
    ));
    assert!(err.contains("into itself"), "{err}");
    git(&work, &["push", "-q", "origin", "main:same"]);
    let err = forge.fails_line(&format!("--as alice pr new -p {P} --title T --from same"));
    assert!(err.contains("no commits"), "{err}");
    let refs_now: Vec<String> = git(&repo, &["for-each-ref"])
        .lines()
        .filter(|l| !l.ends_with("refs/heads/same"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(refs_now.concat(), refs_before, "no ref left behind");
    assert!(!has_ref(&repo, "refs/pull/1/head"));
    assert_eq!(
        forge.json_line(&format!("pr list -p {P} --status all")),
        serde_json::json!([])
    );

    let opened = forge.json_line(&format!(
        "--as alice pr new -p {P} --title Bin --from topic"
    ));
    let id = opened["id"].as_u64().expect("id");
    assert!(has_ref(&repo, &format!("refs/pull/{id}/head")));
    let diff = forge.ok_line(&format!("pr diff -p {P} {id}"));
    assert!(diff.contains("Binary file bin.dat differs"), "{diff}");
    for (args, says) in [
        (format!("pr comment -p {P} {id} --body x --path a.txt --line 99"), "line 99"),
        (format!("pr comment -p {P} {id} --body x --path bin.dat --line 1"), "not a text file"),
        (format!("pr comment -p {P} {id} --body x --path a.txt --line 1 --commit 0123456789abcdef0123456789abcdef01234567"), "not a commit"),
        (format!("pr flag -p {P} {id} --name ci --status great"), "expected success"),
        (format!("pr flag -p {P} {id} --name ci --status success --url javascript:x"), "http(s)"),
        (format!("pr flag -p {P} {id} --name ci --status success --percent 101"), "between 0 and 100"),
        (format!("pr show -p {P} 99"), "pull request #99 not found"),
        (format!("pr reopen -p {P} {id}"), "only closed requests"),
    ] {
        let err = forge.fails_line(&format!("--as alice {args}"));
        assert!(err.contains(says), "{args}: {err}");
    }
    let err = forge.fails_line(&format!("pr comment -p {P} {id} --body anonymous"));
    assert!(err.contains("no acting user"), "{err}");
    let after = show(&forge, id);
    assert_eq!(after["comments"], serde_json::json!([]));
    assert_eq!(after["flags"], serde_json::json!([]));
    forge.ok_line(&format!(
        "--as alice project settings {P} --set pull_requests=false"
    ));
    let err = forge.fails_line(&format!("--as alice pr new -p {P} --title T --from topic"));
    assert!(err.contains("disabled"), "{err}");
}

#[test]
fn request_documents_pushed_by_hand_are_indexed_with_events() {
    let forge = Forge::with_project();
    let work = project_with_main(&forge);
    git(&work, &["checkout", "-q", "-b", "topic"]);
    commit_file(&work, "n.txt", "n\n", "New file");
    git(&work, &["push", "-q", "origin", "topic"]);
    forge.ok_line(&format!(
        "--as alice pr new -p {P} --title Before --from topic"
    ));
    forge.ok_line(&format!("--as alice pr comment -p {P} 1 --body first"));
    // Retitling someone else's pull request takes the commit role, by push
    // as through the CLI.
    forge.member("bob", "commit");

    let requests = forge.home().join("requests/tools/hammer.git");
    let clone = forge.dir.path().join("requests-bob");
    clone_as(&requests, &clone, "bob");
    let path = clone.join("01/1/request.json");
    let text = std::fs::read_to_string(&path).expect("request.json");
    std::fs::write(&path, text.replace("\"Before\"", "\"After\"")).expect("write");
    git(&clone, &["commit", "-qam", "Retitle by hand"]);
    git(&clone, &["push", "-q", "origin", "HEAD"]);
    assert_eq!(show(&forge, 1)["title"], "After");
    let events = forge.json_line(&format!("events -p {P}"));
    let edit = events
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["type"] == "pr.edit")
        .expect("a pr.edit event");
    assert_eq!(edit["actor"], "bob");
    assert_eq!(edit["fields"]["fields"]["title"], "After");

    std::fs::write(&path, "{ not json").expect("write");
    git(&clone, &["commit", "-qam", "Break it"]);
    let refused = crate::git_fails(&clone, &["push", "-q", "origin", "HEAD"]);
    assert!(refused.contains("01/1/request.json"), "{refused}");
    forge.without_pre_receive(&requests);
    // The post-receive hook syncs the index and tells the pusher what it skipped.
    let said = crate::git_stderr(&clone, &["push", "-q", "origin", "HEAD"]);
    assert!(said.contains("01/1/request.json"), "{said}");
    let out = forge.run(&["pr", "show", "-p", P, "1", "--json"]);
    assert!(out.status.success());
    let kept: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(kept["title"], "After", "the last good state is kept");
    assert_eq!(kept["comments"].as_array().map(Vec::len), Some(1));

    let reindexed = forge.json_line("reindex");
    assert_eq!(reindexed[0]["pull_request_comments"], 1);
    assert!(reindexed[0]["problems"][0]
        .as_str()
        .is_some_and(|p| p.contains("01/1/request.json")));
}

#[test]
fn a_push_of_thousands_of_refs_and_references_reports_in_a_few_lines() {
    let forge = Forge::with_project();
    let work = project_with_main(&forge);
    forge.ok_line(&format!("--as alice issue new -p {P} --title Crash"));
    // One commit naming issue 1 and 3,000 numbers that are no issue, on
    // 2,000 new branches pushed at once.
    let mut message = String::from("Sweep\n\nFixes #1\n");
    for n in 2..3002 {
        message.push_str(&format!("Fixes #{n}\n"));
    }
    commit_file(&work, "a.txt", "swept\n", &message);
    let refs: Vec<String> = (0..2000)
        .map(|i| format!("HEAD:refs/heads/sweep-{i}"))
        .collect();
    let mut args = vec!["push", "origin", "HEAD:main"];
    args.extend(refs.iter().map(String::as_str));
    let said = crate::git_stderr(&work, &args);
    let remote: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("remote:") && !l.trim_end().ends_with("remote:"))
        .collect();
    assert!(remote.len() < 20, "{} remote lines:\n{said}", remote.len());
    let missing: Vec<&&str> = remote
        .iter()
        .filter(|l| l.contains("name no issue"))
        .collect();
    assert_eq!(missing.len(), 1, "{said}");
    assert!(
        missing[0].contains("3000 issue references")
            && missing[0].contains("#2, #3,")
            && missing[0].contains("and 2990 more"),
        "{said}"
    );
    // Issue 1 is closed once, with one comment (and the notification of
    // its closing), though 2,001 refs carry it.
    let issue = forge.json_line(&format!("--as alice issue show -p {P} 1"));
    assert_eq!(issue["status"], "closed", "{issue}");
    let notes: Vec<bool> = issue["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["notification"] == true)
        .collect();
    assert_eq!(notes, [false, true], "{issue}");
}
