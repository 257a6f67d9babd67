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
use herald_ingest::store::time_ids::id_floor;
use herald_tests::{TestApp, TestAppOptions};
use serde_json::Value;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::dataset::{delivery_cases, event_cases, load, Loaded, ROWS};
use super::support::*;

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
    let plan: Value = json.try_get("QUERY PLAN").expect("a plan");
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
        .map(|r| r.try_get::<_, String>("QUERY PLAN").expect("a plan line"))
        .collect();
    let text = text.join("\n");
    assert!(big.is_empty(), "{what}: sequential scan of {big:?}\n{text}");
    text
}

/// The plans of the stats, replay and retention statements.
async fn other_plans(app: &TestApp, loaded: &Loaded, now: DateTime<Utc>) -> Vec<(String, String)> {
    let busy = loaded.default_hooks[0];
    let day = id_floor(now - TimeDelta::hours(24));
    let hour = id_floor(now - TimeDelta::hours(1));
    let none: Option<Uuid> = None;
    let types = vec!["order.created".to_string(), "user.signed_up".to_string()];
    let patterns = vec!["^invoice\\.[^.]+$".to_string()];
    let replay: [&(dyn ToSql + Sync); 8] = [
        &loaded.default_hooks[1],
        &"default",
        &types,
        &Some(day),
        &none,
        &1_000i64,
        &false,
        &patterns,
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
    let app = app(TestAppOptions::new().dispatchers(0)).await;
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
        .try_get("id")
        .expect("id");
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
