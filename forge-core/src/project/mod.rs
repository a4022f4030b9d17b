//! Projects and their members (their settings: `settings.rs`).

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use crate::role::{Access, Role};
use crate::{name, time, Error, Result, Store};

mod lifecycle;
mod settings;
pub use settings::{value_text, CustomField, FieldKind, Milestone, ProjectSettings};

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Row id.
    #[serde(skip)]
    pub id: i64,
    /// `ns/name` or `name`.
    pub full_name: String,
    /// The namespace, if any.
    pub namespace: Option<String>,
    /// The name without namespace.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Whether only members may see it.
    pub private: bool,
    /// Username of the owner (an admin).
    pub owner: String,
    /// Per-project settings.
    pub settings: ProjectSettings,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// What it mirrors (`github:owner/name`): its issues and pull requests
    /// are written by the replication only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<String>,
}

/// A member of a project: a user or a group (`@name`) with a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Username, or `@group`.
    pub name: String,
    /// The role.
    pub role: Role,
    /// Branch patterns of a collaborator (comma-separated).
    pub branches: String,
}

fn project_from_row(r: &Row<'_>) -> rusqlite::Result<(Project, String)> {
    let created: i64 = r.get(8)?;
    Ok((
        Project {
            id: r.get(0)?,
            full_name: r.get(1)?,
            namespace: r.get(2)?,
            name: r.get(3)?,
            description: r.get(4)?,
            private: r.get(5)?,
            owner: r.get(6)?,
            settings: ProjectSettings::default(),
            created_at: time::epoch_to_rfc3339(created).unwrap_or_default(),
            mirror: r.get(9)?,
        },
        r.get(7)?,
    ))
}

// A bound text parameter compared in a join (`p.full_name = ?1` here) makes
// the bundled SQLite re-prepare the cached statement at every use; written
// `+?1` it plans the same and does not (measured: 20 µs down to 3 µs).
/// `SELECT` of the columns [`project_from_row`] reads, then `$tail`: a
/// literal, so looking a project up builds no string.
macro_rules! select_projects {
    ($tail:literal) => {
        concat!(
            "SELECT p.id, p.full_name, p.namespace, p.name, p.description, p.private,
             u.username, p.settings, p.created_at,
             (SELECT 'github:' || m.repo FROM github_mirrors m WHERE m.project_id = p.id)
             FROM projects p JOIN users u ON u.id = p.owner_id ",
            $tail
        )
    };
}

