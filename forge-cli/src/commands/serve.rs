//! `forge serve`: the HTTP server on the forge home.

use anyhow::{Context as _, Result};

use crate::context::Ctx;

pub fn run(bind: &str, ctx: &Ctx) -> Result<()> {
    ctx.home_store()?; // the home must exist
    let home = ctx.home()?.clone();
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("listening on {bind}"))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "forge: serving {} on http://{addr} (Ctrl-C to stop)",
            home.root().display()
        );
        let exe = std::env::current_exe().ok();
        let app = forge_http::App::new(home, forge_http::ServerConfig::default(), exe);
        forge_http::serve(listener, app, forge_http::shutdown_signal()).await?;
        eprintln!("forge: stopped");
        Ok(())
    })
}
