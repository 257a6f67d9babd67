//! The retry scheduler: re-publishes deliveries whose `next_retry_at` is due.
//!
//! Why not NAK with a delay? JetStream counts a message waiting for a delayed
//! redelivery against the consumer's `max_ack_pending`, so one dead endpoint
//! with a minute-long retry delay would fill the `deliver` window with its
//! waiting retries and starve every healthy endpoint. Instead a failed attempt
//! is recorded, the delivery becomes `retrying` with `next_retry_at`, and the
//! job is **acked**; parked jobs (see `deliver::admission`) are handled the
//! same way. Waiting deliveries thus live in Postgres, not in the hot
//! consumer's window.
//!
//! Every dispatcher runs this loop; they do not publish the same due delivery
//! twice because each poll claims rows with `FOR UPDATE SKIP LOCKED` and pushes
//! their `next_retry_at` forward by a lease (the ack wait, at most half the
//! duplicate window) before publishing. A job lost after the claim (a crash
//! between claim and publish) comes back when the lease ends. Re-published
//! jobs carry `Nats-Msg-Id: <event>.<webhook>.<attempts>` (`.p<n>` appended
//! after n parkings), so a re-claim of a job that is still queued is dropped
//! by JetStream as a duplicate.

use crate::store::deliveries::{self, DueDelivery};
use crate::store::StoreError;
use async_nats::HeaderMap;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::jetstream::{Acked, Outgoing, PubAcks};
use herald_common::messages::{DeliveryJob, EventMessage, JobTarget};
use herald_common::metrics::RETRIES_SCHEDULED_TOTAL;
use herald_common::shutdown::{self, CancellationToken};
use herald_common::subjects::{delivery_subject, retry_msg_id};
use serde_json::value::RawValue;
use std::time::Duration;

/// PubAcks awaited at once (see `herald_common::jetstream::PubAcks`).
const MAX_PENDING_ACKS: usize = 1_024;

/// Header of a re-published job holding its reserved rate-limit slot (RFC 3339).
pub const RATE_SLOT_HEADER: &str = "Herald-Rate-Slot";

/// The rate-limit slot a re-published job holds, from its headers.
pub fn reserved_slot(headers: Option<&HeaderMap>) -> Option<DateTime<Utc>> {
    let value = headers?.get(RATE_SLOT_HEADER)?;
    let slot = DateTime::parse_from_rfc3339(value.as_str()).ok()?;
    Some(slot.with_timezone(&Utc))
}

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

impl Due {
    /// `<event>.<webhook>.<attempts>[.p<parked>]`.
    fn msg_id(&self) -> String {
        let job = &self.job;
        let mut msg_id = retry_msg_id(job.event_id, job.webhook_id, job.attempts_made);
        if self.parked > 0 {
            msg_id.push_str(&format!(".p{}", self.parked));
        }
        msg_id
    }

    /// The job, with its reserved rate-limit slot if it holds one.
    fn message(&self) -> Result<Outgoing, serde_json::Error> {
        let body = serde_json::to_vec(&self.job)?;
        let message = Outgoing::new(
            delivery_subject(self.job.webhook_id),
            &self.msg_id(),
            body.into(),
        );
        Ok(match self.rate_slot {
            Some(slot) => message.header(RATE_SLOT_HEADER, &slot.to_rfc3339()),
            None => message,
        })
    }
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
            if shutdown.is_cancelled() {
                break;
            }
            // Fewer than a batch: wait for the next poll; else more are due now.
            if claimed < self.batch && !shutdown::sleep(&shutdown, self.poll_interval).await {
                break;
            }
        }
    }

    /// One poll: claim what is due and publish it. Returns how many were claimed.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) -> Result<usize, StoreError> {
        let due = self.claim().await?;
        let n = due.len();
        let mut acks = PubAcks::new(self.js.clone(), MAX_PENDING_ACKS);
        for d in due {
            let Ok(message) = d.message() else { continue };
            if let Err(error) = acks.publish(d.job.delivery_id, message).await {
                tracing::warn!(%error, delivery_id = %d.job.delivery_id, "Could not re-publish a due delivery; it returns after its lease.")
            }
        }
        for Acked {
            key: delivery_id,
            result,
        } in acks.flush().await
        {
            match result {
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

    async fn claim(&self) -> Result<Vec<Due>, StoreError> {
        let claimed = deliveries::claim_due(&self.pool, self.batch, self.lease).await?;
        Ok(claimed.into_iter().filter_map(due).collect())
    }
}

/// The job of a claimed delivery; `None` (logged) if its stored payload is
/// not JSON.
fn due(d: DueDelivery) -> Option<Due> {
    let Ok(payload) = RawValue::from_string(d.payload) else {
        tracing::error!(delivery_id = %d.id, "Stored event payload is not JSON; skipping.");
        return None;
    };
    let event = EventMessage {
        id: d.event_id,
        tenant_id: d.tenant_id,
        event_type: d.event_type,
        created_at: d.event_created_at,
        payload,
    };
    let target = JobTarget {
        delivery_id: d.id,
        webhook_id: d.webhook_id,
        attempts_made: d.attempts,
        webhook_version: None,
    };
    Some(Due {
        job: DeliveryJob::new(event, target).with_schedule_start(d.schedule_start),
        parked: d.parked,
        rate_slot: d.rate_slot_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{id, job};

    fn due(attempts_made: i32, parked: i32, rate_slot: Option<DateTime<Utc>>) -> Due {
        Due {
            job: job(attempts_made),
            parked,
            rate_slot,
        }
    }

    #[test]
    fn a_due_job_is_named_by_its_attempts_and_parkings_and_keeps_its_slot() {
        let slot = DateTime::from_timestamp(1_700_000_000, 250_000_000);
        let base = retry_msg_id(id(1), id(2), 3);
        let cases = [
            (due(3, 0, None), base.clone(), None),
            (due(3, 2, slot), format!("{base}.p2"), slot),
        ];
        for (due, msg_id, slot) in cases {
            assert_eq!(due.msg_id(), msg_id);
            let mut headers = HeaderMap::new();
            if let Some(value) = due.rate_slot.map(|s| s.to_rfc3339()) {
                headers.insert(RATE_SLOT_HEADER, value.as_str());
            }
            assert_eq!(reserved_slot(Some(&headers)), slot);
        }
        assert_eq!(reserved_slot(None), None);
    }
}
