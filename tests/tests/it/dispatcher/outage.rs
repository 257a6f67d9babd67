//! Postgres going away while requests are in flight: the dispatcher holds
//! its results, acks nothing unrecorded, keeps the jobs (and the events of
//! direct first attempts) from being redelivered meanwhile, and records
//! everything once Postgres is back.

use std::time::Duration;

use herald_common::config::Secret;
use herald_common::shutdown::CancellationToken;
use herald_tests::{
    create_endpoint, post_events, ApiClient, Behavior, CuttableProxy, TestAppOptions, TestReceiver,
    WAIT,
};
use serde_json::json;
use tokio::net::TcpListener;

use super::support::*;

#[tokio::test]
async fn results_are_held_while_postgres_is_down_and_nothing_unrecorded_is_acked() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/slow", Behavior::delay(Duration::from_millis(1500)));
    let app = app(TestAppOptions::new().env("HERALD_ACK_WAIT", "5s")).await;
    let ep = create_endpoint(
        app.api(),
        &receiver.url("/slow"),
        &["order.created"],
        json!({"max_in_flight": 50}),
    )
    .await;

    // A dispatcher of our own, reaching Postgres through the proxy.
    let proxy = CuttableProxy::start().await;
    let mut config = app.config().clone();
    config.database.url = Secret::new(proxy.reroute(app.test_db().url()));
    config.dispatcher.id = "behind-proxy".into();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let health = ApiClient::new(format!("http://{}", listener.local_addr().expect("addr")));
    let token = CancellationToken::new();
    let node = tokio::spawn(herald_dispatcher::run(config, listener, token.clone()));
    herald_tests::wait_until(WAIT, || async {
        health
            .get("/healthz")
            .await
            .map(|r| r.status == 200)
            .unwrap_or(false)
    })
    .await
    .expect("dispatcher ready");

    post_events(app.api(), "order.created", 20, "outage").await;
    receiver.wait_for_requests(Some("/slow"), 20, WAIT).await;
    proxy.cut(); // the responses come 1.5 s after the requests: Postgres is gone by then

    // Longer than the ack wait: without "in progress" acks JetStream would
    // redeliver the jobs and the endpoint would get every event again.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        app.delivery_statuses(ep.id).await.get("delivered"),
        None,
        "nothing recorded during the outage"
    );
    assert_eq!(app.count("delivery_attempts").await, 0);
    // Each attempt's carrier stays unacked: its job, or for a direct first
    // attempt (docs/dispatcher.md) its event.
    let mut held = 0;
    for (stream, consumer) in [
        ("HERALD_DELIVERIES", "deliver"),
        ("HERALD_EVENTS", "fanout"),
    ] {
        let info = app.consumer_info(stream, consumer).await;
        held += info.expect("consumer").num_ack_pending;
    }
    assert_eq!(
        held, 20,
        "jobs and events are held unacked while their attempts are unrecorded"
    );
    assert_eq!(
        receiver.requests_for("/slow").len(),
        20,
        "no job was redelivered during the outage"
    );

    proxy.restore();
    app.wait_for_deliveries(ep.id, "delivered", 20).await;
    assert_eq!(app.count("delivery_attempts").await, 20);
    assert_eq!(receiver.requests_for("/slow").len(), 20);
    token.cancel();
    let stopped = tokio::time::timeout(WAIT, node)
        .await
        .expect("stops")
        .expect("task");
    assert!(stopped.is_ok(), "{stopped:?}");
}
