//! Secrets forge must send back out (webhook secrets, a CI server's
//! trigger token, a GitHub token) kept encrypted (XChaCha20-Poly1305)
//! under a key in the forge home (`webhook.key`, made on first use,
//! readable by its owner only): the database alone gives none of them away.

use std::cell::OnceCell;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use forge_core::ForgeHome;

/// Seals and opens secrets with a home's key, read (or made) on first need:
/// a home that never seals anything gets no key file.
pub struct Sealer {
    key_path: PathBuf,
    cipher: OnceCell<XChaCha20Poly1305>,
}

/// The file of a home's key.
pub fn key_path(home: &ForgeHome) -> PathBuf {
    home.root().join("webhook.key")
}

impl Sealer {
    /// The sealer of `home`.
    pub fn new(home: &ForgeHome) -> Sealer {
        Sealer {
            key_path: key_path(home),
            cipher: OnceCell::new(),
        }
    }

    fn cipher(&self) -> Result<&XChaCha20Poly1305, String> {
        if let Some(cipher) = self.cipher.get() {
            return Ok(cipher);
        }
        let key = crate::keyfile::load_or_create(&self.key_path)?;
        Ok(self
            .cipher
            .get_or_init(|| XChaCha20Poly1305::new(Key::from_slice(&key))))
    }

    /// `secret` encrypted with a fresh nonce, as base64 text. The error
    /// says what went wrong with the key file, never the secret.
    pub fn seal(&self, secret: &str) -> Result<String, String> {
        let nonce: [u8; 24] = rand::random();
        let sealed = self
            .cipher()?
            .encrypt(XNonce::from_slice(&nonce), secret.as_bytes())
            .map_err(|_| "a secret could not be encrypted".to_string())?;
        Ok(STANDARD.encode([nonce.as_slice(), &sealed].concat()))
    }

    /// The secret `sealed` holds; `what` names it in the error (a key
    /// replaced since it was sealed, a damaged value).
    pub fn open(&self, sealed: &str, what: &str) -> Result<String, String> {
        let broken = || {
            format!("{what} does not decrypt with this home's webhook.key (was the key replaced?)")
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| broken())?;
        if bytes.len() < 24 {
            return Err(broken());
        }
        let (nonce, sealed) = bytes.split_at(24);
        let plain = self
            .cipher()?
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| broken())?;
        String::from_utf8(plain).map_err(|_| broken())
    }
}

/// A secret as someone types it in: a token (no spaces, `spaces` false)
/// or a webhook secret (any text): 1 to 1024 characters, no control
/// characters; the error names `what`, never the text.
pub fn check_secret(what: &str, text: &str, spaces: bool) -> Result<(), forge_core::Error> {
    let ok = !text.trim().is_empty()
        && text.len() <= 1024
        && !text
            .chars()
            .any(|c| c.is_control() || (!spaces && c.is_whitespace()));
    if ok {
        Ok(())
    } else {
        let expected = if spaces {
            "expected 1 to 1024 characters, no control characters"
        } else {
            "expected 1 to 1024 characters without spaces"
        };
        Err(forge_core::Error::invalid(what.to_string(), expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = ForgeHome::new(dir.path());
        let sealed = Sealer::new(&home).seal("s3cret").expect("seal");
        assert!(!sealed.contains("s3cret"));
        assert_ne!(sealed, Sealer::new(&home).seal("s3cret").expect("seal"));
        assert_eq!(
            Sealer::new(&home).open(&sealed, "a token").expect("open"),
            "s3cret"
        );
        std::fs::write(key_path(&home), [7u8; 32]).expect("replace");
        let e = Sealer::new(&home)
            .open(&sealed, "a token")
            .expect_err("other key");
        assert!(e.starts_with("a token does not decrypt"), "{e}");
        assert!(Sealer::new(&home).open("%%", "x").is_err());
    }
}
