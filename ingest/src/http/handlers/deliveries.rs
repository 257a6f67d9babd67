//! The delivery log (written by the dispatchers) and manual re-sends:
//! `GET /deliveries`, `GET /deliveries/{id}`, `POST /deliveries/{id}/retry`
//! and `POST /webhooks/{id}/recover`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use herald_common::domain::{DeliveryStatus, EventType};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::pagination::{decode_cursor, limit, page, Page};
use crate::http::state::AppState;
use crate::store::deliveries::{self, Attempt, Delivery, ListFilter};
use crate::store::time_ids::IdRange;

/// Response bodies in the log are cut to this many bytes.
pub const RESPONSE_BODY_LIMIT: usize = 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<Attempt>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListDeliveries {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page. Pages stay stable while new
    /// deliveries arrive: the cursor is the last (time-ordered) id seen.
    pub cursor: Option<String>,
    pub webhook_id: Option<Uuid>,
    pub event_id: Option<Uuid>,
    /// `pending`, `delivered`, `retrying` or `failed`.
    pub status: Option<String>,
    /// Only deliveries of events of this type.
    pub event_type: Option<String>,
    /// Only deliveries created at or after this time (RFC 3339; the time in
    /// the delivery's UUIDv7 id, to the millisecond).
    pub since: Option<DateTime<Utc>>,
    /// Only deliveries created before this time.
    pub until: Option<DateTime<Utc>>,
}

/// An event type filter: a valid name (unregistered ones match nothing).
pub fn event_type(raw: &str) -> Result<String, ApiError> {
    EventType::parse(raw)
        .map(|t| t.as_str().to_string())
        .map_err(|e| ApiError::bad_request("invalid_event_type", e.to_string()))
}

/// A `since`/`until` window; `since` after `until` is a 400.
pub fn window(
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<IdRange, ApiError> {
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(ApiError::bad_request(
                "invalid_query",
                "since must not be after until",
            ));
        }
    }
    Ok(IdRange::between(since, until))
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

/// The delivery log, newest first.
#[utoipa::path(get, path = "/deliveries", tag = "deliveries", security(("bearer" = [])),
    params(ListDeliveries),
    responses((status = 200, body = Page<Delivery>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListDeliveries>,
) -> Result<Json<Page<Delivery>>, ApiError> {
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
    let filter = ListFilter {
        scope: caller.scope_param(),
        before: cursor,
        webhook_id: q.webhook_id,
        event_id: q.event_id,
        status,
        event_type: q.event_type.as_deref().map(event_type).transpose()?,
        window: window(q.since, q.until)?,
        limit: limit + 1,
    };
    let rows = deliveries::list(&state.db, &filter).await?;
    Ok(Json(page(rows, limit, |d| d.id)))
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
    let found = deliveries::get(&state.db, id, caller.scope_str())
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    let attempt_log = found
        .attempts
        .into_iter()
        .map(|a| Attempt {
            response_body: a.response_body.map(|b| truncate(b, RESPONSE_BODY_LIMIT)),
            ..a
        })
        .collect();
    Ok(Json(DeliveryDetail {
        delivery: found.delivery,
        attempt_log,
    }))
}

/// Send a delivery again now (whatever its status), on a fresh retry
/// schedule: if it fails again it is retried after the schedule's first
/// delay, and so on (the attempt log keeps every attempt).
#[utoipa::path(post, path = "/deliveries/{id}/retry", tag = "deliveries", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "delivery id")),
    responses((status = 202, body = Delivery), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<(StatusCode, Json<Delivery>), ApiError> {
    let delivery = state
        .resend()
        .one(id, caller.scope_str())
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    Ok((StatusCode::ACCEPTED, Json(delivery)))
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

/// Re-enqueue an endpoint's failed deliveries since a time, each on a fresh
/// retry schedule.
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
    let requeued = state
        .resend()
        .failed_since(id, caller.scope_str(), body.since)
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
