//! `forge ssh`: the two halves of git over the system's own sshd.
//!
//! `authorized-keys` answers sshd's `AuthorizedKeysCommand` with a forced
//! command for a registered key; `serve` is that forced command: it runs
//! only git's transfer commands, only on forge repositories, only with the
//! access the key's owner has, and hands the identity to the hooks.

use std::os::unix::process::ExitStatusExt as _;

use anyhow::{anyhow, bail, Context as _, Result};
use forge_core::repo_access::{self, Claimant, RepoRef};
use forge_core::ssh_ops::Outcome;
use forge_core::sshkey::{KeyOwner, PublicKey};
use forge_tickets::access::git_access;
use forge_tickets::provision::shell_quote;

use crate::cli::SshCommand;
use crate::context::Ctx;

pub fn run(cmd: SshCommand, ctx: &Ctx) -> Result<()> {
    match cmd {
        SshCommand::AuthorizedKeys { key_type, key } => authorized_keys(&key_type, &key, ctx),
        SshCommand::Serve { user, deploy_key } => serve(user, deploy_key, ctx),
    }
}

fn authorized_keys(key_type: &str, key: &str, ctx: &Ctx) -> Result<()> {
    // An unknown or malformed key gets no line: sshd then refuses it.
    let Ok(key) = PublicKey::from_parts(key_type, key, "") else {
        return Ok(());
    };
    let store = ctx.home_store()?;
    let who = match store.key_owner(&key.key_type, &key.blob)? {
        Some(KeyOwner::User(user)) => user,
        Some(KeyOwner::Deploy { id, .. }) => format!("--deploy-key {id}"),
        None => return Ok(()),
    };
    let exe = std::env::current_exe().context("locating the forge executable")?;
    let home = ctx.home()?.root();
    let home = home.canonicalize().unwrap_or_else(|_| home.to_path_buf());
    let command = format!(
        "{} --home {} ssh serve {who}",
        shell_quote(&exe.display().to_string()),
        shell_quote(&home.display().to_string())
    );
    // Inside command="...", a double quote or backslash is escaped with a backslash.
    let command = command.replace('\\', "\\\\").replace('"', "\\\"");
    say!(
        "restrict,command=\"{command}\" {} {}",
        key.key_type,
        key.blob
    );
    Ok(())
}

fn serve(user: Option<String>, deploy_key: Option<i64>, ctx: &Ctx) -> Result<()> {
    let original = std::env::var("SSH_ORIGINAL_COMMAND").map_err(|_| {
        anyhow!("this key serves git only: no interactive shell (use git clone/fetch/push)")
    })?;
    let (service, path) = repo_access::parse_ssh_command(&original)?;
    let repo = RepoRef::parse(&path)?;
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    // For the server's /metrics. A count that cannot be written (a busy or
    // full disk) does not change what the client is told.
    let count = |outcome| {
        let _ = store.count_ssh_git_operation(service, outcome);
    };
    let (claimant, env_name, env_value) = match (user, deploy_key) {
        (Some(name), _) => (Claimant::User(name.clone()), "FORGE_USER", name),
        (None, Some(id)) => {
            if store.deploy_key(id)?.is_none() {
                count(Outcome::Refused);
                bail!("deploy key {id} is not registered");
            }
            (Claimant::DeployKey(id), "FORGE_DEPLOY_KEY", id.to_string())
        }
        (None, None) => bail!("serve needs a user or --deploy-key"),
    };
    let access = match git_access(&store, home, &claimant, &repo, service)? {
        Ok(access) => access,
        Err(refusal) => {
            count(Outcome::Refused);
            bail!("{refusal}")
        }
    };
    let root = home
        .root()
        .canonicalize()
        .unwrap_or_else(|_| home.root().to_path_buf());
    // git runs as a child, not in this process's place, so that how it
    // ended is counted for the server's /metrics.
    let status = std::process::Command::new("git")
        .arg(service.subcommand())
        .arg(&access.dir)
        .env(env_name, &env_value)
        .env("FORGE_HOME", &root)
        .env_remove(if env_name == "FORGE_USER" {
            "FORGE_DEPLOY_KEY"
        } else {
            "FORGE_USER"
        })
        .status()
        .map_err(|e| anyhow!("running git {}: {e}", service.subcommand()))?;
    count(if status.success() {
        Outcome::Ok
    } else {
        Outcome::Failed
    });
    drop(store);
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    std::process::exit(code)
}
