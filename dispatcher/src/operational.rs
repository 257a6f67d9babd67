//! Operational events the dispatcher emits: `herald.endpoint.disabled`
//! (410, failing too long), `.failing`, `.recovered`, and
//! `herald.delivery.failed` / `.recovered`.
//!
//! Each is stored in the transaction that records its transition (the
//! statement that makes the transition returns its row once, so several
//! dispatchers never emit one twice), then published to `HERALD_EVENTS`
//! with `Nats-Msg-Id: <event id>` by [`Emitter::publish`]; what is not
//! published (a crash, NATS down) is published by ingest's outbox relay.
//! Fan-out delivers them like any event. Failures delivering `herald.*`
//! events emit no delivery events, so an operational endpoint that fails
//! does not feed itself.

use crate::attempt_log::record::Record;
use crate::store::deliveries::Transition;
use crate::store::endpoints::{Disabled, FailurePeriod};
use crate::store::events::{self as stored, NewEvent};
use async_nats::jetstream::{self, message::PublishMessage};
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use futures::stream::{FuturesUnordered, StreamExt};
use herald_common::messages::EventMessage;
use herald_common::operational::{self, About, DeliveryFacts, DisabledBy, Operational};
use herald_common::subjects::event_subject;
use serde_json::value::RawValue;
use uuid::Uuid;

/// The row of an operational event, accepted at `at`.
pub fn new_event(op: Operational, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        tenant_id: op.tenant_id,
        event_type: op.event_type.to_string(),
        payload: op.payload.to_string(),
        created_at: at,
    }
}

fn about(webhook_id: Uuid, tenant_id: &str) -> About<'_> {
    About {
        webhook_id,
        tenant_id,
    }
}

/// `herald.endpoint.disabled` for each endpoint a statement disabled.
pub fn disabled(endpoints: &[Disabled], by: DisabledBy) -> Vec<Operational> {
    endpoints
        .iter()
        .map(|d| {
            about(d.webhook_id, &d.tenant_id).disabled(
                by,
                d.reason.as_deref(),
                d.at,
                d.failing_since,
            )
        })
        .collect()
}

/// `herald.endpoint.failing` for each newly announced failure period.
pub fn failing(periods: &[FailurePeriod]) -> Vec<Operational> {
    periods
        .iter()
        .map(|p| about(p.webhook_id, &p.tenant_id).failing(p.since, p.at))
        .collect()
}

/// `herald.endpoint.recovered` for each announced failure period that ended.
pub fn recovered(periods: &[FailurePeriod]) -> Vec<Operational> {
    periods
        .iter()
        .map(|p| about(p.webhook_id, &p.tenant_id).recovered(p.since, p.at))
        .collect()
}

/// `herald.delivery.failed` / `.recovered` for each transition made by an
/// attempt of `records`, except deliveries of `herald.*` events (no loop).
pub fn deliveries(transitions: &[Transition], records: &[Record]) -> Vec<Operational> {
    transitions
        .iter()
        .filter_map(|t| {
            let a = records.iter().find_map(|r| match r {
                Record::Attempt(a) if a.delivery_id == t.delivery_id => Some(a),
                _ => None,
            })?;
            if operational::is_reserved(&a.event_type) {
                return None;
            }
            let facts = DeliveryFacts {
                delivery_id: a.delivery_id,
                event_id: a.event_id,
                event_type: &a.event_type,
                attempts: a.attempt,
                status_code: a.status_code,
                error: a.error.as_deref(),
                failed_at: t.failed_at,
                delivered: t.delivered,
                at: a.started_at + a.duration,
            };
            Some(about(a.webhook_id, &a.tenant_id).delivery(&facts))
        })
        .collect()
}

/// Publishes stored operational events.
#[derive(Clone)]
pub struct Emitter {
    pub js: jetstream::Context,
    pub pool: Pool,
}

impl Emitter {
    /// Publish `events` in the background and mark those JetStream stored;
    /// the outbox relay publishes the others.
    pub fn publish(&self, events: Vec<NewEvent>) {
        if events.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move { this.publish_now(events).await });
    }

    async fn publish_now(&self, events: Vec<NewEvent>) {
        let mut acks = FuturesUnordered::new();
        for e in &events {
            let Ok(body) = message(e) else { continue };
            let publish = PublishMessage::build()
                .payload(body.into())
                .message_id(e.id.to_string());
            let subject = event_subject(&e.tenant_id, &e.event_type);
            match self.js.send_publish(subject, publish).await {
                Ok(ack) => acks.push(async move { ack.await.map(|_| e.id) }),
                Err(error) => {
                    tracing::debug!(%error, "Operational event left to the outbox relay.")
                }
            }
        }
        let mut published = Vec::with_capacity(events.len());
        while let Some(acked) = acks.next().await {
            match acked {
                Ok(id) => published.push(id),
                Err(error) => {
                    tracing::debug!(%error, "Operational event left to the outbox relay.")
                }
            }
        }
        if let Err(error) = stored::mark_published(&self.pool, &published).await {
            tracing::debug!(%error, "Could not mark operational events published.");
        }
    }
}

fn message(e: &NewEvent) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&EventMessage {
        id: e.id,
        tenant_id: e.tenant_id.clone(),
        event_type: e.event_type.clone(),
        created_at: e.created_at,
        payload: RawValue::from_string(e.payload.clone())?,
    })
}

#[cfg(test)]
mod tests;
