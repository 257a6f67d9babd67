//! Scenario 5: Postgres unreachable for 10 s under load (a cuttable proxy
//! between it and every Herald node; the shared test server stays up).
//! Ingest answers 503 meanwhile and never 201 for an event it did not store;
//! dispatchers hold their attempt-log writes; everything resumes.

use std::time::{Duration, Instant};

use herald_common::config::Secret;
use herald_tests::CuttableProxy;
use uuid::Uuid;

use super::producer::Producer;
use super::support::*;

#[tokio::test]
async fn postgres_down_for_10_s_under_load_gets_503s_and_loses_nothing() {
    let proxy = CuttableProxy::start().await;
    let target = proxy.target();
    // Every in-process node reaches Postgres through the proxy.
    let opts = options().configure(move |config| {
        config.database.url = Secret::new(target.reroute(config.database.url.expose()));
    });
    let mut s = Scenario::start(opts).await;
    s.app.start_dispatcher().await.expect("dispatcher 0");
    s.app.start_dispatcher().await.expect("dispatcher 1");
    let producer = Producer::start(s.app.api().clone(), RATE, Duration::from_secs(20));

    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.cut();
    let accepted_before = producer.accepted_count();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let accepted_during = producer.accepted_count() - accepted_before;
    proxy.restore();
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    println!("postgres cut 10 s: {accepted_during} events got an id meanwhile");
    let unavailable = produced.answers.get("503").copied().unwrap_or(0);
    assert!(
        unavailable > 0,
        "ingest answered 503 while Postgres was down"
    );
    // Never a 201 for an event that is not stored.
    let ids: Vec<Uuid> = produced.accepted.iter().map(|e| e.id).collect();
    let stored: i64 = s
        .app
        .db()
        .query_one(
            "SELECT count(*) AS n FROM events WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("count")
        .try_get("n")
        .expect("n");
    assert_eq!(stored as usize, ids.len(), "every accepted event is stored");
    s.finish("postgres cut 10s", &produced.accepted, Some(fault_end))
        .await;
    // The attempt log agrees with what was sent.
    let attempts = s.app.count("delivery_attempts").await;
    let sent = s.receiver.request_count();
    println!("postgres cut: {attempts} attempts recorded, {sent} requests received");
    assert!(
        attempts as usize >= sent,
        "an attempt the receiver saw is missing from the log"
    );
}
