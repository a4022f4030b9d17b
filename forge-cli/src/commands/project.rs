//! `forge project`: create, list and show projects.

use anyhow::Result;
use serde_json::json;

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
                let user = ctx.user()?;
                let access = store.access(&project, user, false)?;
                if !forge_core::role::permits(&access, forge_core::role::Action::ModifyProject) {
                    return Err(forge_core::Error::PermissionDenied {
                        user: user.into(),
                        action: forge_core::role::Action::ModifyProject.to_string(),
                        project: project.full_name.clone(),
                    }
                    .into());
                }
                let mut settings = project.settings.clone();
                for pair in &set {
                    let (key, value) = pair.split_once('=').ok_or_else(|| {
                        forge_core::Error::invalid(format!("--set `{pair}`"), "expected KEY=VALUE")
                    })?;
                    settings.set(key.trim(), value)?;
                }
                store.set_project_settings(&project, &settings)?;
                project.settings = settings;
            }
            let entries = project.settings.entries();
            if ctx.json {
                output::json(&project.settings)?;
            } else {
                let rows: Vec<Vec<String>> = entries.into_iter().map(|(k, v)| vec![k, v]).collect();
                output::table(&["KEY", "VALUE"], &rows);
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

fn require_admin(
    store: &forge_core::Store,
    ctx: &Ctx,
    project: &forge_core::project::Project,
) -> Result<()> {
    use forge_core::role::{permits, Action};
    let user = ctx.user()?;
    if permits(&store.access(project, user, false)?, Action::ModifyProject) {
        return Ok(());
    }
    Err(forge_core::Error::PermissionDenied {
        user: user.into(),
        action: Action::ModifyProject.to_string(),
        project: project.full_name.clone(),
    }
    .into())
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
            require_admin(store, ctx, &project)?;
            let role = match role {
                RoleArg::Ticket => Role::Ticket,
                RoleArg::Collaborator => Role::Collaborator,
                RoleArg::Commit => Role::Commit,
                RoleArg::Admin => Role::Admin,
            };
            if role == Role::Collaborator && branches.trim().is_empty() {
                return Err(forge_core::Error::invalid(
                    format!("member `{member}`"),
                    "a collaborator needs --branches (the branch patterns they may push)",
                )
                .into());
            }
            store.set_member(&project, &member, role, branches.trim())?;
            say!("{member} is {} of {}", role.as_str(), project.full_name);
        }
        MemberCommand::Remove { project, member } => {
            let project = visible(store, ctx, &project)?;
            require_admin(store, ctx, &project)?;
            store.remove_member(&project, &member)?;
            say!("{member} is no longer a member of {}", project.full_name);
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
    use forge_core::sshkey::PublicKey;
    match cmd {
        DeployKeyCommand::Add { project, key, push } => {
            let project = visible(store, ctx, &project)?;
            require_admin(store, ctx, &project)?;
            let info = store.add_deploy_key(&project, &PublicKey::parse(&key)?, push)?;
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
            require_admin(store, ctx, &project)?;
            let keys = store.deploy_keys(&project)?;
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
            require_admin(store, ctx, &project)?;
            store.remove_deploy_key(&project, &key)?;
            say!("removed the deploy key from {}", project.full_name);
        }
    }
    Ok(())
}
