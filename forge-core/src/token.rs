//! API tokens: random secrets stored only as their SHA-256 hash, scoped by
//! action names, optionally to one project, with an optional expiry.

use crate::account::sha256_hex;
use rand::Rng;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use subtle::ConstantTimeEq;

use crate::role::Action;
use crate::{time, Error, Result, Store};

/// What a token may do; never holds the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    /// Public id (for listing and revoking).
    pub id: String,
    /// The user the token acts for.
    pub user: String,
    /// The project it is limited to, if any.
    pub project: Option<String>,
    /// The action names it allows.
    pub acls: Vec<String>,
    /// Free description.
    pub description: String,
    /// Creation time, epoch seconds.
    pub created_at: i64,
    /// Expiry, epoch seconds.
    pub expires_at: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl Token {
    /// Whether the token allows `action` on `project` (holds one of its
    /// [`Action::token_acls`]). The user's role is
    /// checked separately: a token never grants more than its user has.
    pub fn allows(&self, action: Action, project: Option<&str>) -> bool {
        // An action on no project (creating or forking one) is allowed by
        // its ACL whatever project the token is for, as in Pagure.
        let project_ok = match (&self.project, project) {
            (None, _) | (Some(_), None) => true,
            (Some(scope), Some(p)) => scope == p,
        };
        project_ok
            && action
                .token_acls()
                .iter()
                .any(|allowing| self.acls.iter().any(|a| a == allowing.as_str()))
    }
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl Store {
    /// Creates a token; returns it with its secret, which is not stored and
    /// cannot be shown again.
    pub fn create_token(
        &self,
        username: &str,
        project: Option<&str>,
        acls: &[Action],
        expires_days: Option<u32>,
        description: &str,
    ) -> Result<(Token, String)> {
        if acls.is_empty() {
            return Err(Error::invalid(
                "token ACLs",
                "at least one action name is needed",
            ));
        }
        if expires_days == Some(0) {
            return Err(Error::invalid(
                "token expiry",
                "a token must live at least 1 day (leave the expiry out for one that does not expire)",
            ));
        }
        let user = self.user(username)?;
        let project_id = project.map(|p| self.project(p).map(|p| p.id)).transpose()?;
        let mut rng = rand::rng();
        let secret: String = (0..64)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let id: String = (0..12)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let now = time::now_epoch();
        let expires_at = expires_days.map(|d| now + i64::from(d) * 86_400);
        let acl_names: Vec<String> = acls.iter().map(|a| a.as_str().to_string()).collect();
        self.conn().execute(
            "INSERT INTO tokens (id, hash, user_id, project_id, acls, description, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, sha256_hex(&secret), user.id, project_id, acl_names.join(","), description, now, expires_at],
        )?;
        let token = Token {
            id,
            user: user.username,
            project: project.map(String::from),
            acls: acl_names,
            description: description.into(),
            created_at: now,
            expires_at,
            revoked: false,
        };
        Ok((token, secret))
    }

    fn token_where(&self, clause: &str, param: &str) -> Result<Option<(Token, String)>> {
        let sql = format!(
            "SELECT t.id, u.username, p.full_name, t.acls, t.description, t.created_at, t.expires_at, t.revoked, t.hash
             FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN projects p ON p.id = t.project_id WHERE {clause}"
        );
        Ok(self
            .conn()
            .query_row(&sql, [param], |r| {
                let acls: String = r.get(3)?;
                Ok((
                    Token {
                        id: r.get(0)?,
                        user: r.get(1)?,
                        project: r.get(2)?,
                        acls: acls.split(',').map(String::from).collect(),
                        description: r.get(4)?,
                        created_at: r.get(5)?,
                        expires_at: r.get(6)?,
                        revoked: r.get(7)?,
                    },
                    r.get(8)?,
                ))
            })
            .optional()?)
    }

    /// Checks a presented secret: known, not revoked, not expired, its
    /// user not disabled.
    pub fn verify_token(&self, secret: &str) -> Result<Token> {
        let presented = sha256_hex(secret);
        let (token, stored) = self
            .token_where("t.hash = +?1 AND u.disabled = 0", &presented)?
            .ok_or(Error::InvalidToken)?;
        // The lookup matched on the hash already; compare again in constant time so
        // the decision itself does not depend on how many bytes matched.
        let same: bool = stored.as_bytes().ct_eq(presented.as_bytes()).into();
        let live = !token.revoked && token.expires_at.is_none_or(|t| t > time::now_epoch());
        if same && live {
            Ok(token)
        } else {
            Err(Error::InvalidToken)
        }
    }

    /// The tokens of a user.
    pub fn list_tokens(&self, username: &str) -> Result<Vec<Token>> {
        let user = self.user(username)?;
        let mut stmt = self
            .conn()
            .prepare("SELECT id FROM tokens WHERE user_id = ?1 ORDER BY created_at, id")?;
        let ids = stmt
            .query_map([user.id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        ids.iter()
            .map(|id| Ok(self.token_where("t.id = +?1", id)?.map(|(t, _)| t)))
            .filter_map(Result::transpose)
            .collect()
    }

    /// Revokes a token of `username` by id (another user's token is not
    /// found).
    pub fn revoke_token_of(&self, username: &str, id: &str) -> Result<()> {
        let user = self.user(username)?;
        let n = self.conn().execute(
            "UPDATE tokens SET revoked = 1 WHERE id = ?1 AND user_id = ?2",
            params![id, user.id],
        )?;
        if n == 0 {
            return Err(Error::not_found("token", crate::name::printable(id)));
        }
        Ok(())
    }

    /// Revokes a token by id.
    pub fn revoke_token(&self, id: &str) -> Result<()> {
        let n = self
            .conn()
            .execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::not_found("token", crate::name::printable(id)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_scope_and_revoke() -> Result<()> {
        let store = Store::open_in_memory()?;
        store.add_user("alice", "", &[])?;
        store.create_project("hammer", "", false, "alice")?;
        let (token, secret) = store.create_token(
            "alice",
            Some("hammer"),
            &[Action::IssueCreate],
            Some(30),
            "ci",
        )?;
        let stored: String = store
            .conn()
            .query_row("SELECT hash FROM tokens", [], |r| r.get(0))?;
        assert_ne!(stored, secret, "only the hash is stored");
        let verified = store.verify_token(&secret)?;
        assert_eq!(verified, token);
        assert!(verified.allows(Action::IssueCreate, Some("hammer")));
        assert!(!verified.allows(Action::IssueCreate, Some("other")));
        assert!(!verified.allows(Action::IssueComment, Some("hammer")));
        assert!(matches!(
            store.verify_token("WRONG"),
            Err(Error::InvalidToken)
        ));
        store.revoke_token(&token.id)?;
        assert!(matches!(
            store.verify_token(&secret),
            Err(Error::InvalidToken)
        ));
        Ok(())
    }

    #[test]
    fn expired_tokens_are_refused() -> Result<()> {
        let store = Store::open_in_memory()?;
        store.add_user("alice", "", &[])?;
        let (_, secret) = store.create_token("alice", None, &[Action::IssueCreate], Some(1), "")?;
        store
            .conn()
            .execute("UPDATE tokens SET expires_at = 1", [])?;
        assert!(matches!(
            store.verify_token(&secret),
            Err(Error::InvalidToken)
        ));
        Ok(())
    }
}
