//! Issues and pull requests as JSON documents in git, and their SQLite
//! projection, on one document engine.
//!
//! The [`engine`] owns the life cycle every kind of document shares: a write
//! is one commit in the kind's repository (authored by the acting user),
//! applied to the SQLite index with its events in one transaction; a read
//! first syncs the index incrementally with commits it has not seen (a plain
//! `git push`, a crash between commit and index); pushed documents are
//! checked against the rules of the service; a server batches concurrent
//! writes ([`GroupCommit`]). [`Tracker`] (issues) and [`PullRequests`] are
//! thin services over it.
//!
//! ```
//! use forge_core::{ForgeHome, Store};
//! use forge_tickets::{Actor, NewIssue, NewProject, Tracker};
//! # fn main() -> Result<(), forge_tickets::Error> {
//! # let dir = tempfile::tempdir().expect("tempdir");
//! let home = ForgeHome::new(dir.path());
//! let store = Store::open(&home.db_path())?;
//! store.add_user("alice", "Alice", &["alice@example.org"])?;
//! let new = NewProject { full_name: "hammer".into(), owner: "alice".into(), ..Default::default() };
//! let project = forge_tickets::create_project(&store, &home, &new, None)?;
//! let tracker = Tracker::open_for_project(&store, &home, &project)?;
//! let alice = Actor::for_user(&store, &project, "alice")?;
//! let issue = tracker.create_issue(&alice, NewIssue::titled("The handle is loose"))?;
//! tracker.comment(&alice, issue.number, "Glue it.")?;
//! assert_eq!(tracker.issue(&alice, issue.number)?.comments.len(), 1);
//! # Ok(())
//! # }
//! ```

pub mod access;
mod actor;
pub mod admin;
pub mod backup;
mod checks;
pub mod doc;
pub mod engine;
mod error;
pub mod fsck;
pub mod hooks;
mod issues;
pub mod log;
pub mod magic;
pub mod merge;
pub mod pagure;
pub mod provision;
mod pulls;
pub mod request;
pub mod search;
mod tx;
pub mod view;

pub use actor::Actor;
pub use admin::Admin;
pub use engine::batch::GroupCommit;
pub use engine::{display_number, parse_number, SyncReport};
pub use error::Error;
pub use issues::{
    Edited, IndexView, IssueEdit, IssueFilter, IssueReaders, Issues, NewIssue, Tracker,
};
pub use provision::{create_project, fork_project, NewProject};
pub use pulls::{
    FlagView, GateState, InlineTarget, MergeCheck, MergeOutcome, NewFlag, NewPull, PullCommentView,
    PullDetails, PullEdit, PullFilter, PullRequests, PullSummary, Pulls, SourceView,
};

/// Result of ticket operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How far a long operation (a backup, a check) has gone: called with
/// `done` of `total` units and what it is at.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64, &str);
