//! What a change to an issue's metadata says, in Pagure's words: the lines
//! of the "Metadata Update" comment that records it (written in the same
//! commit as the change) and of the API's answer.

use std::collections::BTreeSet;

use crate::doc::{CommentDoc, IssueDoc, Status};

/// The changes from `before` to `after`, one line each, in the order
/// Pagure lists them: status, close reason, assignee, tags, priority,
/// privacy, milestone, custom fields, dependencies. Title and body edits
/// are not metadata and say nothing, as in Pagure.
pub fn describe(before: &IssueDoc, after: &IssueDoc) -> Vec<String> {
    let mut out = Vec::new();
    if before.status != after.status {
        out.push(format!(
            "Issue status updated to: {} (was: {})",
            status(after.status),
            status(before.status)
        ));
    }
    if after.status == Status::Closed && before.close_reason != after.close_reason {
        if let Some(reason) = &after.close_reason {
            out.push(with_was(
                format!("Issue close_status updated to: {reason}"),
                before.close_reason.as_ref(),
            ));
        }
    }
    if before.assignee != after.assignee {
        out.push(match &after.assignee {
            Some(a) => with_was(format!("Issue assigned to {a}"), before.assignee.as_ref()),
            None => "Assignee reset".to_string(),
        });
    }
    let added = joined(after.tags.difference(&before.tags));
    if !added.is_empty() {
        out.push(format!("Issue tagged with: {added}"));
    }
    let removed = joined(before.tags.difference(&after.tags));
    if !removed.is_empty() {
        out.push(format!("Issue **un**tagged with: {removed}"));
    }
    if before.priority != after.priority {
        out.push(with_was(
            format!("Issue priority set to: {}", or_none(&after.priority)),
            before.priority.as_ref(),
        ));
    }
    if before.private != after.private {
        // Pagure says what it was only when it was private.
        let text = format!("Issue private status set to: {}", py_bool(after.private));
        out.push(match before.private {
            true => format!("{text} (was: True)"),
            false => text,
        });
    }
    if before.milestone != after.milestone {
        out.push(with_was(
            format!("Issue set to the milestone: {}", or_none(&after.milestone)),
            before.milestone.as_ref(),
        ));
    }
    let names: BTreeSet<&String> = before
        .custom_fields
        .keys()
        .chain(after.custom_fields.keys())
        .collect();
    for name in names {
        let (old, new) = (
            before.custom_fields.get(name),
            after.custom_fields.get(name),
        );
        match (old, new) {
            (o, Some(n)) if o != Some(n) => {
                out.push(with_was(format!("Custom field {name} adjusted to {n}"), o))
            }
            (Some(o), None) => out.push(format!("Custom field {name} reset (from {o})")),
            _ => {}
        }
    }
    links(&mut out, "depending on", &before.depends, &after.depends);
    links(&mut out, "blocking", &before.blocks, &after.blocks);
    out
}

/// The notification comment recording `lines`, by `actor`, made now: the
/// body Pagure writes (`**Metadata Update from @alice**:` then the lines,
/// sorted, as a list).
pub fn notification(actor: &str, lines: &[String]) -> CommentDoc {
    let mut sorted = lines.to_vec();
    sorted.sort();
    let body = format!(
        "**Metadata Update from @{actor}**:\n- {}",
        sorted.join("\n- ")
    );
    CommentDoc {
        notification: true,
        ..CommentDoc::new(actor, &body, None)
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Open => "Open",
        Status::Closed => "Closed",
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn or_none(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("None")
}

fn with_was(text: String, was: Option<&String>) -> String {
    match was {
        Some(w) => format!("{text} (was: {w})"),
        None => text,
    }
}

fn joined<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items.map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn links(out: &mut Vec<String>, what: &str, before: &BTreeSet<u64>, after: &BTreeSet<u64>) {
    let numbers =
        |set: BTreeSet<&u64>| -> Vec<String> { set.into_iter().map(|n| format!("#{n}")).collect() };
    for n in numbers(after.difference(before).collect()) {
        out.push(format!("Issue marked as {what}: {n}"));
    }
    for n in numbers(before.difference(after).collect()) {
        out.push(format!("Issue **un**marked as {what}: {n}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue() -> IssueDoc {
        IssueDoc {
            schema: crate::doc::SCHEMA,
            uid: "u".into(),
            number: 1,
            title: "Loose handle".into(),
            body: String::new(),
            author: "alice".into(),
            status: Status::Open,
            close_reason: None,
            closed_at: None,
            closed_by: None,
            tags: BTreeSet::new(),
            assignee: None,
            priority: None,
            milestone: None,
            private: false,
            custom_fields: Default::default(),
            depends: BTreeSet::new(),
            blocks: BTreeSet::new(),
            watchers: BTreeSet::new(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn changes_read_as_pagure_writes_them() {
        let before = issue();
        let mut after = before.clone();
        after.status = Status::Closed;
        after.close_reason = Some("Fixed".into());
        after.assignee = Some("bob".into());
        after.tags.insert("bug".into());
        after.milestone = Some("v2".into());
        after
            .custom_fields
            .insert("severity".into(), "major".into());
        after.depends.insert(3);
        assert_eq!(
            describe(&before, &after),
            [
                "Issue status updated to: Closed (was: Open)",
                "Issue close_status updated to: Fixed",
                "Issue assigned to bob",
                "Issue tagged with: bug",
                "Issue set to the milestone: v2",
                "Custom field severity adjusted to major",
                "Issue marked as depending on: #3",
            ]
        );
        let mut again = after.clone();
        again.milestone = Some("v3".into());
        again.assignee = None;
        again.custom_fields.clear();
        again.title = "Not metadata".into();
        assert_eq!(
            describe(&after, &again),
            [
                "Assignee reset",
                "Issue set to the milestone: v3 (was: v2)",
                "Custom field severity reset (from major)",
            ]
        );
        let c = notification("alice", &describe(&after, &again));
        assert!(c.notification);
        assert_eq!(
            c.body,
            "**Metadata Update from @alice**:\n- Assignee reset\n- Custom field severity reset (from major)\n- Issue set to the milestone: v3 (was: v2)"
        );
    }
}
