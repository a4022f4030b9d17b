#![allow(missing_docs)]
//! Integration tests of the tracker library on real files: concurrency,
//! crash recovery, and the index against a rebuild.

use forge_core::{event, ForgeHome, Store};
use forge_git::{Change, Identity, Repo};
use forge_tickets::{Actor, IssueEdit, IssueFilter, NewIssue, Tracker};

mod admin;
mod engine;
mod mirror;
mod props;
mod search;

pub(crate) struct Home {
    _dir: tempfile::TempDir,
    pub(crate) home: ForgeHome,
}

pub(crate) fn setup() -> Home {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = ForgeHome::new(dir.path());
    let store = Store::open(&home.db_path()).expect("store");
    store
        .add_user("alice", "", &["alice@example.org"])
        .expect("alice");
    store
        .add_user("bob", "", &["bob@example.org"])
        .expect("bob");
    let new = forge_tickets::NewProject {
        full_name: "hammer".into(),
        owner: "alice".into(),
        ..Default::default()
    };
    forge_tickets::create_project(&store, &home, &new, None).expect("project");
    Home { _dir: dir, home }
}

fn with_tracker<T>(h: &Home, user: &str, f: impl FnOnce(&Tracker<'_>, &Actor, &Store) -> T) -> T {
    let store = Store::open(&h.home.db_path()).expect("store");
    let project = store.project("hammer").expect("project");
    let tracker = Tracker::open_for_project(&store, &h.home, &project).expect("tracker");
    let actor = Actor::for_user(&store, &project, user).expect("actor");
    f(&tracker, &actor, &store)
}

fn all() -> IssueFilter {
    IssueFilter {
        limit: 10_000,
        ..Default::default()
    }
}

#[test]
fn concurrent_writers_lose_nothing_and_log_each_change_once() {
    let h = setup();
    with_tracker(&h, "alice", |t, a, _| {
        t.create_issue(a, NewIssue::titled("shared"))
            .expect("create")
    });
    std::thread::scope(|s| {
        for user in ["alice", "bob"] {
            let h = &h;
            s.spawn(move || {
                with_tracker(h, user, |t, a, _| {
                    for i in 0..25 {
                        t.comment(a, 1, &format!("{user} {i}")).expect("comment");
                        if i % 5 == 0 {
                            t.create_issue(a, NewIssue::titled(format!("{user} {i}")))
                                .expect("create");
                        }
                    }
                })
            });
        }
    });
    with_tracker(&h, "alice", |t, a, store| {
        let issue = t.issue(a, 1).expect("issue");
        assert_eq!(issue.comments.len(), 50);
        let numbers: Vec<u64> = t
            .list(a, &all())
            .expect("list")
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(
            numbers,
            (1..=11).rev().collect::<Vec<_>>(),
            "no number used twice"
        );
        let events = event::list(store.conn(), Some("hammer"), 0, 1000).expect("events");
        let comments = events
            .iter()
            .filter(|e| e.kind == "issue.comment.added")
            .count();
        let new = events.iter().filter(|e| e.kind == "issue.new").count();
        assert_eq!((comments, new), (50, 11));
        // The git history has one commit per change.
        let repo = Repo::open(&h.home.project_paths("hammer").tickets).expect("repo");
        let tip = repo.branch_tip("main").expect("tip").expect("born");
        assert_eq!(
            repo.commits_between(None, tip, 1000).expect("log").len(),
            61
        );
    });
}

#[test]
fn a_commit_the_index_missed_is_applied_once_by_the_next_read() {
    let h = setup();
    let number = with_tracker(&h, "alice", |t, a, _| {
        t.create_issue(a, NewIssue::titled("before"))
            .expect("create")
            .number
    });
    // As if forge crashed after committing and before updating the index:
    // write the next change with forge-git alone.
    let repo = Repo::open(&h.home.project_paths("hammer").tickets).expect("repo");
    let tip = repo.branch_tip("main").expect("tip").expect("born");
    let raw = repo
        .read_file(tip, "01/1/issue.json")
        .expect("read")
        .expect("exists");
    let edited = String::from_utf8(raw)
        .expect("utf-8")
        .replace("\"before\"", "\"after\"")
        .replace("\"tags\": []", "\"tags\": [\"late\"]");
    repo.commit_with(
        "main",
        &Identity::new("bob", "bob@example.org"),
        "edit",
        |_| {
            Ok(vec![Change::put(
                "01/1/issue.json",
                edited.clone().into_bytes(),
            )])
        },
    )
    .expect("commit");
    with_tracker(&h, "alice", |t, a, store| {
        assert_eq!(t.issue(a, number).expect("issue").title, "after");
        t.list(a, &all()).expect("list");
        let events = event::list(store.conn(), Some("hammer"), 0, 100).expect("events");
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.actor.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("issue.new", "alice"),
                ("issue.tag.added", "bob"),
                ("issue.edit", "bob")
            ]
        );
    });
}

