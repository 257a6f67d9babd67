//! Idempotency keys: a repeat returns the first event, a reuse with another
//! payload or type is `409 idempotency_conflict`, a key older than
//! `HERALD_IDEMPOTENCY_WINDOW` makes a new event; `herald.*` types are
//! Herald's own.

use herald_tests::{ApiClient, ApiResponse, TestAppOptions, UNREACHABLE_URL};
use serde_json::{json, Value};

use super::support::*;

async fn post_keyed(api: &ApiClient, key: &str, event_type: &str, payload: Value) -> ApiResponse {
    let body = json!({"type": event_type, "payload": payload, "idempotency_key": key});
    post(api, &body).await
}

async fn post_batch(api: &ApiClient, events: Value) -> ApiResponse {
    let body = json!({ "events": events });
    api.post_json("/events/batch", &body)
        .await
        .expect("POST /events/batch")
}

#[tokio::test]
async fn a_repeat_returns_the_first_event_and_another_payload_or_type_is_a_conflict() {
    let app = app().await;
    let api = app.api();
    let first = post_keyed(
        api,
        "order-1",
        "order.created",
        json!({"n": 1, "m": [1, 2]}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let id = first.uuid("id").to_string();

    // The same payload, its keys in another order: the first event again.
    let repeat = post_keyed(
        api,
        "order-1",
        "order.created",
        json!({"m": [1, 2], "n": 1}),
    )
    .await;
    assert_eq!(repeat.status, 200, "{}", repeat.text());
    assert_eq!(repeat.value()["id"], id);
    assert_eq!(repeat.value()["status"], "duplicate");
    for (event_type, payload) in [
        ("order.created", json!({"n": 2, "m": [1, 2]})),
        ("order.updated", json!({"n": 1, "m": [1, 2]})),
    ] {
        let r = post_keyed(api, "order-1", event_type, payload.clone()).await;
        let got = (r.status.as_u16(), r.error_code());
        assert_eq!(
            got,
            (409, "idempotency_conflict".into()),
            "{event_type} {payload}"
        );
        assert!(
            r.text().contains(&id),
            "the conflict names the first event: {}",
            r.text()
        );
    }
    assert_eq!(app.count("events").await, 1);
}

#[tokio::test]
async fn a_batch_reusing_a_key_with_another_payload_stores_none_of_its_events() {
    let app = app().await;
    let first = post_keyed(app.api(), "order-1", "order.created", json!({"n": 1})).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let events = json!([
        {"type": "order.created", "payload": {"n": 3}},
        {"type": "order.created", "payload": {"n": 9}, "idempotency_key": "order-1"},
    ]);
    let r = post_batch(app.api(), events).await;
    let got = (r.status.as_u16(), r.error_code());
    assert_eq!(got, (409, "idempotency_conflict".into()), "{}", r.text());
    assert!(r.text().contains("events[1]"), "{}", r.text());
    assert_eq!(app.count("events").await, 1);
}

#[tokio::test]
async fn two_events_with_one_key_in_a_batch_make_one_event() {
    let app = app().await;
    let twice = json!({"type": "order.created", "payload": {"n": 5}, "idempotency_key": "twice"});
    let r = post_batch(app.api(), json!([twice, twice])).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let events = r.value()["events"].clone();
    assert_eq!(events[0]["id"], events[1]["id"]);
    let statuses = (events[0]["status"].as_str(), events[1]["status"].as_str());
    assert_eq!(statuses, (Some("created"), Some("duplicate")));
    assert_eq!(app.count("events").await, 1);
}

#[tokio::test]
async fn a_key_older_than_the_window_makes_a_new_event() {
    let app = app_with(TestAppOptions::new().env("HERALD_IDEMPOTENCY_WINDOW", "1h")).await;
    let api = app.api();
    let first = post_keyed(api, "k", "order.created", json!({"n": 1})).await;
    assert_eq!(first.status, 201);
    let repeat = post_keyed(api, "k", "order.created", json!({"n": 1})).await;
    assert_eq!(repeat.status, 200, "within the window");
    // Two hours pass for the key.
    app.db()
        .execute(
            "UPDATE idempotency_keys SET created_at = created_at - interval '2 hours'",
            &[],
        )
        .await
        .expect("age the key");
    let again = post_keyed(api, "k", "order.created", json!({"n": 2})).await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_ne!(again.uuid("id"), first.uuid("id"));
    assert_eq!(again.value()["idempotency_key"], "k");
    // The key now returns the new event.
    let repeat = post_keyed(api, "k", "order.created", json!({"n": 2})).await;
    assert_eq!(repeat.status, 200);
    assert_eq!(repeat.uuid("id"), again.uuid("id"));
    let old = api.get(&format!("/events/{}", first.uuid("id"))).await;
    let old = old.expect("GET").value();
    assert_eq!(old["idempotency_key"], "k", "the first event keeps its key");
}

#[tokio::test]
async fn herald_event_types_are_listed_and_endpoints_subscribe_to_them() {
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
    // Only Herald sends them (the 4xx matrix); endpoints subscribe to them
    // like to any type.
    let body = json!({"url": UNREACHABLE_URL, "event_types": ["herald.delivery.failed"], "ordering": "fifo"});
    let r = api
        .post_json("/webhooks", &body)
        .await
        .expect("POST /webhooks");
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.value()["ordering"], "fifo");
    assert_eq!(r.value()["signature_scheme"], "hmac");
    assert_eq!(r.value()["public_key"], Value::Null);
}
