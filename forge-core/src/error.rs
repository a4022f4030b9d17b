//! Errors of the data model and the store.

/// What to do about a damaged `forge.db`, said wherever one is found.
pub const DAMAGED_ADVICE: &str = "It holds every user, project, member, token and key of \
     the forge. Restore it from a backup (`forge backup restore BACKUP --home DIR`), or \
     run `forge fsck --repair`: it moves the file aside and adopts the repositories on \
     disk (projects, forks, issues and pull requests come back; users come back without \
     passwords, tokens or keys, and project settings are lost)";

/// What went wrong, naming the input that caused it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A named thing does not exist.
    #[error("{kind} `{name}` not found")]
    NotFound {
        /// What kind of thing ("user", "project", ...).
        kind: &'static str,
        /// The name that was looked up.
        name: String,
    },
    /// A name is already taken.
    #[error("{kind} `{name}` already exists")]
    AlreadyExists {
        /// What kind of thing.
        kind: &'static str,
        /// The name that is taken.
        name: String,
    },
    /// A name breaks the naming rules.
    #[error("invalid {kind} name `{name}`: {reason}")]
    InvalidName {
        /// What kind of name.
        kind: &'static str,
        /// The name as given (control characters escaped).
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A value is not acceptable.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which input.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// The acting user may not do this.
    #[error("permission denied: {user} may not {action} in {project}")]
    PermissionDenied {
        /// The acting user.
        user: String,
        /// The action name.
        action: String,
        /// The project.
        project: String,
    },
    /// An API token was refused.
    #[error("invalid or expired API token")]
    InvalidToken,
    /// A sign-in was refused: unknown user, wrong password, no password
    /// set or a disabled account, all told apart only in the log.
    #[error("wrong user name or password")]
    SignInRefused,
    /// Too many failed sign-ins for this account or address lately.
    #[error("too many failed sign-ins; try again in {retry_after} seconds")]
    Throttled {
        /// Seconds until the next attempt is considered.
        retry_after: u64,
    },
    /// The database failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON value could not be read.
    #[error("stored JSON is malformed: {0}")]
    Json(#[from] serde_json::Error),
    /// `forge.db` is not a database SQLite can read: truncated, overwritten
    /// or corrupted.
    #[error("{path} is damaged ({detail}). {DAMAGED_ADVICE}")]
    Damaged {
        /// The database file.
        path: String,
        /// What SQLite said.
        detail: String,
    },
    /// A file of the forge home could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            name: name.into(),
        }
    }
}
