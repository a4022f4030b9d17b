//! A project's CI server as its admins set it: the provider, the server's
//! URL and job, the token forge triggers builds with (sealed under the
//! home's key: forge must send it out) and the token the server calls back
//! with (made by forge, shown once, kept only as its SHA-256 and compared
//! in constant time). Who may set it (project admins) is decided by the
//! caller (`forge_tickets::Admin`).

use forge_core::account::{random_secret, same_secret, sha256_hex};
use forge_core::name::printable;
use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::jenkins::Jenkins;
use super::Provider;
use crate::seal::{check_secret, Sealer};
use crate::ssrf;

/// What can go wrong setting up CI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed, or a value was refused.
    #[error(transparent)]
    Core(#[from] forge_core::Error),
    /// The server's URL was refused.
    #[error("the CI server's URL is refused: {0}")]
    Refused(String),
    /// The key file could not be read or made, or a token not decrypted.
    #[error("{0}")]
    Key(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Core(e.into())
    }
}

/// Result of CI setup operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The providers forge speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Jenkins, as Pagure speaks to it.
    Jenkins,
}

impl Kind {
    /// Its name in settings and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Jenkins => "jenkins",
        }
    }

    /// The provider named `name`.
    pub fn parse(name: &str) -> Result<Kind> {
        match name {
            "jenkins" => Ok(Kind::Jenkins),
            other => Err(forge_core::Error::invalid(
                format!("CI provider `{}`", printable(other)),
                "forge speaks to `jenkins`; any other CI takes webhooks and posts flags (docs/ci.md)",
            )
            .into()),
        }
    }
}

/// A project's CI server, as shown (no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiSetup {
    /// The provider.
    pub provider: Kind,
    /// The server's URL.
    pub url: String,
    /// The job (`folder/name` in a folder).
    pub job: String,
    /// When it was set (epoch seconds).
    pub created_at: i64,
}

/// What an admin gives.
#[derive(Debug, Clone)]
pub struct NewSetup<'a> {
    /// The provider.
    pub provider: Kind,
    /// The server's URL.
    pub url: &'a str,
    /// The job.
    pub job: &'a str,
    /// The token that triggers the job.
    pub token: &'a str,
}

/// The CI setups of a forge home.
pub struct CiSettings<'s> {
    store: &'s Store,
    sealer: Sealer,
}

fn setup_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, CiSetup)> {
    let provider: String = r.get(0)?;
    Ok((
        provider,
        CiSetup {
            // Replaced by the caller once the name is checked.
            provider: Kind::Jenkins,
            url: r.get(1)?,
            job: r.get(2)?,
            created_at: r.get(3)?,
        },
    ))
}

fn checked(provider: String, mut setup: CiSetup) -> Result<CiSetup> {
    setup.provider = Kind::parse(&provider)?;
    Ok(setup)
}

/// A job name: names of at most 200 bytes between `/`, none empty, no
/// control characters.
fn check_job(job: &str) -> Result<()> {
    let ok = !job.is_empty()
        && job.len() <= 200
        && job
            .split('/')
            .all(|n| !n.is_empty() && n != "." && n != ".." && !n.chars().any(char::is_control));
    if ok {
        Ok(())
    } else {
        Err(forge_core::Error::invalid(
            format!("job `{}`", printable(job)),
            "expected the job's name (`folder/name` for a job in a folder), at most 200 bytes",
        )
        .into())
    }
}

