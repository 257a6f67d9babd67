//! Secret handling: AES-256-GCM encryption of endpoint secrets at rest,
//! generation of `whsec_` signing secrets and tenant API keys, and API-key
//! hashing (only SHA-256 digests are stored).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the key must be 32 bytes encoded as base64 (got {0} bytes)")]
    KeyLength(usize),
    #[error("the key is not valid base64")]
    KeyEncoding,
    #[error("ciphertext is malformed or was encrypted under another key")]
    Decrypt,
}

/// The 256-bit key that encrypts endpoint secrets (`HERALD_ENCRYPTION_KEY`).
#[derive(Clone)]
pub struct EncryptionKey([u8; 32]);

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

    /// A deterministic key from a seed. Only for local development.
    pub fn derive_insecure(seed: &[u8]) -> Self {
        Self(Sha256::digest(seed).into())
    }

    /// A fresh random key, base64-encoded (what `openssl rand -base64 32` gives).
    pub fn generate_base64() -> String {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// Encrypt: returns `nonce || ciphertext+tag`.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let cipher = Aes256Gcm::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and a 12-byte nonce cannot fail for
        // inputs under 64 GiB; an empty result would fail to decrypt loudly.
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if data.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = data.split_at(NONCE_LEN);
        Aes256Gcm::new((&self.0).into())
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)
    }

    pub fn decrypt_string(&self, data: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(data)?).map_err(|_| CryptoError::Decrypt)
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
    fn encrypt_then_decrypt_round_trips_and_other_keys_fail() {
        let key = EncryptionKey::from_base64(&EncryptionKey::generate_base64()).expect("key");
        let ct = key.encrypt(b"whsec_abc");
        assert_ne!(&ct[NONCE_LEN..], b"whsec_abc");
        assert_eq!(key.decrypt(&ct).expect("decrypt"), b"whsec_abc");
        let other = EncryptionKey::derive_insecure(b"other");
        assert_eq!(other.decrypt(&ct), Err(CryptoError::Decrypt));
        assert_eq!(key.decrypt(b"short"), Err(CryptoError::Decrypt));
    }

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
