//! The retry scheduler: re-publishes deliveries whose `next_retry_at` is due.
//!
//! Why not NAK with a delay? JetStream counts a message waiting for a delayed
//! redelivery against the consumer's `max_ack_pending`, so one dead endpoint
//! with a minute-long retry delay would fill the `deliver` window with its
//! waiting retries and starve every healthy endpoint. Instead a failed attempt
//! is recorded, the delivery becomes `retrying` with `next_retry_at`, and the
//! job is **acked**; parked jobs (see `admission`) are handled the same way.
//! Waiting deliveries thus live in Postgres, not in the hot consumer's window.
//!
//! Every dispatcher runs this loop; they do not publish the same due delivery
//! twice because each poll claims rows with `FOR UPDATE SKIP LOCKED` and pushes
//! their `next_retry_at` forward by a lease (the ack wait, at most half the
//! duplicate window) before publishing. A job lost after the claim (a crash
//! between claim and publish) comes back when the lease ends. Re-published
//! jobs carry `Nats-Msg-Id: <event>.<webhook>.<attempts>` (`.p<n>` appended
//! after n parkings), so a re-claim of a job that is still queued is dropped
//! by JetStream as a duplicate.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::messages::{DeliveryJob, EventMessage, JobTarget};
use herald_common::metrics::RETRIES_SCHEDULED_TOTAL;
use herald_common::shutdown::CancellationToken;
use herald_common::subjects::{delivery_subject, retry_msg_id};
use serde_json::value::RawValue;
use std::time::Duration;
use uuid::Uuid;

/// Header of a re-published job holding its reserved rate-limit slot (RFC 3339).
pub const RATE_SLOT_HEADER: &str = "Herald-Rate-Slot";

const CLAIM: &str = "
    WITH due AS (
        SELECT id FROM deliveries
        WHERE next_retry_at IS NOT NULL AND status IN ('pending', 'retrying')
          AND next_retry_at <= now()
        ORDER BY next_retry_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED)
    UPDATE deliveries d SET next_retry_at = now() + make_interval(secs => $2)
    FROM due, events e
    WHERE d.id = due.id AND e.id = d.event_id
    RETURNING d.id, d.event_id, d.webhook_id, d.tenant_id, d.attempts, d.parked, d.rate_slot_at,
              e.event_type, e.created_at, e.payload";

pub struct Scheduler {
    pub pool: Pool,
    pub js: async_nats::jetstream::Context,
    pub poll_interval: Duration,
    /// How long a claimed delivery is left alone before it may be claimed again.
    pub lease: Duration,
    pub batch: usize,
}

/// A due delivery, claimed.
struct Due {
    job: DeliveryJob,
    parked: i32,
    rate_slot: Option<DateTime<Utc>>,
}

impl Scheduler {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let claimed = match self.step().await {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(%error, "Retry scheduler poll failed.");
                    0
                }
            };
            if claimed >= self.batch {
                if shutdown.is_cancelled() {
                    break;
                }
                continue; // more are due right now
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }

    /// One poll: claim what is due and publish it. Returns how many were claimed.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) -> Result<usize, crate::DbError> {
        let due = self.claim().await?;
        let n = due.len();
        let mut acks = Vec::with_capacity(n);
        for d in due {
            let mut msg_id = retry_msg_id(d.job.event_id, d.job.webhook_id, d.job.attempts_made);
            if d.parked > 0 {
                msg_id.push_str(&format!(".p{}", d.parked));
            }
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", msg_id.as_str());
            if let Some(slot) = d.rate_slot {
                headers.insert(RATE_SLOT_HEADER, slot.to_rfc3339().as_str());
            }
            let Ok(body) = serde_json::to_vec(&d.job) else {
                continue;
            };
            let subject = delivery_subject(d.job.webhook_id);
            match self
                .js
                .publish_with_headers(subject, headers, body.into())
                .await
            {
                Ok(ack) => acks.push((d.job.delivery_id, ack)),
                Err(error) => {
                    tracing::warn!(%error, delivery_id = %d.job.delivery_id, "Could not re-publish a due delivery; it returns after its lease.")
                }
            }
        }
        for (delivery_id, ack) in acks {
            match ack.await {
                Ok(_) => metrics::counter!(RETRIES_SCHEDULED_TOTAL).increment(1),
                Err(error) => {
                    tracing::warn!(%error, %delivery_id, "Re-published job not stored; it returns after its lease.")
                }
            }
        }
        if n > 0 {
            tracing::debug!(deliveries = n, "Re-published due deliveries.");
        }
        Ok(n)
    }

    async fn claim(&self) -> Result<Vec<Due>, crate::DbError> {
        let client = self.pool.get().await?;
        let limit = i64::try_from(self.batch).unwrap_or(i64::MAX);
        let rows = client
            .query(CLAIM, &[&limit, &self.lease.as_secs_f64()])
            .await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let payload: String = row.try_get("payload")?;
            let delivery_id: Uuid = row.try_get("id")?;
            let Ok(payload) = RawValue::from_string(payload) else {
                tracing::error!(%delivery_id, "Stored event payload is not JSON; skipping.");
                continue;
            };
            let event = EventMessage {
                id: row.try_get("event_id")?,
                tenant_id: row.try_get("tenant_id")?,
                event_type: row.try_get("event_type")?,
                created_at: row.try_get("created_at")?,
                payload,
            };
            let target = JobTarget {
                delivery_id,
                webhook_id: row.try_get("webhook_id")?,
                attempts_made: row.try_get("attempts")?,
                webhook_version: None,
            };
            due.push(Due {
                job: DeliveryJob::new(event, target),
                parked: row.try_get("parked")?,
                rate_slot: row.try_get("rate_slot_at")?,
            });
        }
        Ok(due)
    }
}
