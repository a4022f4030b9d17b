//! Users and their email addresses.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::{name, time, Error, Result, Store};

/// A forge user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Row id.
    #[serde(skip)]
    pub id: i64,
    /// Unique login name; it is what documents in git refer to.
    pub username: String,
    /// Display name.
    pub full_name: String,
    /// Email addresses, the default one first.
    pub emails: Vec<String>,
}

fn validate_email(email: &str) -> Result<()> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_control() || c.is_whitespace())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            format!("email `{}`", name::printable(email)),
            "expected an address like name@example.org",
        ))
    }
}

fn validate_full_name(username: &str, full_name: &str) -> Result<()> {
    if full_name.chars().any(char::is_control) || full_name.len() > 255 {
        return Err(Error::invalid(
            format!("full name of `{}`", name::printable(username)),
            "control characters or longer than 255 bytes",
        ));
    }
    Ok(())
}

impl Store {
    /// Adds a user with its email addresses (the first is the default).
    pub fn add_user(&self, username: &str, full_name: &str, emails: &[&str]) -> Result<User> {
        name::validate("user", username)?;
        self.insert_user(username, full_name, emails)
    }

    /// The user who stands for `login` of another forge (`github`), named
    /// `github:login`, made without address or credentials on first need:
    /// the author of what a mirror replicates. It cannot sign in.
    pub fn mirror_user(&self, source: &str, login: &str) -> Result<String> {
        name::validate("user", source)?;
        name::validate("user", login)?;
        let username = format!("{source}:{login}");
        if self.find_user(&username)?.is_none() {
            match self.insert_user(&username, "", &[]) {
                Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(username)
    }

    /// Adds a user whose name was checked.
    fn insert_user(&self, username: &str, full_name: &str, emails: &[&str]) -> Result<User> {
        validate_full_name(username, full_name)?;
        for email in emails {
            validate_email(email)?;
        }
        let tx = self.conn().unchecked_transaction()?;
        if self.find_user(username)?.is_some() {
            return Err(Error::AlreadyExists {
                kind: "user",
                name: username.into(),
            });
        }
        tx.execute(
            "INSERT INTO users (username, full_name, created_at) VALUES (?1, ?2, ?3)",
            params![username, full_name, time::now_epoch()],
        )?;
        let id = tx.last_insert_rowid();
        for (i, email) in emails.iter().enumerate() {
            let taken: Option<String> = tx
                .query_row(
                    "SELECT u.username FROM user_emails e JOIN users u ON u.id = e.user_id WHERE e.email = +?1",
                    [email],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(owner) = taken {
                return Err(Error::invalid(
                    format!("email `{email}`"),
                    format!("already used by user `{owner}`"),
                ));
            }
            tx.execute(
                "INSERT INTO user_emails (email, user_id, is_default) VALUES (?1, ?2, ?3)",
                params![email, id, i == 0],
            )?;
        }
        tx.commit()?;
        Ok(User {
            id,
            username: username.into(),
            full_name: full_name.into(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
        })
    }

    /// Changes the display name of a user.
    pub fn set_full_name(&self, username: &str, full_name: &str) -> Result<User> {
        validate_full_name(username, full_name)?;
        let changed = self.conn().execute(
            "UPDATE users SET full_name = ?2 WHERE username = ?1",
            params![username, full_name],
        )?;
        if changed == 0 {
            return Err(Error::not_found("user", name::printable(username)));
        }
        self.user(username)
    }

    /// The user named `username`, if any.
    pub fn find_user(&self, username: &str) -> Result<Option<User>> {
        let row = self
            .conn()
            .prepare_cached("SELECT id, username, full_name FROM users WHERE username = +?1")?
            .query_row([username], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(id, username, full_name)| self.user_with_emails(id, username, full_name))
            .transpose()
    }

    /// The display name of a user, if the user exists (one query: what
    /// pages that show users need, without their email addresses).
    pub fn full_name(&self, username: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT full_name FROM users WHERE username = +?1")?
            .query_row([username], |r| r.get(0))
            .optional()?)
    }

    /// The user named `username`, or a not-found error naming it.
    pub fn user(&self, username: &str) -> Result<User> {
        self.find_user(username)?
            .ok_or_else(|| Error::not_found("user", name::printable(username)))
    }

    /// The user owning an email address (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let username: Option<String> = self
            .conn()
            .query_row(
                "SELECT u.username FROM user_emails e JOIN users u ON u.id = e.user_id WHERE e.email = +?1",
                [email],
                |r| r.get(0),
            )
            .optional()?;
        match username {
            Some(u) => self.find_user(&u),
            None => Ok(None),
        }
    }

    /// Adds an e-mail address to a user (not their default one).
    pub fn add_email(&self, username: &str, email: &str) -> Result<User> {
        validate_email(email)?;
        let user = self.user(username)?;
        if let Some(owner) = self.user_by_email(email)? {
            return Err(Error::invalid(
                format!("email `{}`", name::printable(email)),
                format!("already used by user `{}`", owner.username),
            ));
        }
        self.conn().execute(
            "INSERT INTO user_emails (email, user_id, is_default) VALUES (?1, ?2, ?3)",
            params![email, user.id, user.emails.is_empty()],
        )?;
        self.user(username)
    }

    /// Removes one of a user's e-mail addresses; the next one becomes the
    /// default if it was. A user keeps at least one address.
    pub fn remove_email(&self, username: &str, email: &str) -> Result<User> {
        let user = self.user(username)?;
        let Some(found) = user.emails.iter().find(|e| e.eq_ignore_ascii_case(email)) else {
            return Err(Error::not_found("email", name::printable(email)));
        };
        if user.emails.len() == 1 {
            return Err(Error::invalid(
                format!("email `{}`", name::printable(email)),
                "it is the user's only address",
            ));
        }
        let tx = self.conn().unchecked_transaction()?;
        tx.execute("DELETE FROM user_emails WHERE email = ?1", [found])?;
        tx.execute(
            "UPDATE user_emails SET is_default = 1 WHERE user_id = ?1
             AND NOT EXISTS (SELECT 1 FROM user_emails WHERE user_id = ?1 AND is_default = 1)
             AND email = (SELECT min(email) FROM user_emails WHERE user_id = ?1)",
            [user.id],
        )?;
        tx.commit()?;
        self.user(username)
    }

    /// All users, by username.
    pub fn list_users(&self) -> Result<Vec<User>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id, username, full_name FROM users ORDER BY username")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<(i64, String, String)>, _>>()?;
        rows.into_iter()
            .map(|(id, username, full_name)| self.user_with_emails(id, username, full_name))
            .collect()
    }

    fn user_with_emails(&self, id: i64, username: String, full_name: String) -> Result<User> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT email FROM user_emails WHERE user_id = +?1 ORDER BY is_default DESC, email",
        )?;
        let emails = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(User {
            id,
            username,
            full_name,
            emails,
        })
    }
}

