//! The index rows every kind shares: sync state, documents by number,
//! comments, provisional numbers and the pushers of commits. Table names
//! come from the kind ([`Kind`]), never from input.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::doc::CommentDoc;
use crate::engine::kind::{Kind, PROVISIONAL_BASE};
use crate::Result;

/// The commit the index of `K` reflects: `None` never indexed, `Some("")`
/// indexed while the branch was unborn.
pub(crate) fn indexed_commit<K: Kind>(conn: &Connection, project: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT commit_id FROM {} WHERE project = +?1",
            K::SYNC_TABLE
        ))?
        .query_row([project], |r| r.get(0))
        .optional()?)
}

/// Records the commit the index of `K` now reflects.
pub(crate) fn set_indexed_commit<K: Kind>(
    conn: &Connection,
    project: &str,
    commit: &str,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO {} (project, commit_id) VALUES (?1, ?2)
         ON CONFLICT (project) DO UPDATE SET commit_id = ?2",
        K::SYNC_TABLE
    ))?
    .execute(params![project, commit])?;
    Ok(())
}

/// One row of a listing: a document, its comment count, its last activity.
#[derive(Debug, Clone)]
pub struct Listed<D> {
    /// The document's fields.
    pub doc: D,
    /// Number of comments.
    pub comments: u64,
    /// Last activity (epoch seconds).
    pub updated_at: i64,
}

/// Reads the rows of a listing query selecting `doc, comment_count,
/// updated_at`, in its order. `expected` is how many rows the query may
/// give at most (its limit): the list is made that big once rather than
/// grown and copied (a document's fields are hundreds of bytes).
pub(crate) fn listed<D: serde::de::DeserializeOwned>(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    expected: usize,
) -> Result<Vec<Listed<D>>> {
    /// No more reserved up front than this, whatever the limit says.
    const MOST_RESERVED: usize = 10_000;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::with_capacity(expected.min(MOST_RESERVED));
    while let Some(r) = rows.next()? {
        // Parsed from SQLite's own copy of the text, not a String of it.
        let doc = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        out.push(Listed {
            doc: serde_json::from_str(doc)?,
            comments: r.get::<_, i64>(1)? as u64,
            updated_at: r.get(2)?,
        });
    }
    Ok(out)
}

/// An indexed document.
pub(crate) fn doc<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
) -> Result<Option<K::Doc>> {
    let raw: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT doc FROM {} WHERE project = ?1 AND number = ?2",
            K::TABLE
        ))?
        .query_row(params![project, number as i64], |r| r.get(0))
        .optional()?;
    Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
}

/// Removes a document's rows and its comments.
pub(crate) fn delete_doc<K: Kind>(conn: &Connection, project: &str, number: u64) -> Result<()> {
    for table in [K::TABLE, K::COMMENTS].iter().chain(K::SIDE_TABLES) {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE project = ?1 AND number = ?2"
        ))?
        .execute(params![project, number as i64])?;
    }
    Ok(())
}

/// Moves a document's rows to another number (a provisional document the
/// forge numbered).
pub(crate) fn renumber<K: Kind>(
    conn: &Connection,
    project: &str,
    from: u64,
    to: u64,
) -> Result<()> {
    for table in [K::TABLE, K::COMMENTS].iter().chain(K::SIDE_TABLES) {
        conn.prepare_cached(&format!(
            "UPDATE {table} SET number = ?3 WHERE project = ?1 AND number = ?2"
        ))?
        .execute(params![project, from as i64, to as i64])?;
    }
    Ok(())
}

/// Every number indexed for a project.
pub(crate) fn numbers<K: Kind>(conn: &Connection, project: &str) -> Result<Vec<u64>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT number FROM {} WHERE project = ?1",
        K::TABLE
    ))?;
    let rows = stmt.query_map([project], |r| r.get::<_, i64>(0))?;
    Ok(rows
        .map(|r| r.map(|n| n as u64))
        .collect::<Result<_, _>>()?)
}

