//! Embeds forge's issue tracker in a program.
//!
//! Run it with `cargo run -p forge-examples --example embed_tracker`.
//! It makes a forge home in a temporary folder, opens and discusses an issue
//! through the library, and prints the listing and the event log.

use forge_core::{event, ForgeHome, Store};
use forge_tickets::{Actor, IssueEdit, IssueFilter, NewIssue, Tracker};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let home = ForgeHome::new(dir.path());
    let store = Store::open(&home.db_path())?;
    store.add_user("alice", "Alice Liddell", &["alice@example.org"])?;
    store.add_user("bob", "Bob", &["bob@example.org"])?;
    let new = forge_tickets::NewProject {
        full_name: "tools/hammer".into(),
        description: "A hammer".into(),
        private: false,
        owner: "alice".into(),
    };
    let project = forge_tickets::create_project(&store, &home, &new, None)?;

    let tracker = Tracker::open_for_project(&store, &home, &project)?;
    let alice = Actor::for_user(&store, &project, "alice")?;
    let bob = Actor::for_user(&store, &project, "bob")?;

    let issue = tracker.create_issue(
        &bob,
        NewIssue {
            tags: vec!["bug".into()],
            ..NewIssue::titled("The handle is loose")
        },
    )?;
    tracker.comment(&alice, issue.number, "Thanks, looking into it.")?;
    tracker.edit(
        &alice,
        issue.number,
        IssueEdit {
            assignee: Some(Some("alice".into())),
            ..Default::default()
        },
    )?;
    tracker.close(&alice, issue.number, Some("Fixed"))?;

    let filter = IssueFilter {
        limit: 10,
        ..Default::default()
    };
    for summary in tracker.list(&alice, &filter)? {
        println!(
            "#{} [{}] {} ({} comments)",
            summary.id, summary.status, summary.title, summary.comments
        );
    }
    for e in event::list(store.conn(), Some("tools/hammer"), 0, 100)? {
        println!(
            "event {} {} by {} on #{}",
            e.id,
            e.kind,
            e.actor,
            e.issue.unwrap_or(0)
        );
    }
    Ok(())
}
