//! Administering a project on real files: who may, and its repositories
//! (forks included) moving and going with its rows.

use std::path::Path;
use std::process::Command;

use forge_core::role::Role;
use forge_core::{event, Store};
use forge_tickets::{Actor, Admin, NewIssue, Tracker};

use crate::setup;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Alice")
        .env("GIT_AUTHOR_EMAIL", "alice@example.org")
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.org")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_rename_moves_every_repository_and_forks_still_read_their_objects() {
    let h = setup();
    let root = h.home.root();
    let store = Store::open(&h.home.db_path()).expect("store");
    let project = store.project("hammer").expect("hammer");
    // A commit in the source, an issue, and bob's fork.
    let work = tempfile::tempdir().expect("work");
    let source = h.home.project_paths("hammer").source;
    git(work.path(), &["init", "-q", "-b", "main", "."]);
    std::fs::write(work.path().join("README"), "hammer\n").expect("write");
    git(work.path(), &["add", "README"]);
    git(work.path(), &["commit", "-qm", "Start"]);
    git(
        work.path(),
        &["push", "-q", source.to_str().expect("utf-8"), "main"],
    );
    let head = git(work.path(), &["rev-parse", "HEAD"]);
    {
        let tracker = Tracker::open_for_project(&store, &h.home, &project).expect("tracker");
        let alice = Actor::for_user(&store, &project, "alice").expect("alice");
        tracker
            .create_issue(&alice, NewIssue::titled("Loose head"))
            .expect("issue");
    }
    store
        .set_member(&project, "bob", Role::Commit, "")
        .expect("bob");
    forge_tickets::fork_project(&store, &h.home, &project, "bob", None).expect("fork");

    // bob commits but is no admin: refused, nothing moves.
    let refused = Admin::open(&store, &h.home, project.clone(), "bob").err();
    assert!(refused
        .expect("refused")
        .to_string()
        .contains("permission denied"));
    assert!(source.exists());

    let admin = Admin::open(&store, &h.home, project.clone(), "alice").expect("admin");
    let renamed = admin.rename("tools/mallet").expect("rename");
    assert_eq!(renamed.full_name, "tools/mallet");
    let paths = h.home.project_paths("tools/mallet");
    for p in [&paths.source, &paths.docs, &paths.tickets, &paths.requests] {
        assert!(p.join("HEAD").exists(), "{}", p.display());
    }
    assert!(!root.join("repos/hammer.git").exists());
    let fork = h.home.fork_path("bob", "tools/mallet");
    assert_eq!(
        git(&fork, &["cat-file", "-t", &head]),
        "commit",
        "the fork reads its parent's objects at the new place"
    );
    assert!(!root.join("repos/forks/bob/hammer.git").exists());
    // The index moved with it: the issue is there without a rebuild.
    let tracker = Tracker::open_for_project(&store, &h.home, &renamed).expect("tracker");
    let alice = Actor::for_user(&store, &renamed, "alice").expect("alice");
    assert_eq!(tracker.issue(&alice, 1).expect("issue").title, "Loose head");
    assert_eq!(
        store
            .project_redirect("hammer")
            .expect("redirect")
            .as_deref(),
        Some("tools/mallet")
    );
    let events = event::list(store.conn(), Some("tools/mallet"), 0, 100).expect("events");
    assert!(events
        .iter()
        .any(|e| e.kind == "project.renamed" && e.fields["old_name"] == "hammer"));

    // Renamed back: the namespace's folders go when empty.
    let admin = Admin::open(&store, &h.home, renamed, "alice").expect("admin");
    let back = admin.rename("hammer").expect("rename back");
    assert!(!root.join("repos/tools").exists());
    assert!(!root.join("repos/forks/bob/tools").exists());
    assert_eq!(
        git(
            &h.home.fork_path("bob", "hammer"),
            &["cat-file", "-t", &head]
        ),
        "commit"
    );

    // A name in use is refused before anything moves.
    store
        .add_user("carol", "", &["carol@example.org"])
        .expect("carol");
    let new = forge_tickets::NewProject {
        full_name: "anvil".into(),
        owner: "carol".into(),
        ..Default::default()
    };
    forge_tickets::create_project(&store, &h.home, &new, None).expect("anvil");
    let admin = Admin::open(&store, &h.home, back, "alice").expect("admin");
    assert!(admin.rename("anvil").is_err());
    assert!(h.home.project_paths("hammer").source.exists());
}

#[test]
fn only_the_owner_or_a_site_admin_gives_away_or_deletes() {
    let h = setup();
    let store = Store::open(&h.home.db_path()).expect("store");
    let project = store.project("hammer").expect("hammer");
    store
        .set_member(&project, "bob", Role::Admin, "")
        .expect("bob");
    forge_tickets::fork_project(&store, &h.home, &project, "bob", None).expect("fork");

    let as_bob = || {
        Admin::open(&store, &h.home, store.project("hammer").expect("p"), "bob")
            .expect("bob admins")
    };
    assert!(as_bob().transfer("bob", false).is_err());
    assert!(as_bob().delete("hammer").is_err());
    let as_alice = || {
        Admin::open(
            &store,
            &h.home,
            store.project("hammer").expect("p"),
            "alice",
        )
        .expect("alice")
    };
    let wrong = as_alice()
        .delete("hamme")
        .expect_err("a wrong confirmation");
    assert!(
        wrong.to_string().contains("type the project's full name"),
        "{wrong}"
    );
    assert!(h.home.project_paths("hammer").source.exists());

    let given = as_alice().transfer("bob", true).expect("given");
    assert_eq!(given.owner, "bob");
    assert_eq!(
        store.role_of(&given, "alice").expect("role"),
        Some(Role::Admin)
    );

    store
        .add_user("root", "", &["root@example.org"])
        .expect("root");
    store.set_site_admin("root", true).expect("site admin");
    let root_admin = Admin::open(&store, &h.home, given, "root").expect("a site admin administers");
    root_admin.delete("hammer").expect("deleted");
    assert!(store.find_project("hammer").expect("lookup").is_none());
    let paths = h.home.project_paths("hammer");
    for p in [&paths.source, &paths.docs, &paths.tickets, &paths.requests] {
        assert!(!p.exists(), "{}", p.display());
    }
    assert!(!h.home.fork_path("bob", "hammer").exists());
    assert!(!h.home.root().join("repos/forks/bob").exists());
    let trash = h.home.root().join("trash");
    assert!(!trash.exists() || std::fs::read_dir(&trash).expect("trash").next().is_none());
    let events = event::list(store.conn(), Some("hammer"), 0, 100).expect("events");
    assert!(events.iter().any(|e| e.kind == "project.deleted"));
    // The name is free again.
    let new = forge_tickets::NewProject {
        full_name: "hammer".into(),
        owner: "alice".into(),
        ..Default::default()
    };
    forge_tickets::create_project(&store, &h.home, &new, None).expect("made again");
}
