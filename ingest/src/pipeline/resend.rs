//! Manual re-sends (`POST /deliveries/{id}/retry`, `POST
//! /webhooks/{id}/recover`): publish a `DeliveryJob` for an existing
//! delivery to `herald.deliveries.<webhook id>` with a fresh `Nats-Msg-Id`
//! (`<delivery id>.manual.<uuid>`, so JetStream never drops it as a repeat),
//! and set the delivery back to `pending` on a fresh retry schedule (the
//! attempt numbers go on; the schedule's delays start again). Test events
//! and replays, which create their deliveries, are in [`super::send`].
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
use herald_common::subjects::{delivery_subject, retry_msg_id};
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

/// What a re-send needs: the database, JetStream, whether NATS is ready,
/// and the lease of the deliveries ingest creates (`StreamSettings::claim_lease`).
pub struct Resend<'a> {
    pub db: &'a Pool,
    pub js: &'a jetstream::Context,
    pub nats_ready: bool,
    pub lease: std::time::Duration,
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
        if self.publish(jobs, MsgId::Manual).await?.is_empty() {
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
            .publish(jobs(std::mem::take(&mut locked.rows))?, MsgId::Manual)
            .await?;
        locked.set_pending(&done).await?;
        tracing::info!(%webhook_id, n = done.len(), "Failed deliveries queued again by request.");
        Ok(Some(done.len()))
    }

    pub(super) fn ready(&self) -> Result<(), ResendError> {
        if self.nats_ready {
            Ok(())
        } else {
            Err(ResendError::NatsDown)
        }
    }

    /// Publish jobs and wait for every PubAck; the ids JetStream acknowledged.
    pub(super) async fn publish(
        &self,
        jobs: Vec<DeliveryJob>,
        msg_id: MsgId,
    ) -> Result<Vec<Uuid>, ResendError> {
        let mut acks = PubAcks::new(self.js.clone(), MAX_OUTSTANDING);
        for j in &jobs {
            let body = serde_json::to_vec(j)?;
            let message = Outgoing::new(delivery_subject(j.webhook_id), &msg_id.of(j), body.into());
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

/// The `Nats-Msg-Id` of a job ingest publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MsgId {
    /// `<delivery id>.manual.<uuid>`: a re-send is never a duplicate.
    Manual,
    /// `<event id>.<webhook id>.0`: the first job of a delivery ingest
    /// created, the id the retry scheduler gives it too, so JetStream drops
    /// the scheduler's copy if it sends one after the lease.
    First,
}

impl MsgId {
    fn of(self, job: &DeliveryJob) -> String {
        match self {
            Self::Manual => format!("{}.manual.{}", job.delivery_id, Uuid::new_v4()),
            Self::First => retry_msg_id(job.event_id, job.webhook_id, 0),
        }
    }
}

/// The jobs for deliveries and their events, each on a fresh retry
/// schedule from its attempts so far.
pub(super) fn jobs(rows: Vec<Resendable>) -> Result<Vec<DeliveryJob>, ResendError> {
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
            Ok(DeliveryJob::new(event, target).with_schedule_start(r.attempts))
        })
        .collect()
}
