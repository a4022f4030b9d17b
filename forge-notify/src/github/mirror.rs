//! A project made a mirror of a GitHub repository: which repository, the
//! API's address (GitHub Enterprise, or a test's server), the API token and
//! the webhook secret — both sealed under the home's key, never shown back
//! but the secret once, when the mirror is made. Who may make one (project
//! admins) is decided by the caller (`forge_tickets::Admin`).

use forge_core::account::random_secret;
use forge_core::name::printable;
use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use url::Url;

use super::client::Client;
use super::replicate::CLOSE_REASONS;
use crate::seal::{check_secret, Sealer};
use crate::ssrf;

/// GitHub's own API.
pub const GITHUB_API: &str = "https://api.github.com";

/// What can go wrong setting up a mirror.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed, or a value was refused.
    #[error(transparent)]
    Core(#[from] forge_core::Error),
    /// The API's address was refused.
    #[error("the GitHub API address is refused: {0}")]
    Refused(String),
    /// The key file could not be read or made, or a secret not decrypted.
    #[error("{0}")]
    Key(String),
    /// The project's issues or pull requests could not be read or written.
    #[error(transparent)]
    Tickets(#[from] forge_tickets::Error),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Core(e.into())
    }
}

/// Result of mirror setup operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A mirror as shown (no token, no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mirror {
    /// `owner/name` on GitHub.
    pub repo: String,
    /// The API's address.
    pub api_url: String,
    /// Whether it reads with a token (without one: 60 requests an hour).
    pub has_token: bool,
    /// When it was made (epoch seconds).
    pub created_at: i64,
}

/// What a mirror holds and when it last heard from GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// The mirror.
    #[serde(flatten)]
    pub mirror: Mirror,
    /// Records replicated, by kind (`issue`, `pull`, `comment`...).
    pub records: std::collections::BTreeMap<String, u64>,
    /// When a webhook last brought a record (epoch ms).
    pub last_webhook_at: Option<i64>,
    /// When the API last brought a record (epoch ms).
    pub last_api_at: Option<i64>,
    /// Resources a sync stopped in the middle of (it goes on from there).
    pub unfinished: Vec<String>,
    /// Deliveries received and not applied yet.
    pub waiting_deliveries: u64,
    /// Deliveries that could not be applied (`forge queue list --state dead`).
    pub dead_deliveries: u64,
}

/// What an admin gives.
#[derive(Debug, Clone, Default)]
pub struct NewMirror<'a> {
    /// `owner/name`.
    pub repo: &'a str,
    /// The API's address (GitHub's when `None`).
    pub api_url: Option<&'a str>,
    /// The API token.
    pub token: Option<&'a str>,
    /// The webhook secret (made when `None`).
    pub secret: Option<&'a str>,
}

/// `owner/name`: GitHub's owners and repository names take letters,
/// digits, `-`, `_` and `.`.
fn check_repo(repo: &str) -> Result<()> {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p != "."
            && p != ".."
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if part(owner) && part(name) => Ok(()),
        _ => Err(forge_core::Error::invalid(
            format!("GitHub repository `{}`", printable(repo)),
            "expected OWNER/NAME",
        )
        .into()),
    }
}

/// The mirrors of a forge home.
pub struct Mirrors<'s> {
    store: &'s Store,
    home: ForgeHome,
    sealer: Sealer,
}

fn mirror_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Mirror> {
    Ok(Mirror {
        repo: r.get(0)?,
        api_url: r.get(1)?,
        has_token: r.get::<_, Option<String>>(2)?.is_some(),
        created_at: r.get(3)?,
    })
}

impl<'s> Mirrors<'s> {
    /// The mirrors of `home`.
    pub fn new(store: &'s Store, home: &ForgeHome) -> Mirrors<'s> {
        Mirrors {
            store,
            home: home.clone(),
            sealer: Sealer::new(home),
        }
    }

    /// How many issues and pull requests `project` holds, private ones
    /// included.
    fn items_of(&self, project: &Project) -> Result<u64> {
        let all = forge_tickets::Actor::clone_owner(&project.owner, "");
        let count = || -> forge_tickets::Result<u64> {
            let issues =
                forge_tickets::Tracker::create_for_project(self.store, &self.home, project)?
                    .count(&all, &forge_tickets::IssueFilter::default())?;
            let pulls = forge_tickets::PullRequests::open(self.store, &self.home, project)?
                .count(&all, &forge_tickets::PullFilter::default())?;
            Ok(issues + pulls)
        };
        Ok(count()?)
    }

    /// Makes `project` (without issues or pull requests of its own) a
    /// mirror of `new.repo`; its close reasons take GitHub's. Returns it
    /// with its webhook secret, shown this once.
    pub fn add(
        &self,
        project: &Project,
        new: &NewMirror<'_>,
        allow_private: bool,
    ) -> Result<(Mirror, String)> {
        check_repo(new.repo)?;
        let api = new
            .api_url
            .unwrap_or(GITHUB_API)
            .trim()
            .trim_end_matches('/');
        let target = ssrf::check(api, allow_private, &ssrf::system_resolve)
            .map_err(|e| Error::Refused(e.explained()))?;
        if target.url.query().is_some() || target.url.fragment().is_some() {
            return Err(Error::Refused(format!(
                "`{}`: give the API's address without a query",
                printable(api)
            )));
        }
        if let Some(t) = new.token {
            check_secret("API token", t, false)?;
        }
        let secret = match new.secret {
            Some(s) => {
                check_secret("webhook secret", s, true)?;
                s.to_string()
            }
            None => random_secret(),
        };
        if project.mirror.is_some() {
            return Err(forge_core::Error::invalid(
                format!("project `{}`", project.full_name),
                "it is a mirror already (`forge mirror remove` first)",
            )
            .into());
        }
        let own = self.items_of(project)?;
        if own > 0 {
            return Err(forge_core::Error::invalid(
                format!("project `{}`", project.full_name),
                format!("it has {own} issue(s) or pull request(s) of its own; a mirror starts empty (make a new project)"),
            )
            .into());
        }
        let token = new
            .token
            .map(|t| self.sealer.seal(t))
            .transpose()
            .map_err(Error::Key)?;
        let sealed_secret = self.sealer.seal(&secret).map_err(Error::Key)?;
        let mut settings = project.settings.clone();
        for reason in CLOSE_REASONS {
            if !settings.close_reasons.iter().any(|r| r == reason) {
                settings.close_reasons.push(reason.to_string());
            }
        }
        self.store.set_project_settings(project, &settings)?;
        self.store.conn().execute(
            "INSERT INTO github_mirrors (project_id, repo, api_url, token, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                project.id,
                new.repo,
                target.url.as_str().trim_end_matches('/'),
                token,
                sealed_secret,
                forge_core::time::now_epoch()
            ],
        )?;
        let mirror = self
            .get(project)?
            .ok_or_else(|| forge_core::Error::not_found("mirror", project.full_name.clone()))?;
        Ok((mirror, secret))
    }

