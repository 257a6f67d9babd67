//! Per-endpoint retry policy: its own schedule, no retries of 4xx when
//! asked (but 408/409/425/429 still), and `Retry-After` honoured only on
//! 429 and 503.

use herald_tests::{
    create_endpoint, post_events, Behavior, TestApp, TestAppOptions, TestReceiver, UNREACHABLE_URL,
};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

/// Status codes of an endpoint's attempts, in order.
async fn codes(app: &TestApp, webhook: Uuid) -> Vec<Option<i32>> {
    let attempts = app.attempts_of(webhook).await;
    attempts.iter().map(|a| a.status_code).collect()
}

#[tokio::test]
async fn each_endpoint_retries_by_its_own_schedule_and_4xx_policy() {
    let receiver = TestReceiver::start().await;
    // The global test schedule (50ms,100ms,200ms) makes four attempts.
    let mut app = app(TestAppOptions::new()).await;
    let own_schedule = json!({"retry_schedule": ["10ms", "20ms", "30ms", "40ms", "50ms"]});
    let no_4xx = json!({"retry_on_4xx": false});
    let mut endpoints = Vec::new();
    for (path, status, policy) in [
        ("/own", 503, own_schedule),
        ("/no4xx", 404, no_4xx.clone()),
        ("/busy", 429, no_4xx),
        ("/default4xx", 404, json!({})),
    ] {
        receiver.set_behavior_for(path, Behavior::status(status));
        let url = receiver.url(path);
        endpoints.push(
            create_endpoint(app.api(), &url, &["order.created"], policy)
                .await
                .id,
        );
    }
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "x").await;

    for id in &endpoints {
        app.wait_for_deliveries(*id, "failed", 1).await;
    }
    let [own, no4xx, busy, default4xx] = endpoints[..] else {
        unreachable!("four endpoints")
    };
    let (s503, s404, s429) = (Some(503), Some(404), Some(429));
    assert_eq!(
        codes(&app, own).await,
        [s503; 6],
        "its own schedule: 6 attempts"
    );
    assert_eq!(codes(&app, no4xx).await, [s404], "a 404 is not retried");
    assert_eq!(codes(&app, busy).await, [s429; 4], "429 is always retried");
    assert_eq!(
        codes(&app, default4xx).await,
        [s404; 4],
        "by default 4xx is retried"
    );
}

#[tokio::test]
async fn an_endpoint_shows_its_retry_policy_and_a_patch_returns_it_to_the_global_one() {
    let app = app(TestAppOptions::new()).await;
    let policy = json!({"retry_schedule": ["10ms", "20ms"], "retry_on_4xx": true});
    let id = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], policy)
        .await
        .id;
    let path = format!("/webhooks/{id}");
    let shown = app.api().get(&path).await.expect("GET").value();
    assert_eq!(shown["retry_schedule"], json!(["10ms", "20ms"]));
    assert_eq!(shown["retry_on_4xx"], true);
    let global = json!({"retry_schedule": null, "retry_on_4xx": false});
    let r = app.api().patch_json(&path, &global).await.expect("PATCH");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.value()["retry_schedule"], serde_json::Value::Null);
    assert_eq!(r.value()["retry_on_4xx"], false);
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
    let e500 = create_endpoint(
        app.api(),
        &receiver.url("/500"),
        &["order.created"],
        json!({}),
    )
    .await;
    let e503 = create_endpoint(
        app.api(),
        &receiver.url("/503"),
        &["order.created"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "x").await;
    app.wait_for_deliveries(e500.id, "delivered", 1).await;
    app.wait_for_deliveries(e503.id, "delivered", 1).await;
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
