//! What forge's git hooks decide and do: `pre_receive` checks a push
//! against the access decision and the project's rules before anything
//! lands; `post_receive` sets its effects in motion (activity log,
//! "Fixes #N", pull-request refresh, index sync, numbers for issues made
//! offline, one event per ref update).

use std::collections::HashMap;
use std::rc::Rc;

use forge_core::activity::CommitActivity;
use forge_core::event::{self, NewEvent};
use forge_core::project::Project;
use forge_core::push_rules::{self, RefFacts};
use forge_core::repo_access::{Claimant, GitIdentity, GitService, Granted, RepoKind, RepoRef};
use forge_core::{ForgeHome, Store};
use forge_git::{CommitId, Repo};
use serde_json::json;

use crate::access::git_access;
use crate::engine::push::Violation;
use crate::engine::rows;
use crate::magic::{issue_references, IssueReference};
use crate::{Actor, Error, PullRequests, Result, Tracker};

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

/// Checks a push before it lands. The first rule broken refuses the whole
/// push, naming the rule, the ref and (for documents) the file. A push to a
/// tickets or requests repository is checked change by change as if the
/// pusher had made it through the CLI, and who pushed each new commit is
/// recorded, so the events of the push name them.
pub fn pre_receive(
    store: &Store,
    home: &ForgeHome,
    target: &RepoRef,
    repo: &Rc<Repo>,
    claimant: &Claimant,
    updates: &[RefUpdate],
) -> Result<()> {
    let all = updates
        .iter()
        .map(|u| u.refname.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if *claimant == Claimant::Anonymous {
        return Err(refuse(
            "identity",
            &all,
            "no forge user: push through `forge ssh serve` or HTTP, or set FORGE_USER",
        ));
    }
    let access = match git_access(store, home, claimant, target, GitService::ReceivePack)? {
        Ok(a) if matches!(a.granted, Granted::Write(_)) => a,
        Ok(_) => return Err(refuse("access", &all, "read-only access")),
        Err(refusal) => return Err(refuse("access", &all, refusal.to_string())),
    };
    let (project, who) = (&access.project, &access.who);
    match &target.kind {
        RepoKind::Source | RepoKind::Fork(_) => {
            for u in updates {
                let facts = UpdateFacts {
                    store,
                    project,
                    repo: repo.as_ref(),
                    update: u,
                };
                if let Err(b) = push_rules::check_source_update(project, who, &facts)? {
                    return Err(refuse(b.rule, &u.refname, b.reason));
                }
            }
        }
        RepoKind::Tickets | RepoKind::Requests => {
            let GitIdentity::User { name, .. } = who else {
                return Err(refuse("access", &all, "only users push documents"));
            };
            let pusher = Actor::for_user(store, project, name)?;
            let main = repo.head_branch()?;
            let known = repo.ref_tips()?;
            let mut pushed = Vec::new();
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
                // The pushed objects are visible through the hook's
                // repository only (git keeps them in quarantine until the
                // push is accepted).
                let checked = if target.kind == RepoKind::Tickets {
                    Tracker::with_repo(store, repo.clone(), main.clone(), project)
                        .check_push(&pusher, u.old, new)?
                } else {
                    PullRequests::with_repo(store, home, project, repo.clone())?
                        .check_push(&pusher, u.old, new)?
                };
                if let Err(Violation { rule, reason }) = checked {
                    return Err(refuse(rule, &u.refname, reason));
                }
                pushed.extend(
                    repo.new_commits(new, &known, MAX_NEW_COMMITS)?
                        .into_iter()
                        .map(|c| c.id.to_string()),
                );
            }
            rows::record_pushers(store.conn(), &project.full_name, &pushed, name)?;
        }
        RepoKind::Docs => {}
    }
    Ok(())
}

/// What the push rules need to know of one ref update, read from git when asked.
struct UpdateFacts<'a> {
    store: &'a Store,
    project: &'a Project,
    repo: &'a Repo,
    update: &'a RefUpdate,
}

