//! Which repository a git path names, and who may read or write it: the
//! rules the SSH forced command, the HTTP git backend and the hooks share.

use std::path::{Path, PathBuf};

use crate::home::ForgeHome;
use crate::name;
use crate::role::Role;
use crate::{Error, Result};

/// One of a project's repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoKind {
    /// The source repository (`P.git`).
    Source,
    /// The documentation repository (`docs/P.git`).
    Docs,
    /// The issues (`tickets/P.git`).
    Tickets,
    /// The pull requests (`requests/P.git`).
    Requests,
    /// A user's fork of the source (`forks/USER/P.git`).
    Fork(String),
}

/// A forge repository: a project and which of its repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// The project's full name.
    pub project: String,
    /// Which repository.
    pub kind: RepoKind,
}

impl RepoRef {
    /// How clients name it: `tools/hammer.git`, `tickets/tools/hammer.git`,
    /// `forks/bob/tools/hammer.git`...
    pub fn display(&self) -> String {
        let p = &self.project;
        match &self.kind {
            RepoKind::Source => format!("{p}.git"),
            RepoKind::Docs => format!("docs/{p}.git"),
            RepoKind::Tickets => format!("tickets/{p}.git"),
            RepoKind::Requests => format!("requests/{p}.git"),
            RepoKind::Fork(user) => format!("forks/{user}/{p}.git"),
        }
    }

    /// Parses a path as a git client sends it (`'/tools/hammer.git'` over
    /// `ssh://`, `tools/hammer` over `host:path`). One leading `/` is allowed;
    /// `..`, other absolute paths, `~` and empty parts are refused.
    pub fn parse(path: &str) -> Result<RepoRef> {
        let bad =
            |why: &str| Error::invalid(format!("repository `{}`", name::printable(path)), why);
        let rel = path.strip_prefix('/').unwrap_or(path);
        if rel.starts_with('/') || rel.starts_with('~') {
            return Err(bad(
                "absolute and home-relative paths are not forge repositories",
            ));
        }
        let rel = rel.strip_suffix('/').unwrap_or(rel);
        if rel
            .split('/')
            .any(|p| p == ".." || p == "." || p.is_empty())
        {
            return Err(bad("`..`, `.` and empty path parts are not allowed"));
        }
        let rel = rel.strip_suffix(".git").unwrap_or(rel);
        let parts: Vec<&str> = rel.split('/').collect();
        let (kind, project) = match parts.as_slice() {
            ["forks", user, rest @ ..] if !rest.is_empty() => {
                name::validate("user", user)?;
                (RepoKind::Fork(user.to_string()), rest.join("/"))
            }
            ["docs", rest @ ..] if !rest.is_empty() => (RepoKind::Docs, rest.join("/")),
            ["tickets", rest @ ..] if !rest.is_empty() => (RepoKind::Tickets, rest.join("/")),
            ["requests", rest @ ..] if !rest.is_empty() => (RepoKind::Requests, rest.join("/")),
            _ => (RepoKind::Source, rel.to_string()),
        };
        name::split_project(&project).map_err(|_| bad("not a forge repository name"))?;
        Ok(RepoRef { project, kind })
    }

    /// Where it lives in a forge home.
    pub fn path_in(&self, home: &ForgeHome) -> PathBuf {
        let paths = home.project_paths(&self.project);
        match &self.kind {
            RepoKind::Source => paths.source,
            RepoKind::Docs => paths.docs,
            RepoKind::Tickets => paths.tickets,
            RepoKind::Requests => paths.requests,
            RepoKind::Fork(user) => home.fork_path(user, &self.project),
        }
    }

    /// Which forge repository a folder of the home is (what a hook finds in
    /// its working directory), if any.
    pub fn from_path(home: &ForgeHome, path: &Path) -> Option<RepoRef> {
        let root = home.root().canonicalize().ok()?;
        let path = path.canonicalize().ok()?;
        let rel = path.strip_prefix(&root).ok()?.to_str()?.to_string();
        let (area, rest) = rel.split_once('/')?;
        let rest = rest.strip_suffix(".git")?;
        let parsed = match area {
            "repos" => RepoRef::parse(&format!("{rest}.git")).ok()?,
            "docs" | "tickets" | "requests" => {
                RepoRef::parse(&format!("{area}/{rest}.git")).ok()?
            }
            _ => return None,
        };
        // `repos/forks/...` parses as a fork; a project called `docs/x` under
        // repos/ would parse as docs and is not what this folder is.
        let expected_area = match parsed.kind {
            RepoKind::Source | RepoKind::Fork(_) => "repos",
            RepoKind::Docs => "docs",
            RepoKind::Tickets => "tickets",
            RepoKind::Requests => "requests",
        };
        (expected_area == area).then_some(parsed)
    }
}

