//! `forge worker`: delivers what the event log holds for the webhooks
//! (`forge serve` runs the same loop on a thread of its own unless told
//! `--no-worker`). Killed at any point, it loses nothing: a job it held is
//! claimed again when its lease ends.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use forge_core::{ForgeHome, Store};
use forge_notify::outbox::{self, Settings};
use forge_notify::webhook::Webhooks;

use crate::context::Ctx;

pub fn run(once: bool, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let settings = super::webhook::settings(ctx)?;
    let total = deliver(
        &store,
        ctx.home()?,
        &settings,
        &AtomicBool::new(false),
        once,
    )?;
    say!("delivered or scheduled {total} job(s)");
    Ok(())
}

/// Rounds of deliveries until `stop` is set (or, with `once`, until no job
/// is ready); returns how many jobs it handled.
pub fn deliver(
    store: &Store,
    home: &ForgeHome,
    settings: &Settings,
    stop: &AtomicBool,
    once: bool,
) -> Result<usize> {
    let owner = format!(
        "worker-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    let hooks = Webhooks::new(store, home);
    let mut total = 0;
    while !stop.load(Ordering::Relaxed) {
        let handled = outbox::run_once(store, &hooks, &owner, settings, 64)?;
        total += handled;
        if handled == 0 {
            if once {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    Ok(total)
}
