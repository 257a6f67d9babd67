//! Fan-out's decisions, as pure functions: which (event, endpoint) pairs a
//! group of events makes (the endpoint subscribes to the event's type,
//! exactly or by a wildcard, and its payload filter passes), which delivery
//! rows that asks for, and which of those rows get a job.

use crate::store::deliveries::{DeliveryKey, DeliveryRow, NewDelivery};
use chrono::{DateTime, Utc};
use herald_common::domain::DeliveryStatus;
use herald_common::messages::{EventMessage, JobTarget};
use herald_common::routing::Routing;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// An active endpoint of an event's tenant, with its compiled routing.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub id: Uuid,
    pub tenant_id: &'a str,
    /// The endpoint's `updated_at` (the version its routing comes from).
    pub version: DateTime<Utc>,
    pub routing: &'a Routing,
    /// A FIFO endpoint: its line takes its events, not fan-out.
    pub fifo: bool,
}

/// One event of the group, to be delivered to one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The event's index in the group.
    pub event: usize,
    pub webhook_id: Uuid,
    /// The endpoint's `updated_at` as fan-out read it.
    pub version: DateTime<Utc>,
}

/// A job to publish for the event at index `event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedJob {
    pub event: usize,
    pub target: JobTarget,
}

/// The tenants of `events`, each once (for the one endpoint query).
pub fn tenants(events: &[EventMessage]) -> Vec<&str> {
    let mut tenants: Vec<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    tenants
}

/// Every event paired with each candidate of its tenant that subscribes to
/// its type and whose filter passes its payload, in event order. A payload
/// is parsed once, and only if a filter needs it. FIFO endpoints are left
/// out: their line takes their events from `HERALD_EVENTS` itself, in order
/// (see `crate::fifo`), and asks [`wants`].
pub fn pairs(events: &[EventMessage], endpoints: &[Candidate<'_>]) -> Vec<Pair> {
    let mut by_tenant: HashMap<&str, Vec<&Candidate<'_>>> = HashMap::new();
    for e in endpoints {
        by_tenant.entry(e.tenant_id).or_default().push(e);
    }
    let mut pairs = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let mut payload = Payload::new(&event.payload);
        for e in by_tenant
            .get(event.tenant_id.as_str())
            .into_iter()
            .flatten()
        {
            if !e.fifo && e.routing.wants_type(&event.event_type) && passes(e.routing, &mut payload)
            {
                pairs.push(Pair {
                    event: i,
                    webhook_id: e.id,
                    version: e.version,
                });
            }
        }
    }
    pairs
}

/// The FIFO endpoints among `endpoints` subscribed to at least one of
/// `events`: their lines take these events from `HERALD_EVENTS`, so their
/// consumers must exist before fan-out acknowledges the events.
pub fn fifo_lines<'a, 'b>(
    events: &[EventMessage],
    endpoints: &'a [Candidate<'b>],
) -> Vec<&'a Candidate<'b>> {
    endpoints
        .iter()
        .filter(|e| e.fifo)
        .filter(|e| {
            events
                .iter()
                .any(|ev| ev.tenant_id == e.tenant_id && e.routing.wants_type(&ev.event_type))
        })
        .collect()
}

/// An event's payload, parsed the first time a filter asks for it.
struct Payload<'a> {
    raw: &'a RawValue,
    parsed: Option<Option<Value>>,
}

impl<'a> Payload<'a> {
    fn new(raw: &'a RawValue) -> Self {
        Self { raw, parsed: None }
    }

    /// The payload as JSON; `None` if it does not parse (ingest accepts
    /// only objects, so never in practice).
    fn value(&mut self) -> Option<&Value> {
        self.parsed
            .get_or_insert_with(|| serde_json::from_str(self.raw.get()).ok())
            .as_ref()
    }
}

/// Whether an event goes to an endpoint with this routing: its type is
/// subscribed to and the payload passes the filter (what a FIFO line asks
/// of each event of its consumer).
pub fn wants(routing: &Routing, event: &EventMessage) -> bool {
    routing.wants_type(&event.event_type) && passes(routing, &mut Payload::new(&event.payload))
}

/// Whether an endpoint's filter (if any) passes the payload. A payload that
/// does not parse passes no filter.
fn passes(routing: &Routing, payload: &mut Payload<'_>) -> bool {
    match routing.filter() {
        None => true,
        Some(filter) => payload.value().is_some_and(|v| filter.matches(v)),
    }
}

/// The delivery row each pair needs.
pub fn new_deliveries<'a>(events: &'a [EventMessage], pairs: &[Pair]) -> Vec<NewDelivery<'a>> {
    pairs
        .iter()
        .map(|p| NewDelivery {
            key: key(events, p),
            tenant_id: &events[p.event].tenant_id,
            event_type: &events[p.event].event_type,
        })
        .collect()
}

fn key(events: &[EventMessage], pair: &Pair) -> DeliveryKey {
    DeliveryKey {
        event_id: events[pair.event].id,
        webhook_id: pair.webhook_id,
    }
}

/// Whether a delivery row gets a job: only while it is `pending` and not
/// waiting for a time (parked). A new row always is; a redelivered event's
/// row that was delivered, failed, retried or parked since is left alone
/// (the retry scheduler owns it).
pub fn needs_job(row: &DeliveryRow) -> bool {
    row.status == DeliveryStatus::Pending && row.next_retry_at.is_none()
}

/// The jobs to publish, in pair order: one per pair whose row exists (its
/// event and endpoint were still there) and [`needs_job`].
pub fn jobs<'a>(
    events: &'a [EventMessage],
    pairs: &'a [Pair],
    rows: &'a HashMap<DeliveryKey, DeliveryRow>,
) -> impl Iterator<Item = PlannedJob> + 'a {
    pairs.iter().filter_map(move |p| {
        let row = rows.get(&key(events, p)).filter(|r| needs_job(r))?;
        Some(PlannedJob {
            event: p.event,
            target: JobTarget {
                delivery_id: row.id,
                webhook_id: p.webhook_id,
                attempts_made: 0,
                webhook_version: Some(p.version),
            },
        })
    })
}

#[cfg(test)]
mod tests;
