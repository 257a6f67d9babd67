//! The router: every route, the body limit, request timeouts, request logs
//! and `herald_http_requests_total{route,status}`.

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use herald_common::metrics::{HTTP_REQUESTS_TOTAL, HTTP_REQUEST_DURATION_SECONDS};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::error::ApiError;
use super::handlers::{deliveries, event_types, events, ops, tenants, webhooks};
use super::state::AppState;
use super::{console, openapi};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route of the API. Tests drive it with `tower::ServiceExt::oneshot`.
/// `/metrics` is here unless `HERALD_INGEST_METRICS_LISTEN` moves it to
/// [`metrics_router`] (then it answers 404 here).
pub fn router(state: AppState) -> Router {
    let routes: Router<AppState> = if state.config.ingest.metrics_listen.is_some() {
        Router::new()
    } else {
        Router::new().route("/metrics", get(ops::metrics))
    };
    routes
        .route("/webhooks", post(webhooks::create).get(webhooks::list))
        .route(
            "/webhooks/{id}",
            get(webhooks::get).patch(webhooks::patch).delete(webhooks::delete),
        )
        .route("/webhooks/{id}/rotate-secret", post(webhooks::secret::rotate_secret))
        .route("/webhooks/{id}/recover", post(deliveries::recover))
        .route("/webhooks/{id}/test", post(webhooks::actions::test))
        .route("/webhooks/{id}/replay", post(webhooks::actions::replay))
        .route("/webhooks/{id}/stats", get(webhooks::actions::stats))
        .route("/event-types", get(event_types::list).post(event_types::change::create))
        .route(
            "/event-types/{name}",
            get(event_types::get)
                .patch(event_types::change::patch)
                .delete(event_types::change::archive),
        )
        .route("/events", post(events::create).get(events::read::list))
        .route("/events/batch", post(events::create_batch))
        .route("/events/{id}", get(events::read::get))
        .route("/deliveries", get(deliveries::list))
        .route("/deliveries/{id}", get(deliveries::get))
        .route("/deliveries/{id}/retry", post(deliveries::retry))
        .route("/tenants", post(tenants::create).get(tenants::list))
        .route(
            "/tenants/{id}/api-keys",
            post(tenants::create_key).get(tenants::list_keys),
        )
        .route(
            "/tenants/{id}/api-keys/{key_id}",
            axum::routing::delete(tenants::revoke_key),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(openapi::document))
        .route("/", get(console::index))
        .route("/console/{*path}", get(console::asset))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(state.config.ingest.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn(track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The separate metrics listener: `/metrics` and `/healthz`, nothing else.
pub fn metrics_router() -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .fallback(no_route)
}

/// No route has this path: `404` with code `route_not_found` (a missing
/// resource on a known route is `not_found`).
async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such route")
}

async fn no_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

/// Answer `503 timeout` when a request takes longer than `HERALD_REQUEST_TIMEOUT`.
async fn timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit: Duration = state.config.ingest.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {limit:?}"),
        )
        .into_response(),
    }
}

/// Count requests by route template (never the raw path) and status.
async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS_TOTAL, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}
