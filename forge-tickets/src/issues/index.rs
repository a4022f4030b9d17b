//! Listing issues from the index: filters, pages, counts, tags. Callers go
//! through `Tracker`, which syncs first.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};

use crate::doc::IssueDoc;
use crate::engine::rows::{self, Listed};
use crate::view::RelatedPull;
use crate::Result;

/// Which issues a listing returns.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    /// `Some("open")`, `Some("closed")`, or `None` for all.
    pub status: Option<String>,
    /// Tags, as Pagure filters by them: issues with any of the tags given,
    /// and none of those given as `!tag`. Empty: any.
    pub tags: Vec<String>,
    /// Only issues assigned to this user.
    pub assignee: Option<String>,
    /// Only issues opened by this user.
    pub author: Option<String>,
    /// Only issues in one of these milestones (empty: any).
    pub milestones: Vec<String>,
    /// As Pagure's `no_stones`: `Some(true)` issues without a milestone (or
    /// in one of `milestones`, if given), `Some(false)` issues with one.
    pub no_milestone: Option<bool>,
    /// Only issues with this priority.
    pub priority: Option<String>,
    /// Only issues with activity at or after this time (epoch seconds).
    pub since: Option<i64>,
    /// Only issues whose title contains this text (ASCII letters in any
    /// case), as Pagure's issue page searches (`search_pattern`).
    pub text: Option<String>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
    /// At most this many (newest first).
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

/// One row of a listing: the issue's fields, comment count, last activity.
pub type ListedIssue = Listed<IssueDoc>;

/// How a tag filter joins the issues.
#[derive(Clone, Copy)]
enum Join {
    /// As SQLite plans it: a page walks the issues in number order (with
    /// the status index) and stops after a page of them.
    AsPlanned,
    /// The tag's issues drive: a count must visit every match, and a tag
    /// usually has fewer issues than a status (`CROSS JOIN` fixes the order).
    FromTag,
}

/// The FROM and WHERE of a listing with only the filters given, so that
/// SQLite can use the index of each (a `?N IS NULL OR ...` clause defeats them).
/// Parameters are written `+:name`: the bundled SQLite otherwise re-prepares
/// some cached statements at every use (see `PROJECT_COLUMNS` in forge-core).
fn filter_where(
    project: &str,
    filter: &IssueFilter,
    viewer: &str,
    member: bool,
    join: Join,
) -> (String, Vec<(&'static str, SqlValue)>) {
    let text = |s: &str| SqlValue::Text(s.to_string());
    let list = |items: &[&String]| SqlValue::Text(serde_json::json!(items).to_string());
    let mut params = vec![(":project", text(project))];
    let (no, yes): (Vec<&String>, Vec<&String>) =
        filter.tags.iter().partition(|t| t.starts_with('!'));
    let no: Vec<String> = no.iter().map(|t| t[1..].to_string()).collect();
    let mut sql = match (yes.as_slice(), no.is_empty()) {
        // One tag: its issues drive the listing (see `Join`).
        ([tag], true) => {
            params.push((":tag", text(tag)));
            let join = match join {
                Join::AsPlanned => "JOIN",
                Join::FromTag => "CROSS JOIN",
            };
            format!(
                "issue_tags t {join} issues i ON i.project = t.project AND i.number = t.number \
                 WHERE t.project = +:project AND t.tag = +:tag"
            )
        }
        _ => "issues i WHERE i.project = +:project".to_string(),
    };
    let tagged = "SELECT 1 FROM issue_tags t WHERE t.project = i.project AND t.number = i.number \
                  AND t.tag IN (SELECT value FROM json_each";
    if yes.len() > 1 || (!yes.is_empty() && !no.is_empty()) {
        sql.push_str(&format!(" AND EXISTS ({tagged}(+:tags)))"));
        params.push((":tags", list(&yes)));
    }
    if !no.is_empty() {
        sql.push_str(&format!(" AND NOT EXISTS ({tagged}(+:untags)))"));
        params.push((":untags", list(&no.iter().collect::<Vec<_>>())));
    }
    let stones: Vec<&String> = filter.milestones.iter().collect();
    match (filter.no_milestone, stones.is_empty()) {
        (Some(true), true) => sql.push_str(" AND i.milestone IS NULL"),
        (Some(true), false) => sql.push_str(
            " AND (i.milestone IS NULL OR i.milestone IN (SELECT value FROM json_each(+:stones)))",
        ),
        (_, false) => sql.push_str(" AND i.milestone IN (SELECT value FROM json_each(+:stones))"),
        (Some(false), true) => sql.push_str(" AND i.milestone IS NOT NULL"),
        (None, true) => {}
    }
    if !stones.is_empty() {
        params.push((":stones", list(&stones)));
    }
    for (column, name, value) in [
        ("status", ":status", &filter.status),
        ("assignee", ":assignee", &filter.assignee),
        ("author", ":author", &filter.author),
        ("priority", ":priority", &filter.priority),
    ] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND i.{column} = +{name}"));
            params.push((name, text(v)));
        }
    }
    if let Some(t) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        sql.push_str(" AND instr(lower(i.title), lower(+:text)) > 0");
        params.push((":text", text(t)));
    }
    if let Some(since) = filter.since {
        sql.push_str(" AND i.updated_at >= +:since");
        params.push((":since", SqlValue::Integer(since)));
    }
    if !member {
        sql.push_str(" AND (i.private = 0 OR i.author = +:viewer OR i.assignee = +:viewer)");
        params.push((":viewer", text(viewer)));
    }
    (sql, params)
}

