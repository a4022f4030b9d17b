//! The SQLite projection of a tickets repository: typed reads and writes.
//!
//! Rows are keyed by the project's full name, so the same tables serve a
//! forge home (many projects) and an offline clone (one).

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};

use crate::doc::{CommentDoc, IssueDoc};
use crate::Result;

/// The commit the index reflects: `None` never indexed, `Some("")` indexed
/// while the branch was still unborn.
pub fn indexed_commit(conn: &Connection, project: &str) -> Result<Option<String>> {
    sync_state(conn, "ticket_sync", project)
}

/// Records the commit the index now reflects.
pub fn set_indexed_commit(conn: &Connection, project: &str, commit: &str) -> Result<()> {
    set_sync_state(conn, "ticket_sync", project, commit)
}

/// The commit recorded in a sync-state table (`ticket_sync`, `request_sync`).
pub(crate) fn sync_state(conn: &Connection, table: &str, project: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT commit_id FROM {table} WHERE project = +?1"
        ))?
        .query_row([project], |r| r.get(0))
        .optional()?)
}

/// Records the commit in a sync-state table.
pub(crate) fn set_sync_state(
    conn: &Connection,
    table: &str,
    project: &str,
    commit: &str,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (project, commit_id) VALUES (?1, ?2)
         ON CONFLICT (project) DO UPDATE SET commit_id = ?2"
    ))?
    .execute(params![project, commit])?;
    Ok(())
}

/// Drops every indexed row of a project (before a rebuild).
pub fn clear_project(conn: &Connection, project: &str) -> Result<()> {
    // When no other project has rows, an unqualified DELETE lets SQLite drop
    // whole pages instead of removing rows one by one through every index.
    let others: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM ticket_sync WHERE project <> ?1)
             OR EXISTS (SELECT 1 FROM issues WHERE project <> ?1)",
        [project],
        |r| r.get(0),
    )?;
    for table in ["issues", "issue_tags", "issue_comments", "ticket_sync"] {
        if others {
            conn.execute(
                &format!("DELETE FROM {table} WHERE project = ?1"),
                [project],
            )?;
        } else {
            conn.execute(&format!("DELETE FROM {table}"), [])?;
        }
    }
    Ok(())
}

/// The indexed fields of an issue.
pub fn issue(conn: &Connection, project: &str, number: u64) -> Result<Option<IssueDoc>> {
    let raw: Option<String> = conn
        .prepare_cached("SELECT doc FROM issues WHERE project = ?1 AND number = ?2")?
        .query_row(params![project, number as i64], |r| r.get(0))
        .optional()?;
    Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
}

/// Writes an issue's row and tags. `raw` is the document's JSON text when
/// the caller has it (saves serializing it again).
pub fn put_issue(
    conn: &Connection,
    project: &str,
    doc: &IssueDoc,
    raw: Option<&str>,
) -> Result<()> {
    let created = forge_core::time::parse_rfc3339(&doc.created_at).unwrap_or(0);
    let updated = forge_core::time::parse_rfc3339(&doc.updated_at).unwrap_or(created);
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
        stored(doc, raw)?,
    ])?;
    conn.prepare_cached("DELETE FROM issue_tags WHERE project = ?1 AND number = ?2")?
        .execute(params![project, doc.number as i64])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO issue_tags (project, tag, number) VALUES (?1, ?2, ?3)")?;
    for tag in &doc.tags {
        insert.execute(params![project, tag, doc.number as i64])?;
    }
    Ok(())
}

pub(crate) fn stored<T: serde::Serialize>(doc: &T, raw: Option<&str>) -> Result<String> {
    Ok(match raw {
        Some(raw) => raw.to_string(),
        None => serde_json::to_string(doc)?,
    })
}

/// Removes an issue's row, tags and comments.
pub fn delete_issue(conn: &Connection, project: &str, number: u64) -> Result<()> {
    for table in ["issues", "issue_tags", "issue_comments"] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE project = ?1 AND number = ?2"
        ))?
        .execute(params![project, number as i64])?;
    }
    Ok(())
}

/// An indexed comment.
pub fn comment(
    conn: &Connection,
    project: &str,
    number: u64,
    id: &str,
) -> Result<Option<CommentDoc>> {
    comment_in(conn, ISSUE_COMMENTS, project, number, id)
}

