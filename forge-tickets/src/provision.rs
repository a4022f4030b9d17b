//! Project provisioning, one path for every frontend: the project's row,
//! its four bare repositories, and forge's hooks in each; forks likewise.

use std::path::{Path, PathBuf};

use forge_core::project::Project;
use forge_core::role::{permits, Action};
use forge_core::{ForgeHome, Store};
use forge_git::Repo;

use crate::engine::rows;
use crate::{Error, Issues, Pulls, Result};

/// The hooks forge installs.
pub const HOOK_NAMES: [&str; 2] = ["pre-receive", "post-receive"];

/// Quotes a word for `sh` (hook scripts, forced commands).
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The script of hook `name`: it calls `forge_exe --home HOME hook NAME`.
pub fn hook_script(forge_exe: &Path, home: &ForgeHome, name: &str) -> String {
    let root = home.root();
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    format!(
        "#!/bin/sh\n{}: forge checks the push (pre-receive) or sets its effects in motion\n\
         # (post-receive), then runs the executables of hooks/{name}.d/ with the same input.\n\
         exec {} --home {} hook {name}\n",
        forge_git::HOOK_MARKER,
        shell_quote(&forge_exe.display().to_string()),
        shell_quote(&root.display().to_string())
    )
}

/// Installs forge's hooks in one repository (idempotent; a user's own hook
/// moves to `hooks/<name>.d/`).
pub fn install_hooks(forge_exe: &Path, home: &ForgeHome, repo: &Path) -> Result<()> {
    let repo = Repo::open(repo)?;
    for name in HOOK_NAMES {
        repo.install_hook(name, &hook_script(forge_exe, home, name))?;
    }
    Ok(())
}

/// Installs forge's hooks in every repository of a project and its forks;
/// returns how many repositories that was.
pub fn install_project_hooks(
    forge_exe: &Path,
    store: &Store,
    home: &ForgeHome,
    project: &Project,
) -> Result<usize> {
    let repos: Vec<PathBuf> = home
        .repositories(&project.full_name, &store.forks(project)?)
        .into_iter()
        .map(|(path, _)| path)
        .filter(|p| p.join("HEAD").exists())
        .collect();
    for repo in &repos {
        install_hooks(forge_exe, home, repo)?;
    }
    Ok(repos.len())
}

/// What a new project is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewProject {
    /// Full name (`name` or `namespace/name`).
    pub full_name: String,
    /// One-line description.
    pub description: String,
    /// Visible to members only.
    pub private: bool,
    /// The user who owns it (and becomes its admin).
    pub owner: String,
}

/// Creates a project: its row in the store, its four bare repositories and,
/// with `hooks` (the forge executable the hooks call), forge's hooks in
/// each. Nothing is left behind when a step fails.
pub fn create_project(
    store: &Store,
    home: &ForgeHome,
    new: &NewProject,
    hooks: Option<&Path>,
) -> Result<Project> {
    let project =
        store.create_project(&new.full_name, &new.description, new.private, &new.owner)?;
    let paths = home.project_paths(&project.full_name);
    let all = [&paths.source, &paths.docs, &paths.tickets, &paths.requests];
    let mut made = Vec::new();
    let built = all.into_iter().try_for_each(|path| {
        if path.exists() {
            return Err(Error::invalid(
                format!("repository {}", path.display()),
                "already exists on disk (a project the database lost? `forge fsck --repair` \
                 adopts it with its issues and pull requests)",
            ));
        }
        let repo = Repo::init_bare(path)?;
        made.push(path.clone());
        // Documents are read one by one; short delta chains keep those
        // reads cheap once `git gc` has packed the repository.
        if path == &paths.tickets || path == &paths.requests {
            repo.set_config("pack.depth", "10")?;
        }
        if let Some(exe) = hooks {
            install_hooks(exe, home, path)?;
        }
        Ok(())
    });
    if let Err(e) = built {
        for path in made {
            let _ = std::fs::remove_dir_all(path);
        }
        store
            .conn()
            .execute("DELETE FROM projects WHERE id = ?1", [project.id])?;
        return Err(e);
    }
    // The indexes of the empty repositories are up to date: the first
    // read finds nothing to rebuild.
    let conn = store.conn();
    rows::set_indexed_commit::<Issues>(conn, &project.full_name, "")?;
    rows::set_indexed_commit::<Pulls>(conn, &project.full_name, "")?;
    Ok(project)
}

/// Makes `username`'s fork of a project (`repos/forks/<user>/<project>.git`),
/// sharing the parent's objects, with forge's hooks when `hooks` is given;
/// returns its path.
pub fn fork_project(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    username: &str,
    hooks: Option<&Path>,
) -> Result<PathBuf> {
    let access = store.access(project, username, false)?;
    if !permits(&access, Action::ForkProject) {
        return Err(if forge_core::role::can_read(&access) {
            Error::Core(forge_core::Error::PermissionDenied {
                user: username.into(),
                action: Action::ForkProject.to_string(),
                project: project.full_name.clone(),
            })
        } else {
            Error::Core(forge_core::Error::not_found("project", &project.full_name))
        });
    }
    store.add_fork(project, username)?;
    let path = home.fork_path(username, &project.full_name);
    let forked = Repo::open(&home.project_paths(&project.full_name).source)
        .and_then(|p| p.fork_to(&path))
        .map_err(Error::from)
        .and_then(|_| match hooks {
            Some(exe) => install_hooks(exe, home, &path),
            None => Ok(()),
        });
    match forked {
        Ok(()) => Ok(path),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&path);
            store.remove_fork(project, username)?;
            Err(e)
        }
    }
}
