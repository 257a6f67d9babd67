//! The JetStream consumer of one FIFO endpoint's line, as a pure function
//! of the endpoint: a durable pull consumer `fifo_<webhook id>` on
//! `HERALD_EVENTS`, filtered on the endpoint's tenant and event types,
//! starting at the endpoint's creation, with **one** message in flight.

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use chrono::{DateTime, Utc};
use herald_common::routing::subject_filters;
use herald_common::subjects::{event_subject, fifo_consumer};
use std::time::Duration;
use uuid::Uuid;

/// Events accepted this long before the endpoint was created are in its
/// line too (clocks of Postgres and NATS servers may differ a little);
/// fan-out likewise delivers an event to an endpoint created before the
/// event was fanned out.
pub const START_MARGIN: Duration = Duration::from_secs(2);

/// What a line's consumer is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpec {
    pub webhook_id: Uuid,
    /// `herald.events.<tenant>.<pattern>` for each subscribed type or
    /// pattern (none covering another, none overlapping; see
    /// `herald_common::routing::subject_filters`), sorted.
    pub filters: Vec<String>,
    pub start: DateTime<Utc>,
}

impl LineSpec {
    pub fn new(
        webhook_id: Uuid,
        tenant: &str,
        event_types: &[String],
        created_at: DateTime<Utc>,
    ) -> Self {
        let filters: Vec<String> = subject_filters(event_types)
            .iter()
            .map(|t| event_subject(tenant, t))
            .collect();
        let margin = chrono::Duration::from_std(START_MARGIN).unwrap_or_default();
        Self {
            webhook_id,
            filters,
            start: created_at - margin,
        }
    }

    /// The consumer's configuration. `max_ack_pending = 1` holds the line:
    /// no later event is handed out while one is unacknowledged, including
    /// one waiting for its retry (NAK with a delay).
    pub fn config(&self, ack_wait: Duration) -> pull::Config {
        let nanos = i128::from(self.start.timestamp_nanos_opt().unwrap_or_default());
        let start_time = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        pull::Config {
            durable_name: Some(fifo_consumer(self.webhook_id)),
            description: Some(format!("Herald: FIFO line of endpoint {}", self.webhook_id)),
            deliver_policy: DeliverPolicy::ByStartTime { start_time },
            ack_policy: AckPolicy::Explicit,
            ack_wait,
            max_deliver: -1,
            filter_subjects: self.filters.clone(),
            max_ack_pending: 1,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{at, id};

    #[test]
    fn a_line_is_one_message_at_a_time_on_the_endpoint_s_own_subjects() {
        let types = [
            "order.updated".to_string(),
            "order.created".to_string(),
            "order.created".to_string(),
        ];
        let spec = LineSpec::new(id(9), "acme", &types, at(100));
        assert_eq!(
            spec.filters,
            [
                "herald.events.acme.order.created",
                "herald.events.acme.order.updated"
            ]
        );
        assert_eq!(spec.start, at(98));
        let config = spec.config(Duration::from_secs(30));
        assert_eq!(config.max_ack_pending, 1);
        assert_eq!(config.max_deliver, -1);
        assert_eq!(config.ack_policy, AckPolicy::Explicit);
        assert_eq!(
            config.durable_name.as_deref(),
            Some("fifo_00000000000000000000000000000009")
        );
        let DeliverPolicy::ByStartTime { start_time } = config.deliver_policy else {
            panic!("a line starts at its endpoint's creation");
        };
        assert_eq!(start_time.unix_timestamp(), at(98).timestamp());
    }

    #[test]
    fn wildcard_subscriptions_become_subject_wildcards() {
        let types = ["order.*".to_string(), "order.created".to_string()];
        let spec = LineSpec::new(id(9), "acme", &types, at(100));
        assert_eq!(spec.filters, ["herald.events.acme.order.*"]);
        let everything = LineSpec::new(id(9), "acme", &["*".to_string()], at(100));
        assert_eq!(everything.filters, ["herald.events.acme.>"]);
    }
}
