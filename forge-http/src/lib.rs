//! forge's HTTP server: Pagure's REST API v0 on tokio and hyper 1.
//!
//! [`handle`] answers one request (tests call it in-process); [`serve`] runs
//! it on a listener until a shutdown future completes, then lets requests in
//! flight finish. The handlers call the same library functions as the CLI.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let app = forge_http::App::new(forge_core::ForgeHome::new("forge-data"), Default::default(), None);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! forge_http::serve(listener, app, forge_http::shutdown_signal()).await
//! # }
//! ```

#![recursion_limit = "256"]

mod api;
mod cache;
mod git;
mod queue;
mod server;

pub use api::{ApiCall, ApiError, ERROR_CODES};
pub use server::{handle, serve, shutdown_signal, App, ResBody, ServerConfig};
