//! Where a request's commits come from: opening a request, following its
//! source branch, and the merge analysis of its head into its target.

use std::collections::{BTreeMap, BTreeSet};

use forge_core::config::Config;
use forge_core::name::printable;
use forge_core::role::Action;
use forge_core::time;
use forge_git::{CommitId, MergeStatus, Repo};

use super::{index, parse_commit, PullRequests, MAX_LISTED_COMMITS};
use crate::checks;
use crate::doc::{self, Side, SCHEMA};
use crate::engine::{rows, Written};
use crate::magic::{issue_references, IssueReference};
use crate::pulls::{NewPull, Pulls};
use crate::request::{PullCommit, PullDoc, PullStatus, Source};
use crate::{Actor, Error, Result};

/// The commits of a request, the issues it names, and how it names them.
type CommitsAndLinks = (Vec<PullCommit>, BTreeSet<u64>, Vec<IssueReference>);

impl PullRequests<'_> {
    /// Fetches or resolves the source's branch into `into`; returns its commit.
    fn fetch_source(&self, source: &Source, into: &str) -> Result<CommitId> {
        let branch = &source.branch;
        if !Repo::valid_branch_name(branch) {
            return Err(Error::invalid(
                format!("branch `{}`", printable(branch)),
                "not a valid branch name",
            ));
        }
        match (&source.fork, &source.url) {
            (Some(user), _) => {
                let path = self.home.fork_path(user, self.full_name());
                if !path.exists() {
                    return Err(Error::invalid(
                        format!("fork of `{user}`"),
                        format!("{user} has no fork of `{}`", self.full_name()),
                    ));
                }
                let fork = Repo::open(&path)?;
                if fork.branch_tip(branch)?.is_none() {
                    return Err(Error::invalid(
                        format!("branch `{branch}`"),
                        format!("no such branch in forks/{user}/{}", self.full_name()),
                    ));
                }
                Ok(self.source()?.fetch_local_branch(&path, branch, into)?)
            }
            (None, Some(url)) => {
                // forge.toml is read only here, the one place that needs it.
                let config = Config::load(&self.home.config_path())?.pull_requests;
                if !config.remote || !self.project.settings.remote_pull_requests {
                    return Err(Error::invalid(
                        format!("remote `{}`", printable(url)),
                        "pull requests from remote URLs are disabled here",
                    ));
                }
                Ok(self.source()?.fetch_remote_branch(
                    url,
                    branch,
                    into,
                    config.allow_local_remotes,
                )?)
            }
            (None, None) => {
                let tip = self.source()?.branch_tip(branch)?.ok_or_else(|| {
                    Error::invalid(
                        format!("branch `{branch}`"),
                        format!("no such branch in `{}`", self.full_name()),
                    )
                })?;
                // A ref already there is not written again.
                if self.source()?.ref_target(into)? != Some(tip) {
                    self.source()?.set_ref(into, tip, "pull request head")?;
                }
                Ok(tip)
            }
        }
    }

    pub(super) fn target_tip(&self, target: &str) -> Result<CommitId> {
        self.source()?.branch_tip(target)?.ok_or_else(|| {
            Error::invalid(
                format!("target branch `{}`", printable(target)),
                format!("no such branch in `{}`", self.full_name()),
            )
        })
    }

    /// The commits of `base..head`, and the issues they and `body` name.
    pub(super) fn commits_and_links(
        &self,
        base: CommitId,
        head: CommitId,
        body: &str,
    ) -> Result<CommitsAndLinks> {
        let log = self.source()?.log_range(base, head, MAX_LISTED_COMMITS)?;
        let mut refs = issue_references(body);
        let mut seen: BTreeSet<IssueReference> = refs.iter().copied().collect();
        for c in &log {
            for r in issue_references(&c.message) {
                if seen.insert(r) {
                    refs.push(r);
                }
            }
        }
        let linked = refs.iter().map(|r| r.number()).collect();
        let commits = log
            .into_iter()
            .map(|c| PullCommit {
                id: c.id.to_string(),
                title: c.title,
            })
            .collect();
        Ok((commits, linked, refs))
    }

    /// Opens a pull request.
    pub fn create(&self, actor: &Actor, new: NewPull) -> Result<PullDoc> {
        self.check_enabled()?;
        self.require(actor, Action::PullRequestCreate, false)?;
        let title = checks::title(&new.title)?;
        checks::body(&new.body)?;
        if let Some(a) = &new.assignee {
            self.store().user(a)?;
        }
        let target = match &new.to {
            Some(t) => t.clone(),
            None => self.source()?.head_branch()?,
        };
        if new.from_fork.is_none() && new.from_url.is_none() && new.from_branch == target {
            return Err(Error::invalid(
                format!("branch `{}`", printable(&target)),
                "a pull request cannot merge a branch into itself",
            ));
        }
        if new.from_fork.is_some() && new.from_url.is_some() {
            return Err(Error::invalid("source", "give a fork or a URL, not both"));
        }
        if let Some(user) = &new.from_fork {
            if !self.store().has_fork(&self.project, user)? {
                return Err(Error::invalid(
                    format!("fork of `{}`", printable(user)),
                    format!("{} has no fork of `{}`", printable(user), self.full_name()),
                ));
            }
        }
        let target_tip = self.target_tip(&target)?;
        self.sync()?;
        let source = Source {
            branch: new.from_branch.clone(),
            fork: new.from_fork.clone(),
            repo: match (&new.from_fork, &new.from_url) {
                (Some(user), _) => format!("forks/{user}/{}", self.full_name()),
                (None, Some(url)) => url.clone(),
                (None, None) => self.full_name().to_string(),
            },
            url: new.from_url.clone(),
        };
        if let Some(open) = self.open_from(&source, &target)? {
            return Err(Error::invalid(
                format!("branch `{}`", printable(&source.branch)),
                format!("pull request #{open} is already open from it into `{target}`"),
            ));
        }
        // Fetch into a private ref first: nothing named after a request
        // exists until every check passed.
        let incoming = format!("refs/forge/incoming/{}", doc::new_uid());
        let prepared = self.prepare_new(&source, &incoming, target_tip, &new.body, &target);
        let (head, base, commits, linked) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.source()?.delete_ref(&incoming)?;
                return Err(e);
            }
        };
        let number = self.engine.next_number()?;
        let pull_ref = format!("refs/pull/{number}/head");
        self.source()?.set_ref(&pull_ref, head, "pull request")?;
        self.source()?.delete_ref(&incoming)?;
        let now = time::now_rfc3339();
        let pull = PullDoc {
            assignee: new.assignee.clone(),
            author: actor.username.clone(),
            base: base.to_string(),
            body: new.body.clone(),
            closed_at: None,
            closed_by: None,
            commits,
            created_at: now.clone(),
            flags: BTreeMap::new(),
            head: head.to_string(),
            linked_issues: linked,
            merge_commit: None,
            number,
            schema: SCHEMA,
            source,
            status: PullStatus::Open,
            tags: BTreeSet::new(),
            target,
            title,
            uid: doc::new_uid(),
            updated_at: now,
            votes: BTreeMap::new(),
            watchers: [actor.username.clone()].into(),
        };
        let message = format!("Open pull request #{number}: {}", pull.title);
        let written = self.engine.write(actor, &message, |tip| {
            if self.engine.exists_at(tip, number)? {
                return Err(Error::invalid(
                    format!("pull request #{number}"),
                    "its number is already taken in the requests repository",
                ));
            }
            Ok(vec![Written::Doc(Box::new(pull.clone()))])
        });
        if let Err(e) = written {
            self.source()?.delete_ref(&pull_ref)?;
            return Err(e);
        }
        Ok(pull)
    }

    /// The open request from the same source branch into the same target, if any.
    fn open_from(&self, source: &Source, target: &str) -> Result<Option<u64>> {
        let key = super::kind::source_key(self.full_name(), source);
        let conn = self.store().conn();
        for (project, n) in index::open_by_source(conn, &key, &source.branch)? {
            if project != self.full_name() {
                continue;
            }
            if rows::doc::<Pulls>(conn, &project, n)?.is_some_and(|d| d.target == target) {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    fn prepare_new(
        &self,
        source: &Source,
        incoming: &str,
        target_tip: CommitId,
        body: &str,
        target: &str,
    ) -> Result<(CommitId, CommitId, Vec<PullCommit>, BTreeSet<u64>)> {
        let head = self.fetch_source(source, incoming)?;
        let base = self
            .source()?
            .merge_base(target_tip, head)?
            .ok_or_else(|| {
                Error::invalid(
                    format!("branch `{}`", printable(&source.branch)),
                    format!("it shares no history with `{target}`"),
                )
            })?;
        if base == head {
            return Err(Error::invalid(
                format!("branch `{}`", printable(&source.branch)),
                format!("it has no commits that `{target}` does not already have"),
            ));
        }
        let (commits, linked, _) = self.commits_and_links(base, head, body)?;
        Ok((head, base, commits, linked))
    }

    /// The merge analysis of an open request's head into its target's tip,
    /// from the cache when neither moved since it was last computed.
    pub fn merge_status(&self, pull: &PullDoc) -> Result<MergeStatus> {
        let target = self.target_tip(&pull.target)?;
        let head = parse_commit(&pull.head, "head")?;
        Ok(self.analysis(target, head)?.0)
    }

    /// The merge analysis of `head` into `target`, cached per pair; with the
    /// merge base when it had to be computed (a cache miss).
    pub(super) fn analysis(
        &self,
        target: CommitId,
        head: CommitId,
    ) -> Result<(MergeStatus, Option<CommitId>)> {
        let (t, h) = (target.to_string(), head.to_string());
        let conn = self.store().conn();
        if let Some((status, conflicts)) = index::cached_merge(conn, self.full_name(), &t, &h)? {
            let status = match status.as_str() {
                "up-to-date" => MergeStatus::UpToDate,
                "fast-forward" => MergeStatus::FastForward,
                "merge" => MergeStatus::Merge,
                _ => MergeStatus::Conflicts(conflicts),
            };
            return Ok((status, None));
        }
        let (status, base) = self.source()?.merge_analysis_and_base(target, head)?;
        let conflicts = match &status {
            MergeStatus::Conflicts(paths) => paths.clone(),
            _ => Vec::new(),
        };
        index::cache_merge(conn, self.full_name(), &t, &h, status.as_str(), &conflicts)?;
        Ok((status, base))
    }

    /// Follows the source branch: fetches it, moves `refs/pull/<N>/head`,
    /// and records the new head, base and commits; inline comments whose
    /// line changed are marked outdated; flags of the old head are dropped.
    /// A request whose head the target already contains is marked merged.
    /// Nothing is written when nothing moved.
    pub fn refresh(&self, actor: &Actor, number: u64) -> Result<PullDoc> {
        let pull = self.visible(actor, number)?;
        if pull.status != PullStatus::Open {
            return Err(Error::invalid(
                format!("pull request #{number}"),
                format!(
                    "it is {}; only open requests follow their source",
                    pull.status.as_str()
                ),
            ));
        }
        let head = self.fetch_source(&pull.source, &format!("refs/pull/{number}/head"))?;
        let target_tip = self.target_tip(&pull.target)?;
        // Analyzing now fills the merge cache for the next `show`, and a
        // cache miss yields the merge base the document needs at no extra cost.
        let (_, base) = self.analysis(target_tip, head)?;
        let base = match base {
            Some(base) => Some(base),
            None => self.source()?.merge_base(target_tip, head)?,
        };
        let base = base.ok_or_else(|| {
            Error::invalid(
                format!("branch `{}`", pull.source.branch),
                format!("it no longer shares history with `{}`", pull.target),
            )
        })?;
        let (head_text, base_text) = (head.to_string(), base.to_string());
        let merged_outside = base == head;
        if head_text == pull.head && base_text == pull.base && !merged_outside {
            return Ok(pull);
        }
        let (commits, linked, _) = if merged_outside {
            (pull.commits.clone(), pull.linked_issues.clone(), Vec::new())
        } else {
            self.commits_and_links(base, head, &pull.body)?
        };
        let comments = rows::comments::<Pulls>(self.store().conn(), self.full_name(), number)?;
        let mut out = None;
        let message = format!("Refresh pull request #{number}");
        self.engine.write(actor, &message, |tip| {
            let mut d = self.request_at(tip, number)?;
            let mut written = Vec::new();
            for c in &comments {
                let Some(anchor) = &c.anchor else { continue };
                if anchor.outdated {
                    continue;
                }
                let now_at = if anchor.side == Side::Old { base } else { head };
                let current = self.source()?.line_at(now_at, &anchor.path, anchor.line)?;
                if current != anchor.line_text {
                    let mut c = c.clone();
                    if let Some(a) = c.anchor.as_mut() {
                        a.outdated = true;
                    }
                    written.push(Written::Comment(number, Box::new(c)));
                }
            }
            d.head = head_text.clone();
            d.base = base_text.clone();
            d.commits = commits.clone();
            d.linked_issues.extend(linked.iter().copied());
            d.flags.retain(|_, f| f.commit == head_text);
            if merged_outside {
                d.status = PullStatus::Merged;
                d.closed_at = Some(time::now_rfc3339());
                d.merge_commit = Some(target_tip.to_string());
            }
            d.updated_at = time::now_rfc3339();
            out = Some(d.clone());
            written.push(Written::Doc(Box::new(d)));
            Ok(written)
        })?;
        out.ok_or_else(|| self.no_request(number))
    }

    /// Refreshes every open request of this project fed by `branch` of the
    /// project's repository (`fork: None`) or of a user's fork: what the
    /// push hook calls. Returns the numbers refreshed.
    pub fn refresh_source(
        &self,
        actor: &Actor,
        fork: Option<&str>,
        branch: &str,
    ) -> Result<Vec<u64>> {
        self.sync()?;
        let key = match fork {
            Some(user) => format!("forks/{user}/{}", self.full_name()),
            None => self.full_name().to_string(),
        };
        let mut done = Vec::new();
        for (project, number) in index::open_by_source(self.store().conn(), &key, branch)? {
            if project == self.full_name() {
                self.refresh(actor, number)?;
                done.push(number);
            }
        }
        Ok(done)
    }
}
