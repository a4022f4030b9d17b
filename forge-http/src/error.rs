//! The API's errors, and the one map from library errors to HTTP statuses:
//! a client's mistake is a 4xx with Pagure's error code; contention is a
//! 409 or a 503 with `Retry-After`; a failure of git, SQLite or forge
//! itself is a 500 whose details go to the log, never to the client.

use serde_json::{json, Value};

/// An error answer: status, Pagure error code, message, field errors.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Pagure's error code.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// Errors per form field.
    pub errors: Option<Value>,
    /// Seconds after which a retry may succeed (503s).
    pub retry_after: Option<u32>,
    /// The methods the path takes (405s).
    pub allow: Option<&'static str>,
}

/// Pagure's words for a refused token, around the server's URL (the
/// table below gives them without one; `ApiError::bad_token` with it).
macro_rules! renew_token {
    ($base:expr) => {
        concat!(
            "Invalid or expired token. Please visit ",
            $base,
            "/settings#nav-api-tab to get or renew your API token."
        )
    };
}

/// Pagure's error codes and what they mean (all of them, as Pagure lists
/// them, whether forge gives them or not), then forge's own.
pub const ERROR_CODES: &[(&str, &str)] = &[
    ("EBRANCHNOTFOUND", "Branch not found in this git repository"),
    ("EDATETIME", "Invalid datetime format"),
    (
        "EDBERROR",
        "An error occurred at the database level and prevent the action from reaching completion",
    ),
    ("EEMPTYGIT", "This git repository is empty"),
    ("EFILENOTFOUND", "File not found in this git repository"),
    ("EGITERROR", "An error occurred during a git operation"),
    ("EINVALIDISSUEFIELD", "Invalid custom field submitted"),
    (
        "EINVALIDISSUEFIELD_LINK",
        "Invalid custom field submitted, the value is not a link",
    ),
    (
        "EINVALIDPERPAGEVALUE",
        "The per_page value must be between 1 and 100",
    ),
    ("EINVALIDPRIORITY", "Invalid priority submitted"),
    ("EINVALIDREQ", "Invalid or incomplete input submitted"),
    ("EINVALIDTOK", renew_token!("")),
    ("EISSUENOTALLOWED", "You are not allowed to view this issue"),
    (
        "EMIRRORINGDISABLED",
        "Mirroring external project has been disabled in this instance",
    ),
    (
        "EMODIFYPROJECTNOTALLOWED",
        "You are not allowed to modify this project",
    ),
    (
        "ENEWPROJECTDISABLED",
        "Creating project have been disabled for this instance",
    ),
    (
        "ENEWPROJECTFORBIDDEN",
        "You are not allowed to create new projects on this instance",
    ),
    ("ENOCODE", "Variable message describing the issue"),
    ("ENOCOMMENT", "Comment not found"),
    ("ENOCOMMIT", "No such commit found in this repository"),
    ("ENOGROUP", "Group not found"),
    ("ENOISSUE", "Issue not found"),
    ("ENOPLUGIN", "No such plugin"),
    (
        "ENOPRCLOSE",
        "You are not allowed to merge/close pull-request for this project",
    ),
    ("ENOPROJECT", "Project not found"),
    ("ENOPROJECTS", "No projects found"),
    ("ENOPRSTATS", "No statistics could be computed for this PR"),
    ("ENOREQ", "Pull-Request not found"),
    (
        "ENOSIGNEDOFF",
        "This repo enforces that all commits are signed off by their author.",
    ),
    ("ENOTAG", "Tag not found"),
    ("ENOTASSIGNED", "This request must be assigned to be merged"),
    ("ENOTASSIGNEE", "Only the assignee can merge this request"),
    (
        "ENOTHIGHENOUGH",
        "You do not have sufficient permissions to perform this action",
    ),
    (
        "ENOTMAINADMIN",
        "Only the main admin can set the main admin of a project",
    ),
    ("ENOUSER", "No such user found"),
    ("EPLUGINCHANGENOTALLOWED", "This plugin cannot be changed"),
    ("EPLUGINDISABLED", "Plugin disabled"),
    (
        "EPLUGINNOTINSTALLED",
        "Project doesn't have this plugin installed",
    ),
    (
        "EPRCONFLICTS",
        "This pull-request conflicts and thus cannot be merged",
    ),
    (
        "EPRNOTALLOWED",
        "You are not allowed to view this pull-request",
    ),
    (
        "EPRSCORE",
        "This request does not have the minimum review score necessary to be merged",
    ),
    (
        "EPULLREQUESTSDISABLED",
        "Pull-Request have been deactivated for this project",
    ),
    (
        "EREBASENOTALLOWED",
        "You are not authorized to rebase this pull-request",
    ),
    ("ETIMESTAMP", "Invalid timestamp format"),
    ("ETRACKERDISABLED", "Issue tracker disabled"),
    (
        "ETRACKERREADONLY",
        "The issue tracker of this project is read-only",
    ),
    ("EUBLOCKED", "You have been blocked from this project"),
    // forge's own.
    ("ENOENDPOINT", "No such API endpoint"),
    (
        "EBUSY",
        "The forge is busy with this resource; retry shortly",
    ),
    ("EINTERNAL", "Internal error"),
];

