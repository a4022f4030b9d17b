//! A project's webhook targets: the URL (checked by [`crate::ssrf`] when
//! added), the event types each wants, and its secret, stored encrypted
//! (XChaCha20-Poly1305) under a key kept in the forge home
//! (`webhook.key`, made on first use, readable by its owner only). Who may
//! manage them (project admins) is decided by the caller
//! (`forge_tickets::Admin`).

use forge_core::project::Project;
use forge_core::{ForgeHome, Store};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::seal::Sealer;
use crate::sign::Secret;
use crate::ssrf;

/// What can go wrong managing webhooks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed, or a name or value was refused.
    #[error(transparent)]
    Core(#[from] forge_core::Error),
    /// The URL was refused.
    #[error(transparent)]
    Refused(#[from] ssrf::Refused),
    /// The secret was refused.
    #[error(transparent)]
    Secret(#[from] crate::sign::BadSecret),
    /// The key file could not be read or made, or a secret not decrypted.
    #[error("{0}")]
    Key(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Core(e.into())
    }
}

/// Result of webhook operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A webhook target (its secret is not part of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Row id.
    pub id: i64,
    /// The URL deliveries are posted to.
    pub url: String,
    /// Event types it wants (`issue.new`, `issue.*`); empty for all.
    pub events: Vec<String>,
    /// Whether deliveries go out.
    pub active: bool,
    /// Why it was disabled (a `410 Gone`), if it was.
    pub disabled_reason: Option<String>,
}

impl Webhook {
    /// Whether it wants events of type `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty()
            || self.events.iter().any(|e| match e.strip_suffix('*') {
                Some(prefix) => kind.starts_with(prefix),
                None => e == kind,
            })
    }
}

/// Event type names as a webhook lists them: `issue.new`, `issue.*`, `*`.
fn check_events(events: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in events.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let body = e.strip_suffix('*').unwrap_or(e);
        let ok = body.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        }) && e.len() <= 100;
        if !ok {
            return Err(forge_core::Error::invalid(
                format!("event type `{}`", forge_core::name::printable(e)),
                "expected a type such as issue.new or issue.* (lowercase letters, digits, `.`, `_`, `-`)",
            )
            .into());
        }
        if e == "*" {
            return Ok(Vec::new());
        }
        out.push(e.to_string());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The webhooks of a forge home.
pub struct Webhooks<'s> {
    store: &'s Store,
    sealer: Sealer,
}

fn webhook_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    let events: String = r.get(2)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(String::from)
            .collect(),
        active: r.get(3)?,
        disabled_reason: r.get(4)?,
    })
}