    /// `project`'s mirror, if it is one.
    pub fn get(&self, project: &Project) -> Result<Option<Mirror>> {
        Ok(self
            .store
            .conn()
            .prepare_cached(
                "SELECT repo, api_url, token, created_at FROM github_mirrors WHERE project_id = ?1",
            )?
            .query_row([project.id], mirror_from_row)
            .optional()?)
    }

    /// Makes `project` a project of its own again: what was replicated
    /// stays, local writes are taken again, and the backfill's state goes.
    pub fn remove(&self, project: &Project) -> Result<()> {
        let conn = self.store.conn();
        let tx = conn.unchecked_transaction()?;
        let removed = tx.execute(
            "DELETE FROM github_mirrors WHERE project_id = ?1",
            [project.id],
        )?;
        for table in ["github_cursors", "github_pages", "github_records"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE project_id = ?1"),
                [project.id],
            )?;
        }
        tx.commit()?;
        if removed == 0 {
            return Err(forge_core::Error::not_found("mirror", project.full_name.clone()).into());
        }
        Ok(())
    }

    /// What `project`'s mirror holds; `None` when it is no mirror.
    pub fn status(&self, project: &Project) -> Result<Option<Status>> {
        let Some(mirror) = self.get(project)? else {
            return Ok(None);
        };
        let conn = self.store.conn();
        let mut records = std::collections::BTreeMap::new();
        let mut stmt = conn.prepare(
            "SELECT kind, count(*), max(by_webhook_at), max(by_api_at) FROM github_records WHERE project_id = ?1 GROUP BY kind",
        )?;
        let mut last_webhook_at: Option<i64> = None;
        let mut last_api_at: Option<i64> = None;
        let rows = stmt.query_map([project.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        for row in rows {
            let (kind, n, webhook, api) = row?;
            records.insert(kind, n as u64);
            last_webhook_at = last_webhook_at.max(webhook);
            last_api_at = last_api_at.max(api);
        }
        let unfinished = conn
            .prepare("SELECT resource FROM github_cursors WHERE project_id = ?1 AND next_url IS NOT NULL ORDER BY resource")?
            .query_map([project.id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let waiting_deliveries: i64 = conn.query_row(
            "SELECT count(*) FROM github_deliveries WHERE project_id = ?1 AND payload IS NOT NULL",
            [project.id],
            |r| r.get(0),
        )?;
        let dead_deliveries: i64 = conn.query_row(
            "SELECT count(*) FROM jobs WHERE consumer = 'github' AND target IN (?1, ?1 || ':push') AND state = 'dead'",
            [format!("github:{}", project.id)],
            |r| r.get(0),
        )?;
        Ok(Some(Status {
            mirror,
            records,
            last_webhook_at,
            last_api_at,
            unfinished,
            waiting_deliveries: waiting_deliveries as u64,
            dead_deliveries: dead_deliveries as u64,
        }))
    }

    /// The webhook secret of the mirror of the project with id `project_id`.
    pub fn secret(&self, project_id: i64) -> Result<Option<String>> {
        let sealed: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT secret FROM github_mirrors WHERE project_id = ?1",
                [project_id],
                |r| r.get(0),
            )
            .optional()?;
        sealed
            .map(|s| self.sealer.open(&s, "a GitHub webhook secret"))
            .transpose()
            .map_err(Error::Key)
    }

    /// An API client for the mirror of `project` (its token opened).
    pub fn client(
        &self,
        project: &Project,
        allow_private: bool,
        timeout: std::time::Duration,
    ) -> Result<Option<(Mirror, Client)>> {
        let row: Option<(Mirror, Option<String>)> = self
            .store
            .conn()
            .query_row(
                "SELECT repo, api_url, token, created_at FROM github_mirrors WHERE project_id = ?1",
                [project.id],
                |r| Ok((mirror_from_row(r)?, r.get(2)?)),
            )
            .optional()?;
        let Some((mirror, sealed)) = row else {
            return Ok(None);
        };
        let token = sealed
            .map(|s| self.sealer.open(&s, "a GitHub API token"))
            .transpose()
            .map_err(Error::Key)?;
        let api = Url::parse(&mirror.api_url)
            .map_err(|e| Error::Refused(format!("`{}` ({e})", mirror.api_url)))?;
        let client = Client::new(&api, token, allow_private, timeout);
        Ok(Some((mirror, client)))
    }
}