impl ApiError {
    /// An error with no field errors.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: None,
            retry_after: None,
            allow: None,
        }
    }

    /// A 405: the path exists, with other methods.
    pub fn method_not_allowed(allow: &'static str) -> ApiError {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(405, "ENOENDPOINT", format!("this endpoint takes {allow}"))
        }
    }

    /// A 400 naming a form field or query parameter and what is wrong with it.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            status: 400,
            code: "EINVALIDREQ",
            // Pagure's words; the field and what is wrong with it are in `errors`.
            message: "Invalid or incomplete input submitted".into(),
            errors: Some(json!({ field: [message] })),
            retry_after: None,
            allow: None,
        }
    }

    /// No such endpoint.
    pub fn no_endpoint() -> ApiError {
        ApiError::new(404, "ENOENDPOINT", "no such API endpoint")
    }

    /// A failure of the server itself: logged in full, answered as a bare 500.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(500, "EINTERNAL", "internal error")
    }

    /// Busy: the resource kept moving under concurrent writers.
    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(503, "EBUSY", message)
        }
    }

    /// The answer's JSON: Pagure's words for the code as `error` (its
    /// clients show them), forge's own message as `detail` when it says
    /// more, and `errors` as Pagure gives them.
    pub fn body(&self) -> Value {
        let fixed = match self.code {
            // Its text names the server's settings page: made per answer.
            "EINVALIDTOK" => None,
            // forge's own codes say what happened in their message.
            "ENOENDPOINT" | "EBUSY" | "EINTERNAL" => None,
            code => ERROR_CODES
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, t)| *t),
        };
        let mut body = json!({"error": fixed.unwrap_or(&self.message), "error_code": self.code});
        if fixed.is_some_and(|f| f != self.message) {
            body["detail"] = json!(self.message);
        }
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }

    /// A refused token, as Pagure answers it: its text naming the settings
    /// page under `base` (the server's public URL), and why in `errors`.
    pub fn bad_token(base: &str, why: impl Into<String>) -> ApiError {
        ApiError {
            errors: Some(json!(why.into())),
            ..ApiError::new(401, "EINVALIDTOK", format!(renew_token!("{}"), base))
        }
    }
}

impl From<forge_core::Error> for ApiError {
    fn from(e: forge_core::Error) -> Self {
        use forge_core::Error as E;
        let message = e.to_string();
        match e {
            E::NotFound {
                kind: "project", ..
            } => ApiError::new(404, "ENOPROJECT", message),
            E::NotFound { kind: "user", .. } => ApiError::new(404, "ENOUSER", message),
            E::NotFound { .. } => ApiError::new(404, "EINVALIDREQ", message),
            E::PermissionDenied { .. } => ApiError::new(403, "ENOTHIGHENOUGH", message),
            E::InvalidToken => ApiError::new(401, "EINVALIDTOK", message),
            E::SignInRefused => ApiError::new(401, "EINVALIDREQ", message),
            E::Throttled { retry_after } => ApiError {
                retry_after: Some(u32::try_from(retry_after).unwrap_or(u32::MAX)),
                ..ApiError::new(429, "EINVALIDREQ", message)
            },
            E::AlreadyExists { .. } | E::InvalidName { .. } | E::Invalid { .. } => {
                ApiError::new(400, "EINVALIDREQ", message)
            }
            _ => ApiError::internal(message),
        }
    }
}

impl From<forge_notify::ci::setup::Error> for ApiError {
    fn from(e: forge_notify::ci::setup::Error) -> Self {
        use forge_notify::ci::setup::Error as E;
        match e {
            E::Core(core) => core.into(),
            E::Refused(why) => ApiError::field("url", why),
            E::Key(why) => ApiError::internal(why),
        }
    }
}

impl From<forge_git::Error> for ApiError {
    fn from(e: forge_git::Error) -> Self {
        use forge_git::Error as G;
        let message = e.to_string();
        match e {
            G::Contended { .. } => ApiError::busy(message),
            G::MergeConflict(_) => ApiError::new(409, "EPRCONFLICTS", message),
            G::UnknownCommit(_)
            | G::UnknownRevision(_)
            | G::NoSuchPath(_)
            | G::NotADirectory(_)
            | G::NotAFile(_) => ApiError::new(404, "EINVALIDREQ", message),
            G::InvalidPath(_)
            | G::NotText(_)
            | G::TooLarge { .. }
            | G::NothingToMerge
            | G::NotFastForward
            | G::BadRemote { .. }
            | G::BadPattern { .. } => ApiError::new(400, "EINVALIDREQ", message),
            G::Git { .. } | G::Caller(_) => ApiError::internal(message),
        }
    }
}

