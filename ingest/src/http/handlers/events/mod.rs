//! `/events`: accept events (one or a batch); [`read`] lists them and shows
//! one with its deliveries.

pub mod read;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use herald_common::domain::EventType;
use herald_common::operational;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;
use crate::pipeline::send::TEST_EVENT_TYPE;
use crate::pipeline::writer::{repeats, Written};
use crate::store::events::{self, Event, EventHead};
use crate::store::time_ids::now_micros;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// `POST /events`, and each item of `POST /events/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEvent {
    /// A registered event type that is not archived. If the type has a
    /// schema, the payload must match it (`422 schema_violation`, with the
    /// failing place as `error.pointer`).
    #[serde(rename = "type")]
    #[schema(example = "order.created")]
    pub event_type: String,
    /// A JSON object, kept and delivered byte for byte.
    #[schema(value_type = Object, example = json!({"order_id": 123, "amount": 99.99}))]
    pub payload: Box<RawValue>,
    /// Within `HERALD_IDEMPOTENCY_WINDOW` (24 h), a repeat of a key already
    /// used by this tenant with the same type and payload returns the first
    /// event (`200`) and stores nothing; with another type or payload it is
    /// `409 idempotency_conflict`. After the window the key makes a new
    /// event. The `Idempotency-Key` header works too.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEventBatch {
    /// Up to `HERALD_MAX_BATCH_EVENTS` (default 1,000) events; all are
    /// stored or none.
    pub events: Vec<CreateEvent>,
}

/// An accepted event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    #[serde(flatten)]
    pub event: EventHead,
    /// `created`, or `duplicate` when the idempotency key was used before.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    pub events: Vec<EventOut>,
}

fn out(w: &Written) -> EventOut {
    let (e, status) = match w {
        Written::Created(e) => (e, "created"),
        Written::Existing(e) => (e, "duplicate"),
        Written::Conflict(e) => (e, "conflict"),
    };
    EventOut {
        event: EventHead::from(e),
        status: status.to_string(),
    }
}

fn idempotency_key(raw: &str) -> Result<String, ApiError> {
    let ok =
        !raw.is_empty() && raw.len() <= MAX_IDEMPOTENCY_KEY && raw.chars().all(|c| !c.is_control());
    if ok {
        Ok(raw.to_string())
    } else {
        Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("the idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY} characters, no control characters"),
        ))
    }
}

/// Check one event (pure): type syntax, object payload, key.
pub fn validate(
    tenant: &str,
    e: CreateEvent,
    header_key: Option<String>,
) -> Result<Event, ApiError> {
    let event_type = EventType::parse(&e.event_type)
        .map_err(|err| ApiError::bad_request("invalid_event_type", err.to_string()))?;
    if operational::is_reserved(event_type.as_str()) {
        return Err(ApiError::bad_request(
            "reserved_event_type",
            format!("{event_type} is an operational event type: only Herald sends herald.* events"),
        ));
    }
    if event_type.as_str() == TEST_EVENT_TYPE {
        return Err(ApiError::bad_request(
            "reserved_event_type",
            format!(
                "{TEST_EVENT_TYPE} is sent only by POST /webhooks/{{id}}/test, to one endpoint"
            ),
        ));
    }
    if !e.payload.get().starts_with('{') {
        return Err(ApiError::bad_request(
            "invalid_payload",
            "the payload must be a JSON object",
        ));
    }
    let key = match (e.idempotency_key, header_key) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "the idempotency_key field and the Idempotency-Key header differ",
            ))
        }
        (Some(k), _) | (None, Some(k)) => Some(idempotency_key(&k)?),
        (None, None) => None,
    };
    Ok(Event {
        id: Uuid::now_v7(),
        tenant_id: tenant.to_string(),
        event_type: event_type.as_str().to_string(),
        payload: e.payload.get().to_string(),
        idempotency_key: key,
        created_at: now_micros(),
    })
}

fn header_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .map(|v| {
            v.to_str()
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_idempotency_key",
                        "the Idempotency-Key header is not text",
                    )
                })
                .and_then(idempotency_key)
        })
        .transpose()
}

