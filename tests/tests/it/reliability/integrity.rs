//! Integrity without foreign keys: endpoints deleted while their deliveries
//! are in flight, and retention deleting events while they are fanned out
//! and delivered, under 500 events/s. Rows written by a racing fan-out or
//! attempt log can outlive what they point at; the dispatchers' integrity
//! check finds and removes them, so none is left once it has run.

use std::time::Duration;

use herald_common::config::settings::INTEGRITY_CHECK_INTERVAL;
use herald_common::metrics::INTEGRITY_ORPHANS_REMOVED_TOTAL;
use herald_common::shutdown::CancellationToken;
use herald_ingest::pipeline::retention::Retention;
use herald_tests::{ApiClient, Behavior, HeraldProcess};
use serde_json::json;
use uuid::Uuid;

use super::support::*;

const ORPHANS: &str = "SELECT \
     (SELECT count(*) FROM delivery_attempts a \
      WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id)) AS attempts, \
     (SELECT count(*) FROM deliveries d \
      WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id) \
         OR NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id)) AS deliveries";

/// Orphaned (attempts, deliveries), by a full anti-join.
async fn orphans(db: &tokio_postgres::Client) -> (i64, i64) {
    let row = db.query_one(ORPHANS, &[]).await.expect("orphans");
    (
        row.try_get("attempts").expect("attempts"),
        row.try_get("deliveries").expect("deliveries"),
    )
}

/// Endpoints on `/x0`..`/x5`, subscribed to both types, to be deleted.
async fn doomed_endpoints(api: &ApiClient, s: &Scenario) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..6 {
        let body = json!({"url": s.receiver.url(&format!("/x{n}")), "event_types": TYPES});
        let r = api
            .post_json("/webhooks", &body)
            .await
            .expect("POST /webhooks");
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.value()["id"].as_str().expect("id").to_string());
    }
    ids
}

/// What the dispatchers' counters say they removed.
async fn removed(dispatchers: &[&HeraldProcess]) -> f64 {
    let mut sum = 0.0;
    for d in dispatchers {
        let Ok(r) = ApiClient::new(d.url()).get("/metrics").await else {
            continue;
        };
        sum += r
            .text()
            .lines()
            .filter(|l| l.starts_with(INTEGRITY_ORPHANS_REMOVED_TOTAL))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_racing_with_deliveries_leave_no_orphan_once_the_integrity_check_ran() {
    let s = Scenario::start(options().env(INTEGRITY_CHECK_INTERVAL.name, "1s")).await;
    s.receiver
        .set_behavior(Behavior::fail_fraction(0.3, 500).with_delay(Duration::from_millis(20)));
    let doomed = doomed_endpoints(s.app.api(), &s).await;
    let d1 = s.dispatcher("d1").await;
    let d2 = s.dispatcher("d2").await;
    // Retention keeping one second: events go while they are delivered.
    let retention = Retention {
        db: herald_common::db::pool(s.app.test_db().url(), 2).expect("pool"),
        keep: Duration::from_secs(1),
        interval: Duration::from_millis(200),
        batch: 100,
        idempotency_window: s.app.config().ingest.idempotency_window,
    };
    let stop_retention = CancellationToken::new();
    let retention = tokio::spawn(retention.run(stop_retention.clone()));
    let producer = s.load(LOAD);

    s.delivered(500).await;
    for id in &doomed {
        let r = s
            .app
            .api()
            .delete(&format!("/webhooks/{id}"))
            .await
            .expect("DELETE");
        assert_eq!(r.status, 204, "{}", r.text());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let produced = producer.finish().await;
    stop_retention.cancel();
    retention.await.expect("retention task");
    // Let in-flight work end (retries of deleted rows find nothing).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let db = s.app.test_db().connect().await;
    let raced = orphans(&db).await;
    println!(
        "integrity: {} events, 6 endpoints deleted and retention running: orphans before the check (attempts, deliveries) = {raced:?}",
        produced.accepted.len()
    );
    // One of each kind for certain: an attempt of a delivery that never
    // existed, a delivery of an event that never existed.
    let endpoint = Uuid::parse_str(&doomed[0]).expect("uuid");
    let webhook: Uuid = db
        .query_one("SELECT id FROM webhooks LIMIT 1", &[])
        .await
        .expect("an endpoint")
        .try_get("id")
        .unwrap_or(endpoint);
    db.execute(
        "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, duration_ms) \
         VALUES ($1, $2, 1, now(), 1)",
        &[&Uuid::now_v7(), &Uuid::new_v4()],
    )
    .await
    .expect("orphan attempt");
    db.execute(
        "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id) VALUES ($1, $2, $3, 'default')",
        &[&Uuid::now_v7(), &Uuid::new_v4(), &webhook],
    )
    .await
    .expect("orphan delivery");

    herald_tests::eventually("no orphan is left", WAIT, || async {
        orphans(&db).await == (0, 0)
    })
    .await;
    let removed = removed(&[&d1, &d2]).await;
    println!("integrity: the check removed {removed} rows");
    assert!(
        removed >= (raced.0 + raced.1 + 2) as f64,
        "herald_integrity_orphans_removed_total counts what was removed"
    );
}