impl From<forge_tickets::Error> for ApiError {
    fn from(e: forge_tickets::Error) -> Self {
        use forge_tickets::Error as E;
        let message = e.to_string();
        match e {
            E::Core(core) => core.into(),
            E::Git(git) => git.into(),
            E::Shared(shared) => match std::sync::Arc::try_unwrap(shared) {
                Ok(e) => e.into(),
                Err(shared) => ApiError::from_shared(shared.root(), message),
            },
            E::NoIssue { .. } => ApiError::new(404, "ENOISSUE", message),
            E::NoRequest { .. } => ApiError::new(404, "ENOREQ", message),
            E::NoComment { .. } => ApiError::new(404, "ENOCOMMENT", message),
            E::Anonymous => ApiError::new(401, "EINVALIDTOK", message),
            // Pagure's codes for its gates (forge's message says which
            // assignee, or that there is none).
            E::Gate { ref gate, .. } => match gate.as_str() {
                "conflicts" => ApiError::new(409, "EPRCONFLICTS", message),
                "pr_min_score" => ApiError::new(403, "EPRSCORE", message),
                "pr_only_assignee_merge" => ApiError::new(403, "ENOTASSIGNEE", message),
                _ => ApiError::new(403, "ENOTHIGHENOUGH", message),
            },
            E::Refused { .. } => ApiError::new(403, "ENOTHIGHENOUGH", message),
            // The stored document is broken: not the client's doing, and
            // it stays so until someone repairs it.
            E::Document(_) => ApiError::new(409, "EINVALIDREQ", message),
            E::Batch(_) => ApiError::busy(message),
            E::Sqlite(_) | E::Json(_) => ApiError::internal(message),
        }
    }
}

impl ApiError {
    /// The error of one write of a batch that failed as a whole (the
    /// batch's error is shared by its writes).
    fn from_shared(root: &forge_tickets::Error, message: String) -> ApiError {
        use forge_tickets::Error as E;
        match root {
            E::Git(forge_git::Error::Contended { .. }) | E::Batch(_) => ApiError::busy(message),
            E::Core(forge_core::Error::PermissionDenied { .. }) => {
                ApiError::new(403, "ENOTHIGHENOUGH", message)
            }
            _ => ApiError::internal(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind of library error, and the status and code it becomes.
    #[test]
    fn library_errors_map_to_one_status_each() {
        use forge_tickets::Error as E;
        let git = |e: forge_git::Error| E::Git(e);
        let cases: Vec<(E, u16, &str)> = vec![
            (
                E::Core(forge_core::Error::not_found("project", "p")),
                404,
                "ENOPROJECT",
            ),
            (
                E::Core(forge_core::Error::not_found("user", "u")),
                404,
                "ENOUSER",
            ),
            (
                E::Core(forge_core::Error::invalid("title", "empty")),
                400,
                "EINVALIDREQ",
            ),
            (
                E::Core(forge_core::Error::PermissionDenied {
                    user: "u".into(),
                    action: "a".into(),
                    project: "p".into(),
                }),
                403,
                "ENOTHIGHENOUGH",
            ),
            (
                E::NoIssue {
                    project: "p".into(),
                    number: 1,
                },
                404,
                "ENOISSUE",
            ),
            (
                E::NoRequest {
                    project: "p".into(),
                    number: 1,
                },
                404,
                "ENOREQ",
            ),
            (E::Anonymous, 401, "EINVALIDTOK"),
            (
                E::Gate {
                    number: 1,
                    gate: "conflicts".into(),
                    reason: "x".into(),
                },
                409,
                "EPRCONFLICTS",
            ),
            (
                git(forge_git::Error::Contended {
                    path: "t".into(),
                    branch: "main".into(),
                    attempts: 8,
                }),
                503,
                "EBUSY",
            ),
            (
                git(forge_git::Error::Git {
                    path: "t".into(),
                    message: "object not found".into(),
                }),
                500,
                "EINTERNAL",
            ),
            (
                git(forge_git::Error::UnknownRevision("x".into())),
                404,
                "EINVALIDREQ",
            ),
            (
                E::Json(serde_json::from_str::<u8>("x").expect_err("not json")),
                500,
                "EINTERNAL",
            ),
            (
                E::Shared(std::sync::Arc::new(git(forge_git::Error::Contended {
                    path: "t".into(),
                    branch: "main".into(),
                    attempts: 8,
                }))),
                503,
                "EBUSY",
            ),
        ];
        for (error, status, code) in cases {
            let text = error.to_string();
            let api = ApiError::from(error);
            assert_eq!((api.status, api.code), (status, code), "{text}");
            if status == 500 {
                assert_eq!(api.message, "internal error", "no internal text leaks");
            }
            if status == 503 {
                assert_eq!(api.retry_after, Some(1));
            }
        }
    }
}
