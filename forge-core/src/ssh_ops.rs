//! Git operations over SSH, counted for `/metrics`: each runs in its own
//! short process (`forge ssh serve`), so the counts live in the database.

use rusqlite::params;

use crate::repo_access::GitService;
use crate::{Result, Store};

/// How an operation over SSH ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// git ran and succeeded.
    Ok,
    /// git ran and failed (a rejected push, a client gone).
    Failed,
    /// Access was refused before git ran.
    Refused,
}

impl Outcome {
    /// Its label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
        }
    }
}

impl Store {
    /// Counts one operation of `service` (labelled `upload-pack`,
    /// `receive-pack`, `upload-archive`).
    pub fn count_ssh_git_operation(&self, service: GitService, outcome: Outcome) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO ssh_git_operations (service, outcome, count) VALUES (?1, ?2, 1)
                 ON CONFLICT (service, outcome) DO UPDATE SET count = count + 1",
            )?
            .execute(params![service.subcommand(), outcome.as_str()])?;
        Ok(())
    }

    /// Every count: service, outcome, operations.
    pub fn ssh_git_operations(&self) -> Result<Vec<(String, String, u64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT service, outcome, count FROM ssh_git_operations ORDER BY service, outcome",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_counted_by_service_and_outcome() {
        let store = Store::open_in_memory().expect("store");
        store
            .count_ssh_git_operation(GitService::UploadPack, Outcome::Ok)
            .expect("count");
        store
            .count_ssh_git_operation(GitService::UploadPack, Outcome::Ok)
            .expect("count");
        store
            .count_ssh_git_operation(GitService::ReceivePack, Outcome::Refused)
            .expect("count");
        assert_eq!(
            store.ssh_git_operations().expect("read"),
            vec![
                ("receive-pack".into(), "refused".into(), 1),
                ("upload-pack".into(), "ok".into(), 2)
            ]
        );
    }
}
