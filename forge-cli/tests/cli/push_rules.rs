//! Pushed documents obey the rules of the service: what a member could not
//! do through the CLI or the API, they cannot do by pushing JSON either.

use std::path::Path;

use crate::{clone_as, git, Forge};

/// Commits everything in `clone` as `author` (not the pusher), returns
/// what pushing it said when refused, or `None` when it landed.
fn push_as_author(clone: &Path, author: &str, edit: impl FnOnce(&Path)) -> Option<String> {
    edit(clone);
    git(clone, &["add", "-A"]);
    git(
        clone,
        &[
            "-c",
            &format!("user.name={author}"),
            "-c",
            &format!("user.email={author}@example.org"),
            "commit",
            "-qm",
            "by hand",
        ],
    );
    let out = std::process::Command::new("git")
        .args(["push", "-q", "origin", "HEAD"])
        .current_dir(clone)
        .env("HOME", clone)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("FORGE_USER", "bob")
        .output()
        .expect("git runs");
    if out.status.success() {
        None
    } else {
        git(clone, &["reset", "-q", "--hard", "origin/main"]);
        Some(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A change made in the clone before it is committed.
type Edit<'a> = Box<dyn Fn(&Path) + 'a>;

fn rewrite(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("file");
    assert!(text.contains(from), "{from} in {}", path.display());
    std::fs::write(path, text.replace(from, to)).expect("write");
}

#[test]
fn a_ticket_member_cannot_push_what_the_service_refuses_and_events_name_the_pusher() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    f.ok_line("--as alice issue new -p tools/hammer --title Handle --body wobbly");
    let comment = f.json_line("--as alice issue comment -p tools/hammer 1 --body mine");
    let alice_comment = format!("01/1/comment-{}.json", comment["id"].as_str().expect("id"));
    let clone = f.dir.path().join("bob");
    clone_as(&f.tickets_repo(), &clone, "bob");

    let cases: Vec<(&str, Edit)> = vec![
        (
            "rule `delete`",
            Box::new(|c: &Path| {
                git(c, &["rm", "-q", "-r", "01/1"]);
            }),
        ),
        (
            "rule `author`",
            Box::new(|c: &Path| {
                rewrite(
                    &c.join("01/1/issue.json"),
                    "\"author\": \"alice\"",
                    "\"author\": \"bob\"",
                )
            }),
        ),
        (
            "rule `edit`",
            Box::new(|c: &Path| {
                rewrite(
                    &c.join(&alice_comment),
                    "\"body\": \"mine\"",
                    "\"body\": \"not yours\"",
                )
            }),
        ),
        (
            "rule `delete`",
            Box::new(|c: &Path| std::fs::remove_file(c.join(&alice_comment)).expect("rm")),
        ),
        (
            "rule `status`",
            Box::new(|c: &Path| {
                let path = c.join("01/1/issue.json");
                rewrite(&path, "\"status\": \"open\"", "\"status\": \"closed\"");
                rewrite(&path, "\"closed_by\": null", "\"closed_by\": \"alice\"");
            }),
        ),
    ];
    for (rule, edit) in cases {
        let refused =
            push_as_author(&clone, "bob", edit).unwrap_or_else(|| panic!("{rule} refused"));
        assert!(refused.contains(rule), "{rule}: {refused}");
        assert!(refused.contains("01/1/"), "names the file: {refused}");
    }
    // Refused pushes changed nothing.
    let shown = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(
        (shown["author"].as_str(), shown["private"].as_bool()),
        (Some("alice"), Some(false))
    );
    assert_eq!(shown["comments"][0]["body"], "mine");

    // What a ticket member may do lands; the events name the pusher, and
    // keep who the commit says wrote it.
    let landed = push_as_author(&clone, "alice", |c| {
        rewrite(
            &c.join("01/1/issue.json"),
            "\"tags\": []",
            "\"tags\": [\"triaged\"]",
        )
    });
    assert_eq!(landed, None);
    let events = f.json_line("events -p tools/hammer");
    let last = events.as_array().and_then(|e| e.last()).expect("events");
    assert_eq!(last["type"], "issue.tag.added");
    assert_eq!(last["actor"], "bob", "the authenticated pusher");
    assert_eq!(
        last["fields"]["commit_author"], "alice",
        "the commit's claim, kept apart"
    );

    // A comment of one's own may be pushed, and deleted again.
    let own = "01/1/comment-bobs-note.json";
    let landed = push_as_author(&clone, "bob", |c| {
        let text = std::fs::read_to_string(c.join(&alice_comment)).expect("comment");
        let id = comment["id"].as_str().expect("id");
        std::fs::write(
            c.join(own),
            text.replace(id, "bobs-note")
                .replace("\"author\": \"alice\"", "\"author\": \"bob\"")
                .replace("\"body\": \"mine\"", "\"body\": \"pushed\""),
        )
        .expect("write");
    });
    assert_eq!(landed, None);
    assert_eq!(
        f.json_line("issue show -p tools/hammer 1")["comments"][1]["body"],
        "pushed"
    );
    let deleted = push_as_author(&clone, "bob", |c| {
        git(c, &["rm", "-q", own]);
    });
    assert_eq!(deleted, None);
    // Someone else's comment, even new, is refused.
    let refused = push_as_author(&clone, "bob", |c| {
        let text = std::fs::read_to_string(c.join(&alice_comment)).expect("comment");
        let id = comment["id"].as_str().expect("id");
        std::fs::write(
            c.join("01/1/comment-forged.json"),
            text.replace(id, "forged"),
        )
        .expect("write");
    })
    .expect("refused");
    assert!(refused.contains("rule `author`"), "{refused}");
}
