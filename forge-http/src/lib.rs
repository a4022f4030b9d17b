//! forge's HTTP server: Pagure's REST API v0 and git over smart HTTP, on
//! tokio and hyper 1.
//!
//! [`app`] builds the whole service for a forge home; [`App::handle`]
//! answers one request (tests call it in process, without a socket);
//! [`serve`] runs it on a listener until a shutdown future completes, then
//! lets requests in flight finish. Endpoints live by resource (`projects`,
//! `issues`, `pulls`, `users`, `git`), call the same library functions as
//! the CLI, and map errors to statuses in one place ([`ApiError`]).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let app = forge_http::app(forge_core::ForgeHome::new("forge-data"), Default::default(), None);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! forge_http::serve(listener, app, forge_http::shutdown_signal()).await
//! # }
//! ```

mod admin;
mod app;
mod cache;
mod ci;
mod docs;
mod error;
mod extract;
mod git;
mod hooks;
mod issues;
mod live;
mod metrics;
pub mod pagure;
mod projects;
mod pulls;
mod router;
mod search;
mod server;
mod users;
mod web;

pub use app::{app, dispatch, error_response, full, App, ResBody, ServerConfig};
pub use error::{ApiError, ERROR_CODES};
pub use extract::ApiCall;
pub use server::{serve, serve_admin, serve_docs, shutdown_signal};
