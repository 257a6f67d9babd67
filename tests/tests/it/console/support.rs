//! What the console tests share: an app with their event types, rows
//! written the way fan-out and the attempt log write them (at chosen
//! times), page walking, and waiting for a delivery's status.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_tests::{uuid_at, ApiClient, ApiResponse, TestApp, TestAppOptions, WAIT};
use serde_json::Value;
use uuid::{NoContext, Timestamp, Uuid};

/// The event types the console tests use (`webhook.test` is Herald's own).
pub const TYPES: [&str; 3] = ["order.created", "order.updated", "user.signed_up"];

/// An app as `options` say, with [`TYPES`] registered.
pub async fn app(options: TestAppOptions) -> TestApp {
    TestApp::spawn(options.event_types(&TYPES)).await
}

pub async fn post_empty(api: &ApiClient, path: &str) -> ApiResponse {
    api.send(http::Method::POST, path, &[], "")
        .await
        .expect(path)
}

/// `GET path` as JSON, asserting 200.
pub async fn get_ok(api: &ApiClient, path: &str) -> Value {
    let r = api.get(path).await.expect(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.value()
}

/// The ids of a page's `data`.
pub fn ids(page: &Value) -> Vec<Uuid> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {page}"))
        .iter()
        .map(|d| uuid_at(d, "id"))
        .collect()
}

/// Every id of a list, page by page (`query` without `cursor`).
pub async fn all_pages(api: &ApiClient, path: &str, query: &str) -> Vec<Uuid> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?{query}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = get_ok(api, &url).await;
        out.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// A UUIDv7 of time `at`, like those Herald makes then.
pub fn id_at(at: DateTime<Utc>) -> Uuid {
    let nanos = at.timestamp_subsec_nanos();
    let secs = u64::try_from(at.timestamp()).expect("after 1970");
    Uuid::new_v7(Timestamp::from_unix(NoContext, secs, nanos))
}

/// A row written the way ingest and a dispatcher write them.
pub struct Row<'a> {
    pub tenant: &'a str,
    pub webhook: Uuid,
    pub event_type: &'a str,
    pub status: &'a str,
    pub at: DateTime<Utc>,
}

/// Insert an event and its delivery (with one attempt) created at `row.at`;
/// (event id, delivery id).
pub async fn insert_row(app: &TestApp, row: &Row<'_>) -> (Uuid, Uuid) {
    let (event, delivery) = (id_at(row.at), id_at(row.at));
    app.db()
        .execute(
            "INSERT INTO events (id, tenant_id, event_type, payload, published_at, created_at) \
             VALUES ($1, $2, $3, '{}', $4, $4)",
            &[&event, &row.tenant, &row.event_type, &row.at],
        )
        .await
        .expect("insert event");
    app.db()
        .execute(
            "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
                 attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
            &[
                &delivery,
                &event,
                &row.webhook,
                &row.tenant,
                &row.event_type,
                &row.status,
                &row.at,
            ],
        )
        .await
        .expect("insert delivery");
    app.db()
        .execute(
            "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, \
                 status_code) VALUES ($1, $2, 1, $3, 10, 200)",
            &[&id_at(row.at), &delivery, &row.at],
        )
        .await
        .expect("insert attempt");
    (event, delivery)
}

/// Wait until delivery `id` has `status` with at least `attempts` attempts; its detail.
pub async fn wait_for_delivery(api: &ApiClient, id: Uuid, status: &str, attempts: i64) -> Value {
    let path = format!("/deliveries/{id}");
    let found = herald_tests::wait_for(WAIT, || async {
        let v = api.get(&path).await.ok()?.value();
        (v["status"] == status && v["attempts"].as_i64() >= Some(attempts)).then_some(v)
    })
    .await;
    match found {
        Ok(v) => v,
        Err(_) => panic!(
            "delivery {id} did not become {status} with {attempts} attempts: {}",
            get_ok(api, &path).await
        ),
    }
}

/// A string map from a JSON object.
pub fn strings(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A UUIDv7 of a time, in SQL (session-local: the test's connection).
pub const V7: &str = "CREATE OR REPLACE FUNCTION pg_temp.v7(t timestamptz, n bigint) \
    RETURNS uuid AS $$ \
    SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' \
        || lpad(to_hex(n % 4096), 3, '0') || '8' || lpad(to_hex(n), 15, '0'))::uuid \
    $$ LANGUAGE sql IMMUTABLE";

/// `count` published events of tenant `default` created `days` days ago
/// (over one hour), each delivered to every endpoint of `webhooks` with one
/// attempt, inserted in SQL.
pub async fn insert_history(app: &TestApp, days: i64, count: i64, webhooks: &[Uuid]) {
    let db = app.db();
    let base = Utc::now() - chrono::TimeDelta::days(days);
    let end = base + chrono::TimeDelta::seconds(3601);
    db.batch_execute(V7).await.expect("v7");
    db.execute(
        "INSERT INTO events (id, tenant_id, event_type, payload, published_at, created_at) \
         SELECT pg_temp.v7(t, n), 'default', 'order.created', '{\"old\": true}', t, t \
         FROM generate_series(1, $2::bigint) n, \
             LATERAL (SELECT $1::timestamptz + n * interval '3600 s' / $2::bigint) s(t)",
        &[&base, &count],
    )
    .await
    .expect("old events");
    db.execute(
        "INSERT INTO deliveries (id, event_id, webhook_id, tenant_id, event_type, status, \
             attempts, created_at) \
         SELECT pg_temp.v7(e.created_at, row_number() OVER ()), e.id, w, e.tenant_id, \
             e.event_type, 'delivered', 1, e.created_at \
         FROM events e, unnest($1::uuid[]) w \
         WHERE e.created_at BETWEEN $2 AND $3",
        &[&webhooks, &base, &end],
    )
    .await
    .expect("old deliveries");
    db.execute(
        "INSERT INTO delivery_attempts (id, delivery_id, attempt, started_at, duration_ms, status_code) \
         SELECT pg_temp.v7(d.created_at, row_number() OVER ()), d.id, 1, d.created_at, 12, 200 \
         FROM deliveries d WHERE d.created_at BETWEEN $1 AND $2",
        &[&base, &end],
    )
    .await
    .expect("old attempts");
    db.batch_execute("ANALYZE events; ANALYZE deliveries; ANALYZE delivery_attempts")
        .await
        .expect("analyze");
}

/// Events, deliveries and attempts created between `from_days` and
/// `to_days` days ago.
pub async fn counts_between(app: &TestApp, from_days: i32, to_days: i32) -> (i64, i64, i64) {
    let row = app
        .db()
        .query_one(
            "SELECT \
               (SELECT count(*) FROM events WHERE created_at BETWEEN now() - make_interval(days => $1) AND now() - make_interval(days => $2)) AS e, \
               (SELECT count(*) FROM deliveries WHERE created_at BETWEEN now() - make_interval(days => $1) AND now() - make_interval(days => $2)) AS d, \
               (SELECT count(*) FROM delivery_attempts WHERE started_at BETWEEN now() - make_interval(days => $1) AND now() - make_interval(days => $2)) AS a",
            &[&from_days, &to_days],
        )
        .await
        .expect("counts");
    (row.get("e"), row.get("d"), row.get("a"))
}
