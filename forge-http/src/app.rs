//! The whole service as one value: [`app`] builds it from a forge home, and
//! [`App::handle`] answers one request — what the server does for each
//! connection, and what tests call in process, without a socket.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use forge_core::{ForgeHome, Store};
use forge_tickets::GroupCommit;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE, HOST, RETRY_AFTER};
use hyper::{Request, Response, StatusCode};

use crate::error::ApiError;
use crate::extract::{ApiCall, Ctx};

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
    /// The URL links start with (`[server] public_url`); `None`: `http://`
    /// and the request's `Host`.
    pub public_url: Option<String>,
    /// Where people clone over SSH (`[server] ssh_url`), if anywhere.
    pub ssh_url: Option<String>,
    /// How many API requests run at once, each on a thread of its own with
    /// its own database connection (more wait their turn): a few per core
    /// keeps the threads' caches warm and the cores busy without thrashing.
    pub workers: usize,
    /// Whether webhook targets may be loopback or private addresses
    /// (`[webhooks] allow_private_targets`).
    pub webhooks_allow_private: bool,
    /// How often an idle live stream gets a comment, so that proxies keep
    /// it open.
    pub sse_heartbeat: Duration,
    /// Live streams open at once (more get a 503).
    pub max_streams: usize,
    /// Whether `/metrics` is served on the main listener too (it always is
    /// on the admin listener, [`crate::serve_admin`]).
    pub metrics_on_main: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body: 1 << 20,
            max_head: 64 << 10,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            public_url: None,
            ssh_url: None,
            workers: std::thread::available_parallelism().map_or(4, |n| n.get() * 4),
            webhooks_allow_private: false,
            sse_heartbeat: Duration::from_secs(15),
            max_streams: 20_000,
            metrics_on_main: false,
        }
    }
}

/// What every request shares: the forge home, the limits, the caches and
/// the group commit of writes.
#[derive(Debug)]
pub struct App {
    /// The forge home served.
    pub home: ForgeHome,
    /// Limits and timeouts.
    pub config: ServerConfig,
    /// The forge executable the git hooks of new projects and forks call
    /// (`None`: create them without hooks).
    pub hooks_exe: Option<PathBuf>,
    /// Permits for API requests running at once (`config.workers`).
    pub(crate) workers: Arc<tokio::sync::Semaphore>,
    /// Counts and rendered issues kept between requests.
    pub(crate) caches: crate::cache::Caches,
    /// Writes waiting for their batch.
    pub(crate) writes: GroupCommit,
    /// Live streams (Server-Sent Events).
    pub(crate) live: crate::live::Live,
    /// Requests counted for `/metrics`.
    pub(crate) metrics: crate::metrics::Metrics,
}

/// Builds the whole service for `home`: projects and forks created through
/// it get hooks calling `hooks_exe`.
pub fn app(home: ForgeHome, config: ServerConfig, hooks_exe: Option<PathBuf>) -> Arc<App> {
    Arc::new(App {
        home,
        workers: Arc::new(tokio::sync::Semaphore::new(config.workers.max(1))),
        caches: Default::default(),
        writes: Default::default(),
        live: Default::default(),
        metrics: Default::default(),
        config,
        hooks_exe,
    })
}

impl App {
    /// Live streams (Server-Sent Events) open now.
    pub fn live_streams(&self) -> usize {
        self.live.open_streams()
    }

    /// The same as [`app`].
    pub fn new(home: ForgeHome, config: ServerConfig, hooks_exe: Option<PathBuf>) -> Arc<App> {
        app(home, config, hooks_exe)
    }
}

/// The body of every response: a buffer, or git's output as it comes.
pub type ResBody = http_body_util::combinators::UnsyncBoxBody<Bytes, std::io::Error>;

/// A whole body from bytes.
pub fn full(bytes: Bytes) -> ResBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A JSON answer.
pub(crate) fn json_response(status: u16, body: Bytes) -> Response<ResBody> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// An error answer (with `Retry-After` when it says when).
pub fn error_response(err: &ApiError) -> Response<ResBody> {
    let mut resp = json_response(err.status, to_bytes(&err.body()).into());
    if let Some(seconds) = err.retry_after {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(allow) = err.allow {
        resp.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
    }
    resp
}

/// JSON text with a final newline.
pub(crate) fn to_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut text = serde_json::to_vec(value).unwrap_or_default();
    text.push(b'\n');
    text
}

