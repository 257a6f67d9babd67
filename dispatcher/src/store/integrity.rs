//! Orphans: delivery rows whose event or endpoint is gone, and attempts
//! whose delivery is gone. Without foreign keys (migrations/0003_hot_path.sql)
//! a row written while a delete of its parent is under way can outlive it:
//! the attempt log inserts an attempt while an endpoint delete removes the
//! delivery, or retention removes an event that fan-out is writing
//! deliveries for. These statements find them in one slice of ids at a time
//! (a primary-key range scan, an index probe of the parent per row) and
//! delete them.

use super::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use uuid::Uuid;

// `$1 <= id < $2`, at most `$3` rows, oldest first.
const ORPHAN_ATTEMPTS: &str = "
    WITH slice AS (
        SELECT id, delivery_id FROM delivery_attempts
        WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3),
    gone AS (
        DELETE FROM delivery_attempts a USING slice s
        WHERE a.id = s.id
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = s.delivery_id)
        RETURNING a.id)
    SELECT (SELECT count(*) FROM slice) AS scanned,
           (SELECT id FROM slice ORDER BY id DESC LIMIT 1) AS last,
           (SELECT count(*) FROM gone) AS removed";

// An orphaned delivery's attempts go with it.
const ORPHAN_DELIVERIES: &str = "
    WITH slice AS (
        SELECT id, event_id, webhook_id FROM deliveries
        WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3),
    gone AS (
        DELETE FROM deliveries d USING slice s
        WHERE d.id = s.id
          AND (NOT EXISTS (SELECT 1 FROM events e WHERE e.id = s.event_id)
               OR NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = s.webhook_id))
        RETURNING d.id),
    gone_attempts AS (
        DELETE FROM delivery_attempts a USING gone g WHERE a.delivery_id = g.id
        RETURNING a.id)
    SELECT (SELECT count(*) FROM slice) AS scanned,
           (SELECT id FROM slice ORDER BY id DESC LIMIT 1) AS last,
           (SELECT count(*) FROM gone) AS removed,
           (SELECT count(*) FROM gone_attempts) AS removed_attempts";

// Postgres's clock and the start of the oldest transaction open in this
// database (a client's; the sweep's own statement aside).
const HORIZON: &str = "
    SELECT clock_timestamp() AS at,
           min(xact_start) FILTER (WHERE pid <> pg_backend_pid()) AS oldest_open
    FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend'
      AND xact_start IS NOT NULL";

pub(super) const STATEMENTS: &[&str] = &[ORPHAN_ATTEMPTS, ORPHAN_DELIVERIES, HORIZON];

/// The table a slice was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Deliveries,
    Attempts,
}

/// What one slice showed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slice {
    /// Rows looked at.
    pub scanned: i64,
    /// The last id looked at (`None`: the slice was empty).
    pub last: Option<Uuid>,
    /// Orphans deleted from the table itself.
    pub removed: i64,
    /// Attempts deleted with orphaned deliveries.
    pub removed_attempts: i64,
}

/// Look at the rows of `table` with `from <= id < to` (at most `limit`, the
/// oldest) and delete the orphans among them.
pub async fn sweep(
    pool: &Pool,
    table: Table,
    from: Uuid,
    to: Uuid,
    limit: i64,
) -> Result<Slice, StoreError> {
    let client = pool.get().await?;
    let sql = match table {
        Table::Deliveries => ORPHAN_DELIVERIES,
        Table::Attempts => ORPHAN_ATTEMPTS,
    };
    let stmt = client.prepare_cached(sql).await?;
    let row = client.query_one(&stmt, &[&from, &to, &limit]).await?;
    Ok(Slice {
        scanned: row.try_get("scanned")?,
        last: row.try_get("last")?,
        removed: row.try_get("removed")?,
        removed_attempts: match table {
            Table::Deliveries => row.try_get("removed_attempts")?,
            Table::Attempts => 0,
        },
    })
}

/// What Postgres showed at one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Postgres's clock.
    pub at: DateTime<Utc>,
    /// When the oldest transaction then open started (`at` if none was).
    pub oldest_open: DateTime<Utc>,
}

/// Postgres's clock and its oldest open transaction now.
pub async fn observe(pool: &Pool) -> Result<Observation, StoreError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(HORIZON).await?;
    let row = client.query_one(&stmt, &[]).await?;
    let at: DateTime<Utc> = row.try_get("at")?;
    let oldest: Option<DateTime<Utc>> = row.try_get("oldest_open")?;
    Ok(Observation {
        at,
        oldest_open: oldest.map_or(at, |o| o.min(at)),
    })
}
