//! Reply addresses: `reply+<key>@<reply domain>`. A key names a row of
//! `mail_replies` (who a notification was sent to, at which address, about
//! which issue or pull request, as which message) and carries an HMAC of
//! that row under the home's `mail.key`, so that a reply can only be posted
//! as the person it was sent to, on the item it was about: a key that was
//! made up, altered, or minted under another home's key does not verify.
//! Keys expire after [`LIFETIME`].

use std::path::PathBuf;
use std::time::Duration;

use forge_core::{ForgeHome, Store};
use hmac::{Hmac, Mac};
use rusqlite::{params, OptionalExtension};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How long a reply address stays good.
pub const LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// A key is given again to later mails of the same thread and person for
/// this long after it was made (so each one handed out has at least eleven
/// months ahead).
pub const REUSE_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// Bytes of the HMAC a key carries (128 bits).
const MAC_BYTES: usize = 16;

/// What a notification was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// An issue, by number.
    Issue(u64),
    /// A pull request, by number.
    PullRequest(u64),
}

impl Item {
    /// "issue #3", "pull request #4".
    pub fn describe(self) -> String {
        match self {
            Item::Issue(n) => format!("issue #{n}"),
            Item::PullRequest(n) => format!("pull request #{n}"),
        }
    }

    fn parts(self) -> (&'static str, u64) {
        match self {
            Item::Issue(n) => ("issue", n),
            Item::PullRequest(n) => ("pr", n),
        }
    }

    fn from_parts(kind: &str, n: i64) -> Option<Item> {
        let n = u64::try_from(n).ok()?;
        match kind {
            "issue" => Some(Item::Issue(n)),
            "pr" => Some(Item::PullRequest(n)),
            _ => None,
        }
    }
}

/// A notification a reply may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// The user it was sent to.
    pub user: String,
    /// The address it was sent to.
    pub address: String,
    /// The project.
    pub project: String,
    /// The issue or pull request.
    pub item: Item,
    /// The notification's `Message-ID`.
    pub message_id: String,
}

/// Why a reply key is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not of the form forge makes.
    #[error("`{0}` is not a reply key forge makes")]
    Malformed(String),
    /// Its row does not exist, or its HMAC does not match.
    #[error("the reply key is not one this forge made (unknown or altered)")]
    Forged,
    /// Older than [`LIFETIME`].
    #[error("the reply key expired (it was made more than {} days ago)", LIFETIME.as_secs() / 86_400)]
    Expired,
    /// The database or the key file failed.
    #[error("{0}")]
    Store(String),
}

impl From<rusqlite::Error> for KeyError {
    fn from(e: rusqlite::Error) -> Self {
        KeyError::Store(e.to_string())
    }
}

/// The home's reply keys.
pub struct Keys {
    secret: [u8; 32],
}

/// Where the home's reply-key secret is.
fn key_path(home: &ForgeHome) -> PathBuf {
    home.root().join("mail.key")
}

/// The part of `address` after `reply+` and before `@`, if it is a
/// reply address.
pub fn key_of(address: &str) -> Option<&str> {
    let (local, _domain) = address.trim().rsplit_once('@')?;
    local
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("reply+"))?;
    local.get(6..).filter(|k| !k.is_empty())
}

impl Keys {
    /// The keys of `home`, its secret made (`mail.key`, mode 0600) if it
    /// is missing — `forge init` makes it.
    pub fn open(home: &ForgeHome) -> Result<Keys, KeyError> {
        let secret = crate::keyfile::load_or_create(&key_path(home)).map_err(KeyError::Store)?;
        Ok(Keys { secret })
    }

    /// The HMAC of `parts` (each ended by a NUL) under the home's secret,
    /// cut to [`MAC_BYTES`].
    fn hmac(&self, parts: &[&str]) -> [u8; MAC_BYTES] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    fn mac(&self, id: i64, r: &ReplyTo) -> [u8; MAC_BYTES] {
        let (kind, n) = r.item.parts();
        self.hmac(&[
            "forge-reply-v1",
            &id.to_string(),
            &r.user,
            &r.address.to_ascii_lowercase(),
            &r.project,
            kind,
            &n.to_string(),
            &r.message_id,
        ])
    }

