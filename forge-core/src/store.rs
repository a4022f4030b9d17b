//! The SQLite store: opening, pragmas and ordered migrations.

use std::path::Path;

use rusqlite::Connection;

use crate::{Error, Result};

/// Migrations in order; the database's `PRAGMA user_version` counts the applied ones.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_issue_tags_by_number.sql"),
    include_str!("../migrations/0003_issue_fields_updated_at.sql"),
    include_str!("../migrations/0004_projection_rowid_tables.sql"),
    include_str!("../migrations/0005_forks.sql"),
    include_str!("../migrations/0006_pull_requests.sql"),
    include_str!("../migrations/0007_ssh_keys_and_activity.sql"),
    include_str!("../migrations/0008_commit_flags.sql"),
    include_str!("../migrations/0009_issue_count_index.sql"),
    include_str!("../migrations/0010_document_engine.sql"),
    include_str!("../migrations/0011_comment_activity_index.sql"),
    include_str!("../migrations/0012_drop_comment_activity_index.sql"),
    include_str!("../migrations/0013_pull_request_issues.sql"),
    include_str!("../migrations/0014_accounts.sql"),
    include_str!("../migrations/0015_project_redirects.sql"),
    include_str!("../migrations/0016_delivery_queue.sql"),
    include_str!("../migrations/0017_webhooks.sql"),
    include_str!("../migrations/0018_webhook_deliveries.sql"),
    include_str!("../migrations/0019_mail_replies.sql"),
    include_str!("../migrations/0020_mail_prefs.sql"),
    include_str!("../migrations/0021_mail_reply_reuse.sql"),
    include_str!("../migrations/0022_jobs_unfinished.sql"),
    include_str!("../migrations/0023_ci.sql"),
    include_str!("../migrations/0024_github.sql"),
    include_str!("../migrations/0025_search.sql"),
    include_str!("../migrations/0026_search_suspended.sql"),
];

/// One connection to a forge database (a forge home's `forge.db`, or the
/// index of an offline clone). Typed functions for each table live in the
/// modules of this crate and of forge-tickets.
pub struct Store {
    conn: Connection,
    /// The database file, when not in memory.
    path: Option<std::path::PathBuf>,
}

/// What a connection does when another holds the lock it needs: tries
/// again every millisecond for a second, then every 10 ms, giving up after
/// about 10 s. SQLite's own busy timeout sleeps 1, 2, 5, 10, 15, 20, 25 …
/// 100 ms between tries, so that a writer finding the lock taken waited far
/// longer than it was held: an API write behind the mail worker's
/// millisecond transactions took 50 ms at p99.
fn wait_for_lock(tries: i32) -> bool {
    const QUICK: i32 = 1000;
    const SLOW: i32 = 900;
    let pause = if tries < QUICK { 1 } else { 10 };
    if tries >= QUICK + SLOW {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_millis(pause));
    true
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        let mut store = Self::setup(conn)?;
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// An in-memory database, for tests and examples.
    pub fn open_in_memory() -> Result<Self> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Self> {
        conn.busy_handler(Some(wait_for_lock))?;
        // Sync runs some twenty distinct statements per document; the default
        // cache of 16 made them re-parse every time.
        conn.set_prepared_statement_cache_capacity(64);
        // `journal_mode` answers with a row, so it goes through a query.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // A rebuild of ten thousand issues must not spill the page cache to the
        // WAL mid-transaction; the cache only grows as far as it is used.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;",
        )?;
        // Short-lived processes (one CLI command, one hook) would otherwise
        // checkpoint and delete the WAL at every exit, then create it again,
        // with two fsyncs, on the next write. The WAL is checkpointed as it
        // grows (every 1000 pages) instead.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        migrate(&mut conn)?;
        Ok(Store { conn, path: None })
    }

    /// The database file (`None` in memory).
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// The connection, for the typed query functions of other crates.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably (to open transactions).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// WAL size past which closing a store folds the WAL back into the database.
const WAL_TRUNCATE_BYTES: u64 = 1 << 20;

impl Store {
    /// Ends a process's use of the store just before it exits: what a drop
    /// does for the database (see [`Drop`]), without handing SQLite's page
    /// cache back to the allocator page by page; the system takes it back
    /// at exit. Everything written is already committed.
    pub fn leave(self) {
        self.fold_big_wal();
        std::mem::forget(self);
    }

    /// The WAL is kept across processes (no checkpoint on close), but the next
    /// process to open the database must read all of it to rebuild its index:
    /// once it passes 1 MiB, fold it into the database and empty it. The file
    /// stays, so no process has to create it again.
    fn fold_big_wal(&self) {
        let Some(path) = &self.path else { return };
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let big = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_TRUNCATE_BYTES);
        if big {
            // Best effort: another process may hold a read lock; the next close retries.
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.fold_big_wal();
    }
}

fn user_version(conn: &Connection) -> Result<usize> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    Ok(usize::try_from(v).unwrap_or(usize::MAX))
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version = user_version(conn)?;
    if version > MIGRATIONS.len() {
        return Err(Error::invalid(
            "database",
            format!(
                "schema version {version} is newer than this forge knows ({}); upgrade forge",
                MIGRATIONS.len()
            ),
        ));
    }
    if version == MIGRATIONS.len() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let version = user_version(&tx)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_reopen() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Io {
            path: "tmp".into(),
            source: e,
        })?;
        let path = dir.path().join("forge.db");
        Store::open(&path)?;
        let store = Store::open(&path)?;
        let version = user_version(store.conn())?;
        assert_eq!(version, MIGRATIONS.len());
        Ok(())
    }

    #[test]
    fn newer_schema_is_refused() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Io {
            path: "tmp".into(),
            source: e,
        })?;
        let path = dir.path().join("forge.db");
        Store::open(&path)?
            .conn()
            .pragma_update(None, "user_version", 99)?;
        let err = Store::open(&path).err().expect("newer schema refused");
        assert!(
            err.to_string().contains("newer than this forge knows"),
            "{err}"
        );
        Ok(())
    }
}
