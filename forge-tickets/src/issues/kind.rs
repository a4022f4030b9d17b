//! Issues as a kind of document: their index row and their events.

use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

use forge_core::role::Action;

use crate::checks::Checks;
use crate::doc::{IssueDoc, Status};
use crate::engine::kind::{Document as _, Kind, Pending};
use crate::engine::push::{needs_all, violation, Need, Rules, Violation};
use crate::{Actor, Error, Result};

/// Issues: `issue.json` in the tickets repository, `issue.*` events.
pub struct Issues;

crate::engine::kind::document!(IssueDoc, crate::doc::check_issue);

impl Kind for Issues {
    type Doc = IssueDoc;
    const MAIN_FILE: &'static str = "issue.json";
    const PREFIX: &'static str = "issue";
    const NAME: &'static str = "issue";
    const TITLE: &'static str = "issue";
    const NOUN: &'static str = "ticket";
    const TABLE: &'static str = "issues";
    const COMMENTS: &'static str = "issue_comments";
    const SIDE_TABLES: &'static [&'static str] = &["issue_tags"];
    const SYNC_TABLE: &'static str = "ticket_sync";
    const SEARCH_TAG: i64 = 0;
    const INLINE_COMMENTS: bool = false;
    const REACTION_EVENTS: bool = true;

    fn put_row(conn: &Connection, project: &str, doc: &IssueDoc, raw: &str) -> Result<()> {
        let (created, updated) = (doc.created_time(), doc.fields_time());
        conn.prepare_cached(
            "INSERT INTO issues (project, number, uid, path, title, author, status, assignee, priority, milestone,
                                 private, created_at, updated_at, fields_updated_at, comment_count, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, 0, ?14)
             ON CONFLICT (project, number) DO UPDATE SET uid = ?3, path = ?4, title = ?5, author = ?6, status = ?7,
                 assignee = ?8, priority = ?9, milestone = ?10, private = ?11, created_at = ?12,
                 updated_at = max(?13, updated_at), fields_updated_at = ?13, doc = ?14",
        )?
        .execute(params![
            project,
            doc.number as i64,
            doc.uid,
            crate::doc::issue_path(doc.number),
            doc.title,
            doc.author,
            doc.status.as_str(),
            doc.assignee,
            doc.priority,
            doc.milestone,
            doc.private,
            created,
            updated,
            raw,
        ])?;
        conn.prepare_cached("DELETE FROM issue_tags WHERE project = ?1 AND number = ?2")?
            .execute(params![project, doc.number as i64])?;
        let mut insert = conn
            .prepare_cached("INSERT INTO issue_tags (project, tag, number) VALUES (?1, ?2, ?3)")?;
        for tag in &doc.tags {
            insert.execute(params![project, tag, doc.number as i64])?;
        }
        Ok(())
    }

    fn created(doc: &IssueDoc) -> Value {
        json!({"title": doc.title, "tags": doc.tags, "assignee": doc.assignee, "private": doc.private})
    }

    fn changed(old: &IssueDoc, new: &IssueDoc, events: &mut Vec<Pending>) {
        if old.status != new.status {
            events.push(match new.status {
                Status::Closed => ("closed", json!({"close_reason": new.close_reason})),
                Status::Open => ("reopened", json!({})),
            });
        }
        let added: Vec<&String> = new.tags.difference(&old.tags).collect();
        if !added.is_empty() {
            events.push(("tag.added", json!({ "tags": added })));
        }
        let removed: Vec<&String> = old.tags.difference(&new.tags).collect();
        if !removed.is_empty() {
            events.push(("tag.removed", json!({ "tags": removed })));
        }
        if old.assignee != new.assignee {
            events.push(match &new.assignee {
                Some(a) => ("assigned", json!({"assignee": a})),
                None => ("unassigned", json!({"previous": old.assignee})),
            });
        }
        let (old_v, new_v) = (
            serde_json::to_value(old).unwrap_or_default(),
            serde_json::to_value(new).unwrap_or_default(),
        );
        let mut changed = Map::new();
        for key in [
            "title",
            "body",
            "priority",
            "milestone",
            "private",
            "custom_fields",
            "depends",
            "blocks",
        ] {
            if old_v.get(key) != new_v.get(key) {
                changed.insert(
                    key.to_string(),
                    new_v.get(key).cloned().unwrap_or(Value::Null),
                );
            }
        }
        if old.status == new.status && old.close_reason != new.close_reason {
            changed.insert("close_reason".into(), json!(new.close_reason));
        }
        if !changed.is_empty() {
            events.push(("edit", json!({ "fields": changed })));
        }
    }

    fn missing(project: &str, number: u64) -> Error {
        Error::NoIssue {
            project: project.to_string(),
            number,
        }
    }
}

impl Rules for Issues {
    fn values(checks: &Checks<'_>, doc: &IssueDoc) -> Result<()> {
        checks.issue(doc)
    }

    fn may_create(pusher: &Actor, new: &IssueDoc) -> std::result::Result<(), Violation> {
        use Action::*;
        #[rustfmt::skip]
        let parts = [
            Need::of(true, IssueCreate, false, "create", "open an issue"),
            Need::of(new.assignee.is_some(), IssueAssign, false, "assignee", "assign issues"),
            Need::of(new.milestone.is_some(), IssueUpdateMilestone, false, "milestone", "set milestones"),
            Need::of(new.status != Status::Open, IssueChangeStatus, true, "status", "close issues"),
        ];
        needs_all(pusher, &parts)
    }

    fn may_change(
        pusher: &Actor,
        old: &IssueDoc,
        new: &IssueDoc,
    ) -> std::result::Result<(), Violation> {
        use Action::*;
        let own = old.author == pusher.username;
        let status = old.status != new.status
            || old.close_reason != new.close_reason
            || old.closed_at != new.closed_at
            || old.closed_by != new.closed_by;
        let metadata = old.tags != new.tags
            || old.priority != new.priority
            || old.custom_fields != new.custom_fields
            || old.depends != new.depends
            || old.blocks != new.blocks;
        let text = old.title != new.title || old.body != new.body;
        #[rustfmt::skip]
        let parts = [
            Need::of(text, IssueUpdate, own, "edit", "edit this issue"),
            Need::of(metadata, IssueUpdate, false, "edit", "change tags, priority, fields or links"),
            Need::of(old.private != new.private, IssueUpdate, false, "private", "change whether an issue is private"),
            Need::of(old.assignee != new.assignee, IssueAssign, false, "assignee", "assign issues"),
            Need::of(old.milestone != new.milestone, IssueUpdateMilestone, false, "milestone", "set milestones"),
            Need::of(status, IssueChangeStatus, own, "status", "close or reopen this issue"),
        ];
        needs_all(pusher, &parts)?;
        let closer = old.closed_by != new.closed_by
            && new
                .closed_by
                .as_deref()
                .is_some_and(|c| c != pusher.username);
        if closer && !pusher.may(ModifyProject, false) {
            return Err(violation(
                "status",
                format!(
                    "an issue closed by {} names them as its closer",
                    pusher.username
                ),
            ));
        }
        Ok(())
    }
}