    /// The token of `user`'s one-click unsubscribe link for `project`.
    pub fn unsubscribe_token(&self, user: &str, project: &str) -> String {
        hex::encode(self.hmac(&["forge-unsubscribe-v1", user, project]))
    }

    /// Whether `token` is `user`'s unsubscribe token for `project`
    /// (compared in constant time).
    pub fn unsubscribe_ok(&self, user: &str, project: &str, token: &str) -> bool {
        let want = self.hmac(&["forge-unsubscribe-v1", user, project]);
        match hex::decode(token.to_ascii_lowercase()) {
            Ok(given) => bool::from(want.as_slice().ct_eq(given.as_slice())),
            Err(_) => false,
        }
    }

    /// Records `reply` and returns its key (`<id>-<hmac>`, lowercase, safe
    /// in an address's local part whatever case a mail server gives it).
    pub fn mint(&self, store: &Store, reply: &ReplyTo, now_ms: i64) -> Result<String, KeyError> {
        let (kind, n) = reply.item.parts();
        let address = reply.address.to_ascii_lowercase();
        // The key of an earlier mail of the same thread to the same person,
        // if it has most of its life ahead: no write for each mail of a
        // busy item (a mail worker sending hundreds a second would
        // otherwise take the database's write lock twice per mail).
        let young = now_ms - REUSE_FOR.as_millis() as i64;
        let earlier: Option<i64> = store
            .conn()
            .prepare_cached(
                "SELECT id FROM mail_replies
                 WHERE user = ?1 AND project = ?2 AND kind = ?3 AND item = ?4 AND address = ?5
                   AND message_id = ?6 AND created_at > ?7 AND created_at <= ?8
                 ORDER BY created_at DESC LIMIT 1",
            )?
            .query_row(
                params![
                    reply.user,
                    reply.project,
                    kind,
                    n as i64,
                    address,
                    reply.message_id,
                    young,
                    now_ms
                ],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = earlier {
            return Ok(format!("{id}-{}", hex::encode(self.mac(id, reply))));
        }
        store.conn().execute(
            "INSERT INTO mail_replies (user, address, project, kind, item, message_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                reply.user,
                reply.address.to_ascii_lowercase(),
                reply.project,
                kind,
                n as i64,
                reply.message_id,
                now_ms
            ],
        )?;
        let id = store.conn().last_insert_rowid();
        Ok(format!("{id}-{}", hex::encode(self.mac(id, reply))))
    }