impl<'s> CiSettings<'s> {
    /// The CI setups of `home`.
    pub fn new(store: &'s Store, home: &ForgeHome) -> CiSettings<'s> {
        CiSettings {
            store,
            sealer: Sealer::new(home),
        }
    }

    /// Sets (or replaces) `project`'s CI server: `url` checked (unless
    /// `allow_private`, no internal address), the job and the token
    /// checked. Returns it with the token the server calls back with, made
    /// anew each time and shown this once.
    pub fn set(
        &self,
        project: &Project,
        new: &NewSetup<'_>,
        allow_private: bool,
    ) -> Result<(CiSetup, String)> {
        let target = ssrf::check(new.url, allow_private, &ssrf::system_resolve)
            .map_err(|e| Error::Refused(e.explained()))?;
        if target.url.query().is_some() || target.url.fragment().is_some() {
            return Err(Error::Refused(format!(
                "`{}`: give the server's address without a query or fragment",
                printable(new.url)
            )));
        }
        check_job(new.job)?;
        check_secret("trigger token", new.token, false)?;
        let url = target.url.as_str().trim_end_matches('/').to_string();
        let callback = random_secret();
        let sealed = self.sealer.seal(new.token).map_err(Error::Key)?;
        self.store.conn().execute(
            "INSERT INTO ci_settings (project_id, provider, url, job, trigger_token, callback_hash, since_event, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT coalesce(max(id), 0) FROM events), ?7)
             ON CONFLICT (project_id) DO UPDATE SET provider = ?2, url = ?3, job = ?4, trigger_token = ?5,
                 callback_hash = ?6, created_at = ?7",
            params![
                project.id,
                new.provider.as_str(),
                url,
                new.job,
                sealed,
                sha256_hex(&callback),
                forge_core::time::now_epoch()
            ],
        )?;
        let setup = self
            .get(project)?
            .ok_or_else(|| forge_core::Error::not_found("CI setup", project.full_name.clone()))?;
        Ok((setup, callback))
    }

    /// `project`'s CI server, if it has one.
    pub fn get(&self, project: &Project) -> Result<Option<CiSetup>> {
        let row = self
            .store
            .conn()
            .prepare_cached(
                "SELECT provider, url, job, created_at FROM ci_settings WHERE project_id = ?1",
            )?
            .query_row([project.id], setup_from_row)
            .optional()?;
        row.map(|(p, s)| checked(p, s)).transpose()
    }

    /// Removes `project`'s CI server; an error if it had none.
    pub fn remove(&self, project: &Project) -> Result<()> {
        let removed = self.store.conn().execute(
            "DELETE FROM ci_settings WHERE project_id = ?1",
            [project.id],
        )?;
        if removed == 0 {
            return Err(forge_core::Error::not_found("CI setup", project.full_name.clone()).into());
        }
        Ok(())
    }

    /// Whether `token` is the one `project`'s CI server calls back with
    /// (compared in constant time; `false` without a CI server).
    pub fn accepts_callback(&self, project: &Project, token: &str) -> Result<bool> {
        let stored: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT callback_hash FROM ci_settings WHERE project_id = ?1",
                [project.id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(stored.is_some_and(|h| same_secret(&h, &sha256_hex(token))))
    }

    /// The provider of the project with id `project_id`, with its token
    /// opened, and since which event it builds; `None` without one.
    pub fn provider(&self, project_id: i64) -> Result<Option<(Box<dyn Provider>, i64)>> {
        let row = self
            .store
            .conn()
            .prepare_cached(
                "SELECT provider, url, job, created_at, trigger_token, since_event FROM ci_settings WHERE project_id = ?1",
            )?
            .query_row([project_id], |r| {
                Ok((setup_from_row(r)?, r.get::<_, String>(4)?, r.get::<_, i64>(5)?))
            })
            .optional()?;
        let Some(((provider, setup), sealed, since)) = row else {
            return Ok(None);
        };
        let setup = checked(provider, setup)?;
        let token = self
            .sealer
            .open(&sealed, "a CI trigger token")
            .map_err(Error::Key)?;
        let provider: Box<dyn Provider> = match setup.provider {
            Kind::Jenkins => Box::new(Jenkins::new(&setup.url, &setup.job, &token)),
        };
        Ok(Some((provider, since)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, ForgeHome, Store, Project) {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = ForgeHome::new(dir.path());
        let store = Store::open(&home.db_path()).expect("store");
        store
            .add_user("alice", "", &["alice@example.org"])
            .expect("alice");
        let p = store
            .create_project("hammer", "", false, "alice")
            .expect("project");
        (dir, home, store, p)
    }

    fn jenkins<'a>(url: &'a str, job: &'a str, token: &'a str) -> NewSetup<'a> {
        NewSetup {
            provider: Kind::Jenkins,
            url,
            job,
            token,
        }
    }

    #[test]
    fn tokens_are_kept_sealed_or_hashed_and_the_callback_token_checked() {
        let (_d, home, store, p) = home();
        let ci = CiSettings::new(&store, &home);
        assert!(ci.get(&p).expect("get").is_none());
        assert!(!ci.accepts_callback(&p, "anything").expect("check"));
        let (setup, callback) = ci
            .set(
                &p,
                &jenkins("http://127.0.0.1:8080/ci/", "tools/hammer", "trig-9"),
                true,
            )
            .expect("set");
        assert_eq!(setup.url, "http://127.0.0.1:8080/ci");
        assert_eq!(setup.job, "tools/hammer");
        let row: String = store
            .conn()
            .query_row(
                "SELECT trigger_token || callback_hash FROM ci_settings",
                [],
                |r| r.get(0),
            )
            .expect("row");
        assert!(!row.contains("trig-9") && !row.contains(&callback), "{row}");
        assert!(ci.accepts_callback(&p, &callback).expect("check"));
        assert!(!ci.accepts_callback(&p, &callback[1..]).expect("check"));
        assert!(ci.provider(p.id).expect("provider").is_some());
        // Set again: a new callback token, the old one refused.
        let (_, again) = ci
            .set(&p, &jenkins("http://127.0.0.1:8080", "hammer", "t"), true)
            .expect("again");
        assert!(!ci.accepts_callback(&p, &callback).expect("old"));
        assert!(ci.accepts_callback(&p, &again).expect("new"));
        ci.remove(&p).expect("remove");
        assert!(ci.remove(&p).is_err());
        assert!(ci.provider(p.id).expect("provider").is_none());
    }

    #[test]
    fn bad_urls_jobs_and_tokens_are_refused_naming_them() {
        let (_d, home, store, p) = home();
        let ci = CiSettings::new(&store, &home);
        for (url, job, token, says) in [
            ("http://127.0.0.1:8080", "j", "t", "loopback"),
            ("ftp://ci.example", "j", "t", "scheme"),
            ("http://8.8.8.8/?token=x", "j", "t", "query"),
            ("http://8.8.8.8/", "", "t", "job ``"),
            ("http://8.8.8.8/", "a//b", "t", "job `a//b`"),
            ("http://8.8.8.8/", "../x", "t", "job"),
            ("http://8.8.8.8/", "j", "", "trigger token"),
            ("http://8.8.8.8/", "j", "a b", "trigger token"),
        ] {
            let e = ci.set(&p, &jenkins(url, job, token), false).expect_err(url);
            assert!(e.to_string().contains(says), "{url} {job}: {e}");
        }
        assert!(ci.get(&p).expect("get").is_none());
        let e = Kind::parse("travis").expect_err("unknown");
        assert!(e.to_string().contains("travis"), "{e}");
    }
}
