//! What forge's git hooks decide and do: `pre_receive` checks a push
//! against the project's rules before anything lands; `post_receive` sets
//! its effects in motion (activity log, "Fixes #N", pull-request refresh,
//! index sync, one event per ref update).

use std::collections::HashMap;

use forge_core::activity::CommitActivity;
use forge_core::event::{self, NewEvent};
use forge_core::project::Project;
use forge_core::repo_access::{self, GitIdentity, RepoFacts, RepoKind, RepoRef};
use forge_core::role::{branch_matches, Role};
use forge_core::{ForgeHome, Store};
use forge_git::{CommitId, Repo};
use serde_json::json;

use crate::doc::{self, DocPath};
use crate::magic::{issue_references, IssueReference};
use crate::request::{self, RequestPath};
use crate::{index, Actor, Error, PullRequests, Result, Tracker};

/// The hooks forge installs.
pub const HOOK_NAMES: [&str; 2] = ["pre-receive", "post-receive"];

/// Quotes a word for `sh` (hook scripts, forced commands).
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The script of hook `name`: it calls `forge_exe --home HOME hook NAME`.
pub fn hook_script(forge_exe: &std::path::Path, home: &ForgeHome, name: &str) -> String {
    let root = home.root();
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    format!(
        "#!/bin/sh\n{}: forge checks the push (pre-receive) or sets its effects in motion\n\
         # (post-receive), then runs the executables of hooks/{name}.d/ with the same input.\n\
         exec {} --home {} hook {name}\n",
        forge_git::HOOK_MARKER,
        shell_quote(&forge_exe.display().to_string()),
        shell_quote(&root.display().to_string())
    )
}

/// Installs forge's hooks in one repository (idempotent; a user's own hook
/// moves to `hooks/<name>.d/`).
pub fn install_hooks(
    forge_exe: &std::path::Path,
    home: &ForgeHome,
    repo: &std::path::Path,
) -> Result<()> {
    let repo = Repo::open(repo)?;
    for name in HOOK_NAMES {
        repo.install_hook(name, &hook_script(forge_exe, home, name))?;
    }
    Ok(())
}

/// Installs forge's hooks in every repository of a project and its forks;
/// returns how many repositories that was.
pub fn install_project_hooks(
    forge_exe: &std::path::Path,
    store: &Store,
    home: &ForgeHome,
    project: &Project,
) -> Result<usize> {
    let paths = home.project_paths(&project.full_name);
    let mut repos = vec![paths.source, paths.docs, paths.tickets, paths.requests];
    for user in store.forks(project)? {
        repos.push(home.fork_path(&user, &project.full_name));
    }
    repos.retain(|p| p.join("HEAD").exists());
    for repo in &repos {
        install_hooks(forge_exe, home, repo)?;
    }
    Ok(repos.len())
}

/// At most this many new commits of one ref update are examined.
const MAX_NEW_COMMITS: usize = 100_000;

/// One line of a hook's input: `<old> <new> <ref>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// The commit before (`None`: the ref is created).
    pub old: Option<CommitId>,
    /// The commit after (`None`: the ref is deleted).
    pub new: Option<CommitId>,
    /// Full ref name.
    pub refname: String,
}

