//! Validation of user, group, project and tag names.
//!
//! Names end up in file paths and URLs, so they use a fixed character set:
//! ASCII letters, digits, `.`, `_` and `-`, not starting with `.` or `-`,
//! at most [`MAX_NAME_LEN`] bytes. A project name may carry one namespace
//! (`ns/name`) whose parts follow the same rules.

use crate::Error;

/// Longest accepted name part.
pub const MAX_NAME_LEN: usize = 64;

/// Escapes control characters so a bad name can be printed on one line.
pub fn printable(name: &str) -> String {
    name.chars().flat_map(char::escape_debug).collect()
}

/// Checks one name part (a user, a group, a project without namespace).
pub fn validate(kind: &'static str, name: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidName {
            kind,
            name: printable(name),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 64 characters");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    if name.starts_with('/') {
        return bad("it is an absolute path");
    }
    if name.contains("..") {
        return bad("it contains `..`");
    }
    if name.starts_with('.') || name.starts_with('-') {
        return bad("it starts with `.` or `-`");
    }
    if name.ends_with(".git") || name.ends_with(".lock") {
        return bad("it ends with `.git` or `.lock`");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad("only letters, digits, `.`, `_` and `-` are allowed");
    }
    Ok(())
}

/// Namespaces that would make a git path ambiguous (`tickets/P.git` is the
/// issues of project P).
pub const RESERVED_NAMESPACES: &[&str] = &["forks", "docs", "tickets", "requests"];

/// The words of the web application's top level (`/login`, `/user/<name>`,
/// `/static/...`): no project without a namespace, and no namespace, may be
/// called so, or its pages would be out of reach.
pub const RESERVED_WORDS: &[&str] = &[
    "admin",
    "api",
    "dashboard",
    "docs",
    "fork",
    "forks",
    "group",
    "groups",
    "healthz",
    "login",
    "logout",
    "mail",
    "metrics",
    "new",
    "projects",
    "readyz",
    "releases",
    "requests",
    "search",
    "settings",
    "ssh_info",
    "static",
    "tickets",
    "user",
    "users",
    "wait",
    "watch",
];

/// Refuses a first path segment (a namespace, or a project without one)
/// that is one of [`RESERVED_WORDS`], whatever its case.
fn not_reserved(kind: &'static str, name: &str) -> Result<(), Error> {
    let lower = name.to_ascii_lowercase();
    if RESERVED_WORDS.contains(&lower.as_str()) {
        return Err(Error::InvalidName {
            kind,
            name: printable(name),
            reason: "it is a word of forge's web pages (/login, /user, /static, /api, ...); choose another",
        });
    }
    Ok(())
}

/// Checks a project name with an optional namespace; returns `(namespace, name)`.
pub fn split_project(full: &str) -> Result<(Option<&str>, &str), Error> {
    if full.starts_with('/') {
        return Err(Error::InvalidName {
            kind: "project",
            name: printable(full),
            reason: "it is an absolute path",
        });
    }
    if full.contains("..") {
        return Err(Error::InvalidName {
            kind: "project",
            name: printable(full),
            reason: "it contains `..`",
        });
    }
    match full.split_once('/') {
        None => {
            validate("project", full)?;
            not_reserved("project", full)?;
            Ok((None, full))
        }
        Some((ns, name)) => {
            if name.contains('/') {
                return Err(Error::InvalidName {
                    kind: "project",
                    name: printable(full),
                    reason: "only one namespace level (`ns/name`) is allowed",
                });
            }
            validate("namespace", ns)?;
            if RESERVED_NAMESPACES.contains(&ns) {
                return Err(Error::InvalidName {
                    kind: "namespace",
                    name: printable(ns),
                    reason: "forks, docs, tickets and requests name forge's own repositories",
                });
            }
            not_reserved("namespace", ns)?;
            validate("project", name)?;
            Ok((Some(ns), name))
        }
    }
}

/// Checks a tag, priority, milestone or close reason: free text on one line.
pub fn validate_label(kind: &'static str, label: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidName {
            kind,
            name: printable(label),
            reason,
        })
    };
    if label.trim().is_empty() {
        return bad("it is empty");
    }
    if label.len() > 255 {
        return bad("it is longer than 255 bytes");
    }
    if label.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    Ok(())
}

/// `*` matches any run of bytes. Linear in the text for each pattern byte
/// (the classic two-pointer match with backtracking to the last star), so
/// no pattern makes it exponential.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, ok: bool) {
        assert_eq!(split_project(name).is_ok(), ok, "{name:?}");
    }

    #[test]
    fn project_names() {
        for (name, ok) in [
            ("hammer", true),
            ("tools/hammer", true),
            // The web pages' words, as a project or a namespace.
            ("login", false),
            ("Static", false),
            ("api/hammer", false),
            ("tools/login", true),
            ("logins", true),
            ("a.b_c-d", true),
            ("", false),
            ("../x", false),
            ("/abs", false),
            ("a/b/c", false),
            ("x\ny", false),
            ("x\u{7}", false),
            (".hidden", false),
            ("-flag", false),
            ("repo.git", false),
            ("sp ace", false),
            ("ünï", false),
            (&"x".repeat(65), false),
            (&"x".repeat(64), true),
        ] {
            check(name, ok);
        }
    }

    #[test]
    fn control_characters_are_escaped_in_errors() {
        let err = validate("user", "a\nb").expect_err("newline is refused");
        assert_eq!(
            err.to_string(),
            "invalid user name `a\\nb`: it contains control characters"
        );
    }
}
