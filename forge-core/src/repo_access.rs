//! Which repository a git path names, and who may read or write it: the one
//! access decision ([`decide`]) the SSH forced command, the HTTP git backend
//! and the hooks all call, on an identity resolved once ([`identity`]).

use std::path::{Path, PathBuf};

use crate::home::ForgeHome;
use crate::name;
use crate::project::Project;
use crate::role::Role;
use crate::{Error, Result, Store};

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
    /// Whether the project mirrors another forge's: its source, issues and
    /// pull requests are written by the replication only, never pushed to.
    pub mirrored: bool,
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

/// Who says they are asking, before the store is consulted: what a door
/// knows (the SSH key's owner, a token's user, `FORGE_USER` in a hook).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimant {
    /// A username.
    User(String),
    /// A deploy key, by id.
    DeployKey(i64),
    /// Nobody.
    Anonymous,
}

impl Claimant {
    /// How messages name it.
    pub fn describe(&self) -> String {
        match self {
            Claimant::User(name) => name.clone(),
            Claimant::DeployKey(id) => format!("deploy key {id}"),
            Claimant::Anonymous => "an anonymous user".into(),
        }
    }
}

/// Resolves a claimant against a project: a registered user with their role
/// there, or a registered deploy key; an unknown user is an error, an
/// unknown deploy key is anonymous.
pub fn identity(store: &Store, project: &Project, claimant: &Claimant) -> Result<GitIdentity> {
    match claimant {
        Claimant::User(name) => {
            store.user(name)?;
            // A disabled account is no one: it reads what anyone may.
            if store.user_disabled(name)? {
                return Ok(GitIdentity::Anonymous);
            }
            Ok(GitIdentity::User {
                name: name.clone(),
                role: store.role_of(project, name)?,
            })
        }
        Claimant::DeployKey(id) => Ok(match store.deploy_key(*id)? {
            Some((project, push)) => GitIdentity::Deploy { project, push },
            None => GitIdentity::Anonymous,
        }),
        Claimant::Anonymous => Ok(GitIdentity::Anonymous),
    }
}

impl GitIdentity {
    /// How messages name it.
    pub fn describe(&self) -> String {
        match self {
            GitIdentity::User { name, .. } => name.clone(),
            GitIdentity::Deploy { project, .. } => format!("a deploy key of {project}"),
            GitIdentity::Anonymous => "an anonymous user".into(),
        }
    }
}

/// Why a git request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing there as far as this identity may know (also a private
    /// repository asked for by someone who may not read it).
    NotFound(String),
    /// An anonymous request for what needs an identity.
    NeedsIdentity(String),
    /// Readable, but not writable by this identity.
    Forbidden(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotFound(m) | Refusal::NeedsIdentity(m) | Refusal::Forbidden(m) => {
                f.write_str(m)
            }
        }
    }
}

/// What a push to a repository sets in motion, for the post-receive hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterPush {
    /// The issue index syncs (a tickets push; or magic words from commits).
    pub tickets: bool,
    /// The request index syncs (a requests push; or requests refreshed from a branch).
    pub requests: bool,
    /// Commits land on branches: activity, magic words, pull-request refresh.
    pub source: bool,
}

/// The access a git request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// Fetch only.
    Read,
    /// Push too (branch rules come after, in pre-receive), with what must
    /// follow the push.
    Write(AfterPush),
}

impl RepoKind {
    /// What a push here sets in motion.
    pub fn after_push(&self) -> AfterPush {
        match self {
            RepoKind::Tickets => AfterPush {
                tickets: true,
                requests: false,
                source: false,
            },
            RepoKind::Requests => AfterPush {
                tickets: false,
                requests: true,
                source: false,
            },
            RepoKind::Source | RepoKind::Fork(_) => AfterPush {
                tickets: true,
                requests: true,
                source: true,
            },
            RepoKind::Docs => AfterPush {
                tickets: false,
                requests: false,
                source: false,
            },
        }
    }
}

/// The access decision: may `who` use `service` on `repo`, given what is
/// known of the project. Pure. Refusals say why, and never reveal a
/// repository the identity may not read.
pub fn decide(
    who: &GitIdentity,
    repo: &RepoRef,
    facts: RepoFacts,
    service: GitService,
) -> std::result::Result<Granted, Refusal> {
    if !may_read(who, repo, facts) {
        let missing = format!("repository `{}` not found", repo.display());
        return Err(match who {
            GitIdentity::Anonymous => Refusal::NeedsIdentity(format!(
                "{missing} (or it needs an identity: authentication required)"
            )),
            _ => Refusal::NotFound(missing),
        });
    }
    if !service.writes() {
        return Ok(Granted::Read);
    }
    let replicated = matches!(
        repo.kind,
        RepoKind::Source | RepoKind::Tickets | RepoKind::Requests
    );
    if facts.mirrored && replicated && !matches!(who, GitIdentity::Anonymous) {
        return Err(Refusal::Forbidden(format!(
            "{} is a mirror: it changes where it mirrors it from, and reaches here by replication (`forge mirror remove` makes the project its own)",
            repo.display()
        )));
    }
    if may_write(who, repo, facts) {
        return Ok(Granted::Write(repo.kind.after_push()));
    }
    Err(match who {
        GitIdentity::Anonymous => {
            Refusal::NeedsIdentity(format!("pushing to {} needs an identity", repo.display()))
        }
        _ => Refusal::Forbidden(format!(
            "permission denied: {} may not push to {}",
            who.describe(),
            repo.display()
        )),
    })
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
            mirrored: false,
        };
        let private = RepoFacts {
            private_project: true,
            private_issues: false,
            mirrored: false,
        };
        let secret_issues = RepoFacts {
            private_project: false,
            private_issues: true,
            mirrored: false,
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
        // A mirror takes no push to what the replication writes; its docs
        // and forks stay its own.
        let mirror = RepoFacts {
            mirrored: true,
            ..open
        };
        let admin = user(Some(Role::Admin));
        for (repo, allowed) in [(&source, false), (&tickets, false), (&docs, true)] {
            let got = decide(&admin, repo, mirror, GitService::ReceivePack);
            assert_eq!(got.is_ok(), allowed, "{repo:?}: {got:?}");
        }
        let refused = decide(&admin, &source, mirror, GitService::ReceivePack).expect_err("mirror");
        assert!(refused.to_string().contains("is a mirror"), "{refused}");
        assert!(decide(&admin, &source, mirror, GitService::UploadPack).is_ok());
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