/// Drops every indexed row of a project (before a rebuild).
pub(crate) fn clear_project<K: Kind>(conn: &Connection, project: &str) -> Result<()> {
    // When no other project has rows, an unqualified DELETE lets SQLite drop
    // whole pages instead of removing rows one by one through every index.
    let others: bool = conn.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM {sync} WHERE project <> ?1)
                 OR EXISTS (SELECT 1 FROM {table} WHERE project <> ?1)",
            sync = K::SYNC_TABLE,
            table = K::TABLE
        ),
        [project],
        |r| r.get(0),
    )?;
    let tables = [K::TABLE, K::COMMENTS, K::SYNC_TABLE];
    for table in tables.iter().chain(K::SIDE_TABLES) {
        if others {
            conn.execute(
                &format!("DELETE FROM {table} WHERE project = ?1"),
                [project],
            )?;
        } else {
            conn.execute(&format!("DELETE FROM {table}"), [])?;
        }
    }
    // Provisional numbers stay: a rebuild gives documents the numbers
    // they had.
    Ok(())
}

/// Which comments count as a document's comments: what people said, not
/// the notification comments recording field changes (Pagure counts its
/// "user comments" alike). They still count as activity.
const SAID: &str = "coalesce(json_extract(c.doc, '$.notification'), 0) = 0";

/// Recomputes the comment counts and last activity of documents whose
/// comments changed: the later of their own fields' time and their newest comment.
pub(crate) fn refresh_activity<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE {t} SET
            comment_count = (SELECT count(*) FROM {c} c WHERE c.project = ?1 AND c.number = ?2
                             AND {said}),
            updated_at = max(fields_updated_at,
                coalesce((SELECT max(created_at) FROM {c} c WHERE c.project = ?1 AND c.number = ?2), 0))
         WHERE project = ?1 AND number = ?2",
        t = K::TABLE,
        c = K::COMMENTS,
        said = SAID,
    ))?
    .execute(params![project, number as i64])?;
    Ok(())
}

/// Counts `added` new comments, the newest made at `newest`, into a
/// document's comment count and last activity, without reading its other
/// comments (a long discussion costs no more per comment than a short one).
pub(crate) fn count_in_comments<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
    added: u64,
    newest: i64,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE {} SET comment_count = comment_count + ?3, updated_at = max(updated_at, ?4)
         WHERE project = ?1 AND number = ?2",
        K::TABLE
    ))?
    .execute(params![project, number as i64, added as i64, newest])?;
    Ok(())
}

/// The same for every document of a project at once (after a rebuild).
pub(crate) fn refresh_all_activity<K: Kind>(conn: &Connection, project: &str) -> Result<()> {
    conn.execute(
        &format!(
            "UPDATE {t} SET
                comment_count = (SELECT count(*) FROM {c} c WHERE c.project = {t}.project
                                 AND c.number = {t}.number AND {said}),
                updated_at = max(fields_updated_at, coalesce((SELECT max(created_at) FROM {c} c
                                 WHERE c.project = {t}.project AND c.number = {t}.number), 0))
             WHERE project = ?1",
            t = K::TABLE,
            c = K::COMMENTS,
            said = SAID,
        ),
        [project],
    )?;
    Ok(())
}

/// An indexed comment.
pub(crate) fn comment<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
    id: &str,
) -> Result<Option<CommentDoc>> {
    let raw: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT doc FROM {} WHERE project = ?1 AND number = ?2 AND comment_id = ?3",
            K::COMMENTS
        ))?
        .query_row(params![project, number as i64, id], |r| r.get(0))
        .optional()?;
    Ok(raw.map(|r| serde_json::from_str(&r)).transpose()?)
}

