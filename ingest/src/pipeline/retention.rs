//! The retention task: every `HERALD_RETENTION_INTERVAL`, delete the events
//! older than `HERALD_RETENTION` with their deliveries and attempts, in
//! batches of `HERALD_RETENTION_BATCH` events ([`crate::store::retention`]),
//! pausing between batches so that the hot path keeps the database, then
//! the idempotency keys past `HERALD_IDEMPOTENCY_WINDOW`. Every ingest node
//! runs it; an advisory lock lets one node at a time delete events.

use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::Pool;
use herald_common::shutdown::CancellationToken;

use crate::store::retention::{self, Deleted};
use crate::store::time_ids::id_floor;
use crate::store::StoreError;

/// The pause between two batches of one round.
pub const PAUSE: Duration = Duration::from_millis(20);

/// What the task needs.
#[derive(Clone)]
pub struct Retention {
    pub db: Pool,
    /// Events older than this go.
    pub keep: Duration,
    /// How often a round starts.
    pub interval: Duration,
    /// Events per batch.
    pub batch: i64,
    /// Idempotency keys older than this go.
    pub idempotency_window: Duration,
}

impl Retention {
    /// Round after round until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.round(&shutdown).await {
                Ok(total) if total != Deleted::default() => tracing::info!(
                    events = total.events,
                    deliveries = total.deliveries,
                    attempts = total.attempts,
                    idempotency_keys = total.idempotency_keys,
                    "Retention deleted old events."
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "Retention round failed; trying again later."),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One round: batches until one is not full (or another node holds the
    /// lock, or `shutdown`); what was deleted.
    pub async fn round(&self, shutdown: &CancellationToken) -> Result<Deleted, StoreError> {
        let keep = chrono::Duration::from_std(self.keep).unwrap_or(chrono::Duration::MAX);
        let cutoff = id_floor(Utc::now().checked_sub_signed(keep).unwrap_or_default());
        let mut total = Deleted::default();
        while !shutdown.is_cancelled() {
            let Some(batch) = retention::delete_batch(&self.db, cutoff, self.batch).await? else {
                break;
            };
            total.events += batch.events;
            total.deliveries += batch.deliveries;
            total.attempts += batch.attempts;
            if batch.events < self.batch {
                break;
            }
            tokio::time::sleep(PAUSE).await;
        }
        if !shutdown.is_cancelled() {
            total.idempotency_keys =
                retention::delete_expired_keys(&self.db, self.idempotency_window).await?;
        }
        Ok(total)
    }
}
