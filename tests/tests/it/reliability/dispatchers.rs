//! Scenarios 1 and 2: dispatcher processes die (`kill -9`) or are rolled
//! (SIGTERM, one after the other) under a steady load.

use std::time::{Duration, Instant};

use herald_tests::Behavior;

use super::producer::Producer;
use super::support::*;

#[tokio::test]
async fn kill_9_of_one_of_three_dispatchers_under_load_loses_nothing() {
    let s = Scenario::start(options()).await;
    s.receiver
        .set_behavior(Behavior::delay(Duration::from_millis(5)));
    let mut victim = s.dispatcher("victim").await;
    let _d2 = s.dispatcher("second").await;
    let _d3 = s.dispatcher("third").await;
    let producer = Producer::start(s.app.api().clone(), RATE, LOAD);

    tokio::time::sleep(LOAD / 3).await;
    victim.kill9();
    tokio::time::sleep(LOAD / 3).await;
    victim.start().await.expect("restart the victim");
    victim
        .wait_healthy(WAIT)
        .await
        .expect("victim healthy again");
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    s.finish("dispatcher kill -9", &produced.accepted, Some(fault_end))
        .await;
}

#[tokio::test]
async fn rolling_sigterm_restart_of_every_dispatcher_under_load_loses_nothing() {
    let s = Scenario::start(options()).await;
    s.receiver
        .set_behavior(Behavior::delay(Duration::from_millis(5)));
    let mut nodes = [
        s.dispatcher("d1").await,
        s.dispatcher("d2").await,
        s.dispatcher("d3").await,
    ];
    let producer = Producer::start(s.app.api().clone(), RATE, Duration::from_secs(20));
    tokio::time::sleep(Duration::from_secs(2)).await;
    for node in nodes.iter_mut() {
        let status = node.stop(Duration::from_secs(30)).await.expect("exited");
        assert!(status.success(), "exit status {status:?}:\n{}", node.log());
        node.start().await.expect("start again");
        node.wait_healthy(WAIT).await.expect("healthy again");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    s.finish("rolling SIGTERM", &produced.accepted, Some(fault_end))
        .await;
}
