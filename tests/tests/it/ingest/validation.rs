//! Every class of bad input from the design page: a clear 4xx with the
//! right code, and nothing stored or published.

use http::Method;
use serde_json::json;

use super::support::*;
use herald_tests::{ApiClient, ApiResponse, TestApp, TestAppOptions};

/// Nothing in the events, webhooks, tenants, keys or event-type tables
/// beyond the fresh install, and no message in `HERALD_EVENTS`.
pub(super) async fn assert_nothing_stored(app: &TestApp) {
    assert_eq!(count(app, "events").await, 0, "events stored");
    assert_eq!(count(app, "webhooks").await, 0, "webhooks stored");
    assert_eq!(count(app, "tenants").await, 1, "tenants stored");
    assert_eq!(count(app, "api_keys").await, 0, "keys stored");
    let installed = 4 + herald_common::operational::TYPES.len() as i64;
    assert_eq!(
        count(app, "event_types").await,
        installed,
        "event types stored"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(stream_messages(app).await, 0, "events published");
}

async fn raw(
    api: &ApiClient,
    method: Method,
    path: &str,
    ctype: Option<&str>,
    body: &str,
) -> ApiResponse {
    let headers: Vec<(&str, &str)> = ctype.map(|c| vec![("content-type", c)]).unwrap_or_default();
    api.send(method, path, &headers, body.to_string())
        .await
        .expect("request")
}

pub(super) fn check(r: &ApiResponse, status: u16, expected: &str, what: &str) {
    assert_eq!(
        (r.status.as_u16(), code(r).as_str()),
        (status, expected),
        "{what}: {}",
        r.text()
    );
    assert!(
        r.value()["error"]["message"].is_string(),
        "{what}: no message"
    );
}

#[tokio::test]
async fn bad_event_bodies_are_refused_and_nothing_is_stored() {
    let app = app().await;
    let api = app.api();
    let json_ct = Some("application/json");
    let cases: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
        (
            "malformed JSON",
            json_ct,
            "{\"type\": \"order.created\", ".into(),
            400,
            "malformed_json",
        ),
        (
            "wrong content type",
            Some("text/plain"),
            r#"{"type":"order.created","payload":{}}"#.into(),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            None,
            r#"{"type":"order.created","payload":{}}"#.into(),
            415,
            "unsupported_media_type",
        ),
        (
            "unknown field",
            json_ct,
            r#"{"type":"order.created","payload":{},"priority":1}"#.into(),
            400,
            "unknown_field",
        ),
        (
            "unregistered type",
            json_ct,
            r#"{"type":"order.deleted","payload":{}}"#.into(),
            422,
            "unknown_event_type",
        ),
        (
            "malformed type",
            json_ct,
            r#"{"type":"order.>","payload":{}}"#.into(),
            400,
            "invalid_event_type",
        ),
        (
            "array payload",
            json_ct,
            r#"{"type":"order.created","payload":[1,2]}"#.into(),
            400,
            "invalid_payload",
        ),
        (
            "null payload",
            json_ct,
            r#"{"type":"order.created","payload":null}"#.into(),
            400,
            "invalid_payload",
        ),
        (
            "number payload",
            json_ct,
            r#"{"type":"order.created","payload":42}"#.into(),
            400,
            "invalid_payload",
        ),
        (
            "missing payload",
            json_ct,
            r#"{"type":"order.created"}"#.into(),
            400,
            "invalid_body",
        ),
        (
            "oversize body",
            json_ct,
            format!(
                r#"{{"type":"order.created","payload":{{"x":"{}"}}}}"#,
                "a".repeat(300_000)
            ),
            413,
            "payload_too_large",
        ),
        (
            "empty idempotency key",
            json_ct,
            r#"{"type":"order.created","payload":{},"idempotency_key":""}"#.into(),
            400,
            "invalid_idempotency_key",
        ),
    ];
    for (what, ct, body, status, expected) in cases {
        let r = raw(api, Method::POST, "/events", ct, &body).await;
        check(&r, status, expected, what);
    }
    let batch = |events: serde_json::Value| json!({ "events": events });
    for (what, body, status, expected) in [
        ("empty batch", batch(json!([])), 400, "invalid_batch"),
        (
            "one bad event spoils the batch",
            batch(json!([event("order.created"), {"type": "order.created", "payload": 1}])),
            400,
            "invalid_payload",
        ),
        (
            "one unregistered type spoils the batch",
            batch(json!([event("order.created"), event("nope.nope")])),
            422,
            "unknown_event_type",
        ),
        (
            "too many events",
            batch(json!((0..1001)
                .map(|_| event("order.created"))
                .collect::<Vec<_>>())),
            400,
            "invalid_batch",
        ),
    ] {
        let r = api.post_json("/events/batch", &body).await.expect("batch");
        check(&r, status, expected, what);
    }
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn bad_webhook_bodies_are_refused_and_nothing_is_stored() {
    let app = app().await;
    let api = app.api();
    let ok = || json!({"url": "http://127.0.0.1:9/hook", "event_types": ["order.created"]});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = ok();
        b[k] = v;
        b
    };
    for (what, body, status, expected) in [
        (
            "non-http url",
            with("url", json!("ftp://example.com/x")),
            400,
            "invalid_url",
        ),
        (
            "not a url",
            with("url", json!("example.com/hook")),
            400,
            "invalid_url",
        ),
        (
            "credentials in url",
            with("url", json!("https://u:p@example.com/")),
            400,
            "invalid_url",
        ),
        (
            "unknown field",
            with("retries", json!(3)),
            400,
            "unknown_field",
        ),
        (
            "no event types",
            with("event_types", json!([])),
            400,
            "invalid_event_types",
        ),
        (
            "unregistered event type",
            with("event_types", json!(["order.shipped"])),
            422,
            "unknown_event_type",
        ),
        (
            "reserved header",
            with("headers", json!({"Webhook-Signature": "x"})),
            400,
            "reserved_header",
        ),
        (
            "invalid header",
            with("headers", json!({"bad header": "x"})),
            400,
            "invalid_header",
        ),
        (
            "bad payload format",
            with("payload_format", json!("xml")),
            400,
            "invalid_payload_format",
        ),
        (
            "rate limit out of range",
            with("rate_limit_per_second", json!(0)),
            400,
            "out_of_range",
        ),
        (
            "bad whsec secret",
            with("secret", json!("whsec_***")),
            400,
            "invalid_secret",
        ),
        (
            "wrong type",
            with("event_types", json!("order.created")),
            400,
            "invalid_body",
        ),
    ] {
        let r = api.post_json("/webhooks", &body).await.expect("create");
        check(&r, status, expected, what);
    }
    let r = raw(
        api,
        Method::POST,
        "/webhooks",
        Some("application/json"),
        "{\"url\":",
    )
    .await;
    check(&r, 400, "malformed_json", "malformed JSON");
    let r = raw(
        api,
        Method::POST,
        "/webhooks",
        Some("application/xml"),
        "<webhook/>",
    )
    .await;
    check(&r, 415, "unsupported_media_type", "xml");
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn urls_resolving_to_private_addresses_are_refused_unless_allowed() {
    let app = app_with(TestAppOptions::new().env("HERALD_ALLOW_PRIVATE_URLS", "false")).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.1.1/",
    ] {
        let r = app
            .api()
            .post_json(
                "/webhooks",
                &json!({"url": url, "event_types": ["order.created"]}),
            )
            .await
            .expect("create");
        check(&r, 422, "url_not_allowed", url);
    }
    // A public address is fine; so is a PATCH to one, but not back to loopback.
    let r = app
        .api()
        .post_json(
            "/webhooks",
            &json!({"url": "https://93.184.216.34/hook", "event_types": ["order.created"]}),
        )
        .await
        .expect("create");
    assert_eq!(r.status, 201, "{}", r.text());
    let id = id_of(&r);
    let r = app
        .api()
        .patch_json(
            &format!("/webhooks/{id}"),
            &json!({"url": "http://127.0.0.1/x"}),
        )
        .await
        .expect("patch");
    check(&r, 422, "url_not_allowed", "patch to loopback");
    let url: String = app
        .db()
        .query_one("SELECT url FROM webhooks WHERE id = $1", &[&id])
        .await
        .expect("row")
        .get(0);
    assert_eq!(url, "https://93.184.216.34/hook");
    assert_eq!(count(&app, "webhooks").await, 1);
}

