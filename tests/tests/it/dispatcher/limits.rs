//! The per-endpoint rate limit, and connection reuse by the pooled client.

use std::time::Duration;

use herald_tests::{
    create_endpoint, post_events, ReceivedRequest, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::json;

use super::support::*;

fn spread(requests: &[ReceivedRequest]) -> Duration {
    let first = requests
        .iter()
        .map(|r| r.received_at)
        .min()
        .expect("requests");
    let last = requests
        .iter()
        .map(|r| r.received_at)
        .max()
        .expect("requests");
    last - first
}

/// The most requests that arrived within any one second.
fn busiest_second(requests: &[ReceivedRequest]) -> usize {
    let mut times: Vec<_> = requests.iter().map(|r| r.received_at).collect();
    times.sort();
    let mut best = 0;
    for (i, t) in times.iter().enumerate() {
        let n = times[i..]
            .iter()
            .take_while(|u| **u - *t < Duration::from_secs(1))
            .count();
        best = best.max(n);
    }
    best
}

#[tokio::test]
async fn a_rate_limited_endpoint_is_paced_while_another_is_served_at_full_speed() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let limited = create_endpoint(
        app.api(),
        &receiver.url("/limited"),
        &["order.created"],
        json!({"rate_limit_per_second": 20}),
    )
    .await;
    let free = create_endpoint(
        app.api(),
        &receiver.url("/free"),
        &["user.signed_up"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");

    post_events(app.api(), "order.created", 200, "limited").await;
    post_events(app.api(), "user.signed_up", 200, "free").await;
    let free_got = receiver.wait_for_requests(Some("/free"), 200, WAIT).await;
    let limited_got = receiver
        .wait_for_requests(Some("/limited"), 200, WAIT)
        .await;
    app.wait_for_deliveries(limited.id, "delivered", 200).await;
    app.wait_for_deliveries(free.id, "delivered", 200).await;

    let (limited_spread, free_spread) = (spread(&limited_got), spread(&free_got));
    let free_last = free_got.iter().map(|r| r.received_at).max().expect("free");
    let limited_last = limited_got
        .iter()
        .map(|r| r.received_at)
        .max()
        .expect("limited");
    println!(
        "rate limit: 200 events at 20/s spread over {limited_spread:?} (busiest second: {}); \
         the unlimited endpoint's 200 over {free_spread:?}",
        busiest_second(&limited_got)
    );
    assert!(
        limited_spread >= Duration::from_millis(8500),
        "only {limited_spread:?}"
    );
    assert!(
        free_last < limited_last,
        "the unlimited endpoint waited for the limited one"
    );
    assert_eq!(duplicates(&limited_got), 0);
    assert_eq!(duplicates(&free_got), 0);
}

#[tokio::test]
async fn a_thousand_deliveries_to_one_endpoint_reuse_a_handful_of_connections() {
    let receiver = TestReceiver::start().await;
    let mut app = app(TestAppOptions::new()).await;
    let ep = create_endpoint(
        app.api(),
        &receiver.url("/pooled"),
        &["order.created"],
        json!({"max_in_flight": 4}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    post_events(app.api(), "order.created", 1000, "pool").await;
    app.wait_for_deliveries(ep.id, "delivered", 1000).await;
    let connections = receiver.connection_count();
    println!("connection reuse: 1000 deliveries over {connections} TCP connections");
    assert_eq!(receiver.requests_for("/pooled").len(), 1000);
    assert!(
        connections <= 8,
        "{connections} connections for 1000 deliveries"
    );
}
