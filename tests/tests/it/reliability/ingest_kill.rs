//! `kill -9` of the ingest process under 500 events/s, once 500 events
//! were accepted. The producer retries with the same idempotency key;
//! every event that got an answer with an id (201, or 200 for a repeat) is
//! delivered, once.

use std::time::Duration;

use herald_tests::Producer;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_ingest_under_load_loses_no_accepted_event() {
    let mut s = Scenario::start(options()).await;
    let (mut ingest, api) = s.ingest_process().await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let producer = Producer::start(vec![api], &TYPES, RATE, LOAD);

    herald_tests::eventually("500 events accepted", WAIT, || async {
        producer.accepted_count() >= 500
    })
    .await;
    let before = producer.accepted_count();
    let (_, fault_end) = kill9_and_restart(&mut ingest, Duration::from_secs(1)).await;
    println!("ingest kill -9 after {before} accepted events");

    let produced = producer.finish().await;
    assert_eq!(produced.abandoned, 0, "every event is accepted in the end");
    let report = s
        .finish("ingest kill -9", &produced.accepted, Some(fault_end))
        .await;
    report.assert_duplicates_within(0, "re-published events are dropped by Nats-Msg-Id");
}
