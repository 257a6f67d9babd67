//! Direct first attempts (`HERALD_DIRECT_FIRST_ATTEMPT`): fan-out sends a new
//! delivery's first request itself when its endpoint has room, and its event
//! carries the delivery until the attempt is recorded.

use std::collections::HashSet;
use std::time::Duration;

use herald_common::subjects::{DELIVERIES_STREAM, EVENTS_STREAM, FANOUT_CONSUMER};
use herald_tests::{
    create_endpoint, post_events, ApiClient, Behavior, HeraldProcess, TestApp, TestAppOptions,
    TestReceiver, WAIT,
};
use serde_json::json;

use super::support::*;

/// Jobs ever stored in `HERALD_DELIVERIES` (its last sequence: the stream
/// removes a job once it is acked).
async fn jobs_stored(app: &TestApp) -> u64 {
    let mut stream = app
        .jetstream()
        .get_stream(DELIVERIES_STREAM)
        .await
        .expect("HERALD_DELIVERIES");
    stream
        .info()
        .await
        .expect("stream info")
        .state
        .last_sequence
}

/// `herald_direct_attempts_total` of a dispatcher process (its own
/// metrics: in-process dispatchers share the test binary's recorder).
async fn direct_attempts(node: &HeraldProcess) -> u64 {
    let api = ApiClient::new(node.url());
    let text = api.get("/metrics").await.expect("/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix("herald_direct_attempts_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

#[tokio::test]
async fn first_attempts_skip_the_job_stream_unless_turned_off() {
    const EVENTS: usize = 10;
    // (setting, jobs stored, direct attempts)
    for (direct, jobs, started) in [("true", 0, EVENTS as u64), ("false", EVENTS as u64, 0)] {
        let receiver = TestReceiver::start().await;
        let options = TestAppOptions::new()
            .env("HERALD_DIRECT_FIRST_ATTEMPT", direct)
            .env("HERALD_ENDPOINT_MAX_IN_FLIGHT", "64");
        let app = app(options).await;
        let ep = create_endpoint(
            app.api(),
            &receiver.url("/a"),
            &["order.created"],
            json!({}),
        )
        .await;
        let node = dispatcher(&app, "direct").await;
        let events = post_events(app.api(), "order.created", EVENTS, "direct").await;
        app.wait_for_deliveries(ep.id, "delivered", EVENTS as i64)
            .await;
        app.wait_until_idle().await;

        let got: HashSet<_> = event_ids(&receiver.requests()).into_iter().collect();
        assert_eq!(got, events.iter().copied().collect(), "direct={direct}");
        assert_eq!(duplicates(&receiver.requests()), 0, "direct={direct}");
        assert_eq!(app.count("delivery_attempts").await, EVENTS as i64);
        assert_eq!(
            jobs_stored(&app).await,
            jobs,
            "jobs stored, direct={direct}"
        );
        assert_eq!(direct_attempts(&node).await, started, "direct={direct}");
    }
}

#[tokio::test]
async fn a_kill_9_during_direct_attempts_returns_their_events_and_jobs_deliver_them() {
    const EVENTS: usize = 5;
    let receiver = TestReceiver::start().await;
    receiver.set_behavior(Behavior::hang());
    let app = app(TestAppOptions::new().env("HERALD_ACK_WAIT", "5s")).await;
    let ep = create_endpoint(
        app.api(),
        &receiver.url("/a"),
        &["order.created"],
        json!({}),
    )
    .await;
    let mut victim = dispatcher(&app, "victim").await;
    let events = post_events(app.api(), "order.created", EVENTS, "kill").await;
    // Every first attempt is under way (the receiver holds them), no job exists.
    receiver.wait_for_requests(None, EVENTS, WAIT).await;
    assert_eq!(
        jobs_stored(&app).await,
        0,
        "first attempts went through jobs"
    );
    victim.kill9();
    let before_kill = receiver.request_count();

    receiver.set_behavior(Behavior::ok());
    let _survivor = dispatcher(&app, "survivor").await;
    app.wait_for_deliveries(ep.id, "delivered", EVENTS as i64)
        .await;
    // Every event was sent again after the kill (the victim's requests
    // never got an answer), through a job this time: the events came back
    // to fan-out, which published jobs for them.
    let again = &receiver.requests()[before_kill..];
    let delivered: HashSet<_> = event_ids(again).into_iter().collect();
    assert_eq!(delivered, events.iter().copied().collect());
    assert_eq!(jobs_stored(&app).await, EVENTS as u64);
    app.wait_until_idle().await;
}

#[tokio::test]
async fn an_event_waits_only_for_its_own_direct_attempts() {
    let receiver = TestReceiver::start().await;
    receiver.set_behavior_for("/slow", Behavior::hang());
    let options = TestAppOptions::new().env("HERALD_DELIVERY_TIMEOUT", "60s");
    let app = app(options).await;
    let fast = create_endpoint(
        app.api(),
        &receiver.url("/fast"),
        &["order.created"],
        json!({}),
    )
    .await;
    create_endpoint(
        app.api(),
        &receiver.url("/slow"),
        &["user.signed_up"],
        json!({}),
    )
    .await;
    let _node = dispatcher(&app, "direct").await;
    // One batch, so the stuck event and the others share a fan-out group.
    let mut events = vec![json!({"type": "user.signed_up", "payload": {"n": 0}})];
    events.extend((1..=20).map(|n| json!({"type": "order.created", "payload": {"n": n}})));
    let posted = app
        .api()
        .post_json("/events/batch", &json!({ "events": events }))
        .await
        .expect("POST /events/batch");
    assert_eq!(posted.status, 201, "{}", posted.text());
    app.wait_for_deliveries(fast.id, "delivered", 20).await;
    receiver.wait_for_requests(Some("/slow"), 1, WAIT).await;

    // The stuck event stays unacked while its attempt hangs; the others
    // were acked once their own attempts were recorded.
    let fanout = || async {
        let info = app.consumer_info(EVENTS_STREAM, FANOUT_CONSUMER).await;
        info.ok().map(|i| i.num_ack_pending)
    };
    let settled = herald_tests::wait_until(Duration::from_secs(10), || async {
        fanout().await == Some(1)
    })
    .await;
    assert!(
        settled.is_ok(),
        "events held behind another event's attempt: {:?} unacked",
        fanout().await
    );
}
