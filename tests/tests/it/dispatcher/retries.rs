//! Retries with backoff (schedule in milliseconds), failure after the last
//! attempt, `410 Gone`, and disabling an endpoint that fails too long.

use herald_tests::{
    create_endpoint, post_events, AttemptRow, Behavior, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::json;

use super::support::*;

/// (attempt number, status code) of each attempt.
fn tries(attempts: &[AttemptRow]) -> Vec<(i32, Option<i32>)> {
    attempts
        .iter()
        .map(|a| (a.attempt, a.status_code))
        .collect()
}

#[tokio::test]
async fn a_flaky_endpoint_is_retried_with_the_same_webhook_id_until_delivered() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/flaky", Behavior::fail_first(3, 500));
    // The test schedule is 50ms,100ms,200ms: four attempts in all.
    let mut app = app(TestAppOptions::new()).await;
    let url = receiver.url("/flaky");
    let flaky = create_endpoint(app.api(), &url, &["order.created"], json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");
    let order = post_events(app.api(), "order.created", 1, "flaky").await[0];

    app.wait_for_deliveries(flaky.id, "delivered", 1).await;
    let attempts = app.attempts_of(flaky.id).await;
    let fail = Some(500);
    assert_eq!(
        tries(&attempts),
        [(1, fail), (2, fail), (3, fail), (4, Some(200))]
    );
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 500"));
    let requests = receiver.requests_for("/flaky");
    assert_eq!(requests.len(), 4);
    assert!(
        event_ids(&requests).iter().all(|id| *id == order),
        "same webhook-id on every try"
    );
    let delivery = &app.deliveries_of(flaky.id).await[0];
    assert_eq!(
        (delivery.attempts, delivery.last_status_code),
        (4, Some(200))
    );
    assert_eq!(delivery.last_error, None);
    assert_eq!(delivery.next_retry_at, None);
    assert!(delivery.delivered_at.is_some());
    assert_eq!(app.endpoint_row(flaky.id).await.failing_since, None);
}

#[tokio::test]
async fn a_dead_endpoint_fails_after_the_last_attempt_and_is_marked_failing() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/dead", Behavior::status(503));
    let mut app = app(TestAppOptions::new()).await;
    let url = receiver.url("/dead");
    let dead = create_endpoint(app.api(), &url, &["user.signed_up"], json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "user.signed_up", 1, "dead").await;

    app.wait_for_deliveries(dead.id, "failed", 1).await;
    let fail = Some(503);
    let attempts = app.attempts_of(dead.id).await;
    assert_eq!(
        tries(&attempts),
        [(1, fail), (2, fail), (3, fail), (4, fail)]
    );
    let delivery = &app.deliveries_of(dead.id).await[0];
    assert_eq!(delivery.attempts, 4);
    assert_eq!(delivery.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(
        delivery.next_retry_at, None,
        "no retry after the last attempt"
    );
    assert!(app.endpoint_row(dead.id).await.failing_since.is_some());
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_fails_the_delivery_without_retrying() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/gone", Behavior::status(410));
    let mut app = app(TestAppOptions::new()).await;
    let types = &["order.created"];
    let gone = create_endpoint(app.api(), &receiver.url("/gone"), types, json!({})).await;
    let fine = create_endpoint(app.api(), &receiver.url("/fine"), types, json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "first").await;

    app.wait_for_deliveries(gone.id, "failed", 1).await;
    app.wait_for_deliveries(fine.id, "delivered", 1).await;
    let row = app.endpoint_row(gone.id).await;
    assert!(!row.active, "410 disables the endpoint");
    let reason = row.disabled_reason.unwrap_or_default();
    assert!(reason.contains("410"), "{reason}");
    assert!(row.disabled_at.is_some());
    assert_eq!(
        app.attempts_of(gone.id).await.len(),
        1,
        "no retry after 410"
    );
    let r = app.api().get(&format!("/webhooks/{}", gone.id)).await;
    assert_eq!(r.expect("GET").value()["active"], false);

    // Later events no longer reach it, while the other endpoint still gets them.
    post_events(app.api(), "order.created", 3, "later").await;
    app.wait_for_deliveries(fine.id, "delivered", 4).await;
    assert_eq!(app.deliveries_of(gone.id).await.len(), 1, "no new delivery");
    assert_eq!(receiver.requests_for("/gone").len(), 1);
}

#[tokio::test]
async fn an_endpoint_failing_for_longer_than_the_threshold_is_disabled_with_a_reason() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/down", Behavior::status(500));
    let options = TestAppOptions::new()
        .env("HERALD_AUTO_DISABLE_AFTER", "1s")
        .env("HERALD_RETRY_SCHEDULE", "1m");
    let mut app = app(options).await;
    let types = &["order.created"];
    let down = create_endpoint(app.api(), &receiver.url("/down"), types, json!({})).await;
    let up = create_endpoint(app.api(), &receiver.url("/up"), types, json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "x").await;
    app.wait_for_deliveries(up.id, "delivered", 1).await;

    herald_tests::eventually("the failing endpoint is disabled", WAIT, || async {
        !app.endpoint_row(down.id).await.active
    })
    .await;
    let reason = app.endpoint_row(down.id).await.disabled_reason;
    let reason = reason.unwrap_or_default();
    assert!(reason.contains("failed for more than 1s"), "{reason}");
    assert!(
        app.endpoint_row(up.id).await.active,
        "a healthy endpoint stays active"
    );

    // Re-enabling is an API call; the endpoint receives events again.
    receiver.set_behavior_for("/down", Behavior::ok());
    let path = format!("/webhooks/{}", down.id);
    let r = app.api().patch_json(&path, &json!({"active": true})).await;
    let r = r.expect("PATCH");
    assert_eq!(r.status, 200, "{}", r.text());
    wait_active_endpoints(&app, 0, 2).await;
    post_events(app.api(), "order.created", 1, "y").await;
    app.wait_for_deliveries(down.id, "delivered", 1).await;
}

#[tokio::test]
async fn retry_after_is_honoured_and_response_bodies_are_cut_to_the_limit() {
    let receiver = TestReceiver::start().await;
    let busy = Behavior::fail_first(1, 429)
        .with_header("retry-after", "2")
        .with_body("x".repeat(5000));
    receiver.set_behavior_for("/busy", busy);
    let mut app = app(TestAppOptions::new()).await;
    let url = receiver.url("/busy");
    let busy = create_endpoint(app.api(), &url, &["order.created"], json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1, "busy").await;
    app.wait_for_deliveries(busy.id, "delivered", 1).await;

    let attempts = app.attempts_of(busy.id).await;
    assert_eq!(tries(&attempts), [(1, Some(429)), (2, Some(200))]);
    for a in &attempts {
        let kept = a.response_body.as_deref().map(str::len);
        assert_eq!(kept, Some(1024), "HERALD_RESPONSE_BODY_LIMIT is 1 KiB");
    }
    // The schedule says 50 ms; the endpoint asked for 2 s.
    let waited = attempts[1].started_at - attempts[0].started_at;
    assert!(
        waited >= chrono::Duration::milliseconds(1900),
        "retried after {waited}"
    );
}
