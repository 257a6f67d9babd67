//! What keeping each attempt's headers costs the attempt log (the hot
//! path's last write): the dispatcher's own insert of 512-attempt batches
//! (its largest), timed with and without the headers column, and the
//! stored size of a typical headers value. Prints figures; asserts only
//! that the headers are stored.

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use herald_dispatcher::deliver::{header_log, request};
use herald_dispatcher::store::attempts::{self, NewAttempt};
use herald_tests::TestAppOptions;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use uuid::Uuid;

use super::support::*;

const BATCH: usize = 512;
const BATCHES: usize = 10;

/// The headers record of a typical attempt: Herald's request headers (two
/// secrets signing, two custom headers) and a small response's.
fn typical_headers() -> Value {
    let keys = [
        herald_common::signing::Signer::from_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
            .expect("key"),
        herald_common::signing::Signer::from_secret("previous-secret").expect("key"),
    ];
    let custom = [
        (
            HeaderName::from_static("x-team"),
            HeaderValue::from_static("payments"),
        ),
        (
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer abc"),
        ),
    ];
    let body = Bytes::from_static(br#"{"id":"x","type":"order.created","data":{"n":1}}"#);
    let sent = request::headers(&request::HeaderParts {
        event_id: Uuid::now_v7(),
        event_type: "order.created",
        delivery_id: Uuid::now_v7(),
        timestamp: Utc::now().timestamp(),
        body: &body,
        keys: &keys,
        custom: &custom,
    });
    let mut got = HeaderMap::new();
    got.insert("content-type", HeaderValue::from_static("application/json"));
    got.insert("content-length", HeaderValue::from_static("2"));
    got.insert(
        "date",
        HeaderValue::from_static("Mon, 01 Dec 2025 10:00:00 GMT"),
    );
    header_log::record(header_log::request(&sent), Some(header_log::response(&got)))
}

/// Insert `BATCHES` batches of attempts for `deliveries`; the time taken.
async fn insert_all(
    pool: &deadpool_postgres::Pool,
    deliveries: &[Uuid],
    headers: Option<&str>,
) -> Duration {
    let now = Utc::now();
    let rows: Vec<NewAttempt<'_>> = deliveries
        .iter()
        .map(|d| NewAttempt {
            delivery_id: *d,
            attempt: 1,
            started_at: now,
            duration_ms: 12,
            status_code: Some(200),
            error: None,
            response_body: Some("ok"),
            headers,
        })
        .collect();
    let start = Instant::now();
    for chunk in rows.chunks(BATCH) {
        let mut client = pool.get().await.expect("client");
        let tx = client.transaction().await.expect("tx");
        attempts::insert(&tx, "bench", chunk).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    start.elapsed()
}

#[tokio::test]
async fn keeping_the_headers_of_each_attempt_costs_little() {
    let app = app(TestAppOptions::new().dispatchers(0).without_ingest()).await;
    let hook = Uuid::now_v7();
    let mut deliveries = Vec::new();
    for _ in 0..BATCH * BATCHES {
        let row = Row {
            tenant: "default",
            webhook: hook,
            event_type: "order.created",
            status: "delivered",
            at: Utc::now(),
        };
        deliveries.push(insert_row(&app, &row).await.1);
    }
    let db = app.db();
    db.batch_execute("DELETE FROM delivery_attempts")
        .await
        .expect("clean");
    db.batch_execute("VACUUM ANALYZE delivery_attempts")
        .await
        .expect("vacuum");
    let pool = app.pool();
    let headers = typical_headers().to_string();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        without.push(insert_all(&pool, &deliveries, None).await);
        with.push(insert_all(&pool, &deliveries, Some(&headers)).await);
    }
    with.sort();
    without.sort();
    let row = app
        .db()
        .query_one(
            "SELECT avg(pg_column_size(headers))::float8 AS stored, \
                 avg(pg_column_size(a.*))::float8 AS row_with \
             FROM delivery_attempts a WHERE headers IS NOT NULL",
            &[],
        )
        .await
        .expect("sizes");
    let read = |c: &str| -> f64 { row.try_get(c).expect(c) };
    let (stored, row_with) = (read("stored"), read("row_with"));
    let n = BATCH * BATCHES;
    println!(
        "{n} attempts in batches of {BATCH}: {:.1} ms without headers, {:.1} ms with (medians of 3); \
         headers {:.0} bytes stored per attempt ({:.0} bytes for the whole row); \
         {} bytes of JSON text",
        without[1].as_secs_f64() * 1000.0,
        with[1].as_secs_f64() * 1000.0,
        stored,
        row_with,
        headers.len()
    );
    assert!(stored > 0.0);
}
