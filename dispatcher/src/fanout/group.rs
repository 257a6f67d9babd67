//! One group of events: decode, plan (one endpoint query, one insert),
//! start first attempts directly where an endpoint has room ([`super::direct`])
//! and publish jobs for the rest, then ack each event whose jobs JetStream
//! stored and whose direct attempts are recorded.

use super::outcome::{settle, Fanned};
use super::plan::{self, Candidate, Pair};
use super::{Fanout, MAX_PENDING_ACKS};
use crate::endpoints_cache::Endpoint;
use crate::fifo::consumer::LineSpec;
use crate::store::deliveries::{self, DeliveryKey, DeliveryRow};
use crate::store::endpoints;
use crate::store::StoreError;
use async_nats::jetstream::{AckKind, Message};
use herald_common::domain::Ordering;
use herald_common::jetstream::{ack, in_progress, Acked, Outgoing, PubAcks};
use herald_common::messages::{DeliveryJob, EventMessage};
use herald_common::subjects::{delivery_msg_id, delivery_subject};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Why a group could not be planned (its events come back later).
#[derive(Debug, thiserror::Error)]
enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not make sure of a FIFO line's consumer: {0}")]
    Line(String),
}

/// The pairs of a group, their delivery rows and endpoints.
struct Plan {
    pairs: Vec<Pair>,
    rows: HashMap<DeliveryKey, DeliveryRow>,
    endpoints: HashMap<Uuid, Arc<Endpoint>>,
}

impl Plan {
    fn empty() -> Self {
        Plan {
            pairs: Vec::new(),
            rows: HashMap::new(),
            endpoints: HashMap::new(),
        }
    }
}

impl Fanout {
    /// Fan out one group of events.
    #[tracing::instrument(level = "debug", skip_all, fields(events = messages.len()))]
    pub(super) async fn process(&self, messages: Vec<Message>) {
        let Decoded { messages, events } = decode(messages).await;
        let first = first_deliveries(&messages);
        // A big group (a slow insert, many PubAcks) stays ours meanwhile.
        let fan_out = self.fan_out(&events, &first);
        let fanned = in_progress(&messages, self.ack_wait, fan_out).await;
        match &self.direct {
            Some(direct) if !fanned.started.is_empty() => {
                direct.finish(messages, events, fanned, self.ack_wait).await
            }
            _ => settle(&messages, &events, &fanned.stored).await,
        }
    }

    /// Plan, start direct attempts and publish jobs.
    async fn fan_out(&self, events: &[EventMessage], first: &[bool]) -> Fanned {
        match self.plan(events).await {
            Ok(plan) => self.publish(events, first, &plan).await,
            Err(error) => {
                tracing::warn!(%error, events = events.len(), "Could not create deliveries; events will be redelivered.");
                Fanned {
                    stored: vec![false; events.len()],
                    started: Vec::new(),
                }
            }
        }
    }

    /// Resolve the active endpoints of a group's tenants from Postgres (one
    /// query for the group, so an endpoint committed before an event was
    /// accepted is always seen, whatever this dispatcher's cache has heard
    /// yet), take their compiled routing from the cache at those versions
    /// or later, match, and create the delivery rows.
    async fn plan(&self, events: &[EventMessage]) -> Result<Plan, PlanError> {
        if events.is_empty() {
            return Ok(Plan::empty());
        }
        let client = self.pool.get().await.map_err(StoreError::from)?;
        let subscribed = endpoints::subscribed(&client, &plan::tenants(events)).await?;
        let current = self.cache.current(&subscribed).await?;
        let candidates: Vec<Candidate<'_>> = current
            .iter()
            .map(|e| Candidate {
                id: e.id,
                tenant_id: &e.tenant_id,
                version: e.updated_at,
                routing: &e.routing,
                fifo: e.ordering == Ordering::Fifo,
            })
            .collect();
        self.ensure_lines(events, &candidates).await?;
        let pairs = plan::pairs(events, &candidates);
        let rows = if pairs.is_empty() {
            HashMap::new()
        } else {
            let new = plan::new_deliveries(events, &pairs);
            deliveries::create_or_find(&client, &new).await?
        };
        let endpoints = current.iter().map(|e| (e.id, e.clone())).collect();
        Ok(Plan {
            pairs,
            rows,
            endpoints,
        })
    }

