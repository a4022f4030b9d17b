//! The repository handle.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;

use git2::{
    ErrorCode, ObjectType, Oid, Repository, RepositoryInitOptions, Signature, TreeWalkMode,
    TreeWalkResult,
};

use crate::Error;

/// A commit id (hex SHA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(Oid);

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for CommitId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Oid::from_str(s)
            .map(CommitId)
            .map_err(|_| Error::UnknownCommit(s.chars().take(80).collect()))
    }
}

/// The author of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Name (forge writes the username here).
    pub name: String,
    /// Email address.
    pub email: String,
}

impl Identity {
    /// An identity from a name and an email.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Identity {
            name: name.into(),
            email: email.into(),
        }
    }
}

/// One file change of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Write `content` at `path` (creating folders as needed).
    Put {
        /// Slash-separated relative path.
        path: String,
        /// New content.
        content: Vec<u8>,
    },
    /// Remove the file at `path` (empty folders vanish).
    Delete {
        /// Slash-separated relative path.
        path: String,
    },
}

impl Change {
    /// Shorthand for [`Change::Put`].
    pub fn put(path: impl Into<String>, content: Vec<u8>) -> Self {
        Change::Put {
            path: path.into(),
            content,
        }
    }

    /// Shorthand for [`Change::Delete`].
    pub fn delete(path: impl Into<String>) -> Self {
        Change::Delete { path: path.into() }
    }

    fn path(&self) -> &str {
        match self {
            Change::Put { path, .. } | Change::Delete { path } => path,
        }
    }
}

/// A commit with the facts sync needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// Its id.
    pub id: CommitId,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author time, epoch seconds.
    pub time: i64,
    /// Paths it changed against its first parent (all paths for a root commit).
    pub paths: Vec<String>,
}

/// A git repository, bare (forge home) or with a working tree (an offline clone).
pub struct Repo {
    repo: Repository,
    path: PathBuf,
    /// Set on a repository opened by [`Repo::with_staged_commits`]: the
    /// branches its commits moved, kept in memory until the batch ends.
    staged: Option<std::cell::RefCell<Staged>>,
}

impl CommitId {
    pub(crate) fn from_oid(oid: Oid) -> Self {
        CommitId(oid)
    }

    pub(crate) fn oid(self) -> Oid {
        self.0
    }
}

impl Repo {
    fn err(&self, e: git2::Error) -> Error {
        git_err(&self.path, e)
    }

    pub(crate) fn error(&self, e: git2::Error) -> Error {
        self.err(e)
    }

    pub(crate) fn git(&self) -> &Repository {
        &self.repo
    }

    /// Creates a bare repository whose HEAD names `main` (or opens an existing one).
    pub fn init_bare(path: &Path) -> Result<Repo, Error> {
        relax_object_checks();
        let mut opts = RepositoryInitOptions::new();
        opts.bare(true).initial_head("main").mkpath(true);
        let repo = Repository::init_opts(path, &opts).map_err(|e| git_err(path, e))?;
        Ok(Repo {
            repo,
            path: path.to_path_buf(),
            staged: None,
        })
    }

