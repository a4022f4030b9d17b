//! The document engine's life cycle, one data-driven suite run for each kind
//! of document: issues and pull requests.

use std::path::PathBuf;

use forge_core::{event, ForgeHome, Store};
use forge_git::{Change, Identity, Repo};
use forge_tickets::{
    Actor, GroupCommit, IssueEdit, NewIssue, NewPull, PullEdit, PullRequests, Tracker,
};

use crate::{setup, Home};

/// What the suite needs of a kind of document.
trait Subject {
    /// Event prefix.
    const PREFIX: &'static str;
    /// The document's main file.
    const MAIN: &'static str;
    /// Its index table.
    const TABLE: &'static str;
    fn repo(home: &ForgeHome) -> PathBuf;
    fn open(home: &ForgeHome, store: &Store, user: &str, title: &str) -> u64;
    fn comment(home: &ForgeHome, store: &Store, user: &str, n: u64, body: &str);
    fn retitle(home: &ForgeHome, store: &Store, user: &str, n: u64, title: &str);
    /// Title and comment count, read as alice (synced first).
    fn read(home: &ForgeHome, store: &Store, n: u64) -> (String, usize);
    /// The comments' bodies in the order shown.
    fn bodies(home: &ForgeHome, store: &Store, n: u64) -> Vec<String>;
    fn reindex(home: &ForgeHome, store: &Store) -> forge_tickets::SyncReport;
    fn batched_comment(
        group: &GroupCommit,
        home: &ForgeHome,
        store: &Store,
        user: &str,
        n: u64,
        body: String,
    );
}

fn actor(store: &Store, user: &str) -> Actor {
    let project = store.project("hammer").expect("project");
    Actor::for_user(store, &project, user).expect("actor")
}

fn tracker<'s>(home: &ForgeHome, store: &'s Store) -> Tracker<'s> {
    let project = store.project("hammer").expect("project");
    Tracker::open_for_project(store, home, &project).expect("tracker")
}

fn prs<'s>(home: &ForgeHome, store: &'s Store) -> PullRequests<'s> {
    let project = store.project("hammer").expect("project");
    PullRequests::open(store, home, &project).expect("prs")
}

struct IssueSubject;

impl Subject for IssueSubject {
    const PREFIX: &'static str = "issue";
    const MAIN: &'static str = "issue.json";
    const TABLE: &'static str = "issues";

    fn repo(home: &ForgeHome) -> PathBuf {
        home.project_paths("hammer").tickets
    }

    fn open(home: &ForgeHome, store: &Store, user: &str, title: &str) -> u64 {
        tracker(home, store)
            .create_issue(&actor(store, user), NewIssue::titled(title))
            .expect("open")
            .number
    }

    fn comment(home: &ForgeHome, store: &Store, user: &str, n: u64, body: &str) {
        tracker(home, store)
            .comment(&actor(store, user), n, body)
            .expect("comment");
    }

    fn retitle(home: &ForgeHome, store: &Store, user: &str, n: u64, title: &str) {
        let edit = IssueEdit {
            title: Some(title.into()),
            ..Default::default()
        };
        tracker(home, store)
            .edit(&actor(store, user), n, edit)
            .expect("edit");
    }

    fn read(home: &ForgeHome, store: &Store, n: u64) -> (String, usize) {
        let i = tracker(home, store)
            .issue(&actor(store, "alice"), n)
            .expect("issue");
        (i.title, i.comments.len())
    }

    fn bodies(home: &ForgeHome, store: &Store, n: u64) -> Vec<String> {
        let i = tracker(home, store)
            .issue(&actor(store, "alice"), n)
            .expect("issue");
        i.comments.into_iter().map(|c| c.body).collect()
    }

    fn reindex(home: &ForgeHome, store: &Store) -> forge_tickets::SyncReport {
        tracker(home, store)
            .reindex(&mut |_, _| {})
            .expect("reindex")
    }