/// What an endpoint answers: a status and the JSON text (shared bytes: a
/// kept answer goes out without a copy).
pub(crate) type Answer = Result<(u16, Bytes), ApiError>;

/// An answer of `value` with status 200.
pub(crate) fn ok<T: serde::Serialize>(value: &T) -> Answer {
    Ok((200, to_bytes(value).into()))
}

thread_local! {
    /// One SQLite connection per forge home per worker thread.
    static STORES: RefCell<HashMap<PathBuf, Store>> = RefCell::new(HashMap::new());
}

/// Runs `f` with this worker thread's connection to the home's database,
/// opened on first use.
pub(crate) fn with_store<T>(
    app: &App,
    f: impl FnOnce(&Store) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let db = app.home.db_path();
    STORES.with(|stores| {
        let mut stores = stores.borrow_mut();
        if !stores.contains_key(&db) {
            let store = Store::open(&db).map_err(ApiError::internal)?;
            stores.insert(db.clone(), store);
        }
        let store = stores
            .get(&db)
            .ok_or_else(|| ApiError::internal("no store"))?;
        f(store)
    })
}

/// What a worker made: an API answer or a page.
enum Served {
    Json(u16, Bytes),
    Page(crate::web::Page),
}

/// Answers one API call on this thread: a status and a JSON body.
pub fn dispatch(app: &App, call: &ApiCall) -> Result<(u16, Bytes), ApiError> {
    with_store(app, |store| {
        let ctx = Ctx::new(app, store, call)?;
        match call.path.strip_prefix("/hooks/") {
            Some(rest) => crate::hooks::receive(&ctx, rest),
            None => crate::router::route(&ctx),
        }
    })
}

/// One line per request on the log: never a token or a body.
fn log_request(
    site: &str,
    method: &hyper::Method,
    path: &str,
    resp: &Response<ResBody>,
    start: Instant,
) {
    tracing::info!(
        site,
        method = method.as_str(),
        path,
        status = resp.status().as_u16(),
        micros = start.elapsed().as_micros() as u64,
        "request"
    );
}

impl App {
    /// Answers one request: git over HTTP, or the API. A panic in one
    /// request is that request's 500; a request past its time is a 503.
    pub async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<ResBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display + Send,
    {
        let start = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let resp = self.clone().answer(req).await;
        log_request("app", &method, &path, &resp, start);
        self.metrics.observe(
            method.as_str(),
            &path,
            resp.status().as_u16(),
            start.elapsed(),
        );
        resp
    }

    /// Answers one request to the admin listener: `/healthz`, `/readyz`
    /// and `/metrics`, nothing else.
    pub async fn handle_admin<B>(self: Arc<Self>, req: Request<B>) -> Response<ResBody> {
        let path = req.uri().path().to_string();
        let known = matches!(*req.method(), hyper::Method::GET | hyper::Method::HEAD);
        let answer = match known {
            true => crate::metrics::answer(&self, &path, true).await,
            false => None,
        };
        answer.unwrap_or_else(|| {
            error_response(&ApiError::new(
                404,
                "ENOENDPOINT",
                "the admin listener serves /healthz, /readyz and /metrics",
            ))
        })
    }

    /// Answers one request to the docs listener (`crate::docs`): its
    /// body and cookies are never read.
    pub async fn handle_docs<B>(self: Arc<Self>, req: Request<B>) -> Response<ResBody> {
        let start = Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let resp = {
            let (app, method, path) = (self.clone(), method.to_string(), path.clone());
            tokio::task::spawn_blocking(move || crate::docs::answer(&app, &method, &path))
                .await
                .unwrap_or_else(|_| {
                    error_response(&ApiError::internal("the docs request panicked"))
                })
        };
        log_request("docs", &method, &path, &resp, start);
        resp
    }

