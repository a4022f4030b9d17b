//! CI statuses on commits (Pagure's commit flags), kept in SQLite.

use rusqlite::params;
use serde::Serialize;

use crate::{name, time, Error, Result, Store};

/// The states a flag may have.
pub const FLAG_STATUSES: &[&str] = &["success", "failure", "error", "pending", "canceled"];

/// A flag on a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitFlag {
    /// The commit.
    pub commit: String,
    /// Flag name (the CI job).
    pub name: String,
    /// One of [`FLAG_STATUSES`].
    pub status: String,
    /// Completion.
    pub percent: Option<u8>,
    /// Free text.
    pub comment: String,
    /// Link.
    pub url: Option<String>,
    /// Who posted it.
    pub username: String,
    /// First posted, epoch seconds.
    pub created_at: i64,
    /// Last posted, epoch seconds.
    pub updated_at: i64,
}

impl Store {
    /// Posts a flag on a commit; returns whether one of that name was replaced.
    pub fn set_commit_flag(&self, project: &str, flag: &CommitFlag) -> Result<bool> {
        name::validate_label("flag", &flag.name)?;
        if !FLAG_STATUSES.contains(&flag.status.as_str()) {
            return Err(Error::invalid(
                format!("flag status `{}`", name::printable(&flag.status)),
                "expected success, failure, error, pending or canceled",
            ));
        }
        if flag.percent.is_some_and(|p| p > 100) {
            return Err(Error::invalid("percent", "must be between 0 and 100"));
        }
        if flag.commit.len() != 40 || !flag.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                format!("commit `{}`", name::printable(&flag.commit)),
                "expected a full commit id",
            ));
        }
        let existed: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM commit_flags WHERE project = ?1 AND commit_id = ?2 AND name = ?3)",
            params![project, flag.commit, flag.name],
            |r| r.get(0),
        )?;
        let now = time::now_epoch();
        self.conn().execute(
            "INSERT INTO commit_flags (project, commit_id, name, status, percent, comment, url, username, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT (project, commit_id, name) DO UPDATE SET status = ?4, percent = ?5, comment = ?6,
                 url = ?7, username = ?8, updated_at = ?9",
            params![project, flag.commit, flag.name, flag.status, flag.percent, flag.comment, flag.url, flag.username, now],
        )?;
        Ok(existed)
    }

    /// The flags of a commit, by name.
    pub fn commit_flags(&self, project: &str, commit: &str) -> Result<Vec<CommitFlag>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT commit_id, name, status, percent, comment, url, username, created_at, updated_at
             FROM commit_flags WHERE project = ?1 AND commit_id = ?2 ORDER BY name",
        )?;
        let rows = stmt.query_map(params![project, commit], |r| {
            Ok(CommitFlag {
                commit: r.get(0)?,
                name: r.get(1)?,
                status: r.get(2)?,
                percent: r.get(3)?,
                comment: r.get(4)?,
                url: r.get(5)?,
                username: r.get(6)?,
                created_at: r.get(7)?,
                updated_at: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One flag of a commit.
    pub fn commit_flag(
        &self,
        project: &str,
        commit: &str,
        name: &str,
    ) -> Result<Option<CommitFlag>> {
        Ok(self
            .commit_flags(project, commit)?
            .into_iter()
            .find(|f| f.name == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_set_replaced_and_checked() -> Result<()> {
        let store = Store::open_in_memory()?;
        let flag = |status: &str| CommitFlag {
            commit: "a".repeat(40),
            name: "ci".into(),
            status: status.into(),
            percent: Some(50),
            comment: String::new(),
            url: None,
            username: "alice".into(),
            created_at: 0,
            updated_at: 0,
        };
        assert!(!store.set_commit_flag("p", &flag("pending"))?);
        assert!(store.set_commit_flag("p", &flag("success"))?, "replaced");
        let flags = store.commit_flags("p", &"a".repeat(40))?;
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].status, "success");
        assert!(store.commit_flag("p", &"a".repeat(40), "ci")?.is_some());
        assert!(store.set_commit_flag("p", &flag("great")).is_err());
        let mut short = flag("success");
        short.commit = "abc".into();
        assert!(store.set_commit_flag("p", &short).is_err());
        Ok(())
    }
}
