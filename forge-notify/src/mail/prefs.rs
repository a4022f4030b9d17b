//! Who wants which notification mails (`mail_prefs`): per user, for one
//! project or by default, `all`, `participating` (the default) or `none`.

use forge_core::Store;
use rusqlite::{params, OptionalExtension};

/// How much mail a user wants (participating unless they said otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Every event of the projects they are a member of.
    All,
    /// The items they wrote, are assigned, watch, commented on or are
    /// mentioned in.
    #[default]
    Participating,
    /// None.
    None,
}

impl Level {
    /// The word stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::All => "all",
            Level::Participating => "participating",
            Level::None => "none",
        }
    }

    /// Reads a level (`all`, `participating`, `none`).
    pub fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "all" => Some(Level::All),
            "participating" => Some(Level::Participating),
            "none" => Some(Level::None),
            _ => None,
        }
    }
}

/// The level `user` set for `project` (`None`: their default).
pub fn get(store: &Store, user: &str, project: Option<&str>) -> rusqlite::Result<Option<Level>> {
    Ok(store
        .conn()
        .prepare_cached("SELECT level FROM mail_prefs WHERE user = ?1 AND project = ?2")?
        .query_row(params![user, project.unwrap_or("")], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|l| Level::parse(&l)))
}

/// The level that applies to `user` on `project`: the project's, else
/// their default, else participating.
pub fn effective(store: &Store, user: &str, project: &str) -> rusqlite::Result<Level> {
    // The project's row sorts before the default's ('').
    Ok(store
        .conn()
        .prepare_cached(
            "SELECT level FROM mail_prefs WHERE user = ?1 AND project IN (?2, '')
             ORDER BY project = '' LIMIT 1",
        )?
        .query_row(params![user, project], |r| r.get::<_, String>(0))
        .optional()?
        .and_then(|l| Level::parse(&l))
        .unwrap_or_default())
}

/// The projects `user` set a level for, with it, by name.
pub fn per_project(store: &Store, user: &str) -> rusqlite::Result<Vec<(String, Level)>> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT project, level FROM mail_prefs WHERE user = ?1 AND project != '' ORDER BY project",
    )?;
    let rows = stmt.query_map([user], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (project, level) = row?;
        if let Some(level) = Level::parse(&level) {
            out.push((project, level));
        }
    }
    Ok(out)
}

/// Sets `user`'s level for `project` (`None`: their default).
pub fn set(store: &Store, user: &str, project: Option<&str>, level: Level) -> rusqlite::Result<()> {
    store.conn().execute(
        "INSERT INTO mail_prefs (user, project, level) VALUES (?1, ?2, ?3)
         ON CONFLICT (user, project) DO UPDATE SET level = excluded.level",
        params![user, project.unwrap_or(""), level.as_str()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projects_level_wins_over_the_default_which_wins_over_participating() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("forge.db")).expect("store");
        assert_eq!(
            effective(&store, "bob", "p").expect("level"),
            Level::Participating
        );
        set(&store, "bob", None, Level::All).expect("set");
        assert_eq!(effective(&store, "bob", "p").expect("level"), Level::All);
        set(&store, "bob", Some("p"), Level::None).expect("set");
        assert_eq!(effective(&store, "bob", "p").expect("level"), Level::None);
        assert_eq!(effective(&store, "bob", "q").expect("level"), Level::All);
        assert_eq!(Level::parse(" None "), Some(Level::None));
        assert_eq!(Level::parse("some"), None);
    }
}
