//! The handlers, one module per resource. Each parses and validates the
//! request, makes one call to the store or the pipeline for its use case,
//! and shapes the response. Request bodies and the responses that add to
//! what is stored live beside their handlers; a stored record the API shows
//! as it is (a delivery, an endpoint, a tenant) is the response body itself.

pub mod deliveries;
pub mod event_types;
pub mod events;
pub mod ops;
pub mod tenants;
pub mod webhooks;

use super::error::ApiError;
use super::state::AppState;

/// `422 unknown_event_type` naming the first of `names` not registered.
async fn ensure_registered(state: &AppState, names: &[&str]) -> Result<(), ApiError> {
    match state
        .event_types
        .first_unregistered(&state.db, names)
        .await?
    {
        None => Ok(()),
        Some(name) => Err(ApiError::unprocessable(
            "unknown_event_type",
            format!("the event type {name:?} is not registered (see GET /event-types)"),
        )),
    }
}
