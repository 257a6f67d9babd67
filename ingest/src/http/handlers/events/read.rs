//! Reading events: `GET /events` (newest first, filters `type`, `since`,
//! `until`) and `GET /events/{id}` (the payload and its deliveries).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiQuery, IdPath};
use crate::http::handlers::deliveries::{event_type, window};
use crate::http::pagination::{decode_cursor, limit, page, Page};
use crate::http::state::AppState;
use crate::store::deliveries::Delivery;
use crate::store::events::{self, EventHead, ListFilter, Summary};

/// An event with its payload and the status of each delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: Summary,
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEvents {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page (stable while events arrive).
    pub cursor: Option<String>,
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Only events created at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only events created before this time.
    pub until: Option<DateTime<Utc>>,
}

/// Events, newest first (without their payloads).
#[utoipa::path(get, path = "/events", tag = "events", security(("bearer" = [])),
    params(ListEvents),
    responses((status = 200, body = Page<Summary>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListEvents>,
) -> Result<Json<Page<Summary>>, ApiError> {
    let limit = limit(q.limit)?;
    let filter = ListFilter {
        scope: caller.scope_param(),
        before: decode_cursor(q.cursor.as_deref())?,
        event_type: q.event_type.as_deref().map(event_type).transpose()?,
        window: window(q.since, q.until)?,
        limit: limit + 1,
    };
    let rows = events::list(&state.db, &filter).await?;
    Ok(Json(page(rows, limit, |e| e.head.id)))
}

/// One event, its payload and the status of each of its deliveries.
#[utoipa::path(get, path = "/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "event id")),
    responses((status = 200, body = EventDetail), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
) -> Result<Json<EventDetail>, ApiError> {
    let found = events::get(&state.db, id, caller.scope_str())
        .await?
        .ok_or_else(|| ApiError::not_found("event"))?;
    let e = found.event;
    Ok(Json(EventDetail {
        event: Summary {
            head: EventHead::from(&e),
            published_at: found.published_at,
            target_webhook_id: found.target_webhook_id,
        },
        payload: RawValue::from_string(e.payload).map_err(ApiError::internal)?,
        deliveries: found.deliveries,
    }))
}
