//! `forge worker`: delivers what the event log holds — webhooks, builds
//! asked of CI servers and their flags, GitHub deliveries applied to
//! mirrors, and notification mails when
//! `[mail] from` is set (`forge serve` runs the
//! same loop on a thread of its own unless told `--no-worker`). Killed at
//! any point, it loses nothing: a job it held is claimed again when its
//! lease ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use forge_core::{ForgeHome, Store};
use forge_notify::ci::worker as ci;
use forge_notify::github::worker as github;
use forge_notify::mail::notify;
use forge_notify::mail::reply::Keys;
use forge_notify::outbox::{self, Settings};
use forge_notify::queue;
use forge_notify::webhook::Webhooks;

use crate::context::Ctx;

/// What a worker delivers.
#[derive(Debug, Clone)]
pub struct Consumers {
    /// Webhooks.
    pub webhooks: Settings,
    /// Notification mails (`None`: `[mail] from` is not set).
    pub mail: Option<notify::Settings>,
    /// Builds asked of projects' CI servers, and their flags.
    pub ci: ci::Settings,
    /// GitHub deliveries applied to mirrors.
    pub github: github::Settings,
}

/// The consumers `config` (and the environment) set up.
pub fn consumers(config: forge_core::config::Config) -> Result<Consumers> {
    let mail = config.mail.clone().with_env(|k| std::env::var(k).ok())?;
    let webhooks = super::webhook::settings_from(config)?;
    let mail = notify::Settings::from_config(&mail, &webhooks.instance)?;
    let ci = ci::Settings::like(&webhooks);
    let github = github::Settings::like(&webhooks);
    Ok(Consumers {
        webhooks,
        mail,
        ci,
        github,
    })
}

pub fn run(once: bool, ctx: &Ctx) -> Result<()> {
    let store = ctx.home_store()?;
    let settings = consumers(forge_core::config::Config::load(
        &ctx.home()?.config_path(),
    )?)?;
    let stop = Arc::new(AtomicBool::new(false));
    if !once {
        stop_on_signal(stop.clone())?;
        eprintln!("forge: delivering webhooks (Ctrl-C to stop)");
    }
    let total = deliver(&store, ctx.home()?, &settings, &stop, once)?;
    if !once {
        eprintln!("forge: stopped");
    }
    say!("delivered or scheduled {total} job(s)");
    Ok(())
}

/// Sets `stop` on SIGINT or SIGTERM: the worker ends its current attempt,
/// gives back the jobs it held and not tried, and exits.
pub(crate) fn stop_on_signal(stop: Arc<AtomicBool>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the signal handler")?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime.block_on(async {
            let signal = forge_http::shutdown_signal();
            tokio::pin!(signal);
            // Poll once so that the handlers are installed before the
            // worker starts.
            let installed = futures_poll_once(signal.as_mut()).await;
            let _ = ready_tx.send(());
            if !installed {
                signal.await;
            }
        });
        stop.store(true, Ordering::Relaxed);
    });
    let _ = ready_rx.recv();
    Ok(())
}

/// Polls `f` once; whether it finished.
async fn futures_poll_once<F: std::future::Future<Output = ()>>(f: std::pin::Pin<&mut F>) -> bool {
    let mut f = f;
    std::future::poll_fn(|cx| std::task::Poll::Ready(f.as_mut().poll(cx).is_ready())).await
}

/// How long an idle worker waits before it looks at the log again.
const IDLE: Duration = Duration::from_millis(20);
/// How often a worker removes old delivered jobs.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Rounds of deliveries until `stop` is set (or, with `once`, until no job
/// is ready); returns how many jobs it handled.
pub fn deliver(
    store: &Store,
    home: &ForgeHome,
    consumers: &Consumers,
    stop: &AtomicBool,
    once: bool,
) -> Result<usize> {
    forge_notify::background_priority();
    let settings = &consumers.webhooks;
    let mail = match &consumers.mail {
        Some(m) => {
            // Mail starts with what happens from now on: a home's past is
            // not mailed the first time mail is set up.
            queue::start_at_end(store, notify::CONSUMER, queue::now_ms())?;
            Some((
                m,
                notify::Mailer::new(&m.relay, notify::SENDERS)?,
                Keys::open(home)?,
                queue::Stores::new(&home.db_path()),
            ))
        }
        None => None,
    };
    let owner = format!(
        "worker-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    );
    let hooks = Webhooks::new(store, home);
    let mut total = 0;
    let mut failures = 0u32;
    let mut pruned: Option<std::time::Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        // Now and then, delivered jobs older than a week go.
        if pruned.is_none_or(|at| at.elapsed() > PRUNE_EVERY) {
            pruned = Some(std::time::Instant::now());
            let before = queue::now_ms() - queue::KEEP_DONE.as_millis() as i64;
            if let Err(e) = queue::prune_done(store, before) {
                eprintln!("forge: pruning delivered jobs failed ({e}); trying again later");
            }
        }
        let round = || -> Result<usize> {
            let mut handled = outbox::run_once(store, &hooks, &owner, settings, 64, stop)?;
            handled += ci::run_once(store, home, &owner, &consumers.ci, 64, stop)?;
            handled += github::run_once(store, home, &owner, &consumers.github, 64, stop)?;
            match &mail {
                Some((m, mailer, keys, stores)) => {
                    handled +=
                        notify::run_once(store, home, keys, mailer, stores, &owner, m, 64, stop)?;
                }
                None => notify::skip(store)?,
            }
            Ok(handled)
        };
        let handled = match round() {
            Ok(handled) => {
                failures = 0;
                handled
            }
            // A busy or unreadable database: nothing is lost (the jobs
            // stay in the queue); try again after a while, saying why.
            Err(e) if !once => {
                failures += 1;
                let pause = Duration::from_millis(200 << failures.min(7));
                eprintln!(
                    "forge: a delivery round failed ({e}); trying again in {} ms",
                    pause.as_millis()
                );
                std::thread::sleep(pause);
                continue;
            }
            Err(e) => return Err(e),
        };
        total += handled;
        if handled == 0 {
            if once {
                break;
            }
            // Idle: a look at the log every IDLE (two cheap reads).
            std::thread::sleep(IDLE);
        }
    }
    Ok(total)
}
