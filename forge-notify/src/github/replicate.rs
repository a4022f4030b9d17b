//! Processing, as WebhookDB layers it: one function per GitHub model that
//! takes the parsed object (from a webhook or the REST API alike, never
//! fetching on its own) and hands the objects inside it (an issue's user,
//! labels, milestone) to their model's function; then writes that put the
//! results into the mirror's tickets and requests repositories through
//! the engine's replication writes, where a payload older than what is
//! stored never overwrites it. Each record's `github_records` row keeps
//! its number, its `updated_at`, and when a webhook and the API last
//! brought it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use forge_core::account::sha256_hex;
use forge_core::project::{Milestone as ForgeMilestone, Project};
use forge_core::{ForgeHome, Store};
use forge_tickets::doc::{imported_comment_id, Anchor, CommentDoc, IssueDoc, Side, Status, SCHEMA};
use forge_tickets::engine::replica::Replicated;
use forge_tickets::request::{PullDoc, PullStatus, Source};
use forge_tickets::{Actor, PullRequests, Tracker};
use rusqlite::params;
use serde::Serialize;

use super::model::{
    number_in, Comment, Issue, Label, Milestone, PullRequest, Review, ReviewComment, Time, User,
};

/// What brought a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A webhook delivery.
    Webhook,
    /// The REST API (a backfill, or a fetch of what a delivery lacked).
    Api,
}

/// What became of the records of one write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Written: new, or newer than what was stored.
    pub written: u64,
    /// Left alone: what is stored is the same or newer.
    pub kept: u64,
    /// Comments whose issue or pull request is not replicated yet.
    pub missing: u64,
}

impl Tally {
    fn count(&mut self, outcomes: &[Replicated]) {
        for o in outcomes {
            match o {
                Replicated::Written => self.written += 1,
                Replicated::Kept => self.kept += 1,
                Replicated::Missing => self.missing += 1,
            }
        }
    }

    /// Adds `other` to it.
    pub fn add(&mut self, other: Tally) {
        self.written += other.written;
        self.kept += other.kept;
        self.missing += other.missing;
    }
}

/// The close reasons GitHub's `state_reason` becomes.
pub const CLOSE_REASONS: [&str; 2] = ["Completed", "Not planned"];

/// An epoch time as documents keep it.
fn rfc3339(t: Time) -> String {
    forge_core::time::epoch_to_rfc3339(t.0).unwrap_or_default()
}

/// A GitHub login as the tail of a forge user name: `[bot]` becomes
/// `.bot`, any other character forge's names do not take becomes `-`.
fn login_name(login: &str) -> String {
    let base = match login.strip_suffix("[bot]") {
        Some(bot) => format!("{bot}.bot"),
        None => login.to_string(),
    };
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Replication into one mirrored project.
pub struct Replication<'s> {
    store: &'s Store,
    home: ForgeHome,
    project: RefCell<Project>,
    /// The mirror users made or seen in this run.
    users: RefCell<HashSet<String>>,
}

/// A comment and where it goes: its document's number, whether that is a
/// pull request, and what the record table knows it by.
struct Placed {
    number: u64,
    pull: bool,
    doc: CommentDoc,
    kind: &'static str,
    id: u64,
    updated: Time,
}

impl<'s> Replication<'s> {
    /// Replication into `project`, which must be a mirror.
    pub fn new(
        store: &'s Store,
        home: &ForgeHome,
        project: Project,
    ) -> forge_tickets::Result<Self> {
        if project.mirror.is_none() {
            return Err(forge_core::Error::invalid(
                format!("project `{}`", project.full_name),
                "it is not a mirror",
            )
            .into());
        }
        Ok(Replication {
            store,
            home: home.clone(),
            project: RefCell::new(project),
            users: RefCell::default(),
        })
    }

    /// The project, as its settings stand now.
    pub fn project(&self) -> Project {
        self.project.borrow().clone()
    }

    fn uid(&self, kind: &str, id: u64) -> String {
        let mirror = self.project.borrow().mirror.clone().unwrap_or_default();
        sha256_hex(&format!("{mirror}:{kind}:{id}"))[..32].to_string()
    }

