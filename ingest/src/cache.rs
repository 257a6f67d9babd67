//! Small in-memory caches that keep per-request database round trips off the
//! hot path: the event-type registry and the tenant list (both only grow, so
//! a positive answer can be kept forever) and API keys (kept briefly, so a
//! revocation on another ingest node takes effect within [`KEY_TTL`]).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use herald_common::domain::TenantId;
use uuid::Uuid;

use crate::error::ApiError;

/// How long a verified API key is trusted without asking Postgres again.
pub const KEY_TTL: Duration = Duration::from_secs(5);

/// Names known to exist (event types or tenants). Entries are never removed:
/// the API has no route that deletes them.
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

    /// The names in `wanted` that do not exist, asking Postgres (`sql`, a
    /// trusted constant taking a `text[]`) about those not cached.
    async fn missing(
        &self,
        db: &Pool,
        sql: &str,
        wanted: &[&str],
    ) -> Result<Vec<String>, ApiError> {
        let unknown: Vec<String> = wanted
            .iter()
            .filter(|n| !self.contains(n))
            .map(|n| n.to_string())
            .collect();
        if unknown.is_empty() {
            return Ok(Vec::new());
        }
        let client = db.get().await?;
        let rows = client.query(sql, &[&unknown]).await?;
        let found: HashSet<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
        for name in &found {
            self.insert(name);
        }
        Ok(unknown.into_iter().filter(|n| !found.contains(n)).collect())
    }
}

/// The registry of event types.
#[derive(Default)]
pub struct EventTypes(pub KnownNames);

impl EventTypes {
    /// `Err(422 unknown_event_type)` naming the first unregistered type.
    pub async fn ensure_registered(&self, db: &Pool, names: &[&str]) -> Result<(), ApiError> {
        let missing = self
            .0
            .missing(
                db,
                "SELECT name FROM event_types WHERE name = ANY($1)",
                names,
            )
            .await?;
        match missing.first() {
            None => Ok(()),
            Some(name) => Err(ApiError::unprocessable(
                "unknown_event_type",
                format!("the event type {name:?} is not registered (see GET /event-types)"),
            )),
        }
    }
}

/// The set of tenants.
#[derive(Default)]
pub struct Tenants(pub KnownNames);

impl Tenants {
    pub async fn exists(&self, db: &Pool, tenant: &TenantId) -> Result<bool, ApiError> {
        let missing = self
            .0
            .missing(
                db,
                "SELECT id FROM tenants WHERE id = ANY($1)",
                &[tenant.as_str()],
            )
            .await?;
        Ok(missing.is_empty())
    }
}

/// A verified tenant API key.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub tenant: TenantId,
    pub key_id: Uuid,
}

/// Verified API keys by SHA-256 digest, each kept for [`KEY_TTL`].
#[derive(Default)]
pub struct ApiKeys(RwLock<HashMap<Vec<u8>, (KeyOwner, Instant)>>);

impl ApiKeys {
    /// The owner of the key with this digest, or `None` if it is unknown or revoked.
    pub async fn lookup(&self, db: &Pool, digest: &[u8]) -> Result<Option<KeyOwner>, ApiError> {
        if let Ok(map) = self.0.read() {
            if let Some((owner, at)) = map.get(digest) {
                if at.elapsed() < KEY_TTL {
                    return Ok(Some(owner.clone()));
                }
            }
        }
        let client = db.get().await?;
        let row = client
            .query_opt(
                "SELECT id, tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                &[&digest],
            )
            .await?;
        let Some(row) = row else {
            if let Ok(mut map) = self.0.write() {
                map.remove(digest);
            }
            return Ok(None);
        };
        let tenant: String = row.get(1);
        let owner = KeyOwner {
            key_id: row.get(0),
            tenant: TenantId::parse(&tenant).map_err(ApiError::internal)?,
        };
        if let Ok(mut map) = self.0.write() {
            if map.len() > 10_000 {
                map.retain(|_, (_, at)| at.elapsed() < KEY_TTL);
            }
            map.insert(digest.to_vec(), (owner.clone(), Instant::now()));
        }
        Ok(Some(owner))
    }

    /// Drop a revoked key from this node's cache at once.
    pub fn revoke(&self, key_id: Uuid) {
        if let Ok(mut map) = self.0.write() {
            map.retain(|_, (owner, _)| owner.key_id != key_id);
        }
    }
}
