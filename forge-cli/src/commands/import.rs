//! `forge import pagure`: bring a Pagure tickets repository, its requests
//! repository, or both into a project.

use anyhow::Result;
use forge_tickets::pagure::{self, ImportReport};

use crate::cli::ImportCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: ImportCommand, ctx: &Ctx) -> Result<()> {
    let ImportCommand::Pagure {
        project,
        path,
        requests,
    } = cmd;
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    let project = store.project(&project)?;
    let actor = forge_tickets::Actor::for_user(&store, &project, ctx.user()?)?;
    let mut report = ImportReport::default();
    if let Some(path) = &path {
        let tracker = forge_tickets::Tracker::open_for_project(&store, home, &project)?;
        let bar = output::progress("importing issues");
        report = pagure::import(&store, &tracker, &actor, path, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })?;
        bar.finish_and_clear();
        for w in tracker.take_warnings() {
            eprintln!("forge: warning: {w}");
        }
    }
    if let Some(path) = &requests {
        // Read again: the issues' import may have added users and settings.
        let project = store.project(&project.full_name)?;
        let prs = forge_tickets::PullRequests::open(&store, home, &project)?;
        let bar = output::progress("importing pull requests");
        let pulls = pagure::import_requests(&store, &prs, &actor, path, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })?;
        bar.finish_and_clear();
        report.requests = pulls.requests;
        report.comments += pulls.comments;
        report.users_created.extend(pulls.users_created);
        report.skipped.extend(pulls.skipped);
    }
    if ctx.json {
        output::json(&report)?;
    } else {
        if path.is_some() {
            say!(
                "imported {} issues into {}",
                report.issues,
                project.full_name
            );
        }
        if requests.is_some() {
            say!(
                "imported {} pull requests into {}",
                report.requests,
                project.full_name
            );
        }
        say!(
            "{} comments, {} users created",
            report.comments,
            report.users_created.len()
        );
        for s in &report.skipped {
            eprintln!("forge: warning: skipped {s}");
        }
    }
    Ok(())
}
