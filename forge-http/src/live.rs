//! Live updates: Server-Sent Events read from the event log.
//!
//! `GET /<repo>/issue/<n>/events`, `/<repo>/pull-request/<n>/events` and
//! `/api/0/<repo>/events` answer `text/event-stream`: each event of the log
//! as `id: <event id>` and `data: <the event as JSON>`. A client that comes
//! back with `Last-Event-ID` (what `EventSource` sends by itself) first
//! gets every event it missed, read from the log, then the live ones.
//!
//! One poller thread reads the log for the whole process (every few tens of
//! milliseconds, and only while a stream is open) and broadcasts each event
//! once, its SSE frame made once and shared by every stream. Each stream
//! keeps what its viewer may read: its project's events (for a non-member,
//! only those of issues, pull requests and git), the events of a private
//! issue only for whoever may read that issue. A stream that falls behind
//! the broadcast (a client that does not read) catches up from the log, so
//! memory stays bounded and no event is skipped.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use forge_core::event::{self, Event};
use forge_core::Store;
use forge_tickets::{Actor, IssueReaders};
use http_body::Frame;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use tokio::sync::broadcast;

use crate::app::{with_store, App, ResBody};
use crate::error::ApiError;
use crate::extract::{ApiCall, Ctx};

/// Events read from the log in one query.
const PAGE: usize = 500;
/// Messages the broadcast keeps for a stream that is slow to take them.
const BACKLOG: usize = 1024;
/// How often the poller looks at the log.
const POLL: Duration = Duration::from_millis(10);

/// What the poller broadcasts.
#[derive(Debug, Clone)]
enum Message {
    Event(Arc<LiveEvent>),
    Heartbeat,
    Closing,
}

/// An event with what filtering it needs, and its frame made once.
#[derive(Debug)]
struct LiveEvent {
    id: i64,
    project: String,
    kind: String,
    issue: Option<u64>,
    /// Who may read it, for an event of a private issue.
    readers: Option<IssueReaders>,
    frame: Bytes,
}

/// The live streams of one process.
#[derive(Debug)]
pub(crate) struct Live {
    tx: broadcast::Sender<Message>,
    /// Whether the poller runs.
    polling: Mutex<bool>,
    /// Streams open now.
    open: AtomicUsize,
    /// Set at shutdown: streams end, none opens.
    closing: AtomicBool,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            tx: broadcast::channel(BACKLOG).0,
            polling: Mutex::new(false),
            open: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
        }
    }
}

impl Live {
    /// Streams open now.
    pub(crate) fn open_streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Ends every stream (the server is stopping) and refuses new ones.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        let _ = self.tx.send(Message::Closing);
    }
}

/// Loads up to [`PAGE`] events after `since` (of `project`, or all), with
/// the readers of those of private issues.
fn load(store: &Store, since: i64, project: Option<&str>) -> forge_core::Result<Vec<LiveEvent>> {
    let events = event::list(store.conn(), project, since, PAGE)?;
    let mut readers: HashMap<(String, u64), Option<IssueReaders>> = HashMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let private = match e.issue {
            Some(n) if e.kind.starts_with("issue.") => {
                let key = (e.project.clone(), n);
                if !readers.contains_key(&key) {
                    let found = IssueReaders::lookup(store, &e.project, n)
                        .map_err(|err| forge_core::Error::invalid("issue", err.to_string()))?;
                    readers.insert(key.clone(), found.filter(|r| r.private));
                }
                readers.get(&key).cloned().flatten()
            }
            _ => None,
        };
        out.push(live_event(e, private));
    }
    Ok(out)
}

fn live_event(e: Event, readers: Option<IssueReaders>) -> LiveEvent {
    let data = serde_json::to_string(&e).unwrap_or_default();
    LiveEvent {
        frame: Bytes::from(format!("id: {}\ndata: {data}\n\n", e.id)),
        id: e.id,
        issue: e.issue,
        project: e.project,
        kind: e.kind,
        readers,
    }
}

/// Subscribes to the broadcast, starting the poller if it is not running.
/// A new poller broadcasts what follows event `seen` (the newest event
/// when the stream was opened): what came before is the stream's replay,
/// read after this subscription, so nothing falls between the two.
fn subscribe(app: &Arc<App>, seen: i64) -> broadcast::Receiver<Message> {
    let live = &app.live;
    let mut polling = live.polling.lock().unwrap_or_else(|p| p.into_inner());
    let rx = live.tx.subscribe();
    if !*polling {
        *polling = true;
        let app = app.clone();
        std::thread::spawn(move || poll(&app, seen));
    }
    rx
}

