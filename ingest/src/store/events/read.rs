//! The API's reads of `events`: one event with its deliveries, and the
//! list, newest first, served by `events_tenant_type_idx` (`(tenant_id,
//! event_type, id)`), `events_tenant_idx` (`(tenant_id, id)`) or the primary
//! key, each scanned in id order within the time window.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{event, Event};
use crate::store::deliveries::log::for_event;
use crate::store::deliveries::record::Delivery;
use crate::store::error::StoreError;
use crate::store::pg::{client, map_rows, Columns};
use crate::store::time_ids::IdRange;

/// An event as the API shows it: with its publish time and deliveries.
#[derive(Debug, Clone)]
pub struct Found {
    pub event: Event,
    /// When JetStream acknowledged it; `None` while it waits in the outbox.
    pub published_at: Option<DateTime<Utc>>,
    /// Set for a test event: the one endpoint it was sent to.
    pub target_webhook_id: Option<Uuid>,
    pub deliveries: Vec<Delivery>,
}

/// What every answer about an event names it by (no payload).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventHead {
    pub id: Uuid,
    pub tenant_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&Event> for EventHead {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id,
            tenant_id: e.tenant_id.clone(),
            event_type: e.event_type.clone(),
            idempotency_key: e.idempotency_key.clone(),
            created_at: e.created_at,
        }
    }
}

/// An event in the list (without its payload).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = EventSummaryOut)]
pub struct Summary {
    #[serde(flatten)]
    pub head: EventHead,
    /// When JetStream acknowledged it; `null` while it waits in the outbox.
    pub published_at: Option<DateTime<Utc>>,
    /// Set for a test event: the one endpoint it was sent to.
    pub target_webhook_id: Option<Uuid>,
}

/// The filters of the list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this tenant's; `None` for every tenant.
    pub scope: Option<String>,
    /// Only events older than this id (the cursor).
    pub before: Option<Uuid>,
    pub event_type: Option<String>,
    /// Created within this window.
    pub window: IdRange,
    pub limit: i64,
}

pub(super) const GET: &str = "SELECT id, tenant_id, event_type, payload, idempotency_key, \
     created_at, published_at, target_webhook_id \
     FROM events WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)";
pub(super) const LIST: &str = "SELECT id, tenant_id, event_type, idempotency_key, created_at, \
         published_at, target_webhook_id \
     FROM events \
     WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR id < $2) \
       AND ($3::text IS NULL OR event_type = $3) \
       AND ($4::uuid IS NULL OR id >= $4) AND ($5::uuid IS NULL OR id < $5) \
     ORDER BY id DESC LIMIT $6";

fn summary(r: &Row) -> Result<Summary, StoreError> {
    Ok(Summary {
        head: EventHead {
            id: r.col("id")?,
            tenant_id: r.col("tenant_id")?,
            event_type: r.col("event_type")?,
            idempotency_key: r.col("idempotency_key")?,
            created_at: r.col("created_at")?,
        },
        published_at: r.col("published_at")?,
        target_webhook_id: r.col("target_webhook_id")?,
    })
}

/// One event in `scope`, with when it was published and its deliveries.
pub async fn get(db: &Pool, id: Uuid, scope: Option<&str>) -> Result<Option<Found>, StoreError> {
    let client = client(db).await?;
    let Some(row) = client.query_opt(GET, &[&id, &scope]).await? else {
        return Ok(None);
    };
    Ok(Some(Found {
        event: event(&row)?,
        published_at: row.col("published_at")?,
        target_webhook_id: row.col("target_webhook_id")?,
        deliveries: for_event(&client, id).await?,
    }))
}

pub async fn list(db: &Pool, f: &ListFilter) -> Result<Vec<Summary>, StoreError> {
    let (sql, params) = list_query(f);
    let rows = client(db).await?.query(sql, &params).await?;
    map_rows(&rows, summary)
}

/// The statement and parameters [`list`] sends for `f` (a test shows
/// their plans).
pub fn list_query(f: &ListFilter) -> (&'static str, [&(dyn ToSql + Sync); 6]) {
    let params: [&(dyn ToSql + Sync); 6] = [
        &f.scope,
        &f.before,
        &f.event_type,
        &f.window.from,
        &f.window.to,
        &f.limit,
    ];
    (LIST, params)
}
