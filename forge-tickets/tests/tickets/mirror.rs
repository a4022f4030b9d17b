//! A mirrored project: the replication's writes keep the newest of each
//! record whatever order payloads come in, and everyone else's writes
//! (through the library or git) are refused naming what it mirrors.

use std::collections::{BTreeMap, BTreeSet};

use forge_core::Store;
use forge_tickets::doc::{CommentDoc, IssueDoc, Status, SCHEMA};
use forge_tickets::engine::replica::Replicated;
use forge_tickets::{Actor, NewIssue, Tracker};

use crate::{setup, Home};

fn mirror(store: &Store) {
    store
        .conn()
        .execute(
            "INSERT INTO github_mirrors (project_id, repo, api_url, secret, created_at)
             SELECT id, 'octo/hammer', 'https://api.github.com', 'sealed', 0 FROM projects WHERE full_name = 'hammer'",
            [],
        )
        .expect("mirror row");
}

fn issue(number: u64, title: &str, updated: &str, author: &str) -> IssueDoc {
    IssueDoc {
        assignee: None,
        author: author.into(),
        blocks: BTreeSet::new(),
        body: format!("{title} body"),
        close_reason: None,
        closed_at: None,
        closed_by: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        custom_fields: BTreeMap::new(),
        depends: BTreeSet::new(),
        milestone: None,
        number,
        priority: None,
        private: false,
        schema: SCHEMA,
        status: Status::Open,
        tags: ["bug".to_string()].into(),
        title: title.into(),
        uid: format!("{number:032x}"),
        updated_at: updated.into(),
        watchers: BTreeSet::new(),
    }
}

fn comment(id: &str, body: &str, created: &str, edited: Option<&str>, author: &str) -> CommentDoc {
    CommentDoc {
        anchor: None,
        author: author.into(),
        body: body.into(),
        created_at: created.into(),
        edited_at: edited.map(String::from),
        editor: None,
        id: id.into(),
        notification: false,
        reactions: BTreeMap::new(),
        schema: SCHEMA,
    }
}

fn opened(h: &Home) -> (Store, forge_core::project::Project) {
    let store = Store::open(&h.home.db_path()).expect("store");
    let project = store.project("hammer").expect("project");
    (store, project)
}

#[test]
fn the_newest_payload_wins_whatever_order_they_come_in() {
    let h = setup();
    let (store, _) = opened(&h);
    mirror(&store);
    let (store, project) = opened(&h);
    let octocat = store.mirror_user("github", "octocat").expect("mirror user");
    assert_eq!(octocat, "github:octocat");
    assert_eq!(
        store.mirror_user("github", "octocat").expect("again"),
        octocat
    );
    assert!(store.mirror_user("github", "../x").is_err());
    let tracker = Tracker::open_for_project(&store, &h.home, &project).expect("tracker");
    let replica = Actor::replica(&project, &octocat);
    let v2 = issue(7, "Second title", "2026-01-03T00:00:00Z", &octocat);
    let v1 = issue(7, "First title", "2026-01-02T00:00:00Z", &octocat);
    let c1 = comment("gh-1", "hello", "2026-01-02T00:00:00Z", None, &octocat);
    let got = tracker
        .replicate(
            &replica,
            std::slice::from_ref(&v2),
            &[(7, c1.clone()), (8, c1.clone())],
        )
        .expect("first");
    assert_eq!(
        got,
        vec![
            Replicated::Written,
            Replicated::Written,
            Replicated::Missing
        ]
    );
    // The older payload arrives late: kept out. The same again: no commit.
    let tip = tracker.repo().branch_tip("main").ok().flatten();
    let got = tracker
        .replicate(&replica, &[v1, v2.clone()], &[(7, c1.clone())])
        .expect("late");
    assert_eq!(
        got,
        vec![Replicated::Kept, Replicated::Kept, Replicated::Kept]
    );
    assert_eq!(
        tracker.repo().branch_tip("main").ok().flatten(),
        tip,
        "nothing committed"
    );
    let viewer = Actor::anonymous(false);
    let shown = tracker.issue(&viewer, 7).expect("issue");
    assert_eq!(shown.title, "Second title");
    // An edited comment is newer than the stored one; an older edit is not.
    let edited = comment(
        "gh-1",
        "hello, edited",
        "2026-01-02T00:00:00Z",
        Some("2026-01-04T00:00:00Z"),
        &octocat,
    );
    let stale = comment(
        "gh-1",
        "stale edit",
        "2026-01-02T00:00:00Z",
        Some("2026-01-03T00:00:00Z"),
        &octocat,
    );
    let got = tracker
        .replicate(&replica, &[], &[(7, edited), (7, stale)])
        .expect("edits");
    assert_eq!(got, vec![Replicated::Written, Replicated::Kept]);
    let shown = tracker.issue(&viewer, 7).expect("issue");
    assert_eq!(shown.comments.len(), 1);
    assert_eq!(shown.comments[0].body, "hello, edited");
    // The number is taken in the project's sequence.
    let next: i64 = store
        .conn()
        .query_row(
            "SELECT next_number FROM projects WHERE full_name = 'hammer'",
            [],
            |r| r.get(0),
        )
        .expect("next");
    assert_eq!(next, 8);
}

#[test]
fn local_writes_to_a_mirror_are_refused_naming_the_source() {
    let h = setup();
    let (store, _) = opened(&h);
    mirror(&store);
    let (store, project) = opened(&h);
    let tracker = Tracker::open_for_project(&store, &h.home, &project).expect("tracker");
    let alice = Actor::for_user(&store, &project, "alice").expect("alice");
    let e = tracker
        .create_issue(&alice, NewIssue::titled("local"))
        .expect_err("refused");
    assert!(e.to_string().contains("mirrors github:octo/hammer"), "{e}");
    let system = Actor::system(&project);
    assert!(tracker
        .create_issue(&system, NewIssue::titled("hook"))
        .is_err());
}
