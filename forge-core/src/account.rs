//! Signing in to the web application: passwords hashed with argon2id,
//! sessions whose random secret is stored only as its SHA-256 hash, a CSRF
//! token bound to each session, throttling of failed sign-ins per account
//! and per address, and accounts a site admin disables.
//!
//! ```
//! use forge_core::Store;
//! # fn main() -> Result<(), forge_core::Error> {
//! let store = Store::open_in_memory()?;
//! store.add_user("alice", "Alice", &["alice@example.org"])?;
//! store.set_password("alice", "correct horse battery")?;
//! let (session, secret) = store.sign_in("alice", "correct horse battery", "127.0.0.1")?;
//! assert_eq!(store.session(&secret)?.map(|s| s.user), Some(session.user));
//! store.sign_out(&secret)?;
//! assert!(store.session(&secret)?.is_none());
//! # Ok(())
//! # }
//! ```

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::{name, time, Error, Result, Store};

/// How long a session lasts from sign-in, in seconds (two weeks).
pub const SESSION_SECONDS: i64 = 14 * 86_400;
/// The window failed sign-ins are counted in, in seconds.
pub const THROTTLE_WINDOW: i64 = 15 * 60;
/// Failed sign-ins to one account within the window before it waits.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// Failed sign-ins from one address within the window before it waits.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;

/// The shortest and longest password accepted, in characters and bytes.
const PASSWORD_MIN_CHARS: usize = 8;
const PASSWORD_MAX_BYTES: usize = 1024;

/// A signed-in session; never holds its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user signed in.
    pub user: String,
    /// When the session began, epoch seconds.
    pub created_at: i64,
    /// When it ends, epoch seconds.
    pub expires_at: i64,
    /// The token every form of this session carries (derived from the
    /// secret, so a page can show it and no one else can make it).
    pub csrf: String,
}

/// The SHA-256 of `text`, hex: how secrets that are only ever checked
/// (session ids, API tokens, a CI server's callback token) are stored.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The CSRF token of the session whose secret is `secret`.
fn csrf_of(secret: &str) -> String {
    sha256_hex(&format!("forge-csrf\0{secret}"))[..32].to_string()
}

/// A random secret of 32 bytes, hex.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether two secrets are equal, in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hash_password(username: &str, password: &str) -> Result<String> {
    if password.chars().count() < PASSWORD_MIN_CHARS || password.len() > PASSWORD_MAX_BYTES {
        return Err(Error::invalid(
            format!("password of `{}`", name::printable(username)),
            format!("it must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_BYTES} characters long"),
        ));
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::invalid("password salt", e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::invalid("password", e.to_string()))
}

/// Whether `password` matches the stored PHC string (constant time inside
/// argon2's verifier).
fn password_matches(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to check against when the account has none, so that an unknown
/// user costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy", "decoy password never used").unwrap_or_default())
}

