//! Helpers of the dispatcher tests: endpoints and events through ingest's
//! API, delivery state from Postgres, what the receiver saw.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use herald_tests::{ApiClient, ReceivedRequest, TestApp, TestAppOptions};
use serde_json::{json, Value};
use uuid::Uuid;

/// Generous bound for anything that should happen "soon" on a busy machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// An app with ingest and no dispatcher yet: tests create their endpoints
/// first, then start dispatchers, whose first full load sees them all.
pub async fn app(options: TestAppOptions) -> TestApp {
    TestApp::spawn(options.dispatchers(0)).await
}

pub struct Endpoint {
    pub id: Uuid,
    pub secret: String,
}

/// `POST /webhooks` with `body` (the admin token: tenant `default`).
pub async fn create_endpoint(api: &ApiClient, body: Value) -> Endpoint {
    let r = api
        .post_json("/webhooks", &body)
        .await
        .expect("POST /webhooks");
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.value();
    Endpoint {
        id: v["id"].as_str().and_then(|s| s.parse().ok()).expect("id"),
        secret: v["secret"].as_str().expect("secret").to_string(),
    }
}

/// An endpoint on `url` for `types`, with `extra` fields merged in.
pub async fn endpoint(api: &ApiClient, url: String, types: &[&str], extra: Value) -> Endpoint {
    let mut body = json!({ "url": url, "event_types": types });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    create_endpoint(api, body).await
}

/// Post `n` events of `event_type` (payload `{"n": i, "tag": tag}`) through
/// `POST /events/batch`; their ids in order.
pub async fn post_events(api: &ApiClient, event_type: &str, n: usize, tag: &str) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    let all: Vec<usize> = (0..n).collect();
    for chunk in all.chunks(500) {
        let events: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"type": event_type, "payload": {"n": i, "tag": tag}}))
            .collect();
        let r = api
            .post_json("/events/batch", &json!({ "events": events }))
            .await
            .expect("POST /events/batch");
        assert_eq!(r.status, 201, "{}", r.text());
        for e in r.value()["events"].as_array().expect("events") {
            ids.push(
                e["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("event id"),
            );
        }
    }
    ids
}

/// Number of deliveries of `webhook` per status.
pub async fn statuses(app: &TestApp, webhook: Uuid) -> HashMap<String, i64> {
    let rows = app
        .db()
        .query(
            "SELECT status, count(*) FROM deliveries WHERE webhook_id = $1 GROUP BY status",
            &[&webhook],
        )
        .await
        .expect("statuses");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// Wait until `webhook` has `n` deliveries in `status`.
pub async fn wait_status(app: &TestApp, webhook: Uuid, status: &str, n: i64) {
    let ok = herald_tests::wait_until(WAIT, || async {
        statuses(app, webhook)
            .await
            .get(status)
            .copied()
            .unwrap_or(0)
            >= n
    })
    .await;
    assert!(
        ok.is_ok(),
        "waited for {n} {status} deliveries of {webhook}; have {:?}",
        statuses(app, webhook).await
    );
}

/// The `webhook-id` (event id) of every request.
pub fn event_ids(requests: &[ReceivedRequest]) -> Vec<Uuid> {
    requests
        .iter()
        .map(|r| {
            r.header("webhook-id")
                .and_then(|v| v.parse().ok())
                .expect("webhook-id")
        })
        .collect()
}

/// Requests received for an event beyond its first.
pub fn duplicates(requests: &[ReceivedRequest]) -> usize {
    let ids = event_ids(requests);
    ids.len() - ids.iter().collect::<HashSet<_>>().len()
}

/// Attempts recorded per dispatcher id.
pub async fn attempts_by_dispatcher(app: &TestApp) -> HashMap<String, i64> {
    let rows = app
        .db()
        .query(
            "SELECT coalesce(dispatcher_id, '?'), count(*) FROM delivery_attempts GROUP BY 1",
            &[],
        )
        .await
        .expect("attempts");
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

pub async fn attempt_count(app: &TestApp) -> i64 {
    app.db()
        .query_one("SELECT count(*) FROM delivery_attempts", &[])
        .await
        .expect("count")
        .get(0)
}

/// Wait until in-process dispatcher `index` knows `n` active endpoints (its
/// cache hears of changes through notices, a little after the API answers).
pub async fn wait_active_endpoints(app: &TestApp, index: usize, n: u64) {
    let api = ApiClient::new(app.dispatcher_url(index).expect("dispatcher running"));
    let ok = herald_tests::wait_until(WAIT, || async {
        match api.get("/healthz").await {
            Ok(r) => r.value()["active_endpoints"].as_u64() == Some(n),
            Err(_) => false,
        }
    })
    .await;
    assert!(
        ok.is_ok(),
        "dispatcher {index} never saw {n} active endpoints"
    );
}

/// The Python with the test packages (`standardwebhooks`, `PyNaCl`):
/// `HERALD_TEST_PYTHON` (set by the test script), else the script's venv.
pub fn python() -> PathBuf {
    match std::env::var_os("HERALD_TEST_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => herald_tests::workspace_root().join(".herald/venv/bin/python"),
    }
}

/// Run `script` with `args` on that Python; its standard output.
pub fn run_python(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {:?} ({e}); run the test script, or set HERALD_TEST_PYTHON",
                python()
            )
        });
    assert!(
        out.status.success(),
        "python failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A `herald-dispatcher` process named `id`, healthy.
pub async fn dispatcher(app: &TestApp, id: &str) -> herald_tests::HeraldProcess {
    let mut p = app
        .spawn_process(
            herald_tests::Binary::Dispatcher,
            &[("HERALD_DISPATCHER_ID", id)],
        )
        .await
        .expect("spawn dispatcher");
    p.wait_healthy(WAIT).await.expect("dispatcher healthy");
    p
}
