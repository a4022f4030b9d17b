//! `forge webhook`: a project's webhook targets (project admins).

use anyhow::Result;
use std::time::Duration;

use forge_notify::deliver::Attempt;
use forge_notify::outbox::{self, Settings};
use forge_notify::queue::Schedule;
use forge_notify::webhook::Webhooks;
use serde_json::json;

use crate::cli::WebhookCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: WebhookCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    // Only the project's admins see or change its webhooks.
    let admin = |name: &str| ctx.admin(&store, name);
    let hooks = Webhooks::new(&store, home);
    match cmd {
        WebhookCommand::Add {
            project,
            url,
            events,
            secret,
        } => {
            let admin = admin(&project)?;
            let allow_private = settings(ctx)?.allow_private;
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
        WebhookCommand::Test { project, id } => {
            let admin = admin(&project)?;
            let p = admin.project();
            hooks.get(p, id)?;
            let e = forge_core::event::Event {
                id: 0,
                kind: "webhook.test".into(),
                project: p.full_name.clone(),
                actor: ctx.user()?.to_string(),
                issue: None,
                fields: json!({"webhook": id, "message": "a test delivery from forge"}),
                created_at: forge_core::time::now_rfc3339(),
            };
            let attempt =
                outbox::attempt(&store, &hooks, id, &e, 1, &settings(ctx)?)?.ok_or_else(|| {
                    forge_core::Error::invalid(format!("webhook {id}"), "it is disabled")
                })?;
            show_attempt(ctx, &attempt)?;
        }
        WebhookCommand::Deliveries { project, id, limit } => {
            let admin = admin(&project)?;
            let log = outbox::deliveries(&store, id, admin.project().id, limit)?;
            if ctx.json {
                return output::json(&log);
            }
            let rows: Vec<Vec<String>> = log
                .into_iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        d.webhook_id.to_string(),
                        d.event_id.to_string(),
                        d.attempt.to_string(),
                        d.status
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        format!("{} ms", d.duration_ms),
                        output::clip(&d.error.unwrap_or_default(), 50),
                    ]
                })
                .collect();
            output::table(
                &[
                    "DELIVERY", "WEBHOOK", "EVENT", "ATTEMPT", "STATUS", "TIME", "ERROR",
                ],
                &rows,
            );
        }
        WebhookCommand::Redeliver { project, delivery } => {
            let admin = admin(&project)?;
            let attempt = outbox::redeliver(
                &store,
                &hooks,
                admin.project().id,
                delivery,
                &settings(ctx)?,
            )?
            .ok_or_else(|| {
                forge_core::Error::invalid(
                    format!("delivery {delivery}"),
                    "its webhook is disabled or gone",
                )
            })?;
            show_attempt(ctx, &attempt)?;
        }
        WebhookCommand::Remove { project, id } => {
            let admin = admin(&project)?;
            hooks.remove(admin.project(), id)?;
            say!("removed webhook {id} from {}", admin.project().full_name);
        }
    }
    Ok(())
}

/// How this home delivers: forge.toml's `[webhooks]` and `[server]`
/// (`public_url`, else the bind address, names the instance).
pub fn settings(ctx: &Ctx) -> Result<Settings> {
    settings_from(forge_core::config::Config::load(
        &ctx.home()?.config_path(),
    )?)
}

/// [`settings`] from a forge.toml already read.
pub fn settings_from(config: forge_core::config::Config) -> Result<Settings> {
    let server = config.server.with_env(|k| std::env::var(k).ok())?;
    let hooks = config.webhooks.with_env(|k| std::env::var(k).ok())?;
    let defaults = Settings::default();
    Ok(Settings {
        allow_private: hooks.allow_private_targets,
        instance: server
            .public_url
            .unwrap_or_else(|| format!("http://{}", server.bind)),
        schedule: hooks.retry_schedule.map_or(defaults.schedule, |delays| {
            Schedule(delays.into_iter().map(Duration::from_secs).collect())
        }),
        lease: hooks.lease_secs.map_or(defaults.lease, Duration::from_secs),
        ..defaults
    })
}

fn show_attempt(ctx: &Ctx, a: &Attempt) -> Result<()> {
    if ctx.json {
        return output::json(&json!({
            "status": a.status, "response": a.response, "error": a.error,
            "duration_ms": a.duration.as_millis() as u64, "delivered": a.delivered(),
        }));
    }
    match (a.status, &a.error) {
        (Some(s), _) => say!("answered {s} in {} ms", a.duration.as_millis()),
        (None, Some(e)) => say!("not delivered: {e}"),
        (None, None) => say!("not delivered"),
    }
    Ok(())
}
