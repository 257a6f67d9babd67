//! Deliveries locked for a manual re-send, which starts their retry
//! schedule again (`schedule_start` = the attempts so far). The rows stay locked
//! (`FOR UPDATE OF d`) by an open transaction until [`Locked::set_pending`]
//! or [`Locked::set_one_pending`] commits, so a dispatcher recording a new
//! attempt waits for this `pending` to land first and is never overwritten
//! by it. Dropping a [`Locked`] rolls back and releases them.

use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Transaction};
use tokio_postgres::Row;
use uuid::Uuid;

use super::record::{delivery, Delivery};
use crate::store::error::StoreError;
use crate::store::pg::Columns;

pub(super) const LOCK_ONE: &str = concat!(
    select_for_resend!(),
    "d.id = $1 AND ($2::text IS NULL OR d.tenant_id = $2) FOR UPDATE OF d"
);
pub(super) const LOCK_FAILED: &str = concat!(
    select_for_resend!(),
    "d.webhook_id = $1 AND d.status = 'failed' AND d.created_at >= $2 \
     ORDER BY d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED"
);
// A re-send starts the retry schedule again (`schedule_start`).
pub(super) const SET_PENDING_ONE: &str = concat!(
    "UPDATE deliveries d SET status = 'pending', next_retry_at = NULL, \
         schedule_start = d.attempts, updated_at = now() \
     WHERE d.id = $1 RETURNING ",
    columns!()
);
pub(super) const SET_PENDING: &str =
    "UPDATE deliveries SET status = 'pending', next_retry_at = NULL, \
         schedule_start = attempts, updated_at = now() \
     WHERE id = ANY($1)";

/// A locked delivery and its event, ready to be sent again.
#[derive(Debug, Clone)]
pub struct Resendable {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    /// Attempts made so far.
    pub attempts: i32,
    pub event_type: String,
    /// When the event was accepted.
    pub created_at: DateTime<Utc>,
    /// The event's exact JSON text.
    pub payload: String,
}

/// Deliveries locked until the value is finished or dropped.
pub struct Locked<'a> {
    tx: Transaction<'a>,
    pub rows: Vec<Resendable>,
}

pub(super) fn resendable(r: &Row) -> Result<Resendable, StoreError> {
    Ok(Resendable {
        delivery_id: r.col("id")?,
        event_id: r.col("event_id")?,
        webhook_id: r.col("webhook_id")?,
        tenant_id: r.col("tenant_id")?,
        attempts: r.col("attempts")?,
        event_type: r.col("event_type")?,
        created_at: r.col("created_at")?,
        payload: r.col("payload")?,
    })
}

/// Lock one delivery in `scope`; `None` if there is none.
pub async fn lock_one<'a>(
    client: &'a mut Object,
    id: Uuid,
    scope: Option<&str>,
) -> Result<Option<Locked<'a>>, StoreError> {
    let tx = client.transaction().await?;
    let Some(row) = tx.query_opt(LOCK_ONE, &[&id, &scope]).await? else {
        return Ok(None);
    };
    let rows = vec![resendable(&row)?];
    Ok(Some(Locked { tx, rows }))
}

/// Lock up to `limit` failed deliveries of an endpoint created since
/// `since`, skipping those another transaction holds.
pub async fn lock_failed<'a>(
    client: &'a mut Object,
    webhook_id: Uuid,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Locked<'a>, StoreError> {
    let tx = client.transaction().await?;
    let rows = tx
        .query(LOCK_FAILED, &[&webhook_id, &since, &limit])
        .await?
        .iter()
        .map(resendable)
        .collect::<Result<_, _>>()?;
    Ok(Locked { tx, rows })
}

impl Locked<'_> {
    /// Set one locked delivery back to `pending` and commit; it as it is now.
    pub async fn set_one_pending(self, id: Uuid) -> Result<Delivery, StoreError> {
        let row = self.tx.query_one(SET_PENDING_ONE, &[&id]).await?;
        self.tx.commit().await?;
        delivery(&row)
    }

    /// Set these locked deliveries back to `pending` (none is fine) and commit.
    pub async fn set_pending(self, ids: &[Uuid]) -> Result<(), StoreError> {
        if !ids.is_empty() {
            self.tx.execute(SET_PENDING, &[&ids]).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}