impl Store {
    /// Sets (or replaces) a user's password; ends their other sessions.
    pub fn set_password(&self, username: &str, password: &str) -> Result<()> {
        let user = self.user(username)?;
        let hashed = hash_password(username, password)?;
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user.id, hashed],
        )?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
        tx.commit()?;
        Ok(())
    }

    /// Changes a user's password, given their current one: ends every
    /// session of theirs. A wrong current password is refused as a failed
    /// sign-in (and counted for throttling).
    pub fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
        address: &str,
    ) -> Result<()> {
        let (_, secret) = self.sign_in(username, current, address)?;
        self.sign_out(&secret)?;
        self.set_password(username, new)
    }

    /// Whether a user has a password to sign in with.
    pub fn has_password(&self, username: &str) -> Result<bool> {
        let user = self.user(username)?;
        Ok(self.conn().query_row(
            "SELECT password_hash IS NOT NULL FROM users WHERE id = ?1",
            [user.id],
            |r| r.get(0),
        )?)
    }

    /// Disables or re-enables an account: a disabled user cannot sign in,
    /// their sessions end, their tokens and keys are refused.
    pub fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<()> {
        let user = self.user(username)?;
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![user.id, disabled],
        )?;
        if disabled {
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// [`Store::set_user_disabled`] as asked by `actor`: only a site admin
    /// may, and not on their own account (which would lock them out).
    pub fn set_user_disabled_by(&self, actor: &str, username: &str, disabled: bool) -> Result<()> {
        if !self.is_site_admin(actor)? {
            return Err(Error::PermissionDenied {
                user: actor.into(),
                action: if disabled {
                    "disable accounts"
                } else {
                    "enable accounts"
                }
                .into(),
                project: "this forge (site admins only)".into(),
            });
        }
        if actor == username {
            return Err(Error::invalid(
                format!("account `{username}`"),
                "a site admin may not disable their own account",
            ));
        }
        self.set_user_disabled(username, disabled)
    }

    /// Whether an account is disabled (an unknown user is not found).
    pub fn user_disabled(&self, username: &str) -> Result<bool> {
        self.conn()
            .prepare_cached("SELECT disabled FROM users WHERE username = +?1")?
            .query_row([username], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::not_found("user", name::printable(username)))
    }

    /// Makes a user a site admin, or not (who may disable accounts).
    pub fn set_site_admin(&self, username: &str, admin: bool) -> Result<()> {
        let user = self.user(username)?;
        self.conn().execute(
            "UPDATE users SET site_admin = ?2 WHERE id = ?1",
            params![user.id, admin],
        )?;
        Ok(())
    }

    /// Whether a user is a site admin.
    pub fn is_site_admin(&self, username: &str) -> Result<bool> {
        Ok(self
            .conn()
            .prepare_cached("SELECT site_admin FROM users WHERE username = +?1")?
            .query_row([username], |r| r.get(0))
            .optional()?
            .unwrap_or(false))
    }

    /// How long `subject` must wait before another sign-in is considered,
    /// if it had `max` failures within the window.
    fn throttled(&self, subject: &str, max: i64, now: i64) -> Result<Option<u64>> {
        let (count, oldest): (i64, Option<i64>) = self.conn().query_row(
            "SELECT count(*), min(at) FROM sign_in_failures WHERE subject = ?1 AND at > ?2",
            params![subject, now - THROTTLE_WINDOW],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((count >= max).then(|| {
            let until = oldest.unwrap_or(now) + THROTTLE_WINDOW;
            (until - now).max(1) as u64
        }))
    }

    /// Signs `username` in with `password` from `address`: a new session
    /// and its secret (for the cookie; not stored). Refused alike for an
    /// unknown user, a wrong password, no password and a disabled account;
    /// throttled after repeated failures for the account or the address.
    pub fn sign_in(
        &self,
        username: &str,
        password: &str,
        address: &str,
    ) -> Result<(Session, String)> {
        let now = time::now_epoch();
        let account = format!("user:{}", username.to_lowercase());
        let from = format!("addr:{address}");
        for (subject, max) in [
            (&account, MAX_FAILURES_PER_ACCOUNT),
            (&from, MAX_FAILURES_PER_ADDRESS),
        ] {
            if let Some(retry_after) = self.throttled(subject, max, now)? {
                return Err(Error::Throttled { retry_after });
            }
        }
        let row: Option<(i64, String, Option<String>, bool)> = self
            .conn()
            .query_row(
                "SELECT id, username, password_hash, disabled FROM users WHERE username = +?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let stored = row.as_ref().and_then(|r| r.2.clone());
        let matches = password_matches(stored.as_deref().unwrap_or(decoy_hash()), password);
        let accepted = match (&row, matches) {
            (Some((id, name, Some(_), false)), true) => Some((*id, name.clone())),
            _ => None,
        };
        let Some((user_id, user)) = accepted else {
            let tx = self.conn().unchecked_transaction()?;
            for subject in [&account, &from] {
                tx.execute(
                    "INSERT INTO sign_in_failures (subject, at) VALUES (?1, ?2)",
                    params![subject, now],
                )?;
            }
            tx.execute(
                "DELETE FROM sign_in_failures WHERE at <= ?1",
                [now - THROTTLE_WINDOW],
            )?;
            tx.commit()?;
            return Err(Error::SignInRefused);
        };
        let secret = random_secret();
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "DELETE FROM sign_in_failures WHERE subject = ?1",
            [&account],
        )?;
        tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
        tx.execute(
            "INSERT INTO sessions (hash, user_id, created_at, expires_at, address) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![sha256_hex(&secret), user_id, now, now + SESSION_SECONDS, address],
        )?;
        tx.commit()?;
        let session = Session {
            user,
            created_at: now,
            expires_at: now + SESSION_SECONDS,
            csrf: csrf_of(&secret),
        };
        Ok((session, secret))
    }

    /// The live session whose secret is `secret`, if any: not expired, not
    /// signed out, its user not disabled.
    pub fn session(&self, secret: &str) -> Result<Option<Session>> {
        // A cookie no session of ours could have made is not looked up.
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let found = self
            .conn()
            .prepare_cached(
                "SELECT u.username, s.created_at, s.expires_at FROM sessions s
                 JOIN users u ON u.id = s.user_id
                 WHERE s.hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
            )?
            .query_row(params![sha256_hex(secret), time::now_epoch()], |r| {
                Ok(Session {
                    user: r.get(0)?,
                    created_at: r.get(1)?,
                    expires_at: r.get(2)?,
                    csrf: csrf_of(secret),
                })
            })
            .optional()?;
        Ok(found)
    }

    /// Ends the session whose secret is `secret` (nothing if there is none).
    pub fn sign_out(&self, secret: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM sessions WHERE hash = ?1", [sha256_hex(secret)])?;
        Ok(())
    }

    /// Ends every session of a user.
    pub fn sign_out_everywhere(&self, username: &str) -> Result<()> {
        let user = self.user(username)?;
        self.conn()
            .execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let store = Store::open_in_memory().expect("store");
        store
            .add_user("alice", "Alice", &["alice@example.org"])
            .expect("user");
        store
    }

    #[test]
    fn passwords_are_hashed_and_checked() -> Result<()> {
        let store = store();
        assert!(!store.has_password("alice")?);
        assert!(matches!(
            store.sign_in("alice", "anything at all", "a"),
            Err(Error::SignInRefused)
        ));
        assert!(store.set_password("alice", "short").is_err());
        store.set_password("alice", "a long enough one")?;
        let stored: String = store.conn().query_row(
            "SELECT password_hash FROM users WHERE username = 'alice'",
            [],
            |r| r.get(0),
        )?;
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("a long enough one"));
        assert!(matches!(
            store.sign_in("alice", "a long enough onE", "a"),
            Err(Error::SignInRefused)
        ));
        assert!(matches!(
            store.sign_in("nobody", "a long enough one", "a"),
            Err(Error::SignInRefused)
        ));
        let (session, secret) = store.sign_in("alice", "a long enough one", "a")?;
        assert_eq!(session.user, "alice");
        assert_eq!(store.session(&secret)?, Some(session.clone()));
        // Only the hash is kept.
        let kept: i64 = store.conn().query_row(
            "SELECT count(*) FROM sessions WHERE hash = ?1",
            [&secret],
            |r| r.get(0),
        )?;
        assert_eq!(kept, 0);
        // A new password ends the sessions made with the old one.
        store.set_password("alice", "another long one")?;
        assert_eq!(store.session(&secret)?, None);
        Ok(())
    }

    #[test]
    fn guessed_or_malformed_sessions_are_nobody() -> Result<()> {
        let store = store();
        store.set_password("alice", "a long enough one")?;
        let (_, secret) = store.sign_in("alice", "a long enough one", "a")?;
        assert!(store.session(&random_secret())?.is_none());
        assert!(store.session("")?.is_none());
        assert!(store.session("' OR 1=1 --")?.is_none());
        let mut other = secret.clone();
        other.replace_range(0..1, if secret.starts_with('0') { "1" } else { "0" });
        assert!(store.session(&other)?.is_none());
        assert!(store.session(&secret)?.is_some());
        Ok(())
    }

    #[test]
    fn failures_throttle_the_account_and_the_address() -> Result<()> {
        let store = store();
        store.set_password("alice", "a long enough one")?;
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            assert!(matches!(
                store.sign_in("alice", "wrong password", "10.0.0.1"),
                Err(Error::SignInRefused)
            ));
        }
        // Now even the right password waits, from any address.
        assert!(matches!(
            store.sign_in("alice", "a long enough one", "10.0.0.2"),
            Err(Error::Throttled { retry_after }) if retry_after > 0 && retry_after <= 900
        ));
        // One address guessing many accounts is stopped too.
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            let _ = store.sign_in(&format!("user{i}"), "wrong password", "10.0.0.3");
        }
        store.add_user("bob", "Bob", &[])?;
        store.set_password("bob", "bob's long password")?;
        assert!(matches!(
            store.sign_in("bob", "bob's long password", "10.0.0.3"),
            Err(Error::Throttled { .. })
        ));
        assert!(store
            .sign_in("bob", "bob's long password", "10.0.0.4")
            .is_ok());
        Ok(())
    }

    #[test]
    fn disabled_accounts_cannot_sign_in_and_lose_their_sessions() -> Result<()> {
        let store = store();
        store.set_password("alice", "a long enough one")?;
        let (_, secret) = store.sign_in("alice", "a long enough one", "a")?;
        store.set_user_disabled("alice", true)?;
        assert!(store.user_disabled("alice")?);
        assert!(store.session(&secret)?.is_none());
        assert!(matches!(
            store.sign_in("alice", "a long enough one", "a"),
            Err(Error::SignInRefused)
        ));
        store.set_user_disabled("alice", false)?;
        assert!(store.sign_in("alice", "a long enough one", "a").is_ok());
        Ok(())
    }

    #[test]
    fn changing_a_password_needs_the_current_one() -> Result<()> {
        let store = store();
        store.set_password("alice", "a long enough one")?;
        assert!(matches!(
            store.change_password("alice", "wrong one!", "the new password", "a"),
            Err(Error::SignInRefused)
        ));
        assert!(store
            .change_password("alice", "a long enough one", "short", "a")
            .is_err());
        assert!(store.sign_in("alice", "a long enough one", "a").is_ok());
        store.change_password("alice", "a long enough one", "the new password", "a")?;
        assert!(store.sign_in("alice", "the new password", "a").is_ok());
        Ok(())
    }

    #[test]
    fn csrf_tokens_differ_per_session() -> Result<()> {
        let store = store();
        store.set_password("alice", "a long enough one")?;
        let (a, _) = store.sign_in("alice", "a long enough one", "a")?;
        let (b, _) = store.sign_in("alice", "a long enough one", "a")?;
        assert_ne!(a.csrf, b.csrf);
        assert!(same_secret(&a.csrf, &a.csrf.clone()));
        assert!(!same_secret(&a.csrf, &b.csrf));
        Ok(())
    }
}
