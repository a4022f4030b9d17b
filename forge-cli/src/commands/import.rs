//! `forge import pagure`: bring a Pagure tickets repository into a project.

use anyhow::Result;
use forge_tickets::pagure;

use crate::cli::ImportCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: ImportCommand, ctx: &Ctx) -> Result<()> {
    let ImportCommand::Pagure { project, path } = cmd;
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    let project = store.project(&project)?;
    let actor = forge_tickets::Actor::for_user(&store, &project, ctx.user()?)?;
    let tracker = forge_tickets::Tracker::open_for_project(&store, home, &project)?;
    let bar = output::progress("importing");
    let report = pagure::import(&store, &tracker, &actor, &path, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    for w in tracker.take_warnings() {
        eprintln!("forge: warning: {w}");
    }
    if ctx.json {
        output::json(&report)?;
    } else {
        say!(
            "imported {} issues and {} comments into {} ({} users created)",
            report.issues,
            report.comments,
            project.full_name,
            report.users_created.len()
        );
        for s in &report.skipped {
            eprintln!("forge: warning: skipped {s}");
        }
    }
    Ok(())
}