    /// A user: the mirror user `github:<login>`, made on first need.
    pub fn user(&self, u: &User) -> forge_tickets::Result<String> {
        let name = format!("github:{}", login_name(&u.login));
        if self.users.borrow().contains(&name) {
            return Ok(name);
        }
        let made = self.store.mirror_user("github", &login_name(&u.login))?;
        self.users.borrow_mut().insert(made.clone());
        Ok(made)
    }

    /// A label: the tag it is in forge (tags hold no commas).
    pub fn label(&self, l: &Label) -> String {
        let tag: String = l
            .name
            .replace(',', ";")
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        match tag.trim() {
            "" => format!("label-{}", l.id),
            t => t.chars().take(255).collect(),
        }
    }

    /// A milestone: its name in the project's list, added (or its due
    /// date brought up to date) when it is not there yet.
    pub fn milestone(&self, m: &Milestone) -> forge_tickets::Result<String> {
        let name: String = m.title.chars().filter(|c| !c.is_control()).collect();
        let name = match name.trim() {
            "" => format!("milestone-{}", m.number),
            n => n.to_string(),
        };
        let date = m.due_on.map(|t| rfc3339(t)[..10].to_string());
        let mut project = self.project.borrow_mut();
        let known = project
            .settings
            .milestones
            .iter_mut()
            .find(|x| x.name == name);
        let changed = match known {
            Some(x) if x.date == date => false,
            Some(x) => {
                x.date = date;
                true
            }
            None => {
                project.settings.milestones.push(ForgeMilestone {
                    name: name.clone(),
                    date,
                });
                true
            }
        };
        if changed {
            self.store
                .set_project_settings(&project, &project.settings)?;
        }
        Ok(name)
    }

    /// An issue as the mirror keeps it; `stored` is its status when the
    /// payload has none (GitHub's `pinned` and `unpinned`).
    pub fn issue(&self, i: &Issue, stored: Option<Status>) -> forge_tickets::Result<IssueDoc> {
        let author = self.user(&i.user)?;
        let assignee = i.assignees.first().map(|u| self.user(u)).transpose()?;
        let milestone = i
            .milestone
            .as_ref()
            .map(|m| self.milestone(m))
            .transpose()?;
        let status = match i.state.as_deref() {
            Some("closed") => Status::Closed,
            Some(_) => Status::Open,
            None => stored.unwrap_or(Status::Open),
        };
        let close_reason = match (status, i.state_reason.as_deref()) {
            (Status::Closed, Some("not_planned")) => Some(CLOSE_REASONS[1].to_string()),
            (Status::Closed, _) => Some(CLOSE_REASONS[0].to_string()),
            (Status::Open, _) => None,
        };
        Ok(IssueDoc {
            assignee,
            author: author.clone(),
            blocks: BTreeSet::new(),
            body: i.body.clone().unwrap_or_default(),
            close_reason,
            closed_at: i.closed_at.map(rfc3339),
            closed_by: None,
            created_at: rfc3339(i.created_at),
            custom_fields: BTreeMap::new(),
            depends: BTreeSet::new(),
            milestone,
            number: i.number,
            priority: None,
            private: false,
            schema: SCHEMA,
            status,
            tags: i.labels.iter().map(|l| self.label(l)).collect(),
            title: title(&i.title, i.number),
            uid: self.uid("issue", i.id),
            updated_at: rfc3339(i.updated_at),
            watchers: [author].into(),
        })
    }

    /// A comment on an issue or a pull request's conversation.
    pub fn comment(&self, c: &Comment) -> forge_tickets::Result<CommentDoc> {
        let author = self.user(&c.user)?;
        Ok(self.comment_doc(
            &author,
            c.body.as_deref().unwrap_or_default(),
            c.created_at,
            c.updated_at,
            &format!("g{}", c.id),
            None,
        ))
    }

    fn comment_doc(
        &self,
        author: &str,
        body: &str,
        created: Time,
        updated: Time,
        tag: &str,
        anchor: Option<Anchor>,
    ) -> CommentDoc {
        let created_at = rfc3339(created);
        let edited = updated > created;
        CommentDoc {
            anchor,
            author: author.to_string(),
            body: body.to_string(),
            id: imported_comment_id(&created_at, tag),
            created_at,
            edited_at: edited.then(|| rfc3339(updated)),
            editor: edited.then(|| author.to_string()),
            notification: false,
            reactions: BTreeMap::new(),
            schema: SCHEMA,
        }
    }

