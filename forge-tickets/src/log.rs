//! The event log as readers see it: every index a project has (issues and
//! pull requests) is brought up to date with git first, so a plain push is
//! in the log before anyone reads it.

use forge_core::event::{self, Event};
use forge_core::project::Project;
use forge_core::{ForgeHome, Store};

use crate::{PullRequests, Result, Tracker};

/// Syncs every index of `project`; returns the warnings of the syncs.
pub fn sync_project(store: &Store, home: &ForgeHome, project: &Project) -> Result<Vec<String>> {
    let tracker = Tracker::open_for_project(store, home, project)?;
    tracker.sync()?;
    let mut warnings = tracker.take_warnings();
    let pulls = PullRequests::open(store, home, project)?;
    pulls.sync()?;
    warnings.extend(pulls.take_warnings());
    Ok(warnings)
}

/// The events after id `since` (at most `limit`) of one project, or of
/// every project, each synced first; with the warnings of the syncs.
pub fn events(
    store: &Store,
    home: &ForgeHome,
    project: Option<&Project>,
    since: i64,
    limit: usize,
) -> Result<(Vec<Event>, Vec<String>)> {
    let projects = match project {
        Some(p) => vec![p.clone()],
        None => store.list_projects()?,
    };
    let mut warnings = Vec::new();
    for p in &projects {
        warnings.extend(sync_project(store, home, p)?);
    }
    let name = project.map(|p| p.full_name.as_str());
    Ok((event::list(store.conn(), name, since, limit)?, warnings))
}
