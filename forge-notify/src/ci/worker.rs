//! The `ci` consumer of the event log. A pull request opened, reopened or
//! moved to a new head (`pr.new`, `pr.reopened`, `pr.updated`) in a
//! project with a CI server becomes a job that asks the server for a
//! build; a server's call back, recorded by the HTTP server as a
//! `ci.build.finished` event ([`build_finished`]), becomes a job that reads
//! the build and flags its pull request — read again while it runs. A
//! server that is down is tried again on the queue's schedule; what cannot
//! succeed (no such job or build, a refused token) ends the job as dead at
//! once with the reason, for `forge queue status` to show.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use forge_core::event::{self, Event, NewEvent};
use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use forge_tickets::{Actor, PullRequests};
use rusqlite::OptionalExtension;
use serde_json::json;

use super::setup::{CiSettings, Kind, Result};
use super::{BuildRequest, Failure, Net, Provider};
use crate::queue::{self, Job, Routes, Schedule};

/// The consumer's name in the queue.
pub const CONSUMER: &str = "ci";
/// The event a server's call back is recorded as.
pub const FINISHED: &str = "ci.build.finished";

/// How the worker reaches CI servers and names forge's repositories.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The network rules and time limit.
    pub net: Net,
    /// The instance's URL: a pull request's `REPO` is
    /// `<instance>/<repo>.git`.
    pub instance: String,
    /// How long a claimed job is a worker's.
    pub lease: Duration,
    /// When a build that could not be asked for, or read, is tried again
    /// (the webhooks' schedule).
    pub schedule: Schedule,
}

impl Settings {
    /// The CI settings that go with the webhooks' (the same network rules,
    /// instance, lease and retries).
    pub fn like(webhooks: &crate::outbox::Settings) -> Settings {
        Settings {
            net: Net {
                allow_private: webhooks.allow_private,
                timeout: webhooks.timeout,
            },
            instance: webhooks.instance.clone(),
            lease: webhooks.lease,
            schedule: webhooks.schedule.clone(),
        }
    }
}

/// How often a running build is read again: soon at first, then every
/// minute for half an hour, then every five minutes for five hours.
fn poll_schedule() -> Schedule {
    let s = Duration::from_secs;
    let mut delays = vec![s(2), s(3), s(5), s(10), s(20), s(30)];
    delays.extend(std::iter::repeat_n(s(60), 30));
    delays.extend(std::iter::repeat_n(s(300), 60));
    Schedule(delays)
}

/// Records that `project`'s CI server (`provider`) says build `number` has
/// finished: the worker reads it and flags its pull request. Returns the
/// event's id.
pub fn build_finished(
    store: &Store,
    project: &Project,
    provider: Kind,
    number: u64,
) -> Result<i64> {
    Ok(event::append(
        store.conn(),
        &NewEvent {
            kind: FINISHED,
            project: &project.full_name,
            actor: provider.as_str(),
            issue: None,
            fields: json!({"provider": provider.as_str(), "build": number}),
        },
    )?)
}

/// The id of the project named `name` and the last event before its CI
/// server was set, if it has one.
fn ci_of(store: &Store, name: &str) -> forge_core::Result<Option<(i64, i64)>> {
    Ok(store
        .conn()
        .prepare_cached(
            "SELECT p.id, c.since_event FROM ci_settings c JOIN projects p ON p.id = c.project_id
             WHERE p.full_name = ?1",
        )?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Where an event goes: a build asked for, or a finished build read.
pub fn route(store: &Store, e: &Event) -> forge_core::Result<Routes> {
    let wanted = matches!(
        e.kind.as_str(),
        "pr.new" | "pr.updated" | "pr.reopened" | FINISHED
    );
    if !wanted {
        return Ok(Vec::new());
    }
    let Some((project_id, since)) = ci_of(store, &e.project)? else {
        return Ok(Vec::new());
    };
    if e.kind == FINISHED {
        let Some(build) = e.fields["build"].as_u64() else {
            return Ok(Vec::new());
        };
        return Ok(vec![(
            format!("ci:{project_id}:build:{build}"),
            json!({"project": project_id, "build": build}),
        )]);
    }
    match e.issue {
        Some(pull) if e.id > since => Ok(vec![(
            format!("ci:{project_id}:pr:{pull}"),
            json!({"project": project_id, "trigger": pull}),
        )]),
        _ => Ok(Vec::new()),
    }
}

/// One round: new events into jobs, then up to `batch` targets' ready jobs
/// handled. Returns how many jobs it attempted.
pub fn run_once(
    store: &Store,
    home: &ForgeHome,
    owner: &str,
    settings: &Settings,
    batch: usize,
    stop: &AtomicBool,
) -> Result<usize> {
    let configured: bool =
        store
            .conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM ci_settings)", [], |r| {
                r.get(0)
            })?;
    let ci = CiSettings::new(store, home);
    queue::round(
        store,
        CONSUMER,
        configured,
        owner,
        batch,
        settings.lease,
        stop,
        &mut |e| Ok(route(store, e)?),
        &mut |job| handle(store, home, &ci, owner, settings, job),
    )
}