    /// A pull request as the mirror keeps it.
    pub fn pull_request(&self, p: &PullRequest) -> forge_tickets::Result<PullDoc> {
        let author = self.user(&p.user)?;
        let assignee = p.assignees.first().map(|u| self.user(u)).transpose()?;
        if let Some(m) = &p.milestone {
            self.milestone(m)?;
        }
        let status = match (p.state.as_str(), p.was_merged()) {
            (_, true) => PullStatus::Merged,
            ("closed", false) => PullStatus::Closed,
            _ => PullStatus::Open,
        };
        let mirror = self.project.borrow().mirror.clone().unwrap_or_default();
        let source = match &p.head.repo {
            Some(r) => Source {
                branch: p.head.name.clone(),
                fork: None,
                repo: r.full_name.clone(),
                url: r.clone_url.clone(),
            },
            None => Source {
                branch: p.head.name.clone(),
                fork: None,
                repo: format!("{mirror} (deleted fork)"),
                url: None,
            },
        };
        Ok(PullDoc {
            assignee,
            author: author.clone(),
            base: p.base.sha.clone(),
            body: p.body.clone().unwrap_or_default(),
            closed_at: p.closed_at.map(rfc3339),
            closed_by: None,
            commits: Vec::new(),
            created_at: rfc3339(p.created_at),
            flags: BTreeMap::new(),
            head: p.head.sha.clone(),
            linked_issues: BTreeSet::new(),
            merge_commit: (status == PullStatus::Merged)
                .then(|| p.merge_commit_sha.clone())
                .flatten(),
            number: p.number,
            schema: SCHEMA,
            source,
            status,
            tags: p.labels.iter().map(|l| self.label(l)).collect(),
            target: p.base.name.clone(),
            title: title(&p.title, p.number),
            uid: self.uid("pull", p.id),
            updated_at: rfc3339(p.updated_at),
            votes: BTreeMap::new(),
            watchers: [author].into(),
        })
    }

