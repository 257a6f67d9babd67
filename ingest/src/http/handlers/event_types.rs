//! `/event-types`: the registry of valid event types (global: the product
//! defines them). Anyone authenticated reads it; only the admin adds.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use herald_common::domain::EventType;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;
use crate::store::event_types::{self, Entry};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventType {
    /// Dot-separated words of A-Z, a-z, 0-9, `_`, `-`.
    #[schema(example = "invoice.paid")]
    pub name: String,
    pub description: Option<String>,
}

/// Every registered event type.
#[utoipa::path(get, path = "/event-types", tag = "event types", security(("bearer" = [])),
    responses((status = 200, body = Vec<Entry>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<Entry>>, ApiError> {
    Ok(Json(event_types::list(&state.db).await?))
}

/// Register an event type. Registering an existing name again changes
/// nothing and answers `200` with it, so set-up scripts can re-run.
#[utoipa::path(post, path = "/event-types", tag = "event types", request_body = CreateEventType,
    security(("bearer" = [])),
    responses((status = 201, body = Entry), (status = 200, description = "already registered", body = Entry),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateEventType>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    caller.require_admin()?;
    let name = EventType::parse(&body.name)
        .map_err(|e| ApiError::bad_request("invalid_event_type", e.to_string()))?;
    if herald_common::operational::is_reserved(name.as_str()) {
        return Err(ApiError::bad_request(
            "reserved_event_type",
            "herald.* event types are Herald's own operational events",
        ));
    }
    let description = body.description.unwrap_or_default();
    if description.chars().count() > 1024 {
        return Err(ApiError::bad_request(
            "invalid_description",
            "the description may be at most 1024 characters",
        ));
    }
    let registered = event_types::register(&state.db, name.as_str(), &description).await?;
    state.event_types.0.insert(name.as_str());
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(registered.entry)))
}
