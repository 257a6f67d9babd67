//! Small in-memory caches that keep per-request database round trips off the
//! hot path: the tenant list (it only grows, so a positive answer can be
//! kept forever), API keys (kept briefly, so a revocation on another ingest
//! node takes effect within [`KEY_TTL`], each key's last use written at most
//! once per [`TOUCH_EVERY`]) and the event type catalogue with compiled
//! schemas ([`EventTypes`], kept for [`TYPE_TTL`]).

mod event_types;

pub use event_types::{EventTypes, TypeState, TYPE_TTL};

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use herald_common::domain::TenantId;
use uuid::Uuid;

use super::api_keys::{self, KeyOwner};
use super::error::StoreError;
use super::tenants;

/// How long a verified API key is trusted without asking Postgres again.
pub const KEY_TTL: Duration = Duration::from_secs(5);
/// How often a key's `last_used_at` is written (per ingest node).
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Names known to exist (tenants). Entries are never removed: the API has
/// no route that deletes them.
#[derive(Default)]
pub struct KnownNames(RwLock<HashSet<String>>);

impl KnownNames {
    fn contains(&self, name: &str) -> bool {
        self.0.read().map(|s| s.contains(name)).unwrap_or(false)
    }

    pub fn insert(&self, name: &str) {
        if let Ok(mut s) = self.0.write() {
            s.insert(name.to_string());
        }
    }

    /// The names of `wanted` not known yet.
    fn unknown(&self, wanted: &[&str]) -> Vec<String> {
        wanted
            .iter()
            .filter(|n| !self.contains(n))
            .map(|n| n.to_string())
            .collect()
    }

    /// Remember the names `found` in Postgres; the first of `asked` that is
    /// not among them.
    fn learn(&self, asked: Vec<String>, found: &[String]) -> Option<String> {
        for name in found {
            self.insert(name);
        }
        asked.into_iter().find(|n| !found.contains(n))
    }
}

/// The set of tenants.
#[derive(Default)]
pub struct Tenants(pub KnownNames);

impl Tenants {
    pub async fn exists(&self, db: &Pool, tenant: &TenantId) -> Result<bool, StoreError> {
        let unknown = self.0.unknown(&[tenant.as_str()]);
        if unknown.is_empty() {
            return Ok(true);
        }
        let found = tenants::existing(db, &unknown).await?;
        Ok(self.0.learn(unknown, &found).is_none())
    }
}

/// Verified API keys by SHA-256 digest, each kept for [`KEY_TTL`], and when
/// each key's use was last written.
#[derive(Default)]
pub struct ApiKeys {
    verified: RwLock<HashMap<Vec<u8>, (KeyOwner, Instant)>>,
    touched: Mutex<HashMap<Uuid, Instant>>,
}

impl ApiKeys {
    /// The owner of the key with this digest, or `None` if it is unknown or revoked.
    pub async fn lookup(&self, db: &Pool, digest: &[u8]) -> Result<Option<KeyOwner>, StoreError> {
        if let Ok(map) = self.verified.read() {
            if let Some((owner, at)) = map.get(digest) {
                if at.elapsed() < KEY_TTL {
                    return Ok(Some(owner.clone()));
                }
            }
        }
        let Some(owner) = api_keys::owner(db, digest).await? else {
            if let Ok(mut map) = self.verified.write() {
                map.remove(digest);
            }
            return Ok(None);
        };
        if let Ok(mut map) = self.verified.write() {
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < KEY_TTL);
            }
            map.insert(digest.to_vec(), (owner.clone(), Instant::now()));
        }
        Ok(Some(owner))
    }

    /// Drop a revoked key from this node's cache at once.
    pub fn revoke(&self, key_id: Uuid) {
        if let Ok(mut map) = self.verified.write() {
            map.retain(|_, (owner, _)| owner.key_id != key_id);
        }
    }

    /// Write the key's `last_used_at` in the background, unless this node
    /// did so less than [`TOUCH_EVERY`] ago: no request waits for it.
    pub fn touch(&self, db: &Pool, key_id: Uuid) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            if touched
                .get(&key_id)
                .is_some_and(|at| at.elapsed() < TOUCH_EVERY)
            {
                return;
            }
            if touched.len() > 10_000 {
                touched.retain(|_, at| at.elapsed() < TOUCH_EVERY);
            }
            touched.insert(key_id, Instant::now());
        }
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(error) = api_keys::touch(&db, key_id).await {
                tracing::debug!(%error, %key_id, "Could not record an API key's last use.");
            }
        });
    }
}