/// What became of one attempt at a job.
enum Outcome {
    /// Finished (or nothing left to do).
    Done,
    /// Tried again on `schedule`, saying why.
    Again(String, Schedule),
    /// Dead at once, saying why.
    Dead(String),
}

impl Outcome {
    /// A provider's failure: tried again on `settings`' schedule, or dead.
    fn of(f: Failure, settings: &Settings) -> Outcome {
        match f {
            Failure::Later(why) => Outcome::Again(why, settings.schedule.clone()),
            Failure::Never(why) => Outcome::Dead(why),
        }
    }
}

/// Attempts one job; whether it is finished.
fn handle(
    store: &Store,
    home: &ForgeHome,
    ci: &CiSettings<'_>,
    owner: &str,
    settings: &Settings,
    job: &Job,
) -> Result<bool> {
    let project_id = job.payload["project"].as_i64().unwrap_or_default();
    let found = match store.find_project_by_id(project_id)? {
        Some(project) => ci.provider(project_id)?.map(|(p, _)| (project, p)),
        None => None,
    };
    let outcome = match found {
        // The project or its CI server is gone: nothing to do.
        None => Outcome::Done,
        Some((project, provider)) => {
            if let Some(pull) = job.payload["trigger"].as_u64() {
                trigger(store, home, &project, provider.as_ref(), pull, settings)
            } else if let Some(build) = job.payload["build"].as_u64() {
                read_build(store, home, &project, provider.as_ref(), build, settings)
            } else {
                Outcome::Done
            }
        }
    };
    let now = queue::now_ms();
    match outcome {
        Outcome::Done => {
            queue::complete(store, job, owner, now)?;
            Ok(true)
        }
        Outcome::Again(why, schedule) => {
            queue::fail(store, job, owner, &why, &schedule, now)?;
            Ok(false)
        }
        Outcome::Dead(why) => {
            queue::fail(store, job, owner, &why, &Schedule(Vec::new()), now)?;
            Ok(false)
        }
    }
}

/// Asks for a build of pull request `pull`, if it is still open.
fn trigger(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    provider: &dyn Provider,
    pull: u64,
    settings: &Settings,
) -> Outcome {
    let details = PullRequests::open(store, home, project)
        .and_then(|prs| prs.show(&Actor::system(project), pull));
    let details = match details {
        Ok(d) => d,
        Err(forge_tickets::Error::NoRequest { .. }) => return Outcome::Done,
        Err(e) => return Outcome::Again(e.to_string(), settings.schedule.clone()),
    };
    if details.status != forge_tickets::request::PullStatus::Open.as_str() {
        return Outcome::Done;
    }
    let repo = &details.source.repo;
    let repo_url = if repo.contains("://") {
        repo.clone()
    } else {
        format!("{}/{repo}.git", settings.instance.trim_end_matches('/'))
    };
    let request = BuildRequest {
        pull,
        repo_url,
        branch: details.source.branch.clone(),
        branch_to: details.target.clone(),
    };
    match provider.trigger(&request, &settings.net) {
        Ok(()) => Outcome::Done,
        Err(f) => Outcome::of(f, settings),
    }
}

/// Reads build `build` and flags its pull request (when the flag says
/// something new); read again while it runs.
fn read_build(
    store: &Store,
    home: &ForgeHome,
    project: &Project,
    provider: &dyn Provider,
    build: u64,
    settings: &Settings,
) -> Outcome {
    let report = match provider.report(build, &settings.net) {
        Ok(r) => r,
        Err(f) => return Outcome::of(f, settings),
    };
    let actor = Actor::system(project);
    let flagged = PullRequests::open(store, home, project).and_then(|prs| {
        let now = prs.show(&actor, report.pull)?;
        let f = &report.flag;
        let same = now.flags.iter().any(|old| {
            old.name == f.name
                && old.status == f.status.as_str()
                && old.percent == f.percent
                && old.comment == f.comment
                && old.url == f.url
        });
        if !same {
            prs.flag(&actor, report.pull, report.flag.clone())?;
        }
        Ok(())
    });
    match flagged {
        Ok(()) if report.finished => Outcome::Done,
        Ok(()) => Outcome::Again(
            format!("build {build} is still running; it is read again later"),
            poll_schedule(),
        ),
        Err(e @ forge_tickets::Error::NoRequest { .. }) => {
            Outcome::Dead(format!("build {build}: {e}"))
        }
        Err(e) => Outcome::Again(e.to_string(), settings.schedule.clone()),
    }
}
