//! `forge user`: register and list users, set passwords, disable accounts.

use anyhow::Result;

use forge_core::sshkey::PublicKey;

use crate::cli::{UserCommand, UserKeyCommand};
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
        UserCommand::Edit { name, full_name } => {
            let user = store.set_full_name(&name, &full_name)?;
            if ctx.json {
                output::json(&user)?;
            } else {
                say!("user {} is now named {:?}", user.username, user.full_name);
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
        UserCommand::Passwd { name } => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let password = line.strip_suffix('\n').unwrap_or(&line);
            let password = password.strip_suffix('\r').unwrap_or(password);
            store.set_password(&name, password)?;
            say!("set the password of {name}; their other sessions ended");
        }
        UserCommand::Disable { name } => {
            store.set_user_disabled(&name, true)?;
            say!("disabled {name}: no sign-in, token, SSH key or push until `forge user enable {name}`");
        }
        UserCommand::Enable { name } => {
            store.set_user_disabled(&name, false)?;
            say!("enabled {name}");
        }
        UserCommand::Admin { name, revoke } => {
            store.set_site_admin(&name, !revoke)?;
            match revoke {
                true => say!("{name} is no longer a site admin"),
                false => say!("{name} is a site admin"),
            }
        }
        UserCommand::Key(cmd) => match cmd {
            UserKeyCommand::Add { user, key } => {
                let info = store.add_user_key(&user, &PublicKey::parse(&key)?)?;
                if ctx.json {
                    output::json(&info)?;
                } else {
                    say!("added key {} for {user}", info.fingerprint);
                }
            }
            UserKeyCommand::List { user } => {
                let keys = store.user_keys(&user)?;
                if ctx.json {
                    output::json(&keys)?;
                } else {
                    let rows: Vec<Vec<String>> = keys
                        .into_iter()
                        .map(|k| vec![k.key_type, k.fingerprint, k.comment])
                        .collect();
                    output::table(&["TYPE", "FINGERPRINT", "COMMENT"], &rows);
                }
            }
            UserKeyCommand::Remove { user, key } => {
                store.remove_user_key(&user, &key)?;
                say!("removed the key from {user}");
            }
        },
    }
    Ok(())
}