/// Writes a comment's row (`raw`: its JSON).
pub(crate) fn put_comment<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
    doc: &CommentDoc,
    raw: &str,
) -> Result<()> {
    let created = forge_core::time::parse_rfc3339(&doc.created_at).unwrap_or(0);
    conn.prepare_cached(&format!(
        "INSERT INTO {} (project, number, comment_id, author, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (project, number, comment_id) DO UPDATE SET author = ?4, created_at = ?5, doc = ?6",
        K::COMMENTS
    ))?
    .execute(params![project, number as i64, doc.id, doc.author, created, raw])?;
    Ok(())
}

/// Removes a comment's row.
pub(crate) fn delete_comment<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
    id: &str,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM {} WHERE project = ?1 AND number = ?2 AND comment_id = ?3",
        K::COMMENTS
    ))?
    .execute(params![project, number as i64, id])?;
    Ok(())
}

/// A document's last activity: the later of its own fields' time and its
/// newest comment (RFC 3339 times of one format compare as text).
pub(crate) fn last_activity(updated_at: &str, comments: &[CommentDoc]) -> String {
    comments
        .iter()
        .map(|c| c.created_at.as_str())
        .chain([updated_at])
        .max_by_key(|t| time_key(t))
        .unwrap_or_default()
        .to_string()
}

/// An RFC 3339 time as it sorts: its whole seconds, then the digits of its
/// fraction (none sorts first), so that `…:23Z` comes before `…:23.5Z`.
fn time_key(t: &str) -> (&str, &str) {
    // forge writes `YYYY-MM-DDTHH:MM:SS[.fff]Z`: the seconds sort as text.
    let (whole, fraction) = t.split_once('.').unwrap_or((t.trim_end_matches('Z'), ""));
    (
        whole,
        fraction.trim_end_matches(|c: char| !c.is_ascii_digit()),
    )
}

/// The comments of a document, oldest first.
pub(crate) fn comments<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
) -> Result<Vec<CommentDoc>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT created_at, doc FROM {} WHERE project = ?1 AND number = ?2 ORDER BY comment_id",
        K::COMMENTS
    ))?;
    let rows = stmt.query_map(params![project, number as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (created, raw) = row?;
        out.push((created, serde_json::from_str(&raw)?));
    }
    Ok(oldest_first(out))
}

/// Comments read in id order (the index's), put in time order: sorting a
/// document's few comments here spares SQLite a sort of every row read
/// (a whole listing's comments, when pages are cut from it).
fn oldest_first(mut timed: Vec<(i64, CommentDoc)>) -> Vec<CommentDoc> {
    // Stable: comments of the same second stay in id order.
    timed.sort_by_key(|(created, _)| *created);
    timed.into_iter().map(|(_, c)| c).collect()
}

/// The comments of several documents at once, oldest first, by number.
pub(crate) fn comments_of<K: Kind>(
    conn: &Connection,
    project: &str,
    numbers: &[u64],
) -> Result<HashMap<u64, Vec<CommentDoc>>> {
    let (Some(lo), Some(hi)) = (numbers.iter().min(), numbers.iter().max()) else {
        return Ok(HashMap::new());
    };
    // One range scan over the (project, number, comment_id) index, in its
    // order, instead of one query per document; those outside the set are
    // dropped here.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT number, created_at, doc FROM {} WHERE project = +?1 AND number BETWEEN +?2 AND +?3
         ORDER BY number, comment_id",
        K::COMMENTS
    ))?;
    let wanted: std::collections::HashSet<u64> = numbers.iter().copied().collect();
    let rows = stmt.query_map(params![project, *lo as i64, *hi as i64], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut timed: HashMap<u64, Vec<(i64, CommentDoc)>> = HashMap::new();
    for row in rows {
        let (n, created, raw) = row?;
        if wanted.contains(&n) {
            timed
                .entry(n)
                .or_default()
                .push((created, serde_json::from_str(&raw)?));
        }
    }
    Ok(timed
        .into_iter()
        .map(|(n, comments)| (n, oldest_first(comments)))
        .collect())
}