    /// The notification `key` answers, if forge made the key and it has
    /// not expired.
    pub fn verify(&self, store: &Store, key: &str, now_ms: i64) -> Result<ReplyTo, KeyError> {
        let malformed = || KeyError::Malformed(key.chars().take(80).collect());
        let (id, mac_hex) = key.split_once('-').ok_or_else(malformed)?;
        let id: i64 = id.parse().map_err(|_| malformed())?;
        let given = hex::decode(mac_hex.to_ascii_lowercase()).map_err(|_| malformed())?;
        let row = store
            .conn()
            .query_row(
                "SELECT user, address, project, kind, item, message_id, created_at FROM mail_replies WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, address, project, kind, n, message_id, created)) = row else {
            return Err(KeyError::Forged);
        };
        let item = Item::from_parts(&kind, n).ok_or(KeyError::Forged)?;
        let reply = ReplyTo {
            user,
            address,
            project,
            item,
            message_id,
        };
        if !bool::from(self.mac(id, &reply).as_slice().ct_eq(given.as_slice())) {
            return Err(KeyError::Forged);
        }
        if now_ms - created > LIFETIME.as_millis() as i64 {
            return Err(KeyError::Expired);
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Store, Keys) {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = ForgeHome::new(dir.path());
        let store = Store::open(&home.db_path()).expect("store");
        let keys = Keys::open(&home).expect("keys");
        (dir, store, keys)
    }

    fn bob() -> ReplyTo {
        ReplyTo {
            user: "bob".into(),
            address: "Bob@Example.org".into(),
            project: "tools/hammer".into(),
            item: Item::Issue(7),
            message_id: "issue-7@forge.test".into(),
        }
    }

    #[test]
    fn a_minted_key_verifies_in_any_case_and_an_altered_one_does_not() {
        let (_d, store, keys) = setup();
        let key = keys.mint(&store, &bob(), 1_000).expect("mint");
        let address = format!("reply+{key}@forge.test");
        assert!(
            address.split('@').next().is_some_and(|l| l.len() <= 64),
            "{address}"
        );
        let back = keys
            .verify(&store, key_of(&address).expect("key"), 2_000)
            .expect("verifies");
        assert_eq!(back.user, "bob");
        assert_eq!(back.address, "bob@example.org");
        assert_eq!(back.item, Item::Issue(7));
        assert!(keys
            .verify(&store, &key.to_ascii_uppercase(), 2_000)
            .is_ok());

        // Another row's id with this MAC, a changed MAC, nonsense, too old.
        let other = keys
            .mint(
                &store,
                &ReplyTo {
                    user: "carol".into(),
                    ..bob()
                },
                1_000,
            )
            .expect("mint");
        let (_, mac) = key.split_once('-').expect("dash");
        let (other_id, _) = other.split_once('-').expect("dash");
        assert_eq!(
            keys.verify(&store, &format!("{other_id}-{mac}"), 2_000),
            Err(KeyError::Forged)
        );
        let mut altered = key.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).expect("utf8");
        assert!(keys.verify(&store, &altered, 2_000).is_err());
        assert!(matches!(
            keys.verify(&store, "hello", 2_000),
            Err(KeyError::Malformed(_))
        ));
        assert_eq!(keys.verify(&store, "999-00", 2_000), Err(KeyError::Forged));
        let later = 1_000 + LIFETIME.as_millis() as i64 + 1;
        assert_eq!(keys.verify(&store, &key, later), Err(KeyError::Expired));
        assert_eq!(key_of("someone@forge.test"), None);
        assert_eq!(key_of("REPLY+abc@forge.test"), Some("abc"));
    }

    #[test]
    fn later_mails_of_a_thread_reuse_its_young_key_and_no_one_elses() {
        let (_d, store, keys) = setup();
        let day = 86_400_000;
        let first = keys.mint(&store, &bob(), day).expect("mint");
        assert_eq!(keys.mint(&store, &bob(), 2 * day).ok(), Some(first.clone()));
        let other = ReplyTo {
            address: "bob@work.example".into(),
            ..bob()
        };
        assert_ne!(keys.mint(&store, &other, 2 * day).ok(), Some(first.clone()));
        let elsewhere = ReplyTo {
            item: Item::Issue(2),
            ..bob()
        };
        assert_ne!(
            keys.mint(&store, &elsewhere, 2 * day).ok(),
            Some(first.clone())
        );
        let month_on = day + REUSE_FOR.as_millis() as i64 + 1;
        let fresh = keys.mint(&store, &bob(), month_on).expect("mint");
        assert_ne!(fresh, first, "an older key is not handed out again");
        assert!(keys.verify(&store, &first, month_on).is_ok());
        assert!(keys.verify(&store, &fresh, month_on).is_ok());
    }

    #[test]
    fn unsubscribe_tokens_are_per_user_and_project() {
        let (_d, _store, keys) = setup();
        let token = keys.unsubscribe_token("bob", "tools/hammer");
        assert!(keys.unsubscribe_ok("bob", "tools/hammer", &token));
        assert!(!keys.unsubscribe_ok("carol", "tools/hammer", &token));
        assert!(!keys.unsubscribe_ok("bob", "tools/saw", &token));
        assert!(!keys.unsubscribe_ok("bob", "tools/hammer", "zz"));
    }

    #[test]
    fn a_key_made_under_another_homes_secret_is_forged() {
        let (_d, store, keys) = setup();
        let key = keys.mint(&store, &bob(), 1_000).expect("mint");
        let elsewhere = Keys { secret: [9u8; 32] };
        assert_eq!(elsewhere.verify(&store, &key, 2_000), Err(KeyError::Forged));
    }
}
