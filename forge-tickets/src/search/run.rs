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

/// Where the rows a statement looks at come from.
enum Found<'a> {
    /// No words: every document.
    Everything,
    /// The full-text rows that match these words (FTS5's expression),
    /// ranked by BM25.
    Words(&'a str),
    /// These full-text rows (a JSON array of row ids), best first: a row's
    /// place in it is its rank.
    Rows(&'a str),
}

/// The full-text rows that match `expr` where `q` looks, as `row` (the
/// row id) and `r` (its BM25 rank, lower is better); `None` when it looks
/// nowhere.
fn matching_rows(q: &Query, expr: &str, params: &mut Vec<SqlValue>) -> Option<String> {
    let mut parts = Vec::new();
    if q.scope == super::query::Scope::all() {
        // With words looked for everywhere, one expression serves documents
        // and comments (a comment's title is empty).
        let m = bind(params, text(&format!("{{title body}} : ({expr})")));
        parts.push(format!(
            "SELECT rowid AS row, rank AS r FROM search_text WHERE search_text MATCH {m}"
        ));
    } else {
        if let Some(m) = scoped(q, expr, false) {
            let m = bind(params, text(&m));
            parts.push(format!(
                "SELECT rowid AS row, rank AS r FROM search_text WHERE search_text MATCH {m} AND rowid % 4 < 2"
            ));
        }
        if let Some(m) = scoped(q, expr, true) {
            let m = bind(params, text(&m));
            parts.push(format!(
                "SELECT rowid AS row, rank AS r FROM search_text WHERE search_text MATCH {m} AND rowid % 4 >= 2"
            ));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" UNION ALL "))
}

/// The statement that finds `q`'s items among `found` in `searched`, in
/// the query's order, a page of `limit` after `offset`; `None` when
/// nothing can match. Its fifth column is the best row's id (for the
/// snippet).
fn statement(
    viewer: Option<&str>,
    searched: &[Searched],
    q: &Query,
    found: Found,
    limit: usize,
    offset: usize,
) -> Option<(String, Vec<SqlValue>)> {
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
    // Every row that matches, read from the full-text index once for both
    // kinds.
    let fts = match found {
        Found::Everything => None,
        Found::Words(expr) => Some(matching_rows(q, expr, &mut params)?),
        Found::Rows(rows) => Some(format!(
            "SELECT value AS row, key AS r FROM json_each({})",
            bind(&mut params, text(rows))
        )),
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
        let (from, rank, snippet) = match fts {
            None => (
                format!("{} d", side.table),
                "0".to_string(),
                "''".to_string(),
            ),
            Some(_) => {
                // The rows that match: the document's own, and its
                // comments'.
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
                // Each document once, with its best row (SQLite takes a
                // bare column from the row that gave min()).
                let best = format!(
                    "(SELECT doc, min(r) AS r, s FROM ({}) GROUP BY doc) b",
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
        return None;
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
    let limit = bind(&mut params, SqlValue::Integer(limit as i64));
    let offset = bind(
        &mut params,
        SqlValue::Integer(i64::try_from(offset).unwrap_or(i64::MAX)),
    );
    let with = fts
        .map(|f| format!("WITH fts AS MATERIALIZED ({f}) "))
        .unwrap_or_default();
    let sql = format!(
        "{with}SELECT project, kind, number, title, status, snippet, author, updated_at, comments FROM ({})
         ORDER BY {column} {direction}, {tie} LIMIT {limit} OFFSET {offset}",
        selects.join(" UNION ALL ")
    );
    Some((sql, params))
}

/// The hits of one statement, each snippet holding its best row's id.
fn fetch(store: &Store, sql: &str, params: &[SqlValue]) -> Result<Vec<Hit>> {
    // Queries of one shape share their SQL text: planned once per
    // connection.
    let mut stmt = store
        .conn()
        .prepare_cached(sql)
        .map_err(forge_core::Error::from)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
            let kind: String = r.get(1)?;
            Ok(Hit {
                project: r.get(0)?,
                kind: if kind == "pr" { "pr" } else { "issue" },
                id: r.get::<_, i64>(2)? as u64,
                title: r.get(3)?,
                status: r.get::<_, String>(4)?.to_ascii_lowercase(),
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
    Ok(rows
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(forge_core::Error::from)?)
}

/// One second in the order of equally good matches: the time of the row
/// (a document's last change, a comment's writing) and then the number,
/// in one value so that one lookup per row gives both (numbers past
/// a million only blur the order of ties within one second).
const SECOND: i64 = 1 << 20;

/// How many full-text rows the first batch of a ranked search holds, for
/// each hit wanted; each next batch is four times the last.
const ROWS_PER_HIT: usize = 4;

/// The best `limit` hits after `offset` for a query with words, best
/// first. The full-text rows come from FTS5 in rank order (ties: the
/// most recent first, see [`SECOND`]) and are looked at in growing
/// batches, so a page of a search that matches 10,000 items joins the
/// index for a few hundred rows, not all of them. A document's best row comes first, so it is
/// found in the first batch holding any of its rows; the conditions hold
/// for a document or not, whichever row brought it.
fn ranked(
    store: &Store,
    viewer: Option<&str>,
    searched: &[Searched],
    q: &Query,
    expr: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<Hit>> {
    let mut params = Vec::new();
    let Some(rows) = matching_rows(q, expr, &mut params) else {
        return Ok(Vec::new());
    };
    let conn = store.conn();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT row FROM ({rows}) ORDER BY r, CASE row % 4
                 WHEN 0 THEN (SELECT updated_at * {SECOND} + number FROM issues WHERE id = row / 4)
                 WHEN 1 THEN (SELECT updated_at * {SECOND} + number FROM pull_requests WHERE id = row / 4)
                 WHEN 2 THEN (SELECT created_at * {SECOND} + number FROM issue_comments WHERE id = row / 4)
                 ELSE (SELECT created_at * {SECOND} + number FROM pr_comments WHERE id = row / 4) END DESC, row DESC"
        ))
        .map_err(forge_core::Error::from)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(forge_core::Error::from)?;
    let wanted = offset.saturating_add(limit);
    let mut hits: Vec<Hit> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut size = wanted.saturating_mul(ROWS_PER_HIT).clamp(128, 1 << 20);
    loop {
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size {
            match rows.next().map_err(forge_core::Error::from)? {
                Some(r) => batch.push(r.get::<_, i64>(0).map_err(forge_core::Error::from)?),
                None => break,
            }
        }
        let last = batch.len() < size;
        if batch.is_empty() {
            break;
        }
        let batch = serde_json::to_string(&batch).unwrap_or_else(|_| "[]".into());
        // A document found in an earlier batch may come again through a
        // later row: asking for `wanted` leaves room for all of them.
        let Some((sql, params)) = statement(viewer, searched, q, Found::Rows(&batch), wanted, 0)
        else {
            // Nothing can match (the conditions rule out both kinds), in
            // any batch.
            break;
        };
        for hit in fetch(store, &sql, &params)? {
            if seen.insert((hit.project.clone(), hit.kind, hit.id)) {
                hits.push(hit);
            }
        }
        if hits.len() >= wanted || last {
            break;
        }
        size = size.saturating_mul(4).min(1 << 20);
    }
    Ok(hits.into_iter().skip(offset).take(limit).collect())
}

/// Runs `q` over `searched` for `viewer`: at most `limit` hits (never
/// more than 1,000) after `offset`, in the query's order.
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
    let limit = limit.min(1000);
    let expr = q.fts();
    let mut hits = match (&expr, q.sort.0) {
        (Some(expr), SortKey::Relevance) => {
            ranked(store, viewer, searched, q, expr, limit, offset)?
        }
        _ => {
            let found = match &expr {
                Some(expr) => Found::Words(expr),
                None => Found::Everything,
            };
            match statement(viewer, searched, q, found, limit, offset) {
                Some((sql, params)) => fetch(store, &sql, &params)?,
                None => Vec::new(),
            }
        }
    };
    snippets(store, q, &mut hits)?;
    Ok(hits)
}

/// Replaces each hit's best row id by the snippet of that row (the page
/// shown only).
fn snippets(store: &Store, q: &Query, hits: &mut [Hit]) -> Result<()> {
    let Some(expr) = q.fts() else {
        return Ok(());
    };
    let doc_match = scoped(q, &expr, false);
    let comment_match = scoped(q, &expr, true);
    let mut stmt = store
        .conn()
        .prepare_cached(
            "SELECT snippet(search_text, -1, char(2), char(3), '…', 16) FROM search_text WHERE search_text MATCH ?1 AND rowid = ?2",
        )
        .map_err(forge_core::Error::from)?;
    for h in hits {
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
            Some(m) => stmt
                .query_row(rusqlite::params![m, row], |r| r.get(0))
                .unwrap_or_default(),
            None => String::new(),
        };
    }
    Ok(())
}