#[test]
fn the_incremental_index_equals_a_rebuild() {
    let h = setup();
    let before = with_tracker(&h, "alice", |t, a, _| {
        for i in 0..30 {
            t.create_issue(
                a,
                NewIssue {
                    tags: vec![format!("t{}", i % 3)],
                    ..NewIssue::titled(format!("issue {i}"))
                },
            )
            .expect("create");
        }
        for n in (1..=30).step_by(4) {
            t.comment(a, n, "a comment").expect("comment");
            t.edit(
                a,
                n,
                IssueEdit {
                    add_tags: vec!["x".into()],
                    remove_tags: vec!["t0".into()],
                    ..Default::default()
                },
            )
            .expect("edit");
        }
        t.close(a, 3, Some("Fixed")).expect("close");
        t.edit(
            a,
            5,
            IssueEdit {
                depends: vec![6],
                ..Default::default()
            },
        )
        .expect("link");
        let mut snapshot: Vec<String> = Vec::new();
        for n in 1..=30 {
            snapshot.push(serde_json::to_string(&t.issue(a, n).expect("issue")).expect("json"));
        }
        snapshot.push(serde_json::to_string(&t.list(a, &all()).expect("list")).expect("json"));
        snapshot
    });
    let after = with_tracker(&h, "alice", |t, a, _| {
        let report = t.reindex(&mut |_, _| {}).expect("reindex");
        // 8 comments, and the notifications of 8 tag edits, a close and a link.
        assert_eq!((report.issues, report.comments), (30, 18));
        let mut snapshot: Vec<String> = Vec::new();
        for n in 1..=30 {
            snapshot.push(serde_json::to_string(&t.issue(a, n).expect("issue")).expect("json"));
        }
        snapshot.push(serde_json::to_string(&t.list(a, &all()).expect("list")).expect("json"));
        snapshot
    });
    assert_eq!(before, after);
}

#[test]
fn permissions_follow_roles() {
    let h = setup();
    with_tracker(&h, "bob", |t, bob, _| {
        let mine = t
            .create_issue(bob, NewIssue::titled("bob's"))
            .expect("anyone may open");
        t.edit(
            bob,
            mine.number,
            IssueEdit {
                title: Some("bob's, retitled".into()),
                ..Default::default()
            },
        )
        .expect("author edits title");
        t.close(bob, mine.number, None).expect("author closes");
        let err = t
            .edit(
                bob,
                mine.number,
                IssueEdit {
                    add_tags: vec!["x".into()],
                    ..Default::default()
                },
            )
            .expect_err("tags need a role");
        assert_eq!(
            err.to_string(),
            "permission denied: bob may not issue_update in hammer"
        );
        let err = t
            .create_issue(
                bob,
                NewIssue {
                    assignee: Some("bob".into()),
                    ..NewIssue::titled("x")
                },
            )
            .expect_err("assign needs a role");
        assert!(err.to_string().contains("issue_assign"), "{err}");
    });
}

