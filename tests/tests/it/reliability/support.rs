//! What every reliability scenario shares: three endpoints on one receiver
//! (two event types, overlapping subscriptions), dispatcher processes, and
//! the final wait-then-check.

use std::time::{Duration, Instant};

use herald_tests::checker::{self, Accepted, EndpointSpec, Report};
use herald_tests::{ApiClient, Binary, HeraldProcess, TestApp, TestAppOptions, TestReceiver};
use serde_json::json;

pub const TYPES: [&str; 2] = ["order.created", "order.updated"];
/// Generous bound for anything that should happen "soon" on a busy machine.
pub const WAIT: Duration = Duration::from_secs(60);
/// How long the checker waits for the last deliveries after the load.
const SETTLE: Duration = Duration::from_secs(90);
/// Load of most scenarios: events per second, seconds.
pub const RATE: u32 = 30;
pub const LOAD: Duration = Duration::from_secs(15);

/// `/a` gets order.created, `/b` both types, `/c` order.updated.
const ENDPOINTS: [(&str, &[&str]); 3] = [
    ("/a", &["order.created"]),
    ("/b", &["order.created", "order.updated"]),
    ("/c", &["order.updated"]),
];

/// Jobs come back 5 s after a crash; retries in milliseconds that still
/// span ~30 s, so an outage of 10 s never exhausts them.
pub fn options() -> TestAppOptions {
    TestAppOptions::new()
        .dispatchers(0)
        .env("HERALD_ACK_WAIT", "5s")
        .env(
            "HERALD_RETRY_SCHEDULE",
            "100ms,250ms,500ms,1s,2s,2s,3s,3s,3s,3s,3s,3s,3s",
        )
}

pub struct Scenario {
    pub app: TestApp,
    pub receiver: TestReceiver,
    pub endpoints: Vec<EndpointSpec>,
}

impl Scenario {
    /// An app as `options` say (no dispatcher started), a receiver, and
    /// the three endpoints.
    pub async fn start(options: TestAppOptions) -> Self {
        let receiver = TestReceiver::start().await;
        let app = TestApp::spawn(options.dispatchers(0)).await;
        let endpoints = create_endpoints(app.api(), &receiver).await;
        Self {
            app,
            receiver,
            endpoints,
        }
    }

    pub async fn dispatcher(&self, id: &str) -> HeraldProcess {
        let mut p = self
            .app
            .spawn_process(Binary::Dispatcher, &[("HERALD_DISPATCHER_ID", id)])
            .await
            .expect("spawn dispatcher");
        p.wait_healthy(WAIT).await.expect("dispatcher healthy");
        p
    }

    /// Wait until nothing is missing (or [`SETTLE`] passed), a little more
    /// for late duplicates, then check everything the receiver saw.
    pub async fn finish(&self, name: &str, accepted: &[Accepted], fault_end: Option<Instant>) {
        finish(name, accepted, &self.endpoints, &self.receiver, fault_end).await;
    }
}

pub async fn create_endpoints(api: &ApiClient, receiver: &TestReceiver) -> Vec<EndpointSpec> {
    let mut specs = Vec::new();
    for (path, types) in ENDPOINTS {
        let r = api
            .post_json(
                "/webhooks",
                &json!({"url": receiver.url(path), "event_types": types}),
            )
            .await
            .expect("POST /webhooks");
        assert_eq!(r.status, 201, "{}", r.text());
        let v = r.value();
        specs.push(EndpointSpec {
            path: path.to_string(),
            secret: v["secret"].as_str().expect("secret").to_string(),
            tenant: v["tenant_id"].as_str().unwrap_or("default").to_string(),
            event_types: types.iter().map(|t| t.to_string()).collect(),
        });
    }
    specs
}

pub async fn finish(
    name: &str,
    accepted: &[Accepted],
    endpoints: &[EndpointSpec],
    receiver: &TestReceiver,
    fault_end: Option<Instant>,
) -> Report {
    assert!(!accepted.is_empty(), "{name}: nothing was accepted");
    let report = || checker::check(name, accepted, endpoints, &receiver.requests(), fault_end);
    let _ = herald_tests::wait_until(SETTLE, || async { report().lost.is_empty() }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = report();
    report.assert_clean();
    report
}
