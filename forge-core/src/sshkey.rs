//! SSH public keys of users and deploy keys of projects, looked up by the
//! key sshd presents (`AuthorizedKeysCommand`).

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::project::Project;
use crate::{name, time, Error, Result, Store};

/// Key types forge accepts (what OpenSSH offers today).
pub const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A public key as parsed from an `authorized_keys` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Key type (`ssh-ed25519`...).
    pub key_type: String,
    /// The key, base64 as in the line.
    pub blob: String,
    /// The trailing comment.
    pub comment: String,
}

impl PublicKey {
    /// Parses `TYPE BASE64 [COMMENT]`, checking the type against the list and
    /// that the decoded key names the same type.
    pub fn parse(line: &str) -> Result<PublicKey> {
        let bad = |why: &str| Error::invalid("SSH key", why.to_string());
        let mut parts = line.split_whitespace();
        let (Some(key_type), Some(blob)) = (parts.next(), parts.next()) else {
            return Err(bad("expected `TYPE BASE64 [COMMENT]`, as in a .pub file"));
        };
        let comment = parts.collect::<Vec<_>>().join(" ");
        Self::from_parts(key_type, blob, &comment)
    }

    /// The key from its type and base64 blob (what sshd passes as `%t %k`).
    pub fn from_parts(key_type: &str, blob: &str, comment: &str) -> Result<PublicKey> {
        let bad = |why: String| Error::invalid("SSH key", why);
        if !KEY_TYPES.contains(&key_type) {
            return Err(bad(format!(
                "unknown key type `{}` (known: {})",
                name::printable(key_type),
                KEY_TYPES.join(", ")
            )));
        }
        let bytes = STANDARD
            .decode(blob)
            .map_err(|_| bad("the key is not valid base64".into()))?;
        // The blob starts with the type again, as an SSH string (u32 length, bytes).
        let inner = bytes
            .get(..4)
            .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
            .and_then(|len| bytes.get(4..4 + len));
        if inner != Some(key_type.as_bytes()) || bytes.len() < 4 + key_type.len() + 16 {
            return Err(bad(format!("the key data is not a {key_type} key")));
        }
        if comment.chars().any(char::is_control) || comment.len() > 255 {
            return Err(bad(
                "the comment has control characters or is too long".into()
            ));
        }
        Ok(PublicKey {
            key_type: key_type.into(),
            blob: blob.into(),
            comment: comment.into(),
        })
    }

    /// OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the key's hash.
    pub fn fingerprint(&self) -> String {
        let bytes = STANDARD.decode(&self.blob).unwrap_or_default();
        format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(bytes)))
    }
}

/// A registered key, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Row id.
    pub id: i64,
    /// Key type.
    pub key_type: String,
    /// `SHA256:...`.
    pub fingerprint: String,
    /// Comment.
    pub comment: String,
    /// For deploy keys: whether it may push.
    pub push: bool,
}

/// Who a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOwner {
    /// A user's key.
    User(String),
    /// A project's deploy key.
    Deploy {
        /// The key's id (what `forge ssh serve --deploy-key` takes).
        id: i64,
        /// The project.
        project: String,
        /// Whether it may push.
        push: bool,
    },
}

