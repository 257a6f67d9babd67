//! POST /webhooks and PATCH /webhooks/{id} bodies: any bytes parse into a
//! typed error or a valid endpoint, never a panic (the same checks as the
//! handlers before they touch DNS or the database: URL, event types and
//! patterns, payload filter, secret and signature scheme, headers, ordering,
//! retry schedule, limits), after the JSON limits every body meets.
#![no_main]

use herald_ingest::http::handlers::webhooks::input::{self, CreateWebhook, PatchWebhook};
use herald_ingest::http::handlers::webhooks::routing;
use herald_ingest::http::json_limits;
use libfuzzer_sys::fuzz_target;

fn create(body: CreateWebhook) {
    let _ = input::url(&body.url);
    if let Ok(patterns) = routing::event_types(&body.event_types) {
        assert!(!patterns.is_empty() && patterns.len() <= routing::MAX_EVENT_TYPES);
    }
    let _ = routing::filter(body.filter);
    if let Ok(scheme) = input::signature_scheme(body.signature_scheme.as_deref().unwrap_or("v1")) {
        let _ = input::secret_for(scheme, body.secret.as_deref());
    }
    let _ = input::description(body.description.as_deref().unwrap_or(""));
    let _ = input::headers_or_alias(body.headers.as_ref(), body.custom_headers.as_ref());
    let _ = input::custom_payload(body.custom_payload);
    let _ = input::payload_format(body.payload_format.as_deref().unwrap_or("standard"));
    let _ = input::ordering(body.ordering.as_deref().unwrap_or("none"));
    if let Some(schedule) = &body.retry_schedule {
        let _ = input::retry_schedule(schedule);
    }
    let _ = input::positive("rate_limit_per_second", body.rate_limit_per_second);
    let _ = input::positive("max_in_flight", body.max_in_flight);
}

fn patch(patch: PatchWebhook) {
    if let Some(url) = &patch.url {
        let _ = input::url(url);
    }
    if let Some(types) = &patch.event_types {
        let _ = routing::event_types(types);
    }
    if let Some(filter) = patch.filter {
        let _ = routing::filter(filter);
    }
    let _ = input::headers_or_alias(patch.headers.as_ref(), patch.custom_headers.as_ref());
    if let Some(Some(schedule)) = &patch.retry_schedule {
        let _ = input::retry_schedule(schedule);
    }
    if let Some(limit) = patch.max_in_flight {
        let _ = input::positive("max_in_flight", limit);
    }
}

fuzz_target!(|data: &[u8]| {
    if json_limits::check(data).is_err() {
        return;
    }
    if let Ok(body) = serde_json::from_slice::<CreateWebhook>(data) {
        create(body);
    }
    if let Ok(body) = serde_json::from_slice::<PatchWebhook>(data) {
        patch(body);
    }
});