impl Store {
    /// Creates a project owned by `owner` (who becomes its admin).
    pub fn create_project(
        &self,
        full_name: &str,
        description: &str,
        private: bool,
        owner: &str,
    ) -> Result<Project> {
        let (namespace, name) = name::split_project(full_name)?;
        if description.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::invalid(
                format!("description of `{full_name}`"),
                "control characters",
            ));
        }
        let owner = self.user(owner)?;
        self.check_name_free(full_name, None)?;
        // The name was perhaps an old name of another project: it is this
        // one's now.
        self.conn().execute(
            "DELETE FROM project_redirects WHERE old_name = ?1",
            [full_name],
        )?;
        let settings = serde_json::to_string(&ProjectSettings::default())?;
        self.conn().execute(
            "INSERT INTO projects (full_name, namespace, name, description, private, owner_id, settings, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![full_name, namespace, name, description, private, owner.id, settings, time::now_epoch()],
        )?;
        self.project(full_name)
    }

    /// The project named `full_name`, if any.
    pub fn find_project(&self, full_name: &str) -> Result<Option<Project>> {
        let row = self
            .conn()
            .prepare_cached(select_projects!("WHERE p.full_name = +?1"))?
            .query_row([full_name], project_from_row)
            .optional()?;
        row.map(|(mut p, settings)| {
            p.settings = serde_json::from_str(&settings)?;
            Ok(p)
        })
        .transpose()
    }

    /// The project with row id `id`, if any (what a queued job keeps: it
    /// holds across a rename).
    pub fn find_project_by_id(&self, id: i64) -> Result<Option<Project>> {
        let row = self
            .conn()
            .prepare_cached(select_projects!("WHERE p.id = ?1"))?
            .query_row([id], project_from_row)
            .optional()?;
        row.map(|(mut p, settings)| {
            p.settings = serde_json::from_str(&settings)?;
            Ok(p)
        })
        .transpose()
    }

    /// The project named `full_name`, or a not-found error naming it.
    pub fn project(&self, full_name: &str) -> Result<Project> {
        self.find_project(full_name)?
            .ok_or_else(|| Error::not_found("project", name::printable(full_name)))
    }

    /// All projects, by name.
    pub fn list_projects(&self) -> Result<Vec<Project>> {
        let mut stmt = self
            .conn()
            .prepare(select_projects!("ORDER BY p.full_name"))?;
        let rows = stmt
            .query_map([], project_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(mut p, settings)| {
                p.settings = serde_json::from_str(&settings)?;
                Ok(p)
            })
            .collect()
    }

    /// Replaces a project's settings after validating them.
    pub fn set_project_settings(
        &self,
        project: &Project,
        settings: &ProjectSettings,
    ) -> Result<()> {
        settings.validate()?;
        self.conn().execute(
            "UPDATE projects SET settings = ?1 WHERE id = ?2",
            params![serde_json::to_string(settings)?, project.id],
        )?;
        Ok(())
    }

    /// Gives a user (`name`) or a group (`@name`) a role on a project.
    pub fn set_member(
        &self,
        project: &Project,
        member: &str,
        role: Role,
        branches: &str,
    ) -> Result<()> {
        if let Some(group) = member.strip_prefix('@') {
            let id = self
                .group_id(group)?
                .ok_or_else(|| Error::not_found("group", name::printable(group)))?;
            self.conn().execute(
                "INSERT INTO project_group_roles (project_id, group_id, role, branches) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project_id, group_id) DO UPDATE SET role = ?3, branches = ?4",
                params![project.id, id, role.as_str(), branches],
            )?;
        } else {
            let user = self.user(member)?;
            self.conn().execute(
                "INSERT INTO project_user_roles (project_id, user_id, role, branches) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (project_id, user_id) DO UPDATE SET role = ?3, branches = ?4",
                params![project.id, user.id, role.as_str(), branches],
            )?;
        }
        Ok(())
    }

    /// Takes a user's (`name`) or a group's (`@name`) role on a project away.
    /// The owner stays an admin and cannot be removed.
    pub fn remove_member(&self, project: &Project, member: &str) -> Result<()> {
        if member == project.owner {
            return Err(Error::invalid(
                format!("member `{member}`"),
                format!(
                    "`{member}` owns `{}` and cannot be removed",
                    project.full_name
                ),
            ));
        }
        let removed = if let Some(group) = member.strip_prefix('@') {
            let id = self
                .group_id(group)?
                .ok_or_else(|| Error::not_found("group", name::printable(group)))?;
            self.conn().execute(
                "DELETE FROM project_group_roles WHERE project_id = ?1 AND group_id = ?2",
                params![project.id, id],
            )?
        } else {
            let user = self.user(member)?;
            self.conn().execute(
                "DELETE FROM project_user_roles WHERE project_id = ?1 AND user_id = ?2",
                params![project.id, user.id],
            )?
        };
        if removed == 0 {
            return Err(Error::invalid(
                format!("member `{}`", name::printable(member)),
                format!("not a member of `{}`", project.full_name),
            ));
        }
        Ok(())
    }

    /// Members of a project, the owner first.
    pub fn members(&self, project: &Project) -> Result<Vec<Member>> {
        let mut out = vec![Member {
            name: project.owner.clone(),
            role: Role::Admin,
            branches: String::new(),
        }];
        let mut stmt = self.conn().prepare(
            "SELECT u.username, r.role, r.branches FROM project_user_roles r JOIN users u ON u.id = r.user_id
             WHERE r.project_id = ?1
             UNION ALL
             SELECT '@' || g.name, r.role, r.branches FROM project_group_roles r JOIN groups g ON g.id = r.group_id
             WHERE r.project_id = ?1 ORDER BY 1",
        )?;
        let rows = stmt
            .query_map([project.id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (name, role, branches) in rows {
            if name != project.owner {
                out.push(Member {
                    name,
                    role: role.parse()?,
                    branches,
                });
            }
        }
        Ok(out)
    }

    /// Whether `username` may move `branch` of the project's repository
    /// (push to it, or merge a pull request into it): admins and committers
    /// any branch, collaborators the branches matching their patterns
    /// (from their own role or a group's), others none.
    pub fn may_write_branch(
        &self,
        project: &Project,
        username: &str,
        branch: &str,
    ) -> Result<bool> {
        if username == project.owner {
            return Ok(true);
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.role, r.branches FROM project_user_roles r JOIN users u ON u.id = r.user_id
             WHERE r.project_id = +?1 AND u.username = +?2
             UNION ALL
             SELECT r.role, r.branches FROM project_group_roles r JOIN group_members m ON m.group_id = r.group_id
             JOIN users u ON u.id = m.user_id WHERE r.project_id = +?1 AND u.username = +?2",
        )?;
        let rows = stmt
            .query_map(params![project.id, username], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (role, branches) in rows {
            match role.parse::<Role>()? {
                Role::Admin | Role::Commit => return Ok(true),
                Role::Collaborator if crate::role::branch_matches(&branches, branch) => {
                    return Ok(true)
                }
                _ => {}
            }
        }
        Ok(false)
    }

    /// The highest role a user holds on a project, directly or through a group.
    pub fn role_of(&self, project: &Project, username: &str) -> Result<Option<Role>> {
        if username == project.owner {
            return Ok(Some(Role::Admin));
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.role FROM project_user_roles r JOIN users u ON u.id = r.user_id
             WHERE r.project_id = +?1 AND u.username = +?2
             UNION ALL
             SELECT r.role FROM project_group_roles r JOIN group_members m ON m.group_id = r.group_id
             JOIN users u ON u.id = m.user_id WHERE r.project_id = +?1 AND u.username = +?2",
        )?;
        let roles = stmt
            .query_map(params![project.id, username], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut best = None;
        for role in roles {
            best = best.max(Some(role.parse::<Role>()?));
        }
        Ok(best)
    }

    /// The access a user has to a project, for [`crate::role::permits`].
    pub fn access(&self, project: &Project, username: &str, is_author: bool) -> Result<Access> {
        Ok(Access {
            role: self.role_of(project, username)?,
            private_project: project.private,
            is_author,
        })
    }

    /// Records `username`'s fork of a project.
    pub fn add_fork(&self, project: &Project, username: &str) -> Result<()> {
        let user = self.user(username)?;
        if self.has_fork(project, username)? {
            return Err(Error::AlreadyExists {
                kind: "fork",
                name: format!("{username}/{}", project.full_name),
            });
        }
        self.conn().execute(
            "INSERT INTO forks (project_id, user_id, created_at) VALUES (?1, ?2, ?3)",
            params![project.id, user.id, time::now_epoch()],
        )?;
        Ok(())
    }

    /// Whether `username` has a fork of the project.
    pub fn has_fork(&self, project: &Project, username: &str) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM forks f JOIN users u ON u.id = f.user_id
             WHERE f.project_id = ?1 AND u.username = +?2)",
            params![project.id, username],
            |r| r.get(0),
        )?)
    }

    /// Removes the record of a fork (when making its repository failed).
    pub fn remove_fork(&self, project: &Project, username: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM forks WHERE project_id = ?1 AND user_id = (SELECT id FROM users WHERE username = ?2)",
            params![project.id, username],
        )?;
        Ok(())
    }

    /// Usernames with a fork of the project, sorted.
    pub fn forks(&self, project: &Project) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(
            "SELECT u.username FROM forks f JOIN users u ON u.id = f.user_id WHERE f.project_id = ?1 ORDER BY u.username",
        )?;
        let names = stmt
            .query_map([project.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(names)
    }

    /// Allocates the next issue / pull-request number of a project.
    pub fn allocate_number(&self, project: &str) -> Result<u64> {
        let n: Option<i64> = self
            .conn()
            .query_row(
                "UPDATE projects SET next_number = next_number + 1 WHERE full_name = ?1 RETURNING next_number - 1",
                [project],
                |r| r.get(0),
            )
            .optional()?;
        n.map(|n| n as u64)
            .ok_or_else(|| Error::not_found("project", project))
    }

    /// Makes sure the next allocated number is above `used` (after a push or an import).
    pub fn reserve_numbers_through(&self, project: &str, used: u64) -> Result<()> {
        let next = i64::try_from(used)
            .ok()
            .and_then(|n| n.checked_add(1))
            .ok_or_else(|| {
                Error::invalid(
                    format!("number {used} in project `{project}`"),
                    "too large for the project's sequence",
                )
            })?;
        self.conn().execute(
            "UPDATE projects SET next_number = max(next_number, ?2) WHERE full_name = ?1",
            params![project, next],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Result<(Store, Project)> {
        let store = Store::open_in_memory()?;
        store.add_user("alice", "Alice", &["alice@example.org"])?;
        store.add_user("bob", "Bob", &["bob@example.org"])?;
        let p = store.create_project("tools/hammer", "", false, "alice")?;
        Ok((store, p))
    }

    #[test]
    fn collaborators_write_only_their_branches() -> Result<()> {
        let (store, p) = setup()?;
        store.add_user("carol", "Carol", &["carol@example.org"])?;
        assert!(store.may_write_branch(&p, "alice", "main")?);
        assert!(!store.may_write_branch(&p, "bob", "main")?);
        store.set_member(&p, "bob", Role::Collaborator, "feature/*, docs")?;
        assert!(store.may_write_branch(&p, "bob", "feature/x")?);
        assert!(store.may_write_branch(&p, "bob", "docs")?);
        assert!(!store.may_write_branch(&p, "bob", "main")?);
        store.create_group("core")?;
        store.add_group_member("core", "bob")?;
        store.set_member(&p, "@core", Role::Commit, "")?;
        assert!(
            store.may_write_branch(&p, "bob", "main")?,
            "the group's role counts"
        );
        store.set_member(&p, "carol", Role::Ticket, "")?;
        assert!(!store.may_write_branch(&p, "carol", "feature/x")?);
        store.remove_member(&p, "@core")?;
        assert!(!store.may_write_branch(&p, "bob", "main")?);
        store.remove_member(&p, "bob")?;
        assert!(!store.may_write_branch(&p, "bob", "feature/x")?);
        assert!(
            store.remove_member(&p, "bob").is_err(),
            "no longer a member"
        );
        assert!(store.remove_member(&p, "alice").is_err(), "the owner stays");
        Ok(())
    }

    #[test]
    fn settings_are_set_from_text_and_round_trip() -> Result<()> {
        let mut s = ProjectSettings::default();
        s.set("pr_min_score", "2")?;
        s.set("pr_only_assignee_merge", "true")?;
        s.set("pr_required_flags", "ci, lint")?;
        s.set("milestones", "1.0@2026-12-01,2.0")?;
        s.set("custom_fields", "os:list:linux|mac,url:link")?;
        assert_eq!(s.pr_min_score, 2);
        assert!(s.pr_only_assignee_merge);
        assert_eq!(s.pr_required_flags, ["ci", "lint"]);
        assert_eq!(s.milestones[0].date.as_deref(), Some("2026-12-01"));
        assert_eq!(s.custom_fields[0].options, ["linux", "mac"]);
        let mut again = ProjectSettings::default();
        for (k, v) in s.entries() {
            again.set(&k, &v)?;
        }
        assert_eq!(again, s);
        for (key, value, says) in [
            ("nope", "1", "unknown key"),
            ("pr_min_score", "many", "not a whole number"),
            ("pull_requests", "maybe", "not true or false"),
            ("milestones", "1.0@tomorrow", "YYYY-MM-DD"),
            ("pr_required_flags", "ci,ci", "listed twice"),
            ("custom_fields", "x:colour", "kind must be"),
        ] {
            let err = s.clone().set(key, value).expect_err(key).to_string();
            assert!(err.contains(says), "{key}: {err}");
        }
        s.set("pr_required_flags", "")?;
        assert!(s.pr_required_flags.is_empty());
        Ok(())
    }

    #[test]
    fn roles_come_from_user_and_group_and_take_the_highest() -> Result<()> {
        let (store, p) = setup()?;
        assert_eq!(store.role_of(&p, "alice")?, Some(Role::Admin));
        assert_eq!(store.role_of(&p, "bob")?, None);
        store.set_member(&p, "bob", Role::Ticket, "")?;
        assert_eq!(store.role_of(&p, "bob")?, Some(Role::Ticket));
        store.create_group("devs")?;
        store.add_group_member("devs", "bob")?;
        store.set_member(&p, "@devs", Role::Commit, "")?;
        assert_eq!(store.role_of(&p, "bob")?, Some(Role::Commit));
        let names: Vec<_> = store.members(&p)?.into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["alice", "@devs", "bob"]);
        Ok(())
    }

    #[test]
    fn duplicate_and_invalid_projects_are_refused() -> Result<()> {
        let (store, _) = setup()?;
        let err = store
            .create_project("tools/hammer", "", false, "bob")
            .expect_err("duplicate");
        assert_eq!(err.to_string(), "project `tools/hammer` already exists");
        assert!(store.create_project("../x", "", false, "bob").is_err());
        let err = store
            .create_project("x", "", false, "nobody")
            .expect_err("unknown owner");
        assert_eq!(err.to_string(), "user `nobody` not found");
        Ok(())
    }

    #[test]
    fn numbers_are_allocated_in_sequence_and_can_be_reserved() -> Result<()> {
        let (store, _) = setup()?;
        assert_eq!(store.allocate_number("tools/hammer")?, 1);
        assert_eq!(store.allocate_number("tools/hammer")?, 2);
        store.reserve_numbers_through("tools/hammer", 10)?;
        assert_eq!(store.allocate_number("tools/hammer")?, 11);
        store.reserve_numbers_through("tools/hammer", 3)?;
        assert_eq!(store.allocate_number("tools/hammer")?, 12);
        Ok(())
    }

    #[test]
    fn settings_round_trip_and_validate() -> Result<()> {
        let (store, p) = setup()?;
        let mut settings = p.settings.clone();
        settings.priorities = vec!["High".into(), "Low".into()];
        settings.milestones = vec![Milestone {
            name: "1.0".into(),
            date: Some("2027-01-31".into()),
        }];
        store.set_project_settings(&p, &settings)?;
        assert_eq!(store.project("tools/hammer")?.settings, settings);
        settings.milestones[0].date = Some("soon".into());
        assert!(store.set_project_settings(&p, &settings).is_err());
        Ok(())
    }

    #[test]
    fn numbers_from_input_cannot_overflow_the_sequence() -> Result<()> {
        let (store, p) = setup()?;
        let err = store
            .reserve_numbers_through(&p.full_name, u64::MAX)
            .expect_err("too large");
        assert!(err.to_string().contains("too large"), "{err}");
        store.reserve_numbers_through(&p.full_name, 41)?;
        assert_eq!(store.allocate_number(&p.full_name)?, 42);
        Ok(())
    }
}
