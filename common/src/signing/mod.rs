//! Standard Webhooks signing and verification.
//!
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! or `v1a,<base64 ed25519 signature of the same>` for an endpoint whose
//! key is a `whsk_` one ([`ed25519`]); several space-separated while a
//! rotated secret is in its grace period.
//! A `whsec_` secret's key is the base64 after the prefix; any other secret's
//! key is its UTF-8 bytes. Also the legacy `X-Webhook-Signature:
//! sha256=<hex HMAC of "{timestamp}.{body}">`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub mod ed25519;
pub use ed25519::Ed25519Key;

type HmacSha256 = Hmac<Sha256>;

/// How far a `webhook-timestamp` may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";
pub const LEGACY_HEADER_EVENT: &str = "x-webhook-event";
pub const LEGACY_HEADER_TIMESTAMP: &str = "x-webhook-timestamp";
pub const LEGACY_HEADER_DELIVERY: &str = "x-webhook-delivery";
pub const LEGACY_HEADER_SIGNATURE: &str = "x-webhook-signature";

/// Headers an endpoint's custom headers may not set.
pub const RESERVED_HEADERS: &[&str] = &[
    HEADER_ID,
    HEADER_TIMESTAMP,
    HEADER_SIGNATURE,
    LEGACY_HEADER_EVENT,
    LEGACY_HEADER_TIMESTAMP,
    LEGACY_HEADER_DELIVERY,
    LEGACY_HEADER_SIGNATURE,
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
    "connection",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningError {
    #[error("the whsec_ secret is not valid base64")]
    SecretEncoding,
    #[error("the secret is empty")]
    EmptySecret,
    #[error("not a valid ed25519 key (whsk_ or whpk_ followed by base64 of 32 bytes)")]
    KeyFormat,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("invalid secret: {0}")]
    Secret(#[from] SigningError),
    #[error("the timestamp header is not a unix time")]
    BadTimestamp,
    #[error("the timestamp is outside the tolerance")]
    TimestampOutOfTolerance,
    #[error("no signature matches")]
    NoMatch,
}

/// The HMAC key of one signing secret.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    pub fn from_secret(secret: &str) -> Result<Self, SigningError> {
        if secret.is_empty() {
            return Err(SigningError::EmptySecret);
        }
        match secret.strip_prefix("whsec_") {
            Some(b64) => STANDARD
                .decode(b64)
                .map(Self)
                .map_err(|_| SigningError::SecretEncoding),
            None => Ok(Self(secret.as_bytes().to_vec())),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any size"),
        }
    }

    /// Raw HMAC-SHA256 of `{id}.{timestamp}.{body}`.
    fn standard_digest(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// The `webhook-signature` header value: one `v1,<sig>` per key, space-separated.
pub fn sign(msg_id: &str, timestamp: i64, body: &[u8], keys: &[SigningKey]) -> String {
    let mut out = String::with_capacity(keys.len() * 48);
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str("v1,");
        out.push_str(&STANDARD.encode(key.standard_digest(msg_id, timestamp, body)));
    }
    out
}

/// One key that signs requests: an HMAC secret (`v1`) or an ed25519 signing
/// key (`v1a`). A `whsk_` secret is an ed25519 key; anything else is HMAC.
#[derive(Debug, Clone)]
pub enum Signer {
    Hmac(SigningKey),
    Ed25519(Ed25519Key),
}

impl Signer {
    pub fn from_secret(secret: &str) -> Result<Self, SigningError> {
        if secret.starts_with(ed25519::SECRET_PREFIX) {
            Ed25519Key::from_secret(secret).map(Self::Ed25519)
        } else {
            SigningKey::from_secret(secret).map(Self::Hmac)
        }
    }

    /// The HMAC key, for the legacy `X-Webhook-Signature` header.
    pub fn hmac(&self) -> Option<&SigningKey> {
        match self {
            Self::Hmac(key) => Some(key),
            Self::Ed25519(_) => None,
        }
    }
}

/// The `webhook-signature` header value for any mix of keys: `v1,<sig>` per
/// HMAC key and `v1a,<sig>` per ed25519 key, space-separated, in order.
pub fn sign_with(msg_id: &str, timestamp: i64, body: &[u8], signers: &[Signer]) -> String {
    let mut out = String::with_capacity(signers.len() * 92);
    for (i, signer) in signers.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match signer {
            Signer::Hmac(key) => {
                out.push_str("v1,");
                out.push_str(&STANDARD.encode(key.standard_digest(msg_id, timestamp, body)));
            }
            Signer::Ed25519(key) => {
                out.push_str("v1a,");
                out.push_str(&key.sign(msg_id, timestamp, body));
            }
        }
    }
    out
}

/// The legacy `X-Webhook-Signature` value: `sha256=<hex HMAC of "{timestamp}.{body}">`.
pub fn sign_legacy(timestamp: i64, body: &[u8], key: &SigningKey) -> String {
    let mut mac = key.mac();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verify a request as a receiver would: the timestamp within 5 minutes of
/// `now` (unix seconds) and at least one signature matching: a `v1` one
/// (compared in constant time) for an HMAC secret, a `v1a` one for an
/// ed25519 public key (`whpk_`, or the `whsk_` signing key).
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let asymmetric = [ed25519::PUBLIC_PREFIX, ed25519::SECRET_PREFIX]
        .iter()
        .any(|p| secret.starts_with(p));
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if asymmetric {
        let key = ed25519::verifying_key(secret)?;
        check_time(ts, now)?;
        let content = ed25519::content(msg_id, ts, body);
        let matched = signature_header
            .split_whitespace()
            .filter_map(|s| s.strip_prefix("v1a,"))
            .any(|b64| ed25519::valid(&key, &content, b64));
        return if matched {
            Ok(())
        } else {
            Err(VerifyError::NoMatch)
        };
    }
    let key = SigningKey::from_secret(secret)?;
    check_time(ts, now)?;
    let expected = key.standard_digest(msg_id, ts, body);
    let matched = signature_header
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|sig| sig.ct_eq(&expected).into());
    if matched {
        Ok(())
    } else {
        Err(VerifyError::NoMatch)
    }
}

fn check_time(ts: i64, now: i64) -> Result<(), VerifyError> {
    if (now - ts).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
