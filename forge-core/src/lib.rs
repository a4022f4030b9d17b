//! The data model of forge and the SQLite store that holds it.
//!
//! forge-core knows users, groups, projects, roles, API tokens and the durable
//! event log. It checks permissions with pure functions and keeps everything in
//! one SQLite database (WAL, ordered migrations keyed by `PRAGMA user_version`).
//! It knows nothing of git, HTTP or terminals.
//!
//! ```
//! use forge_core::{Store, role::Role};
//! # fn main() -> Result<(), forge_core::Error> {
//! let store = Store::open_in_memory()?;
//! let alice = store.add_user("alice", "Alice Liddell", &["alice@example.org"])?;
//! let project = store.create_project("tools/hammer", "A hammer", false, &alice.username)?;
//! assert_eq!(store.role_of(&project, "alice")?, Some(Role::Admin));
//! # Ok(())
//! # }
//! ```

pub mod account;
pub mod activity;
pub mod commit_flag;
pub mod config;
pub mod error;
pub mod event;
pub mod group;
pub mod home;
pub mod markdown;
pub mod name;
pub mod project;
pub mod push_rules;
pub mod repo_access;
pub mod role;
pub mod ssh_ops;
pub mod sshkey;
pub mod store;
pub mod time;
pub mod token;
pub mod user;

pub use error::Error;
pub use home::ForgeHome;
pub use store::Store;

/// Result of the forge-core operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
