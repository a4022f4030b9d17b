//! One module per command; each exposes `run(args, ctx)`.

mod activity;
mod backup;
mod ci;
mod events;
mod fsck;
mod group;
pub(crate) mod hooks;
mod import;
mod init;
pub(crate) mod issue;
mod mail;
mod merge_driver;
mod mirror;
pub(crate) mod pr;
mod project;
mod queue;
mod reindex;
pub(crate) mod repo;
mod search;
mod serve;
mod ssh;
mod token;
mod user;
mod webhook;
mod worker;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::context::Ctx;

/// The name of a command that works on a forge home only, when a remote
/// forge is set (`None`: it has a remote form, or git and sshd run it).
fn local_only(command: &Command) -> Option<&'static str> {
    Some(match command {
        Command::Issue(_) | Command::Pr(_) | Command::Mail(_) => return None,
        Command::Hook { .. } | Command::Ssh(_) | Command::MergeDriver { .. } => return None,
        Command::Init => "init",
        Command::User(_) => "user",
        Command::Project(_) => "project",
        Command::Repo(_) => "repo",
        Command::Group(_) => "group",
        Command::Hooks(_) => "hooks",
        Command::Activity { .. } => "activity",
        Command::Token(_) => "token",
        Command::Serve { .. } => "serve",
        Command::Reindex { .. } => "reindex",
        Command::Import(_) => "import",
        Command::Events { .. } => "events",
        Command::Queue(_) => "queue",
        Command::Webhook(_) => "webhook",
        Command::Ci(_) => "ci",
        Command::Backup(_) => "backup",
        Command::Fsck { .. } => "fsck",
        Command::Mirror(_) => "mirror",
        Command::Search { .. } => "search",
        Command::Worker { .. } => "worker",
        Command::Milter { .. } => "milter",
    })
}

/// A secret read from the file `path` (`-`: standard input), its line end
/// trimmed, so that it shows in no process list; `what` names it in errors.
pub(crate) fn read_secret(path: &std::path::Path, what: &str) -> Result<String> {
    use anyhow::Context as _;
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .with_context(|| format!("reading {what} from standard input"))?;
        text
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("reading {what} from {}", path.display()))?
    };
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

pub fn run(cli: Cli) -> Result<()> {
    if let (Some(url), Some(name)) = (&cli.remote, local_only(&cli.command)) {
        anyhow::bail!(
            "`forge {name}` works on a forge home, not through a remote forge ({url} from --remote or FORGE_REMOTE): \
             only `forge issue` and `forge pr` have a remote form; unset FORGE_REMOTE or drop --remote"
        );
    }
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
        Command::Serve {
            bind,
            docs_bind,
            no_worker,
        } => serve::run(bind.as_deref(), docs_bind.as_deref(), !no_worker, &ctx),
        Command::Reindex { project } => reindex::run(project.as_deref(), &ctx),
        Command::Import(cmd) => import::run(cmd, &ctx),
        Command::Events {
            project,
            since,
            limit,
        } => events::run(project.as_deref(), since, limit, &ctx),
        Command::Queue(cmd) => queue::run(cmd, &ctx),
        Command::Mail(cmd) => mail::run(cmd, &ctx),
        Command::Milter { bind } => mail::milter(&bind, &ctx),
        Command::Webhook(cmd) => webhook::run(cmd, &ctx),
        Command::Ci(cmd) => ci::run(cmd, &ctx),
        Command::Backup(cmd) => backup::run(cmd, &ctx),
        Command::Fsck { project, repair } => fsck::run(project, repair, &ctx),
        Command::Mirror(cmd) => mirror::run(cmd, &ctx),
        Command::Search {
            project,
            limit,
            query,
        } => search::run(project, limit, &query, &ctx),
        Command::Worker { once } => worker::run(once, &ctx),
        Command::MergeDriver {
            base,
            ours,
            theirs,
            path,
        } => merge_driver::run(&base, &ours, &theirs, path.as_deref()),
    }
}
