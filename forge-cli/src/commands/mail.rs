//! `forge mail`: e-mail. `ingest` takes in a reply (postfix's pipe
//! transport) and posts it; `trim` prints what a reply would post, for
//! people checking why a reply looked as it did.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use std::sync::Arc;

use forge_notify::mail::ingest::{self, Exit, Refused};
use forge_notify::mail::milter::{Bind, Checks, Listener};
use forge_notify::mail::prefs::{self as mail_prefs, Level};
use forge_notify::mail::{self, message};
use forge_notify::queue;

use crate::cli::MailCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: MailCommand, ctx: &Ctx) -> Result<()> {
    match cmd {
        MailCommand::Trim { file } => trim(file.as_deref(), ctx),
        MailCommand::Ingest { recipient } => ingest(recipient.as_deref(), ctx),
        MailCommand::Prefs { project, level } => prefs(project.as_deref(), level.as_deref(), ctx),
    }
}

/// `forge mail prefs`: the user's level (for a project, or by default),
/// set first when `--level` is given.
fn prefs(project: Option<&str>, level: Option<&str>, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let user = ctx.user()?.to_string();
    store.user(&user)?;
    if let Some(p) = project {
        store.project(p)?;
    }
    if let Some(text) = level {
        let level = Level::parse(text)
            .with_context(|| format!("--level `{text}`: it is all, participating or none"))?;
        mail_prefs::set(&store, &user, project, level)?;
    }
    let effective = match project {
        Some(p) => mail_prefs::effective(&store, &user, p)?,
        None => mail_prefs::get(&store, &user, None)?.unwrap_or_default(),
    };
    if ctx.json {
        return output::json(&serde_json::json!({
            "user": user, "project": project, "level": effective,
        }));
    }
    match project {
        Some(p) => say!(
            "notification mails for {user} about {p}: {}",
            effective.as_str()
        ),
        None => say!(
            "notification mails for {user} by default: {}",
            effective.as_str()
        ),
    }
    Ok(())
}

/// `forge mail ingest`: one line on standard output saying what was done,
/// or a refusal whose exit status the mail server acts on (`main` reads it
/// from the [`Refused`] error).
fn ingest(recipient: Option<&str>, ctx: &Ctx) -> Result<()> {
    let later = |e: anyhow::Error| Refused {
        exit: Exit::TempFail,
        reason: format!("{e:#}"),
    };
    let raw = read_input(None).map_err(later)?;
    let store = ctx.home_store().map_err(later)?;
    let outcome = ingest::ingest(&store, ctx.home()?, &raw, recipient, queue::now_ms())?;
    if ctx.json {
        return output::json(&serde_json::json!({ "outcome": outcome.to_string() }));
    }
    say!("{outcome}");
    Ok(())
}

/// `forge milter`: serves postfix's milter connections until SIGINT or
/// SIGTERM.
pub fn milter(bind: &str, ctx: &Ctx) -> Result<()> {
    let at: Bind = bind
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--bind {e}"))?;
    ctx.home_store()?; // the home must exist
    let checks = Arc::new(Checks::open(ctx.home()?).context("opening the forge home")?);
    let runtime = super::serve::server_runtime()?;
    runtime.block_on(async {
        let listener = Listener::bind(&at)
            .await
            .with_context(|| format!("listening on {bind}"))?;
        eprintln!(
            "forge: milter for {} listening on {name} (postfix: smtpd_milters = {name}; Ctrl-C to stop)",
            ctx.home()?.root().display(),
            name = listener.postfix_name(),
        );
        forge_notify::mail::milter::serve(listener, checks, forge_http::shutdown_signal()).await?;
        eprintln!("forge: milter stopped");
        Ok(())
    })
}

/// Reads at most one byte over the message limit, so that a huge input is
/// refused without being held whole.
fn read_input(file: Option<&Path>) -> Result<Vec<u8>> {
    let limit = message::MAX_MESSAGE as u64 + 1;
    let mut raw = Vec::new();
    match file.filter(|f| f != &Path::new("-")) {
        Some(path) => std::fs::File::open(path)
            .with_context(|| format!("reading {}", path.display()))?
            .take(limit)
            .read_to_end(&mut raw)
            .with_context(|| format!("reading {}", path.display()))?,
        None => std::io::stdin()
            .take(limit)
            .read_to_end(&mut raw)
            .context("reading standard input")?,
    };
    Ok(raw)
}

fn trim(file: Option<&Path>, ctx: &Ctx) -> Result<()> {
    let name = file.map_or("standard input".to_string(), |f| f.display().to_string());
    let raw = read_input(file)?;
    let text = message::text(&raw).with_context(|| format!("{name} cannot be read as a reply"))?;
    let reply = mail::trim(&text);
    if ctx.json {
        return output::json(&serde_json::json!({
            "text": reply,
            "message": message::looks_like_message(&raw),
        }));
    }
    if reply.is_empty() {
        eprintln!("forge: {name} holds nothing but quotes, signatures and markers: a reply would post nothing");
    } else {
        println!("{reply}");
    }
    Ok(())
}
