//! Stream, consumer and subject names. These are contracts: operators type
//! them into the `nats` CLI.

use uuid::Uuid;

pub const EVENTS_STREAM: &str = "HERALD_EVENTS";
pub const EVENTS_SUBJECTS: &str = "herald.events.>";
pub const DELIVERIES_STREAM: &str = "HERALD_DELIVERIES";
pub const DELIVERIES_SUBJECTS: &str = "herald.deliveries.>";
pub const FANOUT_CONSUMER: &str = "fanout";
pub const DELIVER_CONSUMER: &str = "deliver";

/// Core NATS subject on which ingest announces endpoint changes; dispatchers
/// refresh their endpoint cache from Postgres when they hear one.
pub const WEBHOOK_CHANGES: &str = "herald.control.webhooks";

/// Prefix of the durable consumer of each FIFO endpoint on `HERALD_EVENTS`:
/// `fifo_<webhook id>`.
pub const FIFO_CONSUMER_PREFIX: &str = "fifo_";

/// The durable consumer holding a FIFO endpoint's line.
pub fn fifo_consumer(webhook_id: Uuid) -> String {
    format!("{FIFO_CONSUMER_PREFIX}{}", webhook_id.simple())
}

/// `herald.events.<tenant>.<event_type>`
pub fn event_subject(tenant: &str, event_type: &str) -> String {
    format!("herald.events.{tenant}.{event_type}")
}

/// `herald.deliveries.<webhook id>`
pub fn delivery_subject(webhook_id: Uuid) -> String {
    format!("herald.deliveries.{webhook_id}")
}

/// `Nats-Msg-Id` of a delivery job: `<event id>.<webhook id>`.
pub fn delivery_msg_id(event_id: Uuid, webhook_id: Uuid) -> String {
    format!("{event_id}.{webhook_id}")
}

/// `Nats-Msg-Id` of a re-published retry: `<event id>.<webhook id>.<attempt>`.
pub fn retry_msg_id(event_id: Uuid, webhook_id: Uuid, attempt: i32) -> String {
    format!("{event_id}.{webhook_id}.{attempt}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_contract() {
        assert_eq!(
            event_subject("default", "order.created"),
            "herald.events.default.order.created"
        );
        let id = Uuid::nil();
        assert_eq!(
            delivery_subject(id),
            "herald.deliveries.00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(delivery_msg_id(id, id).matches('.').count(), 1);
    }
}
