//! Idempotency keys: a repeat returns the first event, a reuse with another
//! payload or type is `409 idempotency_conflict`, a key older than
//! `HERALD_IDEMPOTENCY_WINDOW` makes a new event; `herald.*` types are
//! Herald's own.

use std::time::Duration;

use herald_tests::{ApiClient, ApiResponse, TestAppOptions};
use serde_json::{json, Value};

use super::support::*;

async fn post(api: &ApiClient, key: &str, event_type: &str, payload: Value) -> ApiResponse {
    api.post_json(
        "/events",
        &json!({"type": event_type, "payload": payload, "idempotency_key": key}),
    )
    .await
    .expect("POST /events")
}

#[tokio::test]
async fn a_reused_key_returns_the_first_event_or_a_conflict_and_nothing_more_is_stored() {
    let app = app().await;
    let api = app.api();
    let first = post(
        api,
        "order-1",
        "order.created",
        json!({"n": 1, "m": [1, 2]}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let id = first.value()["id"].clone();
    let cases = [
        ("order.created", json!({"m": [1, 2], "n": 1}), 200, None),
        (
            "order.created",
            json!({"n": 2, "m": [1, 2]}),
            409,
            Some("idempotency_conflict"),
        ),
        (
            "order.updated",
            json!({"n": 1, "m": [1, 2]}),
            409,
            Some("idempotency_conflict"),
        ),
    ];
    for (event_type, payload, status, error) in cases {
        let r = post(api, "order-1", event_type, payload.clone()).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{event_type} {payload}: {}",
            r.text()
        );
        match error {
            None => {
                assert_eq!(r.value()["id"], id);
                assert_eq!(r.value()["status"], "duplicate");
            }
            Some(e) => {
                assert_eq!(code(&r), e);
                assert!(r.text().contains(id.as_str().expect("id")), "{}", r.text());
            }
        }
    }
    // A batch reusing the key with another payload stores none of its events.
    let before = count(&app, "events").await;
    let r = api
        .post_json(
            "/events/batch",
            &json!({"events": [
                {"type": "order.created", "payload": {"n": 3}},
                {"type": "order.created", "payload": {"n": 9}, "idempotency_key": "order-1"},
            ]}),
        )
        .await
        .expect("batch");
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (409, "idempotency_conflict".to_string()),
        "{}",
        r.text()
    );
    assert!(r.text().contains("events[1]"), "{}", r.text());
    assert_eq!(count(&app, "events").await, before);
    // Two events with one key in a batch: the second repeats the first.
    let r = api
        .post_json(
            "/events/batch",
            &json!({"events": [
                {"type": "order.created", "payload": {"n": 5}, "idempotency_key": "twice"},
                {"type": "order.created", "payload": {"n": 5}, "idempotency_key": "twice"},
            ]}),
        )
        .await
        .expect("batch");
    assert_eq!(r.status, 201, "{}", r.text());
    let events = r.value()["events"].clone();
    assert_eq!(events[0]["id"], events[1]["id"]);
    assert_eq!(
        (events[0]["status"].as_str(), events[1]["status"].as_str()),
        (Some("created"), Some("duplicate"))
    );
    assert_eq!(count(&app, "events").await, before + 1);
}

#[tokio::test]
async fn a_key_older_than_the_window_makes_a_new_event() {
    let app = app_with(TestAppOptions::new().env("HERALD_IDEMPOTENCY_WINDOW", "1s")).await;
    let api = app.api();
    let first = post(api, "k", "order.created", json!({"n": 1})).await;
    assert_eq!(first.status, 201);
    assert_eq!(
        post(api, "k", "order.created", json!({"n": 1}))
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let again = post(api, "k", "order.created", json!({"n": 2})).await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_ne!(again.value()["id"], first.value()["id"]);
    assert_eq!(again.value()["idempotency_key"], "k");
    // The key now returns the new event.
    let repeat = post(api, "k", "order.created", json!({"n": 2})).await;
    assert_eq!(
        (repeat.status.as_u16(), repeat.value()["id"].clone()),
        (200, again.value()["id"].clone())
    );
    let old = api
        .get(&format!(
            "/events/{}",
            first.value()["id"].as_str().expect("id")
        ))
        .await
        .expect("GET");
    assert_eq!(
        old.value()["idempotency_key"],
        "k",
        "the first event keeps its key"
    );
}

#[tokio::test]
async fn herald_event_types_are_listed_but_only_herald_sends_them() {
    let app = app().await;
    let api = app.api();
    let types = api.get("/event-types").await.expect("GET").value();
    let names: Vec<&str> = types["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for t in herald_common::operational::TYPES {
        assert!(names.contains(&t), "{t} in {names:?}");
    }
    let r = api
        .post_json(
            "/events",
            &json!({"type": "herald.endpoint.disabled", "payload": {}}),
        )
        .await
        .expect("POST");
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (400, "reserved_event_type".to_string())
    );
    let r = api
        .post_json("/event-types", &json!({"name": "herald.custom"}))
        .await
        .expect("POST");
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (400, "reserved_event_type".to_string())
    );
    // Endpoints subscribe to them like to any type.
    let r = api
        .post_json(
            "/webhooks",
            &json!({"url": "http://127.0.0.1:9/ops", "event_types": ["herald.delivery.failed"], "ordering": "fifo"}),
        )
        .await
        .expect("POST /webhooks");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.value()["ordering"], "fifo");
    assert_eq!(r.value()["signature_scheme"], "hmac");
    assert_eq!(r.value()["public_key"], Value::Null);
}
