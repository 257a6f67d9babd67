//! What a delivery task hands to the attempt log: plain data, known to the
//! log's writer and to the operational events it derives from them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_common::domain::DeliveryStatus;
use uuid::Uuid;

use crate::store::deliveries::Park;

/// One HTTP attempt and what it did to the delivery.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    pub event_id: Uuid,
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub response_body: Option<String>,
    /// `{"request": {..}, "response": {..}}` as JSON text: the headers sent
    /// and an excerpt of those received, secrets redacted
    /// (`deliver::header_log`).
    pub headers: Option<String>,
    /// The delivery's status after this attempt.
    pub status: DeliveryStatus,
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Disable the endpoint with this reason (a `410 Gone`).
    pub disable_reason: Option<String>,
}

/// What a delivery task hands to the log.
#[derive(Debug, Clone)]
pub enum Record {
    Attempt(Box<AttemptRecord>),
    /// Defer a delivery without an attempt (see `deliver::admission`).
    Park(Park),
    /// End a delivery without an attempt (its endpoint is disabled).
    Fail {
        delivery_id: Uuid,
        reason: String,
    },
}