    /// Make sure the consumer of every FIFO line the group's events belong
    /// to exists before they are acknowledged (see `crate::fifo::registry`).
    async fn ensure_lines(
        &self,
        events: &[EventMessage],
        candidates: &[Candidate<'_>],
    ) -> Result<(), PlanError> {
        for line in plan::fifo_lines(events, candidates) {
            let Some(e) = self.cache.get(line.id) else {
                continue; // deleted meanwhile: no line
            };
            let spec = LineSpec::new(e.id, &e.tenant_id, &e.event_types, e.created_at);
            self.lines
                .ensure_known(&spec)
                .await
                .map_err(|e| PlanError::Line(e.to_string()))?;
        }
        Ok(())
    }

    /// Start the first attempts of `first` events' deliveries whose endpoint
    /// has room, and publish the other planned jobs, awaiting their PubAcks
    /// as they come (at most [`MAX_PENDING_ACKS`] outstanding).
    async fn publish(&self, events: &[EventMessage], first: &[bool], plan: &Plan) -> Fanned {
        let mut stored = vec![true; events.len()];
        let mut started = Vec::new();
        let mut acks = PubAcks::new(self.js.clone(), MAX_PENDING_ACKS);
        for job in plan::jobs(events, &plan.pairs, &plan.rows) {
            let event = &events[job.event];
            let webhook_id = job.target.webhook_id;
            let delivery = DeliveryJob::new(event.clone(), job.target);
            if let (true, Some(direct), Some(endpoint)) = (
                first[job.event],
                &self.direct,
                plan.endpoints.get(&webhook_id),
            ) {
                if let Some(room) = direct.room(endpoint, &event.tenant_id) {
                    started.push(direct.start(job.event, delivery, endpoint, room));
                    continue;
                }
            }
            let Ok(body) = serde_json::to_vec(&delivery) else {
                continue;
            };
            let msg_id = delivery_msg_id(event.id, webhook_id);
            let message = Outgoing::new(delivery_subject(webhook_id), &msg_id, body.into());
            if let Err(error) = acks.publish(job.event, message).await {
                tracing::warn!(%error, event_id = %event.id, "Could not publish a delivery job.");
                stored[job.event] = false;
            }
            note_failures(events, acks.completed(), &mut stored);
        }
        note_failures(events, acks.flush().await, &mut stored);
        Fanned { stored, started }
    }
}

/// Per message, whether JetStream delivers it for the first time: only then
/// may fan-out start attempts itself (an earlier round may have published
/// jobs for it, see [`super::direct`]).
fn first_deliveries(messages: &[Message]) -> Vec<bool> {
    messages
        .iter()
        .map(|m| m.info().is_ok_and(|i| i.delivered == 1))
        .collect()
}

/// Mark the events whose job JetStream did not store.
fn note_failures(
    events: &[EventMessage],
    acked: impl IntoIterator<Item = Acked<usize>>,
    stored: &mut [bool],
) {
    for Acked { key: i, result } in acked {
        if let Err(error) = result {
            tracing::warn!(%error, event_id = %events[i].id, "A delivery job was not stored.");
            stored[i] = false;
        }
    }
}

/// The messages of a group that parsed: `messages[i]` carries `events[i]`.
struct Decoded {
    messages: Vec<Message>,
    events: Vec<EventMessage>,
}

/// Parse each message's event; a malformed one is terminated (it would
/// never parse).
async fn decode(messages: Vec<Message>) -> Decoded {
    let mut decoded = Decoded {
        messages: Vec::with_capacity(messages.len()),
        events: Vec::with_capacity(messages.len()),
    };
    for msg in messages {
        match serde_json::from_slice::<EventMessage>(&msg.payload) {
            Ok(event) => {
                decoded.messages.push(msg);
                decoded.events.push(event);
            }
            Err(error) => {
                tracing::error!(%error, subject = %msg.subject, "Dropping a malformed event message.");
                ack(&msg, AckKind::Term).await;
            }
        }
    }
    decoded
}