impl User {
    /// The user's picture at `size` pixels, from their default (first)
    /// e-mail address; `None` without one.
    pub fn avatar(&self, size: u32) -> Option<String> {
        self.emails.first().map(|email| avatar_url(email, size))
    }
}

/// A user's picture as Pagure links it, with no network call: the
/// libravatar URL of the SHA-256 of the e-mail address as written, `size`
/// pixels, a generated "retro" image for unknown addresses.
pub fn avatar_url(email: &str, size: u32) -> String {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(email.as_bytes()));
    format!("https://seccdn.libravatar.org/avatar/{hash}?s={size}&d=retro")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_added_and_removed_but_one_stays() -> Result<()> {
        let store = Store::open_in_memory()?;
        store.add_user("alice", "", &["alice@example.org"])?;
        store.add_user("bob", "", &["bob@example.org"])?;
        let alice = store.add_email("alice", "a@work.example")?;
        assert_eq!(alice.emails, ["alice@example.org", "a@work.example"]);
        assert!(store.add_email("alice", "BOB@example.org").is_err());
        assert!(store.add_email("alice", "not an address").is_err());
        let alice = store.remove_email("alice", "ALICE@example.org")?;
        assert_eq!(alice.emails, ["a@work.example"]);
        assert!(store.remove_email("alice", "a@work.example").is_err());
        assert!(store.remove_email("alice", "bob@example.org").is_err());
        Ok(())
    }

    #[test]
    fn users_are_unique_by_name_and_email() -> Result<()> {
        let store = Store::open_in_memory()?;
        store.add_user("alice", "Alice", &["alice@example.org"])?;
        let dup = store
            .add_user("alice", "", &[])
            .expect_err("duplicate name");
        assert_eq!(dup.to_string(), "user `alice` already exists");
        let email = store
            .add_user("bob", "", &["ALICE@example.org"])
            .expect_err("duplicate email");
        assert!(
            email.to_string().contains("already used by user `alice`"),
            "{email}"
        );
        assert!(
            store.find_user("bob")?.is_none(),
            "a refused user leaves no row"
        );
        assert_eq!(
            store
                .user_by_email("Alice@Example.org")?
                .map(|u| u.username),
            Some("alice".into())
        );
        Ok(())
    }

    #[test]
    fn bad_emails_are_refused() -> Result<()> {
        let store = Store::open_in_memory()?;
        for email in ["", "nobody", "a@", "@b", "a b@c", "a@b@c"] {
            assert!(store.add_user("x", "", &[email]).is_err(), "{email:?}");
        }
        Ok(())
    }

    #[test]
    fn avatar_urls_are_pagures() {
        // The same URL Pagure's avatar_url_from_email gives (Python's
        // hashlib.sha256 and urlencode on the same address).
        assert_eq!(
            super::avatar_url("pingou@fedoraproject.org", 64),
            "https://seccdn.libravatar.org/avatar/b3ee7bb4de70b6522c2478df3b4cd6322b5ec5d62ac7ceb1128e3d4ff42f6928?s=64&d=retro"
        );
    }
}