/// The poller: broadcasts each new event of the log, and a heartbeat now
/// and then; ends when no stream listens.
fn poll(app: &App, seen: i64) {
    let live = &app.live;
    let stop = || {
        let mut polling = live.polling.lock().unwrap_or_else(|p| p.into_inner());
        if live.tx.receiver_count() == 0 || live.closing.load(Ordering::Relaxed) {
            *polling = false;
            true
        } else {
            false
        }
    };
    let store = match Store::open(&app.home.db_path()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "live updates: the database cannot be opened");
            let _ = stop();
            return;
        }
    };
    let mut last = seen;
    let mut beat = Instant::now();
    loop {
        if stop() {
            return;
        }
        let mut full = false;
        match load(&store, last, None) {
            Ok(events) => {
                full = events.len() == PAGE;
                for e in events {
                    last = e.id;
                    let _ = live.tx.send(Message::Event(Arc::new(e)));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "live updates: reading the event log failed");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        if beat.elapsed() >= app.config.sse_heartbeat {
            beat = Instant::now();
            let _ = live.tx.send(Message::Heartbeat);
        }
        if !full {
            std::thread::sleep(POLL);
        }
    }
}

/// What one stream shows: one project's events, or one item's, as its
/// viewer may read them.
#[derive(Debug)]
struct Filter {
    project: String,
    /// `("issue.", n)` or `("pr.", n)`: that item's events only.
    item: Option<(&'static str, u64)>,
    viewer: Actor,
}

/// The kinds of event a project's non-members see in its stream.
const PUBLIC_KINDS: &[&str] = &["issue.", "pr.", "git."];

impl Filter {
    fn admits(&self, e: &LiveEvent) -> bool {
        if e.project != self.project {
            return false;
        }
        let wanted = match self.item {
            Some((prefix, n)) => e.kind.starts_with(prefix) && e.issue == Some(n),
            None => {
                self.viewer.role.is_some() || PUBLIC_KINDS.iter().any(|k| e.kind.starts_with(k))
            }
        };
        wanted && e.readers.as_ref().is_none_or(|r| r.admit(&self.viewer))
    }
}

/// Whether a path may be a stream's (the rest is decided by [`open`]).
pub(crate) fn may_be_stream(method: &str, path: &str) -> bool {
    method == "GET" && path.ends_with("/events")
}

/// Decides whether `call` opens a stream, and for whom: `None` when the
/// path is not a stream's after all (a project named `events`); an error
/// when the viewer may not read what it names.
fn open(
    app: &App,
    call: &ApiCall,
    last_event_id: Option<i64>,
) -> Result<Option<(Filter, i64, i64)>, ApiError> {
    with_store(app, |store| {
        let mut ctx = Ctx::new(app, store, call)?;
        let web = !call.path.starts_with("/api/");
        let segs = if web {
            if let Some(s) = crate::web::session::current(&ctx)? {
                ctx = ctx.signed_in(s);
            }
            let path = call.path.strip_prefix('/').unwrap_or(&call.path);
            crate::router::decode_segments(path).map_err(|_| crate::web::not_found())?
        } else {
            crate::router::segments(&call.path)?
        };
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let (at, rest) = crate::router::locate(&ctx, &s)?;
        if at.fork.is_some() {
            return Ok(None);
        }
        let number = |n: &str| n.parse::<u64>().map_err(|_| crate::web::not_found());
        let item = match (web, rest) {
            (true, ["issue", n, "events"]) => {
                let n = number(n)?;
                let tracker =
                    forge_tickets::Tracker::open_for_project(store, &app.home, &at.project)?;
                tracker.issue(&at.actor, n)?;
                Some(("issue.", n))
            }
            (true, ["pull-request", n, "events"]) => {
                let n = number(n)?;
                let prs = forge_tickets::PullRequests::open(store, &app.home, &at.project)?;
                prs.show(&at.actor, n)?;
                Some(("pr.", n))
            }
            (false, ["events"]) => None,
            _ => return Ok(None),
        };
        let newest = event::last_id(store.conn())?;
        Ok(Some((
            Filter {
                project: at.project.full_name.clone(),
                item,
                viewer: at.actor,
            },
            last_event_id.unwrap_or(newest),
            newest,
        )))
    })
}

/// The `Last-Event-ID` a reconnecting client sends (or `?last_event_id=`).
pub(crate) fn last_event_id(
    header: Option<&str>,
    query: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    let from_query = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("last_event_id="))
    });
    match header.or(from_query) {
        None => Ok(None),
        Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
            ApiError::new(
                400,
                "EINVALIDREQ",
                format!(
                    "Last-Event-ID `{}` is not an event id",
                    text.chars().take(40).collect::<String>()
                ),
            )
        }),
    }
}