    fn batched_comment(
        group: &GroupCommit,
        home: &ForgeHome,
        store: &Store,
        user: &str,
        n: u64,
        body: String,
    ) {
        let project = store.project("hammer").expect("project");
        let a = actor(store, user);
        group
            .issues(store, home, &project, move |t| {
                t.comment(&a, n, &body).map(drop)
            })
            .expect("batched comment");
    }
}

struct PullSubject;

impl Subject for PullSubject {
    const PREFIX: &'static str = "pr";
    const MAIN: &'static str = "request.json";
    const TABLE: &'static str = "pull_requests";

    fn repo(home: &ForgeHome) -> PathBuf {
        home.project_paths("hammer").requests
    }

    /// A branch `topic-<title>` with one commit on the source's main, and a
    /// pull request from it.
    fn open(home: &ForgeHome, store: &Store, user: &str, title: &str) -> u64 {
        let source = Repo::open(&home.project_paths("hammer").source).expect("source");
        let who = Identity::new("alice", "alice@example.org");
        let base = match source.branch_tip("main").expect("tip") {
            Some(tip) => tip,
            None => source
                .commit_with("main", &who, "base", |_| {
                    Ok(vec![Change::put("a.txt", b"a\n".to_vec())])
                })
                .expect("base"),
        };
        let branch: String = format!("topic-{}", title.replace(' ', "-"));
        source
            .set_ref(&format!("refs/heads/{branch}"), base, "topic")
            .expect("branch");
        source
            .commit_with(&branch, &who, title, |_| {
                Ok(vec![Change::put(format!("{branch}.txt"), b"x\n".to_vec())])
            })
            .expect("work");
        let new = NewPull {
            title: title.into(),
            from_branch: branch,
            ..Default::default()
        };
        prs(home, store)
            .create(&actor(store, user), new)
            .expect("open")
            .number
    }

    fn comment(home: &ForgeHome, store: &Store, user: &str, n: u64, body: &str) {
        prs(home, store)
            .comment(&actor(store, user), n, body, None)
            .expect("comment");
    }

    fn retitle(home: &ForgeHome, store: &Store, user: &str, n: u64, title: &str) {
        let edit = PullEdit {
            title: Some(title.into()),
            ..Default::default()
        };
        prs(home, store)
            .edit(&actor(store, user), n, edit)
            .expect("edit");
    }

    fn read(home: &ForgeHome, store: &Store, n: u64) -> (String, usize) {
        let d = prs(home, store)
            .show(&actor(store, "alice"), n)
            .expect("show");
        (d.title, d.comments.len())
    }

    fn bodies(home: &ForgeHome, store: &Store, n: u64) -> Vec<String> {
        let d = prs(home, store)
            .show(&actor(store, "alice"), n)
            .expect("show");
        d.comments.into_iter().map(|c| c.body).collect()
    }

    fn reindex(home: &ForgeHome, store: &Store) -> forge_tickets::SyncReport {
        prs(home, store).reindex().expect("reindex")
    }

    fn batched_comment(
        group: &GroupCommit,
        home: &ForgeHome,
        store: &Store,
        user: &str,
        n: u64,
        body: String,
    ) {
        let project = store.project("hammer").expect("project");
        let a = actor(store, user);
        group
            .pulls(store, home, &project, move |p| {
                p.comment(&a, n, &body, None).map(drop)
            })
            .expect("batched comment");
    }
}

fn store(h: &Home) -> Store {
    Store::open(&h.home.db_path()).expect("store")
}

/// The kinds and actors of the project's events of kind `S`.
fn events<S: Subject>(store: &Store) -> Vec<(String, String)> {
    event::list(store.conn(), Some("hammer"), 0, 10_000)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind.starts_with(&format!("{}.", S::PREFIX)))
        .map(|e| (e.kind, e.actor))
        .collect()
}

fn commits<S: Subject>(h: &Home) -> usize {
    let repo = Repo::open(&S::repo(&h.home)).expect("repo");
    let tip = repo.branch_tip("main").expect("tip").expect("born");
    repo.commits_between(None, tip, 100_000).expect("log").len()
}

