//! The layout of a forge home on disk.

use std::path::{Path, PathBuf};

/// A forge home: `forge.toml`, `forge.db` and the bare repositories.
#[derive(Debug, Clone)]
pub struct ForgeHome {
    root: PathBuf,
}

/// The four repositories of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPaths {
    /// The source repository.
    pub source: PathBuf,
    /// The documentation repository.
    pub docs: PathBuf,
    /// The issues repository.
    pub tickets: PathBuf,
    /// The pull-requests repository.
    pub requests: PathBuf,
}

impl ForgeHome {
    /// A forge home rooted at `root` (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ForgeHome { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database.
    pub fn db_path(&self) -> PathBuf {
        self.root.join("forge.db")
    }

    /// The configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("forge.toml")
    }

    /// The repositories of a project, by its validated full name (`ns/name`).
    pub fn project_paths(&self, full_name: &str) -> ProjectPaths {
        let git = format!("{full_name}.git");
        ProjectPaths {
            source: self.root.join("repos").join(&git),
            docs: self.root.join("docs").join(&git),
            tickets: self.root.join("tickets").join(&git),
            requests: self.root.join("requests").join(&git),
        }
    }

    /// Every repository of the project named `full_name`: its four (source,
    /// docs, tickets, requests), then the forks of `fork_owners`, each with
    /// its owner.
    pub fn repositories(
        &self,
        full_name: &str,
        fork_owners: &[String],
    ) -> Vec<(PathBuf, Option<String>)> {
        let paths = self.project_paths(full_name);
        [paths.source, paths.docs, paths.tickets, paths.requests]
            .into_iter()
            .map(|p| (p, None))
            .chain(
                fork_owners
                    .iter()
                    .map(|user| (self.fork_path(user, full_name), Some(user.clone()))),
            )
            .collect()
    }

    /// `path` as a home names it in messages and manifests: relative to the
    /// root when under it, parts joined by `/`.
    pub fn relative_name(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A user's fork of a project.
    pub fn fork_path(&self, user: &str, full_name: &str) -> PathBuf {
        self.root
            .join("repos")
            .join("forks")
            .join(user)
            .join(format!("{full_name}.git"))
    }
}
