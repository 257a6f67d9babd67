//! Standard Webhooks signing and verification.
//!
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! several space-separated while a rotated secret is in its grace period.
//! A `whsec_` secret's key is the base64 after the prefix; any other secret's
//! key is its UTF-8 bytes. Also the legacy `X-Webhook-Signature:
//! sha256=<hex HMAC of "{timestamp}.{body}">`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

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

/// The legacy `X-Webhook-Signature` value: `sha256=<hex HMAC of "{timestamp}.{body}">`.
pub fn sign_legacy(timestamp: i64, body: &[u8], key: &SigningKey) -> String {
    let mut mac = key.mac();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verify a request as a receiver would: the timestamp within 5 minutes of
/// `now` (unix seconds) and at least one `v1` signature matching, compared in
/// constant time.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let key = SigningKey::from_secret(secret)?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::TimestampOutOfTolerance);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SigningKey {
        SigningKey::from_secret(s).expect("valid secret")
    }

    // The Standard Webhooks reference libraries' published vectors.
    const VECTORS: &[(&str, &str, i64, &str, &str)] = &[
        (
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            r#"{"email":"test@example.com","username":"test_user"}"#,
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        ),
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ];

    #[test]
    fn sign_reproduces_the_published_test_vectors() {
        for (secret, id, ts, body, sig) in VECTORS {
            assert_eq!(sign(id, *ts, body.as_bytes(), &[key(secret)]), *sig);
        }
    }

    #[test]
    fn verify_accepts_the_published_test_vectors() {
        for (secret, id, ts, body, sig) in VECTORS {
            assert_eq!(
                verify(secret, id, &ts.to_string(), sig, body.as_bytes(), *ts + 10),
                Ok(())
            );
        }
    }

    #[test]
    fn verify_rejects_tampering_old_timestamps_and_wrong_secrets() {
        let (secret, id, ts, body, sig) = VECTORS[0];
        let t = ts.to_string();
        assert_eq!(
            verify(secret, id, &t, sig, b"{}", ts),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(
                secret,
                id,
                &t,
                sig,
                body.as_bytes(),
                ts + TOLERANCE_SECONDS + 1
            ),
            Err(VerifyError::TimestampOutOfTolerance)
        );
        assert_eq!(
            verify(VECTORS[1].0, id, &t, sig, body.as_bytes(), ts),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(
            verify(secret, id, "yesterday", sig, body.as_bytes(), ts),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn rotated_secrets_produce_one_signature_each_and_either_verifies() {
        let header = sign("msg_1", 100, b"{}", &[key("new-secret"), key("old-secret")]);
        assert_eq!(header.split(' ').count(), 2);
        assert_eq!(
            verify("new-secret", "msg_1", "100", &header, b"{}", 100),
            Ok(())
        );
        assert_eq!(
            verify("old-secret", "msg_1", "100", &header, b"{}", 100),
            Ok(())
        );
    }

    #[test]
    fn non_whsec_secrets_use_their_utf8_bytes() {
        // HMAC-SHA256("my-secret", "1.{}") in hex, computed independently.
        let legacy = sign_legacy(1, b"{}", &key("my-secret"));
        assert!(legacy.starts_with("sha256="));
        assert_eq!(legacy.len(), 7 + 64);
        assert_eq!(
            SigningKey::from_secret("whsec_!!").map(|_| ()),
            Err(SigningError::SecretEncoding)
        );
    }
}
