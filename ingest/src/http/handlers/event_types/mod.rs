//! `/event-types`: the catalogue of event types (global: the product defines
//! them). Anyone authenticated reads it; only the admin registers, changes
//! and archives ([`change`]; request bodies and their checks in [`input`]).

pub mod change;
pub mod input;

use axum::extract::State;
use axum::Json;
use herald_common::domain::EventType;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiQuery, RawPath};
use crate::http::pagination::{decode_name_cursor, encode_name_cursor, limit, page_by, Page};
use crate::http::state::AppState;
use crate::store::event_types::{self, Entry, ListFilter};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEventTypes {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only names starting with this, e.g. `order.`.
    pub prefix: Option<String>,
    /// Archived types too (default `false`).
    pub include_archived: Option<bool>,
}

/// The `{name}` of a path, parsed.
pub(crate) fn name(RawPath(raw): RawPath<String>) -> Result<EventType, ApiError> {
    EventType::parse(&raw).map_err(|e| ApiError::bad_request("invalid_event_type", e.to_string()))
}

/// The catalogue by name, a page at a time. Each entry carries `id`, `name`
/// and `description`, and Herald's `schema`, `deprecated` and `archived`.
#[utoipa::path(get, path = "/event-types", tag = "event types", security(("bearer" = [])),
    params(ListEventTypes),
    responses((status = 200, body = Page<Entry>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ListEventTypes>,
) -> Result<Json<Page<Entry>>, ApiError> {
    let limit = limit(q.limit)?;
    let prefix = q.prefix.filter(|p| !p.is_empty());
    if prefix.as_ref().is_some_and(|p| p.len() > 128) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "prefix may be at most 128 characters",
        ));
    }
    let filter = ListFilter {
        prefix,
        include_archived: q.include_archived.unwrap_or(false),
        after: decode_name_cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let rows = event_types::list(&state.db, &filter).await?;
    Ok(Json(page_by(rows, limit, |e| encode_name_cursor(&e.name))))
}

/// One event type, archived or not.
#[utoipa::path(get, path = "/event-types/{name}", tag = "event types", security(("bearer" = [])),
    params(("name" = String, Path, description = "event type name")),
    responses((status = 200, body = Entry), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    path: RawPath<String>,
) -> Result<Json<Entry>, ApiError> {
    let name = name(path)?;
    event_types::get(&state.db, name.as_str())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("event type"))
}
