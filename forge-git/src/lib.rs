//! Bare git repositories for forge, through libgit2.
//!
//! forge-git is the only crate that links git2. It creates the repositories of
//! a project, writes sets of file changes as one commit straight into a bare
//! repository (blob → tree → commit → ref moved by compare-and-swap, no
//! working tree), reads files at a commit and lists what changed between two
//! commits. No git2 type crosses its API: commits are [`CommitId`]s.
//!
//! ```
//! use forge_git::{Change, Identity, Repo};
//! # fn main() -> Result<(), forge_git::Error> {
//! # let dir = tempfile::tempdir().expect("tempdir");
//! let repo = Repo::init_bare(&dir.path().join("tickets.git"))?;
//! let who = Identity::new("alice", "alice@example.org");
//! let id = repo.commit_with("main", &who, "Open issue 1", |_tip| {
//!     Ok(vec![Change::put("01/1/issue.json", b"{}".to_vec())])
//! })?;
//! assert_eq!(repo.read_file(id, "01/1/issue.json")?, Some(b"{}".to_vec()));
//! # Ok(())
//! # }
//! ```

mod browse;
pub mod copy;
mod diff;
mod grep;
mod hooks;
mod merge;
mod pack;
mod refs;
mod remote;
mod repo;
mod tree;
mod writers;

pub use browse::{BlameLine, CommitSummary, EntryKind, FileContent, RefInfo, TreeItem};
pub use diff::{FileDiff, FileStatus};
pub use grep::{GrepMatch, GrepOptions, GrepResult};
pub use hooks::HOOK_MARKER;
pub use merge::{MergeStatus, MergeStrategy};
pub use remote::{check_remote_url, forbidden_address, is_local_address, remote_host};
pub use repo::{Change, CommitId, CommitInfo, Identity, Repo};
pub use writers::WriteGuard;

/// What went wrong in a git operation, naming the repository or object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libgit2 refused or failed.
    #[error("git repository {path}: {message}")]
    Git {
        /// The repository.
        path: String,
        /// libgit2's message.
        message: String,
    },
    /// A commit id did not parse or does not exist.
    #[error("unknown commit `{0}`")]
    UnknownCommit(String),
    /// A path in a change is not a plain relative path.
    #[error("invalid path `{0}` in a change")]
    InvalidPath(String),
    /// The branch kept moving under us.
    #[error("branch `{branch}` of {path} kept moving; gave up after {attempts} attempts")]
    Contended {
        /// The repository.
        path: String,
        /// The branch.
        branch: String,
        /// How many times we tried.
        attempts: u32,
    },
    /// A revision names no branch, tag or commit.
    #[error("unknown revision `{0}` (expected a branch, a tag or a commit id)")]
    UnknownRevision(String),
    /// A path does not exist at the commit.
    #[error("no file or folder `{0}` at that revision")]
    NoSuchPath(String),
    /// A folder was expected.
    #[error("`{0}` is a file, not a folder")]
    NotADirectory(String),
    /// A file was expected.
    #[error("`{0}` is a folder, not a file")]
    NotAFile(String),
    /// A text-only operation met a binary file.
    #[error("`{0}` is a binary file")]
    NotText(String),
    /// A file is over the size limit of an operation.
    #[error("`{path}` is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A search pattern that does not compile.
    #[error("pattern `{pattern}`: {reason}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A merge would conflict.
    #[error("merge conflicts in: {0}")]
    MergeConflict(String),
    /// The target already contains the source.
    #[error("nothing to merge: the target already contains the source")]
    NothingToMerge,
    /// A fast-forward-only merge of branches that diverged.
    #[error("cannot fast-forward: the branches have diverged (use a merge, squash or rebase)")]
    NotFastForward,
    /// A remote URL was refused or could not be fetched.
    #[error("remote `{url}`: {reason}")]
    BadRemote {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The change set computed by the caller failed.
    #[error("{0}")]
    Caller(String),
}
