//! Values the unit tests share.

use chrono::{DateTime, Utc};
use herald_common::messages::{DeliveryJob, EventMessage, JobTarget};
use serde_json::value::RawValue;
use uuid::Uuid;

/// A readable id: `id(7)` is `00000000-…-000000000007`.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// `secs` after 2023-11-14T22:13:20Z.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("time")
}

/// Event `id(n)` of `tenant`, accepted at `at(0)`, with payload `{}`.
pub fn event(n: u128, tenant: &str, event_type: &str) -> EventMessage {
    EventMessage {
        id: id(n),
        tenant_id: tenant.into(),
        event_type: event_type.into(),
        created_at: at(0),
        payload: RawValue::from_string("{}".into()).expect("json"),
    }
}

/// The job of delivery `id(3)`: event `id(1)` of tenant `acme` to endpoint
/// `id(2)`, after `attempts_made` attempts.
pub fn job(attempts_made: i32) -> DeliveryJob {
    let target = JobTarget {
        delivery_id: id(3),
        webhook_id: id(2),
        attempts_made,
        webhook_version: None,
    };
    DeliveryJob::new(event(1, "acme", "order.created"), target)
}