/// Each change is one commit, applied once with its events.
fn writes_are_one_commit_each_applied_once<S: Subject>() {
    let h = setup();
    let s = store(&h);
    let n = S::open(&h.home, &s, "alice", "first");
    S::comment(&h.home, &s, "bob", n, "hello");
    S::retitle(&h.home, &s, "alice", n, "second");
    assert_eq!(commits::<S>(&h), 3);
    let p = S::PREFIX;
    let expected: Vec<(String, String)> = [
        (format!("{p}.new"), "alice"),
        (format!("{p}.comment.added"), "bob"),
        (format!("{p}.edit"), "alice"),
    ]
    .into_iter()
    .map(|(k, a)| (k, a.to_string()))
    .collect();
    assert_eq!(events::<S>(&s), expected);
    // Reading again, in another connection, adds nothing.
    assert_eq!(S::read(&h.home, &store(&h), n), ("second".into(), 1));
    assert_eq!(events::<S>(&s), expected);
}

/// A commit the index has not seen (a push; a crash between commit and
/// index) is applied by the next read, once, with its events; those of a
/// recorded push name the pusher and keep the commit's author.
fn commits_the_index_missed_are_applied_once<S: Subject>() {
    let h = setup();
    let s = store(&h);
    let n = S::open(&h.home, &s, "alice", "before");
    let repo = Repo::open(&S::repo(&h.home)).expect("repo");
    let path = format!("{:02}/{n}/{}", n % 100, S::MAIN);
    let rewrite = |from: &str, to: &str, author: &str| {
        let tip = repo.branch_tip("main").expect("tip").expect("born");
        let text = String::from_utf8(repo.read_file(tip, &path).expect("read").expect("there"))
            .expect("utf-8");
        let who = Identity::new(author, format!("{author}@example.org"));
        repo.commit_with("main", &who, "by hand", |_| {
            Ok(vec![Change::put(
                path.clone(),
                text.replace(from, to).into_bytes(),
            )])
        })
        .expect("commit")
    };
    // As if forge crashed after its commit, before the index.
    rewrite("\"before\"", "\"after\"", "bob");
    assert_eq!(S::read(&h.home, &s, n).0, "after");
    assert_eq!(S::read(&h.home, &store(&h), n).0, "after");
    let p = S::PREFIX;
    assert_eq!(
        events::<S>(&s).last(),
        Some(&(format!("{p}.edit"), "bob".to_string()))
    );
    // A push pre-receive recorded: bob's commit, pushed by carol.
    let commit = rewrite("\"after\"", "\"pushed\"", "bob");
    forge_tickets::engine::record_pushers(s.conn(), "hammer", &[commit.to_string()], "carol")
        .expect("record");
    assert_eq!(S::read(&h.home, &s, n).0, "pushed");
    let all = event::list(s.conn(), Some("hammer"), 0, 1000).expect("events");
    let last = all.last().expect("an event");
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str()),
        (format!("{p}.edit").as_str(), "carol")
    );
    assert_eq!(last.fields["commit_author"], "bob");
    assert_eq!(events::<S>(&s).len(), 3, "new, edit, edit: each once");
}

/// Writers in several threads (each its own connection) lose nothing and
/// log each change once.
fn concurrent_writers_lose_nothing<S: Subject>() {
    let h = setup();
    let n = S::open(&h.home, &store(&h), "alice", "shared");
    std::thread::scope(|scope| {
        for user in ["alice", "bob"] {
            let h = &h;
            scope.spawn(move || {
                let s = store(h);
                for i in 0..10 {
                    S::comment(&h.home, &s, user, n, &format!("{user} {i}"));
                }
            });
        }
    });
    let s = store(&h);
    assert_eq!(S::read(&h.home, &s, n).1, 20);
    assert_eq!(commits::<S>(&h), 21);
    let added = events::<S>(&s)
        .iter()
        .filter(|(k, _)| k.ends_with(".comment.added"))
        .count();
    assert_eq!(added, 20);
}

