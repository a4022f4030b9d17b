//! Listing pull requests from the index, and the merge-analysis cache.
//! Callers go through `PullRequests`, which syncs first.

use rusqlite::{params, Connection, OptionalExtension};

use crate::engine::rows::{self, Listed};
use crate::request::PullDoc;
use crate::Result;

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
pub type ListedPull = Listed<PullDoc>;

/// The requests a filter picks (`?1` project, `?2` status, `?3` author,
/// `?4` assignee): one text for the listing and its count.
macro_rules! filtered {
    () => {
        "FROM pull_requests
         WHERE project = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR author = ?3)
           AND (?4 IS NULL OR assignee = ?4)"
    };
}

/// Lists requests newest first.
pub(crate) fn list(
    conn: &Connection,
    project: &str,
    filter: &PullFilter,
) -> Result<Vec<ListedPull>> {
    let mut stmt = conn.prepare_cached(concat!(
        "SELECT doc, comment_count, updated_at ",
        filtered!(),
        " ORDER BY number DESC LIMIT ?5 + 0 OFFSET ?6 + 0"
    ))?;
    rows::listed(
        &mut stmt,
        params![
            project,
            filter.status,
            filter.author,
            filter.assignee,
            filter.limit as i64,
            filter.offset as i64
        ],
        filter.limit,
    )
}

/// How many requests [`list`] would give without its limit and offset.
pub(crate) fn count(conn: &Connection, project: &str, filter: &PullFilter) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(concat!("SELECT count(*) ", filtered!()))?
        .query_row(
            params![project, filter.status, filter.author, filter.assignee],
            |r| r.get(0),
        )?;
    Ok(n as u64)
}

/// Open requests of a project whose source is `source_repo` (as
/// [`source_key`] names it) and `branch`: what a push to that branch refreshes.
pub(crate) fn open_by_source(
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
pub(crate) fn cached_merge(
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
pub(crate) fn cache_merge(
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
