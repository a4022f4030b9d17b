//! Merging a request: the gates of the project's settings, the merge
//! itself, and closing the issues it fixes.

use forge_core::role::Action;
use forge_core::time;
use forge_git::{Identity, MergeStatus, MergeStrategy};

use super::{parse_commit, PullRequests, Pulls};
use crate::engine::{identity, rows};
use crate::magic::IssueReference;
use crate::pulls::{GateState, MergeCheck, MergeOutcome};
use crate::request::{self, FlagStatus, PullDoc, PullStatus};
use crate::{Actor, Error, Result, Tracker};

impl PullRequests<'_> {
    /// The merge gates of the project's settings for `actor` merging
    /// `pull`, in order, each passed or not and why.
    fn gate_states(&self, actor: &Actor, pull: &PullDoc) -> Result<Vec<GateState>> {
        let settings = &self.project.settings;
        let mut gates = Vec::new();
        let mut gate = |name: &str, ok: bool, detail: String| {
            gates.push(GateState {
                gate: name.to_string(),
                ok,
                detail,
            })
        };
        if settings.pr_only_assignee_merge {
            let ok = pull.assignee.as_deref() == Some(&actor.username);
            gate(
                "pr_only_assignee_merge",
                ok,
                match &pull.assignee {
                    Some(a) if ok => format!("`{a}` is its assignee"),
                    Some(a) => format!("only its assignee `{a}` may merge it"),
                    None => "it has no assignee, and only the assignee may merge".into(),
                },
            );
        }
        if settings.pr_min_score > 0 {
            let comments =
                rows::comments::<Pulls>(self.store().conn(), self.full_name(), pull.number)?;
            let score = request::score(pull, &comments);
            gate(
                "pr_min_score",
                score >= settings.pr_min_score,
                format!("its score is {score}, it needs {}", settings.pr_min_score),
            );
        }
        for name in &settings.pr_required_flags {
            match pull.flags.get(name) {
                Some(f) if f.commit == pull.head && f.status == FlagStatus::Success => gate(
                    "pr_required_flags",
                    true,
                    format!("flag `{name}` is success"),
                ),
                Some(f) if f.commit == pull.head => gate(
                    "pr_required_flags",
                    false,
                    format!("flag `{name}` is {}, it must be success", f.status.as_str()),
                ),
                _ => gate(
                    "pr_required_flags",
                    false,
                    format!("flag `{name}` has not been posted on the head commit"),
                ),
            }
        }
        Ok(gates)
    }

    /// Checks the merge gates of the project's settings, naming the first
    /// that fails.
    fn check_gates(&self, actor: &Actor, pull: &PullDoc) -> Result<()> {
        match self.gate_states(actor, pull)?.into_iter().find(|g| !g.ok) {
            Some(g) => Err(Error::Gate {
                number: pull.number,
                gate: g.gate,
                reason: g.detail,
            }),
            None => Ok(()),
        }
    }

    /// What a merge by `actor` would meet now (the merge box of a page):
    /// whether their role and the target branch let them merge, and each
    /// gate's state (the merge analysis is the request's `merge_status`).
    /// Reads only; `merge` decides again.
    pub fn merge_check(&self, actor: &Actor, number: u64) -> Result<MergeCheck> {
        let pull = self.visible(actor, number)?;
        let may_merge = actor.may(Action::PullRequestMerge, false)
            && self
                .store()
                .may_write_branch(&self.project, &actor.username, &pull.target)?;
        let gates = if pull.status == PullStatus::Open {
            self.gate_states(actor, &pull)?
        } else {
            Vec::new()
        };
        Ok(MergeCheck { may_merge, gates })
    }

    /// Merges a request into its target with `strategy`, after refreshing it
    /// and checking the gates. Issues it names with `Fixes #N` (in its body
    /// or commits) are closed with a comment. A squashed commit is authored
    /// by the request's author (the merger commits it; the other authors of
    /// its commits are named as co-authors).
    pub fn merge(
        &self,
        actor: &Actor,
        number: u64,
        strategy: MergeStrategy,
    ) -> Result<MergeOutcome> {
        self.require(actor, Action::PullRequestMerge, false)?;
        let pull = self.visible(actor, number)?;
        if !self
            .store()
            .may_write_branch(&self.project, &actor.username, &pull.target)?
        {
            return Err(Error::Core(forge_core::Error::PermissionDenied {
                user: actor.username.clone(),
                action: format!("{} into branch `{}`", Action::PullRequestMerge, pull.target),
                project: self.full_name().to_string(),
            }));
        }
        if pull.status != PullStatus::Open {
            return Err(Error::invalid(
                format!("pull request #{number}"),
                format!("it is {}", pull.status.as_str()),
            ));
        }
        let pull = self.refresh(actor, number)?;
        if pull.status == PullStatus::Merged {
            return Err(Error::invalid(
                format!("pull request #{number}"),
                "its commits are already in the target branch (marked merged)",
            ));
        }
        self.check_gates(actor, &pull)?;
        match self.merge_status(&pull)? {
            MergeStatus::Conflicts(paths) => {
                return Err(Error::Gate {
                    number,
                    gate: "conflicts".into(),
                    reason: format!("merging would conflict in: {}", paths.join(", ")),
                })
            }
            MergeStatus::UpToDate => {
                return Err(Error::invalid(
                    format!("pull request #{number}"),
                    "nothing to merge: the target already contains it",
                ))
            }
            MergeStatus::FastForward | MergeStatus::Merge => {}
        }
        let target_tip = self.target_tip(&pull.target)?;
        let head = parse_commit(&pull.head, "head")?;
        let merger = identity(actor);
        let (author, message) = match strategy {
            MergeStrategy::Squash => self.squash_message(&pull, number)?,
            _ => (
                merger.clone(),
                format!(
                    "Merge pull request #{number} from {}:{}\n\n{}\n",
                    pull.source.repo, pull.source.branch, pull.title
                ),
            ),
        };
        let merged = self.source()?.merge_into_as(
            &pull.target,
            target_tip,
            head,
            strategy,
            &merger,
            &author,
            &message,
        )?;
        let merged_text = merged.to_string();
        let request = self.update(
            actor,
            number,
            &format!("Merge pull request #{number}"),
            |d| {
                d.status = PullStatus::Merged;
                d.merge_commit = Some(merged_text.clone());
                d.closed_at = Some(time::now_rfc3339());
                d.closed_by = Some(actor.username.clone());
                Ok(())
            },
        )?;
        let closed_issues = self.close_fixed_issues(actor, &request, &merged_text)?;
        Ok(MergeOutcome {
            request,
            merge_commit: merged_text,
            closed_issues,
        })
    }

    /// The author and message of a squashed commit: the request's author;
    /// its title, body, and a `Co-authored-by:` line for every other author
    /// of its commits.
    fn squash_message(&self, pull: &PullDoc, number: u64) -> Result<(Identity, String)> {
        let author = match Actor::for_user(self.store(), &self.project, &pull.author) {
            Ok(a) => identity(&a),
            Err(_) => Identity::new(&pull.author, format!("{}@users.forge.invalid", pull.author)),
        };
        let mut m = format!("{} (#{number})", pull.title);
        if !pull.body.trim().is_empty() {
            m.push_str("\n\n");
            m.push_str(pull.body.trim());
        }
        let base = parse_commit(&pull.base, "base")?;
        let head = parse_commit(&pull.head, "head")?;
        let mut others: Vec<(String, String)> = Vec::new();
        for c in self.source()?.log_range(base, head, usize::MAX)? {
            let who = (c.author_name, c.author_email);
            let same = who.1.eq_ignore_ascii_case(&author.email) || who.0 == author.name;
            if !same && !others.contains(&who) {
                others.push(who);
            }
        }
        if !others.is_empty() {
            m.push_str("\n\n");
            for (name, email) in others.iter().rev() {
                m.push_str(&format!("Co-authored-by: {name} <{email}>\n"));
            }
        } else {
            m.push('\n');
        }
        Ok((author, m))
    }

    fn close_fixed_issues(&self, actor: &Actor, pull: &PullDoc, merged: &str) -> Result<Vec<u64>> {
        let head = parse_commit(&pull.head, "head")?;
        let base = parse_commit(&pull.base, "base")?;
        let (_, _, refs) = self.commits_and_links(base, head, &pull.body)?;
        let closing: Vec<u64> = refs
            .iter()
            .filter_map(|r| match r {
                IssueReference::Closes(n) => Some(*n),
                IssueReference::Relates(_) => None,
            })
            .collect();
        if closing.is_empty() {
            return Ok(Vec::new());
        }
        let tracker = Tracker::open_for_project(self.store(), &self.home, &self.project)?;
        let reason = self
            .project
            .settings
            .close_reasons
            .iter()
            .find(|r| r.as_str() == "Fixed")
            .map(String::as_str);
        let short = &merged[..12.min(merged.len())];
        let mut closed = Vec::new();
        for n in closing {
            let note = format!(
                "Closed by pull request #{} (merged as {short}).",
                pull.number
            );
            let done = tracker
                .comment(actor, n, &note)
                .and_then(|_| tracker.close(actor, n, reason));
            match done {
                Ok(_) => closed.push(n),
                Err(e) => self.warn(format!(
                    "issue #{n} named by pull request #{} was not closed: {e}",
                    pull.number
                )),
            }
        }
        for w in tracker.take_warnings() {
            self.warn(w);
        }
        Ok(closed)
    }
}