/// The number a provisional document's uid was given, if any.
pub(crate) fn provisional_number<K: Kind>(
    conn: &Connection,
    project: &str,
    uid: &str,
) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached(
            "SELECT number FROM provisional_numbers WHERE project = ?1 AND kind = ?2 AND uid = ?3",
        )?
        .query_row(params![project, K::PREFIX, uid], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|n| n as u64))
}

/// The uid of a document known by `number` that still lives under `new/`.
pub(crate) fn provisional_uid<K: Kind>(
    conn: &Connection,
    project: &str,
    number: u64,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT uid FROM provisional_numbers WHERE project = ?1 AND kind = ?2 AND number = ?3",
        )?
        .query_row(params![project, K::PREFIX, number as i64], |r| r.get(0))
        .optional()?)
}

/// Records the number given to a provisional uid.
pub(crate) fn set_provisional<K: Kind>(
    conn: &Connection,
    project: &str,
    uid: &str,
    number: u64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO provisional_numbers (project, kind, uid, number) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (project, kind, uid) DO UPDATE SET number = ?4",
    )?
    .execute(params![project, K::PREFIX, uid, number as i64])?;
    Ok(())
}

/// Forgets a provisional uid (its document reached its numbered place, or
/// was deleted).
pub(crate) fn forget_provisional<K: Kind>(
    conn: &Connection,
    project: &str,
    uid: &str,
) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM provisional_numbers WHERE project = ?1 AND kind = ?2 AND uid = ?3",
    )?
    .execute(params![project, K::PREFIX, uid])?;
    Ok(())
}

/// The provisional documents that have a real number but still live under
/// `new/` (at a forge: what the next settling moves), as (uid, number).
pub(crate) fn numbered_provisionals<K: Kind>(
    conn: &Connection,
    project: &str,
) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uid, number FROM provisional_numbers
         WHERE project = ?1 AND kind = ?2 AND number < ?3 ORDER BY number",
    )?;
    let rows = stmt.query_map(params![project, K::PREFIX, PROVISIONAL_BASE as i64], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The next provisional number of an offline clone.
pub(crate) fn next_provisional<K: Kind>(conn: &Connection, project: &str) -> Result<u64> {
    let top: Option<i64> = conn
        .prepare_cached(
            "SELECT max(number) FROM provisional_numbers WHERE project = ?1 AND kind = ?2",
        )?
        .query_row(params![project, K::PREFIX], |r| r.get(0))?;
    let top = top.map_or(0, |n| n as u64).max(PROVISIONAL_BASE);
    Ok(top.saturating_add(1))
}

/// Records who pushed each of `commits` (pre-receive, before the branch moves).
pub fn record_pushers(
    conn: &Connection,
    project: &str,
    commits: &[String],
    pusher: &str,
) -> Result<()> {
    let now = forge_core::time::now_epoch();
    // Rows of pushes that never landed (refused by a later hook) age out.
    conn.prepare_cached("DELETE FROM push_actors WHERE created_at < ?1")?
        .execute([now - 7 * 24 * 3600])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO push_actors (commit_id, project, pusher, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (commit_id) DO UPDATE SET project = ?2, pusher = ?3, created_at = ?4",
    )?;
    for c in commits {
        insert.execute(params![c, project, pusher, now])?;
    }
    Ok(())
}

/// Who pushed a commit, when a push recorded it.
pub(crate) fn pusher_of(conn: &Connection, project: &str, commit: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT pusher FROM push_actors WHERE commit_id = ?1 AND project = ?2")?
        .query_row(params![commit, project], |r| r.get(0))
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fraction_of_a_second_is_later_than_the_whole_second() {
        assert!(time_key("2026-12-02T07:36:23.5Z") > time_key("2026-12-02T07:36:23Z"));
        assert!(time_key("2026-12-02T07:36:23.25Z") < time_key("2026-12-02T07:36:23.5Z"));
        assert!(time_key("2026-12-02T07:36:24Z") > time_key("2026-12-02T07:36:23.999999Z"));
    }
}
