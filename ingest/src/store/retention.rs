//! Retention: events past `HERALD_RETENTION`, with their deliveries and
//! attempts, deleted in small batches by their time-ordered ids.
//!
//! One batch is one short transaction: the oldest `limit` published events
//! with an id below the cutoff (a primary-key range scan), their deliveries
//! (through `(event_id, webhook_id)`) and those deliveries' attempts
//! (through `(delivery_id, started_at)`). It takes row locks only on rows
//! nothing else touches any more, and `pg_try_advisory_xact_lock` keeps
//! retention to one ingest node at a time: a node that does not get the
//! lock skips the batch. An event still waiting in the outbox is kept until
//! it is published. Why batches and not partitions: docs/console.md.
//!
//! Idempotency keys older than `HERALD_IDEMPOTENCY_WINDOW` no longer do
//! anything (a repeat makes a new event), so each round deletes them too.

use std::time::Duration;

use deadpool_postgres::Pool;
use uuid::Uuid;

use super::error::StoreError;
use super::pg::{client, Columns};

/// `pg_try_advisory_xact_lock` key of retention: "HRETEN" in ASCII.
const LOCK_KEY: i64 = 0x4852_4554_454e;

const LOCK: &str = "SELECT pg_try_advisory_xact_lock($1) AS locked";
pub const DELETE_BATCH: &str = "WITH old AS ( \
         SELECT id FROM events WHERE id < $1 AND published_at IS NOT NULL \
         ORDER BY id LIMIT $2 FOR UPDATE), \
     gone_deliveries AS ( \
         DELETE FROM deliveries d USING old WHERE d.event_id = old.id RETURNING d.id), \
     gone_attempts AS ( \
         DELETE FROM delivery_attempts a USING gone_deliveries g \
         WHERE a.delivery_id = g.id RETURNING a.id), \
     gone_events AS ( \
         DELETE FROM events e USING old WHERE e.id = old.id RETURNING e.id) \
     SELECT (SELECT count(*) FROM gone_events) AS events, \
         (SELECT count(*) FROM gone_deliveries) AS deliveries, \
         (SELECT count(*) FROM gone_attempts) AS attempts";

/// Keys past the window, with any event id: retention of the events and of
/// the keys are independent (the window is usually far shorter).
pub const DELETE_KEYS: &str = "DELETE FROM idempotency_keys \
     WHERE created_at < now() - make_interval(secs => $1)";

pub(crate) const STATEMENTS: &[&str] = &[LOCK, DELETE_BATCH, DELETE_KEYS];

/// What one batch deleted; `None` when another node holds the lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deleted {
    pub events: i64,
    pub deliveries: i64,
    pub attempts: i64,
    pub idempotency_keys: i64,
}

/// Delete the oldest `limit` events with an id below `cutoff`, their
/// deliveries and attempts; `None` if another node is deleting now.
pub async fn delete_batch(
    db: &Pool,
    cutoff: Uuid,
    limit: i64,
) -> Result<Option<Deleted>, StoreError> {
    let mut client = client(db).await?;
    let tx = client.transaction().await?;
    if !tx
        .query_one(LOCK, &[&LOCK_KEY])
        .await?
        .col::<bool>("locked")?
    {
        return Ok(None);
    }
    let row = tx.query_one(DELETE_BATCH, &[&cutoff, &limit]).await?;
    let deleted = Deleted {
        events: row.col("events")?,
        deliveries: row.col("deliveries")?,
        attempts: row.col("attempts")?,
        idempotency_keys: 0,
    };
    tx.commit().await?;
    Ok(Some(deleted))
}

/// Delete the idempotency keys older than `window`; how many.
pub async fn delete_expired_keys(db: &Pool, window: Duration) -> Result<i64, StoreError> {
    let client = client(db).await?;
    let n = client
        .execute(DELETE_KEYS, &[&window.as_secs_f64()])
        .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}
