//! Pagure's REST API v0, answered with the same library calls as the CLI.
//!
//! Handlers run on blocking threads, each keeping its own SQLite connection
//! per forge home; they return a status and a JSON body, errors as
//! `{"error": "...", "error_code": "E..."}`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use bytes::Bytes;
use forge_core::project::Project;
use forge_core::role::Action;
use forge_core::token::Token;
use forge_core::Store;
use forge_git::MergeStrategy;
use forge_tickets::request::FlagStatus;
use forge_tickets::view::{FileDiffView, IssueDetails};
use forge_tickets::{
    Actor, IndexView, InlineTarget, IssueEdit, IssueFilter, NewFlag, NewIssue, NewPull, PullEdit,
    PullFilter, PullRequests, Tracker,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::server::App;

/// One request, as the API sees it.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// HTTP method.
    pub method: String,
    /// Path, still percent-encoded.
    pub path: String,
    /// Query string.
    pub query: Option<String>,
    /// The Authorization header.
    pub auth: Option<String>,
    /// The Content-Type header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
    /// `http://host` as the client named the server (for pagination links).
    pub base_url: String,
}

/// An error answer: status, Pagure error code, message, field errors.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Pagure's error code.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// Errors per form field.
    pub errors: Option<Value>,
}

impl ApiError {
    /// An error with no field errors.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: None,
        }
    }

    fn field(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            status: 400,
            code: "EINVALIDREQ",
            message: "Invalid or incomplete input submitted".into(),
            errors: Some(json!({ field: [message] })),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({"error": self.message, "error_code": self.code});
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }
}

/// Pagure's error codes and what they mean.
pub const ERROR_CODES: &[(&str, &str)] = &[
    (
        "EINVALIDTOK",
        "Invalid or expired token. Please visit the settings page to get a new token.",
    ),
    ("ENOPROJECT", "Project not found"),
    ("ENOISSUE", "Issue not found"),
    ("ENOREQ", "Pull-Request not found"),
    ("ENOCOMMENT", "Comment not found"),
    ("EINVALIDREQ", "Invalid or incomplete input submitted"),
    (
        "EPULLREQUESTSDISABLED",
        "Pull-Request have been deactivated for this project",
    ),
    (
        "ENOTHIGHENOUGH",
        "You do not have sufficient permissions to perform this action",
    ),
    (
        "EMERGECONFLICT",
        "This request does not apply cleanly and cannot be merged",
    ),
    ("ENOUSER", "User not found"),
    ("EISSUENOTALLOWED", "You are not allowed to view this issue"),
    (
        "ETRACKERDISABLED",
        "Issue tracker disabled for this project",
    ),
    ("ENOENDPOINT", "No such API endpoint"),
];

impl From<forge_core::Error> for ApiError {
    fn from(e: forge_core::Error) -> Self {
        use forge_core::Error as E;
        let message = e.to_string();
        match e {
            E::NotFound {
                kind: "project", ..
            } => ApiError::new(404, "ENOPROJECT", message),
            E::NotFound { kind: "user", .. } => ApiError::new(404, "ENOUSER", message),
            E::NotFound { .. } => ApiError::new(404, "EINVALIDREQ", message),
            E::PermissionDenied { .. } => ApiError::new(403, "ENOTHIGHENOUGH", message),
            E::InvalidToken => ApiError::new(401, "EINVALIDTOK", message),
            E::AlreadyExists { .. } | E::InvalidName { .. } | E::Invalid { .. } => {
                ApiError::new(400, "EINVALIDREQ", message)
            }
            _ => ApiError::new(500, "EINVALIDREQ", "internal error"),
        }
    }
}

impl From<forge_tickets::Error> for ApiError {
    fn from(e: forge_tickets::Error) -> Self {
        use forge_tickets::Error as E;
        let message = e.to_string();
        match e {
            E::Core(core) => core.into(),
            E::NoIssue { .. } => ApiError::new(404, "ENOISSUE", message),
            E::NoRequest { .. } => ApiError::new(404, "ENOREQ", message),
            E::NoComment { .. } => ApiError::new(404, "ENOCOMMENT", message),
            E::Anonymous => ApiError::new(401, "EINVALIDTOK", message),
            E::Gate { ref gate, .. } if gate == "conflicts" => {
                ApiError::new(409, "EMERGECONFLICT", message)
            }
            E::Gate { .. } => ApiError::new(403, "ENOTHIGHENOUGH", message),
            E::Git(_) | E::Document(_) | E::Refused { .. } => {
                ApiError::new(400, "EINVALIDREQ", message)
            }
            E::Sqlite(_) | E::Json(_) => ApiError::new(500, "EINVALIDREQ", "internal error"),
        }
    }
}

type ApiResult = Result<(u16, Value), ApiError>;

thread_local! {
    /// One SQLite connection per forge home per worker thread.
    static STORES: RefCell<HashMap<PathBuf, Store>> = RefCell::new(HashMap::new());
    /// Tickets repositories kept open per worker thread (opening one reads
    /// several config files; refs and objects are still read fresh), with the
    /// branch their HEAD named then.
    static REPOS: RefCell<HashMap<PathBuf, (std::rc::Rc<forge_git::Repo>, String)>> = RefCell::new(HashMap::new());
}

/// The tracker of a project, on a tickets repository kept open by this thread.
fn tracker<'s>(store: &'s Store, app: &App, project: &Project) -> Result<Tracker<'s>, ApiError> {
    let path = app.home.project_paths(&project.full_name).tickets;
    let cached = REPOS.with(|r| r.borrow().get(&path).cloned());
    let (repo, branch) = match cached {
        Some(open) => open,
        None => {
            let repo = forge_git::Repo::open(&path).map_err(forge_tickets::Error::from)?;
            let branch = repo.head_branch().map_err(forge_tickets::Error::from)?;
            let open = (std::rc::Rc::new(repo), branch);
            REPOS.with(|r| {
                let mut r = r.borrow_mut();
                if r.len() > 256 {
                    r.clear();
                }
                r.insert(path, open.clone());
            });
            open
        }
    };
    Ok(Tracker::with_repo(store, repo, branch, project))
}

/// What identifies a listing's result under the index state: project,
/// indexed commit, filters and viewer (order, limit and offset aside).
fn listing_key(
    project: &str,
    view: &IndexView<'_, '_>,
    viewer: &Actor,
    filter: &IssueFilter,
) -> String {
    format!(
        "{project}\u{0}{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}\u{0}{}",
        view.commit(),
        filter.status,
        filter.tag,
        filter.assignee,
        filter.author,
        filter.milestone,
        filter.priority,
        filter.since,
        viewer.username,
        viewer.role.is_some()
    )
}

/// Pages past this offset are cut from the whole listing, read once per
/// index state and kept: SQLite skips an offset row by row.
const DEEP_OFFSET: usize = 500;

/// One page of a listing: the numbers of its issues and how many match in
/// all. Counts are kept per index state; deep pages come from the whole
/// listing, kept likewise.
fn listing_page(
    app: &App,
    key: &str,
    view: &IndexView<'_, '_>,
    filter: &IssueFilter,
    page: impl FnOnce(u64) -> Result<(usize, usize), ApiError>,
) -> Result<(u64, Vec<u64>), ApiError> {
    let slice = |all: &[u64], per_page: usize, offset: usize| -> Vec<u64> {
        if filter.ascending {
            all.iter()
                .rev()
                .skip(offset)
                .take(per_page)
                .copied()
                .collect()
        } else {
            all.iter().skip(offset).take(per_page).copied().collect()
        }
    };
    if let Some(all) = app.caches.listing(key) {
        let (per_page, offset) = page(all.len() as u64)?;
        return Ok((all.len() as u64, slice(&all, per_page, offset)));
    }
    let total = match app.caches.count(key) {
        Some(n) => n,
        None => {
            let n = view.count(filter)?;
            app.caches.put_count(key.to_string(), n);
            n
        }
    };
    let (per_page, offset) = page(total)?;
    if offset < DEEP_OFFSET {
        let mut filter = filter.clone();
        filter.limit = per_page;
        filter.offset = offset;
        return Ok((total, view.numbers(&filter)?));
    }
    let mut whole = filter.clone();
    whole.ascending = false;
    whole.limit = usize::MAX >> 1;
    whole.offset = 0;
    let all: std::sync::Arc<[u64]> = view.numbers(&whole)?.into();
    app.caches.put_listing(key.to_string(), all.clone());
    Ok((all.len() as u64, slice(&all, per_page, offset)))
}

