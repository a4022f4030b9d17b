//! A project's rows when it is renamed, given to another owner or deleted.
//! The repositories on disk move with them in `forge_tickets::lifecycle`,
//! which calls these inside its write transaction.

use rusqlite::{params, OptionalExtension};

use super::Project;
use crate::role::Role;
use crate::{name, Error, Result, Store};

impl Store {
    /// Refuses `full_name` when a project other than `except` has it, or a
    /// name differing from it only in case (one folder on a
    /// case-insensitive file system, and one project for people).
    pub(crate) fn check_name_free(&self, full_name: &str, except: Option<i64>) -> Result<()> {
        let taken: Option<String> = self
            .conn()
            .query_row(
                "SELECT full_name FROM projects WHERE lower(full_name) = lower(?1) AND id IS NOT ?2",
                params![full_name, except],
                |r| r.get(0),
            )
            .optional()?;
        match taken {
            Some(taken) if taken == full_name => Err(Error::AlreadyExists {
                kind: "project",
                name: taken,
            }),
            Some(taken) => Err(Error::invalid(
                format!("project name `{full_name}`"),
                format!("project `{taken}` exists, and names may not differ only in case"),
            )),
            None => Ok(()),
        }
    }

    /// The tables whose rows name a project by its full name (the index of
    /// its issues and pull requests, activity, flags...), found in the
    /// schema so that a table added later is not forgotten. The event log
    /// is left out: it records what happened under the name of the time.
    fn tables_by_project_name(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c
             WHERE m.type = 'table' AND c.name = 'project' AND m.name <> 'events'
             ORDER BY m.name",
        )?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(names)
    }

    /// Gives a project a new full name (`name` or `ns/name`): its row, the
    /// rows that name it, and a redirect from the old name. Call it inside
    /// a write transaction (the repositories move in the same one).
    pub fn rename_project_rows(&self, project: &Project, new_full_name: &str) -> Result<Project> {
        let (namespace, short) = name::split_project(new_full_name)?;
        if new_full_name == project.full_name {
            return Err(Error::invalid(
                format!("new name `{new_full_name}`"),
                "it is the project's name already",
            ));
        }
        self.check_name_free(new_full_name, Some(project.id))?;
        let conn = self.conn();
        conn.execute(
            "UPDATE projects SET full_name = ?2, namespace = ?3, name = ?4 WHERE id = ?1",
            params![project.id, new_full_name, namespace, short],
        )?;
        for table in self.tables_by_project_name()? {
            conn.execute(
                &format!("UPDATE \"{table}\" SET project = ?2 WHERE project = ?1"),
                params![project.full_name, new_full_name],
            )?;
        }
        // Back to an old name: it is no longer a redirect.
        conn.execute(
            "DELETE FROM project_redirects WHERE old_name = ?1",
            [new_full_name],
        )?;
        // A name differing only in case is the same folder and the same
        // links: no redirect needed (nor possible: the key ignores case).
        if !project.full_name.eq_ignore_ascii_case(new_full_name) {
            conn.execute(
                "INSERT INTO project_redirects (old_name, project_id) VALUES (?1, ?2)
                 ON CONFLICT (old_name) DO UPDATE SET project_id = ?2",
                params![project.full_name, project.id],
            )?;
        }
        self.project(new_full_name)
    }

    /// Makes `new_owner` the project's owner. The previous owner stays an
    /// admin when `keep_old_owner` (Pagure's `retain_access`), else loses
    /// every role of their own; the new owner's own member row, if any,
    /// goes (an owner is an admin already).
    pub fn transfer_project_rows(
        &self,
        project: &Project,
        new_owner: &str,
        keep_old_owner: bool,
    ) -> Result<Project> {
        let new = self.user(new_owner)?;
        if new.username == project.owner {
            return Err(Error::invalid(
                format!("new owner `{new_owner}`"),
                format!("`{new_owner}` owns `{}` already", project.full_name),
            ));
        }
        let old = self.user(&project.owner)?;
        let conn = self.conn();
        conn.execute(
            "UPDATE projects SET owner_id = ?2 WHERE id = ?1",
            params![project.id, new.id],
        )?;
        conn.execute(
            "DELETE FROM project_user_roles WHERE project_id = ?1 AND user_id = ?2",
            params![project.id, new.id],
        )?;
        if keep_old_owner {
            conn.execute(
                "INSERT INTO project_user_roles (project_id, user_id, role, branches) VALUES (?1, ?2, ?3, '')
                 ON CONFLICT (project_id, user_id) DO UPDATE SET role = ?3, branches = ''",
                params![project.id, old.id, Role::Admin.as_str()],
            )?;
        } else {
            conn.execute(
                "DELETE FROM project_user_roles WHERE project_id = ?1 AND user_id = ?2",
                params![project.id, old.id],
            )?;
        }
        self.project(&project.full_name)
    }

    /// Deletes a project's rows: its own (members, deploy keys, its tokens,
    /// forks and redirects go with it) and the index rows that name it.
    /// Call it inside a write transaction (the repositories go in the same
    /// one).
    pub fn delete_project_rows(&self, project: &Project) -> Result<()> {
        let conn = self.conn();
        for table in self.tables_by_project_name()? {
            conn.execute(
                &format!("DELETE FROM \"{table}\" WHERE project = ?1"),
                [&project.full_name],
            )?;
        }
        conn.execute("DELETE FROM projects WHERE id = ?1", [project.id])?;
        Ok(())
    }

    /// The current full name of the project once called `old_name`, if it
    /// was renamed (and no project has that name now).
    pub fn project_redirect(&self, old_name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT p.full_name FROM project_redirects r JOIN projects p ON p.id = r.project_id
                 WHERE r.old_name = ?1",
            )?
            .query_row([old_name], |r| r.get(0))
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Result<Store> {
        let store = Store::open_in_memory()?;
        store.add_user("alice", "Alice", &["alice@example.org"])?;
        store.add_user("bob", "Bob", &["bob@example.org"])?;
        store.create_project("hammer", "", false, "alice")?;
        Ok(store)
    }

    #[test]
    fn a_renamed_project_keeps_its_rows_and_leaves_a_redirect() -> Result<()> {
        let store = store()?;
        let p = store.project("hammer")?;
        store.set_member(&p, "bob", Role::Commit, "")?;
        store.conn().execute(
            "INSERT INTO ticket_sync (project, commit_id) VALUES ('hammer', 'abc')",
            [],
        )?;
        let renamed = store.rename_project_rows(&p, "tools/mallet")?;
        assert_eq!(renamed.namespace.as_deref(), Some("tools"));
        assert_eq!(renamed.name, "mallet");
        assert_eq!(store.role_of(&renamed, "bob")?, Some(Role::Commit));
        let kept: String = store.conn().query_row(
            "SELECT commit_id FROM ticket_sync WHERE project = 'tools/mallet'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(kept, "abc");
        assert_eq!(
            store.project_redirect("hammer")?.as_deref(),
            Some("tools/mallet")
        );
        assert_eq!(
            store.project_redirect("HAMMER")?.as_deref(),
            Some("tools/mallet")
        );

        // Renamed again: the first name follows; back to it: no redirect.
        let again = store.rename_project_rows(&renamed, "mallet")?;
        assert_eq!(store.project_redirect("hammer")?.as_deref(), Some("mallet"));
        let back = store.rename_project_rows(&again, "hammer")?;
        assert_eq!(store.project_redirect("hammer")?, None);
        assert_eq!(store.project_redirect("mallet")?.as_deref(), Some("hammer"));

        // A new project under an old name takes it over.
        store.create_project("mallet", "", false, "bob")?;
        assert_eq!(store.project_redirect("mallet")?, None);
        assert!(matches!(
            store.rename_project_rows(&back, "MALLET"),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            store.rename_project_rows(&back, "api"),
            Err(Error::InvalidName { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_transfer_changes_the_owner_and_may_keep_the_old_one_as_admin() -> Result<()> {
        let store = store()?;
        let p = store.project("hammer")?;
        store.set_member(&p, "bob", Role::Ticket, "")?;
        let given = store.transfer_project_rows(&p, "bob", true)?;
        assert_eq!(given.owner, "bob");
        assert_eq!(store.role_of(&given, "alice")?, Some(Role::Admin));
        assert_eq!(store.role_of(&given, "bob")?, Some(Role::Admin));
        let back = store.transfer_project_rows(&given, "alice", false)?;
        assert_eq!(store.role_of(&back, "bob")?, None);
        assert!(store.transfer_project_rows(&back, "alice", false).is_err());
        assert!(store.transfer_project_rows(&back, "nobody", false).is_err());
        Ok(())
    }

    #[test]
    fn a_deleted_project_leaves_no_row() -> Result<()> {
        let store = store()?;
        let p = store.project("hammer")?;
        store.conn().execute(
            "INSERT INTO ticket_sync (project, commit_id) VALUES ('hammer', 'abc')",
            [],
        )?;
        let renamed = store.rename_project_rows(&p, "mallet")?;
        store.delete_project_rows(&renamed)?;
        assert!(store.find_project("mallet")?.is_none());
        assert_eq!(store.project_redirect("hammer")?, None);
        let left: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM ticket_sync", [], |r| r.get(0))?;
        assert_eq!(left, 0);
        Ok(())
    }
}
