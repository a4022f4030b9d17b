//! `forge.toml`: settings of a whole forge home.
//!
//! ```toml
//! [pull_requests]
//! # Accept pull requests from remote git URLs at all.
//! remote = true
//! # Let remote URLs point at loopback and private addresses (tests, closed networks).
//! allow_local_remotes = false
//!
//! [server]
//! bind = "127.0.0.1:8080"       # FORGE_BIND overrides
//! max_body_bytes = 1048576      # FORGE_MAX_BODY_BYTES
//! request_timeout_secs = 30     # FORGE_REQUEST_TIMEOUT_SECS
//! public_url = "https://forge.example.org"   # FORGE_PUBLIC_URL
//! ssh_url = "ssh://git@forge.example.org"    # FORGE_SSH_URL
//! docs_bind = "127.0.0.1:8081"  # FORGE_DOCS_BIND: the docs server (off without it)
//! max_live_streams = 20000      # FORGE_MAX_LIVE_STREAMS: live streams (SSE) open at once
//! admin_bind = "127.0.0.1:9090" # FORGE_ADMIN_BIND: /healthz, /readyz, /metrics (off without it)
//! metrics_on_main = false       # FORGE_METRICS_ON_MAIN=1: /metrics on `bind` too
//!
//! [mail]
//! relay = "smtp://127.0.0.1:25"   # FORGE_MAIL_RELAY: or smtps://, smtp+starttls://, or sendmail
//! from = "forge <forge@forge.example.org>"   # FORGE_MAIL_FROM: no notification without it
//! reply_domain = "forge.example.org"         # FORGE_MAIL_REPLY_DOMAIN: reply+<key>@ this
//! retry_schedule = [5, 300, 1800, 7200, 18000, 36000, 36000] # FORGE_MAIL_RETRY_SCHEDULE=5,300
//!
//! [webhooks]
//! allow_private_targets = false # FORGE_WEBHOOKS_ALLOW_PRIVATE=1: loopback and private targets
//! retry_schedule = [5, 300, 1800, 7200, 18000, 36000, 36000] # FORGE_WEBHOOKS_RETRY_SCHEDULE=5,300
//! lease_secs = 60               # FORGE_WEBHOOKS_LEASE_SECS: a dead worker's jobs wait this long
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// The settings of a forge home; a missing file means all defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Pull-request settings.
    pub pull_requests: PullRequestConfig,
    /// `forge serve` settings.
    pub server: ServerSettings,
    /// Outgoing webhooks.
    pub webhooks: WebhookSettings,
    /// E-mail notifications and replies.
    pub mail: MailSettings,
}

/// Seconds before each retry, from an environment variable (`5,300,1800`).
fn schedule(name: &str, text: &str) -> Result<Vec<u64>> {
    text.split(',')
        .map(|d| d.trim().parse::<u64>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| {
            Error::invalid(
                name.to_string(),
                format!("{text:?} is not a list of seconds such as 5,300,1800"),
            )
        })
}

/// `[mail]` of `forge.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// Where notifications go: `smtp://host:port` (a relay, no TLS),
    /// `smtps://host:port` or `smtp+starttls://host:port`, or `sendmail`
    /// (the local `sendmail` command). `FORGE_MAIL_RELAY`.
    pub relay: String,
    /// The sender of notifications (`forge <forge@example.org>`);
    /// `FORGE_MAIL_FROM`. Without it no notification is sent.
    pub from: Option<String>,
    /// The domain of reply addresses (`reply+<key>@<domain>`);
    /// `FORGE_MAIL_REPLY_DOMAIN`. Without it notifications carry no
    /// reply address.
    pub reply_domain: Option<String>,
    /// Seconds before each retry of a mail the relay did not take (`None`:
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); `FORGE_MAIL_RETRY_SCHEDULE`.
    pub retry_schedule: Option<Vec<u64>>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            relay: "smtp://127.0.0.1:25".into(),
            from: None,
            reply_domain: None,
            retry_schedule: None,
        }
    }
}

