//! `forge import pagure` on a Pagure tickets repository built with git.

use std::path::Path;

use serde_json::json;

use crate::{git, Forge};

const UID1: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const UID2: &str = "fedcba98765432100123456789abcdef";

fn pagure_user(name: &str) -> serde_json::Value {
    json!({"name": name, "fullname": format!("{name} Fullname"), "default_email": format!("{name}@pagure.example"), "emails": [format!("{name}@pagure.example")]})
}

fn pagure_repo(dir: &Path, files: &[(&str, String)]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    git(dir, &["init", "-q", "-b", "master"]);
    git(dir, &["config", "user.name", "pagure"]);
    git(dir, &["config", "user.email", "pagure@example.org"]);
    for (name, content) in files {
        std::fs::write(dir.join(name), content).expect("write");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "pagure tickets"]);
}

/// `forge import pagure` of the repository at `src` into tools/hammer, as alice.
fn import_into_hammer(src: &Path) -> [&str; 7] {
    let src = src.to_str().expect("path");
    [
        "--as",
        "alice",
        "import",
        "pagure",
        "-p",
        "tools/hammer",
        src,
    ]
}

fn issue_one() -> String {
    json!({
        "id": 3, "title": "Crash on start", "content": "It **crashes**.", "status": "Closed",
        "close_status": "Fixed", "date_created": "1431414800", "last_updated": "1431500000",
        "closed_at": "1431500000", "user": pagure_user("pingou"), "private": false,
        "tags": ["bug", "easyfix"], "depends": [], "blocks": ["12"], "assignee": pagure_user("ralph"),
        "priority": 1, "milestone": "F23",
        "custom_fields": [{"name": "severity", "key_type": "list", "value": "high", "key_data": ["low", "high"]}],
        "closed_by": pagure_user("ralph"),
        "comments": [
            {"id": 10, "comment": "Confirmed.", "parent": null, "date_created": "1431420000", "user": pagure_user("ralph"),
             "edited_on": null, "editor": null, "notification": false, "reactions": {"Thumbs up": ["pingou"]}},
            {"id": 11, "comment": "Fixed in abc123", "parent": null, "date_created": "1431490000", "user": pagure_user("pingou"),
             "edited_on": "1431495000", "editor": pagure_user("pingou"), "notification": false, "reactions": {}}
        ]
    })
    .to_string()
}

fn issue_two() -> String {
    json!({
        "id": 12, "title": "Docs are missing", "content": "", "status": "Open", "close_status": null,
        "date_created": "1431600000", "last_updated": "1431600000", "closed_at": null,
        "user": pagure_user("newcomer"), "private": true, "tags": [], "depends": ["3"], "blocks": [],
        "assignee": null, "priority": null, "milestone": null, "custom_fields": [], "closed_by": null, "comments": []
    })
    .to_string()
}

#[test]
fn import_keeps_numbers_authors_dates_tags_and_comments() {
    let f = Forge::with_project();
    let src = f.dir.path().join("pagure-tickets");
    pagure_repo(
        &src,
        &[
            (UID1, issue_one()),
            (UID2, issue_two()),
            ("README", "not an issue".into()),
        ],
    );
    let report = f.json(&import_into_hammer(&src));
    assert_eq!(report["issues"], 2);
    assert_eq!(report["comments"], 2);
    assert_eq!(
        report["users_created"],
        json!(["pingou", "ralph", "newcomer"])
    );

    let one = f.json_line("--as alice issue show -p tools/hammer 3");
    assert_eq!(one["uid"], UID1);
    assert_eq!(one["author"], "pingou");
    assert_eq!(one["status"], "closed");
    assert_eq!(one["close_reason"], "Fixed");
    assert_eq!(one["created_at"], "2015-05-12T07:13:20Z");
    assert_eq!(one["closed_at"], "2015-05-13T06:53:20Z");
    assert_eq!(one["tags"], json!(["bug", "easyfix"]));
    assert_eq!(one["assignee"], "ralph");
    assert_eq!(one["milestone"], "F23");
    assert_eq!(one["priority"], "1");
    assert_eq!(one["blocks"], json!([12]));
    assert_eq!(one["custom_fields"], json!({"severity": "high"}));
    let comments = one["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["author"], "ralph");
    assert_eq!(comments[0]["body"], "Confirmed.");
    assert_eq!(comments[0]["created_at"], "2015-05-12T08:40:00Z");
    assert_eq!(comments[0]["reactions"], json!({"Thumbs up": ["pingou"]}));
    assert!(comments[1]["edited_at"].is_string());

    let two = f.json_line("--as alice issue show -p tools/hammer 12");
    assert_eq!(two["private"], true);
    assert_eq!(two["depends"], json!([3]));
    let users = f.json_line("user list");
    let pingou = users
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "pingou")
        .expect("pingou created");
    assert_eq!(pingou["full_name"], "pingou Fullname");
    assert_eq!(pingou["emails"], json!(["pingou@pagure.example"]));

    // Numbering continues after the highest imported issue.
    assert_eq!(
        f.json_line("--as alice issue new -p tools/hammer --title Next")["id"],
        13
    );
    // Importing again would duplicate numbers: refused, nothing written.
    let err = f.fails(&import_into_hammer(&src));
    assert!(
        err.contains("issue #3") && err.contains("already has it"),
        "{err}"
    );
}

#[test]
fn a_malformed_pagure_file_imports_nothing() {
    let f = Forge::with_project();
    let src = f.dir.path().join("pagure-bare-src");
    pagure_repo(
        &src,
        &[
            (UID1, issue_one()),
            (UID2, "{\"id\": 12, \"title\": ".into()),
        ],
    );
    // Also works from a bare repository.
    let bare = f.dir.path().join("pagure.git");
    git(
        f.dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            src.to_str().expect("path"),
            bare.to_str().expect("path"),
        ],
    );
    let err = f.fails(&import_into_hammer(&bare));
    assert!(
        err.contains(UID2) && err.contains("nothing was imported"),
        "{err}"
    );
    assert_eq!(
        f.json_line("issue list -p tools/hammer --status all"),
        json!([])
    );
}

