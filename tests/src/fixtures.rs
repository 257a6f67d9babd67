//! Set-up through ingest's API that tests of several areas share: a tenant
//! with its own API key, an event whose payload is sent byte for byte.
//! Each asserts the call succeeded.

use http::Method;
use serde_json::json;
use uuid::Uuid;

use crate::http::{ApiClient, ApiResponse};

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
    let v = r.value();
    let key = v["key"].as_str().expect("key");
    let id = v["id"].as_str().and_then(|s| s.parse().ok());
    (admin.with_token(key), id.expect("key id"))
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
