//! `forge worker`: delivers what the event log holds for the webhooks.
//! Killed at any point, it loses nothing: a job it held is claimed again
//! when its lease ends.

use anyhow::Result;
use forge_notify::outbox;

use crate::context::Ctx;

pub fn run(once: bool, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let home = ctx.home()?;
    let settings = super::webhook::settings(ctx)?;
    let owner = format!("worker-{}", std::process::id());
    let mut total = 0;
    loop {
        let handled = outbox::run_once(&store, home, &owner, &settings, 64)?;
        total += handled;
        if handled == 0 {
            if once {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    say!("delivered or scheduled {total} job(s)");
    Ok(())
}
