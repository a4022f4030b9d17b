//! `forge mirror`: a project made a read-only mirror of a GitHub
//! repository (project admins), synced through the REST API here and kept
//! up to date by GitHub's webhooks through `forge serve`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use forge_notify::github::backfill::{self, Progress, Report};
use forge_notify::github::mirror::{Mirrors, NewMirror};
use serde_json::json;

use crate::cli::{GithubMirrorCommand, MirrorCommand};
use crate::context::Ctx;
use crate::output;

/// The limit of one API request.
const TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(cmd: MirrorCommand, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    let admin = |name: &str| ctx.admin(&store, name);
    let mirrors = Mirrors::new(&store, home);
    let webhooks = super::webhook::settings(ctx)?;
    match cmd {
        MirrorCommand::Github(GithubMirrorCommand::Add {
            project,
            github_repo,
            token_file,
            api_url,
            secret,
            no_sync,
        }) => {
            let admin = admin(&project)?;
            let token = token_file
                .map(|f| super::read_secret(&f, "the API token"))
                .transpose()?;
            let (mirror, secret) = mirrors.add(
                admin.project(),
                &NewMirror {
                    repo: &github_repo,
                    api_url: api_url.as_deref(),
                    token: token.as_deref(),
                    secret: secret.as_deref(),
                },
                webhooks.allow_private,
            )?;
            let name = admin.project().full_name.clone();
            let hook = format!(
                "{}/hooks/github/{name}",
                webhooks.instance.trim_end_matches('/')
            );
            if !ctx.json {
                say!(
                    "{name} now mirrors github:{} ({})",
                    mirror.repo,
                    mirror.api_url
                );
                say!("On GitHub, add a webhook (Settings → Webhooks) with content type application/json:");
                say!("  Payload URL: {hook}");
                say!("  Secret:      {secret}   (shown this once)");
                say!("  Events:      issues, issue comments, pull requests, reviews, review comments, labels, milestones, pushes");
            }
            let report = if no_sync {
                None
            } else {
                let synced = sync(ctx, &store, home, &name, webhooks.allow_private);
                Some(synced.map_err(|e| {
                    anyhow::anyhow!(
                        "{name} mirrors github:{} now, but its first sync stopped: {e:#}; `forge mirror sync -p {name}` goes on from there",
                        mirror.repo
                    )
                })?)
            };
            if ctx.json {
                return output::json(&json!({
                    "project": name, "repo": mirror.repo, "api_url": mirror.api_url,
                    "webhook_url": hook, "webhook_secret": secret, "sync": report,
                }));
            }
        }
        MirrorCommand::Status { project } => {
            let admin = admin(&project)?;
            let status = mirrors.status(admin.project())?;
            if ctx.json {
                return output::json(&status);
            }
            let Some(s) = status else {
                say!("{} mirrors nothing", admin.project().full_name);
                return Ok(());
            };
            let when = |ms: Option<i64>| {
                ms.and_then(|ms| forge_core::time::epoch_to_rfc3339(ms / 1000))
                    .unwrap_or_else(|| "never".into())
            };
            say!(
                "{} mirrors github:{} ({}, {})",
                admin.project().full_name,
                s.mirror.repo,
                s.mirror.api_url,
                if s.mirror.has_token {
                    "with a token"
                } else {
                    "without a token"
                }
            );
            let counts: Vec<String> = s.records.iter().map(|(k, n)| format!("{n} {k}")).collect();
            say!(
                "records: {}",
                if counts.is_empty() {
                    "none yet".to_string()
                } else {
                    counts.join(", ")
                }
            );
            say!("last by webhook: {}", when(s.last_webhook_at));
            say!("last by API:     {}", when(s.last_api_at));
            if !s.unfinished.is_empty() {
                say!(
                    "a sync stopped in: {} (`forge mirror sync` goes on)",
                    s.unfinished.join(", ")
                );
            }
            say!(
                "deliveries waiting: {}, failed: {}",
                s.waiting_deliveries,
                s.dead_deliveries
            );
        }
        MirrorCommand::Sync { project } => {
            let admin = admin(&project)?;
            let name = admin.project().full_name.clone();
            let report = sync(ctx, &store, home, &name, webhooks.allow_private)?;
            if ctx.json {
                return output::json(&report);
            }
        }
        MirrorCommand::Remove { project } => {
            let admin = admin(&project)?;
            mirrors.remove(admin.project())?;
            say!(
                "{} is a project of its own again (what was replicated stays)",
                admin.project().full_name
            );
        }
    }
    Ok(())
}

/// Syncs the mirror `name` with a counter on a terminal; Ctrl-C stops it
/// where a later sync goes on.
fn sync(
    ctx: &Ctx,
    store: &forge_core::Store,
    home: &forge_core::ForgeHome,
    name: &str,
    allow_private: bool,
) -> Result<Report> {
    let project = store.project(name)?;
    let stop = Arc::new(AtomicBool::new(false));
    super::worker::stop_on_signal(stop.clone())?;
    let bar = output::counter("syncing");
    let mut shown = |p: &Progress| {
        bar.set_message(format!(
            "{}: {} pages ({} unchanged), {} records written",
            p.resource, p.pages, p.unchanged, p.written
        ));
    };
    let report = backfill::sync(
        store,
        home,
        &project,
        allow_private,
        TIMEOUT,
        &stop,
        &mut shown,
    );
    bar.finish_and_clear();
    let report = report?;
    if !ctx.json {
        say!(
            "synced {name}: {} pages ({} unchanged), {} records written, {} already up to date{}{}",
            report.pages,
            report.unchanged,
            report.tally.written,
            report.tally.kept,
            if report.resumed {
                ", going on from where the last sync stopped"
            } else {
                ""
            },
            if report.waited_secs > 0 {
                format!(", {} s waited for GitHub's rate limit", report.waited_secs)
            } else {
                String::new()
            }
        );
        for w in &report.warnings {
            say!("warning: {w}");
        }
    }
    Ok(report)
}
