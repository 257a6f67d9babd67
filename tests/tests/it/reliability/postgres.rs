//! Postgres stopped for real (`pg_ctl stop -m immediate`, every backend
//! gone at once, recovery from the WAL at the next start) and started again
//! on the same data directory and port, with ingest and two dispatchers as
//! processes: once under 500 events/s (ingest answers 503 and never 201 for
//! an event it did not store; dispatchers hold their attempts and resume),
//! once in the middle of a backlog of 5,000 deliveries waiting to be retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_common::config::settings::{RETRY_JITTER, RETRY_SCHEDULE};
use herald_tests::{Behavior, PgServer, Producer};
use uuid::Uuid;

use super::support::*;

/// A private server that acknowledges only commits it has written out.
async fn server() -> Arc<PgServer> {
    let pg = tokio::task::spawn_blocking(|| PgServer::start(true))
        .await
        .expect("join");
    Arc::new(pg.expect("a private Postgres"))
}

/// Stop it like a crash, wait `down`, start it again.
async fn outage(pg: &Arc<PgServer>, down: Duration) -> Instant {
    let server = pg.clone();
    tokio::task::spawn_blocking(move || server.stop_immediate())
        .await
        .expect("join")
        .expect("pg_ctl stop -m immediate");
    tokio::time::sleep(down).await;
    let server = pg.clone();
    tokio::task::spawn_blocking(move || server.start_again())
        .await
        .expect("join")
        .expect("Postgres started again");
    Instant::now()
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    let row = db.query_one(sql, &[]).await.expect(sql);
    row.try_get("n").expect("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_immediately_under_load_gets_503s_and_loses_nothing() {
    let pg = server().await;
    let mut s = Scenario::start(options().database_server(pg.admin_url())).await;
    let (_ingest, api) = s.ingest_process().await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let producer = Producer::start(vec![api], &TYPES, RATE, Duration::from_secs(8));

    // Once deliveries flow, at a moment a dispatcher is writing attempts.
    s.delivered(1_000).await;
    let caught = flushing(s.app.db(), "herald", Duration::from_secs(10)).await;
    let accepted_before = producer.accepted_count();
    let fault_end = outage(&pg, Duration::from_secs(5)).await;
    let accepted_during = producer.accepted_count() - accepted_before;
    println!(
        "postgres stopped (during a flush: {caught}) for 5 s: {accepted_during} events got an id meanwhile"
    );

    let produced = producer.finish().await;
    assert!(
        produced.answered("503") > 0,
        "ingest answered 503 while Postgres was down: {:?}",
        produced.answers
    );
    let report = s
        .finish(
            "postgres stop -m immediate",
            &produced.accepted,
            Some(fault_end),
        )
        .await;
    report.assert_duplicates_within(0, "no dispatcher died; held jobs were kept in progress");
    // Never a 201 for an event that is not stored; the log agrees with
    // what was sent.
    let db = s.app.test_db().connect().await;
    let ids: Vec<Uuid> = produced.accepted.iter().map(|e| e.id).collect();
    let stored = db
        .query_one(
            "SELECT count(*) AS n FROM events WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .expect("count events");
    let stored: i64 = stored.try_get("n").expect("n");
    assert_eq!(stored as usize, ids.len(), "every accepted event is stored");
    let attempts = count(&db, "SELECT count(*) AS n FROM delivery_attempts").await;
    let sent = s.receiver.request_count();
    println!("postgres stop: {attempts} attempts recorded, {sent} requests received");
    assert!(
        attempts as usize >= sent,
        "an attempt the receiver saw is missing from the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_in_the_middle_of_a_retry_backlog_of_5000_deliveries_loses_nothing() {
    let pg = server().await;
    let options = options()
        .database_server(pg.admin_url())
        .env(RETRY_SCHEDULE.name, "1s,8s,8s,8s,8s,8s,8s,8s,8s,8s,8s,8s")
        .env(RETRY_JITTER.name, "0.5");
    let mut s = Scenario::start(options).await;
    s.receiver.set_behavior(Behavior::status(503));
    let (_ingest, api) = s.ingest_process().await;
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    // 2,500 events, two deliveries each, all failing for now.
    let producer = Producer::start(vec![api], &TYPES, RATE, Duration::from_secs(5));
    let produced = producer.finish().await;
    let retrying = "SELECT count(*) AS n FROM deliveries WHERE status = 'retrying'";
    herald_tests::eventually("5,000 deliveries are retrying", WAIT, || async {
        count(s.app.db(), retrying).await >= 5_000
    })
    .await;
    let backlog = count(s.app.db(), retrying).await;

    s.receiver.set_behavior(Behavior::ok());
    let fault_end = outage(&pg, Duration::from_secs(3)).await;
    println!("postgres restarted with {backlog} deliveries retrying");

    let report = s
        .finish(
            "postgres restart in a retry backlog",
            &produced.accepted,
            Some(fault_end),
        )
        .await;
    report.assert_duplicates_within(0, "no dispatcher died; held jobs were kept in progress");
    let db = s.app.test_db().connect().await;
    let left = count(
        &db,
        "SELECT count(*) AS n FROM deliveries WHERE status <> 'delivered'",
    )
    .await;
    assert_eq!(left, 0, "every delivery is marked delivered in the end");
}
