//! The JSON messages Herald puts on NATS. The payload travels as raw JSON
//! text (`RawValue`) so it is never re-serialized: what was ingested is what
//! is signed and sent.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// An accepted event, on `herald.events.<tenant>.<type>` (stream `HERALD_EVENTS`).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
/// Built only by [`DeliveryJob::new`].
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub delivery_id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// How many attempts were made before this job (0 for the first job).
    ///
    /// On the wire this is still `attempt`, so nodes of the previous release
    /// read the jobs of this one during a rolling upgrade; `attempts_made` is
    /// accepted too, so a later release can write the new name.
    #[serde(rename = "attempt", alias = "attempts_made")]
    pub attempts_made: i32,
    pub payload: Box<RawValue>,
    /// The endpoint's `updated_at` as fan-out read it: a dispatcher whose
    /// cache holds an older version re-reads the endpoint first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_version: Option<chrono::DateTime<chrono::Utc>>,
    /// Attempts made before the current retry schedule began (a manual
    /// re-send starts the schedule again): the retry delay after this job's
    /// attempt is that of attempt `attempts_made + 1 - schedule_start`.
    /// Absent (0) on the wire for a delivery never re-sent by hand.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub schedule_start: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// Which delivery a job is for, and how far that delivery got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobTarget {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    /// Attempts already made (0 for a delivery fan-out just created).
    pub attempts_made: i32,
    /// The endpoint's version fan-out saw; `None` for a re-sent delivery.
    pub webhook_version: Option<chrono::DateTime<chrono::Utc>>,
}

impl DeliveryJob {
    /// The job that sends `event` to the delivery `target` names (fan-out,
    /// the retry scheduler and manual re-sends all build jobs here).
    pub fn new(event: EventMessage, target: JobTarget) -> Self {
        Self {
            delivery_id: target.delivery_id,
            event_id: event.id,
            webhook_id: target.webhook_id,
            tenant_id: event.tenant_id,
            event_type: event.event_type,
            created_at: event.created_at,
            attempts_made: target.attempts_made,
            payload: event.payload,
            webhook_version: target.webhook_version,
            schedule_start: 0,
        }
    }

    /// The same job on a retry schedule that began after `attempts` attempts.
    pub fn with_schedule_start(mut self, attempts: i32) -> Self {
        self.schedule_start = attempts.max(0);
        self
    }

    /// This job's attempt counted from the start of its retry schedule
    /// (1 for the first attempt of a schedule).
    pub fn attempt_in_schedule(&self) -> i32 {
        self.attempts_made
            .saturating_sub(self.schedule_start)
            .max(0)
            .saturating_add(1)
    }
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

    fn event() -> EventMessage {
        EventMessage {
            id: Uuid::nil(),
            tenant_id: "default".into(),
            event_type: "order.created".into(),
            created_at: chrono::DateTime::from_timestamp(0, 0).expect("epoch"),
            payload: RawValue::from_string("{}".to_string()).expect("raw"),
        }
    }

    #[test]
    fn delivery_jobs_keep_their_wire_name_and_read_both_names() {
        let target = JobTarget {
            delivery_id: Uuid::max(),
            webhook_id: Uuid::nil(),
            attempts_made: 3,
            webhook_version: None,
        };
        let json = serde_json::to_value(DeliveryJob::new(event(), target)).expect("ser");
        assert_eq!(json["attempt"], 3);
        assert!(json.get("attempts_made").is_none());
        assert!(json.get("webhook_version").is_none());
        assert!(json.get("schedule_start").is_none());
        for name in ["attempt", "attempts_made"] {
            let mut wire = json.clone();
            let fields = wire.as_object_mut().expect("object");
            fields.remove("attempt");
            fields.insert(name.to_string(), 2.into());
            let job: DeliveryJob = serde_json::from_str(&wire.to_string()).expect(name);
            assert_eq!((job.attempts_made, job.delivery_id), (2, Uuid::max()));
            assert_eq!(job.schedule_start, 0);
        }
    }

    #[test]
    fn a_re_sent_job_counts_its_attempts_from_its_schedule_start() {
        let target = JobTarget {
            delivery_id: Uuid::max(),
            webhook_id: Uuid::nil(),
            attempts_made: 8,
            webhook_version: None,
        };
        let job = DeliveryJob::new(event(), target);
        assert_eq!(job.attempt_in_schedule(), 9);
        let job = job.with_schedule_start(8);
        assert_eq!(job.attempt_in_schedule(), 1);
        let json = serde_json::to_value(&job).expect("ser");
        assert_eq!(json["schedule_start"], 8);
        let back: DeliveryJob = serde_json::from_value(json).expect("de");
        assert_eq!(back.schedule_start, 8);
    }
}