impl<'s> Webhooks<'s> {
    /// The webhooks of `home` (its key is read, or made, on first need).
    pub fn new(store: &'s Store, home: &ForgeHome) -> Webhooks<'s> {
        Webhooks {
            store,
            sealer: Sealer::new(home),
        }
    }

    fn seal(&self, secret: &Secret) -> Result<String> {
        self.sealer.seal(secret.expose()).map_err(Error::Key)
    }

    fn open_secret(&self, sealed: &str) -> Result<Secret> {
        let plain = self
            .sealer
            .open(sealed, "a webhook secret")
            .map_err(Error::Key)?;
        Ok(Secret::parse(&plain)?)
    }

    /// Adds a target to `project`: `url` checked (unless `allow_private`,
    /// no internal address), `events` (empty: all), `secret` (generated
    /// when `None`). Returns it with its secret, to show once.
    pub fn add(
        &self,
        project: &Project,
        url: &str,
        events: &[String],
        secret: Option<&str>,
        allow_private: bool,
    ) -> Result<(Webhook, Secret)> {
        let target = ssrf::check(url, allow_private, &ssrf::system_resolve)?;
        let events = check_events(events)?;
        let secret = match secret {
            Some(text) => Secret::parse(text)?,
            None => Secret::generate(),
        };
        self.store.conn().execute(
            "INSERT INTO webhooks (project_id, url, events, secret, created_at, since_event)
             VALUES (?1, ?2, ?3, ?4, ?5, (SELECT coalesce(max(id), 0) FROM events))",
            params![
                project.id,
                target.url.as_str(),
                events.join(","),
                self.seal(&secret)?,
                forge_core::time::now_epoch()
            ],
        )?;
        let id = self.store.conn().last_insert_rowid();
        Ok((self.get(project, id)?, secret))
    }

    /// A project's webhooks, oldest first.
    pub fn list(&self, project: &Project) -> Result<Vec<Webhook>> {
        let mut stmt = self.store.conn().prepare_cached(
            "SELECT id, url, events, active, disabled_reason FROM webhooks WHERE project_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([project.id], webhook_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One webhook of `project`.
    pub fn get(&self, project: &Project, id: i64) -> Result<Webhook> {
        self.store
            .conn()
            .prepare_cached(
                "SELECT id, url, events, active, disabled_reason FROM webhooks WHERE project_id = ?1 AND id = ?2",
            )?
            .query_row(params![project.id, id], webhook_from_row)
            .optional()?
            .ok_or_else(|| {
                forge_core::Error::not_found("webhook", format!("{id} of {}", project.full_name)).into()
            })
    }

    /// A webhook's secret, to sign a delivery with.
    pub fn secret(&self, project: &Project, id: i64) -> Result<Secret> {
        let sealed: String = self
            .store
            .conn()
            .query_row(
                "SELECT secret FROM webhooks WHERE project_id = ?1 AND id = ?2",
                params![project.id, id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| {
                forge_core::Error::not_found("webhook", format!("{id} of {}", project.full_name))
            })?;
        self.open_secret(&sealed)
    }

    /// The active webhooks of the project named `project` that want
    /// event `event_id` of type `kind` (made before it: a webhook is sent
    /// what happens after it was added).
    pub fn wanting(&self, project: &str, kind: &str, event_id: i64) -> Result<Vec<Webhook>> {
        let mut stmt = self.store.conn().prepare_cached(
            "SELECT w.id, w.url, w.events, w.active, w.disabled_reason FROM webhooks w
             JOIN projects p ON p.id = w.project_id
             WHERE p.full_name = ?1 AND w.active AND w.since_event < ?2 ORDER BY w.id",
        )?;
        let rows = stmt.query_map(params![project, event_id], webhook_from_row)?;
        let all = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(all.into_iter().filter(|w| w.wants(kind)).collect())
    }

    /// A webhook by id, with its secret (`None`: removed since).
    pub fn find(&self, id: i64) -> Result<Option<(Webhook, Secret)>> {
        let row = self
            .store
            .conn()
            .prepare_cached(
                "SELECT id, url, events, active, disabled_reason, secret FROM webhooks WHERE id = ?1",
            )?
            .query_row([id], |r| Ok((webhook_from_row(r)?, r.get::<_, String>(5)?)))
            .optional()?;
        row.map(|(hook, sealed)| Ok((hook, self.open_secret(&sealed)?)))
            .transpose()
    }

    /// Stops deliveries to a webhook, saying why (a `410 Gone`).
    pub fn disable(&self, id: i64, reason: &str) -> Result<()> {
        self.store.conn().execute(
            "UPDATE webhooks SET active = 0, disabled_reason = ?2 WHERE id = ?1",
            params![id, reason],
        )?;
        Ok(())
    }

    /// Removes a webhook of `project`.
    pub fn remove(&self, project: &Project, id: i64) -> Result<()> {
        let removed = self.store.conn().execute(
            "DELETE FROM webhooks WHERE project_id = ?1 AND id = ?2",
            params![project.id, id],
        )?;
        if removed == 0 {
            return Err(forge_core::Error::not_found(
                "webhook",
                format!("{id} of {}", project.full_name),
            )
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::key_path;

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

    #[test]
    fn a_webhook_keeps_its_secret_encrypted_and_gives_it_back() {
        let (_d, home, store, p) = home();
        let hooks = Webhooks::new(&store, &home);
        let events = vec!["issue.*".to_string(), "pr.new".to_string()];
        let (hook, secret) = hooks
            .add(&p, "http://127.0.0.1:9/hook", &events, None, true)
            .expect("add");
        assert!(hook.wants("issue.comment.added") && hook.wants("pr.new"));
        assert!(!hook.wants("git.push"));
        let stored: String = store
            .conn()
            .query_row("SELECT secret FROM webhooks", [], |r| r.get(0))
            .expect("row");
        assert!(!stored.contains(secret.expose()), "not stored in the clear");
        // Another opening (another process) reads it with the same key.
        let again = Webhooks::new(&store, &home);
        assert_eq!(again.secret(&p, hook.id).expect("secret"), secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(key_path(&home))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is its owner's only");
        }
        assert_eq!(hooks.list(&p).expect("list"), vec![hook.clone()]);
        hooks.remove(&p, hook.id).expect("remove");
        assert!(hooks.remove(&p, hook.id).is_err());
    }

    #[test]
    fn internal_urls_bad_events_and_short_secrets_are_refused() {
        let (_d, home, store, p) = home();
        let hooks = Webhooks::new(&store, &home);
        let e = hooks
            .add(&p, "http://127.0.0.1/", &[], None, false)
            .expect_err("loopback");
        assert!(e.to_string().contains("loopback"), "{e}");
        let e = hooks
            .add(&p, "http://127.0.0.1/", &["Issue New".into()], None, true)
            .expect_err("event");
        assert!(e.to_string().contains("event type"), "{e}");
        let e = hooks
            .add(&p, "http://127.0.0.1/", &[], Some("whsec_c2hvcnQ="), true)
            .expect_err("secret");
        assert!(e.to_string().contains("bytes"), "{e}");
        assert!(hooks.list(&p).expect("list").is_empty());
    }

    #[test]
    fn a_replaced_key_is_reported_not_ignored() {
        let (_d, home, store, p) = home();
        let hooks = Webhooks::new(&store, &home);
        let (hook, _) = hooks
            .add(&p, "http://127.0.0.1:9/", &[], None, true)
            .expect("add");
        std::fs::write(key_path(&home), [9u8; 32]).expect("replace");
        let other = Webhooks::new(&store, &home);
        let e = other.secret(&p, hook.id).expect_err("wrong key");
        assert!(e.to_string().contains("does not decrypt"), "{e}");
    }
}
