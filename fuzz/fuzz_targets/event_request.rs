//! POST /events and /events/batch bodies: any bytes parse into a typed error
//! or valid events, never a panic; a body the JSON limits pass holds no
//! nesting deeper than they allow.
#![no_main]

use herald_ingest::http::handlers::events::{validate, CreateEvent, CreateEventBatch};
use herald_ingest::http::json_limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the header key variant; the rest is the body.
    let Some((&flag, body)) = data.split_first() else {
        return;
    };
    if json_limits::check(body).is_err() {
        return;
    }
    let header_key = match flag % 3 {
        0 => None,
        1 => Some("key-1".to_string()),
        _ => std::str::from_utf8(body)
            .ok()
            .map(|s| s.chars().take(300).collect()),
    };
    if let Ok(event) = serde_json::from_slice::<CreateEvent>(body) {
        if let Ok(valid) = validate("default", event, header_key) {
            assert!(valid.payload.starts_with('{'));
            assert!(!valid.event_type.is_empty());
        }
    }
    if let Ok(batch) = serde_json::from_slice::<CreateEventBatch>(body) {
        for event in batch.events {
            let _ = validate("default", event, None);
        }
    }
});
