//! `tenants`: the owners of endpoints, events and API keys (never deleted).

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool};
use serde::Serialize;
use tokio_postgres::Row;
use utoipa::ToSchema;

use super::error::StoreError;
use super::pg::{client, map_rows, Columns};

/// A tenant.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = TenantOut)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// Endpoint limit; `null` means `HERALD_MAX_ENDPOINTS_PER_TENANT`.
    pub max_endpoints: Option<i32>,
    pub created_at: DateTime<Utc>,
}

const INSERT: &str = "INSERT INTO tenants (id, name, max_endpoints) VALUES ($1, $2, $3) \
     RETURNING id, name, max_endpoints, created_at";
const LIST: &str = "SELECT id, name, max_endpoints, created_at FROM tenants \
     WHERE $1::text IS NULL OR id = $1 ORDER BY id LIMIT 10000";
const EXISTING: &str = "SELECT id FROM tenants WHERE id = ANY($1)";
const LOCK_ENDPOINT_LIMIT: &str = "SELECT max_endpoints FROM tenants WHERE id = $1 FOR UPDATE";

pub(crate) const STATEMENTS: &[&str] = &[INSERT, LIST, EXISTING, LOCK_ENDPOINT_LIMIT];

fn tenant(r: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: r.col("id")?,
        name: r.col("name")?,
        max_endpoints: r.col("max_endpoints")?,
        created_at: r.col("created_at")?,
    })
}

/// Create a tenant; an id already taken is [`StoreError::Conflict`].
pub async fn insert(
    db: &Pool,
    id: &str,
    name: &str,
    max_endpoints: Option<i32>,
) -> Result<Tenant, StoreError> {
    let row = client(db)
        .await?
        .query_one(INSERT, &[&id, &name, &max_endpoints])
        .await?;
    tenant(&row)
}

/// Every tenant, or only `scope`.
pub async fn list(db: &Pool, scope: Option<&str>) -> Result<Vec<Tenant>, StoreError> {
    let rows = client(db).await?.query(LIST, &[&scope]).await?;
    map_rows(&rows, tenant)
}

/// The ids among `ids` that exist.
pub async fn existing(db: &Pool, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let rows = client(db).await?.query(EXISTING, &[&ids]).await?;
    map_rows(&rows, |r| r.col("id"))
}

/// Lock the tenant's row until the transaction ends (so concurrent endpoint
/// creations count one after the other) and return its endpoint limit:
/// `None` if the tenant does not exist, `Some(None)` for the default.
pub(crate) async fn lock_endpoint_limit<C: GenericClient>(
    tx: &C,
    id: &str,
) -> Result<Option<Option<i32>>, StoreError> {
    match tx.query_opt(LOCK_ENDPOINT_LIMIT, &[&id]).await? {
        Some(row) => Ok(Some(row.col("max_endpoints")?)),
        None => Ok(None),
    }
}