/// Writes a comment's row (`raw` as for [`put_issue`]).
pub fn put_comment(
    conn: &Connection,
    project: &str,
    number: u64,
    doc: &CommentDoc,
    raw: Option<&str>,
) -> Result<()> {
    put_comment_in(conn, ISSUE_COMMENTS, project, number, doc, raw)
}

/// Removes a comment's row.
pub fn delete_comment(conn: &Connection, project: &str, number: u64, id: &str) -> Result<()> {
    delete_comment_in(conn, ISSUE_COMMENTS, project, number, id)
}

/// The table of issue comments.
pub(crate) const ISSUE_COMMENTS: &str = "issue_comments";

// Comments of issues and of pull requests have the same rows in two tables.

pub(crate) fn comment_in(
    conn: &Connection,
    table: &str,
    project: &str,
    number: u64,
    id: &str,
) -> Result<Option<CommentDoc>> {
    let raw: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT doc FROM {table} WHERE project = ?1 AND number = ?2 AND comment_id = ?3"
        ))?
        .query_row(params![project, number as i64, id], |r| r.get(0))
        .optional()?;
    Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
}

pub(crate) fn put_comment_in(
    conn: &Connection,
    table: &str,
    project: &str,
    number: u64,
    doc: &CommentDoc,
    raw: Option<&str>,
) -> Result<()> {
    let created = forge_core::time::parse_rfc3339(&doc.created_at).unwrap_or(0);
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (project, number, comment_id, author, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (project, number, comment_id) DO UPDATE SET author = ?4, created_at = ?5, doc = ?6"
    ))?
    .execute(params![project, number as i64, doc.id, doc.author, created, stored(doc, raw)?])?;
    Ok(())
}

pub(crate) fn delete_comment_in(
    conn: &Connection,
    table: &str,
    project: &str,
    number: u64,
    id: &str,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM {table} WHERE project = ?1 AND number = ?2 AND comment_id = ?3"
    ))?
    .execute(params![project, number as i64, id])?;
    Ok(())
}

pub(crate) fn comments_in(
    conn: &Connection,
    table: &str,
    project: &str,
    number: u64,
) -> Result<Vec<CommentDoc>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT doc FROM {table} WHERE project = ?1 AND number = ?2 ORDER BY created_at, comment_id"
    ))?;
    let rows = stmt.query_map(params![project, number as i64], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for raw in rows {
        out.push(serde_json::from_str(&raw?)?);
    }
    Ok(out)
}

/// Recomputes an issue's comment count and last activity after its comments changed.
pub fn refresh_activity(conn: &Connection, project: &str, number: u64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE issues SET
            comment_count = (SELECT count(*) FROM issue_comments c WHERE c.project = ?1 AND c.number = ?2),
            updated_at = max(
                fields_updated_at,
                coalesce((SELECT max(created_at) FROM issue_comments c WHERE c.project = ?1 AND c.number = ?2), 0))
         WHERE project = ?1 AND number = ?2",
    )?
    .execute(params![project, number as i64])?;
    Ok(())
}

/// Counts one more comment (created at `created`, epoch seconds) on an issue.
pub fn count_new_comment(
    conn: &Connection,
    project: &str,
    number: u64,
    created: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE issues SET comment_count = comment_count + 1, updated_at = max(updated_at, ?3)
         WHERE project = ?1 AND number = ?2",
    )?
    .execute(params![project, number as i64, created])?;
    Ok(())
}

/// Comments of an issue, oldest first.
pub fn comments(conn: &Connection, project: &str, number: u64) -> Result<Vec<CommentDoc>> {
    comments_in(conn, ISSUE_COMMENTS, project, number)
}

/// The highest issue number indexed for a project.
pub fn max_number(conn: &Connection, project: &str) -> Result<u64> {
    let n: Option<i64> = conn.query_row(
        "SELECT max(number) FROM issues WHERE project = ?1",
        [project],
        |r| r.get(0),
    )?;
    Ok(n.unwrap_or(0) as u64)
}

/// Which issues a listing returns.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    /// `Some("open")`, `Some("closed")`, or `None` for all.
    pub status: Option<String>,
    /// Only issues with this tag.
    pub tag: Option<String>,
    /// Only issues assigned to this user.
    pub assignee: Option<String>,
    /// Only issues opened by this user.
    pub author: Option<String>,
    /// Only issues in this milestone.
    pub milestone: Option<String>,
    /// Only issues with this priority.
    pub priority: Option<String>,
    /// Only issues with activity at or after this time (epoch seconds).
    pub since: Option<i64>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
    /// At most this many (newest first).
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