/// Answers one call: a status and a JSON body.
pub fn dispatch(app: &App, call: &ApiCall) -> (u16, Vec<u8>) {
    let result = with_store(app, |store| {
        let handler = Handler {
            app,
            store,
            call,
            names: RefCell::default(),
            prerendered: RefCell::default(),
        };
        let (status, value) = handler.route()?;
        Ok(match handler.prerendered.take() {
            Some(bytes) => (status, bytes),
            None => (status, to_bytes(&value)),
        })
    });
    match result {
        Ok(ok) => ok,
        Err(e) => (e.status, to_bytes(&e.body())),
    }
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
            let store = Store::open(&db).map_err(|e| {
                tracing::error!(error = %e, "opening the store");
                ApiError::new(500, "EINVALIDREQ", "the forge's database cannot be opened")
            })?;
            stores.insert(db.clone(), store);
        }
        let store = stores
            .get(&db)
            .ok_or_else(|| ApiError::new(500, "EINVALIDREQ", "no store"))?;
        f(store)
    })
}

pub(crate) fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let mut text = serde_json::to_vec(value).unwrap_or_default();
    text.push(b'\n');
    text
}

struct Handler<'a> {
    app: &'a App,
    store: &'a Store,
    call: &'a ApiCall,
    /// Full names by username, looked up once per request.
    names: RefCell<HashMap<String, String>>,
    /// An answer already serialized (the issue listing writes its JSON
    /// straight from typed structs); it replaces the returned value.
    prerendered: RefCell<Option<Vec<u8>>>,
}