impl MailSettings {
    /// Applies `FORGE_MAIL_RELAY`, `FORGE_MAIL_FROM` and
    /// `FORGE_MAIL_REPLY_DOMAIN`, and checks the relay's form.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        if let Some(v) = var("FORGE_MAIL_RELAY").filter(|v| !v.is_empty()) {
            self.relay = v;
        }
        if let Some(v) = var("FORGE_MAIL_FROM").filter(|v| !v.is_empty()) {
            self.from = Some(v);
        }
        if let Some(v) = var("FORGE_MAIL_REPLY_DOMAIN").filter(|v| !v.is_empty()) {
            self.reply_domain = Some(v);
        }
        if let Some(v) = var("FORGE_MAIL_RETRY_SCHEDULE").filter(|v| !v.is_empty()) {
            self.retry_schedule = Some(schedule("FORGE_MAIL_RETRY_SCHEDULE", &v)?);
        }
        let relay = self.relay.trim();
        let known = relay == "sendmail"
            || ["smtp://", "smtps://", "smtp+starttls://"]
                .iter()
                .any(|s| relay.strip_prefix(s).is_some_and(|rest| !rest.is_empty()));
        if !known {
            return Err(Error::invalid(
                "[mail] relay",
                format!("`{relay}` is neither smtp://host:port, smtps://host:port, smtp+starttls://host:port nor sendmail"),
            ));
        }
        if let Some(domain) = &self.reply_domain {
            if domain.is_empty() || domain.contains(['@', ' ', '/']) {
                return Err(Error::invalid(
                    "[mail] reply_domain",
                    format!("`{domain}` is not a mail domain (forge.example.org)"),
                ));
            }
        }
        Ok(self)
    }
}

/// `[webhooks]` of `forge.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether targets may be loopback or private addresses (closed
    /// networks, tests); `FORGE_WEBHOOKS_ALLOW_PRIVATE=1` says so too.
    pub allow_private_targets: bool,
    /// Seconds before each retry (`None`: Standard Webhooks' schedule, 5 s
    /// to 10 h); `FORGE_WEBHOOKS_RETRY_SCHEDULE="5,300,1800"` says so too.
    pub retry_schedule: Option<Vec<u64>>,
    /// Seconds a worker holds a job before another may take it
    /// (`FORGE_WEBHOOKS_LEASE_SECS`; 60 when unset).
    pub lease_secs: Option<u64>,
}

impl WebhookSettings {
    /// Applies `FORGE_WEBHOOKS_ALLOW_PRIVATE` (`1` or `true` allows),
    /// `FORGE_WEBHOOKS_RETRY_SCHEDULE` and `FORGE_WEBHOOKS_LEASE_SECS`.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        if let Some(v) = var("FORGE_WEBHOOKS_ALLOW_PRIVATE") {
            self.allow_private_targets = matches!(v.trim(), "1" | "true" | "yes");
        }
        if let Some(v) = var("FORGE_WEBHOOKS_RETRY_SCHEDULE") {
            self.retry_schedule = Some(schedule("FORGE_WEBHOOKS_RETRY_SCHEDULE", &v)?);
        }
        if let Some(v) = var("FORGE_WEBHOOKS_LEASE_SECS") {
            let secs = v.trim().parse::<u64>().ok().filter(|s| *s > 0);
            self.lease_secs = Some(secs.ok_or_else(|| {
                Error::invalid(
                    "FORGE_WEBHOOKS_LEASE_SECS",
                    format!("{v:?} is not a number of seconds above 0"),
                )
            })?);
        }
        Ok(self)
    }
}

