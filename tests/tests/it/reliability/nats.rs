//! Scenario 4: NATS failures. A node of a 3-node cluster with 3-replica
//! streams is killed under load and brought back; separately a single-node
//! NATS is stopped for 10 s under load while ingest keeps accepting events
//! through its outbox.

use std::time::{Duration, Instant};

use herald_tests::NatsCluster;

use super::producer::Producer;
use super::support::*;

#[tokio::test]
async fn kill_of_one_node_of_a_replicated_nats_cluster_under_load_loses_nothing() {
    let mut cluster = NatsCluster::start(3).await;
    let s = Scenario::start(
        options()
            .nats_url(cluster.urls())
            .env("HERALD_STREAM_REPLICAS", "3"),
    )
    .await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let producer = Producer::start(s.app.api().clone(), RATE, LOAD);

    tokio::time::sleep(LOAD / 3).await;
    cluster.node_mut(0).kill();
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.node_mut(0).restart().await.expect("node back");
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    s.finish(
        "NATS cluster node kill",
        &produced.accepted,
        Some(fault_end),
    )
    .await;
}

#[tokio::test]
async fn single_nats_stopped_for_10_s_under_load_ingest_keeps_accepting_and_delivery_resumes() {
    let mut s = Scenario::start(options()).await;
    let _d1 = s.dispatcher("d1").await;
    let producer = Producer::start(s.app.api().clone(), RATE, Duration::from_secs(20));

    tokio::time::sleep(Duration::from_secs(4)).await;
    let server = s.app.nats_server().expect("private NATS");
    server.stop().await;
    let before = producer.accepted_count();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let during = producer.accepted_count() - before;
    s.app
        .nats_server()
        .expect("private NATS")
        .restart()
        .await
        .expect("NATS back");
    let fault_end = Instant::now();
    println!("NATS down 10 s: {during} events accepted meanwhile");
    assert!(during > 0, "ingest kept answering 201 while NATS was down");

    let produced = producer.finish().await;
    s.finish("single NATS stop 10s", &produced.accepted, Some(fault_end))
        .await;
}