impl Store {
    fn insert_key(
        &self,
        key: &PublicKey,
        user_id: Option<i64>,
        project_id: Option<i64>,
        push: bool,
    ) -> Result<KeyInfo> {
        let fingerprint = key.fingerprint();
        let taken: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM ssh_keys WHERE key_blob = ?1)",
            [&key.blob],
            |r| r.get(0),
        )?;
        if taken {
            return Err(Error::AlreadyExists {
                kind: "SSH key",
                name: fingerprint,
            });
        }
        self.conn().execute(
            "INSERT INTO ssh_keys (key_type, key_blob, fingerprint, comment, user_id, project_id, push, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![key.key_type, key.blob, fingerprint, key.comment, user_id, project_id, push, time::now_epoch()],
        )?;
        Ok(KeyInfo {
            id: self.conn().last_insert_rowid(),
            key_type: key.key_type.clone(),
            fingerprint,
            comment: key.comment.clone(),
            push,
        })
    }

    /// Registers a user's SSH key (a key belongs to one user or project only).
    pub fn add_user_key(&self, username: &str, key: &PublicKey) -> Result<KeyInfo> {
        let user = self.user(username)?;
        self.insert_key(key, Some(user.id), None, true)
    }

    /// Registers a deploy key of a project: read-only unless `push`.
    pub fn add_deploy_key(
        &self,
        project: &Project,
        key: &PublicKey,
        push: bool,
    ) -> Result<KeyInfo> {
        self.insert_key(key, None, Some(project.id), push)
    }

    fn keys_where(&self, column: &str, id: i64) -> Result<Vec<KeyInfo>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT id, key_type, fingerprint, comment, push FROM ssh_keys WHERE {column} = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([id], |r| {
            Ok(KeyInfo {
                id: r.get(0)?,
                key_type: r.get(1)?,
                fingerprint: r.get(2)?,
                comment: r.get(3)?,
                push: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A user's keys.
    pub fn user_keys(&self, username: &str) -> Result<Vec<KeyInfo>> {
        let user = self.user(username)?;
        self.keys_where("user_id", user.id)
    }

    /// A project's deploy keys.
    pub fn deploy_keys(&self, project: &Project) -> Result<Vec<KeyInfo>> {
        self.keys_where("project_id", project.id)
    }

    /// Removes a user's key, named by its fingerprint or by the key itself.
    pub fn remove_user_key(&self, username: &str, key_or_fingerprint: &str) -> Result<()> {
        let user = self.user(username)?;
        self.remove_key("user_id", user.id, key_or_fingerprint)
    }

    /// Removes a deploy key, named by its fingerprint or by the key itself.
    pub fn remove_deploy_key(&self, project: &Project, key_or_fingerprint: &str) -> Result<()> {
        self.remove_key("project_id", project.id, key_or_fingerprint)
    }

    fn remove_key(&self, column: &str, id: i64, key_or_fingerprint: &str) -> Result<()> {
        let fingerprint = if key_or_fingerprint.starts_with("SHA256:") {
            key_or_fingerprint.to_string()
        } else {
            PublicKey::parse(key_or_fingerprint)?.fingerprint()
        };
        let removed = self.conn().execute(
            &format!("DELETE FROM ssh_keys WHERE {column} = ?1 AND fingerprint = ?2"),
            params![id, fingerprint],
        )?;
        if removed == 0 {
            return Err(Error::not_found("SSH key", fingerprint));
        }
        Ok(())
    }

    /// A deploy key by id: its project and whether it may push.
    pub fn deploy_key(&self, id: i64) -> Result<Option<(String, bool)>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT p.full_name, k.push FROM ssh_keys k JOIN projects p ON p.id = k.project_id WHERE k.id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Who a key presented to sshd belongs to, if anyone (no one for the
    /// key of a disabled account).
    pub fn key_owner(&self, key_type: &str, blob: &str) -> Result<Option<KeyOwner>> {
        let row: Option<(String, Option<KeyOwner>)> = self
            .conn()
            .prepare_cached(
                "SELECT k.key_type, u.username, p.full_name, k.push, k.id FROM ssh_keys k
                 LEFT JOIN users u ON u.id = k.user_id AND u.disabled = 0 LEFT JOIN projects p ON p.id = k.project_id
                 WHERE k.key_blob = +?1",
            )?
            .query_row([blob], |r| {
                let owner = match (
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ) {
                    (Some(user), _) => Some(KeyOwner::User(user)),
                    (None, Some(project)) => Some(KeyOwner::Deploy {
                        id: r.get(4)?,
                        project,
                        push: r.get(3)?,
                    }),
                    (None, None) => None,
                };
                Ok((r.get(0)?, owner))
            })
            .optional()?;
        Ok(row.and_then(|(t, owner)| if t == key_type { owner } else { None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syntactically valid ed25519 public key with `seed` as its 32 bytes.
    pub fn test_key(seed: u8) -> String {
        let mut bytes = Vec::new();
        for part in [b"ssh-ed25519".as_slice(), &[seed; 32]] {
            bytes.extend((part.len() as u32).to_be_bytes());
            bytes.extend(part);
        }
        format!("ssh-ed25519 {} test{seed}", STANDARD.encode(bytes))
    }

    #[test]
    fn keys_are_parsed_registered_looked_up_and_removed() -> Result<()> {
        let store = Store::open_in_memory()?;
        store.add_user("alice", "", &["alice@example.org"])?;
        let project = store.create_project("hammer", "", false, "alice")?;
        let key = PublicKey::parse(&test_key(1))?;
        assert!(key.fingerprint().starts_with("SHA256:"));
        let info = store.add_user_key("alice", &key)?;
        assert_eq!(info.comment, "test1");
        assert!(
            store.add_user_key("alice", &key).is_err(),
            "one owner per key"
        );
        assert!(store.add_deploy_key(&project, &key, true).is_err());
        assert_eq!(
            store.key_owner("ssh-ed25519", &key.blob)?,
            Some(KeyOwner::User("alice".into()))
        );
        assert_eq!(
            store.key_owner("ssh-rsa", &key.blob)?,
            None,
            "type must match"
        );
        let deploy = PublicKey::parse(&test_key(2))?;
        store.add_deploy_key(&project, &deploy, false)?;
        let deploy_id = store.deploy_keys(&project)?[0].id;
        assert_eq!(
            store.key_owner("ssh-ed25519", &deploy.blob)?,
            Some(KeyOwner::Deploy {
                id: deploy_id,
                project: "hammer".into(),
                push: false
            })
        );
        store.remove_user_key("alice", &info.fingerprint)?;
        assert_eq!(store.key_owner("ssh-ed25519", &key.blob)?, None);
        assert!(store.user_keys("alice")?.is_empty());
        for bad in [
            "",
            "ssh-ed25519",
            "ssh-dss AAAA",
            "ssh-ed25519 not*base64",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==",
        ] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
