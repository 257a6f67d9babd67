//! `/healthz` and `/metrics` of a running dispatcher.

use herald_tests::{
    create_endpoint, post_events, ApiClient, Behavior, TestAppOptions, TestReceiver, WAIT,
};
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn healthz_and_metrics_report_deliveries_attempts_and_the_consumers() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/flaky", Behavior::fail_first(1, 503));
    let mut app = app(TestAppOptions::new()).await;
    let ep = create_endpoint(
        app.api(),
        &receiver.url("/flaky"),
        &["order.created"],
        json!({}),
    )
    .await;
    app.start_dispatcher().await.expect("dispatcher");
    wait_active_endpoints(&app, 0, 1).await;
    post_events(app.api(), "order.created", 3, "m").await;
    app.wait_for_deliveries(ep.id, "delivered", 3).await;

    let api = ApiClient::new(app.dispatcher_url(0).expect("dispatcher"));
    let health = api.get("/healthz").await.expect("healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.value()["status"], "ok");
    // Consumer gauges are polled every 5 s; the first poll runs at start.
    let metrics = herald_tests::wait_for(WAIT, || async {
        let text = api.get("/metrics").await.ok()?.text();
        text.contains("herald_consumer_ack_pending").then_some(text)
    })
    .await
    .expect("metrics");
    for name in [
        "herald_deliveries_total{outcome=\"delivered\"}",
        "herald_delivery_attempts_total{result=\"2xx\"}",
        "herald_delivery_attempts_total{result=\"5xx\"}",
        "herald_delivery_attempt_duration_seconds_bucket",
        "herald_delivery_lag_seconds_bucket",
        "herald_deliveries_in_flight",
        "herald_http_pool_connections",
        "herald_fanout_events_total",
        "herald_retries_scheduled_total",
        "herald_attempt_log_flush_seconds_bucket",
        "herald_consumer_pending{consumer=\"deliver\"}",
        "herald_consumer_ack_pending{consumer=\"fanout\"}",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}:\n{metrics}");
    }
    assert!(!metrics.contains(&ep.id.to_string()), "no ids in labels");
}
