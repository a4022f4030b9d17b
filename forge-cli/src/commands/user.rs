//! `forge user`: register and list users.

use anyhow::Result;

use crate::cli::UserCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: UserCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    match cmd {
        UserCommand::Add {
            name,
            email,
            full_name,
        } => {
            let emails: Vec<&str> = email.iter().map(String::as_str).collect();
            let user = store.add_user(&name, &full_name, &emails)?;
            if ctx.json {
                output::json(&user)?;
            } else {
                say!("added user {}", user.username);
            }
        }
        UserCommand::List => {
            let users = store.list_users()?;
            if ctx.json {
                output::json(&users)?;
            } else {
                let rows: Vec<Vec<String>> = users
                    .into_iter()
                    .map(|u| vec![u.username, u.full_name, u.emails.join(", ")])
                    .collect();
                output::table(&["USER", "NAME", "EMAILS"], &rows);
            }
        }
    }
    Ok(())
}
