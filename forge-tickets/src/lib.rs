//! Issues as JSON documents in git, and their SQLite projection.
//!
//! A [`Tracker`] drives the issues of one project: every change is one commit
//! in the project's tickets repository (authored by the acting user), and the
//! SQLite index is brought up to date — incrementally, from the paths that
//! changed — before every read and after every write. The events of every
//! change the index applies go to the durable event log in the same SQLite
//! transaction, whether forge made the change or a plain `git push` brought it.
//!
//! ```
//! use forge_core::{ForgeHome, Store};
//! use forge_tickets::{Actor, NewIssue, Tracker};
//! # fn main() -> Result<(), forge_tickets::Error> {
//! # let dir = tempfile::tempdir().expect("tempdir");
//! let home = ForgeHome::new(dir.path());
//! let store = Store::open(&home.db_path())?;
//! store.add_user("alice", "Alice", &["alice@example.org"])?;
//! let project = store.create_project("hammer", "", false, "alice")?;
//! let tracker = Tracker::create_for_project(&store, &home, &project)?;
//! let alice = Actor::for_user(&store, &project, "alice")?;
//! let issue = tracker.create_issue(&alice, NewIssue::titled("The handle is loose"))?;
//! tracker.comment(&alice, issue.number, "Glue it.")?;
//! assert_eq!(tracker.issue(&alice, issue.number)?.comments.len(), 1);
//! # Ok(())
//! # }
//! ```

pub mod doc;
mod error;
pub mod hooks;
pub mod index;
pub mod magic;
pub mod merge;
pub mod pagure;
pub mod pull_index;
mod pulls;
pub mod request;
mod sync;
mod tracker;
mod tx;
pub mod view;
pub use tx::IndexTx;

pub use error::Error;
pub use index::IssueFilter;
pub use pull_index::PullFilter;
pub use pulls::{
    FlagView, InlineTarget, MergeOutcome, NewFlag, NewPull, PullCommentView, PullDetails, PullEdit,
    PullRequests, PullSummary, SourceView,
};
pub use sync::SyncReport;
pub use tracker::{create_project, fork_project, Actor, IndexView, IssueEdit, NewIssue, Tracker};

/// Result of ticket operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
