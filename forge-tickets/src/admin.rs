//! Administering a project, for every frontend (CLI, API, pages): its
//! settings, members and deploy keys, and its life — renamed, given to
//! another owner, deleted — with its repositories on disk. Who may do what
//! is decided here: project admins (and site admins) change settings,
//! members, keys and the name; only the owner or a site admin may give the
//! project away or delete it. Each change appends its event in the same
//! transaction.

use std::path::{Path, PathBuf};

use forge_core::event::{self, NewEvent};
use forge_core::project::Project;
use forge_core::role::{permits, Action, Role};
use forge_core::sshkey::{KeyInfo, PublicKey};
use forge_core::{ForgeHome, Store};
use serde_json::json;

use crate::tx::IndexTx;
use crate::{Error, Result};

/// A project as administered by one user, whose right to do so was checked.
pub struct Admin<'s> {
    store: &'s Store,
    home: &'s ForgeHome,
    project: Project,
    user: String,
    site_admin: bool,
}

fn denied(user: &str, action: &str, project: &Project) -> Error {
    Error::Core(forge_core::Error::PermissionDenied {
        user: user.into(),
        action: action.into(),
        project: project.full_name.clone(),
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| {
        Error::Core(forge_core::Error::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

impl<'s> Admin<'s> {
    /// `username` administering `project`: refused unless they are one of
    /// its admins or a site admin (a project they may not read is not
    /// found).
    pub fn open(
        store: &'s Store,
        home: &'s ForgeHome,
        project: Project,
        username: &str,
    ) -> Result<Admin<'s>> {
        if username.is_empty() {
            return Err(Error::Anonymous);
        }
        let access = store.access(&project, username, false)?;
        let site_admin = store.is_site_admin(username)?;
        if !site_admin && !permits(&access, Action::ModifyProject) {
            return Err(if forge_core::role::can_read(&access) {
                denied(username, &Action::ModifyProject.to_string(), &project)
            } else {
                Error::Core(forge_core::Error::not_found("project", &project.full_name))
            });
        }
        Ok(Admin {
            store,
            home,
            project,
            user: username.into(),
            site_admin,
        })
    }

    /// The project, as changed so far.
    pub fn project(&self) -> &Project {
        &self.project
    }

    fn record(
        &self,
        conn: &rusqlite::Connection,
        kind: &str,
        fields: serde_json::Value,
    ) -> Result<()> {
        event::append(
            conn,
            &NewEvent {
                kind,
                project: &self.project.full_name,
                actor: &self.user,
                issue: None,
                fields,
            },
        )?;
        Ok(())
    }

    /// Runs `change` and records its event in one transaction.
    fn changing<T>(
        &self,
        kind: &str,
        fields: serde_json::Value,
        change: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let tx = IndexTx::begin(self.store.conn())?;
        let out = change()?;
        self.record(&tx, kind, fields)?;
        tx.commit()?;
        Ok(out)
    }

    /// Sets settings from `KEY=VALUE` text pairs (the names and values
    /// `forge project settings` lists), all or none.
    pub fn update_settings(&mut self, pairs: &[(String, String)]) -> Result<&Project> {
        let mut settings = self.project.settings.clone();
        for (key, value) in pairs {
            settings.set(key.trim(), value)?;
        }
        let changed: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| (k.trim().to_string(), json!(v)))
            .collect();
        self.changing("project.edit", json!({ "settings": changed }), || {
            Ok(self.store.set_project_settings(&self.project, &settings)?)
        })?;
        self.project.settings = settings;
        Ok(&self.project)
    }

    /// Gives a user (`name`) or a group (`@name`) a role; a collaborator
    /// needs the branch patterns they may push.
    pub fn set_member(&self, member: &str, role: Role, branches: &str) -> Result<()> {
        let branches = branches.trim();
        if role == Role::Collaborator && branches.is_empty() {
            return Err(Error::invalid(
                format!("member `{member}`"),
                "a collaborator needs the branch patterns they may push",
            ));
        }
        if member == self.project.owner {
            return Err(Error::invalid(
                format!("member `{member}`"),
                format!(
                    "`{member}` owns `{}` (and is its admin)",
                    self.project.full_name
                ),
            ));
        }
        let kind = if member.starts_with('@') {
            "project.group.added"
        } else {
            "project.user.added"
        };
        let fields = json!({ "member": member, "role": role.as_str(), "branches": branches });
        self.changing(kind, fields, || {
            Ok(self
                .store
                .set_member(&self.project, member, role, branches)?)
        })
    }

    /// Takes a user's or a group's (`@name`) role away.
    pub fn remove_member(&self, member: &str) -> Result<()> {
        let kind = if member.starts_with('@') {
            "project.group.removed"
        } else {
            "project.user.removed"
        };
        self.changing(kind, json!({ "member": member }), || {
            Ok(self.store.remove_member(&self.project, member)?)
        })
    }

    /// The project's deploy keys.
    pub fn deploy_keys(&self) -> Result<Vec<KeyInfo>> {
        Ok(self.store.deploy_keys(&self.project)?)
    }

    /// Adds a deploy key (an OpenSSH public key line), read-only unless `push`.
    pub fn add_deploy_key(&self, key: &str, push: bool) -> Result<KeyInfo> {
        let key = PublicKey::parse(key)?;
        let fields = json!({ "fingerprint": key.fingerprint(), "push": push });
        self.changing("project.deploykey.added", fields, || {
            Ok(self.store.add_deploy_key(&self.project, &key, push)?)
        })
    }

    /// Removes a deploy key, named by its fingerprint or the key itself.
    pub fn remove_deploy_key(&self, key_or_fingerprint: &str) -> Result<()> {
        let fields = json!({ "key": key_or_fingerprint });
        self.changing("project.deploykey.removed", fields, || {
            Ok(self
                .store
                .remove_deploy_key(&self.project, key_or_fingerprint)?)
        })
    }

    /// Whether the user may give the project away or delete it: its owner,
    /// or a site admin.
    pub fn may_give_away(&self) -> bool {
        self.site_admin || self.user == self.project.owner
    }

    /// Refuses unless the user owns the project or is a site admin.
    fn require_owner(&self, action: &str) -> Result<()> {
        if self.may_give_away() {
            Ok(())
        } else {
            Err(denied(&self.user, action, &self.project))
        }
    }

    /// Every repository of the project that exists: its four, then forks
    /// (`repos/forks/<user>/<project>.git`), each with its owner.
    fn repositories(&self, full_name: &str) -> Result<Vec<(PathBuf, Option<String>)>> {
        let forks = self.store.forks(&self.project)?;
        Ok(self.home.repositories(full_name, &forks))
    }

    /// Renames the project (`name` or `ns/name`): its rows, its
    /// repositories and its forks' move together, and links to the old
    /// name are sent on to the new one.
    pub fn rename(mut self, new_full_name: &str) -> Result<Project> {
        let old = self.project.clone();
        let tx = IndexTx::begin(self.store.conn())?;
        let renamed = self.store.rename_project_rows(&old, new_full_name)?;
        let moves: Vec<(PathBuf, PathBuf)> = self
            .repositories(&old.full_name)?
            .into_iter()
            .zip(self.repositories(&renamed.full_name)?)
            .map(|((from, _), (to, _))| (from, to))
            .filter(|(from, _)| from.exists())
            .collect();
        for (_, to) in &moves {
            // The same folder when only the case of the name changes.
            if to.exists() && !same_file(&moves, to) {
                return Err(Error::invalid(
                    format!("repository {}", to.display()),
                    "already exists on disk",
                ));
            }
        }
        let mut moved = Vec::new();
        let done = moves.iter().try_for_each(|(from, to)| {
            move_dir(from, to)?;
            moved.push((from.clone(), to.clone()));
            Ok(())
        });
        let done = done.and_then(|()| self.point_forks_at(&renamed.full_name));
        self.project = renamed.clone();
        let fields = json!({ "old_name": old.full_name, "new_name": renamed.full_name });
        let done = done
            .and_then(|()| self.record(&tx, "project.renamed", fields))
            .and_then(|()| tx.commit());
        if let Err(e) = done {
            for (from, to) in moved.iter().rev() {
                let _ = move_dir(to, from);
            }
            self.project = old.clone();
            let _ = self.point_forks_at(&old.full_name);
            return Err(e);
        }
        for (from, _) in &moved {
            remove_empty_parents(self.home.root(), from);
        }
        Ok(renamed)
    }

    /// Forks borrow the objects of the project's source repository by its
    /// path (git alternates): after a move, they borrow from the new one.
    fn point_forks_at(&self, full_name: &str) -> Result<()> {
        let source = self.home.project_paths(full_name).source;
        for (fork, owner) in self.repositories(full_name)? {
            if owner.is_some() && fork.exists() {
                forge_git::Repo::borrow_objects(&fork, &source)?;
            }
        }
        Ok(())
    }

    /// Gives the project to `new_owner`; the previous owner stays an admin
    /// when `keep_access` (Pagure's `retain_access`).
    pub fn transfer(mut self, new_owner: &str, keep_access: bool) -> Result<Project> {
        self.require_owner("give the project away")?;
        let fields = json!({ "old_owner": self.project.owner, "new_owner": new_owner, "retain_access": keep_access });
        let given = self.changing("project.transferred", fields, || {
            Ok(self
                .store
                .transfer_project_rows(&self.project, new_owner, keep_access)?)
        })?;
        self.project = given.clone();
        Ok(given)
    }

    /// Deletes the project: its rows, its four repositories and its forks.
    /// `confirm` must be its full name (what a person types to be sure).
    pub fn delete(self, confirm: &str) -> Result<()> {
        self.require_owner("delete the project")?;
        if confirm != self.project.full_name {
            return Err(Error::invalid(
                "confirmation",
                format!(
                    "type the project's full name, `{}`, to delete it",
                    self.project.full_name
                ),
            ));
        }
        let p = &self.project;
        // Repositories go to a folder of their own first (one rename each),
        // so that a failure before the commit puts them back whole.
        let trash = self.home.root().join("trash").join(format!(
            "{}-{}",
            p.id,
            forge_core::time::now_epoch()
        ));
        let tx = IndexTx::begin(self.store.conn())?;
        let repos = self.repositories(&p.full_name)?;
        self.store.delete_project_rows(p)?;
        let mut moved = Vec::new();
        let done = repos
            .iter()
            .filter(|(path, _)| path.exists())
            .enumerate()
            .try_for_each(|(i, (path, _))| {
                let to = trash.join(i.to_string());
                move_dir(path, &to)?;
                moved.push((path.clone(), to));
                Ok(())
            });
        let fields = json!({ "owner": p.owner });
        let done = done
            .and_then(|()| self.record(&tx, "project.deleted", fields))
            .and_then(|()| tx.commit());
        if let Err(e) = done {
            for (from, to) in moved.iter().rev() {
                let _ = move_dir(to, from);
            }
            return Err(e);
        }
        for (from, _) in &moved {
            remove_empty_parents(self.home.root(), from);
        }
        std::fs::remove_dir_all(&trash).map_err(io(&trash))?;
        Ok(())
    }
}

fn same_file(moves: &[(PathBuf, PathBuf)], to: &Path) -> bool {
    moves.iter().any(
        |(from, _)| match (std::fs::canonicalize(from), std::fs::canonicalize(to)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
    )
}

/// Moves a folder (one rename), making the new parent folders.
fn move_dir(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::rename(from, to).map_err(io(from))
}

/// Removes the folders a repository was in (a namespace's, a fork
/// owner's) once nothing is left in them; the folders of each kind of
/// repository (`repos`, `docs`, ..., `repos/forks`) stay.
fn remove_empty_parents(root: &Path, repo: &Path) {
    let forks = root.join("repos").join("forks");
    let mut dir = repo.parent();
    while let Some(d) = dir {
        if !d.starts_with(root) || d.parent() == Some(root) || d == root || d == forks {
            return;
        }
        if std::fs::remove_dir(d).is_err() {
            return;
        }
        dir = d.parent();
    }
}
