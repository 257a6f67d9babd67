//! Property tests for ingest's request validation: any body, any field
//! value gives a typed 4xx error or a valid value, never a panic, and what
//! passes is what the rest of ingest relies on.

use std::collections::BTreeMap;

use herald_ingest::http::handlers::events::{
    validate, CreateEvent, CreateEventBatch, MAX_IDEMPOTENCY_KEY,
};
use herald_ingest::http::handlers::webhooks::input::{
    self as input, CreateWebhook, MAX_RATE_LIMIT,
};
use herald_ingest::http::handlers::webhooks::routing;
use proptest::prelude::*;
use serde_json::json;

fn event(event_type: &str, payload: &str, key: Option<&str>) -> Option<CreateEvent> {
    let body = format!(
        r#"{{"type":{},"payload":{payload},"idempotency_key":{}}}"#,
        json!(event_type),
        json!(key)
    );
    serde_json::from_str(&body).ok()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_event_body_bytes_parse_or_fail_cleanly(body in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(e) = serde_json::from_slice::<CreateEvent>(&body) {
            let _ = validate("default", e, None);
        }
        if let Ok(b) = serde_json::from_slice::<CreateEventBatch>(&body) {
            for e in b.events {
                let _ = validate("default", e, None);
            }
        }
    }

    #[test]
    fn an_event_is_valid_exactly_when_its_type_payload_and_key_are(
        event_type in prop_oneof!["[a-z]{1,8}(\\.[a-z_]{1,8}){0,2}", ".{0,30}"],
        payload in json_value(),
        key in prop::option::of(".{0,300}"),
    ) {
        let text = payload.to_string();
        let Some(e) = event(&event_type, &text, key.as_deref()) else {
            return Ok(());
        };
        match validate("default", e, None) {
            Ok(valid) => {
                prop_assert!(payload.is_object(), "a non-object payload passed: {text}");
                prop_assert_eq!(&valid.payload, &text, "the payload is kept byte for byte");
                prop_assert_eq!(valid.tenant_id.as_str(), "default");
                let k = valid.idempotency_key.unwrap_or_default();
                prop_assert!(k.len() <= MAX_IDEMPOTENCY_KEY && !k.chars().any(char::is_control));
            }
            Err(err) => {
                prop_assert!(err.status.is_client_error(), "{} {}", err.status, err.code);
                prop_assert!(!err.code.is_empty() && !err.message.is_empty());
            }
        }
    }

    #[test]
    fn a_body_key_and_a_different_header_key_are_refused(a in "[a-z0-9]{1,20}", b in "[a-z0-9]{1,20}") {
        let e = event("order.created", "{}", Some(&a)).expect("valid body");
        let result = validate("default", e, Some(b.clone()));
        prop_assert_eq!(result.is_ok(), a == b);
    }

    #[test]
    fn any_webhook_body_bytes_parse_or_fail_cleanly(body in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(w) = serde_json::from_slice::<CreateWebhook>(&body) {
            let _ = input::url(&w.url);
            let _ = routing::event_types(&w.event_types);
            let _ = input::headers(&w.headers.unwrap_or_default());
            let _ = routing::filter(w.filter);
        }
    }

    #[test]
    fn webhook_fields_give_a_typed_error_or_a_valid_value(
        url in prop_oneof!["https?://[a-z]{1,10}\\.[a-z]{2,3}(/[a-z]{0,8})?", ".{0,40}"],
        types in prop::collection::vec(".{0,12}", 0..4),
        secret in ".{0,40}",
        description in ".{0,40}",
        headers in prop::collection::btree_map(".{0,12}", ".{0,20}", 0..4),
        format in ".{0,10}",
        rate in prop::option::of(any::<i32>()),
    ) {
        let errors = [
            input::url(&url).err(),
            routing::event_types(&types).err(),
            input::secret(&secret).err(),
            input::description(&description).err(),
            input::headers(&headers).err(),
            input::payload_format(&format).err(),
            input::positive("rate_limit_per_second", rate).err(),
        ];
        for err in errors.into_iter().flatten() {
            prop_assert!(err.status.is_client_error(), "{} {}", err.status, err.code);
        }
        if let Ok(u) = input::url(&url) {
            prop_assert!(u.as_str().starts_with("http://") || u.as_str().starts_with("https://"));
        }
        if let Ok(ts) = routing::event_types(&types) {
            prop_assert!(!ts.is_empty() && ts.len() <= types.len());
        }
        if let Ok(Some(r)) = input::positive("rate_limit_per_second", rate) {
            prop_assert!((1..=MAX_RATE_LIMIT).contains(&r));
        }
        let _: BTreeMap<String, String> = input::headers(&headers).unwrap_or_default();
    }
}