#[tokio::test]
async fn bad_ids_cursors_limits_tenants_and_tokens_are_refused() {
    let app = app().await;
    let api = app.api();
    for (path, status, expected) in [
        ("/webhooks/123", 400, "invalid_id"),
        ("/events/not-a-uuid", 400, "invalid_id"),
        ("/deliveries/xyz", 400, "invalid_id"),
        ("/webhooks?cursor=garbage!", 400, "invalid_cursor"),
        ("/deliveries?cursor=AAAA", 400, "invalid_cursor"),
        ("/webhooks?limit=0", 400, "invalid_limit"),
        ("/deliveries?limit=100000", 400, "invalid_limit"),
        ("/deliveries?status=lost", 400, "invalid_status"),
        ("/webhooks?colour=red", 400, "invalid_query"),
        (
            "/webhooks/0190b3c2-0000-7000-8000-000000000001",
            404,
            "not_found",
        ),
        (
            "/events/0190b3c2-0000-7000-8000-000000000001",
            404,
            "not_found",
        ),
        (
            "/deliveries/0190b3c2-0000-7000-8000-000000000001",
            404,
            "not_found",
        ),
        ("/tenants/nobody/api-keys", 404, "not_found"),
    ] {
        let r = api.get(path).await.expect("get");
        check(&r, status, expected, path);
    }
    for (method, path) in [
        (Method::PATCH, "/webhooks/nope"),
        (Method::DELETE, "/webhooks/nope"),
        (Method::POST, "/webhooks/nope/rotate-secret"),
        (Method::POST, "/webhooks/nope/recover"),
        (Method::POST, "/deliveries/nope/retry"),
        (Method::DELETE, "/tenants/default/api-keys/nope"),
    ] {
        let r = raw(api, method.clone(), path, Some("application/json"), "{}").await;
        check(&r, 400, "invalid_id", &format!("{method} {path}"));
    }
    // Unknown tenants: the admin's Herald-Tenant header, and key creation.
    let r = api
        .send(
            Method::POST,
            "/events",
            &[
                ("content-type", "application/json"),
                ("herald-tenant", "ghost"),
            ],
            event("order.created").to_string(),
        )
        .await
        .expect("post");
    check(&r, 422, "unknown_tenant", "unknown Herald-Tenant");
    let r = api
        .send(
            Method::POST,
            "/events",
            &[
                ("content-type", "application/json"),
                ("herald-tenant", "Not Valid"),
            ],
            event("order.created").to_string(),
        )
        .await
        .expect("post");
    check(&r, 400, "invalid_tenant", "malformed Herald-Tenant");
    let r = api
        .post_json("/tenants/ghost/api-keys", &json!({}))
        .await
        .expect("key");
    check(&r, 404, "not_found", "key for unknown tenant");
    let r = api
        .post_json("/tenants", &json!({"id": "default"}))
        .await
        .expect("dup");
    check(&r, 409, "tenant_exists", "duplicate tenant");
    // Tokens.
    let r = app
        .anonymous()
        .post_json("/events", &event("order.created"))
        .await
        .expect("anon");
    check(&r, 401, "missing_token", "no token");
    let r = api
        .with_token("not-the-token")
        .post_json("/events", &event("order.created"))
        .await
        .expect("wrong");
    check(&r, 401, "invalid_token", "wrong token");
    let r = api
        .with_token("hk_forged")
        .post_json(
            "/webhooks",
            &json!({"url": "http://127.0.0.1:9/", "event_types": ["order.created"]}),
        )
        .await
        .expect("forged");
    check(&r, 401, "invalid_token", "unknown API key");
    assert_nothing_stored(&app).await;
}
