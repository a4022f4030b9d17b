//! One module per command; each exposes `run(args, ctx)`.

mod activity;
mod events;
mod group;
pub(crate) mod hooks;
mod import;
mod init;
pub(crate) mod issue;
mod merge_driver;
pub(crate) mod pr;
mod project;
mod reindex;
pub(crate) mod repo;
mod serve;
mod ssh;
mod token;
mod user;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Ctx;

pub fn run(cli: Cli) -> Result<()> {
    let ctx =
        Ctx::new(cli.home, cli.repo, cli.as_user, cli.json).with_remote(cli.remote, cli.token);
    match cli.command {
        Command::Init => init::run(&ctx),
        Command::User(cmd) => user::run(cmd, &ctx),
        Command::Project(cmd) => project::run(cmd, &ctx),
        Command::Issue(cmd) => issue::run(cmd, &ctx),
        Command::Repo(cmd) => repo::run(cmd, &ctx),
        Command::Pr(cmd) => pr::run(cmd, &ctx),
        Command::Group(cmd) => group::run(cmd, &ctx),
        Command::Ssh(cmd) => ssh::run(cmd, &ctx),
        Command::Hooks(cmd) => hooks::install(cmd, &ctx),
        Command::Hook { name } => hooks::run(name, &ctx),
        Command::Activity { user, year } => activity::run(&user, year, &ctx),
        Command::Token(cmd) => token::run(cmd, &ctx),
        Command::Serve { bind } => serve::run(bind.as_deref(), &ctx),
        Command::Reindex { project } => reindex::run(project.as_deref(), &ctx),
        Command::Import(cmd) => import::run(cmd, &ctx),
        Command::Events {
            project,
            since,
            limit,
        } => events::run(project.as_deref(), since, limit, &ctx),
        Command::MergeDriver {
            base,
            ours,
            theirs,
            path,
        } => merge_driver::run(&base, &ours, &theirs, path.as_deref()),
    }
}
