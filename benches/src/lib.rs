//! Helpers shared by forge's benchmarks.
//!
//! The baseline the issue figures are compared with is a bare libgit2 loop:
//! write one small blob, rebuild the three tree levels above it, commit, and
//! move the branch by compare-and-swap. It links git2 directly (the only
//! place outside forge-git that does) because it measures git itself.

use std::path::Path;
use std::time::{Duration, Instant};

use forge_core::{ForgeHome, Store};
use forge_git::{Change, CommitId, Identity, Repo};
use forge_tickets::doc::{CommentDoc, IssueDoc, Status, SCHEMA};
use git2::{Oid, Repository, Signature};

/// Runs the bare loop `count` times on the repository at `path`, writing
/// `<n mod 100>/<n>/<file>` like forge's layout; returns the elapsed time.
pub fn bare_libgit2_loop(path: &Path, first: u64, count: u64, file: &str) -> Duration {
    let repo = match Repository::open_bare(path) {
        Ok(r) => r,
        Err(_) => Repository::init_bare(path).expect("init bare repo"),
    };
    let sig = Signature::now("bench", "bench@example.org").expect("signature");
    let content = format!("{{\n  \"author\": \"bench\",\n  \"body\": \"{}\",\n  \"created_at\": \"2026-11-23T19:00:00Z\"\n}}\n", "x".repeat(120));
    let start = Instant::now();
    for n in first..first + count {
        let number = n % 10_000 + 1;
        let tip = repo.refname_to_id("refs/heads/main").ok();
        let parent = tip.map(|t| repo.find_commit(t).expect("tip commit"));
        let root = parent.as_ref().map(|p| p.tree().expect("tree"));
        let bucket_name = format!("{:02}", number % 100);
        let dir_name = number.to_string();
        let bucket = subtree(&repo, root.as_ref(), &bucket_name);
        let dir = subtree(&repo, bucket.as_ref(), &dir_name);
        let blob = repo.blob(format!("{content}{n}").as_bytes()).expect("blob");
        let mut b = repo.treebuilder(dir.as_ref()).expect("builder");
        b.insert(file.replace("{n}", &n.to_string()), blob, 0o100644)
            .expect("insert");
        let dir_id = b.write().expect("write");
        let mut b = repo.treebuilder(bucket.as_ref()).expect("builder");
        b.insert(&dir_name, dir_id, 0o040000).expect("insert");
        let bucket_id = b.write().expect("write");
        let mut b = repo.treebuilder(root.as_ref()).expect("builder");
        b.insert(&bucket_name, bucket_id, 0o040000).expect("insert");
        let root_id = b.write().expect("write");
        let tree = repo.find_tree(root_id).expect("tree");
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let commit = repo
            .commit(None, &sig, &sig, "bench", &tree, &parents)
            .expect("commit");
        match tip {
            Some(t) => repo.reference_matching("refs/heads/main", commit, true, t, "bench"),
            None => repo.reference("refs/heads/main", commit, false, "bench"),
        }
        .expect("move ref");
    }
    start.elapsed()
}

fn subtree<'r>(
    repo: &'r Repository,
    parent: Option<&git2::Tree<'r>>,
    name: &str,
) -> Option<git2::Tree<'r>> {
    let id: Oid = parent?.get_name(name)?.id();
    repo.find_tree(id).ok()
}

/// A forge home with users `alice` and `bob` and project `bench`.
pub fn home_with_project(root: &Path, project: &str) -> (ForgeHome, Store) {
    std::fs::create_dir_all(root).expect("create the forge home");
    let home = ForgeHome::new(root);
    let store = Store::open(&home.db_path()).expect("store");
    if store.find_user("alice").expect("user").is_none() {
        store
            .add_user("alice", "Alice", &["alice@example.org"])
            .expect("alice");
        store
            .add_user("bob", "Bob", &["bob@example.org"])
            .expect("bob");
    }
    let new = forge_tickets::NewProject {
        full_name: project.into(),
        owner: "alice".into(),
        ..Default::default()
    };
    forge_tickets::create_project(&store, &home, &new, None).expect("project");
    (home, store)
}

/// `count` complete issues (numbers from `first`) with `comments` comments each,
/// for the bulk path.
pub fn generated_issues(first: u64, count: u64, comments: u64) -> Vec<(IssueDoc, Vec<CommentDoc>)> {
    (first..first + count)
        .map(|n| {
            let issue = IssueDoc {
                schema: SCHEMA,
                uid: format!("{n:032x}"),
                number: n,
                title: format!("Generated issue {n}"),
                body: "Steps to reproduce: hit the nail. Expected: it goes in. Actual: the head flies off.".into(),
                author: "alice".into(),
                status: if n % 3 == 0 { Status::Closed } else { Status::Open },
                close_reason: None,
                closed_at: None,
                closed_by: None,
                tags: [format!("tag{}", n % 20), "bench".to_string()].into(),
                assignee: (n % 2 == 0).then(|| "bob".to_string()),
                priority: None,
                milestone: None,
                private: false,
                custom_fields: Default::default(),
                depends: Default::default(),
                blocks: Default::default(),
                watchers: ["alice".to_string()].into(),
                created_at: "2026-11-01T10:00:00Z".into(),
                updated_at: "2026-11-01T10:00:00Z".into(),
            };
            let comments = (0..comments)
                .map(|c| CommentDoc {
                    anchor: None,
                    schema: SCHEMA,
                    id: format!("20261101T1000{c:02}Z-{n:08x}"),
                    author: "bob".into(),
                    body: format!("Comment {c} on issue {n}: I can reproduce this."),
                    created_at: format!("2026-11-01T10:00:{:02}Z", c % 60),
                    edited_at: None,
                    editor: None,
                    notification: false,
                    reactions: Default::default(),
                })
                .collect();
            (issue, comments)
        })
        .collect()
}

/// Stands in for a `git push` that edited 100 issues by hand: one commit by
/// `bob` that changes the title of issues picked by `round` among `issues`.
pub fn push_hundred_edits(repo: &Repo, round: u64, issues: u64) -> CommitId {
    repo.commit_with(
        "main",
        &Identity::new("bob", "bob@example.org"),
        "push",
        |tip| {
            let tip = tip.expect("the tickets branch has commits");
            Ok((0..100u64)
                .map(|k| {
                    let n = (round * 100 + k) * 7 % issues + 1;
                    let path = forge_tickets::doc::issue_path(n);
                    let text = String::from_utf8(
                        repo.read_file(tip, &path).expect("read").expect("exists"),
                    )
                    .expect("utf-8");
                    Change::put(
                        path,
                        text.replacen("\"title\": \"", &format!("\"title\": \"r{round} "), 1)
                            .into_bytes(),
                    )
                })
                .collect())
        },
    )
    .expect("push")
}

/// Median of a list of durations.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
