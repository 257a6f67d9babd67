//! Deliveries that ingest creates itself, outside fan-out: the one delivery
//! of a test event, and the deliveries a replay creates for the events an
//! endpoint never received.
//!
//! Each is inserted `pending` with `next_retry_at` a lease ahead, so the
//! dispatchers' retry scheduler sends it if ingest does not get its job
//! published (NATS down, the node killed) before the lease ends. A job that
//! is published sets `next_retry_at` again through its attempt.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::requeue::{resendable, Resendable};
use crate::store::error::StoreError;
use crate::store::events::{self, Event};
use crate::store::pg::{client, map_rows, Columns};
use crate::store::time_ids::IdRange;

pub(super) const INSERT_ONE: &str = "INSERT INTO deliveries \
         (id, event_id, webhook_id, tenant_id, event_type, next_retry_at) \
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))";
/// The events of tenant `$2` and types `$3` in the window that endpoint
/// `$1` has no delivery for (a test event addressed elsewhere never
/// counts): `events_tenant_type_idx`, then the `(event_id, webhook_id)` key.
pub const MISSING: &str = "SELECT e.id, e.event_type FROM events e \
     WHERE e.tenant_id = $2 AND e.event_type = ANY($3) AND e.target_webhook_id IS NULL \
       AND ($4::uuid IS NULL OR e.id >= $4) AND ($5::uuid IS NULL OR e.id < $5) \
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.webhook_id = $1) \
     ORDER BY e.id LIMIT $6";
/// Like fan-out's insert: the endpoint row is locked once (`FOR KEY SHARE`),
/// so deleting it waits and then deletes these rows too; a row another
/// replay created meanwhile is skipped.
pub(super) const INSERT_MANY: &str = "WITH hook AS ( \
         SELECT id, tenant_id FROM webhooks WHERE id = $3 FOR KEY SHARE) \
     INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, next_retry_at) \
     SELECT i.id, i.event_id, hook.id, hook.tenant_id, i.event_type, \
         now() + make_interval(secs => $4) \
     FROM UNNEST($1::uuid[], $2::uuid[], $5::text[]) AS i(id, event_id, event_type), hook \
     ON CONFLICT (event_id, webhook_id) DO NOTHING \
     RETURNING id";
pub(super) const FOR_JOBS: &str = concat!(select_for_resend!(), "d.id = ANY($1) ORDER BY d.id");

/// Store a test event addressed to `webhook_id` alone and its delivery, in
/// one transaction; the delivery's id.
pub async fn test_event(
    db: &Pool,
    event: &Event,
    webhook_id: Uuid,
    lease: Duration,
) -> Result<Resendable, StoreError> {
    let mut client = client(db).await?;
    let tx = client.transaction().await?;
    events::insert_addressed(&tx, event, webhook_id).await?;
    let id = Uuid::now_v7();
    let params: [&(dyn ToSql + Sync); 6] = [
        &id,
        &event.id,
        &webhook_id,
        &event.tenant_id,
        &event.event_type,
        &lease.as_secs_f64(),
    ];
    tx.execute(INSERT_ONE, &params).await?;
    tx.commit().await?;
    Ok(Resendable {
        delivery_id: id,
        event_id: event.id,
        webhook_id,
        tenant_id: event.tenant_id.clone(),
        attempts: 0,
        event_type: event.event_type.clone(),
        created_at: event.created_at,
        payload: event.payload.clone(),
    })
}

/// An endpoint as a replay sees it: whose events, of which types.
pub struct Subscriber<'a> {
    pub webhook_id: Uuid,
    pub tenant_id: &'a str,
    pub event_types: &'a [String],
}

/// Create the deliveries of up to `limit` events in `window` that endpoint
/// `to` should have received and never did; the new deliveries' ids, oldest
/// first (none twice, also when replays run at once).
pub async fn missing(
    db: &Pool,
    to: &Subscriber<'_>,
    window: IdRange,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Uuid>, StoreError> {
    let client = client(db).await?;
    let webhook_id = to.webhook_id;
    let params: [&(dyn ToSql + Sync); 6] = [
        &webhook_id,
        &to.tenant_id,
        &to.event_types,
        &window.from,
        &window.to,
        &limit,
    ];
    let rows = client.query(MISSING, &params).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let event_ids = map_rows(&rows, |r| r.col::<Uuid>("id"))?;
    let types = map_rows(&rows, |r| r.col::<String>("event_type"))?;
    let ids: Vec<Uuid> = event_ids.iter().map(|_| Uuid::now_v7()).collect();
    let params: [&(dyn ToSql + Sync); 5] =
        [&ids, &event_ids, &webhook_id, &lease.as_secs_f64(), &types];
    let created = client.query(INSERT_MANY, &params).await?;
    let mut created = map_rows(&created, |r| r.col::<Uuid>("id"))?;
    created.sort();
    Ok(created)
}

/// The deliveries `ids` with their events, ready to become jobs.
pub async fn for_jobs<C: GenericClient>(
    client: &C,
    ids: &[Uuid],
) -> Result<Vec<Resendable>, StoreError> {
    let rows = client.query(FOR_JOBS, &[&ids]).await?;
    map_rows(&rows, resendable)
}
