//! The JSON messages Herald puts on NATS. The payload travels as raw JSON
//! text (`RawValue`) so it is never re-serialized: what was ingested is what
//! is signed and sent.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// An accepted event, on `herald.events.<tenant>.<type>` (stream `HERALD_EVENTS`).
#[derive(Debug, Serialize, Deserialize)]
pub struct EventMessage {
    pub id: Uuid,
    pub tenant_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// When ingest accepted the event (RFC 3339); the envelope's `timestamp`.
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub payload: Box<RawValue>,
}

/// One delivery job, on `herald.deliveries.<webhook id>` (stream `HERALD_DELIVERIES`).
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The number of attempts already made before this job (0 for the first).
    pub attempt: i32,
    pub payload: Box<RawValue>,
    /// The endpoint's `updated_at` as fan-out read it: a dispatcher whose
    /// cache holds an older version re-reads the endpoint first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_version: Option<chrono::DateTime<chrono::Utc>>,
}

/// What changed about an endpoint, on the core subject `herald.control.webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookChange {
    pub webhook_id: Uuid,
    pub tenant_id: String,
    pub op: ChangeOp,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Upsert,
    Delete,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_messages_keep_the_payload_bytes_exactly() {
        let raw = r#"{"b": 1,  "a":[1, 2]}"#;
        let msg = EventMessage {
            id: Uuid::nil(),
            tenant_id: "default".into(),
            event_type: "order.created".into(),
            created_at: chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
            payload: RawValue::from_string(raw.to_string()).expect("raw"),
        };
        let json = serde_json::to_string(&msg).expect("ser");
        let back: EventMessage = serde_json::from_str(&json).expect("de");
        assert_eq!(back.payload.get(), raw);
        assert_eq!(back.event_type, "order.created");
    }
}
