//! Write transactions on the index that nest.
//!
//! Index updates run in a write transaction. A caller may hold one around
//! several of them ([`IndexTx::begin`] on the store's connection): the
//! server's group commit makes a batch of writes visible to other
//! connections only once their commits are on the branch. Inside it, each
//! update is a savepoint instead.

use rusqlite::Connection;

use crate::Result;

/// A write transaction, or a savepoint inside the caller's: rolled back
/// when dropped without [`commit`](Self::commit).
pub struct IndexTx<'c> {
    conn: &'c Connection,
    nested: bool,
    open: bool,
}

impl<'c> IndexTx<'c> {
    /// Begins one (`BEGIN IMMEDIATE`: the write lock at once, so two
    /// writers never both read then fail to upgrade).
    pub fn begin(conn: &'c Connection) -> Result<Self> {
        let nested = !conn.is_autocommit();
        conn.execute_batch(if nested {
            "SAVEPOINT forge_index"
        } else {
            "BEGIN IMMEDIATE"
        })?;
        Ok(IndexTx {
            conn,
            nested,
            open: true,
        })
    }

    /// Makes the changes stay (for a savepoint: part of the outer one).
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.execute_batch(if self.nested {
            "RELEASE forge_index"
        } else {
            "COMMIT"
        })?;
        Ok(())
    }
}

impl std::ops::Deref for IndexTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for IndexTx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch(if self.nested {
                "ROLLBACK TO forge_index; RELEASE forge_index"
            } else {
                "ROLLBACK"
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Connection {
        let conn = Connection::open_in_memory().expect("sqlite");
        conn.execute_batch("CREATE TABLE t (n INTEGER)")
            .expect("table");
        conn
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn top_level_commits_and_rolls_back() -> Result<()> {
        let conn = table();
        let tx = IndexTx::begin(&conn)?;
        tx.execute("INSERT INTO t VALUES (1)", [])?;
        tx.commit()?;
        {
            let tx = IndexTx::begin(&conn)?;
            tx.execute("INSERT INTO t VALUES (2)", [])?;
        }
        assert_eq!(count(&conn), 1);
        assert!(conn.is_autocommit());
        Ok(())
    }

    #[test]
    fn inside_an_outer_transaction_it_is_a_savepoint() -> Result<()> {
        let conn = table();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let tx = IndexTx::begin(&conn)?;
        tx.execute("INSERT INTO t VALUES (1)", [])?;
        tx.commit()?;
        {
            let tx = IndexTx::begin(&conn)?;
            tx.execute("INSERT INTO t VALUES (2)", [])?;
            // dropped: only this part goes
        }
        assert!(!conn.is_autocommit(), "the outer transaction is still open");
        assert_eq!(count(&conn), 1);
        conn.execute_batch("ROLLBACK")?;
        assert_eq!(count(&conn), 0, "the outer rollback takes all");
        Ok(())
    }
}