/// The path segments after `/api/0/`, decoded; encoded slashes, `..` and
/// empty segments are refused.
fn segments(path: &str) -> Result<Vec<String>, ApiError> {
    let rest = path
        .strip_prefix("/api/0/")
        .ok_or_else(|| ApiError::new(404, "ENOENDPOINT", "no such API endpoint"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.split('/')
        .map(|s| {
            let decoded = percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map_err(|_| ApiError::new(400, "EINVALIDREQ", "the path is not UTF-8"))?;
            if decoded.is_empty()
                || decoded == "."
                || decoded == ".."
                || decoded.contains('/')
                || decoded.contains('\0')
            {
                return Err(ApiError::new(
                    400,
                    "EINVALIDREQ",
                    format!("invalid path segment `{s}`"),
                ));
            }
            Ok(decoded.into_owned())
        })
        .collect()
}

fn epoch(rfc3339: &str) -> String {
    forge_core::time::parse_rfc3339(rfc3339)
        .unwrap_or(0)
        .to_string()
}

impl Handler<'_> {
    fn route(&self) -> ApiResult {
        let segs = segments(&self.call.path)?;
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let m = self.call.method.as_str();
        match (m, s.as_slice()) {
            ("GET", ["version"]) => Ok((200, json!({"version": env!("CARGO_PKG_VERSION")}))),
            ("GET", ["error_codes"]) => Ok((
                200,
                Value::Object(
                    ERROR_CODES
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v)))
                        .collect(),
                ),
            )),
            ("GET" | "POST", ["-", "whoami"]) => {
                let token = self
                    .token()?
                    .ok_or_else(|| ApiError::new(401, "EINVALIDTOK", "a token is needed"))?;
                Ok((200, json!({"username": token.user})))
            }
            ("GET", ["users"]) => {
                let users = self.store.list_users()?;
                let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
                Ok((200, json!({"total_users": names.len(), "users": names})))
            }
            ("GET", ["user", name]) => {
                let user = self.store.user(name)?;
                let viewer = self.viewer_name()?;
                let mut repos = Vec::new();
                for p in self.store.list_projects()? {
                    if p.owner == user.username && self.visible(&p, viewer.as_deref())? {
                        repos.push(self.project_json(&p)?);
                    }
                }
                Ok((
                    200,
                    json!({"user": self.user_json(&user.username), "repos": repos, "forks": []}),
                ))
            }
            ("GET", ["groups"]) => {
                let groups = self.store.list_groups()?;
                let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                Ok((200, json!({"total_groups": names.len(), "groups": names})))
            }
            ("GET", ["projects"]) => self.projects(),
            ("POST", ["new"]) => self.new_project(),
            ("POST", ["fork"]) => self.fork(),
            ("GET", ["user", name, "activity", "stats"]) => {
                self.store.user(name)?;
                let days = self.store.activity_by_day(name, None)?;
                Ok((200, json!(days)))
            }
            ("GET", ["user", name, "activity", day]) => {
                self.store.user(name)?;
                if chrono_day(day).is_none() {
                    return Err(ApiError::field(
                        "date",
                        format!("`{day}` is not a YYYY-MM-DD date"),
                    ));
                }
                let rows = self.store.activity_on(name, day)?;
                let activities: Vec<Value> = rows
                    .into_iter()
                    .map(|(project, commit)| json!({"type": "committed", "project": project, "commit": commit}))
                    .collect();
                Ok((200, json!({"date": day, "activities": activities})))
            }
            _ => self.project_route(m, &s),
        }
    }

    /// The token presented, if any; a bad, expired or revoked one is a 401.
    fn token(&self) -> Result<Option<Token>, ApiError> {
        let Some(header) = &self.call.auth else {
            return Ok(None);
        };
        let secret = header
            .strip_prefix("token ")
            .or_else(|| header.strip_prefix("Token "))
            .ok_or_else(|| {
                ApiError::new(401, "EINVALIDTOK", "expected `Authorization: token <key>`")
            })?;
        match self.store.verify_token(secret.trim()) {
            Ok(t) => Ok(Some(t)),
            Err(_) => Err(ApiError::new(
                401,
                "EINVALIDTOK",
                "Invalid or expired token. Please visit the settings page to get a new token.",
            )),
        }
    }

    fn viewer_name(&self) -> Result<Option<String>, ApiError> {
        Ok(self.token()?.map(|t| t.user))
    }

    /// The user a token acts for, if it allows `action` on `project`.
    fn acting(&self, action: Action, project: Option<&str>) -> Result<String, ApiError> {
        let token = self.token()?.ok_or_else(|| {
            ApiError::new(
                401,
                "EINVALIDTOK",
                "this action needs a token (Authorization: token <key>)",
            )
        })?;
        if !token.allows(action, project) {
            return Err(ApiError::new(
                403,
                "ENOTHIGHENOUGH",
                format!(
                    "the token does not allow `{action}`{}",
                    project.map(|p| format!(" on `{p}`")).unwrap_or_default()
                ),
            ));
        }
        Ok(token.user)
    }

    fn visible(&self, project: &Project, viewer: Option<&str>) -> Result<bool, ApiError> {
        if !project.private {
            return Ok(true);
        }
        Ok(match viewer {
            Some(v) => self.store.role_of(project, v)?.is_some(),
            None => false,
        })
    }

    fn user_json(&self, name: &str) -> Value {
        serde_json::to_value(self.user_out(name)).unwrap_or_default()
    }

    fn query(&self) -> HashMap<String, String> {
        self.call
            .query
            .as_deref()
            .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    /// The posted fields, from a form or a JSON object.
    fn fields(&self) -> Result<HashMap<String, String>, ApiError> {
        if self.call.body.is_empty() {
            return Ok(HashMap::new());
        }
        let is_json = self
            .call
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"));
        if is_json {
            let value: Value = serde_json::from_slice(&self.call.body).map_err(|e| {
                ApiError::new(
                    400,
                    "EINVALIDREQ",
                    format!("the JSON body is malformed: {e}"),
                )
            })?;
            let Value::Object(map) = value else {
                return Err(ApiError::new(
                    400,
                    "EINVALIDREQ",
                    "the JSON body must be an object",
                ));
            };
            return Ok(map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        Value::Array(items) => items
                            .iter()
                            .map(|i| {
                                i.as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| i.to_string())
                            })
                            .collect::<Vec<_>>()
                            .join(","),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect());
        }
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&self.call.body).map_err(|e| {
                ApiError::new(
                    400,
                    "EINVALIDREQ",
                    format!("the form body is malformed: {e}"),
                )
            })?;
        let mut out: HashMap<String, String> = HashMap::new();
        for (k, v) in pairs {
            out.entry(k)
                .and_modify(|e| {
                    e.push(',');
                    e.push_str(&v);
                })
                .or_insert(v);
        }
        Ok(out)
    }

    fn page(&self, total: u64, path: &str) -> Result<(usize, usize, Value), ApiError> {
        let q = self.query();
        let num =
            |key: &str, default: usize| -> Result<usize, ApiError> {
                match q.get(key) {
                    None => Ok(default),
                    Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        ApiError::field(key, format!("`{v}` is not a positive number"))
                    }),
                }
            };
        let per_page = num("per_page", 20)?;
        if per_page > 100 {
            return Err(ApiError::field("per_page", "at most 100"));
        }
        let page = num("page", 1)?;
        let pages = (total as usize).div_ceil(per_page).max(1);
        let mut keep: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        keep.sort();
        let link = |p: usize| {
            let mut params = keep.clone();
            params.push(("per_page".into(), per_page.to_string()));
            params.push(("page".into(), p.to_string()));
            format!(
                "{}{}?{}",
                self.call.base_url,
                path,
                serde_urlencoded::to_string(&params).unwrap_or_default()
            )
        };
        let pagination = json!({
            "page": page, "pages": pages, "per_page": per_page,
            "prev": (page > 1).then(|| link(page - 1)),
            "next": (page < pages).then(|| link(page + 1)),
            "first": link(1), "last": link(pages),
        });
        Ok((per_page, (page - 1) * per_page, pagination))
    }

    fn projects(&self) -> ApiResult {
        let viewer = self.viewer_name()?;
        let q = self.query();
        let mut out = Vec::new();
        for p in self.store.list_projects()? {
            if !self.visible(&p, viewer.as_deref())? {
                continue;
            }
            if q.get("namespace")
                .is_some_and(|ns| p.namespace.as_deref() != Some(ns.as_str()))
            {
                continue;
            }
            if q.get("owner").is_some_and(|o| &p.owner != o) {
                continue;
            }
            out.push(p);
        }
        let (per_page, offset, pagination) = self.page(out.len() as u64, &self.call.path)?;
        let items: Vec<Value> = out
            .iter()
            .skip(offset)
            .take(per_page)
            .map(|p| self.project_json(p))
            .collect::<Result<_, _>>()?;
        Ok((
            200,
            json!({"projects": items, "total_projects": out.len(), "pagination": pagination}),
        ))
    }

    fn project_json(&self, p: &Project) -> Result<Value, ApiError> {
        let mut access: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for role in ["owner", "admin", "commit", "collaborator", "ticket"] {
            access.insert(role, Vec::new());
        }
        for m in self.store.members(p)? {
            let key = if m.name == p.owner {
                "owner"
            } else {
                m.role.as_str()
            };
            if let Some(list) = access.get_mut(key) {
                list.push(m.name);
            }
        }
        let s = &p.settings;
        Ok(json!({
            "id": p.id, "name": p.name, "namespace": p.namespace, "fullname": p.full_name,
            "url_path": p.full_name, "description": p.description, "private": p.private,
            "user": self.user_json(&p.owner),
            "date_created": epoch(&p.created_at), "date_modified": epoch(&p.created_at),
            "tags": [], "priorities": s.priorities, "close_status": s.close_reasons,
            "milestones": s.milestones.iter().map(|m| (m.name.clone(), json!({"date": m.date, "active": true}))).collect::<Map<String, Value>>(),
            "custom_keys": s.custom_fields.iter().map(|f| json!([f.name, f.kind, f.options])).collect::<Vec<_>>(),
            "access_users": access,
            "settings": {"issue_tracker": s.issue_tracker, "pull_requests": s.pull_requests},
        }))
    }

    fn new_project(&self) -> ApiResult {
        let user = self.acting(Action::CreateProject, None)?;
        let f = self.fields()?;
        let name = required(&f, "name")?;
        let full = with_namespace(&f, name);
        let private = truthy(&f, "private");
        let description = f.get("description").cloned().unwrap_or_default();
        let project = forge_tickets::create_project(
            self.store,
            &self.app.home,
            &full,
            &description,
            private,
            &user,
        )?;
        if let Some(exe) = &self.app.hooks_exe {
            forge_tickets::hooks::install_project_hooks(exe, self.store, &self.app.home, &project)?;
        }
        Ok((
            200,
            json!({"message": format!("Project \"{}\" created", project.full_name)}),
        ))
    }

    fn fork(&self) -> ApiResult {
        let user = self.acting(Action::ForkProject, None)?;
        let f = self.fields()?;
        let repo = required(&f, "repo")?;
        let full = with_namespace(&f, repo);
        let project = self
            .store
            .find_project(&full)?
            .ok_or_else(|| ApiError::new(404, "ENOPROJECT", "Project not found"))?;
        if !self.visible(&project, Some(&user))? {
            return Err(ApiError::new(404, "ENOPROJECT", "Project not found"));
        }
        let path = forge_tickets::fork_project(self.store, &self.app.home, &project, &user)?;
        if let Some(exe) = &self.app.hooks_exe {
            forge_tickets::hooks::install_hooks(exe, &self.app.home, &path)?;
        }
        Ok((
            200,
            json!({"message": format!("Repo \"{full}\" cloned to \"forks/{user}/{full}\"")}),
        ))
    }

    /// `<repo>/...`, `<ns>/<repo>/...`, `fork/<user>/<repo>/...`.
    fn project_route(&self, method: &str, s: &[&str]) -> ApiResult {
        let (fork, s) = match s {
            ["fork", user, rest @ ..] => (Some(*user), rest),
            _ => (None, s),
        };
        let (project, rest) = match s {
            [ns, name, rest @ ..]
                if self.store.find_project(&format!("{ns}/{name}"))?.is_some() =>
            {
                (self.store.project(&format!("{ns}/{name}"))?, rest)
            }
            [name, rest @ ..] => match self.store.find_project(name)? {
                Some(p) => (p, rest),
                None => return Err(ApiError::new(404, "ENOPROJECT", "Project not found")),
            },
            [] => return Err(ApiError::new(404, "ENOENDPOINT", "no such API endpoint")),
        };
        let viewer = self.viewer_name()?;
        if !self.visible(&project, viewer.as_deref())? {
            return Err(ApiError::new(404, "ENOPROJECT", "Project not found"));
        }
        if let Some(user) = fork {
            if !self.store.has_fork(&project, user)? {
                return Err(ApiError::new(404, "ENOPROJECT", "Project not found"));
            }
        }
        let actor = match &viewer {
            Some(v) => Actor::for_user(self.store, &project, v)?,
            None => Actor::anonymous(project.private),
        };
        let repo_path = match fork {
            Some(user) => self.app.home.fork_path(user, &project.full_name),
            None => self.app.home.project_paths(&project.full_name).source,
        };
        match (method, rest) {
            ("GET", []) => Ok((200, self.project_json(&project)?)),
            ("GET", ["git", "branches"]) => {
                let repo = forge_git::Repo::open(&repo_path).map_err(forge_tickets::Error::from)?;
                let names: Vec<String> = repo
                    .branches()
                    .map_err(forge_tickets::Error::from)?
                    .into_iter()
                    .map(|b| b.name)
                    .collect();
                Ok((
                    200,
                    json!({"total_branches": names.len(), "branches": names}),
                ))
            }
            ("GET", ["git", "tags"]) => {
                let repo = forge_git::Repo::open(&repo_path).map_err(forge_tickets::Error::from)?;
                let names: Vec<String> = repo
                    .tags()
                    .map_err(forge_tickets::Error::from)?
                    .into_iter()
                    .map(|b| b.name)
                    .collect();
                Ok((200, json!({"total_tags": names.len(), "tags": names})))
            }
            ("GET", ["tags"]) => {
                let tags = forge_tickets::index::tags(self.store.conn(), &project.full_name)?;
                Ok((200, json!({"total_tags": tags.len(), "tags": tags})))
            }
            ("GET", ["contributors"]) => {
                let mut users: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                for role in ["admin", "commit", "collaborator", "ticket"] {
                    users.insert(role, Vec::new());
                    groups.insert(role, Vec::new());
                }
                for m in self.store.members(&project)? {
                    let target = if m.name.starts_with('@') {
                        &mut groups
                    } else {
                        &mut users
                    };
                    if let Some(list) = target.get_mut(m.role.as_str()) {
                        list.push(m.name.trim_start_matches('@').to_string());
                    }
                }
                Ok((200, json!({"users": users, "groups": groups})))
            }
            ("GET", ["c", hash, "flag"]) => {
                let flags = self.store.commit_flags(&project.full_name, hash)?;
                Ok((
                    200,
                    json!({"total_flags": flags.len(), "flags": flags.iter().map(commit_flag_json).collect::<Vec<_>>()}),
                ))
            }
            ("POST", ["c", hash, "flag"]) => {
                let user = self.acting(Action::CommitFlag, Some(&project.full_name))?;
                let role = self.store.role_of(&project, &user)?;
                if role < Some(forge_core::role::Role::Collaborator) {
                    return Err(ApiError::new(
                        403,
                        "ENOTHIGHENOUGH",
                        format!("{user} may not flag commits of `{}`", project.full_name),
                    ));
                }
                let repo = forge_git::Repo::open(&repo_path).map_err(forge_tickets::Error::from)?;
                let commit = repo.resolve(hash).map_err(|_| {
                    ApiError::new(
                        404,
                        "EINVALIDREQ",
                        format!("no commit `{hash}` in `{}`", project.full_name),
                    )
                })?;
                let f = self.fields()?;
                let name = f
                    .get("username")
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .ok_or_else(|| ApiError::field("username", "This field is required."))?;
                let flag = forge_core::commit_flag::CommitFlag {
                    commit: commit.to_string(),
                    name: name.clone(),
                    status: f.get("status").cloned().unwrap_or_else(|| "success".into()),
                    percent: f
                        .get("percent")
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            p.parse::<u8>()
                                .map_err(|_| ApiError::field("percent", "a number from 0 to 100"))
                        })
                        .transpose()?,
                    comment: f.get("comment").cloned().unwrap_or_default(),
                    url: f.get("url").cloned().filter(|u| !u.is_empty()),
                    username: user,
                    created_at: 0,
                    updated_at: 0,
                };
                if let Some(url) = &flag.url {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err(ApiError::field("url", "an http(s) URL"));
                    }
                }
                let replaced = self.store.set_commit_flag(&project.full_name, &flag)?;
                let stored = self
                    .store
                    .commit_flag(&project.full_name, &flag.commit, &name)?;
                Ok((
                    200,
                    json!({
                        "flag": stored.as_ref().map(commit_flag_json), "uid": name,
                        "message": if replaced { "Flag updated" } else { "Flag added" },
                    }),
                ))
            }
            ("GET", ["git", "urls"]) => Ok((
                200,
                json!({
                    "total_urls": 2,
                    "urls": {"git": format!("{}/{}.git", self.call.base_url, project.full_name)},
                }),
            )),
            (_, ["issues"]) | (_, ["new_issue"]) | (_, ["issue", ..]) => {
                if !project.settings.issue_tracker {
                    return Err(ApiError::new(
                        404,
                        "ETRACKERDISABLED",
                        "Issue tracker disabled for this project",
                    ));
                }
                self.issue_route(method, rest, &project, &actor)
            }
            (_, ["pull-requests"]) | (_, ["pull-request", ..]) => {
                if !project.settings.pull_requests {
                    return Err(ApiError::new(
                        404,
                        "EPULLREQUESTSDISABLED",
                        "Pull-Request have been deactivated for this project",
                    ));
                }
                self.pull_route(method, rest, &project, &actor)
            }
            _ => Err(ApiError::new(404, "ENOENDPOINT", "no such API endpoint")),
        }
    }

    fn issue_json(&self, i: &IssueDetails) -> Value {
        serde_json::to_value(self.issue_out(i)).unwrap_or_default()
    }

    /// Runs `f` on the full name of `name` (empty for an unknown user),
    /// looked up once per request.
    fn with_full_name<T>(&self, name: &str, f: impl FnOnce(&str) -> T) -> T {
        if let Some(full) = self.names.borrow().get(name) {
            return f(full);
        }
        let full = self
            .store
            .full_name(name)
            .ok()
            .flatten()
            .unwrap_or_default();
        let out = f(&full);
        self.names.borrow_mut().insert(name.to_string(), full);
        out
    }

    fn user_out(&self, name: &str) -> UserOut {
        UserOut {
            fullname: self.with_full_name(name, str::to_string),
            name: name.to_string(),
            url_path: format!("user/{name}"),
        }
    }

    /// Runs a ticket write of `project` in the server's group commit: with
    /// the writes other requests queued meanwhile, as one batch.
    fn queued_write(&self, project: &Project, write: crate::queue::Write) -> Result<u64, ApiError> {
        let path = self.app.home.project_paths(&project.full_name).tickets;
        self.app.writes.submit(&path, write, |mut writes| {
            let count = writes.len();
            // A branch moved by another process (a push, the CLI) during the
            // batch lands nothing of it: the batch runs again on the new tip.
            let mut attempts = 0;
            loop {
                attempts += 1;
                // The batch's index updates stay in one transaction until
                // its commits are on the branch: no other connection sees
                // the index ahead of git (and a failed batch leaves none).
                let mut index = None;
                let run = |repo: &std::rc::Rc<forge_git::Repo>| -> Result<Vec<Result<u64, ApiError>>, ApiError> {
                    index = Some(forge_tickets::IndexTx::begin(self.store.conn())?);
                    let branch = repo.head_branch().map_err(forge_tickets::Error::from)?;
                    let tracker = Tracker::with_repo(self.store, repo.clone(), branch, project);
                    Ok(writes.iter_mut().map(|w| w(&tracker)).collect())
                };
                let landed = forge_git::Repo::with_staged_commits(&path, run);
                let committed = match (&landed, index) {
                    (Ok(Ok(_)), Some(tx)) => tx.commit().map_err(ApiError::from),
                    _ => Ok(()), // dropped: rolled back
                };
                match landed {
                    Ok(Ok(results)) => {
                        return match committed {
                            Ok(()) => results,
                            // On the branch but not indexed: the next read
                            // syncs it; the writes themselves landed.
                            Err(e) => {
                                tracing::warn!(error = %e.message, "indexing a batch of writes");
                                results
                            }
                        };
                    }
                    Ok(Err(e)) => return vec![Err(e); count],
                    Err(forge_git::Error::Contended { .. }) if attempts < 8 => continue,
                    Err(e) => {
                        let e = ApiError::from(forge_tickets::Error::from(e));
                        return vec![Err(e); count];
                    }
                }
            }
        })
    }

    /// An issue edit through the group commit.
    fn queued_edit(
        &self,
        project: &Project,
        actor: &Actor,
        n: u64,
        edit: IssueEdit,
    ) -> Result<u64, ApiError> {
        let actor = actor.clone();
        self.queued_write(
            project,
            Box::new(move |t: &Tracker<'_>| {
                t.edit(&actor, n, edit.clone())?;
                Ok(n)
            }),
        )
    }

    /// The issues `numbers` in Pagure's JSON shape, from the server's cache
    /// where they were rendered from the same index state and show the same
    /// full names, else rendered now (and kept).
    fn rendered_issues(
        &self,
        project: &str,
        view: &IndexView<'_, '_>,
        numbers: &[u64],
    ) -> Result<Vec<std::sync::Arc<[u8]>>, ApiError> {
        let caches = &self.app.caches;
        let mut found = caches.rendered(project, view.commit(), numbers);
        for slot in found.iter_mut() {
            let current = slot.as_ref().is_some_and(|r| {
                r.users
                    .iter()
                    .all(|(name, full)| self.with_full_name(name, |now| now == full))
            });
            if !current {
                *slot = None;
            }
        }
        let missing: Vec<u64> = numbers
            .iter()
            .zip(&found)
            .filter(|(_, r)| r.is_none())
            .map(|(n, _)| *n)
            .collect();
        let mut fresh = HashMap::new();
        if !missing.is_empty() {
            let commit: std::sync::Arc<str> = view.commit().into();
            let mut keep = Vec::new();
            for issue in view.details(&missing)? {
                let mut names: Vec<&str> = [&issue.assignee, &issue.closed_by]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .chain([issue.author.as_str()])
                    .chain(issue.comments.iter().map(|c| c.author.as_str()))
                    .collect();
                names.sort_unstable();
                names.dedup();
                let users = names
                    .into_iter()
                    .map(|n| (n.to_string(), self.with_full_name(n, str::to_string)))
                    .collect();
                let json: std::sync::Arc<[u8]> = serde_json::to_vec(&self.issue_out(&issue))
                    .map_err(|_| ApiError::new(500, "EINVALIDREQ", "internal error"))?
                    .into();
                fresh.insert(issue.id, json.clone());
                keep.push((
                    issue.id,
                    crate::cache::Rendered {
                        commit: commit.clone(),
                        users,
                        json,
                    },
                ));
            }
            caches.put_rendered(project, keep);
        }
        // An issue missing from both was deleted or hidden since the
        // numbers were read: it is left out.
        Ok(numbers
            .iter()
            .zip(found)
            .filter_map(|(n, r)| r.map(|r| r.json).or_else(|| fresh.remove(n)))
            .collect())
    }

    /// An issue in Pagure's shape, as typed fields (keys in sorted order).
    fn issue_out<'i>(&self, i: &'i IssueDetails) -> IssueOut<'i> {
        let user = |u: &Option<String>| u.as_ref().map(|u| self.user_out(u));
        IssueOut {
            assignee: user(&i.assignee),
            blocks: i.blocks.iter().map(ToString::to_string).collect(),
            close_status: i.close_reason.as_deref(),
            closed_at: i.closed_at.as_deref().map(epoch),
            closed_by: user(&i.closed_by),
            comments: i
                .comments
                .iter()
                .map(|c| CommentOut {
                    comment: &c.body,
                    date_created: epoch(&c.created_at),
                    edited_on: c.edited_at.as_deref().map(epoch),
                    editor: None,
                    id: &c.id,
                    notification: false,
                    parent: None,
                    reactions: &c.reactions,
                    user: self.user_out(&c.author),
                })
                .collect(),
            content: &i.body,
            custom_fields: i
                .custom_fields
                .iter()
                .map(|(name, value)| FieldOut { name, value })
                .collect(),
            date_created: epoch(&i.created_at),
            depends: i.depends.iter().map(ToString::to_string).collect(),
            id: i.id,
            last_updated: epoch(&i.updated_at),
            milestone: i.milestone.as_deref(),
            priority: i.priority.as_deref(),
            private: i.private,
            status: if i.status == "open" { "Open" } else { "Closed" },
            tags: &i.tags,
            title: &i.title,
            uid: &i.uid,
            user: self.user_out(&i.author),
            watchers: &i.watchers,
        }
    }

    fn issue_route(
        &self,
        method: &str,
        rest: &[&str],
        project: &Project,
        actor: &Actor,
    ) -> ApiResult {
        let tracker = tracker(self.store, self.app, project)?;
        let number = |text: &str| -> Result<u64, ApiError> {
            text.parse()
                .map_err(|_| ApiError::new(404, "ENOISSUE", "Issue not found"))
        };
        match (method, rest) {
            ("GET", ["issues"]) => {
                let q = self.query();
                let status = match q.get("status").map(|s| s.to_ascii_lowercase()).as_deref() {
                    None | Some("open") => Some("open".to_string()),
                    Some("closed") => Some("closed".to_string()),
                    Some("all") => None,
                    Some(other) => {
                        return Err(ApiError::field(
                            "status",
                            format!("`{other}` is not Open, Closed or All"),
                        ))
                    }
                };
                let filter = IssueFilter {
                    status,
                    tag: q.get("tags").cloned().filter(|t| !t.is_empty()),
                    assignee: q.get("assignee").cloned(),
                    author: q.get("author").cloned(),
                    milestone: q.get("milestones").cloned(),
                    priority: q.get("priority").cloned().filter(|p| !p.is_empty()),
                    since: match q.get("since") {
                        None => None,
                        Some(v) => Some(since(v).ok_or_else(|| {
                            ApiError::field(
                                "since",
                                format!("`{v}` is neither epoch seconds nor YYYY-MM-DD"),
                            )
                        })?),
                    },
                    ascending: match q.get("order").map(|o| o.to_ascii_lowercase()).as_deref() {
                        None | Some("desc") => false,
                        Some("asc") => true,
                        Some(other) => {
                            return Err(ApiError::field(
                                "order",
                                format!("`{other}` is not asc or desc"),
                            ))
                        }
                    },
                    limit: 0,
                    offset: 0,
                };
                let view = tracker.view(actor)?;
                let key = listing_key(&project.full_name, &view, actor, &filter);
                let mut pagination = Value::Null;
                let (total, numbers) = listing_page(self.app, &key, &view, &filter, |total| {
                    let (per_page, offset, links) = self.page(total, &self.call.path)?;
                    pagination = links;
                    Ok((per_page, offset))
                })?;
                let issues = self.rendered_issues(&project.full_name, &view, &numbers)?;
                let args = json!({"status": q.get("status"), "tags": q.get("tags"), "assignee": q.get("assignee"),
                                  "author": q.get("author"), "milestones": q.get("milestones"),
                                  "priority": q.get("priority"), "since": q.get("since"), "order": q.get("order")});
                // The keys in the order serde_json's maps give the others.
                let mut out =
                    Vec::with_capacity(issues.iter().map(|i| i.len() + 1).sum::<usize>() + 1024);
                out.extend_from_slice(b"{\"args\":");
                out.extend_from_slice(&serde_json::to_vec(&args).unwrap_or_default());
                out.extend_from_slice(b",\"issues\":[");
                for (i, issue) in issues.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(issue);
                }
                out.extend_from_slice(b"],\"pagination\":");
                out.extend_from_slice(&serde_json::to_vec(&pagination).unwrap_or_default());
                out.extend_from_slice(format!(",\"total_issues\":{total}}}\n").as_bytes());
                self.prerendered.replace(Some(out));
                Ok((200, Value::Null))
            }
            ("POST", ["new_issue"]) => {
                let user = self.acting(Action::IssueCreate, Some(&project.full_name))?;
                let actor = Actor::for_user(self.store, project, &user)?;
                let f = self.fields()?;
                let title = required(&f, "title")?;
                let content = required(&f, "issue_content")?;
                let new = NewIssue {
                    title: title.clone(),
                    body: content.clone(),
                    tags: f
                        .get("tag")
                        .map(|t| {
                            t.split(',')
                                .map(str::trim)
                                .filter(|t| !t.is_empty())
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                    assignee: f.get("assignee").cloned().filter(|a| !a.is_empty()),
                    priority: f.get("priority").cloned().filter(|a| !a.is_empty()),
                    milestone: f.get("milestone").cloned().filter(|a| !a.is_empty()),
                    private: truthy(&f, "private"),
                    ..Default::default()
                };
                let number = self.queued_write(project, {
                    let actor = actor.clone();
                    Box::new(move |t: &Tracker<'_>| Ok(t.create_issue(&actor, new.clone())?.number))
                })?;
                Ok((
                    200,
                    json!({"issue": self.issue_json(&tracker.issue(&actor, number)?), "message": "Issue created"}),
                ))
            }
            ("GET", ["issue", id]) => {
                Ok((200, self.issue_json(&tracker.issue(actor, number(id)?)?)))
            }
            ("GET", ["issue", id, "comment", cid]) => {
                let issue = tracker.issue(actor, number(id)?)?;
                let c = issue
                    .comments
                    .iter()
                    .find(|c| c.id == *cid)
                    .ok_or_else(|| ApiError::new(404, "ENOCOMMENT", "Comment not found"))?;
                Ok((
                    200,
                    json!({"id": c.id, "comment": c.body, "date_created": epoch(&c.created_at),
                                "user": self.user_json(&c.author), "parent": null,
                                "edited_on": c.edited_at.as_deref().map(epoch), "editor": null, "reactions": c.reactions}),
                ))
            }
            ("POST", ["issue", id, "comment"]) => {
                let user = self.acting(Action::IssueComment, Some(&project.full_name))?;
                let actor = Actor::for_user(self.store, project, &user)?;
                let f = self.fields()?;
                let comment = required(&f, "comment")?.clone();
                let n = number(id)?;
                self.queued_write(project, {
                    let actor = actor.clone();
                    Box::new(move |t: &Tracker<'_>| {
                        t.comment(&actor, n, &comment)
                            .map(|_| n)
                            .map_err(ApiError::from)
                    })
                })?;
                Ok((200, json!({"message": "Comment added"})))
            }
            ("POST", ["issue", id, "status"]) => {
                let user = self.acting(Action::IssueChangeStatus, Some(&project.full_name))?;
                let actor = Actor::for_user(self.store, project, &user)?;
                let f = self.fields()?;
                let n = number(id)?;
                match f.get("status").map(|s| s.to_ascii_lowercase()).as_deref() {
                    Some("closed") => {
                        let reason = f
                            .get("close_status")
                            .map(String::as_str)
                            .filter(|r| !r.is_empty());
                        let reason = reason.map(String::from);
                        self.queued_write(project, {
                            let actor = actor.clone();
                            Box::new(move |t: &Tracker<'_>| {
                                t.close(&actor, n, reason.as_deref())?;
                                Ok(n)
                            })
                        })?;
                    }
                    Some("open") => {
                        self.queued_write(project, {
                            let actor = actor.clone();
                            Box::new(move |t: &Tracker<'_>| {
                                t.reopen(&actor, n)?;
                                Ok(n)
                            })
                        })?;
                    }
                    _ => return Err(ApiError::field("status", "Open or Closed")),
                }
                Ok((
                    200,
                    json!({"message": format!("Successfully edited issue #{n}")}),
                ))
            }
            ("POST", ["issue", id, what @ ("assign" | "milestone" | "subscribe")]) => {
                let action = match *what {
                    "assign" => Action::IssueAssign,
                    "milestone" => Action::IssueUpdateMilestone,
                    _ => Action::IssueComment,
                };
                let user = self.acting(action, Some(&project.full_name))?;
                let actor = Actor::for_user(self.store, project, &user)?;
                let f = self.fields()?;
                let n = number(id)?;
                let optional = |key: &str| {
                    f.get(key)
                        .cloned()
                        .map(|v| if v.is_empty() { None } else { Some(v) })
                };
                let edit = match *what {
                    "assign" => IssueEdit {
                        assignee: Some(optional("assignee").flatten()),
                        ..Default::default()
                    },
                    "milestone" => IssueEdit {
                        milestone: Some(optional("milestone").flatten()),
                        ..Default::default()
                    },
                    _ => IssueEdit {
                        watch: Some(
                            f.get("status")
                                .is_none_or(|s| s == "true" || s == "1" || s == "on"),
                        ),
                        ..Default::default()
                    },
                };
                self.queued_edit(project, &actor, n, edit)?;
                Ok((
                    200,
                    json!({"message": format!("Successfully edited issue #{n}")}),
                ))
            }
            ("POST", ["issue", id]) => {
                let f = self.fields()?;
                let n = number(id)?;
                let list = |key: &str| comma_list(&f, key);
                let issues = |key: &str| -> Result<Vec<u64>, ApiError> {
                    list(key)
                        .iter()
                        .map(|v| {
                            v.trim_start_matches('#').parse().map_err(|_| {
                                ApiError::field(key, format!("`{v}` is not an issue number"))
                            })
                        })
                        .collect()
                };
                let optional = |key: &str| {
                    f.get(key)
                        .map(|v| Some(v.clone()).filter(|v| !v.is_empty()))
                };
                let flag = |key: &str| true_or_false(&f, key);
                let edit = IssueEdit {
                    title: f.get("title").cloned(),
                    body: f.get("issue_content").cloned(),
                    add_tags: list("add_tag"),
                    remove_tags: list("remove_tag"),
                    assignee: optional("assignee"),
                    priority: optional("priority"),
                    milestone: optional("milestone"),
                    fields: f
                        .iter()
                        .filter_map(|(k, v)| {
                            Some((k.strip_prefix("field:")?.to_string(), v.clone()))
                        })
                        .collect(),
                    depends: issues("depends")?,
                    blocks: issues("blocks")?,
                    private: flag("private")?,
                    watch: flag("watch")?,
                };
                if edit == IssueEdit::default() {
                    return Err(ApiError::new(400, "EINVALIDREQ", "nothing to change: give title, issue_content, add_tag, remove_tag, assignee, priority, milestone, field:NAME, depends, blocks, private or watch"));
                }
                // Each part of the change needs the token's right for it.
                let mut actions = vec![];
                if edit.assignee.is_some() {
                    actions.push(Action::IssueAssign);
                }
                if edit.milestone.is_some() {
                    actions.push(Action::IssueUpdateMilestone);
                }
                if edit.watch.is_some() {
                    actions.push(Action::IssueComment);
                }
                if edit.title.is_some()
                    || edit.body.is_some()
                    || !edit.add_tags.is_empty()
                    || !edit.remove_tags.is_empty()
                    || edit.priority.is_some()
                    || !edit.fields.is_empty()
                    || !edit.depends.is_empty()
                    || !edit.blocks.is_empty()
                    || edit.private.is_some()
                {
                    actions.push(Action::IssueUpdate);
                }
                let mut user = String::new();
                for action in actions {
                    user = self.acting(action, Some(&project.full_name))?;
                }
                let actor = Actor::for_user(self.store, project, &user)?;
                self.queued_edit(project, &actor, n, edit)?;
                Ok((
                    200,
                    json!({"issue": self.issue_json(&tracker.issue(&actor, n)?), "message": "Issue edited"}),
                ))
            }
            ("POST", ["issue", id, "custom", field]) => {
                let user = self.acting(Action::IssueUpdate, Some(&project.full_name))?;
                let actor = Actor::for_user(self.store, project, &user)?;
                let f = self.fields()?;
                let n = number(id)?;
                let value = f.get("value").cloned().unwrap_or_default();
                self.queued_edit(
                    project,
                    &actor,
                    n,
                    IssueEdit {
                        fields: vec![(field.to_string(), value)],
                        ..Default::default()
                    },
                )?;
                Ok((
                    200,
                    json!({"message": format!("Custom field {field} adjusted")}),
                ))
            }
            _ => Err(ApiError::new(404, "ENOENDPOINT", "no such API endpoint")),
        }
    }

    fn pull_route(
        &self,
        method: &str,
        rest: &[&str],
        project: &Project,
        actor: &Actor,
    ) -> ApiResult {
        let prs = PullRequests::open(self.store, &self.app.home, project)?;
        let pr_json = |d: &forge_tickets::PullDetails| {
            json!({
                "id": d.id, "uid": d.id.to_string(), "title": d.title, "initial_comment": d.body,
                "branch": d.target, "branch_from": d.source.branch, "repo_from": {"fullname": d.source.repo},
                "project": {"fullname": project.full_name, "name": project.name},
                "status": match d.status { "open" => "Open", "merged" => "Merged", _ => "Closed" },
                "user": self.user_json(&d.author), "assignee": d.assignee.as_ref().map(|a| self.user_json(a)),
                "commit_start": d.commits.last().map(|c| c.id.clone()), "commit_stop": d.head,
                "date_created": epoch(&d.created_at), "last_updated": epoch(&d.updated_at),
                "closed_at": d.closed_at.as_deref().map(epoch), "merge_commit": d.merge_commit,
                "tags": d.tags, "threshold_reached": null,
                // forge's own fields, beside Pagure's (what `forge --remote pr` prints)
                "source": {"repo": d.source.repo, "branch": d.source.branch},
                "base": d.base, "commits": d.commits, "merge_status": d.merge_status,
                "conflicts": d.conflicts, "score": d.score, "votes": d.votes,
                "flags": d.flags.iter().map(flag_json).collect::<Vec<_>>(),
                "linked_issues": d.linked_issues, "watchers": d.watchers,
                "closed_by": d.closed_by,
                "cached_merge_status": match d.merge_status { Some("conflicts") => "CONFLICTS", Some("fast-forward") => "FFORWARD", Some("merge") => "MERGE", Some("up-to-date") => "NO_CHANGE", _ => "unknown" },
                "comments": d.comments.iter().map(|c| json!({
                    "id": c.id, "comment": c.body, "date_created": epoch(&c.created_at),
                    "user": self.user_json(&c.author), "commit": c.commit, "filename": c.path, "line": c.line,
                    "tree": null, "parent": null, "edited_on": c.edited_at.as_deref().map(epoch), "notification": false,
                    "side": c.side, "outdated": c.outdated,
                })).collect::<Vec<_>>(),
            })
        };
        match (method, rest) {
            ("GET", ["pull-requests"]) => {
                let q = self.query();
                let status = match q.get("status").map(|s| s.to_ascii_lowercase()).as_deref() {
                    None | Some("open") | Some("true") => Some("open".to_string()),
                    Some("closed") | Some("false") => Some("closed".to_string()),
                    Some("merged") => Some("merged".to_string()),
                    Some("all") => None,
                    Some(other) => {
                        return Err(ApiError::field(
                            "status",
                            format!("`{other}` is not Open, Closed, Merged or All"),
                        ))
                    }
                };
                let all = PullFilter {
                    status,
                    author: q.get("author").cloned(),
                    assignee: q.get("assignee").cloned(),
                    limit: usize::MAX >> 1,
                    offset: 0,
                };
                let total = prs.list(actor, &all)?.len() as u64;
                let (per_page, offset, pagination) = self.page(total, &self.call.path)?;
                let page = PullFilter {
                    limit: per_page,
                    offset,
                    ..all
                };
                let mut items = Vec::new();
                for s in prs.list(actor, &page)? {
                    items.push(pr_json(&prs.show(actor, s.id)?));
                }
                Ok((
                    200,
                    json!({"requests": items, "total_requests": total, "pagination": pagination}),
                ))
            }
            ("GET", ["pull-request", id]) => {
                let n: u64 = id
                    .parse()
                    .map_err(|_| ApiError::new(404, "ENOREQ", "Pull-Request not found"))?;
                Ok((200, pr_json(&prs.show(actor, n)?)))
            }
            ("POST", ["pull-request", "new"]) => {
                let user = self.acting(Action::PullRequestCreate, Some(&project.full_name))?;
                let actor = Actor::for_user(self.store, project, &user)?;
                let f = self.fields()?;
                let need = |key: &str| {
                    f.get(key)
                        .filter(|v| !v.trim().is_empty())
                        .cloned()
                        .ok_or_else(|| ApiError::field(key, "This field is required."))
                };
                let new = NewPull {
                    title: need("title")?,
                    body: f.get("initial_comment").cloned().unwrap_or_default(),
                    from_branch: need("branch_from")?,
                    from_fork: f
                        .get("repo_from_username")
                        .cloned()
                        .filter(|u| !u.is_empty()),
                    // forge's own: a branch of any git URL (behind the
                    // server's remote-URL rules), and an assignee at once.
                    from_url: f.get("repo_from_url").cloned().filter(|u| !u.is_empty()),
                    // Pagure requires it; forge defaults to the default branch.
                    to: f.get("branch_to").cloned().filter(|b| !b.trim().is_empty()),
                    assignee: f.get("assignee").cloned().filter(|a| !a.is_empty()),
                };
                if new.assignee.is_some() {
                    self.acting(Action::PullRequestMerge, Some(&project.full_name))?;
                }
                let pull = prs.create(&actor, new)?;
                Ok((200, pr_json(&prs.show(&actor, pull.number)?)))
            }
            ("GET", ["pull-request", id, "diff"]) => {
                let files = prs.diff(actor, pr_number(id)?, PATCH_LIMIT)?;
                let files: Vec<FileDiffView> = files.iter().map(FileDiffView::from).collect();
                Ok((200, json!({ "files": files })))
            }
            ("POST", ["pull-request", id]) => {
                let n = pr_number(id)?;
                let f = self.fields()?;
                let list = |key: &str| comma_list(&f, key);
                let watch = true_or_false(&f, "watch")?;
                let edit = PullEdit {
                    title: f.get("title").cloned(),
                    body: f.get("initial_comment").cloned(),
                    assignee: f
                        .get("assignee")
                        .map(|a| Some(a.clone()).filter(|a| !a.is_empty())),
                    add_tags: list("add_tag"),
                    remove_tags: list("remove_tag"),
                    watch,
                };
                if edit == PullEdit::default() {
                    return Err(ApiError::new(400, "EINVALIDREQ", "nothing to change: give title, initial_comment, assignee, add_tag, remove_tag or watch"));
                }
                let mut actions = vec![];
                if edit.title.is_some()
                    || edit.body.is_some()
                    || !edit.add_tags.is_empty()
                    || !edit.remove_tags.is_empty()
                {
                    actions.push(Action::PullRequestCreate);
                }
                if edit.assignee.is_some() {
                    actions.push(Action::PullRequestMerge);
                }
                if edit.watch.is_some() {
                    actions.push(Action::PullRequestComment);
                }
                let mut user = String::new();
                for action in actions {
                    user = self.acting(action, Some(&project.full_name))?;
                }
                let actor = Actor::for_user(self.store, project, &user)?;
                prs.edit(&actor, n, edit)?;
                Ok((200, pr_json(&prs.show(&actor, n)?)))
            }
            ("GET", ["pull-request", id, "flag"]) => {
                let d = prs.show(actor, pr_number(id)?)?;
                Ok((
                    200,
                    json!({"flags": d.flags.iter().map(flag_json).collect::<Vec<_>>()}),
                ))
            }
            ("GET", ["pull-request", id, "diffstats"]) => {
                let files = prs.diff(actor, pr_number(id)?, 0)?;
                let stats: Map<String, Value> = files
                    .iter()
                    .map(|f| {
                        let path = f
                            .new_path
                            .clone()
                            .or_else(|| f.old_path.clone())
                            .unwrap_or_default();
                        let status = match f.status.as_str() {
                            "added" => "A",
                            "deleted" => "D",
                            "renamed" => "R",
                            _ => "M",
                        };
                        (
                            path,
                            json!({"lines_added": f.additions, "lines_removed": f.deletions,
                                      "old_path": f.old_path, "status": status}),
                        )
                    })
                    .collect();
                Ok((200, Value::Object(stats)))
            }
            ("POST", ["pull-request", id, what]) => {
                let n = pr_number(id)?;
                let action = match *what {
                    "comment" | "subscribe" => Action::PullRequestComment,
                    "flag" => Action::PullRequestFlag,
                    "merge" | "assign" => Action::PullRequestMerge,
                    "close" | "reopen" => Action::PullRequestClose,
                    // forge's own: voting is commenting +1/-1, and refreshing
                    // follows the source branch the author pushed.
                    "vote" => Action::PullRequestComment,
                    "refresh" => Action::PullRequestCreate,
                    _ => return Err(ApiError::new(404, "ENOENDPOINT", "no such API endpoint")),
                };
                let user = self.acting(action, Some(&project.full_name))?;
                let actor = Actor::for_user(self.store, project, &user)?;
                let f = self.fields()?;
                let message = match *what {
                    "comment" => {
                        let body = required(&f, "comment")?;
                        let inline = match (f.get("filename"), f.get("row")) {
                            (Some(path), Some(row)) if !path.is_empty() => Some(InlineTarget {
                                path: path.clone(),
                                line: row
                                    .parse()
                                    .map_err(|_| ApiError::field("row", "must be a line number"))?,
                                commit: f.get("commit").cloned().filter(|c| !c.is_empty()),
                                side: forge_tickets::doc::Side::New,
                            }),
                            _ => None,
                        };
                        prs.comment(&actor, n, body, inline)?;
                        "Comment added".to_string()
                    }
                    "flag" => {
                        let name = f
                            .get("username")
                            .filter(|v| !v.is_empty())
                            .cloned()
                            .ok_or_else(|| {
                                ApiError::field("username", "This field is required.")
                            })?;
                        let status_text =
                            f.get("status").cloned().unwrap_or_else(|| "success".into());
                        let status = FlagStatus::parse(&status_text).ok_or_else(|| {
                            ApiError::field(
                                "status",
                                "success, failure, error, pending or canceled",
                            )
                        })?;
                        let percent = f
                            .get("percent")
                            .filter(|p| !p.is_empty())
                            .map(|p| {
                                p.parse::<u8>().map_err(|_| {
                                    ApiError::field("percent", "a number from 0 to 100")
                                })
                            })
                            .transpose()?;
                        let existed = prs.show(&actor, n)?.flags.iter().any(|fl| fl.name == name);
                        let flag = NewFlag {
                            name: name.clone(),
                            status,
                            percent,
                            comment: f.get("comment").cloned().unwrap_or_default(),
                            url: f.get("url").cloned().filter(|u| !u.is_empty()),
                        };
                        prs.flag(&actor, n, flag)?;
                        let shown = prs.show(&actor, n)?;
                        let flag = shown.flags.iter().find(|fl| fl.name == name).map(flag_json);
                        return Ok((
                            200,
                            json!({
                                "flag": flag, "uid": name,
                                "message": if existed { "Flag updated" } else { "Flag added" },
                            }),
                        ));
                    }
                    "merge" => {
                        let strategy = match f.get("strategy").map(String::as_str) {
                            None | Some("" | "merge") => MergeStrategy::MergeCommit,
                            Some("ff") => MergeStrategy::FastForward,
                            Some("squash") => MergeStrategy::Squash,
                            Some("rebase") => MergeStrategy::Rebase,
                            Some(other) => {
                                return Err(ApiError::field(
                                    "strategy",
                                    format!("`{other}` is not merge, ff, squash or rebase"),
                                ))
                            }
                        };
                        let outcome = prs.merge(&actor, n, strategy)?;
                        // forge's own beside Pagure's message: what happened.
                        return Ok((
                            200,
                            json!({"message": "Changes merged!", "merge_commit": outcome.merge_commit,
                                   "closed_issues": outcome.closed_issues}),
                        ));
                    }
                    "vote" => {
                        let up = match f.get("vote").map(String::as_str) {
                            Some("up" | "+1") => true,
                            Some("down" | "-1") => false,
                            _ => return Err(ApiError::field("vote", "up or down")),
                        };
                        prs.vote(&actor, n, up)?;
                        let d = prs.show(&actor, n)?;
                        return Ok((
                            200,
                            json!({"message": "Vote recorded", "score": d.score, "votes": d.votes}),
                        ));
                    }
                    "refresh" => {
                        prs.refresh(&actor, n)?;
                        return Ok((200, pr_json(&prs.show(&actor, n)?)));
                    }
                    "close" => {
                        prs.close(&actor, n)?;
                        "Pull-request closed!".to_string()
                    }
                    "reopen" => {
                        prs.reopen(&actor, n)?;
                        "Pull-request reopened!".to_string()
                    }
                    "assign" => {
                        let assignee = f.get("assignee").cloned().filter(|a| !a.is_empty());
                        prs.edit(
                            &actor,
                            n,
                            PullEdit {
                                assignee: Some(assignee),
                                ..Default::default()
                            },
                        )?;
                        "Request assigned".to_string()
                    }
                    _ => {
                        let on = f
                            .get("status")
                            .is_none_or(|s| s == "true" || s == "1" || s == "on");
                        prs.edit(
                            &actor,
                            n,
                            PullEdit {
                                watch: Some(on),
                                ..Default::default()
                            },
                        )?;
                        format!(
                            "You are {} watching this pull-request",
                            if on { "now" } else { "no longer" }
                        )
                    }
                };
                Ok((200, json!({"message": message})))
            }
            _ => Err(ApiError::new(404, "ENOENDPOINT", "no such API endpoint")),
        }
    }
}

