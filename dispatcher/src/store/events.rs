//! `events`: the operational events the dispatcher stores (in the
//! transaction of the transition they report) and marks published once
//! JetStream has them. What it does not mark, ingest's outbox relay
//! publishes.

use super::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Pool, Transaction};
use uuid::Uuid;

const INSERT: &str = "
    INSERT INTO events (id, tenant_id, event_type, payload, created_at)
    SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])";

const MARK_PUBLISHED: &str = "
    UPDATE events SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL";

pub(super) const STATEMENTS: &[&str] = &[INSERT, MARK_PUBLISHED];
pub(super) const HOT: &[&str] = &[INSERT];

/// An event to store, its payload as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub id: Uuid,
    pub tenant_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

/// Store `events` in `tx`.
pub async fn insert(tx: &Transaction<'_>, events: &[NewEvent]) -> Result<u64, StoreError> {
    if events.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let tenants: Vec<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    let payloads: Vec<&str> = events.iter().map(|e| e.payload.as_str()).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.created_at).collect();
    super::execute(tx, INSERT, &[&ids, &tenants, &types, &payloads, &times]).await
}

/// Record that JetStream has these events.
pub async fn mark_published(pool: &Pool, ids: &[Uuid]) -> Result<u64, StoreError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(MARK_PUBLISHED).await?;
    Ok(client.execute(&stmt, &[&ids]).await?)
}