/// Answers a stream's request: `None` when the path is not a stream's.
pub(crate) async fn answer(
    app: Arc<App>,
    call: ApiCall,
    last_event_id: Option<i64>,
) -> Option<Result<Response<ResBody>, ApiError>> {
    let opened = blocking(&app, move |app| open(app, &call, last_event_id)).await;
    let (filter, since, newest) = match opened {
        Ok(Some(found)) => found,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    let live = &app.live;
    if live.closing.load(Ordering::Relaxed)
        || live.open.load(Ordering::Relaxed) >= app.config.max_streams
    {
        return Some(Err(ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                503,
                "EINVALIDREQ",
                "too many live streams are open; try again later",
            )
        }));
    }
    let rx = subscribe(&app, newest);
    live.open.fetch_add(1, Ordering::Relaxed);
    let hello = format!("retry: 3000\n: forge live updates from event {since}\n\n");
    let body = SseBody {
        ready: VecDeque::from([Bytes::from(hello)]),
        sent: since,
        rx: Some(rx),
        state: State::Replaying(replay_page(&app, &filter, since)),
        filter: Arc::new(filter),
        _open: OpenStream(app.clone()),
        app,
    };
    let mut resp = Response::new(http_body_util::BodyExt::boxed_unsync(body));
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Some(Ok(resp))
}

/// Runs `f` on a thread of the request pool, with one of the permits the
/// API's requests take: ten thousand streams opening at once wait their
/// turn instead of starting a thread (and a database connection) each.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = app.workers.clone().acquire_owned().await;
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&app)
    })
    .await
    .unwrap_or_else(|_| Err(ApiError::internal("a live stream's database read panicked")))
}

/// Counts a stream as open until it ends.
struct OpenStream(Arc<App>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.live.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a stream waits for.
type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A page of the log read for a stream: its events and whether more follow.
type Page = Result<(Vec<LiveEvent>, bool), ApiError>;

enum State {
    /// Reading the log after `sent` (at the start, and after falling
    /// behind the broadcast).
    Replaying(Pending<Page>),
    /// Waiting for the broadcast's next message.
    Live(
        Pending<(
            Result<Message, broadcast::error::RecvError>,
            broadcast::Receiver<Message>,
        )>,
    ),
    Done,
}

/// One stream, as its response body: what was missed since it started,
/// from the log, then the live events, until the client goes (hyper drops
/// the body) or the server stops. No task of its own: it does its work
/// when hyper asks for the next frame, so a client that does not read
/// costs nothing but its place in the broadcast.
struct SseBody {
    app: Arc<App>,
    filter: Arc<Filter>,
    /// The last event id read (sent or not for this viewer).
    sent: i64,
    /// Frames to send before anything else.
    ready: VecDeque<Bytes>,
    /// The subscription, while no receive holds it.
    rx: Option<broadcast::Receiver<Message>>,
    state: State,
    _open: OpenStream,
}

fn replay_page(app: &Arc<App>, filter: &Filter, since: i64) -> Pending<Page> {
    let (app, project) = (app.clone(), filter.project.clone());
    Box::pin(async move {
        blocking(&app, move |app| {
            with_store(app, |store| {
                let events = load(store, since, Some(&project))?;
                let full = events.len() == PAGE;
                Ok((events, full))
            })
        })
        .await
    })
}

fn receive(mut rx: broadcast::Receiver<Message>) -> State {
    State::Live(Box::pin(async move {
        let got = rx.recv().await;
        (got, rx)
    }))
}

impl http_body::Body for SseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        loop {
            if let Some(frame) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(Frame::data(frame))));
            }
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Replaying(page) => {
                    let (events, full) = match ready!(page.as_mut().poll(cx)) {
                        Ok(found) => found,
                        Err(e) => {
                            tracing::warn!(error = %e.message, "live updates: reading the event log failed");
                            this.state = State::Done;
                            continue;
                        }
                    };
                    for e in events {
                        this.sent = e.id;
                        if this.filter.admits(&e) {
                            this.ready.push_back(e.frame.clone());
                        }
                    }
                    this.state = match (full, this.rx.take()) {
                        (true, rx) => {
                            this.rx = rx;
                            State::Replaying(replay_page(&this.app, &this.filter, this.sent))
                        }
                        (false, Some(rx)) => receive(rx),
                        (false, None) => State::Done,
                    };
                }
                State::Live(next) => {
                    let (got, rx) = ready!(next.as_mut().poll(cx));
                    this.state = match got {
                        Ok(Message::Event(e)) => {
                            if e.id > this.sent {
                                this.sent = e.id;
                                if this.filter.admits(&e) {
                                    this.ready.push_back(e.frame.clone());
                                }
                            }
                            receive(rx)
                        }
                        Ok(Message::Heartbeat) => {
                            this.ready.push_back(Bytes::from_static(b": ping\n\n"));
                            receive(rx)
                        }
                        Ok(Message::Closing) | Err(broadcast::error::RecvError::Closed) => {
                            State::Done
                        }
                        // Fell behind the broadcast: the log has what it
                        // dropped.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            this.rx = Some(rx);
                            State::Replaying(replay_page(&this.app, &this.filter, this.sent))
                        }
                    };
                }
            }
        }
    }
}
