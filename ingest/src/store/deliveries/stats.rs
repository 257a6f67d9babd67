//! An endpoint's delivery statistics over the last 24 hours, cheap enough to
//! poll: two index scans of `deliveries_webhook_idx` (`(webhook_id, id)`)
//! bounded to the ids of the last 24 hours, and attempt durations from the
//! attempts of the latest [`LATENCY_SAMPLE`] of those deliveries
//! (`delivery_attempts_delivery_idx`). Measured in docs/console.md.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::store::error::StoreError;
use crate::store::pg::{client, Columns};

/// Deliveries whose attempts are sampled for the latency percentiles.
pub const LATENCY_SAMPLE: i64 = 1_000;

/// Deliveries by status and window (`$2`: the smallest id of 24 h ago,
/// `$3`: of 1 h ago), the latest success and failure.
pub const COUNTS: &str = "SELECT d.status, d.id >= $3 AS last_hour, count(*) AS n, \
         max(d.delivered_at) AS last_success, \
         max(d.updated_at) FILTER (WHERE d.status IN ('retrying', 'failed')) AS last_failure \
     FROM deliveries d WHERE d.webhook_id = $1 AND d.id >= $2 \
     GROUP BY d.status, d.id >= $3";
/// `OFFSET 0` keeps the lateral subquery a lookup of each sampled
/// delivery's attempts through their index, rather than a join that hashes
/// the whole attempt table.
pub const LATENCY: &str = "SELECT \
         percentile_cont(0.5) WITHIN GROUP (ORDER BY a.duration_ms) AS p50, \
         percentile_cont(0.95) WITHIN GROUP (ORDER BY a.duration_ms) AS p95, \
         count(a.duration_ms) AS sampled \
     FROM (SELECT id FROM deliveries WHERE webhook_id = $1 AND id >= $2 \
           ORDER BY id DESC LIMIT $3) d \
     CROSS JOIN LATERAL (SELECT duration_ms FROM delivery_attempts \
           WHERE delivery_id = d.id OFFSET 0) a";

/// Deliveries of one window by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub pending: i64,
    pub delivered: i64,
    pub retrying: i64,
    pub failed: i64,
}

impl Counts {
    fn add(&mut self, status: &str, n: i64) {
        match status {
            "pending" => self.pending += n,
            "delivered" => self.delivered += n,
            "retrying" => self.retrying += n,
            _ => self.failed += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.pending + self.delivered + self.retrying + self.failed
    }

    /// Delivered among the deliveries that have had an attempt's outcome
    /// (all but `pending`); `None` when there is none.
    pub fn success_ratio(&self) -> Option<f64> {
        let decided = self.delivered + self.retrying + self.failed;
        (decided > 0).then(|| self.delivered as f64 / decided as f64)
    }
}

/// What [`stats`] read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub last_hour: Counts,
    pub last_24h: Counts,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Attempt durations in milliseconds.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub sampled_attempts: i64,
}

/// The statistics of endpoint `webhook_id`; `day` and `hour` are the
/// smallest ids of 24 hours and one hour ago.
pub async fn stats(
    db: &Pool,
    webhook_id: Uuid,
    day: Uuid,
    hour: Uuid,
) -> Result<Stats, StoreError> {
    let client = client(db).await?;
    let counts_params: [&(dyn ToSql + Sync); 3] = [&webhook_id, &day, &hour];
    let latency_params: [&(dyn ToSql + Sync); 3] = [&webhook_id, &day, &LATENCY_SAMPLE];
    // Pipelined on one connection: one round trip for both.
    let (counts, latency) = futures::try_join!(
        client.query(COUNTS, &counts_params),
        client.query_one(LATENCY, &latency_params),
    )?;
    let mut out = Stats {
        p50_ms: latency.col("p50")?,
        p95_ms: latency.col("p95")?,
        sampled_attempts: latency.col("sampled")?,
        ..Stats::default()
    };
    for row in &counts {
        let status: String = row.col("status")?;
        let n: i64 = row.col("n")?;
        out.last_24h.add(&status, n);
        if row.col::<bool>("last_hour")? {
            out.last_hour.add(&status, n);
        }
        out.last_success_at = out.last_success_at.max(row.col("last_success")?);
        out.last_failure_at = out.last_failure_at.max(row.col("last_failure")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_success_ratio_counts_deliveries_with_an_outcome() {
        let mut c = Counts::default();
        assert_eq!(c.success_ratio(), None);
        c.add("pending", 5);
        assert_eq!(c.success_ratio(), None);
        c.add("delivered", 3);
        c.add("failed", 1);
        assert_eq!(c.success_ratio(), Some(0.75));
        assert_eq!(c.total(), 9);
    }
}
