use super::*;
use crate::attempt_log::AttemptRecord;
use crate::fixtures::{at, id};
use herald_common::domain::DeliveryStatus;
use herald_common::operational::{
    DELIVERY_FAILED, DELIVERY_RECOVERED, ENDPOINT_DISABLED, ENDPOINT_FAILING, ENDPOINT_RECOVERED,
};
use std::time::Duration;

fn attempt(delivery: u128, event_type: &str, status: DeliveryStatus) -> Record {
    Record::Attempt(Box::new(AttemptRecord {
        delivery_id: id(delivery),
        webhook_id: id(2),
        tenant_id: "acme".into(),
        event_id: id(100 + delivery),
        event_type: event_type.into(),
        attempt: 4,
        started_at: at(10),
        duration: Duration::from_secs(1),
        status_code: Some(503),
        error: Some("HTTP 503".into()),
        response_body: None,
        headers: None,
        status,
        next_retry_at: None,
        disable_reason: None,
    }))
}

fn transition(delivery: u128, delivered: bool) -> Transition {
    Transition {
        delivery_id: id(delivery),
        delivered,
        failed_at: at(5),
    }
}

#[test]
fn delivery_transitions_become_events_except_for_herald_events_and_failures_without_attempts() {
    let records = [
        attempt(1, "order.created", DeliveryStatus::Failed),
        attempt(2, "order.created", DeliveryStatus::Delivered),
        attempt(3, "herald.delivery.failed", DeliveryStatus::Failed),
        attempt(4, "herald.endpoint.disabled", DeliveryStatus::Delivered),
        Record::Fail {
            delivery_id: id(5),
            reason: "endpoint is disabled".into(),
        },
    ];
    let transitions = [
        transition(1, false),
        transition(2, true),
        transition(3, false),
        transition(4, true),
        transition(5, false),
        transition(6, false), // no record in this batch
    ];
    let events = deliveries(&transitions, &records);
    let got: Vec<(&str, serde_json::Value)> = events
        .iter()
        .map(|e| (e.event_type, e.payload["delivery_id"].clone()))
        .collect();
    assert_eq!(
        got,
        [
            (DELIVERY_FAILED, serde_json::json!(id(1))),
            (DELIVERY_RECOVERED, serde_json::json!(id(2)))
        ]
    );
    let failed = &events[0];
    assert_eq!(failed.tenant_id, "acme");
    assert_eq!(failed.payload["endpoint_id"], serde_json::json!(id(2)));
    assert_eq!(failed.payload["event_id"], serde_json::json!(id(101)));
    assert_eq!(failed.payload["event_type"], "order.created");
    assert_eq!(failed.payload["attempts"], 4);
    assert_eq!(failed.payload["status_code"], 503);
    assert_eq!(failed.payload["error"], "HTTP 503");
}

#[test]
fn endpoint_transitions_become_one_event_each() {
    let gone = Disabled {
        webhook_id: id(7),
        tenant_id: "acme".into(),
        reason: Some("the endpoint answered 410 Gone".into()),
        at: at(1),
        failing_since: None,
    };
    let ops = disabled(&[gone], DisabledBy::Gone);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].event_type, ENDPOINT_DISABLED);
    assert_eq!(ops[0].payload["reason"], "gone");
    assert_eq!(ops[0].payload["status_code"], 410);
    let period = FailurePeriod {
        webhook_id: id(7),
        tenant_id: "acme".into(),
        since: at(0),
        at: at(60),
    };
    let f = failing(std::slice::from_ref(&period));
    let r = recovered(&[period]);
    assert_eq!(
        (f[0].event_type, r[0].event_type),
        (ENDPOINT_FAILING, ENDPOINT_RECOVERED)
    );
    assert_eq!(f[0].payload["failing_since"], serde_json::json!(at(0)));
    let row = new_event(f[0].clone(), at(61));
    assert_eq!(
        (row.tenant_id.as_str(), row.event_type.as_str()),
        ("acme", ENDPOINT_FAILING)
    );
    let payload: serde_json::Value = serde_json::from_str(&row.payload).expect("json");
    assert_eq!(payload, f[0].payload);
}
