//! NATS failures under 500 events/s. The node leading `HERALD_DELIVERIES`
//! in a 3-node cluster with 3-replica streams is killed and brought back;
//! separately a single-node NATS is stopped for 5 s while ingest keeps
//! accepting events through its outbox.

use std::time::{Duration, Instant};

use herald_common::subjects::DELIVERIES_STREAM;
use herald_tests::NatsCluster;

use super::support::*;

/// Which node (0-based) leads `stream`: nodes are named `n1`, `n2`, ...
async fn leader(js: &async_nats::jetstream::Context, stream: &str) -> Option<usize> {
    let mut s = js.get_stream(stream).await.ok()?;
    let info = s.info().await.ok()?;
    let name = info.cluster.as_ref()?.leader.clone()?;
    name.strip_prefix('n')?
        .parse::<usize>()
        .ok()?
        .checked_sub(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_of_the_leading_node_of_a_replicated_nats_cluster_under_load_loses_nothing() {
    let mut cluster = NatsCluster::start(3).await;
    let s = Scenario::start(
        options()
            .nats_url(cluster.urls())
            .env("HERALD_STREAM_REPLICAS", "3"),
    )
    .await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let producer = s.load(LOAD);

    s.delivered(1_000).await;
    let victim = leader(&s.app.jetstream(), DELIVERIES_STREAM)
        .await
        .unwrap_or(0);
    cluster.node_mut(victim).kill();
    println!(
        "NATS cluster: killed n{}, the leader of {DELIVERIES_STREAM}",
        victim + 1
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.node_mut(victim).restart().await.expect("node back");
    let fault_end = Instant::now();

    let produced = producer.finish().await;
    let report = s
        .finish("NATS leader kill", &produced.accepted, Some(fault_end))
        .await;
    report.assert_duplicates_within(
        2 * CONCURRENCY,
        "jobs both dispatchers held whose acks the dead leader may have lost",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_nats_stopped_under_load_ingest_keeps_accepting_and_delivery_resumes() {
    let mut s = Scenario::start(options()).await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let producer = s.load(Duration::from_secs(8));

    s.delivered(1_000).await;
    let server = s.app.nats_server().expect("private NATS");
    server.stop().await;
    let before = producer.accepted_count();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = producer.accepted_count() - before;
    s.app
        .nats_server()
        .expect("private NATS")
        .restart()
        .await
        .expect("NATS back");
    let fault_end = Instant::now();
    println!("NATS down 5 s: {during} events accepted meanwhile");
    assert!(during > 0, "ingest kept answering 201 while NATS was down");

    let produced = producer.finish().await;
    let report = s
        .finish("single NATS stop 5s", &produced.accepted, Some(fault_end))
        .await;
    report.assert_duplicates_within(
        2 * CONCURRENCY,
        "jobs both dispatchers held while their acks could not reach NATS",
    );
}
