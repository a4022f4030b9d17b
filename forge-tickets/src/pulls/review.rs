//! Reviewing a request: comments (inline ones anchored to a line), flags,
//! votes, edits, closing and reopening.

use forge_core::name::{self, printable};
use forge_core::role::Action;
use forge_core::time;

use super::{PullRequests, Pulls};
use crate::checks;
use crate::doc::{Anchor, CommentDoc, Side};
use crate::engine::rows;
use crate::magic::issue_references;
use crate::pulls::{InlineTarget, NewFlag, PullEdit};
use crate::request::{Flag, PullDoc, PullStatus};
use crate::{Actor, Error, Result};

impl PullRequests<'_> {
    /// Comments on a request; with `inline`, on a line of a file.
    pub fn comment(
        &self,
        actor: &Actor,
        number: u64,
        body: &str,
        inline: Option<InlineTarget>,
    ) -> Result<CommentDoc> {
        self.require(actor, Action::PullRequestComment, false)?;
        checks::comment_body(body)?;
        let pull = self.visible(actor, number)?;
        let anchor = inline
            .map(|target| self.anchor(&pull, target))
            .transpose()?;
        let comment = CommentDoc::new(&actor.username, body, anchor);
        self.engine.add_comment(actor, number, comment)
    }

    fn anchor(&self, pull: &PullDoc, target: InlineTarget) -> Result<Anchor> {
        let commit_text = match (&target.commit, target.side) {
            (Some(c), _) => c.clone(),
            (None, Side::New) => pull.head.clone(),
            (None, Side::Old) => pull.base.clone(),
        };
        let commit = self.source()?.resolve(&commit_text).map_err(|_| {
            Error::invalid(
                format!("commit `{}`", printable(&commit_text)),
                "not a commit of this repository",
            )
        })?;
        let text = commit.to_string();
        let ours =
            text == pull.head || text == pull.base || pull.commits.iter().any(|c| c.id == text);
        if !ours {
            return Err(Error::invalid(
                format!("commit `{}`", printable(&commit_text)),
                format!(
                    "not the base or one of the commits of pull request #{}",
                    pull.number
                ),
            ));
        }
        let path = target.path.trim_matches('/').to_string();
        let line_text = self
            .source()?
            .line_at(commit, &path, target.line)?
            .ok_or_else(|| {
                Error::invalid(
                    format!("line {} of `{}`", target.line, printable(&path)),
                    format!(
                        "no such line (or not a text file) at commit {}",
                        &text[..12.min(text.len())]
                    ),
                )
            })?;
        Ok(Anchor {
            commit: text,
            line: target.line,
            line_text: Some(line_text),
            outdated: false,
            path,
            side: target.side,
        })
    }

    /// Posts a flag (CI status) on the request's head; a flag of the same
    /// name is replaced.
    pub fn flag(&self, actor: &Actor, number: u64, flag: NewFlag) -> Result<PullDoc> {
        self.require(actor, Action::PullRequestFlag, false)?;
        name::validate_label("flag", &flag.name)?;
        if flag.percent.is_some_and(|p| p > 100) {
            return Err(Error::invalid("percent", "must be between 0 and 100"));
        }
        if let Some(url) = &flag.url {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2048
                && !url.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(Error::invalid(
                    format!("url `{}`", printable(url)),
                    "expected an http(s) URL",
                ));
            }
        }
        if flag.comment.len() > 4096 {
            return Err(Error::invalid("flag comment", "longer than 4096 bytes"));
        }
        self.visible(actor, number)?;
        let message = format!("Flag pull request #{number}: {}", flag.name);
        self.update(actor, number, &message, |d| {
            let now = time::now_rfc3339();
            // A flag posted again for the same commit keeps its first time.
            let created_at = d
                .flags
                .get(&flag.name)
                .filter(|old| old.commit == d.head)
                .and_then(|old| old.created_at.clone())
                .unwrap_or_else(|| now.clone());
            let new = Flag {
                commit: d.head.clone(),
                comment: flag.comment.clone(),
                percent: flag.percent,
                status: flag.status,
                created_at: Some(created_at),
                updated_at: now,
                url: flag.url.clone(),
                username: actor.username.clone(),
            };
            d.flags.insert(flag.name.clone(), new);
            Ok(())
        })
    }

    /// Votes +1 (`up = true`) or -1 on a request.
    pub fn vote(&self, actor: &Actor, number: u64, up: bool) -> Result<PullDoc> {
        self.require(actor, Action::PullRequestComment, false)?;
        let pull = self.visible(actor, number)?;
        if pull.author == actor.username {
            return Err(Error::invalid(
                format!("vote on pull request #{number}"),
                "authors cannot vote on their own pull request",
            ));
        }
        let message = format!("Vote on pull request #{number}");
        self.update(actor, number, &message, |d| {
            d.votes
                .insert(actor.username.clone(), if up { 1 } else { -1 });
            Ok(())
        })
    }

    /// Edits a request's fields.
    pub fn edit(&self, actor: &Actor, number: u64, edit: PullEdit) -> Result<PullDoc> {
        let tags = edit.add_tags.iter().chain(&edit.remove_tags);
        let title = checks::edit_text(edit.title.as_deref(), edit.body.as_deref(), tags)?;
        if let Some(Some(a)) = &edit.assignee {
            self.store().user(a)?;
        }
        let pull = self.visible(actor, number)?;
        let is_author = pull.author == actor.username;
        if title.is_some() || edit.body.is_some() {
            self.require(actor, Action::PullRequestClose, is_author)?;
        }
        if edit.assignee.is_some() || !edit.add_tags.is_empty() || !edit.remove_tags.is_empty() {
            self.require(actor, Action::IssueAssign, false)?;
        }
        if edit.watch.is_some() {
            self.require(actor, Action::PullRequestComment, false)?;
        }
        let message = format!("Edit pull request #{number}");
        self.update(actor, number, &message, |d| {
            if let Some(t) = &title {
                d.title = t.clone();
            }
            if let Some(b) = &edit.body {
                d.body = b.clone();
                d.linked_issues
                    .extend(issue_references(b).iter().map(|r| r.number()));
            }
            if let Some(a) = &edit.assignee {
                d.assignee = a.clone();
            }
            d.tags.extend(edit.add_tags.iter().cloned());
            for t in &edit.remove_tags {
                d.tags.remove(t);
            }
            match edit.watch {
                Some(true) => {
                    d.watchers.insert(actor.username.clone());
                }
                Some(false) => {
                    d.watchers.remove(&actor.username);
                }
                None => {}
            }
            Ok(())
        })
    }

    /// Closes a request without merging it.
    pub fn close(&self, actor: &Actor, number: u64) -> Result<PullDoc> {
        let pull = self.visible(actor, number)?;
        self.require(
            actor,
            Action::PullRequestClose,
            pull.author == actor.username,
        )?;
        let message = format!("Close pull request #{number}");
        self.update(actor, number, &message, |d| {
            if d.status != PullStatus::Open {
                return Err(Error::invalid(
                    format!("pull request #{number}"),
                    format!("it is already {}", d.status.as_str()),
                ));
            }
            d.status = PullStatus::Closed;
            d.closed_at = Some(time::now_rfc3339());
            d.closed_by = Some(actor.username.clone());
            Ok(())
        })
    }

    /// Reopens a closed (not merged) request and refreshes it.
    pub fn reopen(&self, actor: &Actor, number: u64) -> Result<PullDoc> {
        let pull = self.visible(actor, number)?;
        self.require(
            actor,
            Action::PullRequestClose,
            pull.author == actor.username,
        )?;
        let message = format!("Reopen pull request #{number}");
        self.update(actor, number, &message, |d| {
            if d.status != PullStatus::Closed {
                return Err(Error::invalid(
                    format!("pull request #{number}"),
                    format!(
                        "it is {}; only closed requests can be reopened",
                        d.status.as_str()
                    ),
                ));
            }
            d.status = PullStatus::Open;
            d.closed_at = None;
            d.closed_by = None;
            Ok(())
        })?;
        self.refresh(actor, number)
    }

    /// The comments of a request, oldest first (synced first).
    pub fn comments(&self, viewer: &Actor, number: u64) -> Result<Vec<CommentDoc>> {
        self.visible(viewer, number)?;
        rows::comments::<Pulls>(self.store().conn(), self.full_name(), number)
    }
}
