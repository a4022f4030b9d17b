//! Pull requests as a kind of document: their index row and their events.

use rusqlite::{params, Connection};
use serde_json::{json, Value};

use forge_core::role::Action;

use crate::checks::Checks;
use crate::engine::kind::{Document as _, Kind, Pending};
use crate::engine::push::{needs_all, violation, Need, Rules, Violation};
use crate::request::{PullDoc, PullStatus, Source};
use crate::{Actor, Error, Result};

/// Pull requests: `request.json` in the requests repository, `pr.*` events.
pub struct Pulls;

crate::engine::kind::document!(PullDoc, crate::request::check_request);

/// The repository name a request's source is indexed under: the project,
/// `forks/<user>/<project>`, or the URL.
pub(crate) fn source_key(project: &str, source: &Source) -> String {
    match (&source.fork, &source.url) {
        (Some(user), _) => format!("forks/{user}/{project}"),
        (None, Some(url)) => url.clone(),
        (None, None) => project.to_string(),
    }
}

impl Kind for Pulls {
    type Doc = PullDoc;
    const MAIN_FILE: &'static str = "request.json";
    const PREFIX: &'static str = "pr";
    const NAME: &'static str = "request";
    const TITLE: &'static str = "pull request";
    const NOUN: &'static str = "request";
    const TABLE: &'static str = "pull_requests";
    const COMMENTS: &'static str = "pr_comments";
    const SIDE_TABLES: &'static [&'static str] = &["pull_request_issues"];
    const SYNC_TABLE: &'static str = "request_sync";
    const SEARCH_TAG: i64 = 1;
    const INLINE_COMMENTS: bool = true;
    const REACTION_EVENTS: bool = false;

    fn put_row(conn: &Connection, project: &str, doc: &PullDoc, raw: &str) -> Result<()> {
        let (created, updated) = (doc.created_time(), doc.fields_time());
        conn.prepare_cached(
            "INSERT INTO pull_requests (project, number, title, author, status, assignee, source_repo,
                                        source_branch, target_branch, head, created_at, updated_at,
                                        fields_updated_at, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)
             ON CONFLICT (project, number) DO UPDATE SET title = ?3, author = ?4, status = ?5, assignee = ?6,
                 source_repo = ?7, source_branch = ?8, target_branch = ?9, head = ?10, created_at = ?11,
                 updated_at = max(?12, updated_at), fields_updated_at = ?12, doc = ?13",
        )?
        .execute(params![
            project,
            doc.number as i64,
            doc.title,
            doc.author,
            doc.status.as_str(),
            doc.assignee,
            source_key(project, &doc.source),
            doc.source.branch,
            doc.target,
            doc.head,
            created,
            updated,
            raw,
        ])?;
        conn.prepare_cached("DELETE FROM pull_request_issues WHERE project = ?1 AND number = ?2")?
            .execute(params![project, doc.number as i64])?;
        let mut link = conn.prepare_cached(
            "INSERT INTO pull_request_issues (project, number, issue) VALUES (?1, ?2, ?3)",
        )?;
        for issue in &doc.linked_issues {
            link.execute(params![project, doc.number as i64, *issue as i64])?;
        }
        Ok(())
    }

    fn created(d: &PullDoc) -> Value {
        json!({"title": d.title, "source": d.source.repo, "branch": d.source.branch,
               "target": d.target, "head": d.head})
    }

    fn changed(o: &PullDoc, d: &PullDoc, events: &mut Vec<Pending>) {
        if o.status != d.status {
            events.push(match d.status {
                PullStatus::Merged => (
                    "merged",
                    json!({"merge_commit": d.merge_commit, "target": d.target}),
                ),
                PullStatus::Closed => ("closed", json!({})),
                PullStatus::Open => ("reopened", json!({})),
            });
        }
        if o.head != d.head {
            events.push((
                "updated",
                json!({"old_head": o.head, "head": d.head, "commits": d.commits.len()}),
            ));
        }
        for (name, f) in &d.flags {
            if o.flags.get(name) != Some(f) {
                events.push((
                    "flag",
                    json!({"name": name, "status": f.status.as_str(), "percent": f.percent, "url": f.url}),
                ));
            }
        }
        for (user, v) in &d.votes {
            if o.votes.get(user) != Some(v) {
                events.push(("vote", json!({"vote": v, "voter": user})));
            }
        }
        if o.assignee != d.assignee {
            events.push(("assigned", json!({"assignee": d.assignee})));
        }
        let mut changed = serde_json::Map::new();
        if o.title != d.title {
            changed.insert("title".into(), json!(d.title));
        }
        if o.body != d.body {
            changed.insert("body".into(), json!(d.body));
        }
        if o.tags != d.tags {
            changed.insert("tags".into(), json!(d.tags));
        }
        if o.target != d.target {
            changed.insert("target".into(), json!(d.target));
        }
        if !changed.is_empty() {
            events.push(("edit", json!({ "fields": changed })));
        }
    }

    fn missing(project: &str, number: u64) -> Error {
        Error::NoRequest {
            project: project.to_string(),
            number,
        }
    }
}