/// Largest patch of one file a diff answer carries (as `forge pr diff`).
const PATCH_LIMIT: usize = 1 << 20;

fn pr_number(id: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::new(404, "ENOREQ", "Pull-Request not found"))
}

fn flag_json(f: &forge_tickets::FlagView) -> Value {
    json!({
        "username": f.name, "status": f.status, "percent": f.percent, "comment": f.comment,
        "url": f.url, "user": {"name": f.username}, "date_updated": epoch(&f.updated_at),
    })
}

fn chrono_day(day: &str) -> Option<()> {
    let parts: Vec<&str> = day.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
            y.parse::<u32>().ok()?;
            ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some(())
        }
        _ => None,
    }
}

fn commit_flag_json(f: &forge_core::commit_flag::CommitFlag) -> Value {
    json!({
        "commit_hash": f.commit, "username": f.name, "status": f.status, "percent": f.percent,
        "comment": f.comment, "url": f.url, "user": {"name": f.username},
        "date_created": f.created_at.to_string(), "date_updated": f.updated_at.to_string(),
    })
}

/// `since`: epoch seconds, or a `YYYY-MM-DD` day (UTC midnight).
fn since(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    chrono_day(text)?;
    forge_core::time::parse_rfc3339(&format!("{text}T00:00:00Z"))
}

