//! Errors of ticket operations.

/// What went wrong, naming the project, issue or file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data-model or store error (unknown user, invalid name, permission...).
    #[error(transparent)]
    Core(#[from] forge_core::Error),
    /// A git error.
    #[error(transparent)]
    Git(#[from] forge_git::Error),
    /// No such issue (or not visible to the acting user).
    #[error("issue #{} not found in project `{project}`", crate::display_number(*number))]
    NoIssue {
        /// The project.
        project: String,
        /// The issue number.
        number: u64,
    },
    /// No such pull request (or not visible to the acting user).
    #[error("pull request #{number} not found in project `{project}`")]
    NoRequest {
        /// The project.
        project: String,
        /// The request number.
        number: u64,
    },
    /// A merge gate of the project's settings refused a merge.
    #[error("cannot merge pull request #{number}: gate `{gate}`: {reason}")]
    Gate {
        /// The request number.
        number: u64,
        /// The setting (or `conflicts`).
        gate: String,
        /// Why it refused.
        reason: String,
    },
    /// A push broke a rule of the project (pre-receive).
    #[error("push refused by rule `{rule}` on {refname}: {reason}")]
    Refused {
        /// The rule (a setting name, or `access`, `identity`, `ticket data`...).
        rule: String,
        /// The ref(s) concerned.
        refname: String,
        /// Why, naming the commit or file.
        reason: String,
    },
    /// No such comment.
    #[error("comment `{id}` not found on issue #{number}")]
    NoComment {
        /// The issue number.
        number: u64,
        /// The comment id.
        id: String,
    },
    /// A change was attempted with no acting user.
    #[error("no acting user: anonymous users can only read (pass --as USER or set FORGE_USER)")]
    Anonymous,
    /// A document in the tickets repository is malformed.
    #[error("malformed ticket document {0}")]
    Document(String),
    /// The index database failed.
    #[error("index database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored index row could not be read back.
    #[error("index row is malformed: {0}")]
    Json(#[from] serde_json::Error),
    /// A batch of writes was lost (its leader stopped).
    #[error("{0}")]
    Batch(String),
    /// The error of a whole batch of writes, shared by each of them.
    #[error(transparent)]
    Shared(std::sync::Arc<Error>),
}

impl Error {
    /// The error itself, out of a batch's shared one.
    pub fn root(&self) -> &Error {
        match self {
            Error::Shared(e) => e.root(),
            e => e,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Core(forge_core::Error::invalid(what, reason))
    }
}