impl RefFacts for UpdateFacts<'_> {
    type Error = Error;

    fn refname(&self) -> &str {
        &self.update.refname
    }

    fn existed(&self) -> bool {
        self.update.old.is_some()
    }

    fn exists(&self) -> bool {
        self.update.new.is_some()
    }

    fn fast_forward(&self) -> Result<bool> {
        Ok(match (self.update.old, self.update.new) {
            (Some(old), Some(new)) => self.repo.is_ancestor(old, new)?,
            _ => true,
        })
    }

    fn default_branch(&self) -> Result<String> {
        Ok(self.repo.head_branch()?)
    }

    fn has_branches(&self) -> Result<bool> {
        Ok(!self.repo.branches()?.is_empty())
    }

    fn may_write_branch(&self, user: &str, branch: &str) -> Result<bool> {
        Ok(self.store.may_write_branch(self.project, user, branch)?)
    }

    fn first_unsigned(&self) -> Result<Option<(String, String)>> {
        let Some(new) = self.update.new else {
            return Ok(None);
        };
        let known: Vec<CommitId> = self
            .repo
            .ref_tips()?
            .into_iter()
            .chain(self.update.old)
            .collect();
        Ok(self
            .repo
            .new_commits(new, &known, MAX_NEW_COMMITS)?
            .into_iter()
            .find(|c| {
                !c.message
                    .lines()
                    .any(|l| l.trim_start().starts_with("Signed-off-by:"))
            })
            .map(|c| (short(c.id), c.title)))
    }
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
    /// Issues made offline that the forge numbered.
    pub numbered: Vec<u64>,
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
    claimant: &Claimant,
    updates: &[RefUpdate],
) -> Result<PostReceiveReport> {
    let project = store.project(&target.project)?;
    let who = forge_core::repo_access::identity(store, &project, claimant)?;
    let mut report = PostReceiveReport::default();
    let actor = match &who {
        GitIdentity::User { name, .. } => Actor::for_user(store, &project, name)?,
        _ => Actor::system(&project),
    };
    let pusher = who.describe();
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
                actor: match &who {
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
            // Issues made offline get their numbers, and their folders.
            match tracker.settle_numbers(&actor) {
                Ok(numbered) => report.numbered.extend(numbered),
                Err(e) => report
                    .warnings
                    .push(format!("numbering issues made offline: {e}")),
            }
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
    // Each reference once (the first commit naming it), and those naming
    // no issue reported together: a message naming thousands of numbers
    // costs one index lookup each and one line.
    tracker.sync()?;
    let mut seen = std::collections::HashSet::new();
    let mut missing = Vec::new();
    let mut failures = Vec::new();
    for (r, commit) in magic {
        if !seen.insert(*r) {
            continue;
        }
        let n = r.number();
        if !tracker.exists_indexed(actor, n)? {
            missing.push(n);
            continue;
        }
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
            failures.push(format!(
                "issue #{n} named by commit {}: {e}",
                short(*commit)
            ));
        }
    }
    report.warnings.extend(summarized(failures));
    if !missing.is_empty() {
        missing.sort_unstable();
        let shown: Vec<String> = missing.iter().take(10).map(|n| format!("#{n}")).collect();
        let more = missing.len().saturating_sub(shown.len());
        report.warnings.push(format!(
            "{} issue reference{} in the pushed commits name{} no issue of {}: {}{}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" },
            if missing.len() == 1 { "s" } else { "" },
            project.full_name,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    report.warnings.extend(tracker.take_warnings());
    Ok(())
}

/// Up to ten warnings as they are, then one line counting the rest.
fn summarized(mut warnings: Vec<String>) -> Vec<String> {
    if warnings.len() > 10 {
        let more = warnings.len() - 10;
        warnings.truncate(10);
        warnings.push(format!("... and {more} more like these"));
    }
    warnings
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