impl RefUpdate {
    /// Parses one input line of pre-receive or post-receive.
    pub fn parse(line: &str) -> Result<RefUpdate> {
        let bad = || {
            Error::invalid(
                format!("hook input `{line}`"),
                "expected `<old> <new> <ref>`",
            )
        };
        let mut parts = line.split_whitespace();
        let (Some(old), Some(new), Some(refname), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let commit = |text: &str| -> Result<Option<CommitId>> {
            if text.bytes().all(|b| b == b'0') {
                return Ok(None);
            }
            text.parse::<CommitId>().map(Some).map_err(|_| bad())
        };
        Ok(RefUpdate {
            old: commit(old)?,
            new: commit(new)?,
            refname: refname.to_string(),
        })
    }

    fn branch(&self) -> Option<&str> {
        self.refname.strip_prefix("refs/heads/")
    }
}

/// A push refused: which rule, which ref, and why.
fn refuse(rule: &str, refname: &str, reason: impl Into<String>) -> Error {
    Error::Refused {
        rule: rule.into(),
        refname: refname.into(),
        reason: reason.into(),
    }
}

fn short(c: CommitId) -> String {
    c.to_string()[..10].to_string()
}

/// Who pushes, resolved against the project.
pub fn identity(
    store: &Store,
    project: &Project,
    user: Option<&str>,
    deploy_key: Option<i64>,
) -> Result<GitIdentity> {
    match (user, deploy_key) {
        (Some(name), _) => {
            store.user(name)?;
            Ok(GitIdentity::User {
                name: name.into(),
                role: store.role_of(project, name)?,
            })
        }
        (None, Some(id)) => match store.deploy_key(id)? {
            Some((project, push)) => Ok(GitIdentity::Deploy { project, push }),
            None => Ok(GitIdentity::Anonymous),
        },
        (None, None) => Ok(GitIdentity::Anonymous),
    }
}

fn facts(store: &Store, project: &Project) -> Result<RepoFacts> {
    Ok(RepoFacts {
        private_project: project.private,
        private_issues: index::has_private_issues(store.conn(), &project.full_name)?,
    })
}

/// Checks a push before it lands. The first rule broken refuses the whole
/// push, naming the rule, the ref and (for ticket data) the file.
pub fn pre_receive(
    store: &Store,
    home: &ForgeHome,
    target: &RepoRef,
    repo: &Repo,
    who: &GitIdentity,
    updates: &[RefUpdate],
) -> Result<()> {
    let all = updates
        .iter()
        .map(|u| u.refname.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if *who == GitIdentity::Anonymous {
        return Err(refuse(
            "identity",
            &all,
            "no forge user: push through `forge ssh serve` or HTTP, or set FORGE_USER",
        ));
    }
    let project = store.project(&target.project)?;
    if !repo_access::may_write(who, target, facts(store, &project)?) {
        return Err(refuse(
            "access",
            &all,
            format!("{} may not push to {}", who_name(who), target.display()),
        ));
    }
    match &target.kind {
        RepoKind::Source => {
            for u in updates {
                source_rules(store, &project, repo, who, u)?;
            }
        }
        RepoKind::Tickets | RepoKind::Requests => {
            let tracker = Tracker::open_for_project(store, home, &project)?;
            let main = repo.head_branch()?;
            for u in updates {
                if u.branch() != Some(main.as_str()) {
                    return Err(refuse(
                        "ticket data",
                        &u.refname,
                        format!("this repository takes pushes to `{main}` only"),
                    ));
                }
                let Some(new) = u.new else {
                    return Err(refuse(
                        "ticket data",
                        &u.refname,
                        "the branch cannot be deleted",
                    ));
                };
                for path in repo.changed_paths(u.old, new)? {
                    let Some(bytes) = repo.read_file(new, &path)? else {
                        continue; // deleted
                    };
                    let checked = if target.kind == RepoKind::Tickets {
                        check_ticket_file(&tracker, &path, &bytes)
                    } else {
                        check_request_file(&tracker, &path, &bytes)
                    };
                    if let Err(why) = checked {
                        return Err(refuse("ticket data", &u.refname, why));
                    }
                }
            }
        }
        RepoKind::Docs | RepoKind::Fork(_) => {}
    }
    Ok(())
}

fn who_name(who: &GitIdentity) -> String {
    match who {
        GitIdentity::User { name, .. } => name.clone(),
        GitIdentity::Deploy { project, .. } => format!("a deploy key of {project}"),
        GitIdentity::Anonymous => "an anonymous user".into(),
    }
}

fn check_ticket_file(tracker: &Tracker<'_>, path: &str, bytes: &[u8]) -> Result<(), String> {
    let named = |e: Error| format!("{path}: {e}");
    match doc::classify(path) {
        DocPath::Issue(_) => {
            let issue = doc::parse_issue(path, bytes)?;
            tracker.check_issue_values(&issue).map_err(named)
        }
        DocPath::Comment(_, _) => {
            let comment = doc::parse_comment(path, bytes)?;
            tracker.check_comment_values(&comment).map_err(named)
        }
        DocPath::Other => Ok(()),
    }
}

fn check_request_file(tracker: &Tracker<'_>, path: &str, bytes: &[u8]) -> Result<(), String> {
    let named = |e: Error| format!("{path}: {e}");
    match request::classify(path) {
        RequestPath::Request(_) => {
            let pull = request::parse_request(path, bytes)?;
            tracker.check_request_values(&pull).map_err(named)
        }
        RequestPath::Comment(_, _) => {
            let comment = request::parse_comment(path, bytes)?;
            tracker.check_comment_values(&comment).map_err(named)
        }
        RequestPath::Other => Ok(()),
    }
}

fn source_rules(
    store: &Store,
    project: &Project,
    repo: &Repo,
    who: &GitIdentity,
    u: &RefUpdate,
) -> Result<()> {
    let settings = &project.settings;
    let r = u.refname.as_str();
    if settings.pr_only {
        return Err(refuse(
            "pr_only",
            r,
            format!(
                "`{}` takes changes through pull requests only: push to your fork and open one",
                project.full_name
            ),
        ));
    }
    let role = match who {
        GitIdentity::User { role, .. } => *role,
        GitIdentity::Deploy { push: true, .. } => Some(Role::Commit),
        _ => None,
    };
    if let Some(tag) = r.strip_prefix("refs/tags/") {
        if role < Some(Role::Commit) {
            return Err(refuse(
                "tags",
                r,
                format!("only committers may push tags (`{tag}`)"),
            ));
        }
        return Ok(());
    }
    let Some(branch) = u.branch() else {
        return Err(refuse("refs", r, "only branches and tags can be pushed"));
    };
    if let GitIdentity::User {
        name,
        role: Some(Role::Collaborator),
    } = who
    {
        if !store.may_write_branch(project, name, branch)? {
            return Err(refuse(
                "branches",
                r,
                format!("collaborator {name} may push only to the branches of their patterns"),
            ));
        }
    }
    let default = repo.head_branch()?;
    let protected = (settings.protect_default_branch && branch == default)
        || branch_matches(&settings.protected_branches.join(","), branch);
    match (u.old, u.new) {
        (Some(_), None) if protected => {
            return Err(refuse(
                "protected",
                r,
                format!("protected branch `{branch}` cannot be deleted"),
            ))
        }
        (Some(old), Some(new)) if protected && !repo.is_ancestor(old, new)? => {
            return Err(refuse(
                "protected",
                r,
                format!(
                "protected branch `{branch}` cannot be force-pushed ({} is not an ancestor of {})",
                short(old),
                short(new)
            ),
            ))
        }
        (None, Some(_)) if settings.no_new_branches && !repo.branches()?.is_empty() => {
            return Err(refuse(
                "no_new_branches",
                r,
                format!("`{}` does not take new branches", project.full_name),
            ))
        }
        _ => {}
    }
    if settings.require_signoff {
        if let Some(new) = u.new {
            let known: Vec<CommitId> = repo
                .branches()?
                .into_iter()
                .chain(repo.tags()?)
                .map(|b| b.commit)
                .chain(u.old)
                .collect();
            for c in repo.new_commits(new, &known, MAX_NEW_COMMITS)? {
                let signed = c
                    .message
                    .lines()
                    .any(|l| l.trim_start().starts_with("Signed-off-by:"));
                if !signed {
                    return Err(refuse(
                        "require_signoff",
                        r,
                        format!(
                            "commit {} (`{}`) has no Signed-off-by line",
                            short(c.id),
                            c.title
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// What a post-receive did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostReceiveReport {
    /// Activity rows added.
    pub activity: usize,
    /// Issues closed by magic words.
    pub closed_issues: Vec<u64>,
    /// Pull requests refreshed.
    pub refreshed: Vec<u64>,
    /// Events appended for the ref updates.
    pub events: usize,
    /// Things that went wrong without stopping the rest (the push has landed).
    pub warnings: Vec<String>,
}

/// Sets a landed push's effects in motion. Nothing here can undo the push,
/// so failures of one effect are reported as warnings and the rest goes on.
pub fn post_receive(
    store: &Store,
    home: &ForgeHome,
    target: &RepoRef,
    repo: &Repo,
    who: &GitIdentity,
    updates: &[RefUpdate],
) -> Result<PostReceiveReport> {
    let project = store.project(&target.project)?;
    let mut report = PostReceiveReport::default();
    let actor = match who {
        GitIdentity::User { name, .. } => Actor::for_user(store, &project, name)?,
        _ => Actor {
            username: "forge".into(),
            email: String::new(),
            role: Some(Role::Commit),
            private_project: project.private,
        },
    };
    let pusher = who_name(who);
    // The ref tips before the push: every ref now, with the updated ones
    // at their old commits.
    let mut before: Vec<CommitId> = Vec::new();
    for b in repo.branches()?.into_iter().chain(repo.tags()?) {
        let updated = updates.iter().any(|u| {
            u.refname == format!("refs/heads/{}", b.name)
                || u.refname == format!("refs/tags/{}", b.name)
        });
        if !updated {
            before.push(b.commit);
        }
    }
    before.extend(updates.iter().filter_map(|u| u.old));
    let default = repo.head_branch()?;
    let mut emails: HashMap<String, Option<String>> = HashMap::new();
    let tx = rusqlite::Transaction::new_unchecked(
        store.conn(),
        rusqlite::TransactionBehavior::Immediate,
    )?;
    let mut magic = Vec::new();
    for u in updates {
        let commits = match u.new {
            Some(new) => repo.new_commits(new, &before, MAX_NEW_COMMITS)?,
            None => Vec::new(),
        };
        // A new branch is compared with where its new commits start.
        let base = u
            .old
            .or_else(|| commits.first().and_then(|c| c.parents.first().copied()));
        let changed_files = match u.new {
            Some(new) => repo.changed_paths(base, new)?.len(),
            None => 0,
        };
        let forced = match (u.old, u.new) {
            (Some(old), Some(new)) => !repo.is_ancestor(old, new)?,
            _ => false,
        };
        let on_default = u.branch() == Some(default.as_str());
        if matches!(target.kind, RepoKind::Source)
            && u.branch().is_some()
            && (on_default || project.settings.activity_all_branches)
        {
            let mut rows = Vec::new();
            for c in &commits {
                let user = match emails.get(&c.author_email) {
                    Some(u) => u.clone(),
                    None => {
                        let u = store.user_by_email(&c.author_email)?.map(|u| u.username);
                        emails.insert(c.author_email.clone(), u.clone());
                        u
                    }
                };
                if let Some(username) = user {
                    rows.push(CommitActivity {
                        username,
                        commit: c.id.to_string(),
                        time: c.time,
                    });
                }
            }
            report.activity += store.record_activity(&project.full_name, &rows)?;
        }
        if target.kind == RepoKind::Source && on_default {
            for c in &commits {
                for r in issue_references(&c.message) {
                    magic.push((r, c.id));
                }
            }
        }
        event::append(
            &tx,
            &NewEvent {
                kind: "git.push",
                project: &project.full_name,
                actor: match who {
                    GitIdentity::User { name, .. } => name,
                    _ => &pusher,
                },
                issue: None,
                fields: json!({
                    "repo": target.display(), "ref": u.refname,
                    "old": u.old.map(|c| c.to_string()), "new": u.new.map(|c| c.to_string()),
                    "pusher": pusher, "commits": commits.len(), "changed_files": changed_files,
                    "forced": forced,
                }),
            },
        )?;
        report.events += 1;
    }
    tx.commit()?;

    match &target.kind {
        RepoKind::Tickets => {
            let tracker = Tracker::open_for_project(store, home, &project)?;
            tracker.sync()?;
            report.warnings.extend(tracker.take_warnings());
        }
        RepoKind::Requests => {
            let prs = PullRequests::open(store, home, &project)?;
            prs.sync()?;
            report.warnings.extend(prs.take_warnings());
        }
        RepoKind::Source | RepoKind::Fork(_) => {
            if !magic.is_empty() {
                apply_magic_words(store, home, &project, &actor, &magic, &mut report)?;
            }
            let fork = match &target.kind {
                RepoKind::Fork(owner) => Some(owner.as_str()),
                _ => None,
            };
            if project.settings.pull_requests {
                let prs = PullRequests::open(store, home, &project)?;
                for u in updates.iter().filter(|u| u.new.is_some()) {
                    if let Some(branch) = u.branch() {
                        match prs.refresh_source(&actor, fork, branch) {
                            Ok(done) => report.refreshed.extend(done),
                            Err(e) => report
                                .warnings
                                .push(format!("refreshing pull requests from {branch}: {e}")),
                        }
                    }
                }
                report.warnings.extend(prs.take_warnings());
            }
        }
        RepoKind::Docs => {}
    }
    Ok(report)
}

fn apply_magic_words(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    actor: &Actor,
    magic: &[(IssueReference, CommitId)],
    report: &mut PostReceiveReport,
) -> Result<()> {
    let tracker = Tracker::open_for_project(store, home, project)?;
    let reason = project
        .settings
        .close_reasons
        .iter()
        .find(|r| r.as_str() == "Fixed")
        .map(String::as_str);
    for (r, commit) in magic {
        let result = match r {
            IssueReference::Closes(n) => tracker
                .comment(actor, *n, &format!("Fixed by commit {commit}."))
                .and_then(|_| match tracker.issue(actor, *n) {
                    Ok(i) if i.status == "open" => tracker.close(actor, *n, reason).map(|_| {
                        report.closed_issues.push(*n);
                    }),
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                }),
            IssueReference::Relates(n) => tracker
                .comment(actor, *n, &format!("Referenced by commit {commit}."))
                .map(drop),
        };
        if let Err(e) = result {
            let n = match r {
                IssueReference::Closes(n) | IssueReference::Relates(n) => n,
            };
            report.warnings.push(format!(
                "issue #{n} named by commit {}: {e}",
                short(*commit)
            ));
        }
    }
    report.warnings.extend(tracker.take_warnings());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_lines_parse() {
        let zero = "0".repeat(40);
        let id = "a".repeat(40);
        let u = RefUpdate::parse(&format!("{zero} {id} refs/heads/main")).expect("line");
        assert_eq!(u.old, None);
        assert_eq!(u.new.map(|c| c.to_string()), Some(id.clone()));
        assert_eq!(u.branch(), Some("main"));
        assert!(RefUpdate::parse("x y").is_err());
        assert!(RefUpdate::parse(&format!("{zero} nothex refs/heads/x")).is_err());
    }
}