    /// Makes a fork at `path`: a bare repository that borrows this one's
    /// objects through git alternates (so it costs almost no disk) and starts
    /// with the same branches, tags and default branch.
    pub fn fork_to(&self, path: &Path) -> Result<Repo, Error> {
        if path.exists() {
            return Err(Error::Git {
                path: path.display().to_string(),
                message: "a repository already exists there".into(),
            });
        }
        Repo::init_bare(path)?;
        Repo::borrow_objects(path, self.repo.path())?;
        // Reopen so libgit2 sees the alternates.
        let fork = Repo::open(path)?;
        let refs = self.repo.references().map_err(|e| self.err(e))?;
        for reference in refs {
            let reference = reference.map_err(|e| self.err(e))?;
            let (Ok(name), Some(target)) = (reference.name(), reference.target()) else {
                continue;
            };
            if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
                fork.repo
                    .reference(name, target, true, "fork")
                    .map_err(|e| fork.err(e))?;
            }
        }
        if let Ok(branch) = self.head_branch() {
            fork.repo
                .set_head(&format!("refs/heads/{branch}"))
                .map_err(|e| fork.err(e))?;
        }
        Ok(fork)
    }

    /// Makes the bare repository at `fork` borrow the objects of the one at
    /// `parent` (git alternates, by absolute path): at a fork's birth, and
    /// again when its parent moves.
    pub fn borrow_objects(fork: &Path, parent: &Path) -> Result<(), Error> {
        let objects = parent.join("objects");
        let objects = objects.canonicalize().unwrap_or(objects);
        let info = fork.join("objects").join("info");
        let io = |e: std::io::Error| Error::Git {
            path: fork.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(&info).map_err(io)?;
        std::fs::write(info.join("alternates"), format!("{}\n", objects.display())).map_err(io)
    }

    /// Opens an existing repository, bare or not.
    pub fn open(path: &Path) -> Result<Repo, Error> {
        relax_object_checks();
        let repo = Repository::open(path).map_err(|e| git_err(path, e))?;
        Ok(Repo {
            repo,
            path: path.to_path_buf(),
            staged: None,
        })
    }

    /// Waits until no other thread of this process is writing this
    /// repository through [`write_lock`](Self::write_lock), and keeps others
    /// out until the guard drops. Branch updates stay compare-and-swap (other
    /// processes are not covered); this only spares threads of one process
    /// from retrying against each other.
    pub fn write_lock(&self) -> crate::WriteGuard {
        crate::WriteGuard::acquire(self.repo.path())
    }

    /// The path the repository was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `.git` folder (the repository itself when bare).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The branch HEAD names (`main` for new repositories), even if unborn.
    pub fn head_branch(&self) -> Result<String, Error> {
        let head = self.repo.find_reference("HEAD").map_err(|e| self.err(e))?;
        match head.symbolic_target().ok().flatten() {
            Some(target) => Ok(target
                .strip_prefix("refs/heads/")
                .unwrap_or(target)
                .to_string()),
            None => Err(Error::Git {
                path: self.path.display().to_string(),
                message: "HEAD is detached; check out a branch".into(),
            }),
        }
    }

    /// The commit a branch points at, `None` while it is unborn.
    pub fn branch_tip(&self, branch: &str) -> Result<Option<CommitId>, Error> {
        if let Some(tip) = self.staged_tip(branch) {
            return Ok(Some(tip));
        }
        match self.repo.refname_to_id(&format!("refs/heads/{branch}")) {
            Ok(oid) => Ok(Some(CommitId(oid))),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Whether a commit exists in this repository.
    pub fn has_commit(&self, id: CommitId) -> bool {
        self.is_staged(id.0) || self.repo.find_commit(id.0).is_ok()
    }

    /// The identity git would use here (`user.name` / `user.email` of the repository's config).
    pub fn configured_identity(&self) -> Option<Identity> {
        let sig = self.repo.signature().ok()?;
        Some(Identity::new(sig.name().ok()?, sig.email().unwrap_or("")))
    }

    /// Sets a key in the repository's own config file.
    pub fn set_config(&self, key: &str, value: &str) -> Result<(), Error> {
        let config = self.repo.config().map_err(|e| self.err(e))?;
        let mut local = config
            .open_level(git2::ConfigLevel::Local)
            .map_err(|e| self.err(e))?;
        local.set_str(key, value).map_err(|e| self.err(e))?;
        // keep the `config` handle alive until the write is done
        drop(config);
        Ok(())
    }

    /// Reads a key of the repository's config.
    pub fn config_value(&self, key: &str) -> Option<String> {
        self.repo.config().ok()?.get_string(key).ok()
    }
}

/// forge writes every object before the tree or ref that names it, so
/// libgit2's existence check on each tree entry and ref target (one file read
/// each) only costs time; and reads are not re-hashed. Process-wide, set once.
fn relax_object_checks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        git2::opts::strict_object_creation(false);
        // Hashing every object read again doubles the cost of a reindex; git
        // itself leaves that check to `git fsck`.
        git2::opts::strict_hash_verification(false);
    });
}

fn git_err(path: &Path, e: git2::Error) -> Error {
    Error::Git {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

mod read;
#[cfg(test)]
mod tests;
mod write;
use write::Staged;
