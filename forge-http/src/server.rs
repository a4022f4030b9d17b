//! The HTTP/1.1 server: accepting, limits, timeouts, logs, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use forge_core::ForgeHome;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::api::{self, ApiCall, ApiError};

/// Limits and timeouts of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted (413 past it).
    pub max_body: usize,
    /// Largest request head (request line and headers) accepted.
    pub max_head: usize,
    /// Longest time a request may take before the client gets a 503.
    pub request_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// How many API requests run at once, each on a thread of its own with
    /// its own database connection (more wait their turn): a few per core
    /// keeps the threads' caches warm and the cores busy without thrashing.
    pub workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body: 1 << 20,
            max_head: 64 << 10,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            workers: std::thread::available_parallelism().map_or(4, |n| n.get() * 4),
        }
    }
}

/// What every request handler shares: the forge home and the limits.
#[derive(Debug)]
pub struct App {
    /// The forge home served.
    pub home: ForgeHome,
    /// Limits and timeouts.
    pub config: ServerConfig,
    /// The forge executable the git hooks of new projects and forks call
    /// (`None`: create them without hooks).
    pub hooks_exe: Option<std::path::PathBuf>,
    /// Permits for API requests running at once (`config.workers`).
    workers: Arc<tokio::sync::Semaphore>,
    /// Counts and rendered issues kept between requests.
    pub(crate) caches: crate::cache::Caches,
    /// Ticket writes waiting for their batch (group commit).
    pub(crate) writes: crate::queue::WriteQueues,
}

impl App {
    /// An app serving `home` with `config`; projects and forks created
    /// through it get hooks calling `hooks_exe`.
    pub fn new(
        home: ForgeHome,
        config: ServerConfig,
        hooks_exe: Option<std::path::PathBuf>,
    ) -> Arc<App> {
        Arc::new(App {
            home,
            workers: Arc::new(tokio::sync::Semaphore::new(config.workers.max(1))),
            caches: Default::default(),
            writes: Default::default(),
            config,
            hooks_exe,
        })
    }
}

/// The body of every response: a buffer, or git's output as it comes.
pub type ResBody = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

type Body = ResBody;

/// A whole body from bytes.
pub fn full(bytes: Bytes) -> ResBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A JSON error answer.
pub fn error_response(status: u16, message: &str) -> Response<ResBody> {
    let err = ApiError::new(status, "EINVALIDREQ", message);
    json_response(err.status, &err.body())
}

fn bytes_response(status: u16, body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(full(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    bytes_response(status, crate::api::to_bytes(body))
}

/// Answers one request: the router every frontend (tests in-process, the
/// server on a port) goes through.
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(String::from)
    };
    let host = header(HOST).unwrap_or_else(|| "localhost".into());
    if !path.starts_with("/api/") {
        let resp = match crate::git::split_git_path(&path) {
            Some((repo, rest)) => crate::git::serve_git(app.clone(), req, repo, rest).await,
            None => {
                let err = ApiError::new(404, "ENOENDPOINT", "not found");
                json_response(err.status, &err.body())
            }
        };
        return log(&method, &path, start, resp);
    }
    let call_head = (
        req.uri().query().map(String::from),
        header(AUTHORIZATION),
        header(CONTENT_TYPE),
    );
    let body = match Limited::new(req.into_body(), app.config.max_body)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            let err = if e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                ApiError::new(
                    413,
                    "EINVALIDREQ",
                    format!("the request body is over {} bytes", app.config.max_body),
                )
            } else {
                ApiError::new(400, "EINVALIDREQ", "the request body could not be read")
            };
            return log(
                &method,
                &path,
                start,
                json_response(err.status, &err.body()),
            );
        }
    };
    let (query, auth, content_type) = call_head;
    let call = ApiCall {
        method: method.clone(),
        path: path.clone(),
        query,
        auth,
        content_type,
        body,
        base_url: format!("http://{host}"),
    };
    let worker = {
        let app = app.clone();
        async move {
            // The permit goes with the work: a request past its time
            // still holds it until its thread is done.
            let permit = app.workers.clone().acquire_owned().await;
            let app = app.clone();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                api::dispatch(&app, &call)
            })
            .await
        }
    };
    let resp = match tokio::time::timeout(app.config.request_timeout, worker).await {
        Ok(Ok((status, body))) => bytes_response(status, body),
        // A panic in one request is that request's 500, not the server's end.
        Ok(Err(_)) => {
            let err = ApiError::new(
                500,
                "EINVALIDREQ",
                "internal error while handling the request",
            );
            json_response(err.status, &err.body())
        }
        Err(_) => {
            let err = ApiError::new(503, "EINVALIDREQ", "the request took too long");
            json_response(err.status, &err.body())
        }
    };
    log(&method, &path, start, resp)
}

/// One structured line per request; never the Authorization header or a body.
fn log(method: &str, path: &str, start: Instant, resp: Response<Body>) -> Response<Body> {
    tracing::info!(
        method,
        path,
        status = resp.status().as_u16(),
        micros = start.elapsed().as_micros() as u64,
        "request"
    );
    resp
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish (up to the configured grace period).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let max_head = app.config.max_head.max(8192);
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(handle(app, req).await) }
                });
                let conn = http1::Builder::new()
                    .keep_alive(true)
                    .max_buf_size(max_head)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(app.config.shutdown_grace) => {
            tracing::warn!("requests still running after the grace period; stopping anyway");
        }
    }
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
