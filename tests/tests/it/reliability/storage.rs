//! JetStream storage limits: both streams get a small `max_bytes`. While no
//! dispatcher runs, `HERALD_EVENTS` fills and refuses more (discard new):
//! ingest still answers 201 (the event is committed in Postgres) and keeps
//! the rest in its outbox. Dispatchers then free space as they fan out
//! (interest retention), with `HERALD_DELIVERIES` full most of the time
//! (fan-out's events come back until their jobs fit), and everything
//! arrives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use herald_common::config::settings::{DELIVERIES_MAX_BYTES, EVENTS_MAX_BYTES};
use herald_common::subjects::{DELIVERIES_STREAM, EVENTS_STREAM};

use super::support::*;

const MAX_BYTES: u64 = 64 * 1024;

async fn stream_bytes(js: &async_nats::jetstream::Context, name: &str) -> u64 {
    match js.get_stream(name).await {
        Ok(mut s) => s.info().await.map(|i| i.state.bytes).unwrap_or(0),
        Err(_) => 0,
    }
}

async fn unpublished(db: &tokio_postgres::Client) -> i64 {
    let sql = "SELECT count(*) AS n FROM events WHERE published_at IS NULL";
    let row = db.query_one(sql, &[]).await.expect("count");
    row.try_get("n").expect("n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_streams_keep_events_in_the_outbox_and_everything_arrives_once_space_returns() {
    let options = options()
        .env(EVENTS_MAX_BYTES.name, "64KiB")
        .env(DELIVERIES_MAX_BYTES.name, "64KiB");
    let s = Scenario::start(options).await;
    let js = s.app.jetstream();

    // Nothing consumes yet: HERALD_EVENTS fills up.
    let produced = s.load(LOAD).finish().await;
    assert_eq!(produced.abandoned, 0, "ingest accepted every event");
    let waiting = unpublished(s.app.db()).await;
    let full = stream_bytes(&js, EVENTS_STREAM).await;
    println!(
        "storage: {} events accepted, {full} bytes in {EVENTS_STREAM}, {waiting} waiting in the outbox",
        produced.accepted.len()
    );
    assert!(full <= MAX_BYTES, "{EVENTS_STREAM} holds {full} bytes");
    assert!(
        waiting > 0,
        "the full stream refused events, the outbox kept them"
    );

    // Dispatchers free space; watch HERALD_DELIVERIES meanwhile.
    let peak = Arc::new(AtomicU64::new(0));
    let watch = {
        let (js, peak) = (js.clone(), peak.clone());
        tokio::spawn(async move {
            loop {
                let bytes = stream_bytes(&js, DELIVERIES_STREAM).await;
                peak.fetch_max(bytes, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let _d1 = s.dispatcher("d1").await;
    let _d2 = s.dispatcher("d2").await;
    let report = s.finish("full streams", &produced.accepted, None).await;
    watch.abort();
    report.assert_duplicates_within(0, "refused publishes are repeated, never delivered twice");
    herald_tests::eventually("the outbox is empty", WAIT, || async {
        unpublished(s.app.db()).await == 0
    })
    .await;
    let peak = peak.load(Ordering::Relaxed);
    println!("storage: {DELIVERIES_STREAM} peaked at {peak} bytes of {MAX_BYTES}");
    assert!(peak <= MAX_BYTES, "{DELIVERIES_STREAM} grew past its limit");
}
