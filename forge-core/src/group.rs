//! Groups of users, which can hold roles on projects.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::{name, time, Error, Result, Store};

/// A group and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Row id.
    #[serde(skip)]
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Usernames of the members, sorted.
    pub members: Vec<String>,
}

impl Store {
    /// Creates an empty group.
    pub fn create_group(&self, group: &str) -> Result<Group> {
        name::validate("group", group)?;
        if self.group_id(group)?.is_some() {
            return Err(Error::AlreadyExists {
                kind: "group",
                name: group.into(),
            });
        }
        self.conn().execute(
            "INSERT INTO groups (name, created_at) VALUES (?1, ?2)",
            params![group, time::now_epoch()],
        )?;
        self.group(group)
    }

    pub(crate) fn group_id(&self, group: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM groups WHERE name = ?1", [group], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The group named `group` with its members.
    pub fn group(&self, group: &str) -> Result<Group> {
        let id = self
            .group_id(group)?
            .ok_or_else(|| Error::not_found("group", name::printable(group)))?;
        let mut stmt = self.conn().prepare_cached(
            "SELECT u.username FROM group_members m JOIN users u ON u.id = m.user_id
             WHERE m.group_id = ?1 ORDER BY u.username",
        )?;
        let members = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Group {
            id,
            name: group.into(),
            members,
        })
    }

    /// Adds a user to a group (no-op when already a member).
    pub fn add_group_member(&self, group: &str, username: &str) -> Result<()> {
        let g = self.group(group)?;
        let u = self.user(username)?;
        self.conn().execute(
            "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
            params![g.id, u.id],
        )?;
        Ok(())
    }

    /// Removes a user from a group.
    pub fn remove_group_member(&self, group: &str, username: &str) -> Result<()> {
        let g = self.group(group)?;
        let u = self.user(username)?;
        let n = self.conn().execute(
            "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
            params![g.id, u.id],
        )?;
        if n == 0 {
            return Err(Error::invalid(
                format!("group `{group}`"),
                format!("`{username}` is not a member"),
            ));
        }
        Ok(())
    }

    /// All groups, by name.
    pub fn list_groups(&self) -> Result<Vec<Group>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT name FROM groups ORDER BY name")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        names.iter().map(|n| self.group(n)).collect()
    }
}
