//! Receivers that are down for a while (503, then connection refused), slow
//! or flaky, under 500 events/s. Failed answers are retries, never
//! duplicates: no process dies here, so the bound is 0.

use std::time::{Duration, Instant};

use herald_tests::{Behavior, Producer, TestReceiver};

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_while_gets_every_delivery_after_retries() {
    let s = Scenario::start(options()).await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    // `/b` answers 503 until 1,000 requests reached it.
    s.receiver.set_behavior_for("/b", Behavior::status(503));
    let producer = s.load(LOAD);
    herald_tests::eventually("/b refused 1,000 requests", WAIT, || async {
        s.receiver.requests_for("/b").len() >= 1_000
    })
    .await;
    s.receiver.set_behavior_for("/b", Behavior::ok());
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    let failed = s
        .receiver
        .requests_for("/b")
        .iter()
        .filter(|r| r.status == 503)
        .count();
    println!("receiver down: /b answered 503 to {failed} requests");
    let report = s
        .finish("receiver 503 then up", &produced.accepted, Some(fault_end))
        .await;
    report.assert_duplicates_within(0, "no process died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_refusing_connections_gets_every_delivery_once_it_listens() {
    let s = Scenario::start(options()).await;
    // A receiver whose port is closed while the load runs.
    let late = TestReceiver::start().await;
    let port = late.addr().port();
    let endpoints = create_endpoints(s.app.api(), &late).await;
    drop(late);
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let producer = Producer::start(vec![s.app.api().clone()], &TYPES, RATE, LOAD);
    // The healthy receiver has most of the first 1,000 events meanwhile.
    s.delivered(2_000).await;
    let late = TestReceiver::start_on(port).await;
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    let report = finish(
        "receiver refused then up",
        &produced.accepted,
        &endpoints,
        &late,
        Some(fault_end),
    )
    .await;
    report.assert_duplicates_within(0, "no process died");
    let report = s
        .finish("receiver refused: healthy peer", &produced.accepted, None)
        .await;
    report.assert_duplicates_within(0, "no process died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_flaky_receivers_still_get_every_event() {
    let s = Scenario::start(options()).await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    s.receiver
        .set_behavior_for("/a", Behavior::delay(Duration::from_millis(200)));
    s.receiver
        .set_behavior_for("/b", Behavior::fail_fraction(0.5, 500));
    let producer = s.load(LOAD);

    let produced = producer.finish().await;
    let report = s
        .finish("slow /a + 50% failing /b", &produced.accepted, None)
        .await;
    report.assert_duplicates_within(0, "no process died");
    let failed = s
        .receiver
        .requests_for("/b")
        .iter()
        .filter(|r| r.status == 500)
        .count();
    println!("flaky: /b failed {failed} requests on purpose");
}
