//! Git over smart HTTP, through git's own `git http-backend` (CGI), with
//! both bodies streamed: a push is never held in memory.
//!
//! Reads are anonymous for public repositories; pushes (and reads of
//! private ones) use HTTP Basic auth whose password is an API token (a push
//! needs the `commit` ACL). The pusher reaches the hooks as `FORGE_USER`,
//! and the hooks decide what lands.

use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use forge_core::repo_access::{Claimant, GitService, Refusal, RepoRef};
use forge_core::role::Action;
use forge_core::Store;
use forge_tickets::access::git_access;
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWriteExt as _, BufReader, ReadBuf};
use tokio::process::{ChildStdout, Command};

use crate::app::{App, ResBody};
use crate::error::ApiError;

/// Splits `/<repo>.git/<rest>` into the repository and the rest, if the
/// path names a git repository (the API lives under `/api/`).
pub fn split_git_path(path: &str) -> Option<(String, String)> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    if decoded != path {
        // Encoded characters in a repository path are a trick, not a name.
        return None;
    }
    let rest = path.strip_prefix('/')?;
    let at = rest.find(".git/")?;
    let (repo, tail) = rest.split_at(at + 4);
    Some((repo.to_string(), tail.trim_start_matches('/').to_string()))
}

fn plain(status: u16, message: &str) -> Response<ResBody> {
    let mut resp = Response::new(crate::app::full(Bytes::from(format!("{message}\n"))));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn unauthorized(message: &str) -> Response<ResBody> {
    let mut resp = plain(401, message);
    resp.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"forge\""),
    );
    resp
}

/// The token given as the Basic password (or as `Authorization: token`).
fn presented_token<B>(req: &Request<B>) -> Option<String> {
    let header = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    if let Some(b64) = header.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    header.strip_prefix("token ").map(|t| t.trim().to_string())
}

struct Decision {
    repo_dir: std::path::PathBuf,
    user: Option<String>,
}

/// Why a git request is refused, and how the answer says it.
enum Refused {
    /// A plain-text answer with this status.
    Plain(u16, String),
    /// A 401 asking for credentials.
    Ask(String),
    /// A failure: the API's error answer.
    Failed(Box<ApiError>),
    /// The project was renamed: the repository's path under its new name.
    Moved(String),
}

impl Refused {
    fn response(self) -> Response<ResBody> {
        match self {
            Refused::Plain(status, m) => plain(status, &m),
            Refused::Ask(m) => unauthorized(&m),
            Refused::Failed(e) => crate::app::error_response(&e),
            Refused::Moved(_) => plain(404, "not found"),
        }
    }
}

/// Who asks, and may they: the token (a push needs its `commit` ACL),
/// then the access decision every door shares. Runs on a blocking thread
/// (SQLite, the index sync), on the thread's connection.
fn decide(app: &App, repo: &str, writes: bool, token: Option<&str>) -> Result<Decision, Refused> {
    crate::app::with_store(app, |store| {
        Ok(decide_with(store, app, repo, writes, token))
    })
    .unwrap_or_else(|e| Err(Refused::Failed(Box::new(e))))
}

fn decide_with(
    store: &Store,
    app: &App,
    repo: &str,
    writes: bool,
    token: Option<&str>,
) -> Result<Decision, Refused> {
    let failed = |e: forge_tickets::Error| Refused::Failed(Box::new(ApiError::from(e)));
    let target = RepoRef::parse(repo).map_err(|e| Refused::Plain(404, e.to_string()))?;
    let token = match token {
        Some(secret) => Some(
            store
                .verify_token(secret)
                .map_err(|_| Refused::Ask("invalid or expired token".into()))?,
        ),
        None => None,
    };
    if writes {
        match (
            &token,
            store
                .find_project(&target.project)
                .map_err(|e| failed(e.into()))?,
        ) {
            (None, _) => {
                return Err(Refused::Ask(
                    "pushing needs a token with the `commit` ACL as the password".into(),
                ))
            }
            (Some(t), Some(project)) if !t.allows(Action::Commit, Some(&project.full_name)) => {
                return Err(Refused::Plain(
                    403,
                    "the token does not allow `commit` on this project".into(),
                ))
            }
            _ => {}
        }
    }
    let claimant = match &token {
        Some(t) => Claimant::User(t.user.clone()),
        None => Claimant::Anonymous,
    };
    let service = if writes {
        GitService::ReceivePack
    } else {
        GitService::UploadPack
    };
    match git_access(store, &app.home, &claimant, &target, service).map_err(failed)? {
        Ok(access) => Ok(Decision {
            repo_dir: access.dir,
            user: token.map(|t| t.user),
        }),
        Err(Refusal::NeedsIdentity(m)) => Err(Refused::Ask(m)),
        // Not found: perhaps under the name it had before a rename.
        Err(Refusal::NotFound(m)) => {
            let viewer = token.as_ref().map(|t| t.user.as_str());
            match renamed(store, repo, &target.project, viewer).map_err(|e| failed(e.into()))? {
                Some(moved) => Err(Refused::Moved(moved)),
                None => Err(Refused::Plain(404, m)),
            }
        }
        Err(Refusal::Forbidden(m)) => Err(Refused::Plain(403, m)),
    }
}