fn named<'a>(
    params: &'a [(&'static str, SqlValue)],
) -> Vec<(&'static str, &'a dyn rusqlite::ToSql)> {
    params
        .iter()
        .map(|(k, v)| (*k, v as &dyn rusqlite::ToSql))
        .collect()
}

/// The SELECT of `columns` for one page of a listing, and its parameters.
fn page_query(
    columns: &str,
    project: &str,
    filter: &IssueFilter,
    viewer: &str,
    member: bool,
) -> (String, Vec<(&'static str, SqlValue)>) {
    let (from, mut params) = filter_where(project, filter, viewer, member, Join::AsPlanned);
    params.push((
        ":limit",
        SqlValue::Integer(filter.limit.min(i64::MAX as usize) as i64),
    ));
    params.push((
        ":offset",
        SqlValue::Integer(filter.offset.min(i64::MAX as usize) as i64),
    ));
    // `+ 0`: a bare bound LIMIT lets SQLite plan with its value, which makes
    // it re-prepare the statement at every execution (a quarter of the
    // HTTP API's time before this); an expression does not.
    let sql = format!(
        "SELECT {columns} FROM {from} ORDER BY i.number {} LIMIT :limit + 0 OFFSET :offset + 0",
        if filter.ascending { "ASC" } else { "DESC" }
    );
    (sql, params)
}

/// Lists issues newest first. `viewer` and `member` decide which private issues show.
pub(crate) fn list(
    conn: &Connection,
    project: &str,
    filter: &IssueFilter,
    viewer: &str,
    member: bool,
) -> Result<Vec<ListedIssue>> {
    let (sql, params) = page_query(
        "i.doc, i.comment_count, i.updated_at",
        project,
        filter,
        viewer,
        member,
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    rows::listed(&mut stmt, named(&params).as_slice(), filter.limit)
}

/// The numbers [`list`] would give, without reading the documents.
pub(crate) fn list_numbers(
    conn: &Connection,
    project: &str,
    filter: &IssueFilter,
    viewer: &str,
    member: bool,
) -> Result<Vec<u64>> {
    let (sql, params) = page_query("i.number", project, filter, viewer, member);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(named(&params).as_slice(), |r| r.get::<_, i64>(0))?;
    rows.map(|n| Ok(n? as u64)).collect()
}

/// The rows of the given issues that `viewer` may see, in the order of
/// `numbers` (missing or hidden ones left out).
pub(crate) fn listed_by_numbers(
    conn: &Connection,
    project: &str,
    numbers: &[u64],
    viewer: &str,
    member: bool,
) -> Result<Vec<ListedIssue>> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = serde_json::to_string(numbers)?;
    let mut stmt = conn.prepare_cached(
        "SELECT i.doc, i.comment_count, i.updated_at FROM issues i
         WHERE i.project = +?1 AND i.number IN (SELECT value FROM json_each(+?2))
           AND (+?3 OR i.private = 0 OR i.author = +?4 OR i.assignee = +?4)",
    )?;
    let mut by_number: std::collections::HashMap<u64, ListedIssue> = rows::listed(
        &mut stmt,
        params![project, wanted, member, viewer],
        numbers.len(),
    )?
    .into_iter()
    .map(|row: ListedIssue| (row.doc.number, row))
    .collect();
    Ok(numbers.iter().filter_map(|n| by_number.remove(n)).collect())
}

/// Whether a project has private issues (its tickets and requests
/// repositories are then readable by ticket+ members only).
/// Whether issue `number` is private, its author and assignee.
pub(crate) fn readers(
    conn: &Connection,
    project: &str,
    number: u64,
) -> Result<Option<super::IssueReaders>> {
    Ok(conn
        .prepare_cached(
            "SELECT private, author, assignee FROM issues WHERE project = ?1 AND number = ?2",
        )?
        .query_row(params![project, number as i64], |r| {
            Ok(super::IssueReaders {
                private: r.get(0)?,
                author: r.get(1)?,
                assignee: r.get(2)?,
            })
        })
        .optional()?)
}

pub(crate) fn has_private_issues(conn: &Connection, project: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM issues WHERE project = ?1 AND private = 1)")?
        .query_row([project], |r| r.get(0))?)
}

/// How many issues [`list`] would return without its limit and offset.
pub(crate) fn count(
    conn: &Connection,
    project: &str,
    filter: &IssueFilter,
    viewer: &str,
    member: bool,
) -> Result<u64> {
    let (from, params) = filter_where(project, filter, viewer, member, Join::FromTag);
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM {from}"))?
        .query_row(named(&params).as_slice(), |r| r.get(0))?;
    Ok(n as u64)
}

/// The pull requests naming each of `issues`, by number (issues no request
/// names are left out).
pub(crate) fn related_pulls(
    conn: &Connection,
    project: &str,
    issues: &[u64],
) -> Result<std::collections::HashMap<u64, Vec<RelatedPull>>> {
    let mut out: std::collections::HashMap<u64, Vec<RelatedPull>> = Default::default();
    if issues.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT l.issue, p.number, p.title FROM pull_request_issues l
         JOIN pull_requests p ON p.project = l.project AND p.number = l.number
         WHERE l.project = +?1 AND l.issue IN (SELECT value FROM json_each(+?2))
         ORDER BY p.number",
    )?;
    let rows = stmt.query_map(params![project, serde_json::to_string(issues)?], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (issue, id, title) = row?;
        out.entry(issue as u64).or_default().push(RelatedPull {
            id: id as u64,
            title,
        });
    }
    Ok(out)
}

/// The tags used on a project's issues, sorted.
pub(crate) fn tags(conn: &Connection, project: &str) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT tag FROM issue_tags WHERE project = ?1 ORDER BY tag")?;
    let rows = stmt.query_map([project], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