#[test]
fn comments_can_be_edited_by_their_author_and_reacted_to() {
    let h = setup();
    let (number, id) = with_tracker(&h, "bob", |t, bob, _| {
        let issue = t.create_issue(bob, NewIssue::titled("x")).expect("create");
        let c = t.comment(bob, issue.number, "first take").expect("comment");
        let edited = t
            .edit_comment(bob, issue.number, &c.id, "second take")
            .expect("author edits");
        assert_eq!(edited.body, "second take");
        assert_eq!(edited.editor.as_deref(), Some("bob"));
        (issue.number, c.id)
    });
    with_tracker(&h, "alice", |t, alice, store| {
        let reacted = t.react(alice, number, &id, "+1").expect("react");
        assert_eq!(
            reacted.reactions["+1"].iter().collect::<Vec<_>>(),
            ["alice"]
        );
        let undone = t.react(alice, number, &id, "+1").expect("react again");
        assert!(
            undone.reactions.is_empty(),
            "a second reaction takes it back"
        );
        let shown = t.issue(alice, number).expect("issue");
        assert_eq!(shown.comments[0].body, "second take");
        assert!(shown.comments[0].edited_at.is_some());
        let err = t
            .edit_comment(alice, number, "nope", "x")
            .expect_err("unknown comment");
        assert_eq!(
            err.to_string(),
            format!("comment `nope` not found on issue #{number}")
        );
        let kinds: Vec<String> = event::list(store.conn(), Some("hammer"), 0, 100)
            .expect("events")
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "issue.new",
                "issue.comment.added",
                "issue.comment.edited",
                "issue.comment.reaction",
                "issue.comment.reaction"
            ]
        );
    });
    with_tracker(&h, "bob", |t, _, store| {
        store
            .add_user("carol", "", &["carol@example.org"])
            .expect("carol");
        let project = store.project("hammer").expect("project");
        let carol = Actor::for_user(store, &project, "carol").expect("carol");
        let err = t
            .edit_comment(&carol, number, &id, "hijack")
            .expect_err("not hers");
        assert_eq!(
            err.to_string(),
            "permission denied: carol may not issue_update in hammer"
        );
    });
}

#[test]
fn project_settings_decide_priorities_milestones_and_custom_fields() {
    use forge_core::project::{CustomField, FieldKind, Milestone};
    let h = setup();
    let store = Store::open(&h.home.db_path()).expect("store");
    let mut project = store.project("hammer").expect("project");
    project.settings.priorities = vec!["High".into(), "Low".into()];
    project.settings.milestones = vec![Milestone {
        name: "1.0".into(),
        date: Some("2027-01-31".into()),
    }];
    project.settings.close_reasons.push("Upstream".into());
    project.settings.custom_fields = vec![
        CustomField {
            name: "severity".into(),
            kind: FieldKind::List,
            options: vec!["low".into(), "high".into()],
        },
        CustomField {
            name: "regression".into(),
            kind: FieldKind::Bool,
            options: vec![],
        },
        CustomField {
            name: "report".into(),
            kind: FieldKind::Link,
            options: vec![],
        },
        CustomField {
            name: "due".into(),
            kind: FieldKind::Date,
            options: vec![],
        },
        CustomField {
            name: "notes".into(),
            kind: FieldKind::Text,
            options: vec![],
        },
    ];
    store
        .set_project_settings(&project, &project.settings)
        .expect("settings");
    with_tracker(&h, "alice", |t, a, _| {
        let n = t
            .create_issue(
                a,
                NewIssue {
                    priority: Some("High".into()),
                    milestone: Some("1.0".into()),
                    ..NewIssue::titled("x")
                },
            )
            .expect("known priority and milestone")
            .number;
        let field = |k: &str, v: &str| IssueEdit {
            fields: vec![(k.into(), v.into())],
            ..Default::default()
        };
        for (k, v) in [
            ("severity", "high"),
            ("regression", "true"),
            ("report", "https://example.org/1"),
            ("due", "2027-02-01"),
            ("notes", "free text"),
        ] {
            t.edit(a, n, field(k, v))
                .unwrap_or_else(|e| panic!("{k}={v}: {e}"));
        }
        for (k, v, expected) in [
            ("severity", "medium", "expected one of: low, high"),
            ("regression", "yes", "expected true or false"),
            ("report", "ftp://x", "expected an http(s) URL"),
            ("due", "soon", "expected a date YYYY-MM-DD"),
            ("colour", "red", "does not define it"),
        ] {
            let err = t.edit(a, n, field(k, v)).expect_err("refused");
            assert!(err.to_string().contains(expected), "{k}={v}: {err}");
        }
        let err = t
            .edit(
                a,
                n,
                IssueEdit {
                    priority: Some(Some("Urgent".into())),
                    ..Default::default()
                },
            )
            .expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "invalid priority `Urgent`: known: High, Low"
        );
        t.close(a, n, Some("Upstream"))
            .expect("a project-defined close reason");
        let shown = t.issue(a, n).expect("issue");
        assert_eq!(shown.custom_fields.len(), 5);
        assert_eq!(shown.close_reason.as_deref(), Some("Upstream"));
        // An empty value removes a field.
        t.reopen(a, n).expect("reopen");
        t.edit(a, n, field("notes", "")).expect("remove");
        assert!(!t
            .issue(a, n)
            .expect("issue")
            .custom_fields
            .contains_key("notes"));
    });
}

