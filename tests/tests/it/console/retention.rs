//! Retention: rows past `HERALD_RETENTION` disappear in small batches while
//! a load runs, the load's latency is printed before and during (not
//! asserted: timings are figures, not pass/fail), and nothing inside the
//! window is touched.

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_common::shutdown::CancellationToken;
use herald_ingest::pipeline::retention::Retention;
use herald_tests::{create_endpoint, TestApp, TestAppOptions, TestReceiver, UNREACHABLE_URL, WAIT};
use serde_json::json;
use tokio::sync::Mutex;

use super::support::*;

const PRODUCERS: usize = 8;

/// POST /events from `PRODUCERS` tasks until `stop`; each request's latency (ms).
async fn load(app: &TestApp, stop: CancellationToken) -> Vec<f64> {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let (api, stop, latencies) = (app.api().clone(), stop.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.is_cancelled() {
                let body = json!({"type": "order.created", "payload": {"p": p, "n": n}});
                let start = Instant::now();
                let r = api.post_json("/events", &body).await.expect("POST /events");
                assert_eq!(r.status, 201, "{}", r.text());
                latencies
                    .lock()
                    .await
                    .push(start.elapsed().as_secs_f64() * 1000.0);
                n += 1;
            }
        }));
    }
    for t in tasks {
        t.await.expect("producer");
    }
    let mut all = latencies.lock().await.clone();
    all.sort_by(f64::total_cmp);
    all
}

/// The load for `how_long`.
async fn load_for(app: &TestApp, how_long: Duration) -> Vec<f64> {
    let stop = CancellationToken::new();
    let timer = tokio::spawn({
        let stop = stop.clone();
        async move {
            tokio::time::sleep(how_long).await;
            stop.cancel();
        }
    });
    let latencies = load(app, stop).await;
    timer.await.expect("timer");
    latencies
}

fn percentiles(name: &str, sorted: &[f64], took: Duration) -> String {
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    format!(
        "{name}: {} events in {took:.1?} ({:.0}/s), POST /events p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        sorted.len(),
        sorted.len() as f64 / took.as_secs_f64(),
        at(0.5),
        at(0.95),
        at(0.99)
    )
}

#[tokio::test]
async fn retention_deletes_old_rows_in_batches_under_load_and_keeps_the_window() {
    // The node's own retention round runs at start (nothing old yet), then
    // waits an hour: this test drives rounds itself, like a second node.
    let options = TestAppOptions::new().env("HERALD_RETENTION_INTERVAL", "1h");
    let app = app(options).await;
    let receiver = TestReceiver::start().await;
    let mut hooks = Vec::new();
    for path in ["/a", "/b"] {
        let url = receiver.url(path);
        hooks.push(
            create_endpoint(app.api(), &url, &["order.created"], json!({}))
                .await
                .id,
        );
    }
    insert_history(&app, 40, 10_000, &hooks).await;
    insert_history(&app, 29, 2_000, &hooks).await;
    let old_before = counts_between(&app, 41, 39).await;
    let kept_before = counts_between(&app, 30, 28).await;
    assert_eq!(old_before, (10_000, 20_000, 20_000));
    assert_eq!(kept_before, (2_000, 4_000, 4_000));

    // Warm up (connections, prepared statements), then the load alone.
    let warm_up = load_for(&app, Duration::from_secs(2)).await.len() as i64;
    let start = Instant::now();
    let alone = load_for(&app, Duration::from_secs(5)).await;
    let alone_took = start.elapsed();

    let retention = Retention {
        db: app.pool(),
        keep: app.config().ingest.retention,
        interval: Duration::from_secs(3600),
        batch: 200,
        idempotency_window: app.config().ingest.idempotency_window,
    };
    let stop = CancellationToken::new();
    let never = CancellationToken::new();
    let start = Instant::now();
    let deleting = tokio::spawn({
        let stop = stop.clone();
        async move {
            let result = retention.round(&never).await;
            let took = start.elapsed();
            tokio::time::sleep(Duration::from_secs(5).saturating_sub(took)).await;
            stop.cancel();
            (result, took)
        }
    });
    let during = load(&app, stop).await;
    let during_took = start.elapsed();
    let (deleted, round_took) = deleting.await.expect("retention");
    let deleted = deleted.expect("retention round");

    println!("{}", percentiles("load alone", &alone, alone_took));
    println!(
        "{}",
        percentiles("load while retention deletes", &during, during_took)
    );
    println!(
        "retention: {} events, {} deliveries, {} attempts in {round_took:.1?} (batches of 200 events)",
        deleted.events, deleted.deliveries, deleted.attempts
    );
    assert_eq!(
        (deleted.events, deleted.deliveries, deleted.attempts),
        old_before
    );
    assert_eq!(
        counts_between(&app, 41, 39).await,
        (0, 0, 0),
        "old rows left"
    );
    assert_eq!(
        counts_between(&app, 30, 28).await,
        kept_before,
        "rows inside the window touched"
    );
    let accepted = warm_up + (alone.len() + during.len()) as i64;
    let recent = app
        .count("events WHERE created_at > now() - interval '1 hour'")
        .await;
    assert_eq!(recent, accepted, "every event of the load is kept");
}

#[tokio::test]
async fn the_ingest_node_deletes_what_is_past_retention_by_itself() {
    let options = TestAppOptions::new()
        .dispatchers(0)
        .env("HERALD_RETENTION", "7d")
        .env("HERALD_RETENTION_INTERVAL", "200ms");
    let app = app(options).await;
    let hook = create_endpoint(app.api(), UNREACHABLE_URL, &["order.created"], json!({}))
        .await
        .id;
    insert_history(&app, 8, 300, &[hook]).await;
    insert_history(&app, 6, 100, &[hook]).await;
    herald_tests::eventually("the old rows are gone", WAIT, || async {
        counts_between(&app, 9, 7).await == (0, 0, 0)
    })
    .await;
    assert_eq!(counts_between(&app, 7, 5).await, (100, 100, 100));
}

#[tokio::test]
async fn idempotency_keys_past_their_window_are_deleted_and_the_others_kept() {
    let options = TestAppOptions::new()
        .dispatchers(0)
        .env("HERALD_IDEMPOTENCY_WINDOW", "1h")
        .env("HERALD_RETENTION_INTERVAL", "200ms");
    let app = app(options).await;
    for (key, age) in [
        ("old-1", "2 hours"),
        ("old-2", "61 minutes"),
        ("new", "59 minutes"),
    ] {
        let sql = format!(
            "INSERT INTO idempotency_keys (tenant_id, key, event_id, created_at) \
             VALUES ('default', '{key}', gen_random_uuid(), now() - interval '{age}')"
        );
        app.db().batch_execute(&sql).await.expect("insert a key");
    }
    herald_tests::eventually("the expired keys are gone", WAIT, || async {
        app.count("idempotency_keys WHERE key LIKE 'old-%'").await == 0
    })
    .await;
    assert_eq!(app.count("idempotency_keys WHERE key = 'new'").await, 1);
}