/// Who is asking for a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitIdentity {
    /// A user, with their role on the project (if any).
    User {
        /// Username.
        name: String,
        /// Role on the repository's project.
        role: Option<Role>,
    },
    /// A project's deploy key.
    Deploy {
        /// The project it belongs to.
        project: String,
        /// Whether it may push.
        push: bool,
    },
    /// Nobody (anonymous HTTP).
    Anonymous,
}

/// What is known of the project for the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoFacts {
    /// Whether the project is private.
    pub private_project: bool,
    /// Whether the project has private issues (its tickets and requests
    /// repositories then stay with ticket+ members, or a clone would leak them).
    pub private_issues: bool,
}

/// Whether `who` may fetch `repo`. Pure.
pub fn may_read(who: &GitIdentity, repo: &RepoRef, facts: RepoFacts) -> bool {
    let role = match who {
        GitIdentity::Deploy { project, .. } => {
            return project == &repo.project
                && matches!(repo.kind, RepoKind::Source | RepoKind::Docs)
        }
        GitIdentity::User { role, .. } => *role,
        GitIdentity::Anonymous => None,
    };
    if facts.private_project && role.is_none() {
        return false;
    }
    match repo.kind {
        RepoKind::Tickets | RepoKind::Requests if facts.private_issues => role.is_some(),
        _ => true,
    }
}

/// Whether `who` may push to `repo` at all (branch rules come after, in the
/// pre-receive hook). Pure.
pub fn may_write(who: &GitIdentity, repo: &RepoRef, facts: RepoFacts) -> bool {
    if !may_read(who, repo, facts) {
        return false;
    }
    match who {
        GitIdentity::Deploy { project, push } => {
            *push && project == &repo.project && repo.kind == RepoKind::Source
        }
        GitIdentity::Anonymous => false,
        GitIdentity::User { name, role } => match &repo.kind {
            RepoKind::Fork(owner) => owner == name,
            RepoKind::Source => role.is_some_and(|r| r >= Role::Collaborator),
            RepoKind::Docs => role.is_some_and(|r| r >= Role::Commit),
            RepoKind::Tickets | RepoKind::Requests => role.is_some(),
        },
    }
}

/// The git services a forge serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitService {
    /// Fetch and clone.
    UploadPack,
    /// Push.
    ReceivePack,
    /// `git archive --remote`.
    UploadArchive,
}

impl GitService {
    /// The git subcommand (`upload-pack`...).
    pub fn subcommand(self) -> &'static str {
        match self {
            GitService::UploadPack => "upload-pack",
            GitService::ReceivePack => "receive-pack",
            GitService::UploadArchive => "upload-archive",
        }
    }

    /// Whether the service writes to the repository.
    pub fn writes(self) -> bool {
        self == GitService::ReceivePack
    }
}

