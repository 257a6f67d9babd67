//! `webhook_rate_slots`: the per-endpoint rate limit shared by every
//! dispatcher.
//!
//! `rate_limit_per_second` must hold for the endpoint, not per replica, so the
//! state lives in Postgres: `next_slot_at` is the start of the endpoint's next
//! free send slot (GCRA without burst: slots are exactly `1/rate` apart).
//! Reserving a slot is one atomic upsert that returns the slot and how long
//! until it starts, measured on the database clock. Only endpoints with a
//! limit pay this round trip; admission sleeps until the slot (if it is close)
//! or parks the job with the slot reserved.

use super::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use std::time::Duration;
use uuid::Uuid;

const RESERVE: &str = "
    INSERT INTO webhook_rate_slots AS s (webhook_id, next_slot_at)
    SELECT $1, clock_timestamp() + make_interval(secs => $2)
    WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $1)
    ON CONFLICT (webhook_id) DO UPDATE
        SET next_slot_at = GREATEST(s.next_slot_at, clock_timestamp()) + make_interval(secs => $2)
    RETURNING next_slot_at - make_interval(secs => $2) AS slot_at,
              EXTRACT(EPOCH FROM (next_slot_at - make_interval(secs => $2) - clock_timestamp()))::float8 AS wait_s";

pub(super) const STATEMENTS: &[&str] = &[RESERVE];

/// A reserved send slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub at: DateTime<Utc>,
    /// How long until `at`, by the database clock (zero if it has begun).
    pub wait: Duration,
}

/// Seconds between two sends at `rate` per second.
pub fn spacing_secs(rate: u32) -> f64 {
    1.0 / f64::from(rate.max(1))
}

/// Reserve the endpoint's next slot; `None` if the endpoint no longer exists.
#[tracing::instrument(skip(pool))]
pub async fn reserve(pool: &Pool, webhook_id: Uuid, rate: u32) -> Result<Option<Slot>, StoreError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(RESERVE).await?;
    let row = client
        .query_opt(&stmt, &[&webhook_id, &spacing_secs(rate)])
        .await?;
    let Some(row) = row else { return Ok(None) };
    let wait_s: f64 = row.try_get("wait_s")?;
    Ok(Some(Slot {
        at: row.try_get("slot_at")?,
        wait: Duration::try_from_secs_f64(wait_s.max(0.0)).unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_is_the_inverse_of_the_rate() {
        assert_eq!(spacing_secs(20), 0.05);
        assert_eq!(spacing_secs(1), 1.0);
        assert_eq!(spacing_secs(0), 1.0);
    }
}