/// Writes queued by several threads run in batches; each is still its own
/// commit and event, and the index equals a rebuild.
fn group_commit_batches_writes<S: Subject>() {
    let h = setup();
    let n = S::open(&h.home, &store(&h), "alice", "batched");
    let group = GroupCommit::default();
    std::thread::scope(|scope| {
        for t in 0..6 {
            let (h, group) = (&h, &group);
            scope.spawn(move || {
                let s = store(h);
                for i in 0..5 {
                    S::batched_comment(group, &h.home, &s, "bob", n, format!("{t}.{i}"));
                }
            });
        }
    });
    let s = store(&h);
    assert_eq!(commits::<S>(&h), 31);
    assert_eq!(S::read(&h.home, &s, n).1, 30);
    let added = events::<S>(&s)
        .iter()
        .filter(|(k, _)| k.ends_with(".comment.added"))
        .count();
    assert_eq!(added, 30);
    let report = S::reindex(&h.home, &s);
    assert_eq!((report.issues, report.comments), (1, 30));
    assert_eq!(S::read(&h.home, &s, n).1, 30);
}

/// A document's comment count and last activity as its row says.
fn activity<S: Subject>(store: &Store, n: u64) -> (i64, i64) {
    store
        .conn()
        .query_row(
            &format!(
                "SELECT comment_count, updated_at FROM {} WHERE project = 'hammer' AND number = ?1",
                S::TABLE
            ),
            [n as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row")
}

/// Comment counts and last activity kept as comments come and go (added
/// through the service, pushed, deleted, re-dated, the document's own time
/// moved back) are what a rebuild computes.
fn comment_counts_and_activity_follow_every_change<S: Subject>() {
    let h = setup();
    let s = store(&h);
    let n = S::open(&h.home, &s, "alice", "talked about");
    for body in ["one", "two", "three"] {
        S::comment(&h.home, &s, "bob", n, body);
    }
    let repo = Repo::open(&S::repo(&h.home)).expect("repo");
    let dir = format!("{:02}/{n}", n % 100);
    let tip = || repo.branch_tip("main").expect("tip").expect("born");
    let comment_files = || -> Vec<String> {
        repo.files_under(tip(), &dir)
            .expect("files")
            .into_iter()
            .map(|(path, _)| path)
            .filter(|path| path.contains("comment-"))
            .collect()
    };
    let read = |path: &str| -> serde_json::Value {
        serde_json::from_slice(&repo.read_file(tip(), path).expect("read").expect("there"))
            .expect("json")
    };
    let push = |changes: Vec<Change>| {
        let who = Identity::new("bob", "bob@example.org");
        repo.commit_with("main", &who, "by hand", |_| Ok(changes.clone()))
            .expect("commit");
    };
    // After each change: what the incremental index says, then a rebuild.
    let check = |expected_count: i64, expected_time: Option<i64>| {
        S::read(&h.home, &s, n);
        let kept = activity::<S>(&s, n);
        S::reindex(&h.home, &s);
        assert_eq!(kept, activity::<S>(&s, n), "kept vs rebuilt");
        assert_eq!(kept.0, expected_count);
        if let Some(time) = expected_time {
            assert_eq!(kept.1, time);
        }
    };
    check(3, None);
    let files = comment_files();
    assert_eq!(files.len(), 3);
    let mut model = read(&files[0]);
    // A pushed comment from the future is the last activity.
    model["id"] = "pushed-1".into();
    model["created_at"] = "2100-01-01T00:00:00Z".into();
    let late = 4_102_444_800;
    push(vec![Change::put(
        format!("{dir}/comment-pushed-1.json"),
        serde_json::to_vec(&model).expect("json"),
    )]);
    check(4, Some(late));
    // Deleting it gives the activity back to what came before.
    push(vec![Change::delete(format!("{dir}/comment-pushed-1.json"))]);
    check(3, None);
    assert!(activity::<S>(&s, n).1 < late);
    // Re-dating a comment moves the activity with it.
    let mut redated = read(&files[1]);
    redated["created_at"] = "2099-01-01T00:00:00Z".into();
    push(vec![Change::put(
        files[1].clone(),
        serde_json::to_vec(&redated).expect("json"),
    )]);
    check(3, Some(4_070_908_800));
    assert_eq!(
        S::bodies(&h.home, &s, n).last().map(String::as_str),
        redated["body"].as_str(),
        "shown oldest first"
    );
    // The document's own time ahead of every comment is the activity;
    // going back, it leaves the newest comment's.
    let main = format!("{dir}/{}", S::MAIN);
    let set_time = |time: &str| {
        let mut doc = read(&main);
        doc["updated_at"] = time.into();
        push(vec![Change::put(
            main.clone(),
            serde_json::to_vec(&doc).expect("json"),
        )]);
    };
    set_time("2200-01-01T00:00:00Z");
    check(3, Some(7_258_118_400));
    set_time("2001-01-01T00:00:00Z");
    check(3, Some(4_070_908_800));
    // Service comments after all that still count in.
    S::comment(&h.home, &s, "alice", n, "four");
    check(4, Some(4_070_908_800));
}

macro_rules! for_both_kinds {
    ($($name:ident),*) => {
        mod issues {
            $(#[test] fn $name() { super::$name::<super::IssueSubject>() })*
        }
        mod pull_requests {
            $(#[test] fn $name() { super::$name::<super::PullSubject>() })*
        }
    };
}

for_both_kinds!(
    writes_are_one_commit_each_applied_once,
    commits_the_index_missed_are_applied_once,
    concurrent_writers_lose_nothing,
    group_commit_batches_writes,
    comment_counts_and_activity_follow_every_change
);

/// A commit changing two documents is never seen half applied: readers in
/// other threads, each its own connection and each syncing as it reads,
/// see both changes or neither.
#[test]
fn a_pushed_commit_is_never_visible_half_applied() {
    let h = setup();
    let s = store(&h);
    for title in ["one", "two"] {
        IssueSubject::open(&h.home, &s, "alice", title);
    }
    let repo = Repo::open(&IssueSubject::repo(&h.home)).expect("repo");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            let (h, stop, seen) = (&h, &stop, &seen);
            scope.spawn(move || {
                let s = store(h);
                let t = tracker(&h.home, &s);
                let a = actor(&s, "alice");
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let filter = forge_tickets::IssueFilter {
                        limit: 10,
                        ..Default::default()
                    };
                    let titles: Vec<String> = t
                        .list(&a, &filter)
                        .expect("list")
                        .into_iter()
                        .map(|i| i.title)
                        .collect();
                    seen.lock().expect("lock").insert(titles);
                }
            });
        }
        // Twenty commits, each renaming both issues at once.
        for round in 0..20 {
            let tip = repo.branch_tip("main").expect("tip").expect("born");
            let changes: Vec<Change> = [1u64, 2]
                .into_iter()
                .map(|n| {
                    let path = format!("{n:02}/{n}/issue.json");
                    let text = String::from_utf8(
                        repo.read_file(tip, &path).expect("read").expect("there"),
                    )
                    .expect("utf-8");
                    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
                    let old = doc["title"].as_str().expect("title").to_string();
                    let new = format!("round {round} #{n}");
                    Change::put(
                        path,
                        text.replace(&format!("\"{old}\""), &format!("\"{new}\""))
                            .into_bytes(),
                    )
                })
                .collect();
            let who = Identity::new("bob", "bob@example.org");
            repo.commit_with("main", &who, "both", |_| Ok(changes.clone()))
                .expect("commit");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let seen = seen.into_inner().expect("lock");
    assert!(seen.len() > 1, "the readers saw the renames happen");
    for titles in &seen {
        let rounds: std::collections::BTreeSet<&str> = titles
            .iter()
            .map(|t| t.split(" #").next().unwrap_or(t))
            .collect();
        let before = titles == &["two".to_string(), "one".to_string()];
        assert!(before || rounds.len() == 1, "half applied: {titles:?}");
    }
}