    async fn answer<B>(self: Arc<Self>, req: Request<B>) -> Response<ResBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display + Send,
    {
        let path = req.uri().path().to_string();
        if let Some(resp) = crate::web::static_file(&path) {
            return resp;
        }
        if matches!(*req.method(), hyper::Method::GET | hyper::Method::HEAD) {
            let metrics = self.config.metrics_on_main;
            if let Some(resp) = crate::metrics::answer(&self, &path, metrics).await {
                return resp;
            }
        }
        // Git over HTTP, then the API and the webhooks coming in; every
        // other path is a page.
        let hook = path.starts_with("/hooks/");
        let web = !path.starts_with("/api/") && !hook;
        if web {
            if let Some((repo, rest)) = crate::git::split_git_path(&path) {
                return crate::git::serve_git(self, req, repo, rest).await;
            }
        }
        let failed = |err: &ApiError| match web {
            true => crate::web::error_response(err),
            false => error_response(err),
        };
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(String::from)
        };
        let host = header(HOST).unwrap_or_else(|| "localhost".into());
        let peer = req
            .extensions()
            .get::<crate::server::Peer>()
            .map(|p| p.0.ip().to_string())
            .unwrap_or_default();
        let secure = self
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
            || header(hyper::header::HeaderName::from_static("x-forwarded-proto"))
                .is_some_and(|p| p.eq_ignore_ascii_case("https"));
        let cookie = if web {
            header(hyper::header::COOKIE)
        } else {
            None
        };
        let (query, auth, content_type) = (
            req.uri().query().map(String::from),
            header(AUTHORIZATION),
            header(CONTENT_TYPE),
        );
        let method = req.method().as_str().to_string();
        let stream = crate::live::may_be_stream(&method, &path);
        let last_event_id = header(hyper::header::HeaderName::from_static("last-event-id"));
        let github = if hook {
            ["x-github-event", "x-github-delivery", "x-hub-signature-256"]
                .map(|name| header(hyper::header::HeaderName::from_static(name)))
        } else {
            [None, None, None]
        };
        let body = match Limited::new(req.into_body(), self.config.max_body)
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
                        format!("the request body is over {} bytes", self.config.max_body),
                    )
                } else {
                    ApiError::new(400, "EINVALIDREQ", "the request body could not be read")
                };
                return failed(&err);
            }
        };
        let call = ApiCall {
            method,
            path,
            query,
            auth,
            content_type,
            body,
            base_url: match &self.config.public_url {
                Some(url) => url.clone(),
                None => format!("http://{host}"),
            },
            cookie,
            peer,
            secure,
            github,
        };
        if stream {
            let last =
                match crate::live::last_event_id(last_event_id.as_deref(), call.query.as_deref()) {
                    Ok(last) => last,
                    Err(e) => return failed(&e),
                };
            match crate::live::answer(self.clone(), call.clone(), last).await {
                Some(Ok(resp)) => return resp,
                Some(Err(e)) => return failed(&e),
                None => {}
            }
        }
        let app = self.clone();
        let worker = async move {
            // The permit goes with the work: a request past its time
            // still holds it until its thread is done.
            let permit = app.workers.clone().acquire_owned().await;
            let app = app.clone();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                if web {
                    Ok(Served::Page(crate::web::dispatch(&app, &call)))
                } else {
                    dispatch(&app, &call).map(|(status, body)| Served::Json(status, body))
                }
            })
            .await
        };
        match tokio::time::timeout(self.config.request_timeout, worker).await {
            Ok(Ok(Ok(Served::Page(page)))) => crate::web::response(page),
            Ok(Ok(Ok(Served::Json(status, body)))) => json_response(status, body),
            Ok(Ok(Err(err))) => failed(&err),
            // A panic in one request is that request's 500, not the server's end.
            Ok(Err(_)) => failed(&ApiError::internal("a request handler panicked")),
            Err(_) => failed(&ApiError {
                retry_after: Some(1),
                ..ApiError::new(503, "EINVALIDREQ", "the request took too long")
            }),
        }
    }
}
