//! What the event type catalogue requires of requests: an endpoint's plain
//! event types must be registered, and an event's type registered, not
//! archived, and its payload must match the type's schema. The answers come
//! from the catalogue's cache (`store::cache::EventTypes`).

use herald_common::operational;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::store::cache::TypeState;
use crate::store::event_types;
use crate::store::events::Event;

/// How many registered types an `unknown_event_type` message names.
const TYPES_NAMED: usize = 20;

/// Who asks about an unknown type, which decides the types its error names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// An endpoint subscribes: every type that accepts events, Herald's
    /// own `herald.*` ones included.
    Subscriber,
    /// A producer sends an event: the types it may send (not `herald.*`).
    Producer,
}

/// `422 unknown_event_type` for `name`, naming the types that accept
/// events (the first [`TYPES_NAMED`] by name).
pub async fn unknown_event_type(state: &AppState, name: &str, asker: Asker) -> ApiError {
    let reserved = operational::TYPES.len();
    let limit = (TYPES_NAMED + 1 + reserved) as i64;
    let mut offered = match event_types::offered(&state.db, limit).await {
        Ok(names) => names,
        Err(e) => return e.into(),
    };
    if asker == Asker::Producer {
        offered.retain(|n| !operational::is_reserved(n));
    }
    offered.truncate(TYPES_NAMED + 1);
    ApiError::unprocessable("unknown_event_type", unknown_message(name, &offered))
}

fn unknown_message(name: &str, offered: &[String]) -> String {
    if offered.is_empty() {
        return format!(
            "the event type {name:?} is not registered, and no event type is yet (POST /event-types)"
        );
    }
    let more = if offered.len() > TYPES_NAMED {
        ", ..."
    } else {
        ""
    };
    let shown = &offered[..offered.len().min(TYPES_NAMED)];
    format!(
        "the event type {name:?} is not registered; registered event types: {}{more} (GET /event-types lists them all)",
        shown.join(", ")
    )
}

/// `422 unknown_event_type` naming the first of `names` not registered
/// (archived types are registered).
pub async fn ensure_registered(state: &AppState, names: &[&str]) -> Result<(), ApiError> {
    let states = state.event_types.states(&state.db, names).await?;
    match names.iter().zip(&states).find(|(_, s)| s.is_none()) {
        None => Ok(()),
        Some((name, _)) => Err(unknown_event_type(state, name, Asker::Subscriber).await),
    }
}

/// Each event's type must be registered and not archived, and its payload
/// must match the type's schema. In a batch the error names the event:
/// `events[3]: ...`, pointer `/events/3/payload/...`.
pub async fn check_events(state: &AppState, events: &[Event], batch: bool) -> Result<(), ApiError> {
    let mut names: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let states = state.event_types.states(&state.db, &names).await?;
    for (i, e) in events.iter().enumerate() {
        let found = names
            .binary_search(&e.event_type.as_str())
            .ok()
            .and_then(|at| states[at].as_deref());
        let checked = match found {
            None => Err(unknown_event_type(state, &e.event_type, Asker::Producer).await),
            Some(t) => check_type(&e.event_type, t, &e.payload),
        };
        if let Err(error) = checked {
            return Err(if batch {
                error
                    .prefixed(&format!("events[{i}]"))
                    .under(&format!("/events/{i}"))
            } else {
                error
            });
        }
    }
    Ok(())
}

/// One event against its registered type (pure).
pub fn check_type(name: &str, t: &TypeState, payload: &str) -> Result<(), ApiError> {
    if t.archived {
        return Err(ApiError::unprocessable(
            "event_type_archived",
            format!("the event type {name:?} is archived and accepts no new events"),
        ));
    }
    let Some(schema) = &t.schema else {
        return Ok(());
    };
    schema.check(payload).map_err(|v| {
        let place = if v.pointer.is_empty() {
            String::new()
        } else {
            format!(" at {:?}", v.pointer)
        };
        ApiError::unprocessable(
            "schema_violation",
            format!(
                "the payload does not match the schema of {name:?}{place}: {}",
                v.message
            ),
        )
        .at(format!("/payload{}", v.pointer))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_type_message_names_a_bounded_list_of_registered_ones() {
        let few: Vec<String> = vec!["order.created".into(), "user.signed_up".into()];
        let m = unknown_message("order.shipped", &few);
        assert!(
            m.contains("\"order.shipped\" is not registered; registered event types: order.created, user.signed_up ("),
            "{m}"
        );
        let many: Vec<String> = (0..=TYPES_NAMED).map(|i| format!("t.{i:02}")).collect();
        let m = unknown_message("x", &many);
        assert!(m.contains("t.19, ..."), "{m}");
        assert!(!m.contains("t.20"), "{m}");
        assert!(unknown_message("x", &[]).contains("no event type is yet"));
    }
}
