//! A dead endpoint must not starve healthy ones, even with a small
//! ack-pending window and long retry delays.

use std::time::{Duration, Instant};

use herald_tests::{
    create_endpoint, post_events, Behavior, Endpoint, TestApp, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::json;

use super::support::*;

/// `options` with a small ack-pending window (32) and retries a minute away;
/// an endpoint on the receiver's `bad` path for `order.created`, a healthy one
/// on `/ok` for `user.signed_up`, then a dispatcher.
async fn bad_and_healthy(
    receiver: &TestReceiver,
    bad: &str,
    options: TestAppOptions,
) -> (TestApp, Endpoint, Endpoint) {
    let mut app = app(options
        .env("HERALD_DELIVER_MAX_ACK_PENDING", "32")
        .env("HERALD_RETRY_SCHEDULE", "1m"))
    .await;
    let api = app.api().clone();
    let bad = create_endpoint(&api, &receiver.url(bad), &["order.created"], json!({})).await;
    let healthy = create_endpoint(&api, &receiver.url("/ok"), &["user.signed_up"], json!({})).await;
    app.start_dispatcher().await.expect("dispatcher");
    (app, bad, healthy)
}

#[tokio::test]
async fn a_dead_endpoint_with_a_thousand_retrying_deliveries_does_not_delay_a_healthy_one() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/dead", Behavior::status(500));
    let (app, dead, healthy) = bad_and_healthy(&receiver, "/dead", TestAppOptions::new()).await;

    let started = Instant::now();
    // The dead endpoint's jobs go first, so the healthy ones queue behind them.
    post_events(app.api(), "order.created", 1000, "dead").await;
    post_events(app.api(), "user.signed_up", 500, "ok").await;

    let healthy_got = receiver.wait_for_requests(Some("/ok"), 500, WAIT).await;
    let healthy_done = started.elapsed();
    let dead_so_far = receiver.requests_for("/dead");
    // Causal proof that no retry was due yet: no event reached the dead endpoint twice.
    assert_eq!(
        duplicates(&dead_so_far),
        0,
        "a retry happened before the healthy endpoint was served"
    );
    assert_eq!(duplicates(&healthy_got), 0);
    app.wait_for_deliveries(dead.id, "retrying", 1000).await;
    app.wait_for_deliveries(healthy.id, "delivered", 500).await;
    let all_failed_once = started.elapsed();
    assert_eq!(
        duplicates(&receiver.requests_for("/dead")),
        0,
        "retries are a minute away"
    );
    // The first retry is due 48 s (1 min - 20% jitter) after the first failure.
    assert!(
        healthy_done < Duration::from_secs(45),
        "the healthy endpoint took {healthy_done:?}"
    );
    println!(
        "isolation: healthy endpoint had all 500 events after {healthy_done:?} \
         (dead endpoint had {} of 1000 first attempts then); 1000 retrying after {all_failed_once:?}",
        dead_so_far.len()
    );
}

#[tokio::test]
async fn a_hanging_endpoint_does_not_hold_the_window_against_a_healthy_one() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/hang", Behavior::hang());
    let options = TestAppOptions::new().env("HERALD_DELIVERY_TIMEOUT", "2s");
    let (app, hanging, healthy) = bad_and_healthy(&receiver, "/hang", options).await;

    let started = Instant::now();
    post_events(app.api(), "order.created", 200, "hang").await;
    post_events(app.api(), "user.signed_up", 200, "ok").await;
    receiver.wait_for_requests(Some("/ok"), 200, WAIT).await;
    let healthy_done = started.elapsed();
    // 16 requests at a time, 2 s each: the hanging endpoint needs 25 s for
    // its first attempts, and it is still far from done.
    let hanging_attempts = app.attempts_of(hanging.id).await.len();
    let deliveries = app.deliveries_of(hanging.id).await;
    let parked: i32 = deliveries.iter().map(|d| d.parked).sum();
    println!(
        "hanging endpoint: healthy endpoint had its 200 events after {healthy_done:?}; \
         the hanging one had {hanging_attempts} attempts recorded, {parked} parkings"
    );
    assert!(
        hanging_attempts < 200,
        "the healthy endpoint waited for the hanging one"
    );
    app.wait_for_deliveries(healthy.id, "delivered", 200).await;
}
