//! `forge project`: create, list, show, administer, rename, give away
//! and delete projects.

use anyhow::Result;
use serde_json::json;

use forge_tickets::Admin;

use crate::cli::{DeployKeyCommand, MemberCommand, ProjectCommand, RoleArg};
use crate::context::Ctx;
use crate::output;

/// The project, or "not found" for a private one the acting user is not a member of.
fn visible(
    store: &forge_core::Store,
    ctx: &Ctx,
    name: &str,
) -> Result<forge_core::project::Project> {
    let project = store.project(name)?;
    let member = ctx
        .as_user()
        .map(|u| store.role_of(&project, u))
        .transpose()?
        .flatten()
        .is_some();
    if project.private && !member {
        return Err(forge_core::Error::not_found("project", name).into());
    }
    Ok(project)
}

pub fn run(cmd: ProjectCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    match cmd {
        ProjectCommand::Create {
            name,
            description,
            private,
        } => {
            let new = forge_tickets::NewProject {
                full_name: name,
                description,
                private,
                owner: ctx.user()?.to_string(),
            };
            let hooks = crate::commands::hooks::hooks_exe()?;
            let project = forge_tickets::create_project(&store, home, &new, Some(&hooks))?;
            if ctx.json {
                output::json(&project)?;
            } else {
                say!(
                    "created project {} (owner {})",
                    project.full_name,
                    project.owner
                );
            }
        }
        ProjectCommand::List => {
            let viewer = ctx.as_user();
            let mut visible = Vec::new();
            for p in store.list_projects()? {
                if !p.private
                    || viewer
                        .map(|u| store.role_of(&p, u))
                        .transpose()?
                        .flatten()
                        .is_some()
                {
                    visible.push(p);
                }
            }
            if ctx.json {
                output::json(&visible)?;
            } else {
                let rows: Vec<Vec<String>> = visible
                    .into_iter()
                    .map(|p| {
                        let vis = if p.private { "private" } else { "public" };
                        vec![
                            p.full_name,
                            p.owner,
                            vis.to_string(),
                            output::clip(&p.description, 60),
                        ]
                    })
                    .collect();
                output::table(&["PROJECT", "OWNER", "VISIBILITY", "DESCRIPTION"], &rows);
            }
        }
        ProjectCommand::Member(cmd) => member(cmd, &store, ctx)?,
        ProjectCommand::DeployKey(cmd) => deploy_key(cmd, &store, ctx)?,
        ProjectCommand::Settings { name, set } => {
            let mut project = visible(&store, ctx, &name)?;
            if !set.is_empty() {
                let pairs = set
                    .iter()
                    .map(|pair| {
                        pair.split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .ok_or_else(|| {
                                forge_core::Error::invalid(
                                    format!("--set `{pair}`"),
                                    "expected KEY=VALUE",
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let mut admin = Admin::open(&store, home, project, ctx.user()?)?;
                project = admin.update_settings(&pairs)?.clone();
            }
            let entries = project.settings.entries();
            if ctx.json {
                output::json(&project.settings)?;
            } else {
                let rows: Vec<Vec<String>> = entries.into_iter().map(|(k, v)| vec![k, v]).collect();
                output::table(&["KEY", "VALUE"], &rows);
            }
        }
        ProjectCommand::Rename { name, new_name } => {
            let project = visible(&store, ctx, &name)?;
            let renamed = Admin::open(&store, home, project, ctx.user()?)?.rename(&new_name)?;
            if ctx.json {
                output::json(&json!({"old_name": name, "project": renamed}))?;
            } else {
                say!(
                    "renamed {name} to {} (the old name redirects)",
                    renamed.full_name
                );
            }
        }
        ProjectCommand::Transfer {
            name,
            owner,
            keep_access,
        } => {
            let project = visible(&store, ctx, &name)?;
            let given =
                Admin::open(&store, home, project, ctx.user()?)?.transfer(&owner, keep_access)?;
            if ctx.json {
                output::json(&given)?;
            } else {
                say!("{} now belongs to {}", given.full_name, given.owner);
            }
        }
        ProjectCommand::Delete { name, yes } => {
            let project = visible(&store, ctx, &name)?;
            let admin = Admin::open(&store, home, project, ctx.user()?)?;
            let confirm = if yes { name.clone() } else { ask_name(&name)? };
            admin.delete(&confirm)?;
            if ctx.json {
                output::json(&json!({"deleted": name}))?;
            } else {
                say!("deleted {name}");
            }
        }
        ProjectCommand::Fork { name } => {
            let user = ctx.user()?;
            let project = store.project(&name)?;
            let hooks = crate::commands::hooks::hooks_exe()?;
            let path = forge_tickets::fork_project(&store, home, &project, user, Some(&hooks))?;
            let fork = format!("forks/{user}/{}", project.full_name);
            if ctx.json {
                output::json(&json!({"project": project.full_name, "fork": fork, "path": path}))?;
            } else {
                say!(
                    "forked {} to {fork} ({})",
                    project.full_name,
                    path.display()
                );
            }
        }
        ProjectCommand::Show {
            name,
            fork: Some(owner),
        } => {
            let project = visible(&store, ctx, &name)?;
            if !store.has_fork(&project, &owner)? {
                return Err(
                    forge_core::Error::not_found("fork", format!("forks/{owner}/{name}")).into(),
                );
            }
            let path = home.fork_path(&owner, &project.full_name);
            let fork = format!("forks/{owner}/{}", project.full_name);
            if ctx.json {
                output::json(
                    &json!({"name": fork, "parent": project.full_name, "owner": owner, "paths": {"source": path}}),
                )?;
            } else {
                say!("{fork} (fork of {})", project.full_name);
                say!("source:     {}", path.display());
            }
        }
        ProjectCommand::Show { name, fork: None } => {
            let project = visible(&store, ctx, &name)?;
            let paths = home.project_paths(&project.full_name);
            let members = store.members(&project)?;
            if ctx.json {
                let mut value = serde_json::to_value(&project)?;
                value["paths"] = json!({
                    "source": paths.source, "docs": paths.docs, "tickets": paths.tickets, "requests": paths.requests,
                });
                value["members"] = serde_json::to_value(&members)?;
                value["forks"] = json!(store.forks(&project)?);
                output::json(&value)?;
            } else {
                say!("{}", project.full_name);
                if !project.description.is_empty() {
                    say!("  {}", project.description);
                }
                say!("owner:      {}", project.owner);
                say!(
                    "visibility: {}",
                    if project.private { "private" } else { "public" }
                );
                say!("created:    {}", project.created_at);
                say!("source:     {}", paths.source.display());
                say!("docs:       {}", paths.docs.display());
                say!("tickets:    {}", paths.tickets.display());
                say!("requests:   {}", paths.requests.display());
                for m in members {
                    say!("member:     {} ({})", m.name, m.role);
                }
            }
        }
    }
    Ok(())
}

/// Asks, on a terminal, for the project's name again before deleting it.
fn ask_name(name: &str) -> Result<String> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        return Err(forge_core::Error::invalid(
            format!("deleting `{name}`"),
            "not on a terminal: pass --yes to delete it with all its issues, pull requests and repositories",
        )
        .into());
    }
    eprint!("This deletes {name} with its issues, pull requests, repositories and forks.\nType its full name to go on: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

fn member(cmd: MemberCommand, store: &forge_core::Store, ctx: &Ctx) -> Result<()> {
    use forge_core::role::Role;
    match cmd {
        MemberCommand::Add {
            project,
            member,
            role,
            branches,
        } => {
            let project = visible(store, ctx, &project)?;
            let admin = Admin::open(store, ctx.home()?, project, ctx.user()?)?;
            let role = match role {
                RoleArg::Ticket => Role::Ticket,
                RoleArg::Collaborator => Role::Collaborator,
                RoleArg::Commit => Role::Commit,
                RoleArg::Admin => Role::Admin,
            };
            admin.set_member(&member, role, &branches)?;
            say!(
                "{member} is {} of {}",
                role.as_str(),
                admin.project().full_name
            );
        }
        MemberCommand::Remove { project, member } => {
            let project = visible(store, ctx, &project)?;
            let admin = Admin::open(store, ctx.home()?, project, ctx.user()?)?;
            admin.remove_member(&member)?;
            say!(
                "{member} is no longer a member of {}",
                admin.project().full_name
            );
        }
        MemberCommand::List { project } => {
            let project = visible(store, ctx, &project)?;
            let members = store.members(&project)?;
            if ctx.json {
                output::json(&members)?;
            } else {
                let rows: Vec<Vec<String>> = members
                    .into_iter()
                    .map(|m| vec![m.name, m.role.as_str().to_string(), m.branches])
                    .collect();
                output::table(&["MEMBER", "ROLE", "BRANCHES"], &rows);
            }
        }
    }
    Ok(())
}

fn deploy_key(cmd: DeployKeyCommand, store: &forge_core::Store, ctx: &Ctx) -> Result<()> {
    match cmd {
        DeployKeyCommand::Add { project, key, push } => {
            let project = visible(store, ctx, &project)?;
            let admin = Admin::open(store, ctx.home()?, project, ctx.user()?)?;
            let info = admin.add_deploy_key(&key, push)?;
            let project = admin.project();
            if ctx.json {
                output::json(&info)?;
            } else {
                let mode = if push { "read-write" } else { "read-only" };
                say!(
                    "added {mode} deploy key {} to {}",
                    info.fingerprint,
                    project.full_name
                );
            }
        }
        DeployKeyCommand::List { project } => {
            let project = visible(store, ctx, &project)?;
            let keys = Admin::open(store, ctx.home()?, project, ctx.user()?)?.deploy_keys()?;
            if ctx.json {
                output::json(&keys)?;
            } else {
                let rows: Vec<Vec<String>> = keys
                    .into_iter()
                    .map(|k| {
                        let mode = if k.push { "push" } else { "read" };
                        vec![k.key_type, k.fingerprint, mode.into(), k.comment]
                    })
                    .collect();
                output::table(&["TYPE", "FINGERPRINT", "ACCESS", "COMMENT"], &rows);
            }
        }
        DeployKeyCommand::Remove { project, key } => {
            let project = visible(store, ctx, &project)?;
            let admin = Admin::open(store, ctx.home()?, project, ctx.user()?)?;
            admin.remove_deploy_key(&key)?;
            say!("removed the deploy key from {}", admin.project().full_name);
        }
    }
    Ok(())
}
