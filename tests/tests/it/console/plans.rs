//! Every filter combination the console uses is served by an index: with
//! 100,000 events and deliveries in the tables (analyzed), the plan of each
//! list, stats, replay and retention statement is shown and none scans a
//! table sequentially. The stats of the busiest endpoint (35 % of the
//! deliveries, about 9,000 of them in the last 24 hours) are timed.
//! `HERALD_WRITE_DOCS=1` writes what this prints to
//! docs/console/query-plans.md.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{TimeDelta, Utc};
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

#[tokio::test]
async fn every_filter_the_console_uses_is_served_by_an_index() {
    let app = TestApp::spawn(TestAppOptions::new().dispatchers(0)).await;
    tenant_with_key(app.api(), "acme").await;
    let acme = app.api().with_token(app.admin_token());
    let mut default_hooks = Vec::new();
    let mut acme_hooks = Vec::new();
    for i in 0..3 {
        default_hooks.push(
            endpoint(
                app.api(),
                &format!("http://127.0.0.1:9/d{i}"),
                &["order.created"],
            )
            .await,
        );
        let r = acme
            .send(
                http::Method::POST,
                "/webhooks",
                &[
                    ("herald-tenant", "acme"),
                    ("content-type", "application/json"),
                ],
                format!(r#"{{"url":"http://127.0.0.1:9/a{i}","event_types":["order.created"]}}"#),
            )
            .await
            .expect("acme endpoint");
        acme_hooks.push(uuid_of(&r.value(), "id"));
    }
    let loaded = Instant::now();
    let db = app.db();
    db.batch_execute(V7).await.expect("v7");
    db.execute(LOAD, &[&ROWS]).await.expect("events");
    db.execute(LOAD_DELIVERIES, &[&default_hooks, &acme_hooks])
        .await
        .expect("deliveries");
    db.execute(LOAD_ATTEMPTS, &[]).await.expect("attempts");
    db.batch_execute("ANALYZE events; ANALYZE deliveries; ANALYZE delivery_attempts")
        .await
        .expect("analyze");
    println!(
        "loaded {ROWS} events, deliveries and attempts in {:?}",
        loaded.elapsed()
    );

    let busy = default_hooks[0];
    let now = Utc::now();
    let window = IdRange::between(
        Some(now - TimeDelta::hours(6)),
        Some(now - TimeDelta::hours(1)),
    );
    let some_event: Uuid = db
        .query_one(
            "SELECT id FROM events ORDER BY id DESC OFFSET 500 LIMIT 1",
            &[],
        )
        .await
        .expect("event")
        .get(0);
    let cursor = Some(id_floor(now - TimeDelta::hours(3)));
    let tenant = Some("default".to_string());
    let base = deliveries::ListFilter {
        scope: tenant.clone(),
        limit: 51,
        ..Default::default()
    };
    let s = |v: &str| Some(v.to_string());
    let delivery_cases: Vec<(&str, deliveries::ListFilter)> = vec![
        (
            "every tenant (admin)",
            deliveries::ListFilter {
                scope: None,
                ..base.clone()
            },
        ),
        (
            "every tenant, status",
            deliveries::ListFilter {
                scope: None,
                status: s("failed"),
                ..base.clone()
            },
        ),
        (
            "every tenant, event type",
            deliveries::ListFilter {
                scope: None,
                event_type: s("order.updated"),
                ..base.clone()
            },
        ),
        (
            "every tenant, endpoint",
            deliveries::ListFilter {
                scope: None,
                webhook_id: Some(busy),
                ..base.clone()
            },
        ),
        ("tenant", base.clone()),
        (
            "tenant, next page",
            deliveries::ListFilter {
                before: cursor,
                ..base.clone()
            },
        ),
        (
            "tenant, endpoint",
            deliveries::ListFilter {
                webhook_id: Some(busy),
                ..base.clone()
            },
        ),
        (
            "tenant, status",
            deliveries::ListFilter {
                status: s("failed"),
                ..base.clone()
            },
        ),
        (
            "tenant, event type",
            deliveries::ListFilter {
                event_type: s("order.updated"),
                ..base.clone()
            },
        ),
        (
            "tenant, time range",
            deliveries::ListFilter {
                window,
                ..base.clone()
            },
        ),
        (
            "tenant, endpoint, status",
            deliveries::ListFilter {
                webhook_id: Some(busy),
                status: s("failed"),
                ..base.clone()
            },
        ),
        (
            "tenant, endpoint, event type",
            deliveries::ListFilter {
                webhook_id: Some(busy),
                event_type: s("order.updated"),
                ..base.clone()
            },
        ),
        (
            "tenant, status, event type",
            deliveries::ListFilter {
                status: s("retrying"),
                event_type: s("user.signed_up"),
                ..base.clone()
            },
        ),
        (
            "tenant, event type, time range, next page",
            deliveries::ListFilter {
                event_type: s("order.created"),
                window,
                before: cursor,
                ..base.clone()
            },
        ),
        (
            "tenant, endpoint, status, event type, time range",
            deliveries::ListFilter {
                webhook_id: Some(busy),
                status: s("failed"),
                event_type: s("order.created"),
                window,
                ..base.clone()
            },
        ),
        (
            "one event's deliveries",
            deliveries::ListFilter {
                event_id: Some(some_event),
                ..base.clone()
            },
        ),
    ];
    let mut doc = String::new();
    let mut section = |title: &str, text: &str| {
        let _ = write!(doc, "### {title}\n\n```\n{text}\n```\n\n");
        println!("== {title}\n{text}\n");
    };
    for (name, filter) in &delivery_cases {
        let (sql, params) = deliveries::list_query(filter);
        let plan = explain(&app, name, sql, &params).await;
        section(&format!("GET /deliveries: {name}"), &plan);
    }
    let ebase = events::ListFilter {
        scope: tenant.clone(),
        limit: 51,
        ..Default::default()
    };
    let event_cases: Vec<(&str, events::ListFilter)> = vec![
        (
            "every tenant (admin)",
            events::ListFilter {
                scope: None,
                ..ebase.clone()
            },
        ),
        (
            "every tenant, type",
            events::ListFilter {
                scope: None,
                event_type: s("order.updated"),
                ..ebase.clone()
            },
        ),
        ("tenant", ebase.clone()),
        (
            "tenant, type",
            events::ListFilter {
                event_type: s("order.updated"),
                ..ebase.clone()
            },
        ),
        (
            "tenant, time range",
            events::ListFilter {
                window,
                ..ebase.clone()
            },
        ),
        (
            "tenant, type, time range, next page",
            events::ListFilter {
                event_type: s("user.signed_up"),
                window,
                before: cursor,
                ..ebase.clone()
            },
        ),
    ];
    for (name, filter) in &event_cases {
        let (sql, params) = events::list_query(filter);
        let plan = explain(&app, name, sql, &params).await;
        section(&format!("GET /events: {name}"), &plan);
    }
    let day = id_floor(now - TimeDelta::hours(24));
    let hour = id_floor(now - TimeDelta::hours(1));
    let plan = explain(&app, "stats counts", stats::COUNTS, &[&busy, &day, &hour]).await;
    section("GET /webhooks/{id}/stats: counts", &plan);
    let plan = explain(
        &app,
        "stats latency",
        stats::LATENCY,
        &[&busy, &day, &stats::LATENCY_SAMPLE],
    )
    .await;
    section("GET /webhooks/{id}/stats: latency", &plan);
    let none: Option<Uuid> = None;
    let plan = explain(
        &app,
        "replay",
        create::MISSING,
        &[&default_hooks[1], &Some(day), &none, &10_000i64],
    )
    .await;
    section("POST /webhooks/{id}/replay: missing events", &plan);
    let plan = explain(&app, "retention", retention::DELETE_BATCH, &[&day, &500i64]).await;
    section("retention: one batch", &plan);

    // The stats of the busiest endpoint, polled like the console does.
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
    let line = format!(
        "GET /webhooks/{{id}}/stats of an endpoint with {total} deliveries in the last 24 h \
         ({ROWS} deliveries in the table): median {:.1} ms, slowest {:.1} ms over 21 calls",
        times[10], times[20]
    );
    println!("{line}");
    if std::env::var("HERALD_WRITE_DOCS").as_deref() == Ok("1") {
        let header = format!(
            "# Query plans of the console's API\n\nGenerated by the test \
             `console::plans::every_filter_the_console_uses_is_served_by_an_index` \
             (`HERALD_WRITE_DOCS=1`) with {ROWS} events, deliveries and attempts \
             in the tables, analyzed. None of these plans scans a big table \
             sequentially; the test fails if one does.\n\n{line}.\n\n"
        );
        let path = herald_tests::workspace_root().join("docs/console/query-plans.md");
        std::fs::write(path, header + &doc).expect("write docs");
    }
}
