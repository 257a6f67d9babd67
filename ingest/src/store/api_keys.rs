//! `api_keys`: tenant API keys, stored as SHA-256 digests (the key itself is
//! shown once and never stored).

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::domain::TenantId;
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::StoreError;
use super::pg::{client, map_rows, Columns};

/// A tenant API key as listed: never the key itself or its digest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ApiKeyOut)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: String,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub key_prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// What the key may do: `read`, `write`, `events:publish`.
    #[schema(example = json!(["read", "events:publish"]))]
    pub scopes: Vec<String>,
    /// After this the key answers `401 token_expired`; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was last used (kept to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key to store.
pub struct NewApiKey<'a> {
    pub id: Uuid,
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub key_hash: &'a [u8],
    pub key_prefix: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Option<DateTime<Utc>>,
}

/// Who a valid (unrevoked) key belongs to, what it may do and until when.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub tenant: TenantId,
    pub key_id: Uuid,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

const INSERT: &str = "INSERT INTO api_keys \
     (id, tenant_id, name, key_hash, key_prefix, scopes, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     RETURNING id, tenant_id, name, key_prefix, created_at, revoked_at, scopes, expires_at, last_used_at";
const LIST: &str = "SELECT id, tenant_id, name, key_prefix, created_at, revoked_at, scopes, \
     expires_at, last_used_at FROM api_keys \
     WHERE tenant_id = $1 ORDER BY created_at LIMIT 10000";
const REVOKE: &str = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) \
     WHERE id = $1 AND tenant_id = $2";
const OWNER: &str = "SELECT id, tenant_id, scopes, expires_at FROM api_keys \
     WHERE key_hash = $1 AND revoked_at IS NULL";
const TOUCH: &str = "UPDATE api_keys SET last_used_at = now() WHERE id = $1";

pub(crate) const STATEMENTS: &[&str] = &[INSERT, LIST, REVOKE, OWNER, TOUCH];

fn api_key(r: &Row) -> Result<ApiKey, StoreError> {
    Ok(ApiKey {
        id: r.col("id")?,
        tenant_id: r.col("tenant_id")?,
        name: r.col("name")?,
        key_prefix: r.col("key_prefix")?,
        created_at: r.col("created_at")?,
        revoked_at: r.col("revoked_at")?,
        scopes: r.col("scopes")?,
        expires_at: r.col("expires_at")?,
        last_used_at: r.col("last_used_at")?,
    })
}

pub async fn insert(db: &Pool, key: NewApiKey<'_>) -> Result<ApiKey, StoreError> {
    let row = client(db)
        .await?
        .query_one(
            INSERT,
            &[
                &key.id,
                &key.tenant_id,
                &key.name,
                &key.key_hash,
                &key.key_prefix,
                &key.scopes,
                &key.expires_at,
            ],
        )
        .await?;
    api_key(&row)
}

/// A tenant's keys, oldest first.
pub async fn list(db: &Pool, tenant_id: &str) -> Result<Vec<ApiKey>, StoreError> {
    let rows = client(db).await?.query(LIST, &[&tenant_id]).await?;
    map_rows(&rows, api_key)
}

/// Revoke a key (again is harmless); `false` if the tenant has no such key.
pub async fn revoke(db: &Pool, id: Uuid, tenant_id: &str) -> Result<bool, StoreError> {
    let n = client(db)
        .await?
        .execute(REVOKE, &[&id, &tenant_id])
        .await?;
    Ok(n > 0)
}

/// The owner of the unrevoked key with this digest.
pub async fn owner(db: &Pool, digest: &[u8]) -> Result<Option<KeyOwner>, StoreError> {
    let Some(row) = client(db).await?.query_opt(OWNER, &[&digest]).await? else {
        return Ok(None);
    };
    let tenant: String = row.col("tenant_id")?;
    let tenant = TenantId::parse(&tenant).map_err(|e| StoreError::Invalid {
        column: "api_keys.tenant_id",
        reason: e.to_string(),
    })?;
    Ok(Some(KeyOwner {
        tenant,
        key_id: row.col("id")?,
        scopes: row.col("scopes")?,
        expires_at: row.col("expires_at")?,
    }))
}

/// Record that the key was used now.
pub async fn touch(db: &Pool, key_id: Uuid) -> Result<(), StoreError> {
    client(db).await?.execute(TOUCH, &[&key_id]).await?;
    Ok(())
}
