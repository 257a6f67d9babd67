//! Operational webhooks: `herald.endpoint.disabled` after a 410 and after
//! the failing threshold, `herald.delivery.failed` after the last attempt,
//! `herald.endpoint.failing` then `.recovered`, `herald.delivery.recovered`
//! after a re-send, each once with two dispatchers, signed and verifiable;
//! an operational endpoint that fails does not feed itself.

use std::time::Duration;

use herald_tests::{Behavior, ReceivedRequest, TestApp, TestAppOptions, TestReceiver};
use serde_json::{json, Value};
use uuid::Uuid;

use super::support::*;

const ALL_OPERATIONAL: [&str; 6] = [
    "herald.endpoint.disabled",
    "herald.endpoint.enabled",
    "herald.endpoint.failing",
    "herald.endpoint.recovered",
    "herald.delivery.failed",
    "herald.delivery.recovered",
];

/// The payloads of stored events of `event_type` about `webhook`.
async fn stored(app: &TestApp, event_type: &str, webhook: Uuid) -> Vec<Value> {
    app.db()
        .query(
            "SELECT payload FROM events WHERE event_type = $1
             AND payload::jsonb->>'endpoint_id' = $2 ORDER BY id",
            &[&event_type, &webhook.to_string()],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| serde_json::from_str(r.try_get("payload").expect("payload")).expect("json"))
        .collect()
}

/// Wait until `/ops` received `event_type` about `webhook`; its payload.
async fn received(receiver: &TestReceiver, event_type: &str, webhook: Uuid) -> Value {
    let found = herald_tests::wait_for(WAIT, || async {
        receiver
            .requests_for("/ops")
            .iter()
            .map(ReceivedRequest::json)
            .find(|v| v["type"] == event_type && v["data"]["endpoint_id"] == webhook.to_string())
            .map(|v| v["data"].clone())
    })
    .await;
    found.unwrap_or_else(|_| panic!("/ops never received {event_type} about {webhook}"))
}

#[tokio::test]
async fn operational_events_report_each_transition_once_signed_and_never_loop() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/gone", Behavior::status(410));
    receiver.set_behavior_for("/dead", Behavior::status(500));
    receiver.set_behavior_for("/flaky", Behavior::fail_first(1, 500));
    receiver.set_behavior_for("/late", Behavior::status(500));
    receiver.set_behavior_for("/ops-down", Behavior::status(500));
    let mut app = app(TestAppOptions::new()
        .env("HERALD_ENDPOINT_FAILING_AFTER", "1s")
        .env("HERALD_AUTO_DISABLE_AFTER", "6s"))
    .await;
    let api = app.api().clone();
    let ops = endpoint(&api, receiver.url("/ops"), &ALL_OPERATIONAL, json!({})).await;
    let ops_down = endpoint(
        &api,
        receiver.url("/ops-down"),
        &["herald.delivery.failed"],
        json!({"retry_schedule": ["20ms"]}),
    )
    .await;
    let types = &["order.created"];
    let gone = endpoint(&api, receiver.url("/gone"), types, json!({})).await;
    let dead = endpoint(
        &api,
        receiver.url("/dead"),
        types,
        json!({"retry_schedule": ["20ms", "20ms"]}),
    )
    .await;
    let flaky = endpoint(
        &api,
        receiver.url("/flaky"),
        types,
        json!({"retry_schedule": ["3s"]}),
    )
    .await;
    let late = endpoint(
        &api,
        receiver.url("/late"),
        types,
        json!({"retry_schedule": ["20ms"]}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher 0");
    app.start_dispatcher().await.expect("dispatcher 1");
    post_events(&api, "order.created", 1, "x").await;

    let disabled = received(&receiver, "herald.endpoint.disabled", gone.id).await;
    assert_eq!(
        (
            disabled["reason"].as_str(),
            disabled["status_code"].as_i64()
        ),
        (Some("gone"), Some(410))
    );
    let failed = received(&receiver, "herald.delivery.failed", dead.id).await;
    assert_eq!(failed["attempts"], 3, "{failed}");
    assert_eq!(failed["status_code"], 500);
    assert_eq!(failed["event_type"], "order.created");
    let failing = received(&receiver, "herald.endpoint.failing", flaky.id).await;
    assert!(failing["failing_since"].is_string(), "{failing}");
    received(&receiver, "herald.endpoint.recovered", flaky.id).await;

    // A failed delivery sent again and delivered.
    received(&receiver, "herald.delivery.failed", late.id).await;
    receiver.set_behavior_for("/late", Behavior::ok());
    let delivery: Uuid = app
        .db()
        .query_one(
            "SELECT id FROM deliveries WHERE webhook_id = $1",
            &[&late.id],
        )
        .await
        .expect("delivery")
        .try_get("id")
        .expect("id");
    let r = api
        .post_json(&format!("/deliveries/{delivery}/retry"), &json!({}))
        .await
        .expect("retry");
    assert_eq!(r.status, 202, "{}", r.text());
    let recovered = received(&receiver, "herald.delivery.recovered", late.id).await;
    assert_eq!(recovered["delivery_id"], delivery.to_string());

    let auto = received(&receiver, "herald.endpoint.disabled", dead.id).await;
    assert_eq!(auto["reason"], "failing", "{auto}");
    assert!(auto["failing_since"].is_string());

    // Enabled again through the API.
    let r = api
        .patch_json(&format!("/webhooks/{}", gone.id), &json!({"active": true}))
        .await
        .expect("PATCH");
    assert_eq!(r.status, 200, "{}", r.text());
    received(&receiver, "herald.endpoint.enabled", gone.id).await;

    // Settle, then: each transition once (two dispatchers), every request signed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let once = [
        ("herald.endpoint.disabled", gone.id),
        ("herald.delivery.failed", dead.id),
        ("herald.endpoint.failing", flaky.id),
        ("herald.endpoint.recovered", flaky.id),
        ("herald.delivery.failed", late.id),
        ("herald.delivery.recovered", late.id),
        ("herald.endpoint.enabled", gone.id),
    ];
    for (event_type, webhook) in once {
        assert_eq!(
            stored(&app, event_type, webhook).await.len(),
            1,
            "{event_type} about {webhook}"
        );
    }
    assert_eq!(
        stored(&app, "herald.endpoint.disabled", dead.id)
            .await
            .len(),
        1
    );
    let now = chrono::Utc::now().timestamp();
    let ops_requests = receiver.requests_for("/ops");
    for req in &ops_requests {
        let h = |n| req.header(n).expect(n);
        herald_common::verify(
            &ops.secret,
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
            &req.body,
            now,
        )
        .expect("operational events are signed like any");
    }
    // The failing operational endpoint got the delivery.failed events and
    // failed them; none of those failures made another event.
    let loops: Vec<Value> = stored(&app, "herald.delivery.failed", ops_down.id).await;
    assert!(loops.is_empty(), "{loops:?}");
    let failed_events: Vec<String> = app
        .db()
        .query(
            "SELECT payload::jsonb->>'event_type' AS t FROM events WHERE event_type = 'herald.delivery.failed'",
            &[],
        )
        .await
        .expect("events")
        .iter()
        .map(|r| r.try_get("t").expect("t"))
        .collect();
    // gone (410), dead and late: nothing about deliveries of herald.* events.
    assert_eq!(failed_events, ["order.created"; 3], "{failed_events:?}");
    let tried = receiver.requests_for("/ops-down").len();
    assert!(tried >= 2, "/ops-down got {tried} requests");
    println!("operational: /ops received {} signed events; /ops-down failed {tried} requests without a loop", ops_requests.len());
}
