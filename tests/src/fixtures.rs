//! What a product or its customers do through ingest's API, for the tests of
//! every area: register event types, create tenants with a key and
//! endpoints, post events. Each helper asserts that the call succeeded and
//! returns what the test goes on with (ids, the secret); a test of the call
//! itself (its status, its errors) sends the request with [`ApiClient`].

use http::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::http::{ApiClient, ApiResponse};

/// An endpoint URL nothing answers on (the discard port of this machine),
/// for endpoints a test never delivers to.
pub const UNREACHABLE_URL: &str = "http://127.0.0.1:9/hook";

/// Events per `POST /events/batch` of [`post_events`] (the API's limit is 1,000).
const BATCH: usize = 500;

/// An endpoint as `POST /webhooks` created it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: Uuid,
    /// The signing secret (an ed25519 endpoint's `whsk_` key), shown only here.
    pub secret: String,
    /// The whole `201` body.
    pub created: Value,
}

/// Register each of `names` (`POST /event-types`; a name registered before
/// is fine).
pub async fn register_event_types(api: &ApiClient, names: &[&str]) {
    for name in names {
        let r = api
            .post_json("/event-types", &json!({ "name": name }))
            .await
            .expect("POST /event-types");
        assert!(r.status.is_success(), "{name}: {}", r.text());
    }
}

/// `POST /webhooks` for `event_types` at `url`, with the fields of `extra`
/// (an object, e.g. `json!({"ordering": "fifo"})`) added.
pub async fn create_endpoint(
    api: &ApiClient,
    url: &str,
    event_types: &[&str],
    extra: Value,
) -> Endpoint {
    let mut body = json!({ "url": url, "event_types": event_types });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = api
        .post_json("/webhooks", &body)
        .await
        .expect("POST /webhooks");
    assert_eq!(r.status, 201, "{body}: {}", r.text());
    let created = r.value();
    Endpoint {
        id: r.uuid("id"),
        secret: created["secret"].as_str().unwrap_or_default().to_string(),
        created,
    }
}

/// `POST /events` of one event; its id.
pub async fn post_event(api: &ApiClient, event_type: &str, payload: Value) -> Uuid {
    let body = json!({ "type": event_type, "payload": payload });
    let r = api.post_json("/events", &body).await.expect("POST /events");
    assert_eq!(r.status, 201, "{body}: {}", r.text());
    r.uuid("id")
}

/// `n` events of `event_type` with payload `{"n": i, "tag": tag}`, through
/// `POST /events/batch`; their ids in order.
pub async fn post_events(api: &ApiClient, event_type: &str, n: usize, tag: &str) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    let all: Vec<usize> = (0..n).collect();
    for chunk in all.chunks(BATCH) {
        let events: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"type": event_type, "payload": {"n": i, "tag": tag}}))
            .collect();
        let r = api
            .post_json("/events/batch", &json!({ "events": events }))
            .await
            .expect("POST /events/batch");
        assert_eq!(r.status, 201, "{}", r.text());
        let created = r.value();
        let events = created["events"].as_array().cloned().unwrap_or_default();
        ids.extend(events.iter().map(|e| uuid_at(e, "id")));
    }
    ids
}

/// `POST /events` of one `event_type` event whose payload is the JSON text
/// `raw`, untouched (not parsed and re-serialized on the way); the 201.
pub async fn post_raw_event(api: &ApiClient, event_type: &str, raw: &str) -> ApiResponse {
    let body = format!(r#"{{"type":"{event_type}","payload":{raw}}}"#);
    let r = api
        .send(
            Method::POST,
            "/events",
            &[("content-type", "application/json")],
            body,
        )
        .await
        .expect("POST /events");
    assert_eq!(r.status, 201, "{}", r.text());
    r
}

/// Create tenant `tenant` and an API key for it through `admin` (a client
/// with the admin token); a client using the new key, and the key's id.
pub async fn tenant_with_key(admin: &ApiClient, tenant: &str) -> (ApiClient, Uuid) {
    let r = admin
        .post_json("/tenants", &json!({ "id": tenant }))
        .await
        .expect("POST /tenants");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = admin
        .post_json(
            &format!("/tenants/{tenant}/api-keys"),
            &json!({"name": "test"}),
        )
        .await
        .expect("POST /tenants/{id}/api-keys");
    assert_eq!(r.status, 201, "{}", r.text());
    let key = r.value()["key"].as_str().expect("key").to_string();
    (admin.with_token(key), r.uuid("id"))
}

/// The UUID in `value[field]`; panics naming the field when there is none.
pub fn uuid_at(value: &Value, field: &str) -> Uuid {
    value[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no UUID {field} in {value}"))
}