/// Accept one event: `201` once stored, `200` with the first event when the
/// idempotency key was used before.
#[utoipa::path(post, path = "/events", tag = "events", request_body = CreateEvent,
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "alternative to idempotency_key")),
    responses((status = 201, body = EventOut), (status = 200, description = "repeat of an idempotency key", body = EventOut),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 409, description = "idempotency key reused with another type or payload", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateEvent>,
) -> Result<(StatusCode, Json<EventOut>), ApiError> {
    let tenant = caller.write_tenant();
    let event = validate(tenant.as_str(), body, header_key(&headers)?)?;
    state
        .rate_limits
        .check(tenant.as_str(), 1)
        .map_err(ApiError::rate_limited)?;
    super::catalogue::check_events(&state, std::slice::from_ref(&event), false).await?;
    let written = state.writer.write(vec![event]).await?;
    let first = written
        .first()
        .ok_or_else(|| ApiError::internal("the writer returned no outcome"))?;
    let status = match first {
        Written::Created(_) => StatusCode::CREATED,
        Written::Existing(_) => StatusCode::OK,
        Written::Conflict(held) => return Err(conflict(held)),
    };
    Ok((status, Json(out(first))))
}

/// Accept many events at once, all or none.
#[utoipa::path(post, path = "/events/batch", tag = "events", request_body = CreateEventBatch,
    security(("bearer" = [])),
    responses((status = 201, body = BatchOut), (status = 200, description = "every event was a repeat", body = BatchOut),
        (status = 400, body = ErrorBody), (status = 409, description = "an idempotency key reused with another type or payload", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_batch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateEventBatch>,
) -> Result<(StatusCode, Json<BatchOut>), ApiError> {
    let max = state.config.ingest.max_batch_events;
    if body.events.is_empty() || body.events.len() > max {
        return Err(ApiError::bad_request(
            "invalid_batch",
            format!(
                "a batch holds 1 to {max} events (got {})",
                body.events.len()
            ),
        ));
    }
    let tenant = caller.write_tenant();
    let events = body
        .events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            validate(tenant.as_str(), e, None).map_err(|err| err.prefixed(&format!("events[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    state
        .rate_limits
        .check(tenant.as_str(), events.len())
        .map_err(ApiError::rate_limited)?;
    super::catalogue::check_events(&state, &events, true).await?;
    check_keys(&state, &events).await?;
    let written = state.writer.write(events).await?;
    if let Some((i, Written::Conflict(held))) = written
        .iter()
        .enumerate()
        .find(|(_, w)| matches!(w, Written::Conflict(_)))
    {
        // A key taken by another request between the check and the write.
        return Err(conflict(held).prefixed(&format!("events[{i}]")));
    }
    let any_created = written.iter().any(|w| matches!(w, Written::Created(_)));
    let status = if any_created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BatchOut {
            events: written.iter().map(out).collect(),
        }),
    ))
}

/// `409 idempotency_conflict`: the key is held by `held`, another request.
fn conflict(held: &Event) -> ApiError {
    ApiError::conflict(
        "idempotency_conflict",
        format!(
            "the idempotency key was used within the idempotency window by event {} with another type or payload",
            held.id
        ),
    )
}

/// Refuse a batch whose keys are held by other requests before storing any
/// of it (a batch is stored whole or not at all).
async fn check_keys(state: &AppState, events: &[Event]) -> Result<(), ApiError> {
    let keyed: Vec<&Event> = events
        .iter()
        .filter(|e| e.idempotency_key.is_some())
        .collect();
    if keyed.is_empty() {
        return Ok(());
    }
    let window = state.config.ingest.idempotency_window;
    let held = events::held_keys(&state.db, &keyed, window).await?;
    for (i, e) in events.iter().enumerate() {
        let key = (
            e.tenant_id.clone(),
            e.idempotency_key.clone().unwrap_or_default(),
        );
        match held.get(&key) {
            Some(h) if !repeats(e, h) => return Err(conflict(h).prefixed(&format!("events[{i}]"))),
            _ => {}
        }
    }
    Ok(())
}
