//! Asymmetric `v1a` signatures of Standard Webhooks: ed25519 over
//! `{id}.{timestamp}.{body}`. Herald keeps the signing key, `whsk_` + base64
//! of its 32-byte seed (the 64-byte seed-and-public-key form is read too),
//! encrypted at rest like an HMAC secret; receivers verify with the public
//! key, `whpk_` + base64 of its 32 bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use rand::RngCore;

use super::SigningError;

pub const SECRET_PREFIX: &str = "whsk_";
pub const PUBLIC_PREFIX: &str = "whpk_";

/// An ed25519 signing key.
#[derive(Clone)]
pub struct Ed25519Key(ed25519_dalek::SigningKey);

impl std::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ed25519Key(***)")
    }
}

/// A new signing key: `whsk_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut seed = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut seed);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(seed))
}

/// `{id}.{timestamp}.{body}`, the signed content.
pub(super) fn content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let ts = timestamp.to_string();
    let mut out = Vec::with_capacity(msg_id.len() + ts.len() + body.len() + 2);
    out.extend_from_slice(msg_id.as_bytes());
    out.push(b'.');
    out.extend_from_slice(ts.as_bytes());
    out.push(b'.');
    out.extend_from_slice(body);
    out
}

impl Ed25519Key {
    /// Parse a `whsk_` key.
    pub fn from_secret(secret: &str) -> Result<Self, SigningError> {
        let b64 = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SigningError::KeyFormat)?;
        let bytes = STANDARD.decode(b64).map_err(|_| SigningError::KeyFormat)?;
        let seed: [u8; 32] = bytes
            .get(..32)
            .and_then(|s| s.try_into().ok())
            .ok_or(SigningError::KeyFormat)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        match bytes.len() {
            32 => Ok(Self(key)),
            64 if bytes[32..] == key.verifying_key().to_bytes() => Ok(Self(key)),
            _ => Err(SigningError::KeyFormat),
        }
    }

    /// The public key receivers verify with: `whpk_` + base64.
    pub fn public_key(&self) -> String {
        format!(
            "{PUBLIC_PREFIX}{}",
            STANDARD.encode(self.0.verifying_key().to_bytes())
        )
    }

    /// Base64 of the signature of `{id}.{timestamp}.{body}`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let signature = self.0.sign(&content(msg_id, timestamp, body));
        STANDARD.encode(signature.to_bytes())
    }
}

/// A receiver's view: the public key of a `whpk_` (or a `whsk_`) string.
pub(super) fn verifying_key(key: &str) -> Result<VerifyingKey, SigningError> {
    if key.starts_with(SECRET_PREFIX) {
        return Ok(Ed25519Key::from_secret(key)?.0.verifying_key());
    }
    let b64 = key
        .strip_prefix(PUBLIC_PREFIX)
        .ok_or(SigningError::KeyFormat)?;
    let bytes: [u8; 32] = STANDARD
        .decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SigningError::KeyFormat)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| SigningError::KeyFormat)
}

/// Whether one base64 `v1a` signature is valid for `content`.
pub(super) fn valid(key: &VerifyingKey, content: &[u8], b64: &str) -> bool {
    let Some(bytes) = STANDARD
        .decode(b64)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return false;
    };
    key.verify(content, &Signature::from_bytes(&bytes)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_and_sign_verifiably() {
        let secret = generate_secret();
        let key = Ed25519Key::from_secret(&secret).expect("key");
        let public = key.public_key();
        assert!(public.starts_with(PUBLIC_PREFIX));
        let sig = key.sign("msg_1", 100, b"{}");
        let vk = verifying_key(&public).expect("public key");
        assert!(valid(&vk, &content("msg_1", 100, b"{}"), &sig));
        assert!(!valid(&vk, &content("msg_1", 100, b"{ }"), &sig));
        assert!(!valid(&vk, &content("msg_1", 101, b"{}"), &sig));
        assert_eq!(
            verifying_key(&secret).expect("from secret").to_bytes(),
            vk.to_bytes()
        );
    }

    #[test]
    fn the_64_byte_form_is_read_and_bad_keys_are_refused() {
        let key = Ed25519Key::from_secret(&generate_secret()).expect("key");
        let mut long = key.0.to_bytes().to_vec();
        long.extend_from_slice(&key.0.verifying_key().to_bytes());
        let secret = format!("{SECRET_PREFIX}{}", STANDARD.encode(&long));
        assert_eq!(
            Ed25519Key::from_secret(&secret)
                .expect("64 bytes")
                .public_key(),
            key.public_key()
        );
        long[40] ^= 1;
        let mismatched = format!("{SECRET_PREFIX}{}", STANDARD.encode(&long));
        for bad in [
            "whsk_",
            "whsk_!!",
            "whsec_AAAA",
            mismatched.as_str(),
            "whsk_AAAA",
        ] {
            assert!(Ed25519Key::from_secret(bad).is_err(), "{bad}");
        }
        assert!(verifying_key("whpk_AAAA").is_err());
    }
}