impl Rules for Pulls {
    fn values(checks: &Checks<'_>, doc: &PullDoc) -> Result<()> {
        checks.request(doc)
    }

    /// A request's commits are fetched and mirrored by `forge pr new`; a
    /// document pushed alone has none. Admins may repair by hand.
    fn may_create(pusher: &Actor, _: &PullDoc) -> std::result::Result<(), Violation> {
        let what = "open a pull request by pushing its document (use `forge pr new`)";
        needs_all(
            pusher,
            &[Need::of(true, Action::ModifyProject, false, "create", what)],
        )
    }

    fn may_change(
        pusher: &Actor,
        old: &PullDoc,
        new: &PullDoc,
    ) -> std::result::Result<(), Violation> {
        let admin = pusher.may(Action::ModifyProject, false);
        let computed = old.head != new.head
            || old.base != new.base
            || old.commits != new.commits
            || old.source != new.source
            || old.target != new.target
            || old.merge_commit != new.merge_commit;
        if computed && !admin {
            return Err(violation(
                "computed",
                "head, base, commits, source, target and merge commit are set by forge when it refreshes or merges",
            ));
        }
        if new.status == PullStatus::Merged && old.status != PullStatus::Merged && !admin {
            return Err(violation(
                "merge",
                "pull requests are merged with `forge pr merge`",
            ));
        }
        let is_author = old.author == pusher.username;
        let status = old.status != new.status
            || old.closed_by != new.closed_by
            || old.closed_at != new.closed_at;
        let votes: Vec<&String> = old
            .votes
            .keys()
            .chain(new.votes.keys())
            .filter(|u| old.votes.get(*u) != new.votes.get(*u))
            .collect();
        use Action::*;
        let text = old.title != new.title || old.body != new.body;
        let assigned = old.assignee != new.assignee || old.tags != new.tags;
        #[rustfmt::skip]
        let parts = [
            Need::of(text, PullRequestClose, is_author, "edit", "edit this pull request"),
            Need::of(assigned, IssueAssign, false, "edit", "assign or tag pull requests"),
            Need::of(status, PullRequestClose, is_author, "status", "close or reopen this pull request"),
            Need::of(old.flags != new.flags, PullRequestFlag, false, "flags", "flag pull requests"),
            Need::of(!votes.is_empty(), PullRequestComment, false, "votes", "vote"),
        ];
        needs_all(pusher, &parts)?;
        let foreign_flag = new
            .flags
            .iter()
            .find(|(name, f)| old.flags.get(*name) != Some(*f) && f.username != pusher.username);
        if let (Some((name, _)), false) = (foreign_flag, admin) {
            return Err(violation(
                "flags",
                format!("flag `{name}` pushed by {} must name them", pusher.username),
            ));
        }
        if votes.iter().any(|u| **u != pusher.username) {
            return Err(violation("votes", "only the pusher's own vote may change"));
        }
        if !votes.is_empty() && is_author {
            return Err(violation(
                "votes",
                "authors cannot vote on their own pull request",
            ));
        }
        Ok(())
    }
}
