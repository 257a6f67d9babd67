//! Endpoint secrets at rest: AES-256-GCM under one of several named keys.
//!
//! A sealed secret is `magic "HRK\x01" | id length (1 byte) | key id |
//! 12-byte nonce | ciphertext and tag`. The associated data is the
//! endpoint's id and that header, so a ciphertext copied into another row
//! (or given another key id) does not decrypt. The first key of the ring
//! encrypts; every key decrypts the secrets that name it, so the master key
//! can be rotated: add a new first key, re-encrypt (`herald-ingest
//! rotate-keys`), then drop the old one.
//!
//! Secrets written before this format (`nonce | ciphertext and tag`, no
//! associated data, no key id) are still read with any key of the ring, and
//! `rotate-keys` rewrites them.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use std::sync::Arc;
use uuid::Uuid;

use super::{CryptoError, EncryptionKey};

const MAGIC: [u8; 4] = *b"HRK\x01";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAX_ID: usize = 32;
/// What the associated data starts with (then the endpoint id, then the header).
const CONTEXT: &[u8] = b"herald/endpoint-secret/v1";

/// A key's name: 1 to 32 of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId(String);

impl KeyId {
    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        let ok = (1..=MAX_ID).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(CryptoError::KeyId(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which key a stored ciphertext says it was sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed<'a> {
    /// The current format, under the key with this id.
    Under(&'a str),
    /// The format before key ids (no associated data).
    Legacy,
}

/// The configured keys, the first one encrypting. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Arc<[(KeyId, EncryptionKey)]>,
}

impl Keyring {
    /// At least one key, ids unique; the first encrypts.
    pub fn new(keys: Vec<(KeyId, EncryptionKey)>) -> Result<Self, CryptoError> {
        if keys.is_empty() {
            return Err(CryptoError::NoKeys);
        }
        for (i, (id, _)) in keys.iter().enumerate() {
            if keys[..i].iter().any(|(seen, _)| seen == id) {
                return Err(CryptoError::DuplicateKeyId(id.0.clone()));
            }
        }
        Ok(Self { keys: keys.into() })
    }

    /// The id of the key that encrypts.
    pub fn primary(&self) -> &KeyId {
        &self.keys[0].0
    }

    /// Every key id, the primary first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    fn key(&self, id: &str) -> Option<&EncryptionKey> {
        self.keys
            .iter()
            .find(|(k, _)| k.0 == id)
            .map(|(_, key)| key)
    }

    /// Encrypt `endpoint`'s secret under the primary key.
    pub fn seal(&self, endpoint: Uuid, plaintext: &[u8]) -> Vec<u8> {
        let (id, key) = &self.keys[0];
        let mut out = Vec::with_capacity(5 + id.0.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&MAGIC);
        out.push(id.0.len() as u8);
        out.extend_from_slice(id.0.as_bytes());
        let header_len = out.len();
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = associated_data(endpoint, &out);
        let payload = Payload {
            msg: plaintext,
            aad: &aad,
        };
        // Encryption with a valid key and a 12-byte nonce cannot fail for
        // inputs under 64 GiB; an empty result would fail to decrypt loudly.
        let ct = cipher(key)
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        out.truncate(header_len);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypt `endpoint`'s secret, sealed by [`Keyring::seal`] under any
    /// key of the ring, or written in the legacy format.
    pub fn open(&self, endpoint: Uuid, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sealed = match split(data) {
            Some((header, id, body)) => match self.key(id) {
                Some(key) => decrypt(key, body, &associated_data(endpoint, header)),
                None => Err(CryptoError::UnknownKey(id.to_string())),
            },
            None => Err(CryptoError::Decrypt),
        };
        // A legacy ciphertext starts with a random nonce, which may (once in
        // 2^32) look like the header: try it the old way before giving up.
        sealed.or_else(|e| self.open_legacy(data).ok_or(e))
    }

    pub fn open_string(&self, endpoint: Uuid, data: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.open(endpoint, data)?).map_err(|_| CryptoError::Decrypt)
    }

    fn open_legacy(&self, data: &[u8]) -> Option<Vec<u8>> {
        self.keys
            .iter()
            .find_map(|(_, key)| decrypt(key, data, &[]).ok())
    }

    /// Which key `data` names (without decrypting it).
    pub fn sealed_with(data: &[u8]) -> Sealed<'_> {
        match split(data) {
            Some((_, id, _)) => Sealed::Under(id),
            None => Sealed::Legacy,
        }
    }

    /// Whether `data` is sealed in the current format under the primary key
    /// (what `rotate-keys` leaves alone).
    pub fn is_current(&self, data: &[u8]) -> bool {
        Self::sealed_with(data) == Sealed::Under(self.primary().as_str())
    }
}

/// A keyring of `ids` (the first encrypts), each key derived from its id:
/// for tests only, never for data that matters.
#[cfg(any(test, feature = "test-util"))]
pub fn insecure_ring(ids: &[&str]) -> Keyring {
    let keys = ids.iter().map(|id| {
        let key = EncryptionKey::derive_insecure(id.as_bytes());
        (KeyId::parse(id).expect("test key id"), key)
    });
    Keyring::new(keys.collect()).expect("test keyring")
}

/// The legacy format (`nonce | ciphertext and tag`, no associated data), for
/// tests of the migration path.
#[cfg(any(test, feature = "test-util"))]
pub fn seal_legacy(key: &EncryptionKey, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = cipher(key)
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .unwrap_or_default();
    [nonce.as_slice(), &ct].concat()
}

fn cipher(key: &EncryptionKey) -> Aes256Gcm {
    Aes256Gcm::new((&key.0).into())
}

/// `(header, key id, nonce | ciphertext)` of the current format.
fn split(data: &[u8]) -> Option<(&[u8], &str, &[u8])> {
    let rest = data.strip_prefix(&MAGIC)?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if !(1..=MAX_ID).contains(&len) || rest.len() < len + NONCE_LEN + TAG_LEN {
        return None;
    }
    let id = std::str::from_utf8(&rest[..len]).ok()?;
    KeyId::parse(id).ok()?;
    Some((&data[..MAGIC.len() + 1 + len], id, &rest[len..]))
}

fn associated_data(endpoint: Uuid, header: &[u8]) -> Vec<u8> {
    [CONTEXT, endpoint.as_bytes().as_slice(), header].concat()
}

/// `body` is `nonce | ciphertext and tag`.
fn decrypt(key: &EncryptionKey, body: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, ct) = body.split_at(NONCE_LEN);
    cipher(key)
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests;
