//! The activity log ("log com"): commits pushed to projects, per user and
//! day, for the contribution heatmap.

use std::collections::BTreeMap;

use rusqlite::params;

use crate::{Result, Store};

/// One commit to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitActivity {
    /// The user the commit's email belongs to.
    pub username: String,
    /// Commit id.
    pub commit: String,
    /// Commit time, epoch seconds.
    pub time: i64,
}

impl Store {
    /// Records commits pushed to a project; a commit already recorded for
    /// the project is not counted twice. Returns how many rows were added.
    pub fn record_activity(&self, project: &str, commits: &[CommitActivity]) -> Result<usize> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT OR IGNORE INTO activity (project, username, commit_id, day, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut added = 0;
        for c in commits {
            let day = chrono::DateTime::from_timestamp(c.time, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "1970-01-01".into());
            added += stmt.execute(params![project, c.username, c.commit, day, c.time])?;
        }
        Ok(added)
    }

    /// Commits per day (`YYYY-MM-DD`, UTC) of a user, in one year or all.
    pub fn activity_by_day(
        &self,
        username: &str,
        year: Option<i32>,
    ) -> Result<BTreeMap<String, u64>> {
        let (from, to) = match year {
            Some(y) => (format!("{y:04}-01-01"), format!("{y:04}-12-31")),
            None => ("0000-01-01".into(), "9999-12-31".into()),
        };
        let mut stmt = self.conn().prepare_cached(
            "SELECT day, count(*) FROM activity WHERE username = ?1 AND day BETWEEN ?2 AND ?3
             GROUP BY day ORDER BY day",
        )?;
        let rows = stmt.query_map(params![username, from, to], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Store {
    /// The commits a user made on one day (`YYYY-MM-DD`): project and commit id.
    pub fn activity_on(&self, username: &str, day: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT project, commit_id FROM activity WHERE username = ?1 AND day = ?2 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map(params![username, day], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_day_once_per_commit() -> Result<()> {
        let store = Store::open_in_memory()?;
        let c = |commit: &str, time| CommitActivity {
            username: "alice".into(),
            commit: commit.into(),
            time,
        };
        // 2026-11-23T10:00Z twice, 2026-11-24T01:00Z, 2025-01-01
        let commits = [
            c("a", 1_795_428_000),
            c("b", 1_795_428_100),
            c("c", 1_795_482_000),
            c("d", 1_735_700_000),
        ];
        assert_eq!(store.record_activity("p", &commits)?, 4);
        assert_eq!(
            store.record_activity("p", &commits[..1])?,
            0,
            "once per commit"
        );
        let days = store.activity_by_day("alice", Some(2026))?;
        assert_eq!(days.get("2026-11-23"), Some(&2));
        assert_eq!(days.get("2026-11-24"), Some(&1));
        assert_eq!(days.len(), 2);
        assert_eq!(store.activity_by_day("alice", None)?.len(), 3);
        assert!(store.activity_by_day("bob", None)?.is_empty());
        Ok(())
    }
}
