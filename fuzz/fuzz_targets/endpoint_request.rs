//! POST /webhooks bodies: any bytes parse into a typed error or a valid
//! endpoint, never a panic (the same checks, in the same order, as the
//! handler before it touches DNS or the database), after the JSON limits
//! every body meets.
#![no_main]

use herald_ingest::http::handlers::webhooks::input::{self as input, CreateWebhook, PatchWebhook};
use herald_ingest::http::json_limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if json_limits::check(data).is_err() {
        return;
    }
    if let Ok(body) = serde_json::from_slice::<CreateWebhook>(data) {
        let _ = input::url(&body.url);
        let _ = input::event_types(&body.event_types);
        if let Some(s) = &body.secret {
            let _ = input::secret(s);
        }
        let _ = input::description(body.description.as_deref().unwrap_or(""));
        let _ = input::headers(&body.headers.unwrap_or_default());
        let _ = input::custom_payload(body.custom_payload);
        let _ = input::payload_format(body.payload_format.as_deref().unwrap_or("standard"));
        let _ = input::positive("rate_limit_per_second", body.rate_limit_per_second);
        let _ = input::positive("max_in_flight", body.max_in_flight);
    }
    if let Ok(patch) = serde_json::from_slice::<PatchWebhook>(data) {
        if let Some(url) = &patch.url {
            let _ = input::url(url);
        }
        if let Some(types) = &patch.event_types {
            let _ = input::event_types(types);
        }
        if let Some(h) = &patch.headers {
            let _ = input::headers(h);
        }
    }
});