/// `[server]` of `forge.toml`; each key can be overridden by an environment
/// variable (`FORGE_BIND`, `FORGE_MAX_BODY_BYTES`, `FORGE_REQUEST_TIMEOUT_SECS`,
/// `FORGE_PUBLIC_URL`, `FORGE_SSH_URL`, `FORGE_DOCS_BIND`, `FORGE_MAX_LIVE_STREAMS`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub bind: String,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest time one request may take.
    pub request_timeout_secs: u64,
    /// The URL people reach the server at (`https://forge.example.org`),
    /// which the API's links and `full_url`s start with; without it they
    /// start with `http://` and the request's `Host`.
    pub public_url: Option<String>,
    /// Where people clone over SSH (`ssh://git@forge.example.org`), the
    /// start of the `ssh` clone URL the API gives; none without it.
    pub ssh_url: Option<String>,
    /// Where the docs server listens (public projects' docs repositories,
    /// on an origin of their own); not served without it.
    pub docs_bind: Option<String>,
    /// Live streams (Server-Sent Events) open at once; more are refused
    /// with a 503 until some close.
    pub max_live_streams: usize,
    /// Where the admin listener serves `/healthz`, `/readyz` and
    /// `/metrics` (for operators and Prometheus, not the public); none
    /// without it.
    pub admin_bind: Option<String>,
    /// Whether `/metrics` is served on `bind` too (it tells request counts
    /// and queue sizes to anyone who can reach it).
    pub metrics_on_main: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 1 << 20,
            request_timeout_secs: 30,
            public_url: None,
            ssh_url: None,
            docs_bind: None,
            max_live_streams: 20_000,
            admin_bind: None,
            metrics_on_main: false,
        }
    }
}

impl ServerSettings {
    /// Applies the environment overrides, naming a bad value.
    pub fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        if let Some(bind) = var("FORGE_BIND").filter(|v| !v.is_empty()) {
            self.bind = bind;
        }
        let number = |name: &str, text: String| -> Result<u64> {
            text.trim().parse::<u64>().map_err(|_| {
                Error::invalid(
                    format!("environment variable {name}"),
                    format!("`{text}` is not a whole number"),
                )
            })
        };
        if let Some(v) = var("FORGE_MAX_BODY_BYTES").filter(|v| !v.is_empty()) {
            self.max_body_bytes = number("FORGE_MAX_BODY_BYTES", v)? as usize;
        }
        if let Some(v) = var("FORGE_REQUEST_TIMEOUT_SECS").filter(|v| !v.is_empty()) {
            self.request_timeout_secs = number("FORGE_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = var("FORGE_PUBLIC_URL").filter(|v| !v.is_empty()) {
            self.public_url = Some(v);
        }
        if let Some(url) = self.public_url.take() {
            self.public_url = Some(public_url(&url)?);
        }
        if let Some(v) = var("FORGE_MAX_LIVE_STREAMS").filter(|v| !v.is_empty()) {
            self.max_live_streams = number("FORGE_MAX_LIVE_STREAMS", v)? as usize;
        }
        if let Some(v) = var("FORGE_DOCS_BIND").filter(|v| !v.is_empty()) {
            self.docs_bind = Some(v);
        }
        if let Some(v) = var("FORGE_ADMIN_BIND").filter(|v| !v.is_empty()) {
            self.admin_bind = Some(v);
        }
        if let Some(v) = var("FORGE_METRICS_ON_MAIN").filter(|v| !v.is_empty()) {
            self.metrics_on_main = match v.trim() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(Error::invalid(
                        "environment variable FORGE_METRICS_ON_MAIN",
                        format!("`{v}` is not 1 or 0"),
                    ))
                }
            };
        }
        if let Some(v) = var("FORGE_SSH_URL").filter(|v| !v.is_empty()) {
            self.ssh_url = Some(v);
        }
        if let Some(url) = self.ssh_url.take() {
            self.ssh_url = Some(ssh_url(&url)?);
        }
        Ok(self)
    }
}

/// A public URL as links need it: `http://` or `https://`, a host, no
/// query, fragment, space or control character; a trailing `/` dropped.
fn public_url(url: &str) -> Result<String> {
    link_base(
        "public_url",
        url,
        &["https://", "http://"],
        true,
        "it must be an http:// or https:// URL with a host and no query",
    )
}

/// An SSH clone URL's start as links need it: `ssh://`, a host, no path
/// past `/`, no space, control character, query or fragment; a trailing `/`
/// dropped.
fn ssh_url(url: &str) -> Result<String> {
    link_base(
        "ssh_url",
        url,
        &["ssh://"],
        false,
        "it must be ssh://[user@]host[:port] with nothing after",
    )
}

