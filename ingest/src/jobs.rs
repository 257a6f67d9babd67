//! Manual re-sends: publish a `DeliveryJob` for an existing delivery to
//! `herald.deliveries.<webhook id>` with a fresh `Nats-Msg-Id`
//! (`<delivery id>.manual.<uuid>`, so JetStream never drops it as a repeat),
//! and set the delivery back to `pending`.
//!
//! The delivery rows stay locked (`FOR UPDATE`) until JetStream has
//! acknowledged the jobs, so a dispatcher recording the new attempt waits
//! for our `pending` to land first and is never overwritten by it.

use async_nats::jetstream::message::PublishMessage as Publish;
use chrono::{DateTime, Utc};
use herald_common::messages::{DeliveryJob, EventMessage, JobTarget};
use herald_common::subjects::delivery_subject;
use serde_json::value::RawValue;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::ApiError;
use crate::routes::deliveries::{from_row, DeliveryOut, COLUMNS};
use crate::state::AppState;

/// At most this many deliveries are re-sent by one recover call.
pub const MAX_RECOVER: i64 = 10_000;

fn nats_down() -> ApiError {
    ApiError::unavailable("NATS", "not connected")
}

/// The job for a row of `SELECT {COLUMNS}, e.event_type, e.created_at, e.payload`.
fn job(r: &Row) -> Result<DeliveryJob, ApiError> {
    let payload: String = r.get(14);
    let event = EventMessage {
        id: r.get(1),
        tenant_id: r.get(3),
        event_type: r.get(12),
        created_at: r.get(13),
        payload: RawValue::from_string(payload).map_err(ApiError::internal)?,
    };
    let target = JobTarget {
        delivery_id: r.get(0),
        webhook_id: r.get(2),
        attempts_made: r.get(5),
        webhook_version: None,
    };
    Ok(DeliveryJob::new(event, target))
}

/// PubAcks awaited at once: the JetStream context lends each publish one of
/// its 5,000 ack permits (shared with the publisher and the relay) until the
/// ack is awaited, so a large recover must not publish everything first.
const ACK_CHUNK: usize = 256;

/// Publish jobs and wait for every PubAck; the ids JetStream acknowledged.
async fn publish(state: &AppState, jobs: Vec<DeliveryJob>) -> Result<Vec<Uuid>, ApiError> {
    let mut done = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(ACK_CHUNK) {
        let mut acks = Vec::with_capacity(chunk.len());
        for j in chunk {
            let body = serde_json::to_vec(j).map_err(ApiError::internal)?;
            let publish = Publish::build().payload(body.into()).message_id(format!(
                "{}.manual.{}",
                j.delivery_id,
                Uuid::new_v4()
            ));
            let ack = state
                .js
                .send_publish(delivery_subject(j.webhook_id), publish)
                .await
                .map_err(|e| ApiError::unavailable("NATS", e))?;
            acks.push((j.delivery_id, ack));
        }
        for (id, ack) in acks {
            match ack.await {
                Ok(_) => done.push(id),
                Err(error) => {
                    tracing::warn!(%error, delivery_id = %id, "Manual re-send not acknowledged.")
                }
            }
        }
    }
    Ok(done)
}

const SELECT: &str = "SELECT {COLUMNS}, e.event_type, e.created_at, e.payload \
     FROM deliveries d JOIN events e ON e.id = d.event_id";

fn select(filter: &str) -> String {
    format!("{} WHERE {filter}", SELECT.replace("{COLUMNS}", COLUMNS))
}

/// Re-send one delivery; `None` if it is not in scope.
pub async fn requeue_one(
    state: &AppState,
    id: Uuid,
    scope: Option<String>,
) -> Result<Option<DeliveryOut>, ApiError> {
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let sql = select("d.id = $1 AND ($2::text IS NULL OR d.tenant_id = $2) FOR UPDATE OF d");
    let Some(row) = tx.query_opt(&sql, &[&id, &scope]).await? else {
        return Ok(None);
    };
    if !state.nats_ready() {
        return Err(nats_down());
    }
    if publish(state, vec![job(&row)?]).await?.is_empty() {
        return Err(ApiError::unavailable(
            "JetStream",
            "the job was not acknowledged",
        ));
    }
    let sql = format!(
        "UPDATE deliveries d SET status = 'pending', next_retry_at = NULL, updated_at = now() \
         WHERE d.id = $1 RETURNING {COLUMNS}"
    );
    let row = tx.query_one(&sql, &[&id]).await?;
    tx.commit().await?;
    tracing::info!(delivery_id = %id, "Delivery queued again by request.");
    Ok(Some(from_row(&row)))
}

/// Re-send the endpoint's failed deliveries created since `since`; `None`
/// if the endpoint is not in scope.
pub async fn requeue_failed(
    state: &AppState,
    webhook_id: Uuid,
    scope: Option<String>,
    since: DateTime<Utc>,
) -> Result<Option<usize>, ApiError> {
    let mut client = state.db.get().await?;
    let exists = client
        .query_opt(
            "SELECT 1 FROM webhooks WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)",
            &[&webhook_id, &scope],
        )
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    if !state.nats_ready() {
        return Err(nats_down());
    }
    let tx = client.transaction().await?;
    let sql = select(
        "d.webhook_id = $1 AND d.status = 'failed' AND d.created_at >= $2 \
         ORDER BY d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED",
    );
    let rows = tx.query(&sql, &[&webhook_id, &since, &MAX_RECOVER]).await?;
    let jobs = rows.iter().map(job).collect::<Result<Vec<_>, _>>()?;
    let done = publish(state, jobs).await?;
    if !done.is_empty() {
        tx.execute(
            "UPDATE deliveries SET status = 'pending', next_retry_at = NULL, updated_at = now() \
             WHERE id = ANY($1)",
            &[&done],
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(%webhook_id, n = done.len(), "Failed deliveries queued again by request.");
    Ok(Some(done.len()))
}
