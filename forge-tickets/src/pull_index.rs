//! The SQLite projection of a requests repository, and the merge-analysis cache.

use rusqlite::{params, Connection, OptionalExtension};

use crate::doc::CommentDoc;
use crate::index;
use crate::request::PullDoc;
use crate::Result;

/// The commit the request index reflects (`Some("")`: an unborn branch).
pub fn indexed_commit(conn: &Connection, project: &str) -> Result<Option<String>> {
    index::sync_state(conn, "request_sync", project)
}

/// Records the commit the request index now reflects.
pub fn set_indexed_commit(conn: &Connection, project: &str, commit: &str) -> Result<()> {
    index::set_sync_state(conn, "request_sync", project, commit)
}

/// Drops every indexed request and comment of a project.
pub fn clear_project(conn: &Connection, project: &str) -> Result<()> {
    for table in ["pull_requests", "pr_comments", "request_sync"] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE project = ?1"),
            [project],
        )?;
    }
    Ok(())
}

/// An indexed request.
pub fn request(conn: &Connection, project: &str, number: u64) -> Result<Option<PullDoc>> {
    let raw: Option<String> = conn
        .prepare_cached("SELECT doc FROM pull_requests WHERE project = ?1 AND number = ?2")?
        .query_row(params![project, number as i64], |r| r.get(0))
        .optional()?;
    Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
}

/// The repository name a request's source is indexed under: the project,
/// `forks/<user>/<project>`, or the URL.
pub fn source_key(project: &str, doc: &PullDoc) -> String {
    match (&doc.source.fork, &doc.source.url) {
        (Some(user), _) => format!("forks/{user}/{project}"),
        (None, Some(url)) => url.clone(),
        (None, None) => project.to_string(),
    }
}

/// Writes a request's row (`raw`: its JSON text when the caller has it).
pub fn put_request(
    conn: &Connection,
    project: &str,
    doc: &PullDoc,
    raw: Option<&str>,
) -> Result<()> {
    let created = forge_core::time::parse_rfc3339(&doc.created_at).unwrap_or(0);
    let updated = forge_core::time::parse_rfc3339(&doc.updated_at).unwrap_or(created);
    let text = index::stored(doc, raw)?;
    conn.prepare_cached(
        "INSERT INTO pull_requests (project, number, title, author, status, assignee, source_repo,
                                    source_branch, target_branch, head, created_at, updated_at, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (project, number) DO UPDATE SET title = ?3, author = ?4, status = ?5, assignee = ?6,
             source_repo = ?7, source_branch = ?8, target_branch = ?9, head = ?10, created_at = ?11,
             updated_at = max(?12, updated_at), doc = ?13",
    )?
    .execute(params![
        project,
        doc.number as i64,
        doc.title,
        doc.author,
        doc.status.as_str(),
        doc.assignee,
        source_key(project, doc),
        doc.source.branch,
        doc.target,
        doc.head,
        created,
        updated,
        text,
    ])?;
    Ok(())
}

/// Removes a request's row and comments.
pub fn delete_request(conn: &Connection, project: &str, number: u64) -> Result<()> {
    for table in ["pull_requests", "pr_comments"] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE project = ?1 AND number = ?2"
        ))?
        .execute(params![project, number as i64])?;
    }
    Ok(())
}

/// The table of pull-request comments.
pub(crate) const PR_COMMENTS: &str = "pr_comments";

/// An indexed comment of a request.
pub fn comment(
    conn: &Connection,
    project: &str,
    number: u64,
    id: &str,
) -> Result<Option<CommentDoc>> {
    index::comment_in(conn, PR_COMMENTS, project, number, id)
}

/// Writes a comment's row.
pub fn put_comment(
    conn: &Connection,
    project: &str,
    number: u64,
    doc: &CommentDoc,
    raw: Option<&str>,
) -> Result<()> {
    index::put_comment_in(conn, PR_COMMENTS, project, number, doc, raw)
}