/// The path of `repo` under its project's new name, when the project it
/// names was renamed (and `viewer` may see it: a private project's new
/// name is not told to others).
fn renamed(
    store: &Store,
    repo: &str,
    project: &str,
    viewer: Option<&str>,
) -> forge_core::Result<Option<String>> {
    let Some(moved) = crate::router::renamed_to(store, project, viewer)? else {
        return Ok(None);
    };
    let new = moved.full_name;
    let Some(prefix) = repo
        .strip_suffix(".git")
        .and_then(|r| r.strip_suffix(project))
    else {
        return Ok(None);
    };
    Ok(Some(format!("{prefix}{new}.git")))
}

/// Serves one git request.
pub async fn serve_git<B>(
    app: Arc<App>,
    req: Request<B>,
    repo: String,
    rest: String,
) -> Response<ResBody>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Display + Send,
{
    let query = req.uri().query().unwrap_or_default().to_string();
    let service = match (req.method().as_str(), rest.as_str()) {
        ("GET", "info/refs") => match query.split('&').find_map(|kv| kv.strip_prefix("service=")) {
            Some(s @ ("git-upload-pack" | "git-receive-pack")) => s.to_string(),
            _ => return plain(403, "only the smart HTTP protocol is served"),
        },
        ("POST", s @ ("git-upload-pack" | "git-receive-pack")) => s.to_string(),
        _ => return plain(404, "not found"),
    };
    let writes = service == "git-receive-pack";
    let token = presented_token(&req);
    let decided = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || decide(&app, &repo, writes, token.as_deref())).await
    };
    let decision = match decided {
        Ok(Ok(d)) => d,
        // git follows a redirect of its first request, and goes on at the
        // new address (saying so).
        Ok(Err(Refused::Moved(moved))) if req.method() == hyper::Method::GET => {
            let mut resp = plain(301, "moved: the project was renamed");
            let location = format!("/{moved}/{rest}?{query}");
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(hyper::header::LOCATION, v);
            }
            return resp;
        }
        Ok(Err(refused)) => return refused.response(),
        Err(_) => {
            return crate::app::error_response(&ApiError::internal("the access check panicked"))
        }
    };
    let Some(parent) = decision.repo_dir.parent() else {
        return plain(404, "not found");
    };
    let name = decision
        .repo_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", parent)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{name}/{rest}"))
        .env("REQUEST_METHOD", req.method().as_str())
        .env("QUERY_STRING", &query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env(
            "FORGE_HOME",
            app.home
                .root()
                .canonicalize()
                .unwrap_or_else(|_| app.home.root().to_path_buf()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(user) = &decision.user {
        cmd.env("REMOTE_USER", user).env("FORGE_USER", user);
    }
    let length = header("content-length");
    if !length.is_empty() {
        cmd.env("CONTENT_LENGTH", length);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return crate::app::error_response(&ApiError::internal(format!(
                "running git http-backend: {e}"
            )))
        }
    };
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return crate::app::error_response(&ApiError::internal("git http-backend has no pipes"));
    };
    // The request body goes to git as it arrives.
    let mut body = req.into_body();
    tokio::spawn(async move {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Ok(data) = frame.into_data() {
                if stdin.write_all(&data).await.is_err() {
                    break;
                }
            }
        }
        let _ = stdin.shutdown().await;
    });
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    // CGI headers, then the body as git writes it.
    let mut reader = BufReader::new(stdout);
    let mut resp = Response::builder();
    let mut status = 200u16;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return plain(502, &format!("reading git http-backend: {e}")),
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("status") {
                status = v
                    .trim()
                    .split(' ')
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(200);
            } else {
                resp = resp.header(k.trim(), v.trim());
            }
        }
    }
    let body = ChildBody { out: reader }.boxed_unsync();
    resp.status(status)
        .body(body)
        .unwrap_or_else(|_| plain(502, "git http-backend sent malformed headers"))
}

/// A response body read from git's output as the client takes it.
struct ChildBody {
    out: BufReader<ChildStdout>,
}

impl Body for ChildBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let mut buf = vec![0u8; 64 << 10];
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut self.out).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(None),
            Poll::Ready(Ok(())) => {
                Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(read.filled())))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_paths_split_or_are_refused() {
        assert_eq!(
            split_git_path("/tools/hammer.git/info/refs"),
            Some(("tools/hammer.git".into(), "info/refs".into()))
        );
        assert_eq!(
            split_git_path("/forks/bob/hammer.git/git-upload-pack"),
            Some(("forks/bob/hammer.git".into(), "git-upload-pack".into()))
        );
        assert_eq!(split_git_path("/api/0/version"), None);
        assert_eq!(split_git_path("/tools%2Fhammer.git/info/refs"), None);
        assert_eq!(split_git_path("/..%2F..%2Fetc.git/info/refs"), None);
    }
}
