//! GitHub's REST API as the replication reads it: a GET with the token and
//! GitHub's headers, conditional (`If-None-Match`) when the page's ETag is
//! known, to the API's own origin only, through the same address checks
//! and pinned connection as webhooks; the answer read for its next page and
//! what its rate-limit headers ask. Errors name the address, never the
//! token.

use std::time::Duration;

use url::Url;

use super::paging::{next_page, BadLink, Limits};
use crate::{deliver, ssrf};

/// Most bytes of one page read (100 issues with long bodies stay far
/// below; a page cut at this size does not parse and is asked again).
pub const PAGE_LIMIT: u64 = 32 * 1024 * 1024;
/// The API version asked for.
pub const API_VERSION: &str = "2022-11-28";

/// A GitHub (or GitHub Enterprise) API and how to reach it.
#[derive(Clone)]
pub struct Client {
    api: Url,
    token: Option<String>,
    allow_private: bool,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api.as_str())
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// A page of an answer.
#[derive(Debug, Clone)]
pub struct Page {
    /// The JSON text.
    pub body: String,
    /// Its ETag, for the next run's conditional request.
    pub etag: Option<String>,
    /// The next page, if any.
    pub next: Option<Url>,
    /// How long to wait before the next request (no requests left).
    pub pause: Option<Duration>,
}

/// What a GET gave.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// A page.
    Page(Page),
    /// `304 Not Modified`: the page is as it was when its ETag was taken.
    NotModified,
}

/// Why a GET gave no page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The API refused for a rate limit: wait this long, then ask again.
    #[error("GitHub's rate limit: waiting {} s before asking {url} again", .pause.as_secs())]
    Limited {
        /// The address asked.
        url: String,
        /// How long to wait.
        pause: Duration,
    },
    /// Worth asking again later: no answer, a 5xx, a page cut short.
    #[error("{0}")]
    Later(String),
    /// Asking again cannot help: a 4xx, an address refused, a `Link` to
    /// another server.
    #[error("{0}")]
    Never(String),
}

impl Client {
    /// The API at `api` (`https://api.github.com`, or a GitHub Enterprise
    /// server's `/api/v3`), with `token` if given.
    pub fn new(api: &Url, token: Option<String>, allow_private: bool, timeout: Duration) -> Client {
        Client {
            api: api.clone(),
            token,
            allow_private,
            timeout,
        }
    }

    /// `path` (`repos/o/r/issues?state=all`) under the API's address.
    pub fn url(&self, path: &str) -> Result<Url, ClientError> {
        let base = format!("{}/", self.api.as_str().trim_end_matches('/'));
        Url::parse(&base)
            .and_then(|b| b.join(path))
            .map_err(|e| ClientError::Never(format!("`{path}` makes no API address ({e})")))
    }

    /// GETs `url` (on the API's origin), conditionally when `etag` is
    /// given.
    pub fn get(&self, url: &Url, etag: Option<&str>) -> Result<Fetched, ClientError> {
        if url.origin() != self.api.origin() {
            return Err(ClientError::Never(format!(
                "{url} is not on the API's server ({})",
                self.api.origin().ascii_serialization()
            )));
        }
        let target =
            ssrf::check(url.as_str(), self.allow_private, &ssrf::system_resolve).map_err(|e| {
                ClientError::Never(format!("the GitHub API address is refused: {}", e.reason))
            })?;
        let mut headers = vec![
            (
                "accept".to_string(),
                "application/vnd.github+json".to_string(),
            ),
            ("x-github-api-version".to_string(), API_VERSION.to_string()),
        ];
        if let Some(token) = &self.token {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        if let Some(tag) = etag {
            headers.push(("if-none-match".into(), tag.to_string()));
        }
        let answer = deliver::get(&target, &headers, self.timeout, PAGE_LIMIT);
        let Some(status) = answer.status else {
            let why = answer.error.as_deref().unwrap_or("no answer");
            let why = match &self.token {
                Some(t) => why.replace(t.as_str(), "***"),
                None => why.to_string(),
            };
            return Err(ClientError::Later(format!("{url}: {why}")));
        };
        if let Some(cut) = &answer.error {
            return Err(ClientError::Later(format!(
                "{url}: HTTP {status}, but {cut}"
            )));
        }
        let message = serde_json::from_str::<serde_json::Value>(&answer.response)
            .ok()
            .and_then(|v| v["message"].as_str().map(String::from))
            .unwrap_or_default();
        let limits = Limits {
            status,
            retry_after: answer.header("retry-after"),
            remaining: answer.header("x-ratelimit-remaining"),
            reset: answer.header("x-ratelimit-reset"),
            message: &message,
        };
        let now = chrono::Utc::now().timestamp();
        if limits.refused() {
            return Err(ClientError::Limited {
                url: url.to_string(),
                pause: limits.pause(now).unwrap_or(super::paging::SECONDARY_PAUSE),
            });
        }
        let shown: String = message
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        match status {
            304 => Ok(Fetched::NotModified),
            200..=299 => {
                let next = next_page(answer.header("link"), &self.api)
                    .map_err(|e: BadLink| ClientError::Never(format!("{url}: {e}")))?;
                let pause = limits.pause(now);
                let etag = answer.header("etag").map(String::from);
                Ok(Fetched::Page(Page {
                    body: answer.response,
                    etag,
                    next,
                    pause,
                }))
            }
            s if s >= 500 => Err(ClientError::Later(format!("{url}: HTTP {s} {shown}"))),
            s => Err(ClientError::Never(format!("{url}: HTTP {s} {shown}"))),
        }
    }
}
