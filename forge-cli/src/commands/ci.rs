//! `forge ci`: a project's CI server (project admins). `forge serve` (or
//! `forge worker`) then asks it for a build of each pull request that
//! opens or moves, and flags the request with the result when the server
//! calls back.

use anyhow::Result;
use forge_notify::ci::setup::{CiSettings, Kind, NewSetup};
use serde_json::json;

use crate::cli::CiCommand;
use crate::context::Ctx;
use crate::output;

/// The trigger token from `--token` or `--token-file`.
fn trigger_token(token: Option<String>, file: Option<std::path::PathBuf>) -> Result<String> {
    match (token, file) {
        (Some(t), _) => Ok(t),
        (None, Some(path)) => super::read_secret(&path, "the trigger token"),
        (None, None) => anyhow::bail!("give the job's trigger token with --token or --token-file"),
    }
}

pub fn run(cmd: CiCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    // Only the project's admins see or change its CI server.
    let admin = |name: &str| ctx.admin(&store, name);
    let ci = CiSettings::new(&store, home);
    match cmd {
        CiCommand::Set {
            project,
            provider,
            url,
            job,
            token,
            token_file,
        } => {
            let admin = admin(&project)?;
            let provider = Kind::parse(&provider)?;
            let token = trigger_token(token, token_file)?;
            let webhooks = super::webhook::settings(ctx)?;
            let (setup, callback) = ci.set(
                admin.project(),
                &NewSetup {
                    provider,
                    url: &url,
                    job: &job,
                    token: &token,
                },
                webhooks.allow_private,
            )?;
            let name = &admin.project().full_name;
            let callback_url = format!(
                "{}/api/0/ci/{}/{name}/{callback}/build-finished",
                webhooks.instance.trim_end_matches('/'),
                provider.as_str()
            );
            if ctx.json {
                return output::json(&json!({
                    "project": name, "provider": setup.provider, "url": setup.url, "job": setup.job,
                    "callback_url": callback_url, "callback_token": callback,
                }));
            }
            say!(
                "{name} is built by {} job `{}` at {}",
                provider.as_str(),
                setup.job,
                setup.url
            );
            say!("Jenkins calls back at this address (shown this once; in the job's");
            say!("Notification plugin, an HTTP JSON endpoint, \"Job Finalized\"):");
            say!("{callback_url}");
        }
        CiCommand::Show { project } => {
            let admin = admin(&project)?;
            let setup = ci.get(admin.project())?;
            if ctx.json {
                return output::json(&setup);
            }
            match setup {
                Some(s) => say!(
                    "{} is built by {} job `{}` at {} (since {})",
                    admin.project().full_name,
                    s.provider.as_str(),
                    s.job,
                    s.url,
                    forge_core::time::epoch_to_rfc3339(s.created_at).unwrap_or_default()
                ),
                None => say!("{} has no CI server", admin.project().full_name),
            }
        }
        CiCommand::Remove { project } => {
            let admin = admin(&project)?;
            ci.remove(admin.project())?;
            say!(
                "{} no longer asks a CI server for builds",
                admin.project().full_name
            );
        }
    }
    Ok(())
}
