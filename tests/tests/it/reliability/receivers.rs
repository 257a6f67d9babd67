//! Scenarios 6 and 7: receivers that are down for a while (503, then
//! connection refused) or slow (1–2 s) or fail half their requests.

use std::time::{Duration, Instant};

use herald_tests::{Behavior, TestReceiver};

use super::producer::Producer;
use super::support::*;

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_every_delivery_after_retries() {
    let s = Scenario::start(options()).await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    // `/b` answers 503 for the first half of the load; a second endpoint on
    // a receiver that is not listening at all is refused meanwhile.
    s.receiver.set_behavior_for("/b", Behavior::status(503));
    let producer = Producer::start(s.app.api().clone(), RATE, LOAD);
    tokio::time::sleep(LOAD / 2).await;
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
    assert!(failed > 0, "/b was down under load");
    s.finish("receiver 503 then up", &produced.accepted, Some(fault_end))
        .await;
}

#[tokio::test]
async fn a_receiver_refusing_connections_gets_every_delivery_once_it_listens() {
    let s = Scenario::start(options()).await;
    // A receiver whose port is closed while the load runs.
    let late = TestReceiver::start().await;
    let port = late.addr().port();
    let endpoints = create_endpoints(s.app.api(), &late).await;
    drop(late);
    let _d1 = s.dispatcher("d1").await;
    let producer = Producer::start(s.app.api().clone(), RATE, Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(8)).await;
    let late = TestReceiver::start_on(port).await;
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    finish(
        "receiver refused then up",
        &produced.accepted,
        &endpoints,
        &late,
        Some(fault_end),
    )
    .await;
    s.finish("receiver refused: healthy peer", &produced.accepted, None)
        .await;
}

#[tokio::test]
async fn slow_and_flaky_receivers_still_get_every_event() {
    let s = Scenario::start(options()).await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    s.receiver
        .set_behavior_for("/a", Behavior::delay(Duration::from_millis(1500)));
    s.receiver
        .set_behavior_for("/b", Behavior::fail_fraction(0.5, 500));
    let producer = Producer::start(s.app.api().clone(), 20, LOAD);

    let produced = producer.finish().await;
    s.finish("slow /a + 50% failing /b", &produced.accepted, None)
        .await;
    let failed = s
        .receiver
        .requests_for("/b")
        .iter()
        .filter(|r| r.status == 500)
        .count();
    println!("flaky: /b failed {failed} requests on purpose");
}
