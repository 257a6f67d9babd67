//! Every filter combination the console uses is served by an index: with
//! 100,000 events and deliveries in the tables (analyzed), the plan of each
//! list, stats, replay and retention statement is shown and none scans a
//! table sequentially. The stats of the busiest endpoint (35 % of the
//! deliveries, about 9,000 of them in the last 24 hours) are timed.
//! `HERALD_WRITE_DOCS=1` writes what this prints to
//! docs/console/query-plans.md.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use herald_ingest::store::deliveries::{self, create, stats};
use herald_ingest::store::events;
use herald_ingest::store::retention;
use herald_ingest::store::time_ids::{id_floor, IdRange};
use herald_tests::{tenant_with_key, TestApp, TestAppOptions};
use serde_json::Value;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::support::*;

const ROWS: i64 = 100_000;

/// 100,000 events over the last 4 days (70 % tenant `default`, 30 %
/// `acme`; four types), one delivery each (half of them to `busy`; 90 %
/// delivered, 5 % failed, 3 % retrying, 2 % pending) and one attempt each.
const LOAD: &str = "INSERT INTO events (id, tenant_id, event_type, payload, published_at, created_at) \
    SELECT pg_temp.v7(t, n), CASE WHEN n % 10 < 7 THEN 'default' ELSE 'acme' END, \
        (ARRAY['order.created','order.updated','user.signed_up','webhook.test'])[1 + n % 4], \
        '{\"n\": 1}', t, t \
    FROM generate_series(1, $1::bigint) n, \
        LATERAL (SELECT now() - interval '96 hours' + n * interval '1 ms' * (345000000 / $1::bigint)) s(t)";
const LOAD_DELIVERIES: &str = "INSERT INTO deliveries \
        (id, event_id, webhook_id, tenant_id, event_type, status, attempts, delivered_at, created_at) \
    SELECT pg_temp.v7(e.created_at, n), e.id, \
        CASE WHEN e.tenant_id = 'acme' THEN ($2::uuid[])[1 + n % 3] \
             WHEN n % 2 = 0 THEN ($1::uuid[])[1] WHEN n % 4 = 1 THEN ($1::uuid[])[2] \
             ELSE ($1::uuid[])[3] END, \
        e.tenant_id, e.event_type, \
        CASE WHEN n % 100 < 90 THEN 'delivered' WHEN n % 100 < 95 THEN 'failed' \
             WHEN n % 100 < 98 THEN 'retrying' ELSE 'pending' END, \
        1, e.created_at, e.created_at \
    FROM (SELECT e.*, row_number() OVER (ORDER BY e.id) AS n FROM events e) e";
const LOAD_ATTEMPTS: &str = "INSERT INTO delivery_attempts \
        (id, delivery_id, attempt, started_at, duration_ms, status_code, dispatcher_id) \
    SELECT pg_temp.v7(d.created_at, row_number() OVER ()), d.id, 1, d.created_at, \
        (random() * 200)::int, 200, 'bench' FROM deliveries d";

/// Scans that read a whole table.
fn seq_scans(plan: &Value, out: &mut Vec<String>) {
    if plan["Node Type"] == "Seq Scan" {
        out.push(plan["Relation Name"].as_str().unwrap_or("?").to_string());
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        seq_scans(child, out);
    }
}

/// EXPLAIN `sql` with `params`: the text plan; fails on a sequential scan
/// of a big table.
async fn explain(app: &TestApp, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> String {
    let json = app
        .db()
        .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), params)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let plan: Value = json.get(0);
    let mut scans = Vec::new();
    seq_scans(&plan[0]["Plan"], &mut scans);
    let big: Vec<_> = scans
        .iter()
        .filter(|t| ["events", "deliveries", "delivery_attempts"].contains(&t.as_str()))
        .collect();
    let text: Vec<String> = app
        .db()
        .query(&format!("EXPLAIN {sql}"), params)
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    let text = text.join("\n");
    assert!(big.is_empty(), "{what}: sequential scan of {big:?}\n{text}");
    text
}

/// The loaded tables: the endpoints of tenant `default` (the first is the
/// busiest) and of `acme`.
struct Loaded {
    default_hooks: Vec<Uuid>,
    acme_hooks: Vec<Uuid>,
}

