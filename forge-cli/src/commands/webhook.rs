//! `forge webhook`: a project's webhook targets (project admins).

use anyhow::Result;
use forge_notify::webhook::Webhooks;
use forge_tickets::Admin;
use serde_json::json;

use crate::cli::WebhookCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: WebhookCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    // Only the project's admins see or change its webhooks.
    let admin = |name: &str| -> Result<Admin<'_>> {
        Ok(Admin::open(
            &store,
            home,
            store.project(name)?,
            ctx.user()?,
        )?)
    };
    let hooks = Webhooks::open(&store, home)?;
    match cmd {
        WebhookCommand::Add {
            project,
            url,
            events,
            secret,
        } => {
            let admin = admin(&project)?;
            let allow_private = forge_core::config::Config::load(&home.config_path())?
                .webhooks
                .with_env(|k| std::env::var(k).ok())
                .allow_private_targets;
            let (hook, secret) = hooks.add(
                admin.project(),
                &url,
                &events,
                secret.as_deref(),
                allow_private,
            )?;
            if ctx.json {
                return output::json(&json!({
                    "id": hook.id, "url": hook.url, "events": hook.events, "secret": secret.expose(),
                }));
            }
            say!(
                "added webhook {} to {}: {}",
                hook.id,
                admin.project().full_name,
                hook.url
            );
            say!("its secret (shown this once; receivers verify signatures with it):");
            say!("{}", secret.expose());
        }
        WebhookCommand::List { project } => {
            let admin = admin(&project)?;
            let all = hooks.list(admin.project())?;
            if ctx.json {
                return output::json(&all);
            }
            let rows: Vec<Vec<String>> = all
                .into_iter()
                .map(|h| {
                    let events = if h.events.is_empty() {
                        "*".to_string()
                    } else {
                        h.events.join(",")
                    };
                    let state = match (&h.active, &h.disabled_reason) {
                        (true, _) => "active".to_string(),
                        (false, Some(why)) => format!("disabled: {why}"),
                        (false, None) => "disabled".to_string(),
                    };
                    vec![h.id.to_string(), h.url, events, state]
                })
                .collect();
            output::table(&["ID", "URL", "EVENTS", "STATE"], &rows);
        }
        WebhookCommand::Remove { project, id } => {
            let admin = admin(&project)?;
            hooks.remove(admin.project(), id)?;
            say!("removed webhook {id} from {}", admin.project().full_name);
        }
    }
    Ok(())
}
