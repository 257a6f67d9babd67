//! The data set of the plans test: 100,000 events, deliveries and attempts
//! over four days, two tenants, six endpoints, four types and a realistic
//! mix of statuses, inserted in SQL and analyzed; and the filter
//! combinations the console's pages use.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use herald_ingest::store::time_ids::{id_floor, IdRange};
use herald_ingest::store::{deliveries, events};

use herald_tests::{create_endpoint, tenant_with_key, TestApp};
use serde_json::json;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::support::*;

pub const ROWS: i64 = 100_000;

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

/// The loaded tables: the endpoints of tenant `default` (the first is the
/// busiest) and of `acme`.
pub struct Loaded {
    pub default_hooks: Vec<Uuid>,
    pub acme_hooks: Vec<Uuid>,
}

pub async fn load(app: &TestApp) -> Loaded {
    tenant_with_key(app.api(), "acme").await;
    let mut loaded = Loaded {
        default_hooks: Vec::new(),
        acme_hooks: Vec::new(),
    };
    for i in 0..3 {
        let url = format!("http://127.0.0.1:9/d{i}");
        let hook = create_endpoint(app.api(), &url, &["order.created"], json!({})).await;
        loaded.default_hooks.push(hook.id);
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
        loaded.acme_hooks.push(r.uuid("id"));
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

/// The console's time range (6 to 1 hours ago) and a next page's cursor.
fn window_and_cursor(now: DateTime<Utc>) -> (IdRange, Option<Uuid>) {
    let window = IdRange::between(
        Some(now - TimeDelta::hours(6)),
        Some(now - TimeDelta::hours(1)),
    );
    (window, Some(id_floor(now - TimeDelta::hours(3))))
}

/// Every filter combination of the deliveries page, the endpoint page and
/// the event page.
pub fn delivery_cases(
    busy: Uuid,
    event: Uuid,
    now: DateTime<Utc>,
) -> Vec<(&'static str, deliveries::ListFilter)> {
    use deliveries::ListFilter as F;
    let (window, before) = window_and_cursor(now);
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
pub fn event_cases(now: DateTime<Utc>) -> Vec<(&'static str, events::ListFilter)> {
    use events::ListFilter as F;
    let (window, before) = window_and_cursor(now);
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
