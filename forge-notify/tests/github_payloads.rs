//! Every payload of GitHub's own webhook examples (tests/github-webhooks,
//! from octokit/webhooks, MIT) reads into the models replication keeps:
//! one case per file, each event's objects where the event carries them.

use forge_notify::github::model::{
    Comment, Issue, Label, Milestone, PullRequest, Review, ReviewComment, User,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn read<T: DeserializeOwned>(payload: &Value, key: &str, file: &str) -> T {
    let value = payload
        .get(key)
        .unwrap_or_else(|| panic!("{file}: no `{key}`"));
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{file}: `{key}`: {e}"))
}

#[test]
fn every_example_payload_reads_into_the_models() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/github-webhooks");
    let mut cases = 0;
    let mut events = std::collections::BTreeSet::new();
    for dir in std::fs::read_dir(&root).expect("fixtures") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        let event = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        for file in std::fs::read_dir(&dir).expect("event dir") {
            let path = file.expect("entry").path();
            let name = format!(
                "{event}/{}",
                path.file_name().and_then(|n| n.to_str()).expect("name")
            );
            let payload: Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
            let sender: User = read(&payload, "sender", &name);
            assert!(!sender.login.is_empty(), "{name}");
            match event.as_str() {
                "issues" => {
                    let issue: Issue = read(&payload, "issue", &name);
                    assert!(
                        issue.number > 0 && issue.updated_at >= issue.created_at,
                        "{name}"
                    );
                }
                "issue_comment" => {
                    let _: Issue = read(&payload, "issue", &name);
                    let comment: Comment = read(&payload, "comment", &name);
                    assert!(comment.updated_at >= comment.created_at, "{name}");
                }
                "pull_request" => {
                    let pr: PullRequest = read(&payload, "pull_request", &name);
                    assert!(
                        !pr.head.sha.is_empty() && !pr.base.name.is_empty(),
                        "{name}"
                    );
                    if name.ends_with("closed.payload.json") {
                        assert!(pr.closed_at.is_some(), "{name}");
                    }
                }
                "pull_request_review" => {
                    let _: PullRequest = read(&payload, "pull_request", &name);
                    let review: Review = read(&payload, "review", &name);
                    assert!(!review.state.is_empty(), "{name}");
                }
                "pull_request_review_comment" => {
                    let _: PullRequest = read(&payload, "pull_request", &name);
                    let comment: ReviewComment = read(&payload, "comment", &name);
                    assert!(!comment.path.is_empty(), "{name}");
                }
                "label" => {
                    let label: Label = read(&payload, "label", &name);
                    assert!(!label.name.is_empty(), "{name}");
                }
                "milestone" => {
                    let milestone: Milestone = read(&payload, "milestone", &name);
                    assert!(milestone.number > 0, "{name}");
                }
                "ping" | "push" => {}
                other => panic!("{name}: an event this test does not know: {other}"),
            }
            cases += 1;
            events.insert(event.clone());
        }
    }
    assert_eq!(events.len(), 9, "every event the mirror takes: {events:?}");
    assert!(cases >= 80, "the example payloads: {cases}");
}
