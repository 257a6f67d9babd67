//! Registering, changing and archiving event types (admin only). Each
//! change drops the type from this node's cache at once; other ingest nodes
//! see it within `TYPE_TTL` (`store::cache::EventTypes`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use herald_common::domain::EventType;
use uuid::Uuid;

use super::input::{self, CreateEventType, PatchEventType};
use super::name;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiJson, RawPath};
use crate::http::state::AppState;
use crate::store::event_types::{self, Change, Entry, NewEntry};

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
    not_reserved(&name)?;
    let description = input::description(body.description.as_deref())?.unwrap_or_default();
    if let Some(schema) = &body.schema {
        input::schema(schema)?;
    }
    let new = NewEntry {
        id: Uuid::now_v7(),
        name: name.as_str(),
        description: &description,
        schema: body.schema.as_ref(),
        deprecated: body.deprecated.unwrap_or(false),
    };
    let registered = event_types::register(&state.db, new).await?;
    state.event_types.forget(name.as_str());
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(registered.entry)))
}

/// Change an event type's description, schema or deprecation, or archive or
/// restore it. A new schema applies to events accepted from then on.
#[utoipa::path(patch, path = "/event-types/{name}", tag = "event types", request_body = PatchEventType,
    security(("bearer" = [])), params(("name" = String, Path, description = "event type name")),
    responses((status = 200, body = Entry), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    path: RawPath<String>,
    ApiJson(body): ApiJson<PatchEventType>,
) -> Result<Json<Entry>, ApiError> {
    caller.require_admin()?;
    let name = name(path)?;
    not_reserved(&name)?;
    if let Some(Some(schema)) = &body.schema {
        input::schema(schema)?;
    }
    let change = Change {
        description: input::description(body.description.as_deref())?,
        schema: body.schema,
        deprecated: body.deprecated,
        archived: body.archived,
    };
    changed(&state, name, change).await
}

/// Archive an event type: new events of the type are refused (`422
/// event_type_archived`); endpoints subscribed to it and its history stay.
/// Archiving again changes nothing; `PATCH {"archived": false}` restores it.
#[utoipa::path(delete, path = "/event-types/{name}", tag = "event types",
    security(("bearer" = [])), params(("name" = String, Path, description = "event type name")),
    responses((status = 200, description = "archived", body = Entry), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    path: RawPath<String>,
) -> Result<Json<Entry>, ApiError> {
    caller.require_admin()?;
    let name = name(path)?;
    not_reserved(&name)?;
    let change = Change {
        archived: Some(true),
        ..Change::default()
    };
    changed(&state, name, change).await
}

/// `herald.*` types are Herald's own operational events: registered by
/// migrations, emitted by the dispatcher, never changed through the API.
fn not_reserved(name: &EventType) -> Result<(), ApiError> {
    if herald_common::operational::is_reserved(name.as_str()) {
        return Err(ApiError::bad_request(
            "reserved_event_type",
            "herald.* event types are Herald's own operational events",
        ));
    }
    Ok(())
}

async fn changed(
    state: &AppState,
    name: EventType,
    change: Change,
) -> Result<Json<Entry>, ApiError> {
    let entry = event_types::update(&state.db, name.as_str(), change)
        .await?
        .ok_or_else(|| ApiError::not_found("event type"))?;
    state.event_types.forget(name.as_str());
    tracing::info!(event_type = %name, archived = entry.archived, "Event type changed.");
    Ok(Json(entry))
}
