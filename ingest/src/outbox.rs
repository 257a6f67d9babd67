//! The outbox relay: re-publishes events that are committed in Postgres but
//! not acknowledged by JetStream (NATS was down, the queue was full, or an
//! ingest node died between commit and publish), oldest first, and marks
//! them published in batches.
//!
//! Several ingest nodes run it at once safely: a batch is claimed with
//! `FOR UPDATE SKIP LOCKED`, so two relays never hold the same events, and
//! `Nats-Msg-Id` = event id lets JetStream drop a repeat of what the fast
//! path already published.

use std::time::Duration;

use async_nats::jetstream;
use deadpool_postgres::Pool;
use herald_common::metrics::{OUTBOX_PENDING, OUTBOX_PUBLISHED_TOTAL};
use herald_common::shutdown::CancellationToken;
use uuid::Uuid;

use crate::error::ApiError;
use crate::publisher::publish_event;
use crate::writer::StoredEvent;

/// Events claimed per round.
pub const BATCH: i64 = 500;
/// Younger events are left to the fast path.
const GRACE: Duration = Duration::from_secs(2);
/// Longest wait between rounds while publishing keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Outbox {
    pub db: Pool,
    pub js: jetstream::Context,
    pub nats: async_nats::Client,
    pub interval: Duration,
    /// Only events at least this old are re-published.
    pub grace: Duration,
}

/// The result of one round.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub published: usize,
}

impl Outbox {
    pub fn new(
        db: Pool,
        js: jetstream::Context,
        nats: async_nats::Client,
        interval: Duration,
    ) -> Self {
        Self {
            db,
            js,
            nats,
            interval,
            grace: GRACE,
        }
    }

    /// Committed events not yet acknowledged by JetStream.
    pub async fn pending(&self) -> Result<i64, ApiError> {
        let client = self.db.get().await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM events WHERE published_at IS NULL",
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Claim the oldest due unpublished events, publish them, mark the
    /// acknowledged ones. Public so tests can drive the relay step by step.
    pub async fn step(&self) -> Result<Round, ApiError> {
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                "SELECT id, tenant_id, event_type, payload, idempotency_key, created_at \
                 FROM events \
                 WHERE published_at IS NULL AND created_at <= now() - make_interval(secs => $1) \
                 ORDER BY created_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                &[&self.grace.as_secs_f64(), &BATCH],
            )
            .await?;
        let events: Vec<StoredEvent> = rows
            .iter()
            .map(|r| StoredEvent {
                id: r.get(0),
                tenant_id: r.get(1),
                event_type: r.get(2),
                payload: r.get(3),
                idempotency_key: r.get(4),
                created_at: r.get(5),
            })
            .collect();
        // Send in creation order, then await every ack.
        let mut pending = Vec::with_capacity(events.len());
        for e in &events {
            match publish_event(&self.js, e).await {
                Ok(ack) => pending.push((e.id, ack)),
                Err(error) => {
                    tracing::debug!(%error, event_id = %e.id, "Relay publish failed.");
                    break;
                }
            }
        }
        let mut acked: Vec<Uuid> = Vec::with_capacity(pending.len());
        let results = futures::future::join_all(
            pending
                .into_iter()
                .map(|(id, ack)| async move { (id, ack.await) }),
        )
        .await;
        for (id, res) in results {
            match res {
                Ok(_) => acked.push(id),
                Err(error) => tracing::debug!(%error, event_id = %id, "Relay got no PubAck."),
            }
        }
        if !acked.is_empty() {
            tx.execute(
                "UPDATE events SET published_at = now() WHERE id = ANY($1)",
                &[&acked],
            )
            .await?;
        }
        tx.commit().await?;
        metrics::counter!(OUTBOX_PUBLISHED_TOTAL).increment(acked.len() as u64);
        Ok(Round {
            claimed: events.len(),
            published: acked.len(),
        })
    }

    /// Rounds until the outbox is drained or a round fails.
    async fn drain(&self) -> Result<(), ApiError> {
        loop {
            let round = self.step().await?;
            if round.published > 0 {
                tracing::info!(n = round.published, "Relay published outbox events.");
            }
            if round.published < round.claimed {
                return Err(ApiError::unavailable(
                    "JetStream",
                    "some events were not acknowledged",
                ));
            }
            if round.claimed < BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Run until `shutdown`: every `interval`, update `herald_outbox_pending`
    /// and drain the outbox; back off (up to 5 s) while publishing fails.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut delay = self.interval;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            match self.pending().await {
                Ok(n) => metrics::gauge!(OUTBOX_PENDING).set(n as f64),
                Err(error) => tracing::debug!(?error, "Could not count the outbox."),
            }
            if self.nats.connection_state() != async_nats::connection::State::Connected {
                continue;
            }
            match self.drain().await {
                Ok(()) => delay = self.interval,
                Err(error) => {
                    delay = (delay * 2).clamp(self.interval, MAX_BACKOFF);
                    tracing::warn!(?error, retry_in = ?delay, "Outbox relay round failed.");
                }
            }
        }
    }
}
