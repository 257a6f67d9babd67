//! `/metrics` (Prometheus text) and `/healthz` on the metrics listener.

use crate::endpoints_cache::EndpointsCache;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use herald_common::shutdown::CancellationToken;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What `/healthz` reports.
#[derive(Default)]
pub struct Health {
    /// Set once the consumers run (NATS provisioned, endpoints loaded).
    pub ready: AtomicBool,
    pub cache: std::sync::OnceLock<Arc<EndpointsCache>>,
}

pub fn router(health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(health)
}

async fn metrics() -> String {
    herald_common::metrics::prometheus().render()
}

/// `200 {"status":"ok","endpoints":n,"active_endpoints":m}` once the consumers run; `503
/// {"status":"starting",...}` while NATS, the streams or the endpoint cache
/// are not ready yet.
async fn healthz(State(health): State<Arc<Health>>) -> (StatusCode, Json<serde_json::Value>) {
    let ready = health.ready.load(Ordering::SeqCst);
    let (endpoints, active) = health
        .cache
        .get()
        .map_or((0, 0), |c| (c.len(), c.active_count()));
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ok" } else { "starting" },
        "endpoints": endpoints,
        "active_endpoints": active,
    });
    (status, Json(body))
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Arc<Health>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(health))
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}
