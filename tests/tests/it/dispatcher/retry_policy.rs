//! Per-endpoint retry policy: its own schedule, no retries of 4xx when
//! asked (but 408/409/425/429 still), and `Retry-After` honoured only on
//! 429 and 503.

use herald_tests::{Behavior, TestAppOptions, TestReceiver};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

/// Status codes of a delivery's attempts, in order.
async fn codes(app: &herald_tests::TestApp, webhook: Uuid) -> Vec<Option<i32>> {
    app.db()
        .query(
            "SELECT a.status_code FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
             WHERE d.webhook_id = $1 ORDER BY a.attempt",
            &[&webhook],
        )
        .await
        .expect("attempts")
        .iter()
        .map(|r| r.try_get("status_code").expect("status_code"))
        .collect()
}

#[tokio::test]
async fn each_endpoint_retries_by_its_own_schedule_and_4xx_policy() {
    let receiver = TestReceiver::start().await;
    for (path, status) in [
        ("/own", 503),
        ("/no4xx", 404),
        ("/busy", 429),
        ("/default4xx", 404),
    ] {
        receiver.set_behavior_for(path, Behavior::status(status));
    }
    // The global test schedule (50ms,100ms,200ms) makes four attempts.
    let mut app = app(TestAppOptions::new()).await;
    let api = app.api().clone();
    let types = &["order.created"];
    let own = endpoint(
        &api,
        receiver.url("/own"),
        types,
        json!({"retry_schedule": ["10ms", "20ms", "30ms", "40ms", "50ms"]}),
    )
    .await;
    let no4xx = endpoint(
        &api,
        receiver.url("/no4xx"),
        types,
        json!({"retry_on_4xx": false}),
    )
    .await;
    let busy = endpoint(
        &api,
        receiver.url("/busy"),
        types,
        json!({"retry_on_4xx": false}),
    )
    .await;
    let default4xx = endpoint(&api, receiver.url("/default4xx"), types, json!({})).await;
    let shown = api
        .get(&format!("/webhooks/{}", own.id))
        .await
        .expect("GET")
        .value();
    assert_eq!(
        shown["retry_schedule"],
        json!(["10ms", "20ms", "30ms", "40ms", "50ms"])
    );
    assert_eq!(shown["retry_on_4xx"], true);
    app.start_dispatcher().await.expect("dispatcher");
    post_events(&api, "order.created", 1, "x").await;

    for e in [&own, &no4xx, &busy, &default4xx] {
        wait_status(&app, e.id, "failed", 1).await;
    }
    assert_eq!(
        codes(&app, own.id).await,
        vec![Some(503); 6],
        "its own schedule: 6 attempts"
    );
    assert_eq!(
        codes(&app, no4xx.id).await,
        [Some(404)],
        "a 404 is not retried"
    );
    assert_eq!(
        codes(&app, busy.id).await,
        vec![Some(429); 4],
        "429 is always retried"
    );
    assert_eq!(
        codes(&app, default4xx.id).await,
        vec![Some(404); 4],
        "by default 4xx is retried"
    );

    // Back to the global schedule.
    let r = api
        .patch_json(
            &format!("/webhooks/{}", own.id),
            &json!({"retry_schedule": null, "retry_on_4xx": false}),
        )
        .await
        .expect("PATCH");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.value()["retry_schedule"], serde_json::Value::Null);
    assert_eq!(r.value()["retry_on_4xx"], false);
    let r = api
        .patch_json(
            &format!("/webhooks/{}", own.id),
            &json!({"retry_schedule": ["soon"]}),
        )
        .await
        .expect("PATCH");
    assert_eq!(
        (r.status.as_u16(), r.value()["error"]["code"].as_str()),
        (400, Some("invalid_retry_schedule"))
    );
}

#[tokio::test]
async fn retry_after_is_honoured_on_503_and_ignored_on_500() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for(
        "/500",
        Behavior::fail_first(1, 500).with_header("retry-after", "3"),
    );
    receiver.set_behavior_for(
        "/503",
        Behavior::fail_first(1, 503).with_header("retry-after", "2"),
    );
    let mut app = app(TestAppOptions::new()).await;
    let e500 = endpoint(
        app.api(),
        receiver.url("/500"),
        &["order.created"],
        json!({}),
    )
    .await;
    let e503 = endpoint(
        app.api(),
        receiver.url("/503"),
        &["order.created"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "x").await;
    wait_status(&app, e500.id, "delivered", 1).await;
    wait_status(&app, e503.id, "delivered", 1).await;
    let gap = |path: &str| {
        let r = receiver.requests_for(path);
        assert_eq!(r.len(), 2, "{path}");
        r[1].received_at - r[0].received_at
    };
    let (g500, g503) = (gap("/500"), gap("/503"));
    println!("retry after a 500 with Retry-After: 3: {g500:?}; after a 503 with Retry-After: 2: {g503:?}");
    assert!(
        g500.as_secs_f64() < 1.5,
        "the schedule (50 ms), not Retry-After: {g500:?}"
    );
    assert!(g503.as_secs_f64() >= 1.9, "Retry-After honoured: {g503:?}");
}
