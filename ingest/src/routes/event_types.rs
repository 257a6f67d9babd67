//! `/event-types`: the registry of valid event types (global: the product
//! defines them). Anyone authenticated reads it; only the admin adds.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use herald_common::domain::EventType;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventType {
    /// Dot-separated words of A-Z, a-z, 0-9, `_`, `-`.
    #[schema(example = "invoice.paid")]
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventTypeOut {
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

fn from_row(r: &tokio_postgres::Row) -> EventTypeOut {
    EventTypeOut {
        name: r.get(0),
        description: r.get(1),
        created_at: r.get(2),
    }
}

/// Every registered event type.
#[utoipa::path(get, path = "/event-types", tag = "event types", security(("bearer" = [])),
    responses((status = 200, body = Vec<EventTypeOut>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Vec<EventTypeOut>>, ApiError> {
    let client = state.db.get().await?;
    let rows = client
        .query(
            "SELECT name, description, created_at FROM event_types ORDER BY name LIMIT 10000",
            &[],
        )
        .await?;
    Ok(Json(rows.iter().map(from_row).collect()))
}

/// Register an event type. Registering an existing name again changes
/// nothing and answers `200` with it, so set-up scripts can re-run.
#[utoipa::path(post, path = "/event-types", tag = "event types", request_body = CreateEventType,
    security(("bearer" = [])),
    responses((status = 201, body = EventTypeOut), (status = 200, description = "already registered", body = EventTypeOut),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateEventType>,
) -> Result<(StatusCode, Json<EventTypeOut>), ApiError> {
    caller.require_admin()?;
    let name = EventType::parse(&body.name)
        .map_err(|e| ApiError::bad_request("invalid_event_type", e.to_string()))?;
    let description = body.description.unwrap_or_default();
    if description.chars().count() > 1024 {
        return Err(ApiError::bad_request(
            "invalid_description",
            "the description may be at most 1024 characters",
        ));
    }
    let client = state.db.get().await?;
    let inserted = client
        .query_opt(
            "INSERT INTO event_types (name, description) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING \
             RETURNING name, description, created_at",
            &[&name.as_str(), &description],
        )
        .await?;
    state.event_types.0.insert(name.as_str());
    match inserted {
        Some(row) => Ok((StatusCode::CREATED, Json(from_row(&row)))),
        None => {
            let row = client
                .query_one(
                    "SELECT name, description, created_at FROM event_types WHERE name = $1",
                    &[&name.as_str()],
                )
                .await?;
            Ok((StatusCode::OK, Json(from_row(&row))))
        }
    }
}
