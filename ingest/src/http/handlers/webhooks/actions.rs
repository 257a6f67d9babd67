//! What an operator does to one endpoint besides editing it:
//! `POST /webhooks/{id}/test` (a `webhook.test` event to it alone),
//! `POST /webhooks/{id}/replay` (the events it never received) and
//! `GET /webhooks/{id}/stats` (its last hour and 24 hours).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, IdPath};
use crate::http::handlers::deliveries::window;
use crate::http::state::AppState;
use crate::store::deliveries::stats::{self, Counts};
use crate::store::time_ids::id_floor;
use crate::store::webhooks::{self, Webhook};

#[derive(Debug, Serialize, ToSchema)]
pub struct TestSent {
    /// The test event's delivery: watch it with `GET /deliveries/{id}`.
    pub delivery_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Replay events created at or after this time (RFC 3339).
    pub since: DateTime<Utc>,
    /// ... and before this time (default: now).
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Replayed {
    /// Deliveries created and queued (at most 10,000 per call: call again
    /// until it answers 0).
    pub created: usize,
}

/// Deliveries of one window by status.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowStats {
    pub pending: i64,
    pub delivered: i64,
    pub retrying: i64,
    pub failed: i64,
    pub total: i64,
    /// Delivered among the deliveries that had an outcome (all but
    /// `pending`); `null` when none had.
    pub success_ratio: Option<f64>,
}

/// An endpoint's deliveries over the last hour and 24 hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookStats {
    pub webhook_id: Uuid,
    /// Deliveries created in the last hour.
    pub last_hour: WindowStats,
    /// Deliveries created in the last 24 hours.
    pub last_24h: WindowStats,
    /// Attempt duration percentiles (milliseconds) over the attempts of the
    /// latest 1,000 deliveries of the last 24 hours; `null` without attempts.
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    /// How many attempts the percentiles are computed from.
    pub sampled_attempts: i64,
    /// The latest delivery among those of the last 24 hours.
    pub last_success_at: Option<DateTime<Utc>>,
    /// The latest failed attempt among those deliveries (still retrying or failed).
    pub last_failure_at: Option<DateTime<Utc>>,
    pub active: bool,
    /// Why the endpoint is disabled, if it is.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub generated_at: DateTime<Utc>,
}

impl From<Counts> for WindowStats {
    fn from(c: Counts) -> Self {
        Self {
            pending: c.pending,
            delivered: c.delivered,
            retrying: c.retrying,
            failed: c.failed,
            total: c.total(),
            success_ratio: c.success_ratio(),
        }
    }
}

/// The endpoint `id` in the caller's scope; 404 otherwise.
async fn endpoint(state: &AppState, caller: &Caller, id: Uuid) -> Result<Webhook, ApiError> {
    webhooks::get(&state.db, id, caller.scope_str())
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))
}

/// 409 for a disabled endpoint: nothing would reach it.
fn ensure_active(w: &Webhook) -> Result<(), ApiError> {
    if w.active {
        return Ok(());
    }
    Err(ApiError::conflict(
        "endpoint_disabled",
        "the endpoint is disabled; enable it first (PATCH {\"active\": true})",
    ))
}

/// Send a `webhook.test` event to this endpoint only (other subscribers of
/// `webhook.test` do not get it).
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 202, body = TestSent), (status = 404, body = ErrorBody),
        (status = 409, description = "the endpoint is disabled", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<(StatusCode, Json<TestSent>), ApiError> {
    let webhook = endpoint(&state, &caller, id).await?;
    ensure_active(&webhook)?;
    let delivery_id = state.resend().test_event(&webhook).await?;
    Ok((StatusCode::ACCEPTED, Json(TestSent { delivery_id })))
}

/// Deliver the events of the endpoint's subscribed types (names or wildcard
/// patterns) in a window that it never received (for example while it was
/// disabled) and that its payload filter passes. Idempotent: a second call
/// creates nothing for the same events.
#[utoipa::path(post, path = "/webhooks/{id}/replay", tag = "webhooks", request_body = Replay,
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 202, body = Replayed), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "the endpoint is disabled", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<Replay>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    let range = window(Some(body.since), body.until)?;
    let webhook = endpoint(&state, &caller, id).await?;
    ensure_active(&webhook)?;
    let created = state.resend().replay(&webhook, range).await?;
    Ok((StatusCode::ACCEPTED, Json(Replayed { created })))
}

/// The endpoint's deliveries in the last hour and 24 hours by status, its
/// success ratio, attempt latency and latest success and failure. Reads
/// only the last 24 hours through an index: cheap enough to poll.
#[utoipa::path(get, path = "/webhooks/{id}/stats", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 200, body = WebhookStats), (status = 404, body = ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<WebhookStats>, ApiError> {
    let webhook = endpoint(&state, &caller, id).await?;
    let now = Utc::now();
    let day = id_floor(now - TimeDelta::hours(24));
    let hour = id_floor(now - TimeDelta::hours(1));
    let s = stats::stats(&state.db, id, day, hour).await?;
    Ok(Json(WebhookStats {
        webhook_id: id,
        last_hour: s.last_hour.into(),
        last_24h: s.last_24h.into(),
        latency_p50_ms: s.p50_ms,
        latency_p95_ms: s.p95_ms,
        sampled_attempts: s.sampled_attempts,
        last_success_at: s.last_success_at,
        last_failure_at: s.last_failure_at,
        active: webhook.active,
        disabled_reason: webhook.disabled_reason,
        disabled_at: webhook.disabled_at,
        generated_at: now,
    }))
}
