//! What a request brings, read strictly: its query, its form or JSON
//! fields, its token; and the per-request context every endpoint gets.

use std::cell::RefCell;
use std::collections::HashMap;

use bytes::Bytes;
use forge_core::project::Project;
use forge_core::role::Action;
use forge_core::token::Token;
use forge_core::Store;
use forge_tickets::Actor;
use serde_json::Value;

use crate::app::App;
use crate::error::ApiError;
use crate::pagure::{Pagination, User};

/// One API request, as the endpoints see it.
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
    /// The Cookie header (read by the pages only, never by the API).
    pub cookie: Option<String>,
    /// The client's address (what sign-in throttling counts by).
    pub peer: String,
    /// Whether the client reached forge over TLS (its own, or a proxy's
    /// that says so with `X-Forwarded-Proto: https`): cookies are `Secure`.
    pub secure: bool,
    /// GitHub's headers of a webhook delivery (`/hooks/github/...` only):
    /// `X-GitHub-Event`, `X-GitHub-Delivery`, `X-Hub-Signature-256`.
    pub github: [Option<String>; 3],
}

/// Decodes one part of a query string or form (`+` is a space), naming it on failure.
fn decode(part: &str, name: &str) -> Result<String, ApiError> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ApiError::field(name, "is not valid percent-encoded UTF-8"))
}

/// A query string's parameters, read strictly: a parameter that does not
/// decode is a 400 naming it, never silently "no filter".
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a query string.
    pub fn parse(query: Option<&str>) -> Result<Query, ApiError> {
        let mut out = Vec::new();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(k, "query")?;
            let value = decode(v, &key)?;
            out.push((key, value));
        }
        Ok(Query(out))
    }

    /// The first value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter given more than once, in order.
    pub fn all<'q>(&'q self, key: &'q str) -> impl Iterator<Item = &'q str> + 'q {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a parameter is given as true the way Pagure's `is_true`
    /// reads it (`1`, `true`, `t`, `y`, any case, spaces trimmed); `None`
    /// when absent.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "t" | "y"
            )
        })
    }

    /// A parameter's value, if given and not empty.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(String::from)
    }

    /// A parameter that must be one of `choices` (case-insensitive), or absent.
    pub fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Result<Option<T>, ApiError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let lower = v.to_ascii_lowercase();
        choices
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, t)| Some(*t))
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                ApiError::field(key, format!("`{v}` is not one of: {}", names.join(", ")))
            })
    }

    /// A positive whole number, or `default` when absent.
    pub fn positive(&self, key: &str, default: u64) -> Result<u64, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::field(key, format!("`{v}` is not a positive number"))),
        }
    }

    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Posted fields, from a form or a JSON object (lists joined with commas).
#[derive(Debug, Clone, Default)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    /// Reads a body as the content type says.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Fields, ApiError> {
        if body.is_empty() {
            return Ok(Fields::default());
        }
        if content_type.is_some_and(|c| c.starts_with("application/json")) {
            let value: Value = serde_json::from_slice(body).map_err(|e| {
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
            return Ok(Fields(
                map.into_iter()
                    .map(|(k, v)| (k, forge_core::project::value_text(&v)))
                    .collect(),
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::new(400, "EINVALIDREQ", "the form body is not UTF-8"))?;
        let mut out: HashMap<String, String> = HashMap::new();
        for (k, v) in Query::parse(Some(text))?.0 {
            out.entry(k)
                .and_modify(|e| {
                    e.push(',');
                    e.push_str(&v);
                })
                .or_insert(v);
        }
        Ok(Fields(out))
    }

    /// Every field with its value, in no particular order.
    pub fn pairs(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    /// A field as given.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0.get(key)
    }

    /// A field's value, if given and not empty.
    pub fn text(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).cloned()
    }

    /// `Some(None)` for a field given empty (clear), `Some(Some(v))` for a value.
    pub fn optional(&self, key: &str) -> Option<Option<String>> {
        self.0
            .get(key)
            .map(|v| Some(v.clone()).filter(|v| !v.is_empty()))
    }

    /// A field that must be there and not blank.
    pub fn required(&self, key: &str) -> Result<&String, ApiError> {
        self.0
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ApiError::field(key, "This field is required."))
    }

    /// A comma-separated list, blanks dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.0
            .get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A yes/no field: `None` when absent, an error when it is neither.
    pub fn yes_no(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(key).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(None),
            Some("true" | "1" | "on") => Ok(Some(true)),
            Some("false" | "0" | "off") => Ok(Some(false)),
            Some(other) => Err(ApiError::field(
                key,
                format!("`{other}` is not true or false"),
            )),
        }
    }

    /// A flag: `true`, `1` or `on`.
    pub fn truthy(&self, key: &str) -> bool {
        self.0
            .get(key)
            .is_some_and(|v| v == "true" || v == "1" || v == "on")
    }

    /// Fields whose names start with `prefix`, without it.
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
            .collect();
        out.sort();
        out
    }
}

