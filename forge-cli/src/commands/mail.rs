//! `forge mail`: e-mail. `ingest` takes in a reply (postfix's pipe
//! transport) and posts it; `trim` prints what a reply would post, for
//! people checking why a reply looked as it did.

use std::io::Read as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use forge_notify::mail::ingest::{self, Exit, Refused};
use forge_notify::mail::{self, message};
use forge_notify::queue;

use crate::cli::MailCommand;
use crate::context::Ctx;
use crate::output;

pub fn run(cmd: MailCommand, ctx: &Ctx) -> Result<()> {
    match cmd {
        MailCommand::Trim { file } => trim(file.as_deref(), ctx),
        MailCommand::Ingest { recipient } => ingest(recipient.as_deref(), ctx),
    }
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
