//! Running a parsed query over the index: the full-text rows that match
//! (FTS5, ranked by BM25) mapped to their issue or pull request (a comment
//! to its document, its best row kept with a snippet), then the query's
//! conditions on the index rows, only in projects the viewer may read and
//! only private issues the viewer may see. Every project searched is
//! synced first, so a plain `git push` shows on the next search.

use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use rusqlite::types::Value as SqlValue;
use serde::Serialize;

use super::query::{Condition, DateField, Filter, Kind, Missing, Query, SortKey};
use crate::{Actor, PullRequests, Result, Tracker};

/// Where a snippet's match starts and ends (replaced by each client:
/// `**` in text, `<mark>` in pages).
pub const MARK_START: char = '\u{2}';
/// Where a snippet's match ends.
pub const MARK_END: char = '\u{3}';

/// One item found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The project's full name.
    pub project: String,
    /// `issue` or `pr`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its number.
    pub id: u64,
    /// Its title.
    pub title: String,
    /// `open`, `closed` or `merged`.
    pub status: String,
    /// Words around the best match, each match between [`MARK_START`] and
    /// [`MARK_END`] (empty without words).
    pub snippet: String,
    /// Its author.
    pub author: String,
    /// Last change (epoch seconds).
    pub updated_at: i64,
    /// How many comments it has.
    pub comments: u64,
}

/// A project searched, and whether the viewer sees every private issue
/// there (a member) or only their own.
#[derive(Debug, Clone)]
pub struct Searched {
    /// The project.
    pub project: Project,
    /// Whether the viewer is a member.
    pub member: bool,
}

/// The projects `viewer` may read among `names` (every project when
/// empty), each synced so that the search sees what git holds (its
/// repositories opened for that).
pub fn projects(
    store: &Store,
    home: &ForgeHome,
    viewer: Option<&str>,
    names: &[String],
) -> Result<Vec<Searched>> {
    projects_with(store, viewer, names, &mut |project| {
        Tracker::create_for_project(store, home, project)?.sync()?;
        if project.settings.pull_requests {
            if let Ok(prs) = PullRequests::open(store, home, project) {
                prs.sync()?;
            }
        }
        Ok(())
    })
}

/// [`projects`], each synced by `sync` (a server syncs through the
/// repositories it keeps open).
pub fn projects_with(
    store: &Store,
    viewer: Option<&str>,
    names: &[String],
    sync: &mut dyn FnMut(&Project) -> Result<()>,
) -> Result<Vec<Searched>> {
    let all = if names.is_empty() {
        store.list_projects()?
    } else {
        let mut found = Vec::new();
        for n in names {
            if let Some(p) = store.find_project(n)? {
                found.push(p);
            }
        }
        found
    };
    let mut out = Vec::new();
    for project in all {
        let actor = match viewer {
            Some(v) => Actor::for_user(store, &project, v)?,
            None => Actor::anonymous(project.private),
        };
        if !actor.can_read() {
            continue;
        }
        sync(&project)?;
        out.push(Searched {
            member: actor.role.is_some(),
            project,
        });
    }
    Ok(out)
}

/// The SQL of one kind's rows and the conditions on them.
struct Side {
    table: &'static str,
    comments: &'static str,
    kind: &'static str,
    rowid_tag: i64,
}

const ISSUES: Side = Side {
    table: "issues",
    comments: "issue_comments",
    kind: "issue",
    rowid_tag: 0,
};
const PULLS: Side = Side {
    table: "pull_requests",
    comments: "pr_comments",
    kind: "pr",
    rowid_tag: 1,
};