    /// A submitted review: a comment saying what it decided (a pending one
    /// is nobody's to see yet: `None`).
    pub fn review(&self, r: &Review) -> forge_tickets::Result<Option<CommentDoc>> {
        let Some(at) = r.submitted_at else {
            return Ok(None);
        };
        let author = self.user(&r.user)?;
        let verdict = match r.state.to_ascii_lowercase().as_str() {
            "approved" => "Approved these changes",
            "changes_requested" => "Requested changes",
            "dismissed" => "Review dismissed",
            _ => "Reviewed",
        };
        let body = match r.body.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => format!("**{verdict}**\n\n{text}"),
            _ => format!("**{verdict}**"),
        };
        Ok(Some(self.comment_doc(
            &author,
            &body,
            at,
            at,
            &format!("r{}", r.id),
            None,
        )))
    }

    /// A comment on a line of a pull request's diff: an inline comment on
    /// that commit, file and line (outdated when GitHub no longer places
    /// it on a line).
    pub fn review_comment(&self, c: &ReviewComment) -> forge_tickets::Result<CommentDoc> {
        let author = self.user(&c.user)?;
        let anchor = Anchor {
            commit: c.commit_id.clone(),
            line: c.line.and_then(|l| u32::try_from(l).ok()).unwrap_or(1),
            line_text: None,
            outdated: c.line.is_none(),
            path: c.path.clone(),
            side: Side::New,
        };
        Ok(self.comment_doc(
            &author,
            &c.body,
            c.created_at,
            c.updated_at,
            &format!("c{}", c.id),
            Some(anchor),
        ))
    }

    fn tracker(&self) -> forge_tickets::Result<Tracker<'s>> {
        Tracker::create_for_project(self.store, &self.home, &self.project.borrow())
    }

    fn pulls(&self) -> forge_tickets::Result<PullRequests<'s>> {
        PullRequests::open(self.store, &self.home, &self.project.borrow())
    }

    /// The replication as `who` (the delivery's sender; the repository's
    /// owner for a backfill).
    fn actor(&self, who: &str) -> Actor {
        Actor::replica(&self.project.borrow(), who)
    }

    /// Writes `issues` (pull requests among them are left to
    /// [`Replication::put_pulls`]) as `who`, in one commit.
    pub fn put_issues(
        &self,
        who: &str,
        issues: &[Issue],
        via: Via,
    ) -> forge_tickets::Result<Tally> {
        let issues: Vec<&Issue> = issues.iter().filter(|i| i.pull_request.is_none()).collect();
        let mut tally = Tally::default();
        if issues.is_empty() {
            return Ok(tally);
        }
        let tracker = self.tracker()?;
        let mut docs = Vec::with_capacity(issues.len());
        for i in &issues {
            let stored = match i.state {
                Some(_) => None,
                None => stored_status(&tracker, &self.actor(who), i.number),
            };
            docs.push(self.issue(i, stored)?);
        }
        let outcomes = tracker.replicate(&self.actor(who), &docs, &[])?;
        tally.count(&outcomes);
        let rows: Vec<(&str, u64, Option<u64>, Time)> = issues
            .iter()
            .map(|i| ("issue", i.id, Some(i.number), i.updated_at))
            .collect();
        self.record(&rows, via)?;
        Ok(tally)
    }

    /// Writes `pulls` as `who`, in one commit.
    pub fn put_pulls(
        &self,
        who: &str,
        pulls: &[PullRequest],
        via: Via,
    ) -> forge_tickets::Result<Tally> {
        let mut tally = Tally::default();
        if pulls.is_empty() {
            return Ok(tally);
        }
        let docs = pulls
            .iter()
            .map(|p| self.pull_request(p))
            .collect::<forge_tickets::Result<Vec<_>>>()?;
        let outcomes = self.pulls()?.replicate(&self.actor(who), &docs, &[])?;
        tally.count(&outcomes);
        let rows: Vec<(&str, u64, Option<u64>, Time)> = pulls
            .iter()
            .map(|p| ("pull", p.id, Some(p.number), p.updated_at))
            .collect();
        self.record(&rows, via)?;
        Ok(tally)
    }

    /// Writes conversation comments as `who`. Each goes to its issue or
    /// pull request: the one `on` names (a webhook's `issue`, and whether
    /// it is a pull request), else the one its addresses name.
    pub fn put_comments(
        &self,
        who: &str,
        comments: &[Comment],
        on: Option<(u64, bool)>,
        via: Via,
    ) -> forge_tickets::Result<Tally> {
        let mut placed = Vec::with_capacity(comments.len());
        for c in comments {
            let target = on.or_else(|| {
                let number = c.issue_url.as_deref().and_then(number_in)?;
                let pull = c.html_url.as_deref().is_some_and(|u| u.contains("/pull/"));
                Some((number, pull))
            });
            let Some((number, pull)) = target else {
                continue;
            };
            placed.push(Placed {
                number,
                pull,
                doc: self.comment(c)?,
                kind: "comment",
                id: c.id,
                updated: c.updated_at,
            });
        }
        self.put_placed(who, placed, via)
    }

    /// Writes a review of pull request `number` as `who`.
    pub fn put_review(
        &self,
        who: &str,
        number: u64,
        review: &Review,
        via: Via,
    ) -> forge_tickets::Result<Tally> {
        let Some(doc) = self.review(review)? else {
            return Ok(Tally::default());
        };
        let updated = review.submitted_at.unwrap_or(Time(0));
        let placed = vec![Placed {
            number,
            pull: true,
            doc,
            kind: "review",
            id: review.id,
            updated,
        }];
        self.put_placed(who, placed, via)
    }

    /// Writes comments on pull requests' diffs as `who`; each goes to the
    /// pull request `on` names, else the one its address names.
    pub fn put_review_comments(
        &self,
        who: &str,
        comments: &[ReviewComment],
        on: Option<u64>,
        via: Via,
    ) -> forge_tickets::Result<Tally> {
        let mut placed = Vec::with_capacity(comments.len());
        for c in comments {
            let Some(number) = on.or_else(|| c.pull_request_url.as_deref().and_then(number_in))
            else {
                continue;
            };
            placed.push(Placed {
                number,
                pull: true,
                doc: self.review_comment(c)?,
                kind: "review_comment",
                id: c.id,
                updated: c.updated_at,
            });
        }
        self.put_placed(who, placed, via)
    }

    fn put_placed(&self, who: &str, placed: Vec<Placed>, via: Via) -> forge_tickets::Result<Tally> {
        let mut tally = Tally::default();
        let (on_pulls, on_issues): (Vec<Placed>, Vec<Placed>) =
            placed.into_iter().partition(|p| p.pull);
        let actor = self.actor(who);
        for (group, pull) in [(on_issues, false), (on_pulls, true)] {
            if group.is_empty() {
                continue;
            }
            let comments: Vec<(u64, CommentDoc)> =
                group.iter().map(|p| (p.number, p.doc.clone())).collect();
            let outcomes = if pull {
                self.pulls()?.replicate(&actor, &[], &comments)?
            } else {
                self.tracker()?.replicate(&actor, &[], &comments)?
            };
            tally.count(&outcomes);
            // What was written or kept is recorded; a comment whose
            // document is missing is not (it comes again with it).
            let rows: Vec<(&str, u64, Option<u64>, Time)> = group
                .iter()
                .zip(&outcomes)
                .filter(|(_, o)| **o != Replicated::Missing)
                .map(|(p, _)| (p.kind, p.id, Some(p.number), p.updated))
                .collect();
            self.record(&rows, via)?;
        }
        Ok(tally)
    }

    /// Records labels and milestones seen (their effect is on the issues
    /// and the settings; the row says when they were last replicated).
    pub fn put_labels(&self, labels: &[Label], via: Via) -> forge_tickets::Result<()> {
        let rows: Vec<(&str, u64, Option<u64>, Time)> = labels
            .iter()
            .map(|l| ("label", l.id, None, Time(0)))
            .collect();
        self.record(&rows, via)
    }

    /// Adds milestones to the project's list (due dates kept up to date).
    pub fn put_milestones(&self, milestones: &[Milestone], via: Via) -> forge_tickets::Result<()> {
        for m in milestones {
            self.milestone(m)?;
        }
        let rows: Vec<(&str, u64, Option<u64>, Time)> = milestones
            .iter()
            .map(|m| ("milestone", m.id, Some(m.number), m.updated_at))
            .collect();
        self.record(&rows, via)
    }

    /// Notes in `github_records` when each record was replicated, by what,
    /// and the newest `updated_at` seen; one transaction.
    fn record(
        &self,
        rows: &[(&str, u64, Option<u64>, Time)],
        via: Via,
    ) -> forge_tickets::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp_millis();
        let (webhook, api) = match via {
            Via::Webhook => (Some(now), None),
            Via::Api => (None, Some(now)),
        };
        let project_id = self.project.borrow().id;
        let tx = self
            .store
            .conn()
            .unchecked_transaction()
            .map_err(forge_core::Error::from)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO github_records (project_id, kind, github_id, number, updated_at, by_webhook_at, by_api_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (project_id, kind, github_id) DO UPDATE SET
                         number = coalesce(excluded.number, number),
                         updated_at = max(updated_at, excluded.updated_at),
                         by_webhook_at = coalesce(excluded.by_webhook_at, by_webhook_at),
                         by_api_at = coalesce(excluded.by_api_at, by_api_at)",
                )
                .map_err(forge_core::Error::from)?;
            for (kind, id, number, updated) in rows {
                stmt.execute(params![
                    project_id,
                    kind,
                    *id as i64,
                    number.map(|n| n as i64),
                    updated.0,
                    webhook,
                    api
                ])
                .map_err(forge_core::Error::from)?;
            }
        }
        tx.commit().map_err(forge_core::Error::from)?;
        Ok(())
    }
}

/// A title forge takes: GitHub's, or the number when it is blank.
fn title(text: &str, number: u64) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.trim() {
        "" => format!("#{number}"),
        t => t.to_string(),
    }
}

/// The status the mirror holds for issue `number`, if it has it.
fn stored_status(tracker: &Tracker<'_>, actor: &Actor, number: u64) -> Option<Status> {
    let shown = tracker.issue(actor, number).ok()?;
    Some(if shown.status == "closed" {
        Status::Closed
    } else {
        Status::Open
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_become_forge_names() {
        assert_eq!(login_name("octocat"), "octocat");
        assert_eq!(login_name("dependabot[bot]"), "dependabot.bot");
        assert_eq!(login_name("we ird/x"), "we-ird-x");
        assert_eq!(
            number_in("https://api.github.com/repos/o/r/issues/12"),
            Some(12)
        );
        assert_eq!(
            number_in("https://github.com/o/r/pull/7#issuecomment-1"),
            Some(7)
        );
        assert_eq!(number_in("https://github.com/o/r/pull/x"), None);
        assert_eq!(title(" \t", 4), "#4");
        assert_eq!(title("a\nb", 4), "a b");
    }
}
