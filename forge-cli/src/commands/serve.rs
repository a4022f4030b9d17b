//! `forge serve`: the HTTP server on the forge home.

use anyhow::{Context as _, Result};

use crate::context::Ctx;

pub fn run(bind: Option<&str>, docs_bind: Option<&str>, worker: bool, ctx: &Ctx) -> Result<()> {
    // The home must exist, and its database be sound: a damaged forge.db
    // is named at start, not at some request later.
    let problems = ctx.home_store()?.check_integrity(true)?;
    if let Some(first) = problems.first() {
        return Err(forge_core::Error::Damaged {
            path: ctx.home()?.db_path().display().to_string(),
            detail: format!("SQLite's check says: {first}"),
        }
        .into());
    }
    let home = ctx.home()?.clone();
    let config = forge_core::config::Config::load(&home.config_path())?;
    let consumers = super::worker::consumers(config.clone())?;
    let allow_private = consumers.webhooks.allow_private;
    let settings = config.server.with_env(|k| std::env::var(k).ok())?;
    let bind = bind
        .map(String::from)
        .unwrap_or_else(|| settings.bind.clone());
    let bind = bind.as_str();
    let docs_bind = docs_bind.map(String::from).or(settings.docs_bind.clone());
    let config = forge_http::ServerConfig {
        max_body: settings.max_body_bytes,
        request_timeout: std::time::Duration::from_secs(settings.request_timeout_secs.max(1)),
        public_url: settings.public_url.clone(),
        ssh_url: settings.ssh_url.clone(),
        webhooks_allow_private: allow_private,
        max_streams: settings.max_live_streams,
        metrics_on_main: settings.metrics_on_main,
        ..Default::default()
    };
    // Webhooks and notification mails are delivered from this process by
    // default, on a thread of its own with its own connection: nothing in
    // a request waits for one.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deliveries = if worker {
        let (home, stop) = (home.clone(), stop.clone());
        Some(std::thread::spawn(move || -> Result<usize> {
            let store = forge_core::Store::open(&home.db_path())?;
            super::worker::deliver(&store, &home, &consumers, &stop, false)
        }))
    } else {
        None
    };
    let runtime = server_runtime()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("listening on {bind}"))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "forge: serving {} on http://{addr} (Ctrl-C to stop)",
            home.root().display()
        );
        let docs = listen_too(docs_bind.as_deref(), "docs", "public projects' docs").await?;
        let admin = listen_too(
            settings.admin_bind.as_deref(),
            "admin",
            "/healthz, /readyz and /metrics",
        )
        .await?;
        let exe = std::env::current_exe().ok();
        let app = forge_http::App::new(home, config, exe);
        let docs = docs.map(|listener| {
            tokio::spawn(forge_http::serve_docs(
                listener,
                app.clone(),
                forge_http::shutdown_signal(),
            ))
        });
        let admin = admin.map(|listener| {
            tokio::spawn(forge_http::serve_admin(
                listener,
                app.clone(),
                forge_http::shutdown_signal(),
            ))
        });
        forge_http::serve(listener, app, forge_http::shutdown_signal()).await?;
        if let Some(docs) = docs {
            docs.await.context("the docs server")??;
        }
        if let Some(admin) = admin {
            admin.await.context("the admin server")??;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(deliveries) = deliveries {
            match deliveries.join() {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("forge: webhook deliveries stopped: {e:#}"),
                Err(_) => eprintln!("forge: webhook deliveries stopped: the thread panicked"),
            }
        }
        eprintln!("forge: stopped");
        Ok(())
    })
}

/// What a long-running server command (`forge serve`, `forge milter`)
/// starts with: its log on standard error and the async runtime.
pub(super) fn server_runtime() -> Result<tokio::runtime::Runtime> {
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A listener beside the main one (`what`: docs, admin) at `at`, if
/// configured, saying what it serves.
async fn listen_too(
    at: Option<&str>,
    what: &str,
    serves: &str,
) -> Result<Option<tokio::net::TcpListener>> {
    let Some(at) = at else { return Ok(None) };
    let listener = tokio::net::TcpListener::bind(at)
        .await
        .with_context(|| format!("listening on {at} ({what})"))?;
    eprintln!(
        "forge: serving {serves} on http://{}",
        listener.local_addr()?
    );
    Ok(Some(listener))
}
