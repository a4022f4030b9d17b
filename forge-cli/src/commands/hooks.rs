//! `forge hooks install` and `forge hook NAME`: forge's git hooks.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context as _, Result};
use forge_core::project::Project;
use forge_core::repo_access::{Claimant, RepoRef};
use forge_core::{ForgeHome, Store};
use forge_git::Repo;
use forge_tickets::hooks::{self, RefUpdate};
use forge_tickets::provision;

use crate::cli::{HookName, HooksCommand};
use crate::context::Ctx;

fn exe() -> Result<PathBuf> {
    std::env::current_exe().context("locating the forge executable")
}

/// The forge executable new projects' and forks' hooks call (this one).
pub fn hooks_exe() -> Result<PathBuf> {
    exe()
}

/// Installs forge's hooks in every repository of a project.
fn install_for_project(home: &ForgeHome, store: &Store, project: &Project) -> Result<usize> {
    Ok(provision::install_project_hooks(
        &exe()?,
        store,
        home,
        project,
    )?)
}

pub fn install(cmd: HooksCommand, ctx: &Ctx) -> Result<()> {
    let HooksCommand::Install { project, all } = cmd;
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    let projects = match (project, all) {
        (Some(name), _) => vec![store.project(&name)?],
        (None, true) => store.list_projects()?,
        (None, false) => bail!("pass -p PROJECT or --all"),
    };
    for project in projects {
        let n = install_for_project(home, &store, &project)?;
        say!(
            "installed hooks in {n} repositories of {}",
            project.full_name
        );
    }
    Ok(())
}

pub fn run(name: HookName, ctx: &Ctx) -> Result<()> {
    let name = match name {
        HookName::PreReceive => "pre-receive",
        HookName::PostReceive => "post-receive",
    };
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading the hook's input")?;
    let text = String::from_utf8_lossy(&input);
    let updates: Vec<RefUpdate> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(RefUpdate::parse)
        .collect::<Result<_, _>>()?;
    let here = std::env::current_dir().context("finding the repository")?;
    let home = ctx.home()?;
    let target = RepoRef::from_path(home, &here).ok_or_else(|| {
        anyhow!(
            "{} is not a repository of the forge home {}",
            here.display(),
            home.root().display()
        )
    })?;
    let store = ctx.home_store()?;
    let user = std::env::var("FORGE_USER").ok().filter(|u| !u.is_empty());
    let deploy = std::env::var("FORGE_DEPLOY_KEY")
        .ok()
        .and_then(|k| k.parse::<i64>().ok());
    let claimant = match (user, deploy) {
        (Some(name), _) => Claimant::User(name),
        (None, Some(id)) => Claimant::DeployKey(id),
        (None, None) => Claimant::Anonymous,
    };
    let repo = std::rc::Rc::new(Repo::open_in_hook(&here)?);
    if name == "pre-receive" {
        hooks::pre_receive(&store, home, &target, &repo, &claimant, &updates)?;
    } else {
        let report = hooks::post_receive(&store, home, &target, &repo, &claimant, &updates)?;
        for n in &report.numbered {
            eprintln!("forge: numbered issue #{n} (made offline)");
        }
        for n in &report.closed_issues {
            eprintln!("forge: closed issue #{n}");
        }
        for n in &report.refreshed {
            eprintln!("forge: refreshed pull request #{n}");
        }
        for w in &report.warnings {
            eprintln!("forge: warning: {w}");
        }
    }
    // The user's own hooks, kept in hooks/<name>.d/, run after forge's with the same input.
    for hook in repo.user_hooks(name) {
        let mut child = Command::new(&hook)
            .stdin(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {}", hook.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that does not read its input must not fail the push.
            let _ = stdin.write_all(&input);
        }
        let status = child.wait()?;
        if !status.success() && name == "pre-receive" {
            bail!("{} refused the push", hook.display());
        }
    }
    Ok(())
}