/// What every endpoint gets: the server, this thread's store, the request,
/// and what is looked up once per request.
pub struct Ctx<'a> {
    /// The server.
    pub app: &'a App,
    /// This worker thread's connection.
    pub store: &'a Store,
    /// The request.
    pub call: &'a ApiCall,
    /// Its query, parsed.
    pub query: Query,
    /// Full names by username, looked up once per request.
    names: RefCell<HashMap<String, String>>,
    /// The token, checked once.
    token: RefCell<Option<Option<Token>>>,
    /// The page session the request came with (pages only).
    session: Option<forge_core::account::Session>,
}

impl<'a> Ctx<'a> {
    /// The context of one request.
    pub fn new(app: &'a App, store: &'a Store, call: &'a ApiCall) -> Result<Ctx<'a>, ApiError> {
        Ok(Ctx {
            app,
            store,
            call,
            query: Query::parse(call.query.as_deref())?,
            names: RefCell::default(),
            token: RefCell::default(),
            session: None,
        })
    }

    /// The same request made by a signed-in page session: it acts as its
    /// user with every right a token could name, so that each page and
    /// form meets exactly the API's permission checks (the user's role).
    pub(crate) fn signed_in(mut self, session: forge_core::account::Session) -> Ctx<'a> {
        let token = Token {
            id: "session".into(),
            user: session.user.clone(),
            project: None,
            acls: Action::ALL.iter().map(|a| a.as_str().to_string()).collect(),
            description: "web session".into(),
            created_at: session.created_at,
            expires_at: Some(session.expires_at),
            revoked: false,
        };
        self.token = RefCell::new(Some(Some(token)));
        self.session = Some(session);
        self
    }

    /// The page session, if signed in.
    pub(crate) fn session(&self) -> Option<&forge_core::account::Session> {
        self.session.as_ref()
    }

    /// The posted fields.
    pub fn fields(&self) -> Result<Fields, ApiError> {
        Fields::parse(self.call.content_type.as_deref(), &self.call.body)
    }

    /// A refused token, in Pagure's words with this server's settings page.
    pub fn bad_token(&self, why: &str) -> ApiError {
        ApiError::bad_token(&self.call.base_url, why)
    }

    /// The token presented, if any; a bad, expired or revoked one is a 401.
    pub fn token(&self) -> Result<Option<Token>, ApiError> {
        if let Some(known) = self.token.borrow().as_ref() {
            return Ok(known.clone());
        }
        let found = match &self.call.auth {
            None => None,
            Some(header) => {
                let secret = header
                    .strip_prefix("token ")
                    .or_else(|| header.strip_prefix("Token "))
                    .ok_or_else(|| self.bad_token("expected `Authorization: token <key>`"))?;
                Some(
                    self.store
                        .verify_token(secret.trim())
                        .map_err(|_| self.bad_token("Invalid token"))?,
                )
            }
        };
        *self.token.borrow_mut() = Some(found.clone());
        Ok(found)
    }

    /// The user the token is for, if any.
    pub fn viewer_name(&self) -> Result<Option<String>, ApiError> {
        Ok(self.token()?.map(|t| t.user))
    }

