//! Keeping the search table: the triggers of the index tables write it
//! row by row in every transaction that changes the index; a rebuild of a
//! project's index (a reindex) sets them aside for that project and kind
//! ([`suspend`]) and writes its search rows at once afterwards
//! ([`resume`]), in the same transaction.

use forge_core::store::Store;
use rusqlite::Connection;

use crate::engine::kind::Kind;
use crate::Result;

/// Sets the triggers aside for `project`'s documents of kind `K` and drops
/// their search rows, in bulk.
pub(crate) fn suspend<K: Kind>(conn: &Connection, project: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO search_suspended (project, kind) VALUES (?1, ?2)",
        [project, K::PREFIX],
    )?;
    conn.execute(
        &format!(
            "DELETE FROM search_text WHERE rowid IN (
                 SELECT id * 4 + {tag} FROM {docs} WHERE project = ?1
                 UNION ALL SELECT id * 4 + {tag} + 2 FROM {comments} WHERE project = ?1)",
            tag = K::SEARCH_TAG,
            docs = K::TABLE,
            comments = K::COMMENTS
        ),
        [project],
    )?;
    Ok(())
}

/// Writes the search rows of `project`'s documents of kind `K` and their
/// comments at once, and gives the triggers back their work.
pub(crate) fn resume<K: Kind>(conn: &Connection, project: &str) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO search_text (rowid, title, body)
             SELECT id * 4 + {tag}, title, coalesce(json_extract(doc, '$.body'), '') FROM {docs} WHERE project = ?1",
            tag = K::SEARCH_TAG,
            docs = K::TABLE
        ),
        [project],
    )?;
    conn.execute(
        &format!(
            "INSERT INTO search_text (rowid, title, body)
             SELECT id * 4 + {tag} + 2, '', coalesce(json_extract(doc, '$.body'), '') FROM {comments} WHERE project = ?1",
            tag = K::SEARCH_TAG,
            comments = K::COMMENTS
        ),
        [project],
    )?;
    conn.execute(
        "DELETE FROM search_suspended WHERE project = ?1 AND kind = ?2",
        [project, K::PREFIX],
    )?;
    Ok(())
}

/// Merges the search table's segments into one. A rebuild deletes and
/// writes a project's rows in bulk, which leaves them in large segments
/// beside the old ones until enough later writes trigger SQLite's own
/// merges; every query reads each segment, and on 10,000 issues the API
/// answered half as many searches until this ran (0.1 s for 60,000 rows).
/// The work is that of the whole table: done once after rebuilds, not per
/// project.
pub fn optimize(store: &Store) -> Result<()> {
    store.conn().execute(
        "INSERT INTO search_text (search_text) VALUES ('optimize')",
        [],
    )?;
    Ok(())
}