/// Pull requests through the library: a collaborator merges only into the
/// branches their patterns name, and concurrent flags on one request all land.
#[test]
fn pull_requests_respect_collaborator_branches_and_concurrent_flags() {
    use forge_core::role::Role;
    use forge_git::MergeStrategy;
    use forge_tickets::request::FlagStatus;
    use forge_tickets::{NewFlag, NewPull, PullRequests};

    let h = setup();
    let source = Repo::open(&h.home.project_paths("hammer").source).expect("source");
    let who = Identity::new("alice", "alice@example.org");
    let base = source
        .commit_with("main", &who, "base", |_| {
            Ok(vec![Change::put("a.txt", b"a\n".to_vec())])
        })
        .expect("base");
    for branch in ["feature/x", "release"] {
        source
            .set_ref(&format!("refs/heads/{branch}"), base, "branch")
            .expect("branch");
    }
    source
        .commit_with("feature/x", &who, "work", |_| {
            Ok(vec![Change::put("b.txt", b"b\n".to_vec())])
        })
        .expect("work");
    let store = Store::open(&h.home.db_path()).expect("store");
    let project = store.project("hammer").expect("project");
    store
        .set_member(&project, "bob", Role::Collaborator, "feature/*, release")
        .expect("member");
    let prs = PullRequests::open(&store, &h.home, &project).expect("prs");
    let alice = Actor::for_user(&store, &project, "alice").expect("alice");
    let bob = Actor::for_user(&store, &project, "bob").expect("bob");
    let new = |to: &str| NewPull {
        title: format!("into {to}"),
        from_branch: "feature/x".into(),
        to: Some(to.into()),
        ..Default::default()
    };
    let to_main = prs.create(&alice, new("main")).expect("to main");
    let to_release = prs.create(&alice, new("release")).expect("to release");

    std::thread::scope(|s| {
        for name in ["ci", "lint", "docs"] {
            let h = &h;
            s.spawn(move || {
                let store = Store::open(&h.home.db_path()).expect("store");
                let project = store.project("hammer").expect("project");
                let prs = PullRequests::open(&store, &h.home, &project).expect("prs");
                let alice = Actor::for_user(&store, &project, "alice").expect("alice");
                let flag = NewFlag {
                    name: name.into(),
                    status: FlagStatus::Success,
                    percent: Some(100),
                    comment: String::new(),
                    url: None,
                };
                prs.flag(&alice, 1, flag).expect("flag");
            });
        }
    });
    let shown = prs.show(&alice, to_main.number).expect("show");
    let names: Vec<&str> = shown.flags.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["ci", "docs", "lint"], "no flag lost to a race");

    let err = prs
        .merge(&bob, to_main.number, MergeStrategy::FastForward)
        .expect_err("main is not bob's");
    assert!(err.to_string().contains("branch `main`"), "{err}");
    assert_eq!(source.branch_tip("main").expect("tip"), Some(base));
    let merged = prs
        .merge(&bob, to_release.number, MergeStrategy::FastForward)
        .expect("release is bob's");
    assert_eq!(
        source
            .branch_tip("release")
            .expect("tip")
            .map(|c| c.to_string()),
        Some(merged.merge_commit)
    );
    let events = event::list(store.conn(), Some("hammer"), 0, 1000).expect("events");
    let flags = events.iter().filter(|e| e.kind == "pr.flag").count();
    assert_eq!(flags, 3, "one event per flag");
}