    /// The user a token acts for, if it allows `action` on `project`.
    pub fn acting(&self, action: Action, project: Option<&str>) -> Result<String, ApiError> {
        let token = self.token()?.ok_or_else(|| {
            self.bad_token("this action needs a token (Authorization: token <key>)")
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

    /// The actor a token acts as on `project`, if it allows `action` there.
    pub fn actor(&self, project: &Project, action: Action) -> Result<Actor, ApiError> {
        let user = self.acting(action, Some(&project.full_name))?;
        Ok(Actor::for_user(self.store, project, &user)?)
    }

    /// The user a token acts for, if it allows every one of `actions`.
    pub fn acting_for_all(&self, actions: &[Action], project: &str) -> Result<String, ApiError> {
        let mut user = None;
        for action in actions {
            user = Some(self.acting(*action, Some(project))?);
        }
        user.ok_or_else(|| ApiError::new(400, "EINVALIDREQ", "nothing to change"))
    }

    /// Whether a viewer may see a project.
    pub fn visible(&self, project: &Project, viewer: Option<&str>) -> Result<bool, ApiError> {
        Ok(visible_to(self.store, project, viewer)?)
    }

    /// Runs `f` on the full name of `name` (empty for an unknown user),
    /// looked up once per request.
    pub fn with_full_name<T>(&self, name: &str, f: impl FnOnce(&str) -> T) -> T {
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

    /// A user in Pagure's shape.
    pub fn user(&self, name: &str) -> User {
        User::new(name, self.with_full_name(name, str::to_string)).at(&self.call.base_url)
    }

    /// A user in Pagure's shape with their addresses (`default_email`,
    /// `emails`), as Pagure shows a poster to themselves.
    pub fn user_with_emails(&self, name: &str) -> Result<serde_json::Value, ApiError> {
        let mut user = serde_json::json!(self.user(name));
        if let Some(found) = self.store.find_user(name)? {
            user["default_email"] = serde_json::json!(found.emails.first());
            user["emails"] = serde_json::json!(found.emails);
        }
        Ok(user)
    }

    /// A user's picture at `size` pixels from their default e-mail address,
    /// as Pagure links it (`null` for a user without one).
    pub fn avatar(&self, name: &str, size: u32) -> Result<Option<String>, ApiError> {
        Ok(self.store.find_user(name)?.and_then(|u| u.avatar(size)))
    }

    /// The page asked for (`page`, `per_page`) of `total` items: how many
    /// per page, the offset, and the links.
    pub fn page(&self, total: u64) -> Result<(usize, usize, Pagination), ApiError> {
        self.page_by(total, "page")
    }

    /// The same with the page number in `key` (Pagure's `repopage` and
    /// `forkpage` of a user's projects); the links keep every other
    /// parameter, other pages' numbers included.
    pub fn page_by(&self, total: u64, key: &str) -> Result<(usize, usize, Pagination), ApiError> {
        let q = &self.query;
        let per_page = q.positive("per_page", 20)?;
        if per_page > 100 {
            return Err(ApiError::field("per_page", "at most 100"));
        }
        let page = q.positive(key, 1)?;
        let offset = (page - 1)
            .checked_mul(per_page)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| ApiError::field(key, format!("`{page}` is past the last page")))?;
        // As Pagure counts them: no page at all when nothing matches (its
        // `last` link then names page 0).
        let pages = total.div_ceil(per_page);
        // Pagure's links: `per_page`, the other parameters as the request
        // gave them, then the page.
        let keep: Vec<(String, String)> = q
            .pairs()
            .iter()
            .filter(|(k, _)| k.as_str() != key && k.as_str() != "per_page")
            .cloned()
            .collect();
        let link = |p: u64| {
            let mut params = vec![("per_page".to_string(), per_page.to_string())];
            params.extend(keep.iter().cloned());
            params.push((key.into(), p.to_string()));
            format!(
                "{}{}?{}",
                self.call.base_url,
                self.call.path,
                serde_urlencoded::to_string(&params).unwrap_or_default()
            )
        };
        let pagination = Pagination {
            page,
            pages,
            per_page,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            first: link(1),
            last: link(pages),
            total: Some(total),
        };
        Ok((per_page as usize, offset, pagination))
    }
}

/// Whether `viewer` may see `project`: a public one anyone, a private one
/// its members (the API's, the pages' and git over HTTP's one rule).
pub(crate) fn visible_to(
    store: &Store,
    project: &Project,
    viewer: Option<&str>,
) -> forge_core::Result<bool> {
    if !project.private {
        return Ok(true);
    }
    Ok(match viewer {
        Some(v) => store.role_of(project, v)?.is_some(),
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_or_name_the_bad_parameter() {
        let q = Query::parse(Some("status=Open&tags=a+b&x=%C3%A9&empty=&flag")).expect("query");
        assert_eq!(q.get("status"), Some("Open"));
        assert_eq!(q.get("tags"), Some("a b"));
        assert_eq!(q.get("x"), Some("é"));
        assert_eq!(q.get("empty"), Some(""));
        assert_eq!(q.get("flag"), Some(""));
        let err = Query::parse(Some("status=Open&tags=%FF")).expect_err("bad utf-8");
        assert_eq!(err.status, 400);
        assert_eq!(
            err.errors,
            Some(serde_json::json!({"tags": ["is not valid percent-encoded UTF-8"]}))
        );
        let err = Query::parse(Some("page=abc"))
            .expect("parses")
            .positive("page", 1)
            .expect_err("not a number");
        assert!(err.errors.is_some_and(|e| e["page"].is_array()));
    }

    #[test]
    fn forms_and_json_give_the_same_fields() {
        let form = Fields::parse(None, b"title=T&tag=a&tag=b").expect("form");
        let json = Fields::parse(
            Some("application/json"),
            br#"{"title": "T", "tag": ["a", "b"]}"#,
        )
        .expect("json");
        for f in [form, json] {
            assert_eq!(f.required("title").ok().map(String::as_str), Some("T"));
            assert_eq!(f.list("tag"), ["a", "b"]);
        }
        assert!(Fields::parse(Some("application/json"), b"[1]").is_err());
        assert!(Fields::parse(None, b"a=%FF").is_err());
    }
}
