//! The delivery log (written by the dispatchers) and manual re-sends:
//! `GET /deliveries`, `GET /deliveries/{id}`, `POST /deliveries/{id}/retry`
//! and `POST /webhooks/{id}/recover`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use herald_common::domain::DeliveryStatus;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::jobs;
use crate::pagination::{decode_cursor, limit, page, Page};
use crate::state::AppState;

/// Response bodies in the log are cut to this many bytes.
pub const RESPONSE_BODY_LIMIT: usize = 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    pub event_id: Uuid,
    pub webhook_id: Uuid,
    pub tenant_id: String,
    /// `pending`, `delivered`, `retrying` or `failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const COLUMNS: &str = "d.id, d.event_id, d.webhook_id, d.tenant_id, d.status, d.attempts, \
     d.last_status_code, d.last_error, d.next_retry_at, d.delivered_at, d.created_at, d.updated_at";

pub fn from_row(r: &Row) -> DeliveryOut {
    DeliveryOut {
        id: r.get(0),
        event_id: r.get(1),
        webhook_id: r.get(2),
        tenant_id: r.get(3),
        status: r.get(4),
        attempts: r.get(5),
        last_status_code: r.get(6),
        last_error: r.get(7),
        next_retry_at: r.get(8),
        delivered_at: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The start of the response body, at most 1 KiB.
    pub response_body: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListDeliveries {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub webhook_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    /// `pending`, `delivered`, `retrying` or `failed`.
    pub status: Option<String>,
}

/// Cut to at most `max` bytes on a character boundary.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The deliveries of one event.
pub async fn for_event<C: GenericClient>(
    client: &C,
    event_id: Uuid,
) -> Result<Vec<DeliveryOut>, ApiError> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries d WHERE d.event_id = $1 ORDER BY d.id");
    Ok(client
        .query(&sql, &[&event_id])
        .await?
        .iter()
        .map(from_row)
        .collect())
}

/// The delivery log, newest first.
#[utoipa::path(get, path = "/deliveries", tag = "deliveries", security(("bearer" = [])),
    params(ListDeliveries),
    responses((status = 200, body = Page<DeliveryOut>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListDeliveries>,
) -> Result<Json<Page<DeliveryOut>>, ApiError> {
    let limit = limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s)
                .map(|s| s.as_str().to_string())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_status",
                        "status must be one of pending, delivered, retrying, failed",
                    )
                })
        })
        .transpose()?;
    let client = state.db.get().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries d \
         WHERE ($1::text IS NULL OR d.tenant_id = $1) AND ($2::uuid IS NULL OR d.id < $2) \
           AND ($3::uuid IS NULL OR d.webhook_id = $3) AND ($4::uuid IS NULL OR d.event_id = $4) \
           AND ($5::text IS NULL OR d.status = $5) \
         ORDER BY d.id DESC LIMIT $6"
    );
    let rows = client
        .query(
            &sql,
            &[
                &caller.scope_param(),
                &cursor,
                &q.webhook_id,
                &q.event_id,
                &status,
                &(limit + 1),
            ],
        )
        .await?;
    Ok(Json(page(
        rows.iter().map(from_row).collect(),
        limit,
        |d| d.id,
    )))
}

/// One delivery with every attempt.
#[utoipa::path(get, path = "/deliveries/{id}", tag = "deliveries", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "delivery id")),
    responses((status = 200, body = DeliveryDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let client = state.db.get().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries d WHERE d.id = $1 AND ($2::text IS NULL OR d.tenant_id = $2)"
    );
    let delivery = client
        .query_opt(&sql, &[&id, &caller.scope_param()])
        .await?
        .as_ref()
        .map(from_row)
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    let attempts = client
        .query(
            "SELECT attempt, started_at, duration_ms, status_code, error, response_body \
             FROM delivery_attempts WHERE delivery_id = $1 ORDER BY started_at, attempt",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| AttemptOut {
            attempt: r.get(0),
            started_at: r.get(1),
            duration_ms: r.get(2),
            status_code: r.get(3),
            error: r.get(4),
            response_body: r
                .get::<_, Option<String>>(5)
                .map(|b| truncate(b, RESPONSE_BODY_LIMIT)),
        })
        .collect();
    Ok(Json(DeliveryDetail {
        delivery,
        attempt_log: attempts,
    }))
}

/// Send a delivery again now (whatever its status).
#[utoipa::path(post, path = "/deliveries/{id}/retry", tag = "deliveries", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "delivery id")),
    responses((status = 202, body = DeliveryOut), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<(StatusCode, Json<DeliveryOut>), ApiError> {
    let out = jobs::requeue_one(&state, id, caller.scope_param())
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    Ok((StatusCode::ACCEPTED, Json(out)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    /// Re-send the endpoint's failed deliveries created at or after this time.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recovered {
    /// Deliveries queued again.
    pub requeued: usize,
}

/// Re-enqueue an endpoint's failed deliveries since a time.
#[utoipa::path(post, path = "/webhooks/{id}/recover", tag = "webhooks", request_body = Recover,
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "endpoint id")),
    responses((status = 202, body = Recovered), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn recover(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<Recover>,
) -> Result<(StatusCode, Json<Recovered>), ApiError> {
    let requeued = jobs::requeue_failed(&state, id, caller.scope_param(), body.since)
        .await?
        .ok_or_else(|| ApiError::not_found("endpoint"))?;
    Ok((StatusCode::ACCEPTED, Json(Recovered { requeued })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("abc".into(), 10), "abc");
        assert_eq!(truncate("abcdef".into(), 3), "abc");
        assert_eq!(truncate("ééé".into(), 3), "é");
        assert_eq!(truncate("x".repeat(5000), RESPONSE_BODY_LIMIT).len(), 1024);
    }
}
