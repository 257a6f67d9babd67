//! The routing fields of an endpoint and their pure checks: `event_types`
//! (names or patterns with NATS wildcards) and the payload `filter`, both
//! parsed by `herald_common::routing`, the code the dispatcher matches
//! with. Whether plain names are registered is the handler's check.

use herald_common::routing::{Filter, Pattern};

use super::input::invalid;
use crate::http::error::ApiError;

pub const MAX_EVENT_TYPES: usize = 100;
/// The largest payload filter, as JSON text.
pub const MAX_FILTER_BYTES: usize = 16 * 1024;

/// Event types and patterns: parsed, de-duplicated, at least one.
pub fn event_types(raw: &[String]) -> Result<Vec<Pattern>, ApiError> {
    if raw.is_empty() {
        return Err(invalid(
            "invalid_event_types",
            "event_types must list at least one event type",
        ));
    }
    if raw.len() > MAX_EVENT_TYPES {
        return Err(invalid(
            "invalid_event_types",
            format!("event_types may list at most {MAX_EVENT_TYPES} event types"),
        ));
    }
    let mut out: Vec<Pattern> = Vec::with_capacity(raw.len());
    for name in raw {
        let t = Pattern::parse(name).map_err(|e| invalid("invalid_event_type", e.to_string()))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// A payload filter that parses (`400 invalid_filter` naming the bad
/// operator otherwise); `null` and `{}` mean none.
pub fn filter(v: Option<serde_json::Value>) -> Result<Option<serde_json::Value>, ApiError> {
    let Some(v) = v.filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty())) else {
        return Ok(None);
    };
    if v.to_string().len() > MAX_FILTER_BYTES {
        return Err(invalid(
            "invalid_filter",
            format!("the filter is larger than {MAX_FILTER_BYTES} bytes"),
        ));
    }
    Filter::parse(&v).map_err(|e| invalid("invalid_filter", e.to_string()))?;
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_types_are_parsed_and_deduplicated() {
        let v = event_types(&["order.created".into(), "order.created".into(), "a.b".into()])
            .expect("valid");
        assert_eq!(v.len(), 2);
        assert_eq!(
            event_types(&[]).expect_err("empty").code,
            "invalid_event_types"
        );
        let v = event_types(&["order.*".into(), "order.>".into(), ">".into()]).expect("wildcards");
        assert_eq!(v.iter().filter(|p| p.is_literal()).count(), 0);
        for bad in ["order.>.x", "order*", "order..created"] {
            assert_eq!(
                event_types(&[bad.into()]).expect_err(bad).code,
                "invalid_event_type"
            );
        }
    }

    #[test]
    fn filters_are_checked_and_empty_ones_dropped() {
        let f = json!({"amount": {"$gte": 100}});
        assert_eq!(filter(Some(f.clone())).expect("valid"), Some(f));
        assert_eq!(filter(Some(json!({}))).expect("empty"), None);
        assert_eq!(filter(Some(json!(null))).expect("null"), None);
        let e = filter(Some(json!({"amount": {"$regex": "1"}}))).expect_err("bad op");
        assert_eq!(e.code, "invalid_filter");
        assert!(e.message.contains("$regex"), "{}", e.message);
        assert_eq!(
            filter(Some(json!([1]))).expect_err("array").code,
            "invalid_filter"
        );
    }
}
