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

/// Pagure's error codes and what they mean.
pub const ERROR_CODES: &[(&str, &str)] = &[
    ("EINVALIDTOK", renew_token!("")),
    ("ENOPROJECT", "Project not found"),
    ("ENOISSUE", "Issue not found"),
    ("ENOREQ", "Pull-Request not found"),
    ("ENOCOMMENT", "Comment not found"),
    ("EINVALIDREQ", "Invalid or incomplete input submitted"),
    (
        "EPULLREQUESTSDISABLED",
        "Pull-Request have been deactivated for this project",
    ),
    (
        "ENOTHIGHENOUGH",
        "You do not have sufficient permissions to perform this action",
    ),
    (
        "EMERGECONFLICT",
        "This request does not apply cleanly and cannot be merged",
    ),
    ("ENOUSER", "No such user found"),
    ("EISSUENOTALLOWED", "You are not allowed to view this issue"),
    ("ETRACKERDISABLED", "Issue tracker disabled"),
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
            "EMERGECONFLICT" | "ENOENDPOINT" | "EBUSY" | "EINTERNAL" => None,
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
            E::AlreadyExists { .. } | E::InvalidName { .. } | E::Invalid { .. } => {
                ApiError::new(400, "EINVALIDREQ", message)
            }
            _ => ApiError::internal(message),
        }
    }
}

impl From<forge_git::Error> for ApiError {
    fn from(e: forge_git::Error) -> Self {
        use forge_git::Error as G;
        let message = e.to_string();
        match e {
            G::Contended { .. } => ApiError::busy(message),
            G::MergeConflict(_) => ApiError::new(409, "EMERGECONFLICT", message),
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
            | G::BadRemote { .. } => ApiError::new(400, "EINVALIDREQ", message),
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
            E::Gate { ref gate, .. } if gate == "conflicts" => {
                ApiError::new(409, "EMERGECONFLICT", message)
            }
            E::Gate { .. } | E::Refused { .. } => ApiError::new(403, "ENOTHIGHENOUGH", message),
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
                "EMERGECONFLICT",
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
