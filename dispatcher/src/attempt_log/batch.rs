//! A batch of records as the rows each statement of the transaction writes:
//! a pure function of the records and the time, so the merging rules are
//! table-tested below.

use super::{AttemptRecord, Record};
use crate::store::attempts::NewAttempt;
use crate::store::deliveries::{DeliveryUpdate, Park};
use crate::store::endpoints::{Disable, LastResult};
use chrono::{DateTime, Utc};
use herald_common::domain::DeliveryStatus;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The rows of one transaction. Everything keyed by a delivery or an
/// endpoint is deduplicated and sorted by id, so that concurrent batches
/// lock rows in the same order.
#[derive(Debug, Default, PartialEq)]
pub struct Batch<'a> {
    pub attempts: Vec<NewAttempt<'a>>,
    /// At most one per delivery: the one that wins ([`beats`]).
    pub updates: Vec<DeliveryUpdate<'a>>,
    /// At most one per delivery: the last.
    pub parks: Vec<Park>,
    /// Per endpoint, its latest attempt (for `failing_since`).
    pub results: Vec<LastResult>,
    /// Endpoints that answered `410 Gone`.
    pub disables: Vec<Disable<'a>>,
}

/// The batch for `records`; `now` is when records without an attempt end.
pub fn build(records: &[Record], now: DateTime<Utc>) -> Batch<'_> {
    let mut attempts = Vec::new();
    let mut updates: BTreeMap<Uuid, DeliveryUpdate<'_>> = BTreeMap::new();
    let mut parks: BTreeMap<Uuid, Park> = BTreeMap::new();
    let mut results: BTreeMap<Uuid, LastResult> = BTreeMap::new();
    let mut disables: BTreeMap<Uuid, Disable<'_>> = BTreeMap::new();
    for record in records {
        match record {
            Record::Attempt(a) => {
                attempts.push(new_attempt(a));
                let finished = a.started_at + a.duration;
                merge(&mut updates, update_of(a, finished));
                let result = LastResult {
                    webhook_id: a.webhook_id,
                    succeeded: a.status == DeliveryStatus::Delivered,
                    at: finished,
                };
                match results.get(&a.webhook_id) {
                    Some(last) if last.at > finished => {}
                    _ => {
                        results.insert(a.webhook_id, result);
                    }
                }
                if let Some(reason) = &a.disable_reason {
                    let disable = Disable {
                        webhook_id: a.webhook_id,
                        reason,
                    };
                    disables.insert(a.webhook_id, disable);
                }
            }
            Record::Fail {
                delivery_id,
                reason,
            } => merge(&mut updates, failed(*delivery_id, reason, now)),
            Record::Park(park) => {
                parks.insert(park.delivery_id, *park);
            }
        }
    }
    Batch {
        attempts,
        updates: updates.into_values().collect(),
        parks: parks.into_values().collect(),
        results: results.into_values().collect(),
        disables: disables.into_values().collect(),
    }
}

fn new_attempt(a: &AttemptRecord) -> NewAttempt<'_> {
    NewAttempt {
        delivery_id: a.delivery_id,
        attempt: a.attempt,
        started_at: a.started_at,
        duration_ms: i32::try_from(a.duration.as_millis()).unwrap_or(i32::MAX),
        status_code: a.status_code.map(i32::from),
        error: a.error.as_deref(),
        response_body: a.response_body.as_deref(),
        headers: a.headers.as_deref(),
    }
}

fn update_of(a: &AttemptRecord, finished_at: DateTime<Utc>) -> DeliveryUpdate<'_> {
    DeliveryUpdate {
        id: a.delivery_id,
        status: a.status,
        attempts: Some(a.attempt),
        status_code: a.status_code.map(i32::from),
        error: a.error.as_deref(),
        next_retry_at: a.next_retry_at,
        finished_at,
    }
}

fn failed(id: Uuid, reason: &str, now: DateTime<Utc>) -> DeliveryUpdate<'_> {
    DeliveryUpdate {
        id,
        status: DeliveryStatus::Failed,
        attempts: None,
        status_code: None,
        error: Some(reason),
        next_retry_at: None,
        finished_at: now,
    }
}

/// Within a batch, `delivered` beats everything; otherwise the later
/// attempt wins (a change without an attempt counts as attempt 0).
pub fn beats(new: &DeliveryUpdate<'_>, old: &DeliveryUpdate<'_>) -> bool {
    let delivered = |u: &DeliveryUpdate<'_>| u.status == DeliveryStatus::Delivered;
    match (delivered(new), delivered(old)) {
        (true, false) => true,
        (false, true) => false,
        _ => new.attempts.unwrap_or(0) >= old.attempts.unwrap_or(0),
    }
}

fn merge<'a>(updates: &mut BTreeMap<Uuid, DeliveryUpdate<'a>>, new: DeliveryUpdate<'a>) {
    match updates.get(&new.id) {
        Some(old) if !beats(&new, old) => {}
        _ => {
            updates.insert(new.id, new);
        }
    }
}

#[cfg(test)]
mod tests;
