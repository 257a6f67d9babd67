//! What the dispatcher tests share: an app whose dispatchers start after
//! the endpoints exist, what the receiver saw, dispatcher processes, and
//! the Python that runs the independent verifiers.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use herald_tests::{
    ApiClient, Binary, HeraldProcess, ReceivedRequest, TestApp, TestAppOptions, WAIT,
};
use uuid::Uuid;

/// The event types the dispatcher tests use.
pub const TYPES: [&str; 2] = ["order.created", "user.signed_up"];

/// An app with ingest, [`TYPES`] registered and no dispatcher yet: tests
/// create their endpoints first, then start dispatchers, whose first full
/// load sees them all.
pub async fn app(options: TestAppOptions) -> TestApp {
    TestApp::spawn(options.dispatchers(0).event_types(&TYPES)).await
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
pub async fn attempts_by_dispatcher(app: &TestApp) -> BTreeMap<String, i64> {
    let rows = app
        .db()
        .query(
            "SELECT coalesce(dispatcher_id, '?') AS dispatcher, count(*) AS n \
             FROM delivery_attempts GROUP BY 1",
            &[],
        )
        .await
        .expect("attempts");
    let read = |r: &tokio_postgres::Row| -> Result<(String, i64), tokio_postgres::Error> {
        Ok((r.try_get("dispatcher")?, r.try_get("n")?))
    };
    rows.iter().map(|r| read(r).expect("a row")).collect()
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

/// A healthy `herald-dispatcher` process named `id`.
pub async fn dispatcher(app: &TestApp, id: &str) -> HeraldProcess {
    let extra = [("HERALD_DISPATCHER_ID", id)];
    app.healthy_process(Binary::Dispatcher, &extra).await
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
