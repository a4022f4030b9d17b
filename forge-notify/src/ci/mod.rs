//! CI providers: a project's CI server builds its pull requests and forge
//! flags them with the result.
//!
//! A provider ([`Provider`]) does two things over HTTP: it asks the server
//! for a build of a pull request ([`Provider::trigger`]) and it reads what
//! became of a build the server says has finished ([`Provider::report`]).
//! The rest is shared: a project's server, job and tokens ([`setup`]), and
//! the `ci` consumer of the event log ([`worker`]) that triggers a build
//! when a pull request opens, reopens or its head moves, and turns a
//! server's call back (recorded as a `ci.build.finished` event by the HTTP
//! server) into the pull request's flag — polling while the build runs,
//! retrying while the server is down.
//!
//! One provider is built in: [`jenkins`], as Pagure speaks to it. Any other
//! CI needs no code here: it receives forge's signed webhooks and posts
//! flags with an API token (`docs/ci.md`).

use std::time::Duration;

use forge_tickets::NewFlag;

pub mod jenkins;
pub mod setup;
pub mod worker;

/// What a provider is asked to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// The pull request's number (Jenkins' `cause`).
    pub pull: u64,
    /// The git URL its commits are fetched from (`REPO`).
    pub repo_url: String,
    /// The branch with its commits (`BRANCH`).
    pub branch: String,
    /// The branch it goes into (`BRANCH_TO`).
    pub branch_to: String,
}

/// What a provider says about one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The pull request it was built for.
    pub pull: u64,
    /// The flag it makes.
    pub flag: NewFlag,
    /// Whether it has ended (else it is read again later).
    pub finished: bool,
}

/// Why a provider's call did not succeed. The text never holds a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Worth trying again later: the server is down, busy or answered
    /// something unreadable.
    #[error("{0}")]
    Later(String),
    /// Trying again cannot help until someone changes something: no such
    /// job or build, a refused token.
    #[error("{0}")]
    Never(String),
}

/// How forge reaches CI servers.
#[derive(Debug, Clone)]
pub struct Net {
    /// Servers may be loopback or private addresses (a CI server inside
    /// the network is common; `FORGE_WEBHOOKS_ALLOW_PRIVATE`).
    pub allow_private: bool,
    /// The limit of one request.
    pub timeout: Duration,
}

/// A CI server's protocol.
pub trait Provider {
    /// Asks for a build of `request`.
    fn trigger(&self, request: &BuildRequest, net: &Net) -> Result<(), Failure>;
    /// What build `number` says now.
    fn report(&self, number: u64, net: &Net) -> Result<Report, Failure>;
}

/// `text` with each of `secrets` replaced by `***` (an HTTP library's error
/// may quote the URL a token travels in).
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "***");
        let encoded = url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        out = out.replace(&encoded, "***");
    }
    out
}