/// Adds `value` to `params` and gives its placeholder.
fn bind(params: &mut Vec<SqlValue>, value: SqlValue) -> String {
    params.push(value);
    format!("?{}", params.len())
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

/// The condition on `d` (a document row of `side`) for one condition of
/// the query; `None` when it can never hold for that side (a priority on
/// a pull request).
fn condition(side: &Side, c: &Condition, params: &mut Vec<SqlValue>) -> Option<String> {
    let sql = match &c.filter {
        Filter::Kind(Kind::Issue) => (if side.kind == "issue" { "1" } else { "0" }).to_string(),
        Filter::Kind(Kind::Pull) => (if side.kind == "pr" { "1" } else { "0" }).to_string(),
        Filter::Status(s) => format!("lower(d.status) = {}", bind(params, text(s))),
        Filter::Label(l) => {
            let v = bind(params, text(l));
            if side.kind == "issue" {
                format!("EXISTS (SELECT 1 FROM issue_tags g WHERE g.project = d.project AND g.number = d.number AND g.tag = {v})")
            } else {
                format!("EXISTS (SELECT 1 FROM json_each(d.doc, '$.tags') WHERE value = {v})")
            }
        }
        Filter::Author(u) => format!("d.author = {}", bind(params, text(u))),
        Filter::Assignee(u) => format!("d.assignee = {}", bind(params, text(u))),
        Filter::Commenter(u) => {
            let v = bind(params, text(u));
            format!(
                "EXISTS (SELECT 1 FROM {} k WHERE k.project = d.project AND k.number = d.number AND k.author = {v})",
                side.comments
            )
        }
        Filter::Mentions(u) => {
            let v = bind(params, text(&format!("@{u}")));
            format!(
                "(instr(json_extract(d.doc, '$.body'), {v}) > 0 OR EXISTS (SELECT 1 FROM {} k WHERE k.project = d.project AND k.number = d.number AND instr(json_extract(k.doc, '$.body'), {v}) > 0))",
                side.comments
            )
        }
        Filter::Milestone(m) => {
            if side.kind != "issue" {
                return Some(if c.negated { "1" } else { "0" }.to_string());
            }
            format!("d.milestone = {}", bind(params, text(m)))
        }
        Filter::Priority(p) => {
            if side.kind != "issue" {
                return Some(if c.negated { "1" } else { "0" }.to_string());
            }
            format!("d.priority = {}", bind(params, text(p)))
        }
        Filter::No(Missing::Assignee) => "d.assignee IS NULL".to_string(),
        Filter::No(Missing::Milestone) => {
            if side.kind == "issue" {
                "d.milestone IS NULL".to_string()
            } else {
                "1".to_string()
            }
        }
        Filter::No(Missing::Label) => {
            if side.kind == "issue" {
                "NOT EXISTS (SELECT 1 FROM issue_tags g WHERE g.project = d.project AND g.number = d.number)".to_string()
            } else {
                "json_array_length(coalesce(json_extract(d.doc, '$.tags'), '[]')) = 0".to_string()
            }
        }
        Filter::Date(field, span) => {
            let column = match field {
                DateField::Created => "d.created_at".to_string(),
                DateField::Updated => "d.updated_at".to_string(),
                DateField::Closed => {
                    "CAST(strftime('%s', json_extract(d.doc, '$.closed_at')) AS INTEGER)"
                        .to_string()
                }
            };
            let mut parts = vec![format!("{column} IS NOT NULL")];
            if let Some(from) = span.from {
                parts.push(format!(
                    "{column} >= {}",
                    bind(params, SqlValue::Integer(from))
                ));
            }
            if let Some(until) = span.until {
                parts.push(format!(
                    "{column} < {}",
                    bind(params, SqlValue::Integer(until))
                ));
            }
            format!("({})", parts.join(" AND "))
        }
    };
    Some(if c.negated {
        format!("NOT ({sql})")
    } else {
        sql
    })
}

/// The FTS5 expression restricted to where the query looks.
fn scoped(q: &Query, expr: &str, comments: bool) -> Option<String> {
    if comments {
        q.scope.comments.then(|| format!("{{body}} : ({expr})"))
    } else {
        match (q.scope.title, q.scope.body) {
            (true, true) => Some(format!("{{title body}} : ({expr})")),
            (true, false) => Some(format!("{{title}} : ({expr})")),
            (false, true) => Some(format!("{{body}} : ({expr})")),
            (false, false) => None,
        }
    }
}

/// Runs `q` over `searched` for `viewer`: at most `limit` hits after
/// `offset`, in the query's order.
pub fn run(
    store: &Store,
    viewer: Option<&str>,
    searched: &[Searched],
    q: &Query,
    limit: usize,
    offset: usize,
) -> Result<Vec<Hit>> {
    if searched.is_empty() {
        return Ok(Vec::new());
    }
    let mut params: Vec<SqlValue> = Vec::new();
    let access = serde_json::to_string(
        &searched
            .iter()
            .map(|s| serde_json::json!({"p": s.project.full_name, "m": s.member}))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|_| "[]".into());
    let access = bind(&mut params, text(&access));
    let viewer = bind(&mut params, text(viewer.unwrap_or("")));
    // Every row that matches, read from the full-text index once: with
    // words looked for everywhere, one expression serves documents and
    // comments (a comment's title is empty).
    let fts = match q.fts() {
        None => None,
        Some(expr) => {
            let mut parts = Vec::new();
            if q.scope == super::query::Scope::all() {
                let m = bind(&mut params, text(&format!("{{title body}} : ({expr})")));
                parts.push(format!(
                    "SELECT rowid AS row, rank AS r FROM search_text WHERE search_text MATCH {m}"
                ));
            } else {
                if let Some(m) = scoped(q, &expr, false) {
                    let m = bind(&mut params, text(&m));
                    parts.push(format!(
                        "SELECT rowid AS row, rank AS r FROM search_text WHERE search_text MATCH {m} AND rowid % 4 < 2"
                    ));
                }
                if let Some(m) = scoped(q, &expr, true) {
                    let m = bind(&mut params, text(&m));
                    parts.push(format!(
                        "SELECT rowid AS row, rank AS r FROM search_text WHERE search_text MATCH {m} AND rowid % 4 >= 2"
                    ));
                }
            }
            if parts.is_empty() {
                return Ok(Vec::new());
            }
            Some(parts.join(" UNION ALL "))
        }
    };
    let mut selects = Vec::new();
    for side in [ISSUES, PULLS] {
        let mut wheres = vec![format!(
            "d.project IN (SELECT json_extract(value, '$.p') FROM json_each({access}))"
        )];
        if side.kind == "issue" {
            wheres.push(format!(
                "(d.private = 0 OR d.author = {viewer} OR d.assignee = {viewer} OR d.project IN (SELECT json_extract(value, '$.p') FROM json_each({access}) WHERE json_extract(value, '$.m')))"
            ));
        }
        let mut never = false;
        for c in &q.conditions {
            match condition(&side, c, &mut params) {
                Some(sql) if sql == "0" => never = true,
                Some(sql) => wheres.push(sql),
                None => never = true,
            }
        }
        if never {
            continue;
        }
        for without in q.fts_without() {
            let m = bind(&mut params, text(&without));
            wheres.push(format!(
                "d.id NOT IN (SELECT rowid / 4 FROM search_text WHERE search_text MATCH {m} AND rowid % 4 = {tag})
                 AND NOT EXISTS (SELECT 1 FROM {comments} k WHERE k.project = d.project AND k.number = d.number
                     AND k.id IN (SELECT rowid / 4 FROM search_text WHERE search_text MATCH {m} AND rowid % 4 = {ctag}))",
                tag = side.rowid_tag,
                comments = side.comments,
                ctag = side.rowid_tag + 2
            ));
        }
        let (from, rank, snippet) = match q.fts() {
            None => (
                format!("{} d", side.table),
                "0".to_string(),
                "''".to_string(),
            ),
            Some(_) => {
                // The rows that match (read once for both kinds, in `fts`):
                // the document's own, and its comments'.
                let mut hits = Vec::new();
                if q.scope.title || q.scope.body {
                    hits.push(format!(
                        "SELECT row / 4 AS doc, r, row AS s FROM fts WHERE row % 4 = {}",
                        side.rowid_tag
                    ));
                }
                if q.scope.comments {
                    hits.push(format!(
                        "SELECT x.id AS doc, h.r, h.s FROM (
                             SELECT row / 4 AS cid, r, row AS s FROM fts WHERE row % 4 = {}) h
                         CROSS JOIN {} k ON k.id = h.cid CROSS JOIN {} x ON x.project = k.project AND x.number = k.number",
                        side.rowid_tag + 2,
                        side.comments,
                        side.table
                    ));
                }
                if hits.is_empty() {
                    continue;
                }
                let best = format!(
                    "(SELECT doc, r, s FROM (SELECT doc, r, s, row_number() OVER (PARTITION BY doc ORDER BY r) AS n FROM ({})) WHERE n = 1) b",
                    hits.join(" UNION ALL ")
                );
                (
                    format!("{best} CROSS JOIN {} d ON d.id = b.doc", side.table),
                    "b.r".to_string(),
                    "b.s".to_string(),
                )
            }
        };
        selects.push(format!(
            "SELECT d.project AS project, '{kind}' AS kind, d.number AS number, d.title AS title, d.status AS status,
                    {snippet} AS snippet, d.author AS author, d.updated_at AS updated_at, d.created_at AS created_at,
                    d.comment_count AS comments, {rank} AS rank
             FROM {from} WHERE {}",
            wheres.join(" AND "),
            kind = side.kind
        ));
    }
    if selects.is_empty() {
        return Ok(Vec::new());
    }
    let (key, up) = q.sort;
    let column = match key {
        SortKey::Relevance => "rank",
        SortKey::Created => "created_at",
        SortKey::Updated => "updated_at",
        SortKey::Comments => "comments",
    };
    // BM25's rank is lower for a better match: "best first" is ascending.
    let direction = match (key, up) {
        (SortKey::Relevance, _) => "ASC",
        (_, true) => "ASC",
        (_, false) => "DESC",
    };
    // Ties (one second holds many changes) go by number, the order things
    // were made in, the same way round.
    let tie = match key {
        SortKey::Relevance => "updated_at DESC, project, number DESC".to_string(),
        _ => format!("project, number {direction}"),
    };
    let limit = bind(&mut params, SqlValue::Integer(limit.min(1000) as i64));
    let offset = bind(&mut params, SqlValue::Integer(offset as i64));
    let with = fts
        .map(|f| format!("WITH fts AS MATERIALIZED ({f}) "))
        .unwrap_or_default();
    let sql = format!(
        "{with}SELECT project, kind, number, title, status, snippet, author, updated_at, comments FROM ({})
         ORDER BY {column} {direction}, {tie} LIMIT {limit} OFFSET {offset}",
        selects.join(" UNION ALL ")
    );
    let conn = store.conn();
    // Queries of one shape share their SQL text: planned once per
    // connection.
    let mut stmt = conn.prepare_cached(&sql).map_err(forge_core::Error::from)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
            let kind: String = r.get(1)?;
            Ok(Hit {
                project: r.get(0)?,
                kind: if kind == "pr" { "pr" } else { "issue" },
                id: r.get::<_, i64>(2)? as u64,
                title: r.get(3)?,
                status: r.get::<_, String>(4)?.to_ascii_lowercase(),
                // The best row's id, for its snippet below.
                snippet: match r.get::<_, SqlValue>(5)? {
                    SqlValue::Integer(row) => row.to_string(),
                    _ => String::new(),
                },
                author: r.get(6)?,
                updated_at: r.get(7)?,
                comments: r.get::<_, i64>(8)? as u64,
            })
        })
        .map_err(forge_core::Error::from)?;
    let mut hits = rows
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(forge_core::Error::from)?;
    // Snippets for the page shown only: each from its best row.
    if let Some(expr) = q.fts() {
        let doc_match = scoped(q, &expr, false);
        let comment_match = scoped(q, &expr, true);
        let mut doc_stmt = conn
            .prepare_cached(
                "SELECT snippet(search_text, -1, char(2), char(3), '…', 16) FROM search_text WHERE search_text MATCH ?1 AND rowid = ?2",
            )
            .map_err(forge_core::Error::from)?;
        for h in &mut hits {
            let Ok(row) = h.snippet.parse::<i64>() else {
                h.snippet.clear();
                continue;
            };
            let m = if row % 4 < 2 {
                &doc_match
            } else {
                &comment_match
            };
            h.snippet = match m {
                Some(m) => doc_stmt
                    .query_row(rusqlite::params![m, row], |r| r.get(0))
                    .unwrap_or_default(),
                None => String::new(),
            };
        }
    }
    Ok(hits)
}
