//! `forge group`: groups of users, which can hold roles on projects.

use anyhow::Result;

use crate::cli::GroupCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: GroupCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    match cmd {
        GroupCommand::Create { name } => {
            let group = store.create_group(&name)?;
            say!("created group {}", group.name);
        }
        GroupCommand::Add { group, user } => {
            store.add_group_member(&group, &user)?;
            say!("added {user} to group {group}");
        }
        GroupCommand::Remove { group, user } => {
            store.remove_group_member(&group, &user)?;
            say!("removed {user} from group {group}");
        }
        GroupCommand::List => {
            let groups = store.list_groups()?;
            if ctx.json {
                output::json(&groups)?;
            } else {
                let rows: Vec<Vec<String>> = groups
                    .into_iter()
                    .map(|g| vec![g.name, g.members.join(", ")])
                    .collect();
                output::table(&["GROUP", "MEMBERS"], &rows);
            }
        }
    }
    Ok(())
}