/// Parses the command an SSH client asked for (`SSH_ORIGINAL_COMMAND`):
/// `git-upload-pack 'path'` (or `git upload-pack`, `git-receive-pack`,
/// `git-upload-archive`), the path in shell single quotes as git writes it
/// (`'` itself as `'\''`) or bare. Anything else is refused, naming it.
pub fn parse_ssh_command(command: &str) -> Result<(GitService, String)> {
    let refuse = |why: &str| {
        Error::invalid(
            format!("command `{}`", name::printable(command)),
            why.to_string(),
        )
    };
    let command = command.trim();
    let (verb, rest) = command
        .split_once(' ')
        .ok_or_else(|| refuse("only git fetch and push are served here"))?;
    let (verb, rest) = match verb {
        "git" => rest
            .trim_start()
            .split_once(' ')
            .ok_or_else(|| refuse("only git fetch and push are served here"))?,
        v => (v.strip_prefix("git-").unwrap_or("-"), rest),
    };
    let service = match verb {
        "upload-pack" => GitService::UploadPack,
        "receive-pack" => GitService::ReceivePack,
        "upload-archive" => GitService::UploadArchive,
        _ => {
            return Err(refuse(
                "only git-upload-pack, git-receive-pack and git-upload-archive are served",
            ))
        }
    };
    let mut path = String::new();
    let mut chars = rest.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => path.push(c),
                    None => return Err(refuse("unterminated quote")),
                }
            },
            '\\' => match chars.next() {
                Some('\'') => path.push('\''),
                _ => return Err(refuse("unexpected backslash")),
            },
            c if c.is_ascii_alphanumeric() || "/._-~".contains(c) => path.push(c),
            _ => {
                return Err(refuse(
                    "one repository path expected, with no other arguments",
                ))
            }
        }
    }
    if path.is_empty() || path.starts_with('-') || path.chars().any(char::is_control) {
        return Err(refuse("no repository path"));
    }
    Ok((service, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_commands_are_parsed_strictly() {
        let ok = |c: &str, s: GitService, p: &str| {
            assert_eq!(parse_ssh_command(c).expect(c), (s, p.to_string()), "{c}")
        };
        ok(
            "git-upload-pack '/tools/hammer.git'",
            GitService::UploadPack,
            "/tools/hammer.git",
        );
        ok(
            "git-receive-pack 'hammer.git'",
            GitService::ReceivePack,
            "hammer.git",
        );
        ok(
            "git upload-pack 'a'\\''b.git'",
            GitService::UploadPack,
            "a'b.git",
        );
        ok(
            "git-upload-archive hammer.git",
            GitService::UploadArchive,
            "hammer.git",
        );
        for bad in [
            "",
            "ls",
            "bash -c id",
            "git-upload-pack",
            "git-upload-pack 'x.git' extra",
            "git-upload-pack 'x.git'; rm -rf /",
            "git-upload-pack $(id)",
            "git-upload-pack '--upload-pack=id'",
            "git-upload-pack 'unterminated",
            "git-shell -c id",
            "git daemon x",
            "scp -t /tmp",
        ] {
            assert!(parse_ssh_command(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths_name_repositories_or_are_refused() {
        let ok = |path: &str, project: &str, kind: RepoKind| {
            assert_eq!(
                RepoRef::parse(path).expect(path),
                RepoRef {
                    project: project.into(),
                    kind
                },
                "{path}"
            );
        };
        ok("hammer.git", "hammer", RepoKind::Source);
        ok("/tools/hammer.git", "tools/hammer", RepoKind::Source);
        ok("tools/hammer", "tools/hammer", RepoKind::Source);
        ok(
            "tickets/tools/hammer.git",
            "tools/hammer",
            RepoKind::Tickets,
        );
        ok("requests/hammer.git", "hammer", RepoKind::Requests);
        ok("docs/hammer.git/", "hammer", RepoKind::Docs);
        ok(
            "forks/bob/tools/hammer.git",
            "tools/hammer",
            RepoKind::Fork("bob".into()),
        );
        for bad in [
            "../etc/passwd",
            "tools/../hammer.git",
            "//etc/passwd",
            "~root/x.git",
            "",
            "/",
            "a//b.git",
            "forks/bob",
            "hammer.git\n",
            "-oProxyCommand=x",
        ] {
            assert!(RepoRef::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            RepoRef::parse("forks/bob/hammer").map(|r| r.display()).ok(),
            Some("forks/bob/hammer.git".into())
        );
    }

    #[test]
    fn read_and_write_rules() {
        let source = RepoRef::parse("p.git").expect("p");
        let tickets = RepoRef::parse("tickets/p.git").expect("t");
        let docs = RepoRef::parse("docs/p.git").expect("d");
        let fork = RepoRef::parse("forks/bob/p.git").expect("f");
        let user = |role| GitIdentity::User {
            name: "bob".into(),
            role,
        };
        let open = RepoFacts {
            private_project: false,
            private_issues: false,
        };
        let private = RepoFacts {
            private_project: true,
            private_issues: false,
        };
        let secret_issues = RepoFacts {
            private_project: false,
            private_issues: true,
        };
        assert!(may_read(&GitIdentity::Anonymous, &source, open));
        assert!(!may_write(&GitIdentity::Anonymous, &source, open));
        assert!(!may_read(&GitIdentity::Anonymous, &source, private));
        assert!(!may_read(&user(None), &source, private));
        assert!(may_read(&user(Some(Role::Ticket)), &source, private));
        assert!(may_read(&user(None), &tickets, open));
        assert!(!may_read(&user(None), &tickets, secret_issues));
        assert!(may_read(&user(Some(Role::Ticket)), &tickets, secret_issues));
        assert!(!may_write(&user(Some(Role::Ticket)), &source, open));
        assert!(may_write(&user(Some(Role::Collaborator)), &source, open));
        assert!(!may_write(&user(Some(Role::Collaborator)), &docs, open));
        assert!(may_write(&user(Some(Role::Commit)), &docs, open));
        assert!(may_write(&user(Some(Role::Ticket)), &tickets, open));
        assert!(!may_write(&user(None), &tickets, open));
        assert!(may_write(&user(None), &fork, open), "bob's own fork");
        let carol = GitIdentity::User {
            name: "carol".into(),
            role: Some(Role::Admin),
        };
        assert!(!may_write(&carol, &fork, open), "not carol's fork");
        let deploy = |push| GitIdentity::Deploy {
            project: "p".into(),
            push,
        };
        assert!(may_read(&deploy(false), &source, private));
        assert!(!may_write(&deploy(false), &source, open));
        assert!(may_write(&deploy(true), &source, open));
        assert!(!may_read(&deploy(true), &tickets, open));
        let other = RepoRef::parse("q.git").expect("q");
        assert!(!may_read(&deploy(true), &other, open));
    }
}