/// Removes a comment's row.
pub fn delete_comment(conn: &Connection, project: &str, number: u64, id: &str) -> Result<()> {
    index::delete_comment_in(conn, PR_COMMENTS, project, number, id)
}

/// Comments of a request, oldest first.
pub fn comments(conn: &Connection, project: &str, number: u64) -> Result<Vec<CommentDoc>> {
    index::comments_in(conn, PR_COMMENTS, project, number)
}

/// Recomputes a request's comment count and last activity.
pub fn refresh_activity(conn: &Connection, project: &str, number: u64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE pull_requests SET
            comment_count = (SELECT count(*) FROM pr_comments c WHERE c.project = ?1 AND c.number = ?2),
            updated_at = max(updated_at,
                coalesce((SELECT max(created_at) FROM pr_comments c WHERE c.project = ?1 AND c.number = ?2), 0))
         WHERE project = ?1 AND number = ?2",
    )?
    .execute(params![project, number as i64])?;
    Ok(())
}

/// Which requests a listing returns.
#[derive(Debug, Clone, Default)]
pub struct PullFilter {
    /// `Some("open")`, `Some("closed")`, `Some("merged")`, or `None` for all.
    pub status: Option<String>,
    /// Only requests opened by this user.
    pub author: Option<String>,
    /// Only requests assigned to this user.
    pub assignee: Option<String>,
    /// At most this many (newest first).
    pub limit: usize,
    /// Skip this many first.
    pub offset: usize,
}

/// One row of a listing.
pub struct ListedPull {
    /// Fields.
    pub doc: PullDoc,
    /// Number of comments.
    pub comments: u64,
    /// Last activity (epoch seconds).
    pub updated_at: i64,
}

/// Lists requests newest first.
pub fn list(conn: &Connection, project: &str, filter: &PullFilter) -> Result<Vec<ListedPull>> {
    let mut stmt = conn.prepare_cached(
        "SELECT doc, comment_count, updated_at FROM pull_requests
         WHERE project = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR author = ?3)
           AND (?4 IS NULL OR assignee = ?4)
         ORDER BY number DESC LIMIT ?5 + 0 OFFSET ?6 + 0",
    )?;
    let rows = stmt.query_map(
        params![
            project,
            filter.status,
            filter.author,
            filter.assignee,
            filter.limit as i64,
            filter.offset as i64
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (doc, comments, updated_at) = row?;
        out.push(ListedPull {
            doc: serde_json::from_str(&doc)?,
            comments: comments as u64,
            updated_at,
        });
    }
    Ok(out)
}

/// Open requests of a project whose source is `source_repo` (as
/// [`source_key`] names it) and `branch`: what a push to that branch refreshes.
pub fn open_by_source(
    conn: &Connection,
    source_repo: &str,
    branch: &str,
) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT project, number FROM pull_requests
         WHERE source_repo = ?1 AND source_branch = ?2 AND status = 'open' ORDER BY project, number",
    )?;
    let rows = stmt.query_map(params![source_repo, branch], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A cached merge analysis: status name and conflicting paths.
pub fn cached_merge(
    conn: &Connection,
    project: &str,
    target: &str,
    source: &str,
) -> Result<Option<(String, Vec<String>)>> {
    let row: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT status, conflicts FROM pr_merge_cache
             WHERE project = ?1 AND target_head = ?2 AND source_head = ?3",
        )?
        .query_row(params![project, target, source], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((status, conflicts)) => Ok(Some((status, serde_json::from_str(&conflicts)?))),
    }
}

/// Stores a merge analysis.
pub fn cache_merge(
    conn: &Connection,
    project: &str,
    target: &str,
    source: &str,
    status: &str,
    conflicts: &[String],
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO pr_merge_cache (project, target_head, source_head, status, conflicts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        project,
        target,
        source,
        status,
        serde_json::to_string(conflicts)?,
        forge_core::time::now_epoch()
    ])?;
    Ok(())
}
