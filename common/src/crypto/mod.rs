//! Secret handling: encryption of endpoint secrets at rest ([`keyring`]:
//! AES-256-GCM under a set of named keys, bound to the endpoint's id), the
//! local install's generated key ([`key_file`]), generation of `whsec_`
//! signing secrets and tenant API keys, and API-key hashing (only SHA-256
//! digests are stored).

pub mod key_file;
pub mod keyring;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

pub use keyring::{KeyId, Keyring, Sealed};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the key must be 32 bytes encoded as base64 (got {0} bytes)")]
    KeyLength(usize),
    #[error("the key is not valid base64")]
    KeyEncoding,
    #[error("a key id is 1 to 32 of A-Z, a-z, 0-9, `_`, `-` (got {0:?})")]
    KeyId(String),
    #[error("the key id {0:?} is listed twice")]
    DuplicateKeyId(String),
    #[error("no encryption key is configured")]
    NoKeys,
    #[error("the secret was encrypted under key {0:?}, which is not configured (HERALD_ENCRYPTION_KEYS)")]
    UnknownKey(String),
    #[error(
        "ciphertext is malformed, belongs to another endpoint, or was encrypted under another key"
    )]
    Decrypt,
}

/// A 256-bit AES key.
#[derive(Clone)]
pub struct EncryptionKey(pub(crate) [u8; 32]);

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

impl EncryptionKey {
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(s.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(s.trim()))
            .map_err(|_| CryptoError::KeyEncoding)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::KeyLength(bytes.len()))?;
        Ok(Self(key))
    }

    /// A deterministic key from a seed: the well-known key that local
    /// installs used before they generated their own (still read, never
    /// written), and fixed keys in tests.
    pub fn derive_insecure(seed: &[u8]) -> Self {
        Self(Sha256::digest(seed).into())
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }

    /// A fresh random key, base64-encoded (what `openssl rand -base64 32` gives).
    pub fn generate_base64() -> String {
        Self::generate().to_base64()
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

/// A new signing secret: `whsec_` + base64 of 24 random bytes.
pub fn generate_webhook_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// A new tenant API key: `hk_` + 32 random bytes, URL-safe base64.
pub fn generate_api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("hk_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of an API key, as stored in `api_keys.key_hash`.
pub fn hash_api_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_the_wrong_size_are_refused() {
        assert_eq!(
            EncryptionKey::from_base64("AAAA").map(|_| ()),
            Err(CryptoError::KeyLength(3))
        );
        assert_eq!(
            EncryptionKey::from_base64("!!!").map(|_| ()),
            Err(CryptoError::KeyEncoding)
        );
        let key = EncryptionKey::generate();
        let again = EncryptionKey::from_base64(&key.to_base64()).expect("round trip");
        assert_eq!(again.0, key.0);
        assert!(format!("{key:?}").contains("***"));
    }

    #[test]
    fn generated_secrets_have_the_standard_shape() {
        let s = generate_webhook_secret();
        let raw = STANDARD
            .decode(s.strip_prefix("whsec_").expect("prefix"))
            .expect("b64");
        assert_eq!(raw.len(), 24);
        assert_ne!(generate_webhook_secret(), s);
        assert!(generate_api_key().starts_with("hk_"));
        assert_eq!(hash_api_key("x").len(), 32);
    }
}
