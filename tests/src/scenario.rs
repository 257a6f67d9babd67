//! The shape of the load tests (the fault suite and the chaos soak): three
//! endpoints on one receiver with overlapping subscriptions to two event
//! types, and the wait-then-check that ends every run.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::checker::{self, Accepted, EndpointSpec, Report};
use crate::{ApiClient, TestReceiver};

/// The event types the producer cycles through.
pub static TYPES: [&str; 2] = ["order.created", "order.updated"];

/// `/a` gets order.created, `/b` both types, `/c` order.updated: each event
/// is expected at two endpoints.
pub const ENDPOINTS: [(&str, &[&str]); 3] = [
    ("/a", &["order.created"]),
    ("/b", &["order.created", "order.updated"]),
    ("/c", &["order.updated"]),
];

/// Create [`ENDPOINTS`] on `receiver` through `api`; their specs for the
/// checker.
pub async fn create_endpoints(
    api: &ApiClient,
    receiver: &TestReceiver,
) -> anyhow::Result<Vec<EndpointSpec>> {
    let mut specs = Vec::new();
    for (path, types) in ENDPOINTS {
        let body = json!({"url": receiver.url(path), "event_types": types});
        let r = api.post_json("/webhooks", &body).await?;
        anyhow::ensure!(r.status == 201, "POST /webhooks: {} {}", r.status, r.text());
        let v = r.value();
        specs.push(EndpointSpec {
            path: path.to_string(),
            secret: v["secret"].as_str().unwrap_or_default().to_string(),
            tenant: v["tenant_id"].as_str().unwrap_or("default").to_string(),
            event_types: types.iter().map(|t| t.to_string()).collect(),
        });
    }
    Ok(specs)
}

/// Wait until nothing is missing (or `settle` passed), two seconds more for
/// late duplicates, then check everything `receiver` saw.
pub async fn settle_and_check(
    name: &str,
    accepted: &[Accepted],
    endpoints: &[EndpointSpec],
    receiver: &TestReceiver,
    fault_end: Option<Instant>,
    settle: Duration,
) -> Report {
    let report = || checker::check(name, accepted, endpoints, &receiver.requests(), fault_end);
    let _ = crate::wait_until(settle, || async { report().lost.is_empty() }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    report()
}
