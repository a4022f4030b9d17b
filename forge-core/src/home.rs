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

    /// A user's fork of a project.
    pub fn fork_path(&self, user: &str, full_name: &str) -> PathBuf {
        self.root
            .join("repos")
            .join("forks")
            .join(user)
            .join(format!("{full_name}.git"))
    }
}