async fn load(app: &TestApp) -> Loaded {
    tenant_with_key(app.api(), "acme").await;
    let mut loaded = Loaded {
        default_hooks: Vec::new(),
        acme_hooks: Vec::new(),
    };
    for i in 0..3 {
        let url = format!("http://127.0.0.1:9/d{i}");
        loaded
            .default_hooks
            .push(endpoint(app.api(), &url, &["order.created"]).await);
        let body =
            format!(r#"{{"url":"http://127.0.0.1:9/a{i}","event_types":["order.created"]}}"#);
        let headers = [
            ("herald-tenant", "acme"),
            ("content-type", "application/json"),
        ];
        let r = app
            .api()
            .send(http::Method::POST, "/webhooks", &headers, body)
            .await
            .expect("acme endpoint");
        loaded.acme_hooks.push(uuid_of(&r.value(), "id"));
    }
    let started = Instant::now();
    let db = app.db();
    db.batch_execute(V7).await.expect("v7");
    db.execute(LOAD, &[&ROWS]).await.expect("events");
    let hooks: [&(dyn ToSql + Sync); 2] = [&loaded.default_hooks, &loaded.acme_hooks];
    db.execute(LOAD_DELIVERIES, &hooks)
        .await
        .expect("deliveries");
    db.execute(LOAD_ATTEMPTS, &[]).await.expect("attempts");
    db.batch_execute("ANALYZE events; ANALYZE deliveries; ANALYZE delivery_attempts")
        .await
        .expect("analyze");
    println!(
        "loaded {ROWS} events, deliveries and attempts in {:?}",
        started.elapsed()
    );
    loaded
}

/// Every filter combination of the deliveries page, the endpoint page and
/// the event page.
fn delivery_cases(
    busy: Uuid,
    event: Uuid,
    now: DateTime<Utc>,
) -> Vec<(&'static str, deliveries::ListFilter)> {
    use deliveries::ListFilter as F;
    let window = IdRange::between(
        Some(now - TimeDelta::hours(6)),
        Some(now - TimeDelta::hours(1)),
    );
    let before = Some(id_floor(now - TimeDelta::hours(3)));
    let s = |v: &str| Some(v.to_string());
    let t = F {
        scope: s("default"),
        limit: 51,
        ..F::default()
    };
    let all = F {
        scope: None,
        ..t.clone()
    };
    let w = Some(busy);
    vec![
        ("every tenant (admin)", all.clone()),
        (
            "every tenant, status",
            F {
                status: s("failed"),
                ..all.clone()
            },
        ),
        (
            "every tenant, event type",
            F {
                event_type: s("order.updated"),
                ..all.clone()
            },
        ),
        (
            "every tenant, endpoint",
            F {
                webhook_id: w,
                ..all
            },
        ),
        ("tenant", t.clone()),
        (
            "tenant, next page",
            F {
                before,
                ..t.clone()
            },
        ),
        (
            "tenant, endpoint",
            F {
                webhook_id: w,
                ..t.clone()
            },
        ),
        (
            "tenant, status",
            F {
                status: s("failed"),
                ..t.clone()
            },
        ),
        (
            "tenant, event type",
            F {
                event_type: s("order.updated"),
                ..t.clone()
            },
        ),
        (
            "tenant, time range",
            F {
                window,
                ..t.clone()
            },
        ),
        (
            "tenant, endpoint, status",
            F {
                webhook_id: w,
                status: s("failed"),
                ..t.clone()
            },
        ),
        (
            "tenant, endpoint, event type",
            F {
                webhook_id: w,
                event_type: s("order.updated"),
                ..t.clone()
            },
        ),
        (
            "tenant, status, event type",
            F {
                status: s("retrying"),
                event_type: s("user.signed_up"),
                ..t.clone()
            },
        ),
        (
            "tenant, event type, time range, next page",
            F {
                event_type: s("order.created"),
                window,
                before,
                ..t.clone()
            },
        ),
        (
            "tenant, endpoint, status, event type, time range",
            F {
                webhook_id: w,
                status: s("failed"),
                event_type: s("order.created"),
                window,
                ..t.clone()
            },
        ),
        (
            "one event's deliveries",
            F {
                event_id: Some(event),
                ..t
            },
        ),
    ]
}

/// Every filter combination of the events page.
fn event_cases(now: DateTime<Utc>) -> Vec<(&'static str, events::ListFilter)> {
    use events::ListFilter as F;
    let window = IdRange::between(
        Some(now - TimeDelta::hours(6)),
        Some(now - TimeDelta::hours(1)),
    );
    let before = Some(id_floor(now - TimeDelta::hours(3)));
    let s = |v: &str| Some(v.to_string());
    let t = F {
        scope: s("default"),
        limit: 51,
        ..F::default()
    };
    vec![
        (
            "every tenant (admin)",
            F {
                scope: None,
                ..t.clone()
            },
        ),
        (
            "every tenant, type",
            F {
                scope: None,
                event_type: s("order.updated"),
                ..t.clone()
            },
        ),
        ("tenant", t.clone()),
        (
            "tenant, type",
            F {
                event_type: s("order.updated"),
                ..t.clone()
            },
        ),
        (
            "tenant, time range",
            F {
                window,
                ..t.clone()
            },
        ),
        (
            "tenant, type, time range, next page",
            F {
                event_type: s("user.signed_up"),
                window,
                before,
                ..t
            },
        ),
    ]
}

/// The plans of the stats, replay and retention statements.
async fn other_plans(app: &TestApp, loaded: &Loaded, now: DateTime<Utc>) -> Vec<(String, String)> {
    let busy = loaded.default_hooks[0];
    let day = id_floor(now - TimeDelta::hours(24));
    let hour = id_floor(now - TimeDelta::hours(1));
    let none: Option<Uuid> = None;
    let types = vec!["order.created".to_string(), "user.signed_up".to_string()];
    let replay: [&(dyn ToSql + Sync); 6] = [
        &loaded.default_hooks[1],
        &"default",
        &types,
        &Some(day),
        &none,
        &10_000i64,
    ];
    let cases: [(&str, &str, &[&(dyn ToSql + Sync)]); 4] = [
        (
            "GET /webhooks/{id}/stats: counts",
            stats::COUNTS,
            &[&busy, &day, &hour],
        ),
        (
            "GET /webhooks/{id}/stats: latency",
            stats::LATENCY,
            &[&busy, &day, &stats::LATENCY_SAMPLE],
        ),
        (
            "POST /webhooks/{id}/replay: missing events",
            create::MISSING,
            &replay,
        ),
        (
            "retention: one batch",
            retention::DELETE_BATCH,
            &[&day, &500i64],
        ),
    ];
    let mut out = Vec::new();
    for (name, sql, params) in cases {
        out.push((name.to_string(), explain(app, name, sql, params).await));
    }
    out
}

/// The stats of `busy`, polled like the console does: a line of figures.
async fn time_stats(app: &TestApp, busy: Uuid) -> String {
    let path = format!("/webhooks/{busy}/stats");
    let first = get_ok(app.api(), &path).await;
    let total = first["last_24h"]["total"].as_i64().unwrap_or(0);
    assert!(total > 5_000, "{first}");
    let mut times = Vec::new();
    for _ in 0..21 {
        let start = Instant::now();
        get_ok(app.api(), &path).await;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    format!(
        "GET /webhooks/{{id}}/stats of an endpoint with {total} deliveries in the last 24 h \
         ({ROWS} deliveries in the table): median {:.1} ms, slowest {:.1} ms over 21 calls \
         (debug build of ingest)",
        times[10], times[20]
    )
}

#[tokio::test]
async fn every_filter_the_console_uses_is_served_by_an_index() {
    let app = TestApp::spawn(TestAppOptions::new().dispatchers(0)).await;
    let loaded = load(&app).await;
    let now = Utc::now();
    let event: Uuid = app
        .db()
        .query_one(
            "SELECT id FROM events ORDER BY id DESC OFFSET 500 LIMIT 1",
            &[],
        )
        .await
        .expect("event")
        .get(0);
    let mut plans = Vec::new();
    for (name, filter) in delivery_cases(loaded.default_hooks[0], event, now) {
        let (sql, params) = deliveries::list_query(&filter);
        plans.push((
            format!("GET /deliveries: {name}"),
            explain(&app, name, sql, &params).await,
        ));
    }
    for (name, filter) in event_cases(now) {
        let (sql, params) = events::list_query(&filter);
        plans.push((
            format!("GET /events: {name}"),
            explain(&app, name, sql, &params).await,
        ));
    }
    plans.extend(other_plans(&app, &loaded, now).await);
    let mut doc = String::new();
    for (title, plan) in &plans {
        println!("== {title}\n{plan}\n");
        let _ = write!(doc, "### {title}\n\n```\n{plan}\n```\n\n");
    }
    let timing = time_stats(&app, loaded.default_hooks[0]).await;
    println!("{timing}");
    if std::env::var("HERALD_WRITE_DOCS").as_deref() == Ok("1") {
        let header = format!(
            "# Query plans of the console's API\n\nGenerated by the test \
             `console::plans::every_filter_the_console_uses_is_served_by_an_index` \
             (`HERALD_WRITE_DOCS=1`) with {ROWS} events, deliveries and attempts \
             over 4 days in the tables, analyzed. None of these plans scans a big \
             table sequentially; the test fails if one does.\n\n{timing}.\n\n"
        );
        let path = herald_tests::workspace_root().join("docs/console/query-plans.md");
        std::fs::write(path, header + &doc).expect("write docs");
    }
}
