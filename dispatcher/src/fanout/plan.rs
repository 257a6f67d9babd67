//! Fan-out's decisions, as pure functions: which (event, endpoint) pairs a
//! group of events makes, which delivery rows that asks for, and which of
//! those rows get a job.

use crate::store::deliveries::{DeliveryKey, DeliveryRow, NewDelivery};
use crate::store::endpoints::Subscribed;
use chrono::{DateTime, Utc};
use herald_common::domain::DeliveryStatus;
use herald_common::messages::{EventMessage, JobTarget};
use std::collections::HashMap;
use uuid::Uuid;

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

/// Every event paired with each active endpoint of its tenant that
/// subscribes to its type, in event order. FIFO endpoints are left out:
/// their line takes their events from `HERALD_EVENTS` itself, in order
/// (see `crate::fifo`).
pub fn pairs(events: &[EventMessage], endpoints: &[Subscribed]) -> Vec<Pair> {
    let mut by_tenant: HashMap<&str, Vec<&Subscribed>> = HashMap::new();
    for e in endpoints {
        by_tenant.entry(e.tenant_id.as_str()).or_default().push(e);
    }
    let mut pairs = Vec::new();
    for (i, event) in events.iter().enumerate() {
        for e in by_tenant
            .get(event.tenant_id.as_str())
            .into_iter()
            .flatten()
        {
            if !e.fifo && e.event_types.contains(&event.event_type) {
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
pub fn fifo_lines<'a>(events: &[EventMessage], endpoints: &'a [Subscribed]) -> Vec<&'a Subscribed> {
    endpoints
        .iter()
        .filter(|e| e.fifo)
        .filter(|e| {
            events
                .iter()
                .any(|ev| ev.tenant_id == e.tenant_id && e.event_types.contains(&ev.event_type))
        })
        .collect()
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
