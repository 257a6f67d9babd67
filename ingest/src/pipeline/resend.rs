//! Manual re-sends (`POST /deliveries/{id}/retry`, `POST
//! /webhooks/{id}/recover`): publish a `DeliveryJob` for an existing
//! delivery to `herald.deliveries.<webhook id>` with a fresh `Nats-Msg-Id`
//! (`<delivery id>.manual.<uuid>`, so JetStream never drops it as a repeat),
//! and set the delivery back to `pending`.
//!
//! The delivery rows stay locked until JetStream has acknowledged the jobs
//! (see [`crate::store::deliveries::requeue`]), so a dispatcher recording
//! the new attempt waits for our `pending` to land first and is never
//! overwritten by it.

use async_nats::jetstream::{self, context::PublishError};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use herald_common::jetstream::{Outgoing, PubAcks};
use herald_common::messages::{DeliveryJob, EventMessage, JobTarget};
use herald_common::subjects::delivery_subject;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::store::deliveries::requeue::{self, Resendable};
use crate::store::deliveries::Delivery;
use crate::store::{self, webhooks, StoreError};

/// At most this many deliveries are re-sent by one recover call.
pub const MAX_RECOVER: i64 = 10_000;

/// PubAcks awaited at once (see `herald_common::jetstream::PubAcks`).
const MAX_OUTSTANDING: usize = 256;

/// Why a re-send did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// NATS is not connected or the streams are not provisioned.
    #[error("NATS is not connected")]
    NatsDown,
    #[error("could not publish a job")]
    Publish(#[source] PublishError),
    /// The job of a single re-send was not acknowledged.
    #[error("JetStream did not acknowledge the job")]
    NotAcknowledged,
    /// A stored payload is not JSON, or a job cannot be encoded.
    #[error("could not build a job")]
    Encode(#[from] serde_json::Error),
}

/// What a re-send needs: the database, JetStream, and whether NATS is ready.
pub struct Resend<'a> {
    pub db: &'a Pool,
    pub js: &'a jetstream::Context,
    pub nats_ready: bool,
}

impl Resend<'_> {
    /// Re-send one delivery; `None` if it is not in `scope`.
    pub async fn one(
        &self,
        id: Uuid,
        scope: Option<&str>,
    ) -> Result<Option<Delivery>, ResendError> {
        let mut client = store::client(self.db).await?;
        let Some(mut locked) = requeue::lock_one(&mut client, id, scope).await? else {
            return Ok(None);
        };
        self.ready()?;
        let jobs = jobs(std::mem::take(&mut locked.rows))?;
        if self.publish(jobs).await?.is_empty() {
            return Err(ResendError::NotAcknowledged);
        }
        let delivery = locked.set_one_pending(id).await?;
        tracing::info!(delivery_id = %id, "Delivery queued again by request.");
        Ok(Some(delivery))
    }

    /// Re-send the endpoint's failed deliveries created since `since` (at
    /// most [`MAX_RECOVER`]); how many, or `None` if the endpoint is not in
    /// `scope`.
    pub async fn failed_since(
        &self,
        webhook_id: Uuid,
        scope: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Option<usize>, ResendError> {
        let mut client = store::client(self.db).await?;
        if !webhooks::exists(&client, webhook_id, scope).await? {
            return Ok(None);
        }
        self.ready()?;
        let mut locked = requeue::lock_failed(&mut client, webhook_id, since, MAX_RECOVER).await?;
        let done = self
            .publish(jobs(std::mem::take(&mut locked.rows))?)
            .await?;
        locked.set_pending(&done).await?;
        tracing::info!(%webhook_id, n = done.len(), "Failed deliveries queued again by request.");
        Ok(Some(done.len()))
    }

    fn ready(&self) -> Result<(), ResendError> {
        if self.nats_ready {
            Ok(())
        } else {
            Err(ResendError::NatsDown)
        }
    }

    /// Publish jobs and wait for every PubAck; the ids JetStream acknowledged.
    async fn publish(&self, jobs: Vec<DeliveryJob>) -> Result<Vec<Uuid>, ResendError> {
        let mut acks = PubAcks::new(self.js.clone(), MAX_OUTSTANDING);
        for j in &jobs {
            let msg_id = format!("{}.manual.{}", j.delivery_id, Uuid::new_v4());
            let body = serde_json::to_vec(j)?;
            let message = Outgoing::new(delivery_subject(j.webhook_id), &msg_id, body.into());
            acks.publish(j.delivery_id, message)
                .await
                .map_err(ResendError::Publish)?;
        }
        let mut done = Vec::with_capacity(jobs.len());
        for acked in acks.flush().await {
            match acked.result {
                Ok(_) => done.push(acked.key),
                Err(error) => {
                    tracing::warn!(%error, delivery_id = %acked.key, "Manual re-send not acknowledged.")
                }
            }
        }
        Ok(done)
    }
}

/// The jobs for locked deliveries.
fn jobs(rows: Vec<Resendable>) -> Result<Vec<DeliveryJob>, ResendError> {
    rows.into_iter()
        .map(|r| {
            let event = EventMessage {
                id: r.event_id,
                tenant_id: r.tenant_id,
                event_type: r.event_type,
                created_at: r.created_at,
                payload: RawValue::from_string(r.payload)?,
            };
            let target = JobTarget {
                delivery_id: r.delivery_id,
                webhook_id: r.webhook_id,
                attempts_made: r.attempts,
                webhook_version: None,
            };
            Ok(DeliveryJob::new(event, target))
        })
        .collect()
}