/// One row of a listing: the issue's fields, comment count, last activity.
pub struct ListedIssue {
    /// Fields.
    pub doc: IssueDoc,
    /// Number of comments.
    pub comments: u64,
    /// Last activity (epoch seconds).
    pub updated_at: i64,
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
) -> (String, Vec<(&'static str, SqlValue)>) {
    let text = |s: &str| SqlValue::Text(s.to_string());
    let mut params = vec![(":project", text(project))];
    let mut sql = match &filter.tag {
        Some(tag) => {
            params.push((":tag", text(tag)));
            "issue_tags t JOIN issues i ON i.project = t.project AND i.number = t.number \
             WHERE t.project = +:project AND t.tag = +:tag"
                .to_string()
        }
        None => "issues i WHERE i.project = +:project".to_string(),
    };
    for (column, name, value) in [
        ("status", ":status", &filter.status),
        ("assignee", ":assignee", &filter.assignee),
        ("author", ":author", &filter.author),
        ("milestone", ":milestone", &filter.milestone),
        ("priority", ":priority", &filter.priority),
    ] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND i.{column} = +{name}"));
            params.push((name, text(v)));
        }
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
    let (from, mut params) = filter_where(project, filter, viewer, member);
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
pub fn list(
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
    let rows = stmt.query_map(named(&params).as_slice(), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (doc, comments, updated_at) = row?;
        out.push(ListedIssue {
            doc: serde_json::from_str(&doc)?,
            comments: comments as u64,
            updated_at,
        });
    }
    Ok(out)
}

/// The numbers [`list`] would give, without reading the documents.
pub fn list_numbers(
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
pub fn listed_by_numbers(
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
    let rows = stmt.query_map(params![project, wanted, member, viewer], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut by_number = std::collections::HashMap::new();
    for row in rows {
        let (doc, comments, updated_at) = row?;
        let doc: IssueDoc = serde_json::from_str(&doc)?;
        by_number.insert(
            doc.number,
            ListedIssue {
                doc,
                comments: comments as u64,
                updated_at,
            },
        );
    }
    Ok(numbers.iter().filter_map(|n| by_number.remove(n)).collect())
}

/// Whether a project has private issues (its tickets and requests
/// repositories are then readable by ticket+ members only).
pub fn has_private_issues(conn: &Connection, project: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM issues WHERE project = ?1 AND private = 1)")?
        .query_row([project], |r| r.get(0))?)
}

/// How many issues [`list`] would return without its limit and offset.
pub fn count(
    conn: &Connection,
    project: &str,
    filter: &IssueFilter,
    viewer: &str,
    member: bool,
) -> Result<u64> {
    let (from, params) = filter_where(project, filter, viewer, member);
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM {from}"))?
        .query_row(named(&params).as_slice(), |r| r.get(0))?;
    Ok(n as u64)
}

/// The tags used on a project's issues, sorted.
pub fn tags(conn: &Connection, project: &str) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT tag FROM issue_tags WHERE project = ?1 ORDER BY tag")?;
    let rows = stmt.query_map([project], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The comments of several issues at once, oldest first, by issue number.
pub fn comments_of(
    conn: &Connection,
    project: &str,
    numbers: &[u64],
) -> Result<std::collections::HashMap<u64, Vec<CommentDoc>>> {
    let mut out: std::collections::HashMap<u64, Vec<CommentDoc>> = std::collections::HashMap::new();
    if numbers.is_empty() {
        return Ok(out);
    }
    let (lo, hi) = (
        numbers.iter().min().copied().unwrap_or(0),
        numbers.iter().max().copied().unwrap_or(0),
    );
    // One range scan over the (project, number, comment_id) index instead of
    // one query per issue; issues outside the page are dropped here.
    let mut stmt = conn.prepare_cached(
        "SELECT number, doc FROM issue_comments WHERE project = +?1 AND number BETWEEN +?2 AND +?3
         ORDER BY number, created_at, comment_id",
    )?;
    let wanted: std::collections::HashSet<u64> = numbers.iter().copied().collect();
    let rows = stmt.query_map(params![project, lo as i64, hi as i64], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (n, raw) = row?;
        if wanted.contains(&n) {
            out.entry(n).or_default().push(serde_json::from_str(&raw)?);
        }
    }
    Ok(out)
}