/// The start of links a setting `key` gives: one of `schemes`, a host
/// (and a path when `path_ok`), no query, fragment, space or control
/// character; a trailing `/` dropped. Otherwise `why`.
fn link_base(key: &str, url: &str, schemes: &[&str], path_ok: bool, why: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = schemes.iter().find_map(|s| trimmed.strip_prefix(s));
    let ok = rest.is_some_and(|r| !r.is_empty() && (path_ok || !r.contains('/')))
        && !trimmed
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"'));
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(Error::invalid(
            format!("{key} `{}`", crate::name::printable(url)),
            why,
        ))
    }
}

/// `[pull_requests]` of `forge.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PullRequestConfig {
    /// Whether pull requests may come from remote git URLs.
    pub remote: bool,
    /// Whether those URLs may point at loopback or private addresses.
    pub allow_local_remotes: bool,
}

impl Default for PullRequestConfig {
    fn default() -> Self {
        PullRequestConfig {
            remote: true,
            allow_local_remotes: false,
        }
    }
}

impl Config {
    /// Reads `path`; a file that does not exist gives the defaults, a
    /// malformed one an error naming the file and the problem.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(Error::invalid(path.display().to_string(), e.to_string())),
        };
        toml::from_str(&text)
            .map_err(|e| Error::invalid(path.display().to_string(), e.message().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_overrides_and_errors() -> Result<()> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("forge.toml");
        assert_eq!(Config::load(&path)?, Config::default());
        assert!(Config::default().pull_requests.remote);
        std::fs::write(&path, "[pull_requests]\nallow_local_remotes = true\n").expect("write");
        let config = Config::load(&path)?;
        assert!(config.pull_requests.allow_local_remotes && config.pull_requests.remote);
        std::fs::write(&path, "[pull_requests]\nremotes = true\n").expect("write");
        let err = Config::load(&path).expect_err("unknown key").to_string();
        assert!(
            err.contains("forge.toml") && err.contains("remotes"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn mail_settings_take_the_environment_and_name_a_bad_value() -> Result<()> {
        let vars = |relay: &'static str| {
            move |k: &str| match k {
                "FORGE_MAIL_RELAY" => Some(relay.to_string()),
                "FORGE_MAIL_FROM" => Some("forge <forge@forge.test>".to_string()),
                _ => None,
            }
        };
        let m = MailSettings::default().with_env(vars("sendmail"))?;
        assert_eq!(m.relay, "sendmail");
        assert_eq!(m.from.as_deref(), Some("forge <forge@forge.test>"));
        assert_eq!(
            MailSettings::default().with_env(|_| None)?.relay,
            "smtp://127.0.0.1:25"
        );
        let err = MailSettings::default()
            .with_env(vars("mail.example.org"))
            .expect_err("no scheme")
            .to_string();
        assert!(
            err.contains("[mail] relay") && err.contains("mail.example.org"),
            "{err}"
        );
        let bad_domain = MailSettings {
            reply_domain: Some("reply@forge.test".into()),
            ..Default::default()
        };
        assert!(bad_domain.with_env(|_| None).is_err());
        Ok(())
    }

    #[test]
    fn link_settings_are_checked_and_trimmed() -> Result<()> {
        let env = |pairs: Vec<(&'static str, &'static str)>| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = ServerSettings::default().with_env(env(vec![
            ("FORGE_PUBLIC_URL", "https://forge.example.org/"),
            ("FORGE_SSH_URL", "ssh://git@forge.example.org:2222/"),
        ]))?;
        assert_eq!(s.public_url.as_deref(), Some("https://forge.example.org"));
        assert_eq!(
            s.ssh_url.as_deref(),
            Some("ssh://git@forge.example.org:2222")
        );
        for (name, bad) in [
            ("FORGE_SSH_URL", "git@forge.example.org"),
            ("FORGE_SSH_URL", "ssh://host/path"),
            ("FORGE_PUBLIC_URL", "ftp://forge.example.org"),
            ("FORGE_PUBLIC_URL", "https://forge.example.org/?q"),
        ] {
            let err = ServerSettings::default()
                .with_env(env(vec![(name, bad)]))
                .expect_err(bad)
                .to_string();
            assert!(err.contains(bad), "{err}");
        }
        Ok(())
    }
}
