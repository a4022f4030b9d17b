//! Webhook secrets and signatures: Standard Webhooks' (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `id.timestamp.body`, keyed with the secret's decoded bytes) and Pagure's
//! (`X-Pagure-Signature`, hex HMAC-SHA1, and `X-Pagure-Signature-256`, hex
//! HMAC-SHA256, over the body, keyed with the whole secret string), and
//! Pagure's body, its keys sorted; and the check of GitHub's
//! `X-Hub-Signature-256` on webhooks that come in.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};

/// The prefix of every secret.
pub const PREFIX: &str = "whsec_";
/// Fewest secret bytes accepted (Standard Webhooks asks for 24 to 64).
pub const MIN_SECRET_BYTES: usize = 24;
/// Most secret bytes accepted.
pub const MAX_SECRET_BYTES: usize = 64;

/// A webhook secret, `whsec_<base64>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    text: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Why a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid webhook secret: {0}")]
pub struct BadSecret(pub String);

impl Secret {
    /// A new random secret of 32 bytes.
    pub fn generate() -> Secret {
        let key: [u8; 32] = rand::random();
        Secret {
            text: format!("{PREFIX}{}", STANDARD.encode(key)),
            key: key.to_vec(),
        }
    }

    /// Reads `whsec_<base64>` of 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<Secret, BadSecret> {
        let text = text.trim();
        let Some(b64) = text.strip_prefix(PREFIX) else {
            return Err(BadSecret(format!(
                "it must start with `{PREFIX}` (then base64 of {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes)"
            )));
        };
        let key = STANDARD
            .decode(b64)
            .map_err(|_| BadSecret(format!("what follows `{PREFIX}` is not base64")))?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(BadSecret(format!(
                "it holds {} bytes; {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} are needed",
                key.len()
            )));
        }
        Ok(Secret {
            text: text.to_string(),
            key,
        })
    }

    /// The secret as its owner writes it (`whsec_...`): to store encrypted
    /// or show once, never to log.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// `webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn standard_signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// `X-Pagure-Signature` and `X-Pagure-Signature-256`: hex HMAC-SHA1 and
    /// HMAC-SHA256 of the body, keyed with the whole secret string (what a
    /// receiver configured for Pagure with that string computes).
    pub fn pagure_signatures(&self, body: &[u8]) -> (String, String) {
        let key = self.text.as_bytes();
        let mut sha1 = Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key");
        sha1.update(body);
        let mut sha256 = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key");
        sha256.update(body);
        (
            hex::encode(sha1.finalize().into_bytes()),
            hex::encode(sha256.finalize().into_bytes()),
        )
    }
}

/// Why an incoming webhook's signature was refused. The texts name the
/// header, never the secret or the signature expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadSignature {
    /// No header.
    #[error("X-Hub-Signature-256 is missing")]
    Missing,
    /// Not `sha256=` and 64 hex digits.
    #[error("X-Hub-Signature-256 is not `sha256=` and 64 hex digits")]
    Malformed,
    /// Well formed, but not this body's under this secret.
    #[error("X-Hub-Signature-256 does not match the body under this secret")]
    Mismatch,
}

/// Checks GitHub's `X-Hub-Signature-256` (`sha256=<hex HMAC-SHA256 of the
/// body>`, keyed with the secret's bytes as typed) in constant time.
pub fn verify_hub_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), BadSignature> {
    let header = header.ok_or(BadSignature::Missing)?.trim();
    let given = header
        .strip_prefix("sha256=")
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(BadSignature::Malformed)?;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| BadSignature::Mismatch)
}

/// `value` with every object's keys in order, whatever the map keeps.
pub fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Pagure's webhook body: `{"i", "msg": {..., "pagure_instance",
/// "project_fullname"}, "msg_id", "timestamp", "topic"}`, keys sorted.
pub fn pagure_body(
    topic: &str,
    msg: &Value,
    project: &str,
    instance: &str,
    timestamp: i64,
    msg_id: &str,
) -> Vec<u8> {
    let mut msg = match msg {
        Value::Object(m) => m.clone(),
        other => {
            let mut m = Map::new();
            m.insert("data".into(), other.clone());
            m
        }
    };
    msg.insert("project_fullname".into(), Value::from(project));
    msg.insert("pagure_instance".into(), Value::from(instance));
    let body = serde_json::json!({
        "topic": topic,
        "msg": Value::Object(msg),
        "timestamp": timestamp,
        "msg_id": msg_id,
        "i": 1,
    });
    serde_json::to_vec(&sorted(&body)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_signature_matches_the_specs_example() {
        // The example of the Standard Webhooks reference libraries (checked
        // with the Python `standardwebhooks` package).
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        assert_eq!(
            secret.standard_signature(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn pagures_signatures_are_keyed_with_the_whole_string() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let (sha1, sha256) = secret.pagure_signatures(b"{}");
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .expect("mac");
        mac.update(b"{}");
        assert_eq!(sha256, hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sha1.len(), 40);
    }

    #[test]
    fn bad_secrets_are_refused_with_the_reason_and_never_printed() {
        let short = format!("{PREFIX}{}", STANDARD.encode([7u8; 8]));
        for (text, reason) in [
            ("hunter2", "must start with"),
            ("whsec_***", "not base64"),
            (short.as_str(), "holds 8 bytes"),
        ] {
            let e = Secret::parse(text).expect_err(text);
            assert!(e.to_string().contains(reason), "{e}");
        }
        let made = Secret::generate();
        assert!(Secret::parse(made.expose()).is_ok());
        assert_eq!(format!("{made:?}"), "Secret(..)");
    }

    #[test]
    fn githubs_signature_is_checked_against_its_documented_example() {
        // GitHub's "Validating webhook deliveries" example.
        let secret = b"It's a Secret to Everybody";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            verify_hub_signature(secret, b"Hello, World!", Some(good)),
            Ok(())
        );
        let upper = good.to_uppercase().replacen("SHA256", "sha256", 1);
        assert_eq!(
            verify_hub_signature(secret, b"Hello, World!", Some(&upper)),
            Ok(())
        );
        for (body, header, why) in [
            (&b"Hello, World?"[..], Some(good), BadSignature::Mismatch),
            (b"Hello, World!", None, BadSignature::Missing),
            (b"Hello, World!", Some(&good[7..]), BadSignature::Malformed),
            (b"Hello, World!", Some("sha256=zz"), BadSignature::Malformed),
            (b"Hello, World!", Some(&good[..70]), BadSignature::Malformed),
            (
                b"Hello, World!",
                Some("sha1=757107ea"),
                BadSignature::Malformed,
            ),
        ] {
            assert_eq!(verify_hub_signature(secret, body, header), Err(why));
        }
        assert_eq!(
            verify_hub_signature(b"another secret", b"Hello, World!", Some(good)),
            Err(BadSignature::Mismatch)
        );
        assert!(!BadSignature::Mismatch.to_string().contains("757107"));
    }

    #[test]
    fn pagures_body_has_its_keys_sorted() {
        let body = pagure_body(
            "issue.new",
            &serde_json::json!({"issue": {"title": "T", "id": 1}}),
            "tools/hammer",
            "https://forge.example.org",
            1700000000,
            "2026-abc",
        );
        let text = String::from_utf8(body).expect("utf-8");
        assert_eq!(
            text,
            r#"{"i":1,"msg":{"issue":{"id":1,"title":"T"},"pagure_instance":"https://forge.example.org","project_fullname":"tools/hammer"},"msg_id":"2026-abc","timestamp":1700000000,"topic":"issue.new"}"#
        );
    }
}
