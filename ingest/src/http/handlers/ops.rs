//! Operational routes: `/healthz`, `/readyz` and `/metrics`
//! (`/openapi.json` is served by [`crate::http::openapi`], the console at `/`
//! by [`crate::http::console`]). None needs a token.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{ApiError, ErrorBody};
use crate::http::state::AppState;
use crate::store;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

async fn postgres_ok(state: &AppState) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(2), store::ping(&state.db)).await,
        Ok(Ok(()))
    )
}

/// Ready to accept events: Postgres answers and NATS is connected with the
/// streams provisioned; otherwise `503` naming what is down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let mut down = Vec::new();
    if !postgres_ok(&state).await {
        down.push("postgres");
    }
    if !state.nats_ready() {
        down.push("nats");
    }
    if down.is_empty() {
        return Ok(Json(Health {
            status: "ready".into(),
        }));
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("not ready: {} unreachable", down.join(" and ")),
    ))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        herald_common::metrics::prometheus().render(),
    )
        .into_response()
}
