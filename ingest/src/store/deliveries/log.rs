//! Reading the delivery log.

use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::record::{attempt, delivery, Delivery, WithAttempts};
use crate::store::error::StoreError;
use crate::store::pg::{client, map_rows};
use crate::store::time_ids::IdRange;

/// The filters of the log, newest first. Every combination is served by an
/// index: the endpoint's `(webhook_id, id)`, the tenant's `(tenant_id,
/// event_type, id)` or `(tenant_id, id)`, the event's `(event_id,
/// webhook_id)` or the primary key, each scanned in id order within the time
/// window. The status is checked on the rows those scans reach: an index
/// that mentions it would make every status change a non-HOT update
/// (migrations/0003_hot_path.sql).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this tenant's; `None` for every tenant.
    pub scope: Option<String>,
    /// Only deliveries older than this id (the cursor).
    pub before: Option<Uuid>,
    pub webhook_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    pub status: Option<String>,
    pub event_type: Option<String>,
    /// Created within this window (see [`crate::store::time_ids`]).
    pub window: IdRange,
    pub limit: i64,
}

pub(super) const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries d \
     WHERE ($1::text IS NULL OR d.tenant_id = $1) AND ($2::uuid IS NULL OR d.id < $2) \
       AND ($3::uuid IS NULL OR d.webhook_id = $3) AND ($4::uuid IS NULL OR d.event_id = $4) \
       AND ($5::text IS NULL OR d.status = $5) AND ($6::text IS NULL OR d.event_type = $6) \
       AND ($7::uuid IS NULL OR d.id >= $7) AND ($8::uuid IS NULL OR d.id < $8) \
     ORDER BY d.id DESC LIMIT $9"
);
pub(super) const GET: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries d WHERE d.id = $1 AND ($2::text IS NULL OR d.tenant_id = $2)"
);
pub(super) const FOR_EVENT: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM deliveries d WHERE d.event_id = $1 ORDER BY d.id"
);
pub(super) const ATTEMPTS: &str =
    "SELECT attempt, started_at, duration_ms, status_code, error, response_body, headers, \
         dispatcher_id \
     FROM delivery_attempts WHERE delivery_id = $1 ORDER BY started_at, attempt";
pub(super) const DELETE_FOR_WEBHOOK: &str =
    "WITH gone AS (DELETE FROM deliveries WHERE webhook_id = $1 RETURNING id) \
     DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM gone)";

pub async fn list(db: &Pool, f: &ListFilter) -> Result<Vec<Delivery>, StoreError> {
    let (sql, params) = list_query(f);
    let rows = client(db).await?.query(sql, &params).await?;
    map_rows(&rows, delivery)
}

/// The statement and parameters [`list`] sends for `f` (a test shows
/// their plans).
pub fn list_query(f: &ListFilter) -> (&'static str, [&(dyn ToSql + Sync); 9]) {
    let params: [&(dyn ToSql + Sync); 9] = [
        &f.scope,
        &f.before,
        &f.webhook_id,
        &f.event_id,
        &f.status,
        &f.event_type,
        &f.window.from,
        &f.window.to,
        &f.limit,
    ];
    (LIST, params)
}

/// One delivery in `scope` with every attempt.
pub async fn get(
    db: &Pool,
    id: Uuid,
    scope: Option<&str>,
) -> Result<Option<WithAttempts>, StoreError> {
    let client = client(db).await?;
    let Some(row) = client.query_opt(GET, &[&id, &scope]).await? else {
        return Ok(None);
    };
    let attempts = client.query(ATTEMPTS, &[&id]).await?;
    Ok(Some(WithAttempts {
        delivery: delivery(&row)?,
        attempts: map_rows(&attempts, attempt)?,
    }))
}

/// The deliveries of one event.
pub async fn for_event<C: GenericClient>(
    client: &C,
    event_id: Uuid,
) -> Result<Vec<Delivery>, StoreError> {
    let rows = client.query(FOR_EVENT, &[&event_id]).await?;
    map_rows(&rows, delivery)
}

/// Delete an endpoint's deliveries and their attempts (inside the
/// transaction that deletes the endpoint).
pub(crate) async fn delete_for_webhook<C: GenericClient>(
    tx: &C,
    webhook_id: Uuid,
) -> Result<(), StoreError> {
    tx.execute(DELETE_FOR_WEBHOOK, &[&webhook_id]).await?;
    Ok(())
}