#[test]
fn a_pagure_file_with_a_huge_id_is_refused_by_name() {
    let f = Forge::with_project();
    let src = f.dir.path().join("pagure-huge");
    let huge = issue_one().replace("\"id\":3", "\"id\":\"9223372036854775807\"");
    assert!(huge.contains("9223372036854775807"));
    pagure_repo(&src, &[(UID1, huge)]);
    let err = f.fails(&import_into_hammer(&src));
    assert!(
        err.contains("9223372036854775807") && err.contains("out of range"),
        "{err}"
    );
    assert_eq!(
        f.json_line("issue list -p tools/hammer --status all"),
        json!([]),
        "nothing imported"
    );
}

/// A user as Pagure's `to_json` writes it into a ticket file.
fn written_user(name: &str) -> serde_json::Value {
    json!({
        "name": name, "fullname": format!("{name} Fullname"),
        "url_path": format!("user/{name}"), "full_url": format!("https://pagure.example/user/{name}"),
        "default_email": format!("{name}@pagure.example"), "emails": [format!("{name}@pagure.example")]
    })
}

/// An issue file in the shape Pagure itself writes (`Issue.to_json` with
/// `arrow_ts` times: epoch strings with a fraction): closed, then reopened
/// (Pagure keeps `closed_at`/`closed_by`, drops `close_status`), with a
/// list field whose options are a JSON list in a string, a boolean field
/// ticked by a checkbox, a date field, and the "Metadata Update" comments
/// Pagure adds for field changes.
fn written_by_pagure() -> String {
    json!({
        "id": 5, "title": "Reopened after all", "content": "Still **broken**.", "status": "Open",
        "close_status": null, "date_created": "1796160142.012728", "last_updated": "1796160600.75",
        "closed_at": "1796160500.123456", "user": written_user("pingou"), "private": false,
        "tags": ["bug"], "depends": [], "blocks": [], "assignee": null, "priority": 2,
        "milestone": null,
        "custom_fields": [
            {"name": "severity", "key_type": "list", "value": "major",
             "key_data": "[\"minor\", \"major\", \"critical\"]"},
            {"name": "regression", "key_type": "boolean", "value": "on", "key_data": null},
            {"name": "due", "key_type": "date", "value": "2026-12-24", "key_data": null}
        ],
        "closed_by": written_user("ralph"),
        "related_prs": [], "full_url": "https://pagure.example/hammer/issue/5",
        "comments": [
            {"id": 40, "comment": "Seen again on F43.", "parent": null, "date_created": "1796160200.5",
             "user": written_user("ralph"), "edited_on": null, "editor": null, "notification": false,
             "reactions": {}},
            {"id": 41, "comment": "**Metadata Update from @ralph**:\n- Issue close_status updated to: Fixed\n- Issue status updated to: Closed (was: Open)",
             "parent": null, "date_created": "1796160500.123456", "user": written_user("ralph"),
             "edited_on": null, "editor": null, "notification": true, "reactions": {}},
            {"id": 42, "comment": "**Metadata Update from @pingou**:\n- Issue status updated to: Open (was: Closed)",
             "parent": null, "date_created": "1796160600.75", "user": written_user("pingou"),
             "edited_on": null, "editor": null, "notification": true, "reactions": {}}
        ]
    })
    .to_string()
}

#[test]
fn a_tickets_repository_pagure_wrote_imports_with_nothing_lost() {
    let f = Forge::with_project();
    let src = f.dir.path().join("pagure-written");
    pagure_repo(&src, &[(UID1, written_by_pagure())]);
    let report = f.json(&import_into_hammer(&src));
    assert_eq!(
        (report["issues"].clone(), report["comments"].clone()),
        (json!(1), json!(3))
    );

    let five = f.json_line("--as alice issue show -p tools/hammer 5");
    // Times keep their microseconds.
    assert_eq!(five["created_at"], "2026-12-01T21:22:22.012728Z");
    assert_eq!(five["status"], "open");
    assert_eq!(five["close_reason"], json!(null));
    // Who closed it, and when, survive the reopening.
    assert_eq!(five["closed_by"], "ralph");
    assert_eq!(five["closed_at"], "2026-12-01T21:28:20.123456Z");
    assert_eq!(five["priority"], "2");
    assert_eq!(
        five["custom_fields"],
        json!({"severity": "major", "regression": "true", "due": "2026-12-24"})
    );
    let comments = five["comments"].as_array().expect("comments");
    let shown: Vec<(&str, &str, bool)> = comments
        .iter()
        .map(|c| {
            (
                c["created_at"].as_str().unwrap_or_default(),
                c["author"].as_str().unwrap_or_default(),
                c["notification"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("2026-12-01T21:23:20.500Z", "ralph", false),
            ("2026-12-01T21:28:20.123456Z", "ralph", true),
            ("2026-12-01T21:30:00.750Z", "pingou", true),
        ]
    );
    // The list field's options are the list, not its JSON text cut at commas.
    let settings = f.ok_line("project settings tools/hammer");
    assert!(
        settings.contains("severity:list:minor|major|critical"),
        "{settings}"
    );
    assert!(settings.contains("regression:bool"), "{settings}");
    assert!(settings.contains("due:date"), "{settings}");
    // What was imported is a valid document: a reindex reads it back the same.
    f.ok_line("reindex -p tools/hammer");
    assert_eq!(f.json_line("--as alice issue show -p tools/hammer 5"), five);
}
