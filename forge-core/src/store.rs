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
    include_str!("../migrations/0027_ssh_git_operations.sql"),
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
        check_length_settled(path)?;
        let opened = Connection::open(path)
            .map_err(Error::from)
            .and_then(Self::setup);
        let mut store = opened.map_err(|e| damaged(path, e))?;
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// SQLite's own check of the whole database (`PRAGMA integrity_check`,
    /// or the faster `quick_check` that skips matching indexes to tables):
    /// the problems it names, none when the database is sound. A database
    /// too damaged to be read at all is [`Error::Damaged`].
    pub fn check_integrity(&self, quick: bool) -> Result<Vec<String>> {
        let pragma = if quick {
            "PRAGMA quick_check"
        } else {
            "PRAGMA integrity_check"
        };
        let checked = (|| {
            let mut stmt = self.conn.prepare(pragma)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<String>>>()
        })();
        let lines = match checked {
            Ok(lines) => lines,
            Err(e) => {
                let path = self.path.as_deref().unwrap_or(Path::new(":memory:"));
                return Err(damaged(path, e.into()));
            }
        };
        Ok(lines.into_iter().filter(|l| l != "ok").collect())
    }

    /// Copies the database to `dest` (a new file) through SQLite's online
    /// backup API, inside one read transaction of this connection, so the
    /// copy is the database as one moment saw it while writers go on (WAL).
    /// The copy goes in steps of 64 pages; `after_step` is told the bytes
    /// of each, to pace the copy and give the processor back there: under
    /// a server's load, a one-step copy of 50 MB ran for whole scheduler
    /// ticks (4 ms) before a woken server thread got the core back, even at
    /// `SCHED_IDLE` (`perf sched`). The snapshot held across steps keeps
    /// them one copy: SQLite restarts a backup whose source changed between
    /// steps only when each step takes its own read transaction. This
    /// connection's page cache is kept small meanwhile (every page passes
    /// through it once).
    pub fn backup_to(&self, dest: &Path, after_step: &mut dyn FnMut(u64)) -> Result<()> {
        const STEP: i32 = 64;
        let mut target = Connection::open(dest)?;
        let cache: i64 = self.conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        let page: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        self.conn
            .execute_batch("PRAGMA cache_size = -2048; BEGIN DEFERRED")?;
        let copied = (|| -> Result<()> {
            // The snapshot starts with the first read.
            let _: i64 = self
                .conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
            let copy = rusqlite::backup::Backup::new(&self.conn, &mut target)?;
            loop {
                match copy.step(STEP)? {
                    rusqlite::backup::StepResult::Done => break,
                    rusqlite::backup::StepResult::More => after_step(STEP as u64 * page as u64),
                    // Another connection holds a lock the first page needs.
                    _ => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
            Ok(())
        })();
        let ended = self
            .conn
            .execute_batch(&format!("COMMIT; PRAGMA cache_size = {cache}"));
        copied?;
        ended?;
        // A copy at rest needs no WAL: in rollback mode it opens read-only
        // without SQLite creating files beside it.
        let _mode: String = target.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        target
            .close()
            .map_err(|(_, e)| Error::Sqlite(e))
            .map(|_| ())
    }

    /// Opens the database at `path` to read only (a backup being checked):
    /// nothing is created, migrated or written. A database of another
    /// schema version than this forge's is refused, naming both.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        check_length(path)?;
        let opened = (|| {
            let mut conn = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_handler(Some(wait_for_lock))?;
            let version = user_version(&conn)?;
            if version != MIGRATIONS.len() {
                return Err(Error::invalid(
                    path.display().to_string(),
                    format!(
                        "schema version {version}, where this forge has {} (open it read-write to migrate it)",
                        MIGRATIONS.len()
                    ),
                ));
            }
            Ok(Store {
                conn,
                path: Some(path.to_path_buf()),
            })
        })();
        opened.map_err(|e| damaged(path, e))
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
        // A cached statement keeps its plan when new values are bound: by
        // default SQLite (3.54) plans anew on the next step after a bound
        // LIMIT, LIKE pattern or compared value changes, which made the
        // search's statement parse and plan afresh on every request (a
        // quarter of the server's time); every statement here is planned
        // for any value anyway.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        migrate(&mut conn)?;
        Ok(Store { conn, path: None })
    }

    /// Maps the database file (its first 256 MB) for reads, for a process
    /// that runs one command: it starts with an empty page cache, and
    /// mapped pages are not copied out of the kernel's cache one system
    /// call each (a search joining 10,000 rows read 2,000 pages: 21.7 ms
    /// for the process with copies, 15.2 ms mapped). Writes still go
    /// through the WAL. Not for a server's connections: with a warm cache
    /// every page read costs more mapped (the search API answered 25–30%
    /// fewer requests).
    pub fn map_reads(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA mmap_size = 268435456;")?;
        Ok(())
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

/// A database file shorter than its header says (a truncated copy, a full
/// disk) is refused at once: SQLite would only notice at the first read of
/// a missing page, in the middle of some command. Only for a database at
/// rest as it is (a backup); a live one goes through
/// [`check_length_settled`].
fn check_length(path: &Path) -> Result<()> {
    use std::io::Read as _;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(()); // created by the open, or refused there with its reason
    };
    let mut header = [0u8; 100];
    let Ok(()) = file.read_exact(&mut header) else {
        return Ok(()); // empty (new) or too short for SQLite to call it a database
    };
    if &header[..16] != b"SQLite format 3\0" {
        return Ok(());
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    // The page count is valid only when written by the same change (SQLite).
    let valid = header[24..28] == header[92..96];
    let len = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if valid && len < pages * page_size {
        return Err(Error::Damaged {
            path: path.display().to_string(),
            detail: format!(
                "truncated: {len} bytes where its header counts {}",
                pages * page_size
            ),
        });
    }
    Ok(())
}

/// [`check_length`] for a live database: a checkpoint writes page 1 (the
/// header, with the new page count) before the pages that extend the file,
/// so a file shorter than its header is looked at again, for up to a
/// second, before it is called truncated.
fn check_length_settled(path: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match check_length(path) {
            Err(_) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            done => return done,
        }
    }
}

/// A database SQLite cannot read (not a database, malformed) as
/// [`Error::Damaged`]; other errors as they are.
fn damaged(path: &Path, e: Error) -> Error {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    match e {
        Error::Sqlite(rusqlite::Error::SqliteFailure(code, detail))
            if matches!(code.code, DatabaseCorrupt | NotADatabase) =>
        {
            Error::Damaged {
                path: path.display().to_string(),
                detail: detail.unwrap_or_else(|| code.to_string()),
            }
        }
        e => e,
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

    fn temp_dir() -> Result<tempfile::TempDir> {
        tempfile::tempdir().map_err(|e| Error::Io {
            path: "tmp".into(),
            source: e,
        })
    }

    fn io_error(e: std::io::Error) -> Error {
        Error::Io {
            path: "forge.db".into(),
            source: e,
        }
    }

    #[test]
    fn migrations_apply_once_and_reopen() -> Result<()> {
        let dir = temp_dir()?;
        let path = dir.path().join("forge.db");
        Store::open(&path)?;
        let store = Store::open(&path)?;
        let version = user_version(store.conn())?;
        assert_eq!(version, MIGRATIONS.len());
        Ok(())
    }

    #[test]
    fn damaged_database_is_named() -> Result<()> {
        let dir = temp_dir()?;
        let path = dir.path().join("forge.db");
        std::fs::write(&path, vec![b'x'; 8192]).map_err(io_error)?;
        let err = Store::open(&path).err().expect("garbage refused");
        assert!(matches!(err, Error::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("forge fsck --repair"), "{err}");
        Ok(())
    }

    #[test]
    fn truncated_database_is_named() -> Result<()> {
        let dir = temp_dir()?;
        let path = dir.path().join("forge.db");
        let store = Store::open(&path)?;
        store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        drop(store);
        let bytes = std::fs::read(&path).map_err(io_error)?;
        std::fs::write(&path, &bytes[..bytes.len() / 2]).map_err(io_error)?;
        for opened in [Store::open_read_only(&path), Store::open(&path)] {
            let err = opened.err().expect("truncated refused");
            assert!(err.to_string().contains("truncated"), "{err}");
        }
        Ok(())
    }

    #[test]
    fn backup_is_a_sound_copy() -> Result<()> {
        let dir = temp_dir()?;
        let store = Store::open(&dir.path().join("forge.db"))?;
        store.conn().execute(
            "INSERT INTO users (username, full_name, created_at) VALUES ('ann', 'Ann', 0)",
            [],
        )?;
        let copy = dir.path().join("copy.db");
        store.backup_to(&copy, &mut |_| {})?;
        let copied = Store::open(&copy)?;
        assert!(copied.check_integrity(false)?.is_empty());
        let n: i64 = copied
            .conn()
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
        assert_eq!(n, 1);
        Ok(())
    }

    #[test]
    fn a_backup_in_steps_is_the_moment_it_started() -> Result<()> {
        let dir = temp_dir()?;
        let path = dir.path().join("forge.db");
        let store = Store::open(&path)?;
        // Some 2 MB of rows: the copy takes many steps of 64 pages.
        store.conn().execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO users (username, full_name, created_at)
             SELECT 'user' || i, printf('%.1000c', 'x'), 0 FROM n",
        )?;
        // Another connection writes between the steps.
        let writer = Store::open(&path)?;
        let mut steps = 0;
        let copy = dir.path().join("copy.db");
        store.backup_to(&copy, &mut |bytes| {
            assert!(bytes > 0);
            steps += 1;
            writer
                .conn()
                .execute(
                    "INSERT INTO users (username, full_name, created_at) VALUES (?1, '', 0)",
                    [format!("late{steps}")],
                )
                .expect("a write beside the backup");
        })?;
        assert!(steps > 5, "{steps} steps");
        let copied = Store::open_read_only(&copy)?;
        assert!(copied.check_integrity(false)?.is_empty());
        let (all, late): (i64, i64) = copied.conn().query_row(
            "SELECT count(*), count(*) FILTER (WHERE username LIKE 'late%') FROM users",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        assert_eq!((all, late), (2000, 0));
        // The source keeps its cache size and is out of the transaction.
        let cache: i64 = store
            .conn()
            .query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        assert_eq!(cache, -65536);
        assert!(store.conn().is_autocommit());
        Ok(())
    }

    #[test]
    fn newer_schema_is_refused() -> Result<()> {
        let dir = temp_dir()?;
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