/// A user in Pagure's shape.
#[derive(Serialize)]
struct UserOut {
    fullname: String,
    name: String,
    url_path: String,
}

/// A comment in Pagure's shape.
#[derive(Serialize)]
struct CommentOut<'i> {
    comment: &'i str,
    date_created: String,
    edited_on: Option<String>,
    editor: Option<UserOut>,
    id: &'i str,
    notification: bool,
    parent: Option<u64>,
    reactions: &'i BTreeMap<String, std::collections::BTreeSet<String>>,
    user: UserOut,
}

/// A custom field in Pagure's shape.
#[derive(Serialize)]
struct FieldOut<'i> {
    name: &'i str,
    value: &'i str,
}

/// An issue in Pagure's shape (plus forge's `uid` and `watchers`).
#[derive(Serialize)]
struct IssueOut<'i> {
    assignee: Option<UserOut>,
    blocks: Vec<String>,
    close_status: Option<&'i str>,
    closed_at: Option<String>,
    closed_by: Option<UserOut>,
    comments: Vec<CommentOut<'i>>,
    content: &'i str,
    custom_fields: Vec<FieldOut<'i>>,
    date_created: String,
    depends: Vec<String>,
    id: u64,
    last_updated: String,
    milestone: Option<&'i str>,
    priority: Option<&'i str>,
    private: bool,
    status: &'static str,
    tags: &'i std::collections::BTreeSet<String>,
    title: &'i str,
    uid: &'i str,
    user: UserOut,
    watchers: &'i std::collections::BTreeSet<String>,
}

/// A posted field that must be there and not blank.
fn required<'f>(f: &'f HashMap<String, String>, key: &str) -> Result<&'f String, ApiError> {
    f.get(key)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::field(key, "This field is required."))
}

/// A posted comma-separated list, blanks dropped.
fn comma_list(f: &HashMap<String, String>, key: &str) -> Vec<String> {
    f.get(key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A posted yes/no field: `None` when absent, an error when it is neither.
fn true_or_false(f: &HashMap<String, String>, key: &str) -> Result<Option<bool>, ApiError> {
    match f.get(key).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("true" | "1" | "on") => Ok(Some(true)),
        Some("false" | "0" | "off") => Ok(Some(false)),
        Some(other) => Err(ApiError::field(
            key,
            format!("`{other}` is not true or false"),
        )),
    }
}

/// A posted flag: `true`, `1` or `on`.
fn truthy(f: &HashMap<String, String>, key: &str) -> bool {
    f.get(key)
        .is_some_and(|v| v == "true" || v == "1" || v == "on")
}

/// `name` under the posted `namespace`, if any.
fn with_namespace(f: &HashMap<String, String>, name: &str) -> String {
    match f.get("namespace").filter(|n| !n.is_empty()) {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}
