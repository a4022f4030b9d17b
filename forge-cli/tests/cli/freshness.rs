//! A plain `git push` to the tickets repository shows on the next read.

use crate::{clone_as, git, git_fails, git_stderr, Forge};

#[test]
fn a_plain_push_shows_on_the_next_read_with_events() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    f.ok_line("--as alice issue new -p tools/hammer --title Original");
    let clone = f.dir.path().join("clone");
    clone_as(&f.tickets_repo(), &clone, "bob");
    let path = clone.join("01/1/issue.json");
    let text = std::fs::read_to_string(&path).expect("issue file");
    std::fs::write(
        &path,
        text.replace("\"Original\"", "\"Edited by hand\"")
            .replace("\"tags\": []", "\"tags\": [\"pushed\"]"),
    )
    .expect("write");
    // A new issue written by hand, in the documented layout (by bob, who
    // pushes it: a push may not open issues in someone else's name).
    let new_issue = text
        .replace("\"Original\"", "\"Made by hand\"")
        .replace("\"number\": 1", "\"number\": 7")
        .replace("\"author\": \"alice\"", "\"author\": \"bob\"");
    std::fs::create_dir_all(clone.join("07/7")).expect("mkdir");
    std::fs::write(
        clone.join("07/7/issue.json"),
        new_issue.replace(&uid(&text), "0123456789abcdef0123456789abcdef"),
    )
    .expect("write");
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-qm", "hand edit"]);
    git(&clone, &["push", "-q", "origin", "HEAD"]);

    let shown = f.json_line("issue show -p tools/hammer 1");
    assert_eq!(shown["title"], "Edited by hand");
    let listed = f.json_line("issue list -p tools/hammer --tag pushed");
    assert_eq!(listed[0]["id"], 1);
    assert_eq!(
        f.json_line("issue show -p tools/hammer 7")["title"],
        "Made by hand"
    );

    let events = f.json_line("events -p tools/hammer");
    let last: Vec<(String, String)> = events
        .as_array()
        .expect("array")
        .iter()
        .skip(1)
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").to_string(),
                e["actor"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        last.contains(&("issue.tag.added".into(), "bob".into())),
        "{last:?}"
    );
    assert!(
        last.contains(&("issue.edit".into(), "bob".into())),
        "{last:?}"
    );
    assert!(last.iter().any(|(k, _)| k == "issue.new"), "{last:?}");

    // Numbers keep counting after the highest pushed issue.
    let next = f.json_line("--as alice issue new -p tools/hammer --title After");
    assert_eq!(next["id"], 8);
}

#[test]
fn malformed_json_pushed_by_hand_is_refused_or_reported_and_skipped() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    f.ok_line("--as alice issue new -p tools/hammer --title Good");
    f.ok_line("--as alice issue new -p tools/hammer --title Breaks");
    let clone = f.hand_edit("bob", |clone| {
        std::fs::write(clone.join("02/2/issue.json"), "{\"title\": ").expect("write")
    });
    // forge's pre-receive hook refuses it, naming the file and the problem.
    let refused = git_fails(&clone, &["push", "-q", "origin", "HEAD"]);
    assert!(
        refused.contains("ticket data") && refused.contains("02/2/issue.json: EOF"),
        "{refused}"
    );
    // Where the hook is missing, the index skips it and keeps the last good state.
    f.without_pre_receive(&f.tickets_repo());
    // The post-receive hook syncs the index and warns the pusher.
    let said = git_stderr(&clone, &["push", "-q", "origin", "HEAD"]);
    assert!(
        said.contains("02/2/issue.json"),
        "the warning names the file: {said}"
    );
    let out = f.run(&["issue", "list", "-p", "tools/hammer", "--json"]);
    assert!(out.status.success());
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(2),
        "the last good state of #2 is kept"
    );
    // A reindex reports it too, and keeps the good issue.
    let out = f.run(&["reindex", "-p", "tools/hammer"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("02/2/issue.json"));
    assert_eq!(
        f.json_line("issue list -p tools/hammer")[0]["title"],
        "Good"
    );
}

#[test]
fn the_event_log_of_all_projects_includes_a_plain_push() {
    let f = Forge::with_project();
    f.member("bob", "ticket");
    f.ok_line("--as alice issue new -p tools/hammer --title Original");
    f.push_by_hand("bob", |clone| {
        let path = clone.join("01/1/issue.json");
        let text = std::fs::read_to_string(&path).expect("issue file");
        std::fs::write(&path, text.replace("\"Original\"", "\"Renamed\"")).expect("write");
    });
    // No read of the project happened since the push: `events` alone must sync.
    let events = f.json_line("events");
    let last = events.as_array().and_then(|e| e.last()).expect("events");
    assert_eq!(last["type"], "issue.edit");
    assert_eq!(last["actor"], "bob");
    assert_eq!(last["fields"]["fields"]["title"], "Renamed");
}

fn uid(issue_json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(issue_json).expect("json");
    v["uid"].as_str().expect("uid").to_string()
}
